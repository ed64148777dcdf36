// FIFOs as the storage tests use them: a reader's open of one waits for a
// writer, holding one of libuv's threads — what a disk that hangs does.
import { closeSync, constants, openSync } from 'node:fs';

/** Opens the FIFO for writing, which ends the wait of a reader blocked in its open. */
export function unblock(fifo: string): void {
  try {
    closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK));
  } catch {
    // No reader waiting (ENXIO): nothing to end.
  }
}
