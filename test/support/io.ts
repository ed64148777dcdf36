// A CommandIO for running a godepot command in a test: everything it says, on
// stdout or stderr (not a terminal), collected in one text; no environment.
import type { CommandIO } from '../../src/cli/command-settings.js';

export function captureIo(): { io: CommandIO; text: () => string } {
  let out = '';
  const io: CommandIO = {
    out: (s) => void (out += s),
    err: { write: (s: string) => void (out += s), isTTY: false },
    env: {},
  };
  return { io, text: () => out };
}
