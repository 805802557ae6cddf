/**
 * The one way a test file gets a pipeline: `usePipeline` (vitest hooks around `openPipeline`) gives a
 * fresh database, the tenants' config on a unique task queue, FTP folders on the run's shared vsftpd
 * (or a server of the file's own), workers (in this process, as processes, or none), a Temporal
 * client, and tears all of it down after the file. The pieces below it (config, database, workers,
 * FTP, proxies) are exported for the few tests that need one piece alone.
 */
import { afterAll, beforeAll, inject } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import type { AppConfig } from '../../config/config';
import { openDatabase, type Db } from '../../db/db';
import type { BatchSummary } from '../../common/messages';
import { startEmbeddedFtp } from '../../dev/embedded-ftp';
import { ensureSchedule, scheduleIdOf } from '../../ops/schedule';
import type { WorkerOptions } from '../../workers/worker';
import { createTestDatabase, quietDb, type CreatedDatabase } from './database';
import { FAULT_HEARTBEAT_SECONDS, testConfig, uniqueId, type FtpChoice, type FtpEndpoint, type TestTenant } from './test-config';
import { listDir, upload } from './ftp';
import { FtpProxy } from './ftp-proxy';
import { startPrivatePostgres, type PrivatePostgres } from './private-postgres';
import { TcpProxy } from './tcp-proxy';
import { FTP_PASSWORD, FTP_USER, startVsftpd } from './vsftpd';
import { spawnWorker, startWorker, type RunningWorker, type WorkerProcess } from './workers';

export { createTestDatabase, PG_ADMIN_URL, quietDb, useDatabase } from './database';
export { quietLog, quietRuntime, startWorker, testEnv, workflowBundle, type RunningWorker } from './workers';
export { FAULT_HEARTBEAT_SECONDS, testConfig, uniqueId, type FtpChoice, type FtpEndpoint, type TestTenant } from './test-config';

export const fixturesDir = path.resolve(__dirname, '../fixtures');

export async function temporalClient(): Promise<Client> {
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  return new Client({ connection });
}

export async function uploadTo(tenant: string, name: string, content: Buffer | string): Promise<void> {
  await upload(inject('ftpPort'), tenant, name, Buffer.from(content));
}

export async function listRemote(dir: string): Promise<string[]> {
  return listDir(inject('ftpPort'), dir);
}

export function readRemote(tenant: string, relPath: string): string {
  return fs.readFileSync(path.join(inject('ftpRoot'), tenant, relPath), 'utf8');
}

