import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // End-to-end files run the real go command and start servers; two cores
    // are shared between them, so keep file parallelism modest.
    maxWorkers: 2,
  },
});
