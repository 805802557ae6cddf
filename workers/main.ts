/**
 * The `imv-import worker` process: SDK runtime with JSON logs and Prometheus metrics, the worker,
 * and a drain on SIGTERM/SIGINT (the SDK's default shutdown signals) within the grace time.
 *
 * Metrics: one endpoint on `metricsPort` serves the app's prom-client registry plus the SDK's own
 * metrics, whose exporter is bound to an internal loopback port and appended to every scrape. The
 * endpoint listens on 127.0.0.1 unless METRICS_HOST says otherwise (it has no authentication).
 *
 * Stuck imports: at start and every 5 minutes (IMV_STUCK_CHECK_INTERVAL) the worker counts ledger rows
 * in status importing for longer than IMV_STUCK_AFTER, else the config's worker.stuckAfter (default 2h), logs a warning naming them and
 * sets the gauge imv_import_stuck_imports{tenant}; at the same times it sets the inbox gauges
 * (imv_import_inbox_*{tenant}) from what the tenants' last batches listed (db/inbox.ts).
 */
import { DefaultLogger, Runtime, makeTelemetryFilterString, type LogLevel } from '@temporalio/worker';
import type { AppConfig } from '../config/config';
import { logger, type Logger } from '../common/logger';
import { createImportWorker, WorkerStartError, type ImportWorker } from './worker';
import { shortErrorMessage } from '../common/error-messages';
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
        // `state`: the worker's state changes (RUNNING, STOPPING when a SIGTERM starts the drain, …).
        const fields = {
          workflowId: m.workflowId,
          runId: m.runId,
          activityType: m.activityType,
          workflowType: m.workflowType,
          taskQueue: m.taskQueue,
          state: m.state,
        };
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
  const host = o.host ?? metricsHostOf();
  const metrics = await startMetricsServer({ port, host, sdkMetricsUrl, log: o.log ?? logger }).catch((e: unknown) => {
    const code = (e as { code?: string }).code;
    throw new WorkerStartError(
      `cannot serve /metrics on ${host}:${port} (metricsPort in IMV_CONFIG, or METRICS_PORT): ${code === 'EADDRINUSE' ? 'the port is in use' : shortErrorMessage(e)}`,
    );
  });
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
    stuckAfterSeconds: stuckAfterSeconds(undefined, env, cfg.worker.stuckAfter),
    intervalSeconds: stuckCheckIntervalSeconds(env),
    gauge: metrics.stuckImports,
    log: (o.log ?? logger).child({ component: 'stuck-imports' }),
    alsoCheck: () => setInboxGauges(db, tenants, metrics),
  });
}

/** The SDK's shutdown signals (its default list): they drain a running worker. */
const STOP_SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGQUIT', 'SIGUSR2'];

/** A stop signal came before the worker ran: nothing was started that needs draining. */
class StartupInterrupted extends Error {
  constructor(readonly signal: NodeJS.Signals) {
    super(`${signal} during start-up`);
  }
}

/**
 * Start-up's own handling of the stop signals. The SDK runtime takes them over when it is installed
 * (the first step), but only a running worker reacts to them: without this, a SIGTERM while the
 * database or Temporal is still being reached would be swallowed. Each step races the signal; what a
 * step opens after the signal won is closed again.
 */
function startupSignals() {
  let interrupted: StartupInterrupted | null = null;
  let reject: (e: StartupInterrupted) => void = () => undefined;
  const signalled = new Promise<never>((_, r) => (reject = r));
  signalled.catch(() => undefined);
  const onSignal = (signal: NodeJS.Signals) => {
    interrupted ??= new StartupInterrupted(signal);
    reject(interrupted);
  };
  for (const s of STOP_SIGNALS) process.on(s, onSignal);
  return {
    step<T>(p: Promise<T>, close: (v: T) => Promise<unknown>): Promise<T> {
      void p.then((v) => (interrupted ? close(v) : undefined)).catch(() => undefined);
      return Promise.race([p, signalled]);
    },
    end() {
      for (const s of STOP_SIGNALS) process.off(s, onSignal);
    },
  };
}

/**
 * `imv-import worker`: runs until a stop signal has drained it. A failed start-up (database, Temporal,
 * the metrics port) closes what it had opened and throws; a stop signal during start-up ends it
 * without error. The CLI ends the process afterwards (the SDK runtime's log forwarding would keep it).
 */
export async function runWorkerProcess(cfg: AppConfig, o: { identity?: string } = {}): Promise<void> {
  const startup = startupSignals();
  let telemetry: Awaited<ReturnType<typeof startTelemetry>> | null = null;
  let w: ImportWorker;
  try {
    telemetry = await startup.step(startTelemetry(cfg), (t) => t.close());
    // A worker created after the signal never polls: started and stopped at once, it closes its connections.
    w = await startup.step(createImportWorker(cfg, { identity: o.identity }), (late) => {
      const ran = late.run();
      late.shutdown();
      return ran;
    });
  } catch (e) {
    await telemetry?.close().catch(() => undefined);
    if (!(e instanceof StartupInterrupted)) throw e;
    logger.info({ signal: e.signal }, 'worker stopped during start-up');
    return;
  } finally {
    startup.end();
  }
  logger.info(
    {
      taskQueue: cfg.temporal.taskQueue,
      address: cfg.temporal.address,
      deployment: w.version?.deploymentName ?? null,
      buildId: w.version?.buildId ?? null,
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