/** An FTP server as the test reaches it: its port, the local folder it serves, and (a vsftpd of the file's own) stop and start. */
export interface FtpServer extends FtpEndpoint {
  root: string;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export interface PipelineOptions {
  tenants: TestTenant[];
  /** In-process workers started with the pipeline, by identity (default one, 'test-worker'; [] for none). */
  identities?: string[];
  /** Options of the in-process workers (e.g. `log`, `activityInterceptors`). */
  workerOptions?: WorkerOptions;
  /** Worker processes started with the pipeline, by identity (more with `spawnWorker`). */
  processes?: string[];
  /** The config's worker section (merged over the test defaults). */
  worker?: Record<string, unknown>;
  poolMax?: number;
  fileStore?: 'fs' | 'postgres';
  /** Short heartbeat timeouts (FAULT_HEARTBEAT_SECONDS), so that a killed worker's activity is retried soon. */
  faults?: boolean;
  /** The tenants' FTP server (default: the run's shared vsftpd). */
  ftp?: FtpChoice;
  /** Workers reach the pipeline's FTP server through a proxy that throttles (bytes per second, 0: no limit) and freezes. */
  ftpProxy?: { bytesPerSecond: number };
  /** A proxy to the Temporal server that freezes; worker processes use it when spawned with `viaTemporalProxy`. */
  temporalProxy?: boolean;
  /** 'private': the database is on a PostgreSQL server of the file's own, which a test may stop and start. */
  postgres?: 'shared' | 'private';
  /** A schedule for every tenant (deleted afterwards). */
  schedules?: boolean;
}

export interface PipelineContext {
  cfg: AppConfig;
  db: Db;
  client: Client;
  /** The in-process workers. */
  workers: RunningWorker[];
  /** The worker processes (started with the pipeline or by `spawnWorker`). */
  processes: WorkerProcess[];
  /** The server of `tenant`'s inbox (default: the pipeline's); uploads go to its port, not through a proxy. */
  ftp(tenant?: string): FtpServer;
  /** With `ftpProxy`: the proxy the tenants' config names. */
  ftpProxy: FtpProxy;
  /** With `temporalProxy`. */
  temporalProxy: TcpProxy;
  /** With `postgres: 'private'`. */
  postgres: PrivatePostgres;
  /** Runs one batch for the tenant directly (not through the schedule) and returns its summary. */
  batch(tenant: string, input?: Record<string, unknown>): Promise<BatchSummary>;
  /** Stops the in-process workers and starts them again (e.g. after the configuration changed). */
  restartWorkers(): Promise<void>;
  /** Another in-process worker, stopped with the pipeline. */
  startWorker(identity: string): Promise<RunningWorker>;
  /** Another worker process, once it polls; killed with the pipeline. */
  spawnWorker(identity: string, opts?: { viaTemporalProxy?: boolean }): Promise<WorkerProcess>;
  close(): Promise<void>;
}

const sharedFtp = (): FtpServer => ({
  port: inject('ftpPort'),
  root: inject('ftpRoot'),
  stop: () => Promise.reject(new Error('the shared vsftpd is not stopped by a test: use a vsftpd of its own')),
  start: () => Promise.resolve(),
});

/** Starts the FTP servers the options name, once each; what stops them goes to `closers`. */
async function ftpServers(opts: PipelineOptions, closers: (() => Promise<unknown>)[]): Promise<(choice: FtpChoice | undefined) => FtpServer> {
  const servers = new Map<FtpChoice, FtpServer>([['shared', sharedFtp()]]);
  for (const choice of [opts.ftp, ...opts.tenants.map((t) => t.ftp)]) {
    if (!choice || choice === 'shared' || servers.has(choice)) continue;
    if (choice === 'embedded') {
      const root = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-ftpsrv-'));
      const embedded = await startEmbeddedFtp({ root, port: 0, user: FTP_USER, password: FTP_PASSWORD });
      closers.push(() => embedded.stop());
      servers.set(choice, {
        port: embedded.port,
        root,
        stop: () => embedded.stop(),
        start: () => Promise.reject(new Error('the embedded server does not restart')),
      });
    } else {
      const vsftpd = await startVsftpd(choice.vsftpd);
      closers.push(() => vsftpd.stop());
      servers.set(choice, Object.assign(vsftpd, { tls: choice.vsftpd.tls }));
    }
  }
  return (choice) => servers.get(choice ?? opts.ftp ?? 'shared')!;
}

/** A pipeline for a test file (or, inside a test, for one case); `close()` tears it down. Most files want `usePipeline`. */
export function openPipeline(opts: PipelineOptions): Promise<PipelineContext> {
  return open({} as PipelineContext, opts);
}

/** Fills `ctx` (the object the tests hold) with an opened pipeline. */
async function open(ctx: PipelineContext, opts: PipelineOptions): Promise<PipelineContext> {
  const closers: (() => Promise<unknown>)[] = [];
  ctx.workers = [];
  ctx.processes = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c();
  };
  try {
    const serverOf = await ftpServers(opts, closers);
    if (opts.ftpProxy) {
      ctx.ftpProxy = await new FtpProxy(serverOf(undefined).port).start();
      ctx.ftpProxy.bytesPerSecond = opts.ftpProxy.bytesPerSecond;
      closers.push(() => ctx.ftpProxy.stop());
    }
    let database: CreatedDatabase;
    if (opts.postgres === 'private') {
      ctx.postgres = await startPrivatePostgres();
      closers.push(() => ctx.postgres.destroy());
      database = await createTestDatabase('imv_test', ctx.postgres.url('postgres'));
    } else {
      database = await createTestDatabase();
      closers.push(() => database.drop());
    }
    ctx.cfg = testConfig({
      databaseUrl: database.url,
      tenants: opts.tenants,
      worker: { ...(opts.faults ? { heartbeatTimeoutSeconds: FAULT_HEARTBEAT_SECONDS } : {}), ...(opts.worker ?? {}) },
      fileStore: opts.fileStore,
      ftp: (t) => (opts.ftpProxy && !t.ftp ? { port: ctx.ftpProxy.port } : serverOf(t.ftp)),
    });
    ctx.ftp = (tenant) => serverOf(opts.tenants.find((t) => t.id === tenant)?.ftp);
    ctx.db = await openDatabase(ctx.cfg, opts.poolMax ?? 4);
    if (opts.postgres === 'private') {
      // The test polls through an outage: a pool that does not log the errors it causes.
      await ctx.db.destroy();
      ctx.db = quietDb(ctx.cfg.databaseUrl);
    }
    closers.push(() => ctx.db.destroy());
    ctx.client = await temporalClient();
    closers.push(() => ctx.client.connection.close());
    await startAll(ctx, opts, closers);
  } catch (e) {
    await close();
    throw e;
  }
  ctx.close = close;
  return ctx;
}

