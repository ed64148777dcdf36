// verifyModuleZip throughput against plain SHA-256 over the same zip bytes,
// measured in the same run. Run after `npm run build`: node bench/modzip.mjs
//
// Zips (written to a temporary directory):
//   random: 100 files of 1 MiB of incompressible bytes (~100 MB zip)
//   text:   100 files of 1 MiB of Go-like text (a smaller zip; more content than zip)
//   small:  10,000 files of 10 KiB of incompressible bytes (per-entry overhead)
// Each zip is verified from memory (bufferSource) and from a file (a ByteSource
// over fs, as the proxy would hand in). Ratios > 1 mean faster than SHA-256.
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, createReadStream, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yazl from 'yazl';
import { bufferSource, verifyModuleZip } from '../dist/modzip/index.js';

const MOD = { path: 'example.com/bench', version: 'v1.0.0' };
const PREFIX = `${MOD.path}@${MOD.version}/`;
const ROUNDS = Number(process.env.ROUNDS ?? 5);

function text(n, seed) {
  let s = '';
  let x = seed;
  while (s.length < n) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    s += `func f${(x % 99991).toString(36)}(a, b int) int { return a*${x >>> 20} + b } // ${x.toString(16)}\n`;
  }
  return Buffer.from(s.slice(0, n));
}

function makeZip(files) {
  return new Promise((resolve, reject) => {
    const z = new yazl.ZipFile();
    for (const [name, data] of files) z.addBuffer(data, PREFIX + name, { compress: true, mtime: new Date(1980, 0, 1), forceDosTimestamp: true });
    const chunks = [];
    z.outputStream.on('data', (c) => chunks.push(c));
    z.outputStream.on('error', reject);
    z.outputStream.on('end', () => resolve(Buffer.concat(chunks)));
    z.end();
  });
}

/** A ByteSource over a file: ranged read streams, and positional reads for small ranges. */
function fileSource(path, size) {
  const fd = openSync(path, 'r');
  return {
    size,
    createReadStream: (start, end) => createReadStream(path, { start, end: end - 1, highWaterMark: 1 << 20 }),
    read(start, end) {
      const buf = Buffer.allocUnsafe(end - start);
      const n = readSync(fd, buf, 0, buf.length, start);
      return buf.subarray(0, n);
    },
    close: () => closeSync(fd),
  };
}

function shaFile(path) {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path, { highWaterMark: 1 << 20 })
      .on('data', (c) => h.update(c))
      .on('error', reject)
      .on('end', () => resolve(h.digest()));
  });
}

async function median(fn) {
  await fn();
  const times = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t = performance.now();
    await fn();
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[Math.floor(times.length / 2)];
}

async function bench(label, files, dir) {
  const zip = await makeZip(files);
  const path = join(dir, `${label}.zip`);
  writeFileSync(path, zip);
  const content = files.reduce((n, [, d]) => n + d.length, 0);
  const shaMem = await median(async () => createHash('sha256').update(zip).digest());
  const verMem = await median(() => verifyModuleZip(bufferSource(zip), MOD));
  const shaDisk = await median(() => shaFile(path));
  const src = fileSource(path, zip.length);
  const verDisk = await median(() => verifyModuleZip(src, MOD));
  src.close();
  const mb = (n) => (n / 1e6).toFixed(1);
  console.log(
    `${label.padEnd(6)} zip ${mb(zip.length)} MB, content ${mb(content)} MB | ` +
      `memory: sha256 ${shaMem.toFixed(0)} ms, verify ${verMem.toFixed(0)} ms, ratio ${(shaMem / verMem).toFixed(2)} | ` +
      `file: sha256 ${shaDisk.toFixed(0)} ms, verify ${verDisk.toFixed(0)} ms, ratio ${(shaDisk / verDisk).toFixed(2)}`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'godepot-bench-modzip-'));
try {
  const random = Array.from({ length: 100 }, (_, i) => [`r/f${i}.bin`, randomBytes(1 << 20)]);
  await bench('random', random, dir);
  const txt = Array.from({ length: 100 }, (_, i) => [`t/f${i}.go`, text(1 << 20, i + 1)]);
  await bench('text', txt, dir);
  const small = Array.from({ length: 10000 }, (_, i) => [`s/d${i % 100}/f${i}.bin`, randomBytes(10 << 10)]);
  await bench('small', small, dir);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
