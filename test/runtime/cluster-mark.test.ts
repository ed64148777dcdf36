// A storage nodes share through Redis is marked, and a process that would
// write to it without --redis refuses to start (runtime/cluster-mark.ts).
import { afterAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openStorage } from '../../src/runtime/stores.js';
import { CLUSTER_MARK_KEY, redisWithoutCredentials } from '../../src/runtime/cluster-mark.js';
import { ConfigError } from '../../src/config/load.js';
import { removeDir, settingsFrom, tempDir } from '../support/godepot.js';

describe('the cluster mark on shared storage', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await removeDir(d);
  });
  const folder = async (): Promise<string> => {
    const d = await tempDir();
    dirs.push(d);
    return d;
  };

  it('a process with --redis marks the storage once, naming Redis without its credentials', async () => {
    const data = await folder();
    const first = settingsFrom({ data, redis: 'redis://ops:s3cret@127.0.0.1:6390/2', 'node-name': 'node-a' });
    await (await openStorage(first, 'check')).close();
    const mark = JSON.parse(await readFile(join(data, CLUSTER_MARK_KEY), 'utf8')) as Record<string, string>;
    expect(mark).toMatchObject({ coordination: 'redis', redis: 'redis://127.0.0.1:6390/2', markedBy: 'node-a' });
    expect(JSON.stringify(mark)).not.toContain('s3cret');
    // Another node keeps the first mark (the cluster's first node, its date).
    await (
      await openStorage(settingsFrom({ data, redis: 'redis://127.0.0.1:6390/2', 'node-name': 'node-b' }), true)
    ).close();
    expect(JSON.parse(await readFile(join(data, CLUSTER_MARK_KEY), 'utf8'))).toEqual(mark);
  });

  it('a writer without --redis refuses a marked storage, saying what to pass; a reader opens it', async () => {
    const data = await folder();
    await (
      await openStorage(settingsFrom({ data, redis: 'redis://127.0.0.1:6390', 'node-name': 'node-a' }), true)
    ).close();
    for (const writes of [true, 'check'] as const) {
      const err = await openStorage(settingsFrom({ data }), writes).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      expect(msg).toContain(`the data folder ${data} is shared by godepot nodes that coordinate through Redis`);
      expect(msg).toContain('redis://127.0.0.1:6390');
      expect(msg).toContain('marked by node-a at ');
      expect(msg).toContain('--redis');
      expect(msg).toContain(`delete "${CLUSTER_MARK_KEY}"`);
    }
    // `godepot incidents` and `private` only read: they run against the cluster's storage.
    await (await openStorage(settingsFrom({ data }), false)).close();
  });

  it('an unmarked storage opens without --redis and stays unmarked', async () => {
    const data = await folder();
    await (await openStorage(settingsFrom({ data }), true)).close();
    expect(existsSync(join(data, CLUSTER_MARK_KEY))).toBe(false);
  });

  it('a damaged mark still refuses a writer without --redis', async () => {
    const data = await folder();
    const s = await openStorage(settingsFrom({ data }), true);
    await s.put(CLUSTER_MARK_KEY, Buffer.from('{not json'));
    await s.close();
    await expect(openStorage(settingsFrom({ data }), true)).rejects.toThrow(
      /coordinate through Redis; without --redis/,
    );
  });

  it('names Redis without user or password', () => {
    expect(redisWithoutCredentials('redis://u:p@cache.internal:6379/1')).toBe('redis://cache.internal:6379/1');
    expect(redisWithoutCredentials('rediss://:p@cache.internal:6380')).toBe('rediss://cache.internal:6380');
    expect(redisWithoutCredentials('not a url')).toBe('redis://…');
  });
});
