// An app shaped like a real one, for the warm `go mod download` rows: the 38
// modules `go mod download` fetches for a program importing
// github.com/gin-gonic/gin v1.10.1, github.com/prometheus/client_golang
// v1.22.0 and github.com/spf13/cobra v1.10.2 (the field test's three programs
// in one; 7,223 files, 186 MB unpacked, 58.7 MB of zips). Each is rebuilt
// here under a bench.example path with the real module's number of files and
// unpacked size; the content is generated — lines of Go-like text, and random
// bytes in the share that brings the zip near the real one's size (63 MB in
// all, 1.08x). The shapes were read off the zips go 1.26 downloaded from
// proxy.golang.org on 2026-12-05 (SHAPES below); the bench itself never
// leaves loopback.
import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import type { FixtureModule } from '../test/world/modules.js';

/** Real module, files in its zip, unpacked bytes, zip bytes. */
export const SHAPES: readonly (readonly [string, number, number, number])[] = [
  ['github.com/gabriel-vasile/mimetype@v1.4.3', 258, 35_958_944, 25_157_236],
  ['golang.org/x/text@v0.21.0', 540, 41_096_592, 9_233_989],
  ['github.com/go-playground/locales@v0.14.1', 1546, 30_102_163, 5_065_668],
  ['github.com/bytedance/sonic@v1.11.6', 596, 14_208_509, 3_245_052],
  ['google.golang.org/protobuf@v1.36.5', 629, 15_476_988, 2_416_489],
  ['github.com/leodido/go-urn@v1.4.0', 27, 2_596_270, 2_195_261],
  ['golang.org/x/sys@v0.30.0', 537, 9_390_597, 1_987_982],
  ['golang.org/x/net@v0.33.0', 788, 6_491_283, 1_852_131],
  ['golang.org/x/crypto@v0.31.0', 344, 4_171_638, 1_792_511],
  ['github.com/pelletier/go-toml/v2@v2.2.2', 97, 1_384_459, 940_030],
  ['golang.org/x/arch@v0.8.0', 117, 5_731_839, 892_163],
  ['github.com/twitchyliquid64/golang-asm@v0.15.1', 116, 1_956_464, 485_701],
  ['github.com/prometheus/client_golang@v1.22.0', 180, 1_246_151, 402_016],
  ['github.com/prometheus/procfs@v0.15.1', 216, 1_834_732, 400_049],
  ['github.com/ugorji/go/codec@v1.2.12', 75, 1_888_626, 358_254],
  ['github.com/cloudwego/iasm@v0.2.0', 68, 4_124_312, 311_593],
  ['github.com/goccy/go-json@v0.10.2', 127, 2_365_907, 307_580],
  ['github.com/go-playground/validator/v10@v10.20.0', 78, 1_728_065, 285_696],
  ['github.com/spf13/cobra@v1.10.2', 66, 700_442, 241_429],
  ['github.com/gin-gonic/gin@v1.10.1', 120, 747_569, 219_717],
  ['github.com/prometheus/common@v0.62.0', 174, 627_138, 215_330],
  ['github.com/json-iterator/go@v1.1.12', 139, 479_994, 139_706],
  ['github.com/spf13/pflag@v1.0.9', 86, 365_562, 107_658],
  ['gopkg.in/yaml.v3@v3.0.1', 24, 462_967, 104_623],
  ['github.com/cloudwego/base64x@v0.1.4', 28, 409_754, 84_864],
  ['github.com/bytedance/sonic/loader@v0.1.1', 29, 143_120, 57_227],
  ['github.com/klauspost/cpuid/v2@v2.2.7', 27, 158_098, 50_673],
  ['github.com/go-playground/universal-translator@v0.18.1', 37, 114_400, 49_053],
  ['github.com/modern-go/reflect2@v1.0.2', 37, 58_972, 25_186],
  ['github.com/prometheus/client_model@v0.6.1', 15, 77_807, 21_067],
  ['github.com/cespare/xxhash/v2@v2.3.0', 21, 32_401, 17_573],
  ['github.com/beorn7/perks@v1.0.1', 15, 30_716, 14_678],
  ['github.com/kr/text@v0.2.0', 17, 22_268, 12_607],
  ['github.com/modern-go/concurrent@v0.0.0-20180306012644-bacd9c7ef1dd', 12, 20_616, 10_936],
  ['github.com/mattn/go-isatty@v0.0.20', 17, 12_000, 8_936],
  ['github.com/gin-contrib/sse@v0.1.0', 10, 17_774, 8_503],
  ['github.com/inconshreveable/mousetrap@v1.1.0', 5, 13_913, 6_350],
  ['github.com/munnerz/goautoneg@v0.0.0-20191010083416-a7dc8b61c822', 5, 10_015, 5_674],
];

