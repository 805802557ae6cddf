/**
 * The version rollout scenario (Worker Versioning), reusable against any Temporal server: the dev
 * server of the suite (test/pipeline/rollout.test.ts) or the production rehearsal's (mTLS).
 *
 * Version 1 (today's workflows) is current and a batch of tenant A runs on it; its first files are
 * held in their download step. Version 2 — ImportFile with a new first command, incompatible with
 * every v1 history — starts polling and is made current with `imv-import deployment set-current`.
 * Then the held files go on, and a batch of tenant B starts. The result says, per workflow, which
 * version ran each of its workflow tasks, so the test can show: v1's in-flight workflows (and the
 * files its pinned batch starts after the switch) finish on v1, new ones run on v2, no workflow
 * task fails (no non-determinism), and `imv-import status` shows both versions polling.
 *
 * Needs `npm run build` (it runs the built CLI).
 */
import { expect } from 'vitest';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { Context } from '@temporalio/activity';
import { bundleWorkflowCode, NativeConnection, Worker, type ActivityInterceptorsFactory, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import type { temporal } from '@temporalio/proto';
import path from 'node:path';
import type { AppConfig } from '../../config/config';
import type { TemporalConnectOptions } from '../../config/temporal';
import type { BatchSummary } from '../../common/messages';
import { isError, type StatusReport } from '../../ops/status';
import { createImportWorker, type ImportWorker } from '../../workers/worker';
import { transferOf } from '../../bench/transfers';
import { runCli, writeCliConfig, type CliRun } from './cli';
import { quietLog, quietRuntime, uniqueId, workflowBundle } from './harness';

type History = temporal.api.history.v1.IHistory;

export interface RolloutSetup {
  /** Tenants A (the batch in flight at the switch) and B (the batch started after it), with empty inboxes. */
  cfg: AppConfig;
  tenants: [string, string];
  /** How workers and the client connect (config/temporal.ts's options: address, TLS, API key). */
  connect: TemporalConnectOptions;
  /** Puts a file into a tenant's inbox. */
  upload(tenant: string, name: string, content: Buffer): Promise<void>;
  /** The environment the built CLI runs with, besides IMV_CONFIG (e.g. TEMPORAL_TLS_* for the rehearsal). */
  cliEnv: NodeJS.ProcessEnv;
  /** The environment activities read (FTP passwords). */
  workerEnv: NodeJS.ProcessEnv;
}

export interface WorkflowVersions {
  workflowId: string;
  runId: string;
  /** The batch run that started this file (null for a batch). */
  parentRunId: string | null;
  /** The build id of each completed workflow task, in order. */
  taskBuildIds: string[];
  /** Failed workflow tasks (a non-determinism error would be one), with their cause. */
  failedTasks: string[];
}

export interface RolloutResult {
  deploymentName: string;
  v1: string;
  v2: string;
  /** Files of tenant A's batch held in their download step when v2 became current. */
  heldAtSwitch: string[];
  batchA: { summary: BatchSummary; runs: WorkflowVersions[]; files: WorkflowVersions[] };
  batchB: { summary: BatchSummary; runs: WorkflowVersions[]; files: WorkflowVersions[] };
  setCurrent: CliRun;
  status: { json: StatusReport; text: string };
  /** A v1 file history replayed on v2's code: the error (the change is incompatible) or null. */
  v1HistoryOnV2: string | null;
}

/** Holds `fetchTransfer` on the first `count` files until released (heartbeating meanwhile). */
function holdDownloads(count: number) {
  const held: string[] = [];
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let reached!: () => void;
  const allHeld = new Promise<void>((r) => (reached = r));
  const factory: ActivityInterceptorsFactory = (ctx) => ({
    inbound: {
      async execute(input, next) {
        const workflowId = ctx.info.workflowExecution?.workflowId ?? '';
        if (ctx.info.activityType === 'fetchTransfer' && held.length < count && !held.includes(workflowId)) {
          held.push(workflowId);
          if (held.length === count) reached();
          const beat = setInterval(() => Context.current().heartbeat(), 1000);
          await released.finally(() => clearInterval(beat));
        }
        return next(input);
      },
    },
  });
  return { factory, held, allHeld, release };
}

async function versionsOf(client: Client, workflowId: string, runId?: string): Promise<WorkflowVersions> {
  const handle = client.workflow.getHandle(workflowId, runId);
  const history = (await handle.fetchHistory()) as History;
  const events = history.events ?? [];
  const started = events[0]?.workflowExecutionStartedEventAttributes;
  return {
    workflowId,
    runId: runId ?? (await handle.describe()).runId,
    parentRunId: started?.parentWorkflowExecution?.runId ?? null,
    taskBuildIds: events
      .filter((e) => e.workflowTaskCompletedEventAttributes)
      .map((e) => e.workflowTaskCompletedEventAttributes!.deploymentVersion?.buildId ?? ''),
    failedTasks: events.filter((e) => e.workflowTaskFailedEventAttributes).map((e) => String(e.workflowTaskFailedEventAttributes!.cause ?? '')),
  };
}

/** Every run of a batch (it may continue as new) and every file it started, with their versions. */
async function batchVersions(client: Client, workflowId: string, summary: BatchSummary): Promise<{ runs: WorkflowVersions[]; files: WorkflowVersions[] }> {
  const runs: WorkflowVersions[] = [];
  // The first run, then each run it continued as (from the histories, not from visibility).
  let runId: string | undefined = (await client.workflow.getHandle(workflowId).describe()).raw.workflowExecutionInfo?.firstRunId ?? undefined;
  while (runId) {
    runs.push(await versionsOf(client, workflowId, runId));
    const events = ((await client.workflow.getHandle(workflowId, runId).fetchHistory()) as History).events ?? [];
    runId = events.at(-1)?.workflowExecutionContinuedAsNewEventAttributes?.newExecutionRunId ?? undefined;
  }
  const files: WorkflowVersions[] = [];
  for (const r of summary.results) files.push(await versionsOf(client, r.workflowId));
  return { runs, files };
}

async function startVersion(
  setup: RolloutSetup,
  cfg: AppConfig,
  bundle: WorkflowBundleWithSourceMap,
  identity: string,
  interceptor?: ActivityInterceptorsFactory,
) {
  const connection = await NativeConnection.connect(setup.connect);
  const w: ImportWorker = await createImportWorker(cfg, {
    connection,
    workflowBundle: bundle,
    identity,
    log: quietLog,
    env: setup.workerEnv,
    ftpTimeoutMs: 10_000,
    activityInterceptors: interceptor ? [interceptor] : [],
  });
  const done = w.run().finally(() => connection.close());
  return {
    async stop() {
      w.shutdown();
      await done;
    },
  };
}

function versioned(cfg: AppConfig, deploymentName: string, buildId: string): AppConfig {
  return { ...cfg, worker: { ...cfg.worker, deployment: { name: deploymentName, buildId } } };
}

async function cli(setup: RolloutSetup, configFile: string, args: string[]): Promise<CliRun> {
  return runCli({ ...setup.cliEnv, IMV_CONFIG: configFile }, args);
}

export async function runRollout(setup: RolloutSetup): Promise<RolloutResult> {
  quietRuntime();
  const [a, b] = setup.tenants;
  const deploymentName = uniqueId('imv-rollout');
  const v1 = `0.0.1+${uniqueId('v1')}`;
  const v2 = `0.0.2+${uniqueId('v2')}`;
  // The CLI's configuration: this server, this task queue, the deployment's name (no build id: set-current names it).
  // Tenant A: a window of two files (the third starts only after the switch, from the pinned v1
  // batch) and regular activities (its download is held on the v1 worker).
  const cfg: AppConfig = {
    ...setup.cfg,
    tenants: setup.cfg.tenants.map((x) => (x.id === a ? { ...x, options: { ...x.options, maxConcurrentFiles: 2, localStepsMaxBytes: 0 } } : x)),
  };
  const t = cfg.temporal;
  const configFile = writeCliConfig({ ...cfg, temporal: { address: t.address, namespace: t.namespace, taskQueue: t.taskQueue } as never }, 'imv-rollout-', {
    worker: { shutdownGraceSeconds: 5, deployment: { name: deploymentName } },
  });
  const connection = await Connection.connect(setup.connect);
  const client = new Client({ connection, namespace: t.namespace });
  const v2Bundle = await bundleWorkflowCode({ workflowsPath: path.join(__dirname, 'rollout-v2', 'index.ts'), logger: quietLog as never });
  const stops: (() => Promise<void>)[] = [];
  try {
    // Version 1, current; tenant A's batch of three files, two of them held in their download.
    const hold = holdDownloads(2);
    stops.push((await startVersion(setup, versioned(cfg, deploymentName, v1), await workflowBundle(), `worker-v1@${v1}`, hold.factory)).stop);
    const first = await cli(setup, configFile, ['deployment', 'set-current', v1]);
    if (first.code !== 0) throw new Error(`set-current ${v1}: ${first.stderr}`);
    for (let i = 0; i < 3; i++) await setup.upload(a, `a-${i}.xml`, transferOf([{ id: 710_000 + i, n: i, owner: i, user: 'mmustermann' }]));
    const batchAId = uniqueId(`import-batch/${a}`);
    const batchA: WorkflowHandle = await client.workflow.start('importBatch', { taskQueue: t.taskQueue, workflowId: batchAId, args: [{ tenant: a }] });
    await hold.allHeld;

    // Version 2 polls, and is made current the way an operator does it.
    stops.push((await startVersion(setup, versioned(cfg, deploymentName, v2), v2Bundle, `worker-v2@${v2}`)).stop);
    const setCurrent = await cli(setup, configFile, ['deployment', 'set-current', v2]);
    if (setCurrent.code !== 0) throw new Error(`set-current ${v2}: ${setCurrent.stderr}`);

    hold.release();
    const summaryA = (await batchA.result()) as BatchSummary;
    for (let i = 0; i < 2; i++) await setup.upload(b, `b-${i}.xml`, transferOf([{ id: 720_000 + i, n: 10 + i, owner: 10 + i, user: 'mmustermann' }]));
    const batchBId = uniqueId(`import-batch/${b}`);
    const summaryB = (await client.workflow.execute('importBatch', { taskQueue: t.taskQueue, workflowId: batchBId, args: [{ tenant: b }] })) as BatchSummary;

    // Both versions' workers still poll: what status shows.
    const json = await cli(setup, configFile, ['status', '--json']);
    const text = await cli(setup, configFile, ['status']);
    if (json.code !== 0) throw new Error(`status --json: ${json.stderr}`);

    const resultA = await batchVersions(client, batchAId, summaryA);
    // The proof that v2 is incompatible: a v1 file's history does not replay on it.
    const v1File = resultA.files[0];
    let v1HistoryOnV2: string | null = null;
    const history = await client.workflow.getHandle(v1File.workflowId).fetchHistory();
    try {
      await Worker.runReplayHistory({ workflowBundle: v2Bundle, replayName: 'v1-on-v2' }, history, v1File.workflowId);
    } catch (e) {
      v1HistoryOnV2 = `${(e as Error).name}: ${(e as Error).message}`;
    }
    return {
      deploymentName,
      v1,
      v2,
      heldAtSwitch: hold.held,
      batchA: { summary: summaryA, ...resultA },
      batchB: { summary: summaryB, ...(await batchVersions(client, batchBId, summaryB)) },
      setCurrent,
      status: { json: JSON.parse(json.stdout) as StatusReport, text: text.stdout },
      v1HistoryOnV2,
    };
  } finally {
    for (const stop of stops.reverse()) await stop();
    await connection.close();
  }
}

/** What a safe rollout means, whichever server it ran on. */
export function expectSafeRollout(r: RolloutResult): void {
  const { v1, v2 } = r;
  expect(r.setCurrent.stdout).toContain(`${v2} is current (was ${v1})`);
  expect(r.heldAtSwitch).toHaveLength(2);

  // Every file of both batches imported once.
  expect(r.batchA.summary).toMatchObject({ files: 3, imported: 3, failed: 0 });
  expect(r.batchB.summary).toMatchObject({ files: 2, imported: 2, failed: 0 });

  const all = [...r.batchA.runs, ...r.batchA.files, ...r.batchB.runs, ...r.batchB.files];
  // No workflow task failed anywhere: no non-determinism error, although v2 cannot replay v1 histories.
  for (const w of all) expect(w.failedTasks, `${w.workflowId} ${w.runId}`).toEqual([]);
  expect(r.v1HistoryOnV2).toMatch(/nondetermin/i);

  // Batch A started on v1 and ran its first run there to the end; each of its files ran wholly on the
  // version of the run that started it — the two held at the switch, and the one its pinned run
  // started after the switch, on v1.
  const only = (ids: string[]) => [...new Set(ids)];
  expect(only(r.batchA.runs[0].taskBuildIds)).toEqual([v1]);
  for (const f of r.batchA.files) {
    const parent = r.batchA.runs.find((x) => x.runId === f.parentRunId);
    expect(parent, f.workflowId).toBeDefined();
    expect(only(f.taskBuildIds), f.workflowId).toEqual(only(parent!.taskBuildIds));
  }
  for (const id of r.heldAtSwitch) expect(only(r.batchA.files.find((f) => f.workflowId === id)!.taskBuildIds)).toEqual([v1]);
  // A later run of batch A (continued as new) starts on the current version.
  for (const run of r.batchA.runs.slice(1)) expect(only(run.taskBuildIds)).toEqual([v2]);

  // New workflows run on v2.
  for (const w of [...r.batchB.runs, ...r.batchB.files]) expect(only(w.taskBuildIds), w.workflowId).toEqual([v2]);

  // `imv-import status` shows both versions polling: v2 current, v1 draining (or drained).
  const versions = r.status.json.versions;
  expect(versions && !isError(versions)).toBe(true);
  const d = !versions || isError(versions) ? undefined : versions.deployments.find((x) => x.name === r.deploymentName);
  expect(d?.current).toBe(v2);
  const byId = new Map(d!.versions.map((x) => [x.buildId, x]));
  expect(byId.get(v2)).toMatchObject({ status: 'current', pollers: [`worker-v2@${v2}`] });
  expect(['draining', 'drained']).toContain(byId.get(v1)?.status);
  expect(byId.get(v1)?.pollers).toEqual([`worker-v1@${v1}`]);
  expect(r.status.text).toMatch(new RegExp(`${v2.replace(/[+.]/g, '\\$&')}\\s+current\\s.*1 polling`));
  expect(r.status.text).toMatch(new RegExp(`${v1.replace(/[+.]/g, '\\$&')}\\s+(draining|drained).*1 polling`));
}
