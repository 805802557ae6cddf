/**
 * Pipeline test harness: a fresh database per test file, a fresh FTP folder per tenant on the
 * shared vsftpd, workers on a unique task queue against the shared Temporal dev server.
 */
import { afterAll, beforeAll, inject } from 'vitest';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { Client as FtpClient } from 'basic-ftp';
import { Readable } from 'node:stream';
import pino from 'pino';
import { createTestDatabase } from './database';
import { parseConfig, type AppConfig } from '../../config/config';
import { openDatabase } from '../../db/db';
import type { BatchSummary } from '../../common/messages';
import { createImportWorker, workflowsPath, type ImportWorker } from '../../workers/worker';
import { FTP_PASSWORD, FTP_USER } from './vsftpd';

export const fixturesDir = path.resolve(__dirname, '../fixtures');
export const quietLog = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

// The machine's PostgreSQL and a fresh database on it live in test/support/database.ts, which needs no Temporal.
export { createTestDatabase, PG_ADMIN_URL } from './database';

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export interface TestTenant {
  id: string;
  users?: string[];
  defaultUser?: string | null;
  options?: Record<string, unknown>;
}

/** A config for tenants whose inboxes are fresh folders on the shared vsftpd. */
export function testConfig(opts: {
  databaseUrl: string;
  tenants: TestTenant[];
  taskQueue?: string;
  worker?: Record<string, unknown>;
  /** The file store's kind (default fs); its folder (the store, or the postgres store's scratch) is a fresh one. */
  fileStore?: 'fs' | 'postgres';
}): AppConfig {
  const port = inject('ftpPort');
  const raw = {
    tenants: opts.tenants.map((t) => ({
      id: t.id,
      ftp: { url: `ftp://${FTP_USER}@127.0.0.1:${port}/${t.id}`, passwordEnv: 'IMV_TEST_FTP_PASSWORD' },
      users: t.users ?? ['mmustermann', 'skoch'],
      defaultUser: t.defaultUser ?? null,
      options: { minFileAgeSeconds: 0, stableCheckMs: 300, feedback: true, ...(t.options ?? {}) },
    })),
    temporal: { address: inject('temporalAddress'), taskQueue: opts.taskQueue ?? uniqueId('tq') },
    databaseUrl: opts.databaseUrl,
    fileStore: { kind: opts.fileStore ?? storeKindOfEnv(), dir: fs.mkdtempSync(path.join(os.tmpdir(), 'imv-store-')) },
    worker: { maxConcurrentActivities: 8, shutdownGraceSeconds: 5, ...(opts.worker ?? {}) },
  };
  return parseConfig(raw, { IMV_TEST_FTP_PASSWORD: FTP_PASSWORD });
}

/** TEST_FILE_STORE=postgres runs the pipeline tests on the PostgreSQL file store. */
function storeKindOfEnv(): 'fs' | 'postgres' {
  const kind = process.env.TEST_FILE_STORE ?? 'fs';
  if (kind !== 'fs' && kind !== 'postgres') throw new Error(`TEST_FILE_STORE must be fs or postgres, not ${kind}`);
  return kind;
}

export const testEnv = { IMV_TEST_FTP_PASSWORD: FTP_PASSWORD } as NodeJS.ProcessEnv;

let bundle: Promise<WorkflowBundleWithSourceMap> | null = null;
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} } as never });
  return bundle;
}

export interface RunningWorker {
  handle: ImportWorker;
  done: Promise<void>;
  stop(): Promise<void>;
}

let runtimeReady = false;
/** The SDK's runtime with ERROR-level logs only (TEST_SDK_LOG_LEVEL overrides), once per process. */
export function quietRuntime(): void {
  // A test file may install its own runtime first (metrics, captured SDK logs): keep that one.
  if (runtimeReady || Runtime._instance !== undefined) return;
  runtimeReady = true;
  // Expected failures (malformed files) are logged by the SDK as warnings: keep test output readable.
  const level = (process.env.TEST_SDK_LOG_LEVEL as 'ERROR') ?? 'ERROR';
  Runtime.install({ logger: new DefaultLogger(level), telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: level }), forward: {} } } });
}

