import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    // The Temporal native bridge does not like worker threads.
    pool: 'forks',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
  },
});
