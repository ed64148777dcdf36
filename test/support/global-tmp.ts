// vitest globalSetup: every temporary folder of a test run goes under one
// folder of its own (TMPDIR, which the test processes and everything they
// start inherit), removed when the run ends. Each test removes what it made,
// but not a test that failed or timed out, nor what a process it started
// left behind: a machine that runs the suite every day kept thousands.
// The go build cache stays in the real temporary folder (sharedGoCache), to
// be shared with the next run.
//
// Each project of the config runs this (in the one main process, each with
// its own copy of this module): the first makes the folder, the last to end
// removes it. What they share is in the environment.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Where the folders that outlive a run belong (the temporary folder before this run's own). */
export const OUTER_TMP = 'GODEPOT_TEST_OUTER_TMP';
const RUN_TMP = 'GODEPOT_TEST_RUN_TMP';
const USERS = 'GODEPOT_TEST_RUN_TMP_USERS';

export function setup(): () => void {
  if (process.env[RUN_TMP] === undefined) {
    const outer = tmpdir();
    const dir = mkdtempSync(join(outer, 'godepot-tests-'));
    process.env[OUTER_TMP] = outer;
    process.env[RUN_TMP] = dir;
    process.env.TMPDIR = dir;
    process.env[USERS] = '0';
  }
  process.env[USERS] = String(Number(process.env[USERS]) + 1);
  return () => {
    const left = Number(process.env[USERS]) - 1;
    process.env[USERS] = String(left);
    const dir = process.env[RUN_TMP];
    if (left > 0 || dir === undefined) return;
    process.env.TMPDIR = process.env[OUTER_TMP];
    delete process.env[RUN_TMP];
    rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  };
}
