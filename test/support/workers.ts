/**
 * Workers for the tests: in the test's own process (`startWorker`), or as separate processes
 * (`spawnWorker`, test/support/worker-process.ts) that can be SIGKILLed like a crashed pod. Both
 * run `createImportWorker` on a workflow bundle built once per test file, with quiet logs.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger, makeTelemetryFilterString, NativeConnection, Runtime, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import pino from 'pino';
import type { AppConfig } from '../../config/config';
import { createImportWorker, workflowsPath, type ImportWorker, type WorkerOptions } from '../../workers/worker';
import { FTP_PASSWORD } from './vsftpd';

export const quietLog = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

/** The environment the tenants' passwordEnv points into. */
export const testEnv = { IMV_TEST_FTP_PASSWORD: FTP_PASSWORD } as NodeJS.ProcessEnv;

let bundle: Promise<WorkflowBundleWithSourceMap> | null = null;
export function workflowBundle(): Promise<WorkflowBundleWithSourceMap> {
  bundle ??= bundleWorkflowCode({ workflowsPath: workflowsPath(), logger: { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} } as never });
  return bundle;
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

export interface RunningWorker {
  handle: ImportWorker;
  done: Promise<void>;
  stop(): Promise<void>;
}

/**
 * A worker in this process. `log`: where its pino logs go (default: silent), e.g. a buffer a test
 * inspects; the other options go to `createImportWorker` (e.g. activity interceptors).
 */
export async function startWorker(cfg: AppConfig, identity?: string, opts: WorkerOptions = {}): Promise<RunningWorker> {
  quietRuntime();
  const connection = await NativeConnection.connect({ address: cfg.temporal.address });
  const handle = await createImportWorker(cfg, {
    workflowBundle: await workflowBundle(),
    identity,
    log: quietLog,
    env: testEnv,
    ftpTimeoutMs: 10_000,
    ...opts,
    connection,
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

const workerEntry = path.resolve(__dirname, 'worker-process.ts');
let bundlePath: Promise<string> | null = null;

/** The workflow bundle, built once per test file and written where worker processes can load it. */
function bundleFile(): Promise<string> {
  bundlePath ??= workflowBundle().then((b) => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'imv-bundle-')), 'workflows.js');
    fs.writeFileSync(file, b.code);
    return file;
  });
  return bundlePath;
}

export interface WorkerProcess {
  child: ChildProcess;
  identity: string;
  /** Resolves when the worker polls its task queue. */
  ready: Promise<void>;
  exited: Promise<number | null>;
  /** The process's stderr so far (worker logs are silenced; errors end up here). */
  stderr(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * `createImportWorker` in a separate process (test/support/worker-process.ts, run with tsx), so that it can be killed with SIGKILL like a crashed or OOM-killed pod.
 */
export async function spawnWorker(cfg: AppConfig, identity: string): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', workerEntry], {
    env: {
      ...process.env,
      ...testEnv,
      IMV_FAULT_WORKER: JSON.stringify({ cfg, identity, bundle: await bundleFile(), ftpTimeoutMs: 30_000 }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const ready = new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('ready')) resolve();
    });
    void exited.then((code) => reject(new Error(`worker ${identity} exited with ${code} before it was ready: ${err}`)));
  });
  ready.catch(() => undefined);
  return {
    child,
    identity,
    ready,
    exited,
    stderr: () => err,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
