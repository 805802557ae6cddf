/**
 * A worker: stateless and interchangeable, any number on one task queue (scale-out). Its database
 * pool is sized to its activity slots so that every running activity can hold a connection.
 */
import { NativeConnection, Worker, type WorkerOptions as SdkWorkerOptions, type WorkflowBundleOption } from '@temporalio/worker';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { WorkerDeploymentVersion } from '@temporalio/common';
import os from 'node:os';
import type { AppConfig } from '../config/config';
import { workerDeploymentVersion } from '../config/deployment';
import { TemporalConnectError, temporalConnectionError, temporalConnectOptions } from '../config/temporal';
import { createActivities } from '../activities';
import { openDatabase, type Db } from '../db/db';
import { createFileStore } from '../store/file-store';
import { FtpPool } from '../ftp/pool';
import { logger as rootLogger, type Logger } from '../common/logger';
import { activityObservability } from './interceptors';
import { appMetrics, type AppMetrics } from './metrics';
import { prebuiltBundle, workflowsPath } from './workflow-bundle';

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
  const db = await openDatabase(cfg, slots + 2);
  const store = createFileStore(cfg, db);
  const cleaned = await store.cleanTemp();
  if (cleaned) log.info({ cleaned, store: store.kind }, 'removed temp files left by interrupted downloads');
  const connection = opts.connection ?? (await connectWorker(cfg));
  // Logged-in FTP connections shared by this worker's activities (as many idle as activity slots).
  const ftpPool = new FtpPool({ timeoutMs: opts.ftpTimeoutMs, maxIdle: slots });
  const activities = createActivities({ cfg, db, store, log, env: opts.env, ftpTimeoutMs: opts.ftpTimeoutMs, ftpPool });
  const metrics = opts.metrics ?? appMetrics();
  // Every activity type's retry series exists from the start at 0: the first retries are an increase.
  for (const name of Object.keys(activities)) metrics.activityRetries.inc({ activity_type: name }, 0);
  const worker = await Worker.create({
    connection,
    namespace: cfg.temporal.namespace,
    taskQueue: cfg.temporal.taskQueue,
    identity: opts.identity ?? `imv-import-worker@${os.hostname()}:${process.pid}`,
    ...workflowCode(opts.workflowBundle),
    activities,
    interceptors: { activity: [activityObservability({ metrics, log: log.child({ component: 'activity' }), db }), ...(opts.activityInterceptors ?? [])] },
    ...deploymentOptions(version),
    maxConcurrentActivityTaskExecutions: slots,
    maxConcurrentWorkflowTaskExecutions: cfg.worker.maxConcurrentWorkflowTasks,
    shutdownGraceTime: opts.shutdownGraceMs ?? cfg.worker.shutdownGraceSeconds * 1000,
  });
  return {
    worker,
    db,
    version,
    async run() {
      try {
        await worker.run();
      } finally {
        ftpPool.close();
        await store.close();
        await db.destroy();
        if (!opts.connection) await connection.close();
      }
    },
    shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
    },
  };
}

/**
 * Worker Versioning when a deployment is configured. Each workflow type declares its behaviour
 * (setWorkflowOptions in workflows/); the default only covers a type that does not, and is PINNED:
 * a run then never meets another build's code (docs/design.md §7).
 */
function deploymentOptions(version: WorkerDeploymentVersion | null): Pick<SdkWorkerOptions, 'workerDeploymentOptions'> {
  return version ? { workerDeploymentOptions: { useWorkerVersioning: true, version, defaultVersioningBehavior: 'PINNED' } } : {};
}

/** The given bundle, else the one `npm run build` wrote, else the workflow sources (bundled now). */
function workflowCode(given: WorkflowBundleOption | undefined): { workflowBundle: WorkflowBundleOption } | { workflowsPath: string } {
  if (given) return { workflowBundle: given };
  const prebuilt = prebuiltBundle();
  return prebuilt ? { workflowBundle: { codePath: prebuilt } } : { workflowsPath: workflowsPath() };
}

/** The worker's connection, made as the CLI's (config/temporal.ts); a failure is one short line. */
async function connectWorker(cfg: AppConfig): Promise<NativeConnection> {
  const options = temporalConnectOptions(cfg.temporal);
  try {
    return await NativeConnection.connect(options);
  } catch (e) {
    throw new TemporalConnectError(temporalConnectionError(cfg.temporal, e, options.apiKey));
  }
}
