// h1: verification (verifyModuleZip: CheckZip's rules, every entry inflated,
// CRC- and size-checked and hashed, then dirhash) of a 100 MB module zip,
// against plain SHA-256 over the same zip bytes, both in this process on
// bytes in memory.
//
// Two contents: incompressible (1 MiB random files, deflated as Go's Create
// does, so the zip is ~100 MB and h1 hashes about as many bytes as the
// reference) and compressible (Go-like source text, ~4x smaller zipped, so
// h1 must inflate and hash ~4x the bytes the reference hashes). The target
// applies to the first: a module zip that large is in practice made of
// already-compressed payloads (testdata archives, embedded assets, binaries);
// 100 MB of source text is not what real modules hold, and for text the
// comparison is dominated by inflate work the reference does not do. The
// compressible case is reported too, also against SHA-256 over its
// uncompressed content (the bytes h1 actually hashes).
import { createHash } from 'node:crypto';
import { bufferSource, verifyModuleZip } from '../src/modzip/index.js';
import { createModuleZip } from '../test/support/modzip.js';
import { median, type Row } from './report.js';
import { payloadModule } from './world.js';
import { prng } from '../test/support/prng.js';

export interface H1Options {
  readonly quick: boolean;
  readonly say: (line: string) => void;
}

const MiB = 1 << 20;

const WORDS = [
  'func',
  'return',
  'if',
  'err',
  '!=',
  'nil',
  ':=',
  'for',
  'range',
  'string',
  'int',
  'byte',
  'struct',
  'type',
  'var',
  'ctx',
  'context.Context',
  'fmt.Errorf',
  'len',
  'append',
  'make',
  'map',
  'buf',
  'n',
  'i',
  'x',
  'resp',
  'req',
  'Client',
  'Server',
  'Handler',
  'Config',
  '{',
  '}',
  '(',
  ')',
  '//',
  'the',
  'value',
  'of',
];

/** ~bytes of Go-like source text. */
function goLikeText(rand: () => number, bytes: number): Buffer {
  const parts: string[] = [];
  let n = 0;
  while (n < bytes) {
    const indent = '\t'.repeat(Math.floor(rand() * 4));
    const words: string[] = [];
    const count = 2 + Math.floor(rand() * 9);
    for (let i = 0; i < count; i++) {
      const w = WORDS[Math.floor(rand() * WORDS.length)] as string;
      words.push(rand() < 0.15 ? `${w}${Math.floor(rand() * 1000)}` : w);
    }
    const line = indent + words.join(' ') + '\n';
    parts.push(line);
    n += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

function textModule(
  path: string,
  version: string,
  bytes: number,
): { path: string; version: string; files: Record<string, string | Buffer> } {
  const rand = prng(42);
  const files: Record<string, string | Buffer> = { 'go.mod': `module ${path}\n\ngo 1.21\n` };
  for (let i = 0, left = bytes; left > 0; i++, left -= MiB)
    files[`src/file${String(i).padStart(3, '0')}.go`] = goLikeText(rand, Math.min(MiB, left));
  return { path, version, files };
}

function timeSha256(bytes: Buffer | readonly Buffer[]): number {
  const t = performance.now();
  const h = createHash('sha256');
  for (const b of Buffer.isBuffer(bytes) ? [bytes] : bytes) h.update(b);
  h.digest();
  return performance.now() - t;
}

async function timeH1(zip: Buffer, mod: { path: string; version: string }): Promise<number> {
  const t = performance.now();
  await verifyModuleZip(bufferSource(zip), mod);
  return performance.now() - t;
}

export async function benchH1(o: H1Options): Promise<{ rows: Row[]; notes: string[] }> {
  const repeats = o.quick ? 2 : 5;
  const cases = [
    { label: 'incompressible', fixture: payloadModule('bench.example/h1rand', 'v1.0.0', 100 * MiB), target: true },
    {
      label: 'compressible (Go-like text)',
      fixture: textModule('bench.example/h1text', 'v1.0.0', 100 * MiB),
      target: false,
    },
  ];
  const rows: Row[] = [];
  for (const c of cases) {
    const zip = await createModuleZip({ path: c.fixture.path, version: c.fixture.version }, c.fixture.files);
    const content = Object.values(c.fixture.files).map((f) => (typeof f === 'string' ? Buffer.from(f) : f));
    const contentBytes = content.reduce((s, b) => s + b.length, 0);
    const mod = { path: c.fixture.path, version: c.fixture.version };
    await timeH1(zip, mod); // warm-up (JIT, zlib and crypto initialisation)
    timeSha256(zip);
    const h1Ms: number[] = [];
    const shaMs: number[] = [];
    const shaContentMs: number[] = [];
    for (let i = 0; i < repeats; i++) {
      shaMs.push(timeSha256(zip));
      h1Ms.push(await timeH1(zip, mod));
      shaContentMs.push(timeSha256(content));
    }
    const zipMB = zip.length / MiB;
    const h1Rate = zipMB / (median(h1Ms) / 1000);
    const shaRate = zipMB / (median(shaMs) / 1000);
    const contentRate = contentBytes / MiB / (median(shaContentMs) / 1000);
    const h1ContentRate = contentBytes / MiB / (median(h1Ms) / 1000);
    o.say(
      `  ${c.label}: zip ${zipMB.toFixed(1)} MB (content ${(contentBytes / MiB).toFixed(0)} MB); h1 ${median(h1Ms).toFixed(0)} ms = ${h1Rate.toFixed(0)} MB/s; sha256 ${median(shaMs).toFixed(0)} ms = ${shaRate.toFixed(0)} MB/s`,
    );
    rows.push({
      bench: 'h1: verification',
      name: `${zipMB.toFixed(0)} MB zip, ${c.label}`,
      unit: 'MB/s',
      godepot: h1Rate,
      refName: 'sha256 over the zip',
      reference: shaRate,
      detail: `zip MB per second; median of ${repeats}: h1 ${median(h1Ms).toFixed(0)} ms, sha256 ${median(shaMs).toFixed(0)} ms; content ${(contentBytes / MiB).toFixed(0)} MB`,
      ...(c.target ? { target: { on: 'ratio', op: '>=', value: 0.7 } as const } : {}),
      raw: { h1Ms, shaMs, zipBytes: zip.length, contentBytes },
    });
    if (!c.target) {
      rows.push({
        bench: 'h1: verification',
        name: `same, per content byte`,
        unit: 'MB/s',
        godepot: h1ContentRate,
        refName: 'sha256 over the content',
        reference: contentRate,
        detail: `content MB per second: h1 hashes the inflated files; sha256 over the same ${(contentBytes / MiB).toFixed(0)} MB of files ${median(shaContentMs).toFixed(0)} ms`,
        raw: { shaContentMs },
      });
    }
  }
  return { rows, notes: [] };
}
