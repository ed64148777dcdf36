import { afterEach, describe, expect, it } from 'vitest';
import { mkdir, mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { Readable } from 'node:stream';
import { collectTargets, findGoSums, FULL, GO_MOD_ONLY, readAllStdin, TargetSet } from '../../src/cli/targets.js';

const dirs: string[] = [];
async function tmp(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'godepot-targets-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('TargetSet', () => {
  it('widens what is wanted and keeps the first go.sum hash, recording disagreements', () => {
    const s = new TargetSet();
    const a = { path: 'example.com/a', version: 'v1.0.0' };
    s.add(a, GO_MOD_ONLY, 'x/go.sum:1', { kind: 'mod', hash: 'h1:m=' });
    expect(s.list()[0]).toMatchObject({ zip: false, info: false, sums: { mod: 'h1:m=' } });
    s.add(a, FULL, 'y/go.sum:3', { kind: 'zip', hash: 'h1:z=' });
    s.add(a, GO_MOD_ONLY, 'z/go.sum:9', { kind: 'mod', hash: 'h1:other=' });
    expect(s.size).toBe(1);
    const t = s.list()[0];
    expect(t).toMatchObject({ zip: true, info: true, sums: { mod: 'h1:m=', zip: 'h1:z=' } });
    expect(t?.conflicts).toEqual([
      'z/go.sum:9 has h1:other= for example.com/a@v1.0.0/go.mod, another go.sum has h1:m=',
    ]);
    expect(t?.sources).toEqual(['x/go.sum:1', 'y/go.sum:3', 'z/go.sum:9']);
  });

  it('names a few disagreeing go.sum lines, not thousands (a generated or hostile go.sum)', () => {
    const s = new TargetSet();
    const a = { path: 'example.com/a', version: 'v1.0.0' };
    s.add(a, FULL, 'go.sum:1', { kind: 'zip', hash: 'h1:first=' });
    for (let i = 2; i < 10_000; i++) s.add(a, FULL, `go.sum:${i}`, { kind: 'zip', hash: `h1:other${i}=` });
    const t = s.list()[0];
    expect(t?.conflicts).toHaveLength(6);
    expect(t?.conflicts[0]).toBe('go.sum:2 has h1:other2= for example.com/a@v1.0.0, another go.sum has h1:first=');
    expect(t?.conflicts[5]).toBe('and more go.sum lines that disagree');
  });
});

