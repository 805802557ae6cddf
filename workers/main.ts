/**
 * The `imv-import worker` process: SDK runtime with JSON logs and Prometheus metrics, the worker,
 * and a drain on SIGTERM/SIGINT (the SDK's default shutdown signals) within the grace time.
 */
import { DefaultLogger, Runtime, makeTelemetryFilterString, type LogLevel } from '@temporalio/worker';
import type { AppConfig } from '../config/config';
import { logger } from '../common/logger';
import { createImportWorker } from './worker';

let runtimeInstalled = false;

export function installRuntime(cfg: AppConfig): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  const sdkLog = logger.child({ component: 'temporal-sdk' });
  const level = (process.env.TEMPORAL_LOG_LEVEL ?? 'WARN') as LogLevel;
  Runtime.install({
    logger: new DefaultLogger(level, (entry) => {
      const { message, meta } = entry;
      const m = (meta ?? {}) as Record<string, unknown>;
      const fields = { workflowId: m.workflowId, runId: m.runId, activityType: m.activityType, workflowType: m.workflowType, taskQueue: m.taskQueue };
      const fn = entry.level === 'ERROR' ? sdkLog.error : entry.level === 'WARN' ? sdkLog.warn : entry.level === 'INFO' ? sdkLog.info : sdkLog.debug;
      fn.call(sdkLog, fields, message);
    }),
    telemetryOptions: {
      logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
      ...(cfg.metricsPort ? { metrics: { prometheus: { bindAddress: `0.0.0.0:${cfg.metricsPort}` } } } : {}),
    },
  });
}

export async function runWorkerProcess(cfg: AppConfig, o: { identity?: string } = {}): Promise<void> {
  installRuntime(cfg);
  const w = await createImportWorker(cfg, { identity: o.identity });
  logger.info(
    { taskQueue: cfg.temporal.taskQueue, address: cfg.temporal.address, tenants: cfg.tenants.map((t) => t.id), metricsPort: cfg.metricsPort ?? null },
    'worker started',
  );
  await w.run();
  logger.info('worker stopped');
}
