import { configDefaults, defineConfig } from 'vitest/config';

/**
 * Projects by folder and file name. Unit tests are the files under test/openimmo, test/domain,
 * test/common and test/config (pure logic) and every file named `*.unit.test.ts` elsewhere: they need
 * neither the suite's Temporal dev server nor vsftpd nor the machine's PostgreSQL (nor a build).
 * Every other `*.test.ts` is an integration test. `npm run test:unit` runs the unit project.
 */
const unit = ['test/{openimmo,domain,common,config}/**/*.test.ts', 'test/**/*.unit.test.ts'];

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
