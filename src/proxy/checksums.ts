// The module service's checksum source: godepot's own verifying mirror of the
// primary checksum database, so that module bytes are checked against records
// proven to be in the signed tree (and cached for clients to reuse).
import { NotInLogError, SumdbError } from '../sumdb/errors.js';
import type { SumdbMirror } from '../sumdb/mirror.js';
import {
  ChecksumUnavailableError,
  hashesFromRecord,
  type ChecksumSource,
  type GoSumHashes,
  type KnownFork,
} from './verify.js';

export class MirrorChecksums implements ChecksumSource {
  constructor(private readonly mirror: SumdbMirror) {}

  get name(): string {
    return this.mirror.name;
  }

  async held(path: string, version: string, signal?: AbortSignal): Promise<GoSumHashes | null> {
    const record = await this.mirror.heldRecord({ path, version }, signal);
    return record ? hashesFromRecord(record.text.toString('utf8'), path, version) : null;
  }

  async forked(): Promise<KnownFork | null> {
    const f = await this.mirror.tree.knownFork();
    if (!f) return null;
    if (f.unknown)
      return {
        text: `whether the database's history was forked cannot be told now (${f.from})`,
        answer: 'undecidable',
      };
    return {
      text: `${f.from} served a history that contradicts the verified tree at ${f.detectedAt} (a fork, not cleared)`,
      answer: 'inconsistent',
    };
  }

  async lookup(path: string, version: string, signal?: AbortSignal): Promise<GoSumHashes> {
    try {
      const { record } = await this.mirror.lookup({ path, version }, signal);
      return hashesFromRecord(record.text.toString('utf8'), path, version);
    } catch (err) {
      if (err instanceof SumdbError && err.kind === 'inconsistent')
        throw new ChecksumUnavailableError(this.name, err.message, 'inconsistent');
      // Once a fork was refused (here, by another worker or node), a database that then stops answering, or
      // says it has no record, or a lookup that fails for any other reason, is not an outage to fall back
      // from: the one who forged the history may also be the one who keeps it away. Until an operator clears
      // the fork (README, Operations), nothing new is served on the upstream's word alone.
      const fork = await this.forked().catch(() => null);
      if (fork)
        throw new ChecksumUnavailableError(this.name, `${(err as Error).message}; and ${fork.text}`, fork.answer);
      if (!(err instanceof SumdbError)) throw err;
      if (err instanceof NotInLogError) throw new ChecksumUnavailableError(this.name, err.message, 'not_in_log');
      throw new ChecksumUnavailableError(this.name, err.message);
    }
  }
}