/** `log`: where the worker's pino logs go (default: silent), e.g. a buffer a test inspects. */
export async function startWorker(cfg: AppConfig, identity?: string, opts: { log?: pino.Logger } = {}): Promise<RunningWorker> {
  quietRuntime();
  const connection = await NativeConnection.connect({ address: cfg.temporal.address });
  const handle = await createImportWorker(cfg, {
    connection,
    workflowBundle: await workflowBundle(),
    identity,
    log: opts.log ?? quietLog,
    env: testEnv,
    ftpTimeoutMs: 10_000,
  });
  const done = handle.run().finally(() => connection.close());
  return {
    handle,
    done,
    async stop() {
      handle.shutdown();
      await done;
    },
  };
}

export async function temporalClient(): Promise<Client> {
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  return new Client({ connection });
}

export async function ftpSession<T>(fn: (c: FtpClient) => Promise<T>): Promise<T> {
  const c = new FtpClient(10_000);
  await c.access({ host: '127.0.0.1', port: inject('ftpPort'), user: FTP_USER, password: FTP_PASSWORD });
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

export async function uploadTo(tenant: string, name: string, content: Buffer | string): Promise<void> {
  await ftpSession(async (c) => {
    await c.ensureDir(`/${tenant}`);
    await c.uploadFrom(Readable.from([Buffer.from(content)]), `/${tenant}/${name}`);
  });
}

export async function listRemote(dir: string): Promise<string[]> {
  return ftpSession(async (c) => {
    try {
      return (await c.list(dir))
        .filter((f) => f.isFile)
        .map((f) => f.name)
        .sort();
    } catch {
      return [];
    }
  });
}

export function readRemote(tenant: string, relPath: string): string {
  return fs.readFileSync(path.join(inject('ftpRoot'), tenant, relPath), 'utf8');
}

export interface PipelineContext {
  cfg: AppConfig;
  db: Awaited<ReturnType<typeof openDatabase>>;
  client: Client;
  workers: RunningWorker[];
  /** Runs one batch for the tenant directly (not through the schedule) and returns its summary. */
  batch(tenant: string, input?: Record<string, unknown>): Promise<BatchSummary>;
  /** Stops the workers and starts them again (e.g. after the configuration changed). */
  restartWorkers(): Promise<void>;
}

/**
 * The usual pipeline-test setup as vitest hooks: a fresh database, the tenants' config, workers
 * on a unique task queue, a Temporal client; all torn down after the file.
 */
export function usePipeline(opts: {
  tenants: TestTenant[];
  identities?: string[];
  worker?: Record<string, unknown>;
  poolMax?: number;
  fileStore?: 'fs' | 'postgres';
}): PipelineContext {
  let dbHandle: { url: string; drop(): Promise<void> } | undefined;
  const identities = opts.identities ?? ['test-worker'];
  const ctx = {
    workers: [] as RunningWorker[],
    async batch(tenant: string, input: Record<string, unknown> = {}): Promise<BatchSummary> {
      return ctx.client.workflow.execute('importBatch', {
        taskQueue: ctx.cfg.temporal.taskQueue,
        workflowId: uniqueId(`import-batch/${tenant}`),
        args: [{ tenant, ...input }],
      });
    },
    async restartWorkers(): Promise<void> {
      for (const w of ctx.workers) await w.stop();
      ctx.workers = [];
      for (const id of identities) ctx.workers.push(await startWorker(ctx.cfg, id));
    },
  } as PipelineContext;
  beforeAll(async () => {
    dbHandle = await createTestDatabase();
    ctx.cfg = testConfig({ databaseUrl: dbHandle.url, tenants: opts.tenants, worker: opts.worker, fileStore: opts.fileStore });
    ctx.db = await openDatabase(ctx.cfg, opts.poolMax ?? 4);
    ctx.client = await temporalClient();
    for (const id of identities) ctx.workers.push(await startWorker(ctx.cfg, id));
  });
  afterAll(async () => {
    for (const w of ctx.workers) await w.stop();
    await ctx.client?.connection.close();
    await ctx.db?.destroy();
    await dbHandle?.drop();
  });
  return ctx;
}
