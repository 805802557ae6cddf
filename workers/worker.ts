/**
 * A worker: stateless and interchangeable, any number on one task queue (scale-out). Its database
 * pool is sized to its activity slots so that every running activity can hold a connection.
 */
import { NativeConnection, Worker, type WorkerOptions as WorkerCreateOptions, type WorkflowBundleOption } from '@temporalio/worker';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import os from 'node:os';
import type { AppConfig } from '../config/config';
import { workerDeploymentVersion } from '../config/deployment';
import { explainTemporalConnectFailure, isTemporalAuthError, temporalConnectOptions, temporalRefusal } from '../config/temporal';
import { createActivities } from '../activities';
import { closeDb, DatabaseConnectionError, openDatabase, type Db } from '../db/db';
import { createFileStore } from '../store/open-store';
import { FtpPool } from '../ftp/pool';
import { logger as rootLogger, type Logger } from '../common/logger';
import { activityObservability } from './interceptors';
import { appMetrics, type AppMetrics } from './metrics';
import { prebuiltBundle, workflowsPath } from './workflow-bundle';
import { shortErrorMessage } from '../common/error-messages';

export interface ImportWorker {
  worker: Worker;
  db: Db;
  /** The Worker Deployment Version it polls as; null: unversioned. */
  version: WorkerDeploymentVersion | null;
  /** Runs until shutdown() (or SIGINT/SIGTERM when installed); then closes the pool. */
  run(): Promise<void>;
  shutdown(): void;
}

export interface WorkerOptions {
  connection?: NativeConnection;
  workflowBundle?: WorkflowBundleOption;
  identity?: string;
  log?: Logger;
  env?: NodeJS.ProcessEnv;
  ftpTimeoutMs?: number;
  /** Overrides the config's grace time (tests). */
  shutdownGraceMs?: number;
  /** Where the activity interceptor counts; default: the process's registry (served on metricsPort). */
  metrics?: AppMetrics;
  /** More activity interceptors after the observability one (tests: hold an activity). */
  activityInterceptors?: ActivityInterceptorsFactory[];
}

export { workflowsPath };

export async function createImportWorker(cfg: AppConfig, opts: WorkerOptions = {}): Promise<ImportWorker> {
  const log = opts.log ?? rootLogger;
  // Before anything is opened: a versioned worker without a build id refuses to start.
  const version = workerDeploymentVersion(cfg.worker.deployment, opts.env);
  const slots = cfg.worker.maxConcurrentActivities;
  const db = await openDatabase(cfg, slots + 2).catch((e: unknown) => {
    rootLogger.debug({ err: { message: (e as Error).message, stack: (e as Error).stack } }, 'opening the database failed');
    // A connection that failed already names the server and the cause.
    if (e instanceof DatabaseConnectionError) throw new WorkerStartError(e.message);
    throw new WorkerStartError(
      `cannot open the database ${databaseWhere(cfg.databaseUrl)} (databaseUrl in IMV_CONFIG, or DATABASE_URL): ${shortErrorMessage(e)}`,
    );
  });
  const store = createFileStore(cfg, db);
  // What start-up opened is closed again when a later step fails: an open pool would keep a worker
  // that cannot start alive.
  const opened: (() => unknown)[] = [() => closeDb(db), () => store.close()];
  try {
    const cleaned = await store.cleanTemp();
    if (cleaned) log.info({ cleaned, store: store.kind }, 'removed temp files left by interrupted downloads');
    const connection = opts.connection ?? (await connectTemporal(cfg));
    if (!opts.connection) opened.push(() => connection.close());
    // Logged-in FTP connections shared by this worker's activities (as many idle as activity slots).
    const ftpPool = new FtpPool({ timeoutMs: opts.ftpTimeoutMs, maxIdle: slots });
    opened.push(() => ftpPool.close());
    if (cfg.temporal.security.includes('api-key')) await checkWritePermission(connection, cfg);
    const worker = await Worker.create(workerOptions(cfg, opts, { connection, db, store, log, ftpPool, version }));
    return {
      worker,
      db,
      version,
      async run() {
        try {
          await worker.run();
        } catch (e) {
          // Polling refused by the server's authorization: one line for the operator, exit 1.
          if (isTemporalAuthError(e)) throw new WorkerStartError(temporalRefusal(cfg.temporal));
          throw e;
        } finally {
          ftpPool.close();
          await store.close();
          await closeDb(db);
          if (!opts.connection) await connection.close();
        }
      },
      shutdown() {
        if (worker.getState() === 'RUNNING') worker.shutdown();
      },
    };
  } catch (e) {
    for (const close of opened.reverse()) await Promise.resolve(close()).catch(() => undefined);
    // Worker.create describes the namespace: a key without permission is refused there.
    if (isTemporalAuthError(e)) throw new WorkerStartError(temporalRefusal(cfg.temporal));
    throw e;
  }
}

