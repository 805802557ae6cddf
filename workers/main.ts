/**
 * The `imv-import worker` process: SDK runtime with JSON logs and Prometheus metrics, the worker,
 * and a drain on SIGTERM/SIGINT (the SDK's default shutdown signals) within the grace time.
 *
 * Metrics: one endpoint on `metricsPort` serves the app's prom-client registry plus the SDK's own
 * metrics, whose exporter is bound to an internal loopback port and appended to every scrape. The
 * endpoint listens on 127.0.0.1 unless METRICS_HOST says otherwise (it has no authentication).
 *
 * Stuck imports: at start and every 5 minutes (IMV_STUCK_CHECK_INTERVAL) the worker counts ledger rows
 * in status importing for longer than IMV_STUCK_AFTER (default 2h), logs a warning naming them and
 * sets the gauge imv_import_stuck_imports{tenant}; at the same times it sets the inbox gauges
 * (imv_import_inbox_*{tenant}) from what the tenants' last batches listed (db/inbox.ts).
 */
import { DefaultLogger, Runtime, makeTelemetryFilterString, type LogLevel } from '@temporalio/worker';
import type { AppConfig } from '../config/config';
import { logger, type Logger } from '../common/logger';
import { createImportWorker } from './worker';
import { appMetrics, freeLoopbackPort, initTenantSeries, metricsHostOf, startMetricsServer, type AppMetrics, type MetricsServer } from './metrics';
import type { Db } from '../db/db';
import { inboxStates } from '../db/inbox';
import { stuckAfterSeconds, stuckCheckIntervalSeconds, watchStuckImports, type StuckImportsWatch } from '../ops/stuck';

export interface RuntimeTelemetry {
  /** The SDK's internal Prometheus exporter, when metrics are on (loopback only). */
  sdkMetricsUrl: string | null;
}

let installed: Promise<RuntimeTelemetry> | null = null;

/**
 * Installs the SDK runtime once per process (before any worker or connection is created). With a
 * metrics port configured, the SDK's Prometheus exporter listens on a free loopback port.
 */
export function installRuntime(cfg: AppConfig, o: { log?: Logger; sdkLogLevel?: LogLevel; sdkMetrics?: boolean } = {}): Promise<RuntimeTelemetry> {
  installed ??= (async () => {
    const sdkLog = (o.log ?? logger).child({ component: 'temporal-sdk' });
    const level = o.sdkLogLevel ?? ((process.env.TEMPORAL_LOG_LEVEL ?? 'WARN') as LogLevel);
    const sdkPort = (o.sdkMetrics ?? Boolean(cfg.metricsPort)) ? await freeLoopbackPort() : null;
    Runtime.install({
      logger: new DefaultLogger(level, (entry) => {
        const { message, meta } = entry;
        const m = (meta ?? {}) as Record<string, unknown>;
        const fields = { workflowId: m.workflowId, runId: m.runId, activityType: m.activityType, workflowType: m.workflowType, taskQueue: m.taskQueue };
        // Our interceptor logs every failed activity attempt at warn with its error type, and a failed
        // file is in the ledger with its report: the SDK's own "Activity failed" and a file workflow's
        // "Workflow failed" would say it again, without the type, so they are info here.
        const repeated = message === 'Activity failed' || (message === 'Workflow failed' && m.workflowType === 'importFile');
        const level = entry.level === 'WARN' && repeated ? 'INFO' : entry.level;
        const fn = level === 'ERROR' ? sdkLog.error : level === 'WARN' ? sdkLog.warn : level === 'INFO' ? sdkLog.info : sdkLog.debug;
        fn.call(sdkLog, fields, message);
      }),
      telemetryOptions: {
        logging: { filter: makeTelemetryFilterString({ core: 'WARN' }), forward: {} },
        ...(sdkPort ? { metrics: { prometheus: { bindAddress: `127.0.0.1:${sdkPort}` } } } : {}),
      },
    });
    return { sdkMetricsUrl: sdkPort ? `http://127.0.0.1:${sdkPort}/metrics` : null };
  })();
  return installed;
}

/**
 * The runtime plus, when `metricsPort` is set, the one `/metrics` endpoint. `port` overrides the
 * config's (0 = any free port, for tests); `host` overrides METRICS_HOST (default 127.0.0.1).
 */
export async function startTelemetry(
  cfg: AppConfig,
  o: { log?: Logger; port?: number; host?: string; sdkLogLevel?: LogLevel } = {},
): Promise<{ metrics: MetricsServer | null; close(): Promise<void> }> {
  const enabled = o.port !== undefined || Boolean(cfg.metricsPort);
  const { sdkMetricsUrl } = await installRuntime(cfg, { ...o, sdkMetrics: enabled });
  if (!enabled) return { metrics: null, close: async () => {} };
  const port = o.port ?? cfg.metricsPort ?? 0;
  const metrics = await startMetricsServer({ port, host: o.host ?? metricsHostOf(), sdkMetricsUrl, log: o.log ?? logger });
  return { metrics, close: () => metrics.close() };
}

/** Sets the inbox gauges of these tenants from the database (what their last batches listed). */
export async function setInboxGauges(db: Db, tenants: string[], m: AppMetrics): Promise<void> {
  for (const s of await inboxStates(db, tenants)) {
    m.inboxListed.set({ tenant: s.tenant }, s.sinceSeconds);
    m.inboxFiles.set({ tenant: s.tenant }, s.files);
    m.inboxOldestWait.set({ tenant: s.tenant }, s.oldestWaitSeconds);
  }
}

/**
 * The worker's periodic check of the database for the configured tenants: stuck imports (log warning
 * + gauge) and the inbox gauges. It also creates the tenants' file-outcome series at 0 (alerts need them).
 */
export function startStuckImportsWatch(cfg: AppConfig, db: Db, o: { log?: Logger; metrics?: AppMetrics; env?: NodeJS.ProcessEnv } = {}): StuckImportsWatch {
  const env = o.env ?? process.env;
  const metrics = o.metrics ?? appMetrics();
  const tenants = cfg.tenants.map((t) => t.id);
  initTenantSeries(metrics, cfg.tenants);
  return watchStuckImports({
    db,
    tenants,
    stuckAfterSeconds: stuckAfterSeconds(undefined, env),
    intervalSeconds: stuckCheckIntervalSeconds(env),
    gauge: metrics.stuckImports,
    log: (o.log ?? logger).child({ component: 'stuck-imports' }),
    alsoCheck: () => setInboxGauges(db, tenants, metrics),
  });
}

export async function runWorkerProcess(cfg: AppConfig, o: { identity?: string } = {}): Promise<void> {
  const telemetry = await startTelemetry(cfg);
  const w = await createImportWorker(cfg, { identity: o.identity }).catch(async (e: unknown) => {
    // The database refused (it is opened before the Temporal connection): the SDK runtime, with no
    // connection or worker to end it, would keep the process alive after the error.
    await telemetry.close();
    await Runtime._instance?.shutdown();
    throw e;
  });
  logger.info(
    {
      taskQueue: cfg.temporal.taskQueue,
      address: cfg.temporal.address,
      tenants: cfg.tenants.map((t) => t.id),
      metricsPort: telemetry.metrics?.port ?? null,
      metricsUrl: telemetry.metrics?.url ?? null,
    },
    'worker started',
  );
  const stuck = startStuckImportsWatch(cfg, w.db);
  try {
    await w.run();
  } finally {
    stuck.stop();
    await telemetry.close();
  }
  logger.info('worker stopped');
}
