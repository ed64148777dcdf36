// vitest globalSetup: every temporary folder of a test run goes under one
// folder of its own (TMPDIR, which the test processes and everything they
// start inherit), removed when the run ends. Each test removes what it made,
// but not a test that failed or timed out, nor what a process it started
// left behind: a machine that runs the suite every day kept thousands.
// The go build cache stays in the real temporary folder (sharedGoCache), to
// be shared with the next run.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the folders that outlive a run belong (the temporary folder before this run's own). */
export const OUTER_TMP = 'GODEPOT_TEST_OUTER_TMP';

export function setup(): () => void {
  const outer = tmpdir();
  const dir = mkdtempSync(join(outer, 'godepot-tests-'));
  process.env[OUTER_TMP] = outer;
  process.env.TMPDIR = dir;
  return () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
}