/** A worker's start-up failed, for a reason the operator fixes (the CLI prints the message alone, exit 1). */
export class WorkerStartError extends Error {
  override readonly name = 'WorkerStartError';
  readonly exitCode = 1;
}

/** host:port/name of a database URL: never its user or password. */
function databaseWhere(url: string): string {
  try {
    const u = new URL(url);
    return `${u.host}${u.pathname}`;
  } catch {
    return '(databaseUrl is not a URL)';
  }
}

/** The worker's connection, made as the CLI's (config/temporal.ts); a failure is one short line. */
async function connectTemporal(cfg: AppConfig): Promise<NativeConnection> {
  const options = temporalConnectOptions(cfg.temporal);
  try {
    return await NativeConnection.connect(options);
  } catch (e) {
    rootLogger.debug({ err: { message: temporalCause(e) } }, 'Temporal connection failed');
    throw new WorkerStartError(await explainTemporalConnectFailure(cfg.temporal, options, new Error(temporalCause(e))));
  }
}

/** The SDK's connection error is a Rust debug print (`tonic::transport::Error(… message: "Connection refused" …)`): its message. */
function temporalCause(e: unknown): string {
  const text = String((e as Error)?.message ?? e);
  const inner = /message: "([^"]+)"/.exec(text)?.[1] ?? /\("([^"]+)"/.exec(text)?.[1];
  return (inner ?? text).slice(0, 300);
}

function workerOptions(
  cfg: AppConfig,
  opts: WorkerOptions,
  r: {
    connection: NativeConnection;
    db: Db;
    store: ReturnType<typeof createFileStore>;
    log: Logger;
    ftpPool: FtpPool;
    version: WorkerDeploymentVersion | null;
  },
): WorkerCreateOptions {
  const slots = cfg.worker.maxConcurrentActivities;
  const activities = createActivities({ cfg, db: r.db, store: r.store, log: r.log, env: opts.env, ftpTimeoutMs: opts.ftpTimeoutMs, ftpPool: r.ftpPool });
  const metrics = opts.metrics ?? appMetrics();
  // Every activity type's retry series exists from the start at 0: the first retries are an increase.
  for (const name of Object.keys(activities)) metrics.activityRetries.inc({ activity_type: name }, 0);
  return {
    connection: r.connection,
    namespace: cfg.temporal.namespace,
    taskQueue: cfg.temporal.taskQueue,
    identity: opts.identity ?? `imv-import-worker@${os.hostname()}:${process.pid}`,
    ...workflowCode(opts.workflowBundle),
    activities,
    interceptors: {
      activity: [activityObservability({ metrics, log: r.log.child({ component: 'activity' }), db: r.db }), ...(opts.activityInterceptors ?? [])],
    },
    ...deploymentOptions(r.version),
    maxConcurrentActivityTaskExecutions: slots,
    maxConcurrentWorkflowTaskExecutions: cfg.worker.maxConcurrentWorkflowTasks,
    shutdownGraceTime: opts.shutdownGraceMs ?? cfg.worker.shutdownGraceSeconds * 1000,
  };
}

/**
 * Worker Versioning when a deployment is configured. Each workflow type declares its behaviour
 * (setWorkflowOptions in workflows/); the default only covers a type that does not, and is PINNED:
 * a run then never meets another build's code (docs/design.md §7).
 */
function deploymentOptions(version: WorkerDeploymentVersion | null): Pick<WorkerCreateOptions, 'workerDeploymentOptions'> {
  return version ? { workerDeploymentOptions: { useWorkerVersioning: true, version, defaultVersioningBehavior: 'PINNED' } } : {};
}

/** The given bundle, else the one `npm run build` wrote, else the workflow sources (bundled now). */
function workflowCode(given: WorkflowBundleOption | undefined): { workflowBundle: WorkflowBundleOption } | { workflowsPath: string } {
  if (given) return { workflowBundle: given };
  const prebuilt = prebuiltBundle();
  return prebuilt ? { workflowBundle: { codePath: prebuilt } } : { workflowsPath: workflowsPath() };
}

/**
 * A key that may read but not write the namespace connects, describes the namespace and starts
 * polling; the SDK then retries the refused polls for ever. A write call with a token that cannot
 * exist is refused by the authorizer before it is looked at: then the worker stops at start.
 */
async function checkWritePermission(connection: NativeConnection, cfg: AppConfig): Promise<void> {
  try {
    await connection.workflowService.recordActivityTaskHeartbeat({ namespace: cfg.temporal.namespace, taskToken: Buffer.from('imv-import: permission check') });
  } catch (e) {
    if (isTemporalAuthError(e)) throw new WorkerStartError(temporalRefusal(cfg.temporal));
    // Any other answer (the token is invalid) means the request got past the authorizer.
  }
}
