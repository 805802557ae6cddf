/*
 * A worker process for the tests (test/support/workers.ts spawnWorker): createImportWorker
 * from the TypeScript sources (run with `node --import tsx`), a prebuilt workflow bundle,
 * configuration from IMV_FAULT_WORKER. Prints "ready" once polling. Killed with SIGKILL by the
 * tests; nothing here cleans up on purpose.
 */
import pino from 'pino';
import { DefaultLogger, Runtime, Worker, type WorkerOptions } from '@temporalio/worker';
import { createImportWorker } from '../../workers/worker';

// A killed worker's workflow tasks wait for its sticky queue to time out before another worker
// gets them (10 s by default): keep that short so a test does not mostly wait.
const create = Worker.create.bind(Worker);
Worker.create = (options: WorkerOptions) => create({ ...options, stickyQueueScheduleToStartTimeout: '1s' });

async function main() {
  const { cfg, identity, bundle, ftpTimeoutMs } = JSON.parse(process.env.IMV_FAULT_WORKER ?? '{}');
  Runtime.install({ logger: new DefaultLogger((process.env.TEST_SDK_LOG_LEVEL as 'ERROR') || 'ERROR') });
  const log = pino({ level: process.env.TEST_LOG_LEVEL || 'silent' }, pino.destination(2));
  const w = await createImportWorker(cfg, { identity, log, ftpTimeoutMs, workflowBundle: { codePath: bundle }, shutdownGraceMs: 1000 });
  const running = w.run();
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => w.shutdown());
  await running;
}

main().catch((e: Error) => {
  process.stderr.write(`fault worker failed: ${e?.stack ?? e}\n`);
  process.exit(1);
});