describe('collectTargets', () => {
  it('finds every go.sum below a folder, skipping vendor, testdata, hidden folders and node_modules', async () => {
    const root = await tmp();
    const put = async (rel: string, text: string): Promise<void> => {
      await mkdir(join(root, rel, '..'), { recursive: true });
      await writeFile(join(root, rel), text);
    };
    await put('svc-a/go.sum', 'example.com/a v1.0.0 h1:a=\nexample.com/a v1.0.0/go.mod h1:am=\n');
    await put('svc-b/sub/go.sum', 'example.com/b v1.0.0/go.mod h1:bm=\n');
    await put('svc-b/vendor/x/go.sum', 'example.com/vendored v1.0.0 h1:v=\n');
    await put('svc-b/testdata/go.sum', 'example.com/fixture v1.0.0 h1:t=\n');
    await put('.git/go.sum', 'example.com/git v1.0.0 h1:g=\n');
    await put('web/node_modules/go.sum', 'example.com/node v1.0.0 h1:n=\n');
    expect((await findGoSums(root)).map((f) => f.slice(root.length + 1))).toEqual(['svc-a/go.sum', 'svc-b/sub/go.sum']);
    const c = await collectTargets([root]);
    expect(c.errors).toEqual([]);
    expect(c.targets.list().map((t) => [`${t.path}@${t.version}`, t.zip])).toEqual([
      ['example.com/a@v1.0.0', true],
      ['example.com/b@v1.0.0', false],
    ]);
  });

  it('reads go.mod (requirements walk their graph), lists, stdin and module@version arguments; reports bad inputs', async () => {
    const d = await tmp();
    await writeFile(
      join(d, 'go.mod'),
      'module m\nrequire (\n\texample.com/r v1.0.0\n\texample.com/gone v1.0.0\n)\nreplace example.com/gone => example.com/fork v1.0.1\n',
    );
    await writeFile(join(d, 'tools.txt'), 'example.com/tool@v0.1.0\n');
    await writeFile(join(d, 'bad.sum'), 'nonsense\n');
    const c = await collectTargets(
      [
        join(d, 'go.mod'),
        join(d, 'tools.txt'),
        '-',
        'example.com/arg@v2.0.0+incompatible',
        join(d, 'bad.sum'),
        join(d, 'missing'),
      ],
      async () => 'example.com/stdin v1.1.0\n',
    );
    const got = Object.fromEntries(
      c.targets.list().map((t) => [`${t.path}@${t.version}`, { zip: t.zip, graph: t.graph }]),
    );
    expect(got).toEqual({
      'example.com/r@v1.0.0': { zip: true, graph: true },
      'example.com/fork@v1.0.1': { zip: true, graph: true },
      'example.com/tool@v0.1.0': { zip: true, graph: false },
      'example.com/stdin@v1.1.0': { zip: true, graph: false },
      'example.com/arg@v2.0.0+incompatible': { zip: true, graph: false },
    });
    expect(c.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/bad\.sum:1: malformed go\.sum line/),
      expect.stringMatching(/missing: no such file or folder/),
    ]);
    // An argument is no file: said without a made-up place ("arguments:0:", ":0:").
    const args = await collectTargets(['example.com/a@v1', '']);
    expect(args.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^argument: example\.com\/a@v1: not an exact version/),
      'an empty argument: no such file or folder (and not module@version)',
    ]);
  });

  it('reports a file too large to be a go.sum (a hostile repository) instead of reading it', async () => {
    const d = await tmp();
    await writeFile(join(d, 'go.sum'), '');
    await truncate(join(d, 'go.sum'), 3 * 2 ** 30); // sparse: no disk used
    await writeFile(join(d, 'list.txt'), 'example.com/ok@v1.0.0\n');
    const c = await collectTargets([d, join(d, 'go.sum'), join(d, 'list.txt')]);
    expect(c.targets.list().map((t) => t.path)).toEqual(['example.com/ok']);
    expect(c.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/go\.sum: .*larger than 64 MiB/),
      expect.stringMatching(/go\.sum: .*larger than 64 MiB/),
    ]);
  });

  it('says what an input that is neither file nor folder is (a FIFO, a device), and reads none of it', async () => {
    const d = await tmp();
    execFileSync('mkfifo', [join(d, 'go.sum')]);
    const c = await collectTargets([join(d, 'go.sum'), '/dev/zero']);
    expect(c.errors.map((e) => e.message)).toEqual([
      `${join(d, 'go.sum')}: not a file or folder (a pipe or a device): give a file, or - to read stdin`,
      '/dev/zero: not a file or folder (a pipe or a device): give a file, or - to read stdin',
    ]);
  });

  it('reads at most 64 MiB from stdin, reporting more as an input error', async () => {
    const endless = Readable.from(
      (function* () {
        for (;;) yield Buffer.alloc(1 << 20, 0x20);
      })(),
    );
    const c = await collectTargets(['-'], () => readAllStdin(endless));
    expect(c.errors.map((e) => e.message)).toEqual([expect.stringMatching(/^\(stdin\): .*larger than 64 MiB/)]);
  });

  it('says so when a folder holds no go.sum', async () => {
    const c = await collectTargets([await tmp()]);
    expect(c.errors[0]?.message).toMatch(/no go\.sum file found/);
  });

  it('says to give the folder for a go.work, and reads the go.work.sum of a folder', async () => {
    const root = await tmp();
    await mkdir(join(root, 'a'));
    await writeFile(join(root, 'go.work'), 'go 1.22\n\nuse ./a\n');
    await writeFile(join(root, 'a', 'go.sum'), 'example.com/x v1.0.0 h1:x=\nexample.com/x v1.0.0/go.mod h1:xm=\n');
    await writeFile(join(root, 'go.work.sum'), 'example.com/w v1.2.0/go.mod h1:wm=\n');
    const work = await collectTargets([join(root, 'go.work')]);
    expect(work.targets.size).toBe(0);
    expect(work.errors.map((e) => e.message)).toEqual([
      `${join(root, 'go.work')}: a go.work file is not read: give the folder holding it (every go.sum below it and go.work.sum are read)`,
    ]);
    const folder = await collectTargets([root]);
    expect(folder.errors).toEqual([]);
    expect(folder.targets.list().map((t) => `${t.path}@${t.version}`)).toEqual([
      'example.com/x@v1.0.0',
      'example.com/w@v1.2.0',
    ]);
  });
});