/** The pipeline's workers, proxies and schedules, and the methods that start more. */
async function startAll(ctx: PipelineContext, opts: PipelineOptions, closers: (() => Promise<unknown>)[]): Promise<void> {
  if (opts.temporalProxy) {
    const [host, port] = ctx.cfg.temporal.address.split(':');
    ctx.temporalProxy = await new TcpProxy(host!, Number(port)).start();
    closers.push(() => ctx.temporalProxy.stop());
  }
  const identities = opts.identities ?? ['test-worker'];
  closers.push(async () => {
    for (const w of ctx.workers.splice(0)) await w.stop();
    for (const w of ctx.processes.splice(0)) await w.kill();
  });
  ctx.batch = (tenant, input = {}) =>
    ctx.client.workflow.execute('importBatch', {
      taskQueue: ctx.cfg.temporal.taskQueue,
      workflowId: uniqueId(`import-batch/${tenant}`),
      args: [{ tenant, ...input }],
    });
  ctx.startWorker = async (identity) => {
    const w = await startWorker(ctx.cfg, identity, opts.workerOptions);
    ctx.workers.push(w);
    return w;
  };
  ctx.restartWorkers = async () => {
    for (const w of ctx.workers.splice(0)) await w.stop();
    for (const id of identities) await ctx.startWorker(id);
  };
  ctx.spawnWorker = async (identity, o = {}) => {
    const cfg = o.viaTemporalProxy ? { ...ctx.cfg, temporal: { ...ctx.cfg.temporal, address: `127.0.0.1:${ctx.temporalProxy.port}` } } : ctx.cfg;
    const w = await spawnWorker(cfg, identity);
    ctx.processes.push(w);
    await w.ready;
    return w;
  };
  for (const id of identities) await ctx.startWorker(id);
  for (const id of opts.processes ?? []) await ctx.spawnWorker(id);
  if (opts.schedules) {
    for (const t of ctx.cfg.tenants) await ensureSchedule(ctx.client, ctx.cfg, t);
    closers.push(async () => {
      for (const t of ctx.cfg.tenants)
        await ctx.client.schedule
          .getHandle(scheduleIdOf(t.id))
          .delete()
          .catch(() => undefined);
    });
  }
}

/**
 * The pipeline for a test file as vitest hooks: opened before its tests, closed after them. The
 * context's fields are there once the tests (and the file's own beforeAll hooks) run.
 */
export function usePipeline(opts: PipelineOptions): PipelineContext {
  const ctx = {} as PipelineContext;
  beforeAll(async () => {
    await open(ctx, opts);
  });
  afterAll(async () => {
    await ctx.close?.();
  });
  return ctx;
}
