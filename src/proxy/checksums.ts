// The module service's checksum source: godepot's own verifying mirror of the
// primary checksum database, so that module bytes are checked against records
// proven to be in the signed tree (and cached for clients to reuse).
import { NotInLogError, SumdbError } from '../sumdb/errors.js';
import type { SumdbMirror } from '../sumdb/mirror.js';
import { ChecksumUnavailableError, hashesFromRecord, type ChecksumSource, type GoSumHashes } from './verify.js';

export class MirrorChecksums implements ChecksumSource {
  constructor(private readonly mirror: SumdbMirror) {}

  get name(): string {
    return this.mirror.name;
  }

  async held(path: string, version: string, signal?: AbortSignal): Promise<GoSumHashes | null> {
    const record = await this.mirror.heldRecord({ path, version }, signal);
    return record ? hashesFromRecord(record.text.toString('utf8'), path, version) : null;
  }

  async lookup(path: string, version: string, signal?: AbortSignal): Promise<GoSumHashes> {
    try {
      const { record } = await this.mirror.lookup({ path, version }, signal);
      return hashesFromRecord(record.text.toString('utf8'), path, version);
    } catch (err) {
      if (err instanceof SumdbError)
        throw new ChecksumUnavailableError(
          this.name,
          err.message,
          err instanceof NotInLogError ? 'not_in_log' : err.kind === 'inconsistent' ? 'inconsistent' : undefined,
        );
      throw err;
    }
  }
}
