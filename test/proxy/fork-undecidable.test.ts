// Whether the checksum database's history was forked cannot be told (the
// stored fork evidence could not be read now) while the database is away:
// nothing is served on an upstream's word alone, under any --verify policy,
// and the answer says a storage read failed — not that there was tampering.
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { MirrorChecksums } from '../../src/proxy/checksums.js';
import { ModuleService } from '../../src/proxy/service.js';
import { oneBodyUpstream, serviceContext } from '../support/service.js';
import { GodepotError } from '../../src/proxy/errors.js';
import { ChecksumUnavailableError } from '../../src/proxy/verify.js';
import { MemoryStorage } from '../../src/storage/index.js';
import { SumdbError } from '../../src/sumdb/errors.js';
import type { SumdbMirror } from '../../src/sumdb/mirror.js';

const GO_MOD = Buffer.from('module example.com/m\n');

/** A mirror whose database times out, and whose stored fork evidence could not be read. */
function mirror(): SumdbMirror {
  return {
    name: 'sum.golang.org',
    lookup: () =>
      Promise.reject(new SumdbError('unavailable', 'checksum database sum.golang.org: every source timed out', true)),
    tree: {
      knownFork: () =>
        Promise.resolve({
          detectedAt: 'an unknown time',
          from: 'a source unknown (the stored fork evidence could not be read: EIO)',
          verifiedSize: 0,
          conflictingSize: 0,
          report: 'the stored fork evidence could not be read',
          unknown: true as const,
        }),
    },
  } as unknown as SumdbMirror;
}

describe('fork evidence that cannot be read, in an outage', () => {
  it('MirrorChecksums says so: undecidable, not inconsistent', async () => {
    const err = (await new MirrorChecksums(mirror())
      .lookup('example.com/m', 'v1.0.0')
      .catch((e: unknown) => e)) as ChecksumUnavailableError;
    expect(err).toBeInstanceOf(ChecksumUnavailableError);
    expect(err.answer).toBe('undecidable');
    expect(err.message).toMatch(/cannot be told now .*EIO/);
  });

  it('the service refuses under the fallback policy, saying a storage read failed, and stores nothing', async () => {
    const storage = new MemoryStorage();
    const logs: Array<Record<string, unknown>> = [];
    const service = new ModuleService(
      serviceContext(storage, oneBodyUpstream(GO_MOD), {
        checksums: new MirrorChecksums(mirror()),
        log: pino({ level: 'info' }, { write: (l: string) => logs.push(JSON.parse(l) as Record<string, unknown>) }),
      }),
      1 << 16,
      { readAhead: false },
    );
    const err = await service.get({ kind: 'mod', path: 'example.com/m', version: 'v1.0.0' }).catch((e: unknown) => e);
    await service.idle();
    expect(err).toBeInstanceOf(GodepotError);
    expect((err as GodepotError).code).toBe('storage_failed');
    expect((err as Error).message).toMatch(/cannot be told now/);
    expect((err as Error).message).not.toMatch(/tampering/);
    expect(logs.filter((l) => /contradicts the verified tree/.test(String(l.msg)))).toEqual([]);
    for (const area of ['mod/', 'unverified/']) expect(await storage.list(area)).toEqual([]);
  });
});
