// The users file as the server sees it: read at start (a bad file stops the
// start), re-read when it changes (a bad edit is logged and the last good
// users stay in force, so a typo never opens or closes the door).
import { readFileSync, statSync, unwatchFile, watchFile } from 'node:fs';
import type { Logger } from 'pino';
import { parseUsers, UsersFileError, type User } from './users.js';
import { unreadableFile } from '../util/error-codes.js';

/** Why a users file that is a pipe or a device is not read. */
export const NOT_A_FILE = 'a pipe or a device, not a users file; give the path of a regular (JSON) file';

export class UsersFile {
  private users: readonly User[];

  constructor(
    readonly path: string,
    private readonly log: Logger,
  ) {
    this.users = UsersFile.read(path);
  }

  static read(path: string): User[] {
    let text: string;
    try {
      // A pipe or a device would hold this synchronous read, and the server with it, for ever.
      const st = statSync(path);
      if (!st.isFile() && !st.isDirectory())
        throw new UsersFileError(`cannot read the auth file ${path}: ${NOT_A_FILE}`);
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if (err instanceof UsersFileError) throw err;
      throw new UsersFileError(`cannot read the auth file ${path}: ${unreadableFile(err, 'a users file')}`);
    }
    try {
      return parseUsers(text);
    } catch (err) {
      throw new UsersFileError(`auth file ${path}: ${(err as Error).message}`);
    }
  }

  get current(): readonly User[] {
    return this.users;
  }

  /** Reads the file again now. */
  reload(): void {
    try {
      this.users = UsersFile.read(this.path);
      this.log.info({ file: this.path, users: this.users.length }, 'auth file reloaded');
    } catch (err) {
      this.log.error(
        { file: this.path, err: (err as Error).message },
        'auth file not reloaded; keeping the last good one',
      );
    }
  }

  /** Re-reads the file when its modification time or size changes (polled every intervalMs). */
  watch(intervalMs = 1000): () => void {
    const onChange = (): void => this.reload();
    watchFile(this.path, { interval: intervalMs, persistent: false }, onChange);
    return () => unwatchFile(this.path, onChange);
  }
}
