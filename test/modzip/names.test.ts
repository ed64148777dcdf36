// verifyModuleZip on entry names that break the module zip rules: each is
// refused with Go's words, naming the entry.
import { describe, expect, it } from 'vitest';
import { decodeGoBytes } from '../../src/module/index.js';
import { bufferSource, verifyModuleZip, ZipError } from '../../src/modzip/index.js';
import { rawZip, type RawZipEntry } from '../support/modzip.js';

const MOD = { path: 'example.com/m', version: 'v1.0.0' };
const P = 'example.com/m@v1.0.0/';
const GO_MOD = 'module example.com/m\n\ngo 1.21\n';
const good: RawZipEntry[] = [
  { name: P + 'go.mod', data: GO_MOD },
  { name: P + 'm.go', data: 'package m\n' },
];

async function zipError(zip: Buffer): Promise<ZipError> {
  const err: unknown = await verifyModuleZip(bufferSource(zip), MOD).then(
    () => new Error('unexpected success'),
    (e: unknown) => e,
  );
  if (!(err instanceof ZipError)) throw new Error(`want ZipError, got ${String(err)}`);
  return err;
}

describe('bad names', () => {
  const cases: Array<[string, RawZipEntry[], string]> = [
    [
      'dot-dot',
      [{ name: P + '../x.go', data: '' }],
      `${P}../x.go: malformed file path "../x.go": invalid path element ".."`,
    ],
    ['unclean', [{ name: P + 'a/../b.go', data: '' }], `${P}a/../b.go: file path is not clean`],
    ['absolute', [{ name: '/abs.go', data: '' }], `/abs.go: path does not have prefix "${P}"`],
    ['absolute after prefix', [{ name: P + '/abs.go', data: '' }], 'malformed file path "/abs.go": empty path element'],
    ['backslash', [{ name: P + 'a\\b.go', data: '' }], `malformed file path "a\\\\b.go": invalid char '\\\\'`],
    ['NUL', [{ name: P + 'a\x00.go', data: '' }], `malformed file path "a\\x00.go": invalid char '\\x00'`],
    ['colon', [{ name: P + 'c:x.go', data: '' }], `malformed file path "c:x.go": invalid char ':'`],
    [
      'invalid UTF-8',
      [{ name: Buffer.concat([Buffer.from(P), Buffer.from([0xff, 0x2e, 0x67, 0x6f])]), data: '' }],
      'malformed file path "\\xff.go": invalid UTF-8',
    ],
    [
      'case-fold collision of non-ASCII letters',
      [
        { name: P + '\u00E9t\u00E9.go', data: '' },
        { name: P + '\u00C9T\u00C9.go', data: '' },
      ],
      'case-insensitive file name collision: "\u00E9t\u00E9.go" and "\u00C9T\u00C9.go"',
    ],
    [
      'simple-fold collision',
      [
        { name: P + 's.go', data: '' },
        { name: P + '\u017F.go', data: '' },
      ],
      'case-insensitive file name collision: "s.go" and "\u017F.go"',
    ],
    [
      'duplicate',
      [
        { name: P + 'a.go', data: '1' },
        { name: P + 'a.go', data: '2' },
      ],
      'multiple entries for file "a.go"',
    ],
    [
      'file and directory',
      [
        { name: P + 'a.go/', data: '' },
        { name: P + 'a.go', data: '' },
      ],
      'entry "a.go" is both a file and a directory',
    ],
    [
      'go.mod in a subdirectory',
      [{ name: P + 'sub/go.mod', data: GO_MOD }],
      `${P}sub/go.mod: go.mod file not in module root directory`,
    ],
    ['GO.MOD in a subdirectory', [{ name: P + 'sub/GO.MOD', data: '' }], 'go.mod file not in module root directory'],
    [
      'GO.MOD at the root',
      [{ name: P + 'GO.MOD', data: GO_MOD }],
      `${P}GO.MOD: go.mod files must have lowercase names`,
    ],
    ['wrong module', [{ name: 'example.com/n@v1.0.0/go.mod', data: '' }], `path does not have prefix "${P}"`],
  ];
  for (const [title, entries, want] of cases) {
    it(title, async () => {
      const err = await zipError(await rawZip(entries));
      expect(err.message).toContain(want);
      expect(err.file).toBeDefined();
      expect(err.message.startsWith(`${err.file ?? ''}: ${err.reason}`)).toBe(true);
    });
  }

  it('names the first invalid entry and counts the rest', async () => {
    const err = await zipError(
      await rawZip([...good, { name: P + 'a?.go', data: '' }, { name: P + 'b?.go', data: '' }]),
    );
    expect(err.file).toBe(P + 'a?.go');
    expect(err.message).toBe(`${P}a?.go: malformed file path "a?.go": invalid char '?' (and 1 more invalid file)`);
  });

  it('shows a name that is not UTF-8 with the module convention for such bytes', async () => {
    const raw = Buffer.concat([Buffer.from(P), Buffer.from([0xc3])]);
    const err = await zipError(await rawZip([{ name: raw, data: '' }]));
    expect(err.file).toBe(decodeGoBytes(raw));
  });
});
