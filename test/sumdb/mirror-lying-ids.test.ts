// A mirror that answers a lookup with the genuine record text and signed
// tree head but a record id outside that head (negative, or beyond the
// tree) is refused like any answer that does not verify, and the next
// mirror is asked: one lying mirror must not block lookups.
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { MemoryStorage } from '../../src/storage/index.js';
import { SumdbMirror, type SumdbRemote, type RemoteResult } from '../../src/sumdb/index.js';
import { RemoteError } from '../../src/sumdb/remote.js';
import { formatRecord, formatTree, parseTilePath } from '../../src/sumdb/tlog/index.js';
import { escapePath, escapeVersion } from '../../src/module/index.js';
import { recordText, SumLog, TEST_KEY } from '../world/index.js';
import { makeSigners } from '../world/sumkeys.js';
import { fakeModules } from './mirror-harness.js';

type Answer = (path: string) => Promise<Buffer | null>;

/** An in-memory SumdbRemote over named sources tried in order (a refused body moves on to the next). */
class ListRemote implements SumdbRemote {
  constructor(private readonly list: ReadonlyArray<{ url: string; answer: Answer }>) {}
  get urls(): readonly string[] {
    return this.list.map((s) => s.url);
  }
  without(urls: ReadonlySet<string>): SumdbRemote | null {
    const rest = this.list.filter((s) => !urls.has(s.url));
    return rest.length > 0 ? new ListRemote(rest) : null;
  }
  async get(
    path: string,
    _kind: 'latest' | 'lookup' | 'tile' | 'data',
    accept: (b: Buffer, from: string) => void,
  ): Promise<RemoteResult> {
    for (const s of this.list) {
      const b = await s.answer(path);
      if (!b) return { found: false, status: 404, detail: 'not found', from: s.url };
      try {
        accept(b, s.url);
      } catch {
        continue;
      }
      return { found: true, body: b, from: s.url };
    }
    throw new RemoteError('no source answered', false);
  }
}

const signers = makeSigners(TEST_KEY);
const modules = fakeModules(20);

async function honestLog(): Promise<{ log: SumLog; answer: Answer }> {
  const log = new SumLog();
  for (const m of modules) await log.append(`${m.path}@${m.version}`, Buffer.from(recordText(m)));
  const note = async (): Promise<Buffer> => signers.sign(formatTree({ n: log.size, hash: await log.treeHash() }));
  const answer: Answer = async (path) => {
    if (path === '/latest') return note();
    if (path.startsWith('/lookup/')) {
      const m = modules.find((x) => path === `/lookup/${escapePath(x.path)}@${escapeVersion(x.version)}`);
      if (!m) return null;
      const id = log.idOf(m.path, m.version) as number;
      return Buffer.concat([formatRecord(id, Buffer.from(recordText(m))), await note()]);
    }
    if (path.startsWith('/tile/')) {
      const t = parseTilePath(path.slice(1));
      if (!log.covers(t)) return null;
      return t.l === -1 ? log.dataTile(t) : log.tileData(t);
    }
    return null;
  };
  return { log, answer };
}

async function open(remote: SumdbRemote): Promise<SumdbMirror> {
  return SumdbMirror.open({
    key: TEST_KEY.vkey,
    remote,
    storage: new MemoryStorage(),
    log: pino({ level: 'silent' }),
    offline: false,
    latestTtl: 60_000,
    staleGrace: 300,
    nosumdb: '',
    indexDataTiles: false,
  });
}

describe('SumdbMirror: a lookup answer whose record id is outside its own signed head', () => {
  for (const badId of [-1, 1_000_000]) {
    it(`id ${badId} from the first mirror: the honest second mirror answers`, async () => {
      const { answer } = await honestLog();
      const lying: Answer = async (path) => {
        const b = await answer(path);
        if (!b || !path.startsWith('/lookup/')) return b;
        // Same record text and signed head; only the id line is changed.
        const nl = b.indexOf(0x0a);
        return Buffer.concat([Buffer.from(String(badId)), b.subarray(nl)]);
      };
      const mirror = await open(
        new ListRemote([
          { url: 'https://liar.example', answer: lying },
          { url: 'https://honest.example', answer },
        ]),
      );
      const m = modules[7]!;
      let err: unknown = null;
      let id: number | null = null;
      try {
        id = (await mirror.lookup({ path: m.path, version: m.version })).record.id;
      } catch (e) {
        err = e;
      }
      await mirror.close();
      expect(err === null ? null : `${(err as Error).name}: ${(err as Error).message}`).toBeNull();
      expect(id).toBe(7);
    });
  }
});

describe("SumdbMirror: a lookup answered with another module's genuine record", () => {
  it('is refused (it proves in the tree, but is not the answer): the honest mirror answers, and only its record is served', async () => {
    const { answer } = await honestLog();
    const other = modules[3]!;
    const asked: string[] = [];
    // A genuine record and signed head, id and all, of another module: its inclusion proof holds.
    const lying: Answer = async (path) => {
      asked.push(path);
      return answer(
        path.startsWith('/lookup/') ? `/lookup/${escapePath(other.path)}@${escapeVersion(other.version)}` : path,
      );
    };
    const mirror = await open(
      new ListRemote([
        { url: 'https://liar.example', answer: lying },
        { url: 'https://honest.example', answer },
      ]),
    );
    const m = modules[7]!;
    try {
      const { record } = await mirror.lookup({ path: m.path, version: m.version });
      expect(record.id).toBe(7);
      expect(record.text.toString()).toBe(recordText(m));
      expect(asked.filter((p) => p.startsWith('/lookup/'))).toHaveLength(1);
      // Served over HTTP the same way: the record of the module asked for, never the other one.
      const served = await mirror.serve(`lookup/${escapePath(m.path)}@${escapeVersion(m.version)}`);
      expect(served.body.toString()).toContain(recordText(m));
      expect(served.body.toString()).not.toContain(other.path + ' ');
    } finally {
      await mirror.close();
    }
  });
});
