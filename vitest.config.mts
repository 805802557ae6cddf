import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Tests that need neither the suite's Temporal dev server nor vsftpd nor the machine's PostgreSQL (nor a
 * build): the reader, the domain rules, the file store, and the in-process FTP and PGlite servers of
 * `imv-import dev`. `npm run test:unit` runs only these; `npm test` runs both projects.
 */
const unit = [
  'test/openimmo/**/*.test.ts',
  'test/domain/**/*.test.ts',
  'test/common/**/*.test.ts',
  'test/store/**/*.test.ts',
  'test/hostile/reader-hostile.test.ts',
  'test/hostile/fuzz.test.ts',
  'test/ftp/pool.test.ts',
  'test/dev/embedded-ftp.test.ts',
  'test/dev/embedded-postgres.test.ts',
  'test/ops/alert-rules.test.ts',
  'test/ops/deploy-monitoring.test.ts',
];

export default defineConfig({
  test: {
    // The Temporal native bridge does not like worker threads.
    pool: 'forks',
    // Two test files at a time (vitest's default is one less than the cores: one file on two cores). The
    // integration tests mostly wait on Temporal, PostgreSQL and FTP, and each has its own tenant, task queue
    // and database, so two of them side by side share the machine, not state.
    maxWorkers: 2,
    testTimeout: 120_000,
    // Where the real-world samples are, once per run: CI fails without them; elsewhere one line says what is skipped.
    globalSetup: ['test/support/samples.ts'],
    hookTimeout: 180_000,
    teardownTimeout: 30_000,
    projects: [
      { extends: true, test: { name: 'unit', include: unit } },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/**/*.test.ts'],
          exclude: [...configDefaults.exclude, ...unit],
          // One Temporal dev server and one vsftpd for the run, started only when an integration test runs.
          globalSetup: ['test/global-setup.ts'],
        },
      },
    ],
  },
});
