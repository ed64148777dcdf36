import { configDefaults, defineConfig } from 'vitest/config';

/** Fast tests of the pure layers and in-process pieces: `npm run test:unit`. */
const UNIT = ['module', 'modzip', 'sumdb', 'storage', 'config', 'util'].map((d) => `test/${d}/**/*.test.ts`);

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // One temporary folder per run, removed at its end (test/support/global-tmp.ts).
    globalSetup: ['test/support/global-tmp.ts'],
    // After each file, the servers its tests started and did not stop are killed (a test that timed out).
    setupFiles: ['test/support/kill-spawned.ts'],
    // End-to-end files run the real go command and start servers; two cores
    // are shared between them, so keep file parallelism modest.
    maxWorkers: 2,
    // Every file belongs to exactly one project, so `vitest run` runs each once.
    projects: [
      { extends: true, test: { name: 'unit', include: UNIT } },
      {
        extends: true,
        test: { name: 'integration', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...UNIT] },
      },
    ],
  },
});
