// Memory storage whose writes of some keys wait until the test lets them
// through (or refuses them): what a slow or failing disk looks like to the
// code that answers before its writes land. Staged commits reach put() too.
import { MemoryStorage, type PutOptions } from '../../src/storage/index.js';

export class GatedStorage extends MemoryStorage {
  /** Keys whose write was held at the gate, in order. */
  readonly held: string[] = [];
  /** Held keys whose write then landed. */
  readonly written: string[] = [];
  /** How many held writes had landed when the storage was closed; -1 while open. */
  writtenAtClose = -1;
  private release!: () => void;
  private refuse!: (err: Error) => void;
  private readonly gate = new Promise<void>((resolve, reject) => {
    this.release = resolve;
    this.refuse = reject;
  });

  constructor(private readonly slow: (key: string) => boolean) {
    super();
    this.gate.catch(() => undefined);
  }

  override async put(key: string, data: Uint8Array, opts?: PutOptions): Promise<void> {
    if (!this.slow(key)) return super.put(key, data, opts);
    this.held.push(key);
    await this.gate;
    await super.put(key, data, opts);
    this.written.push(key);
  }

  letThrough(): void {
    this.release();
  }

  /** Fails every held write, and every later one of a matching key, with err. */
  failWith(err: Error): void {
    this.refuse(err);
  }

  override async close(): Promise<void> {
    this.writtenAtClose = this.written.length;
    await super.close();
  }
}