/** Files per folder of a generated module (real modules spread theirs over packages too). */
const FILES_PER_DIR = 40;

const WORDS = (
  'func return if else for range var const type struct interface map chan go defer select case switch ' +
  'err nil string int byte error len append make new true false package import ctx buf n i j ok' +
  ' Reader Writer Close Read Write Errorf Sprintf value key name path data opts result'
).split(' ');

/**
 * Go-like text: lines drawn from 64 made of those words, so that
 * lines repeat within deflate's window as they do in source code; compresses
 * to about a tenth (real modules' zips: 0.15–0.3 of their unpacked size, the
 * rest made up with random bytes).
 */
function textPool(bytes: number): Buffer {
  const r = randomBytes(bytes);
  let k = 0;
  const next = (): number => r[k++ % bytes] as number;
  const lines = Array.from({ length: 64 }, () => {
    const words = Array.from({ length: 2 + (next() % 8) }, () => WORDS[next() % WORDS.length] as string);
    return '\t'.repeat(1 + (next() % 3)) + words.join(next() % 3 === 0 ? '(' : ' ') + '\n';
  });
  const parts: string[] = [];
  for (let size = 0; size < bytes;) {
    const line = lines[((next() << 8) | next()) % lines.length] as string;
    parts.push(line);
    size += line.length;
  }
  return Buffer.from(parts.join('')).subarray(0, bytes);
}

export function realShapedModule(index: number, shape: readonly [string, number, number, number]): FixtureModule {
  const [, files, unpacked, zipped] = shape;
  const path = `bench.example/real/m${String(index).padStart(2, '0')}`;
  const fixed: Record<string, string | Buffer> = {
    'go.mod': `module ${path}\n\ngo 1.21\n`,
    'payload.go': 'package payload\n\n// Name identifies the module.\nfunc Name() string { return "payload" }\n',
  };
  const pool = textPool(1 << 18);
  const n = Math.max(0, files - Object.keys(fixed).length);
  const each = Math.floor(unpacked / Math.max(1, n));
  // How far a file of that size of text alone deflates (each zip entry is deflated on its own).
  const ratio =
    deflateRawSync(pool.subarray(0, Math.max(1, Math.min(each, pool.length)))).length / Math.min(each, pool.length);
  // Share of random bytes that brings the zip to the real one's size: zipped ≈ f·unpacked + (1−f)·ratio·unpacked.
  const f = Math.min(1, Math.max(0, (zipped / unpacked - ratio) / (1 - ratio)));
  const out: Record<string, string | Buffer> = { ...fixed };
  for (let i = 0; i < n; i++) {
    const size = i === n - 1 ? unpacked - each * (n - 1) : each;
    const random = Math.round(size * f);
    const text = size - random;
    const at = text > 0 ? Math.floor(Math.random() * (pool.length - Math.min(text, pool.length))) : 0;
    const body = Buffer.concat([
      text <= pool.length ? pool.subarray(at, at + text) : Buffer.concat(repeat(pool, text)),
      randomBytes(random),
    ]);
    out[`p${String(Math.floor(i / FILES_PER_DIR)).padStart(3, '0')}/f${String(i).padStart(4, '0')}.txt`] = body;
  }
  return { path, version: 'v1.0.0', files: out };
}

/** Enough copies of pool, the last one cut, to make `bytes`. */
function repeat(pool: Buffer, bytes: number): Buffer[] {
  const parts: Buffer[] = [];
  for (let left = bytes; left > 0; left -= pool.length) parts.push(pool.subarray(0, Math.min(left, pool.length)));
  return parts;
}

/** The 38 real-shaped modules. */
export function realShapedModules(): FixtureModule[] {
  return SHAPES.map((s, i) => realShapedModule(i, s));
}
