/**
 * Graceful shutdown: a worker process stopped with SIGTERM while one of its activities is running
 * finishes that activity within the grace time and exits 0; another worker carries the import on,
 * and nothing is left half-done.
 *
 * The test does not guess when an import is in flight: it holds a lock on the estates table, so that
 * worker A's first upsert chunk waits in the database (seen in pg_stat_activity, and as a started
 * activity of A's in the file workflow), sends SIGTERM, waits for A's SDK to report its shutdown
 * (worker state STOPPING), and only then releases the lock. The history must then show that activity
 * started and completed by worker A, in its first attempt.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import type { BatchSummary } from '../../common/messages';
import { generate } from '../../bench/reader';
import { cliEnv, CLI_BIN, writeCliConfig } from '../support/cli';
import { uniqueId, uploadTo, usePipeline } from '../support/harness';
import { waitFor } from '../support/wait';
import { fileWorkflow } from '../support/workflows';

const OBJECTS = 3000;

describe('SIGTERM drains a worker during an import', () => {
  const tenant = uniqueId('drain');
  // The workers are processes of the built CLI, started by the test.
  const ctx = usePipeline({ tenants: [{ id: tenant, options: { chunkSize: 100 } }], worker: { shutdownGraceSeconds: 10 }, identities: [], poolMax: 2 });
  let env: NodeJS.ProcessEnv;
  const procs: ChildProcess[] = [];

  /** A worker process; `logged(test)` resolves with the first of its JSON log records that passes `test`. */
  const startWorkerProcess = (identity: string, extraEnv: NodeJS.ProcessEnv = {}) => {
    const p = spawn(process.execPath, [CLI_BIN, 'worker', '--identity', identity], { env: { ...env, ...extraEnv }, stdio: ['ignore', 'pipe', 'ignore'] });
    procs.push(p);
    const waiting: { test: (r: Record<string, unknown>) => boolean; resolve: (r: Record<string, unknown>) => void }[] = [];
    let rest = '';
    p.stdout!.on('data', (d: Buffer) => {
      const lines = (rest + d.toString('utf8')).split('\n');
      rest = lines.pop()!;
      for (const l of lines.filter((x) => x.startsWith('{'))) {
        const rec = JSON.parse(l) as Record<string, unknown>;
        for (const w of waiting.filter((x) => x.test(rec))) {
          waiting.splice(waiting.indexOf(w), 1);
          w.resolve(rec);
        }
      }
    });
    const exit = new Promise<number | null>((resolve) => p.on('exit', (code) => resolve(code)));
    const logged = (test: (r: Record<string, unknown>) => boolean) =>
      new Promise<Record<string, unknown>>((resolve, reject) => {
        waiting.push({ test, resolve });
        void exit.then((code) => reject(new Error(`worker ${identity} exited (${code}) before the awaited log line`)));
      });
    return { p, exit, logged };
  };

  beforeAll(async () => {
    expect(fs.existsSync(path.resolve(__dirname, '../../dist/cli/main.js')), 'run `npm run build` first (npm test does)').toBe(true);
    env = cliEnv(writeCliConfig(ctx.cfg, 'imv-drain-', { worker: ctx.cfg.worker }));
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-drain-'));
    const file = path.join(dir, 'big.xml');
    await generate(file, OBJECTS, 'utf-8');
    await uploadTo(tenant, 'big.xml', fs.readFileSync(file));
  });

  afterAll(() => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  });

  it('the stopped worker finishes its running activity, exits 0; the import completes exactly once', async () => {
    // Until released, any write to estates waits: worker A's first upsert chunk will be in flight.
    const hold: Knex.Transaction = await ctx.db.transaction();
    await hold.raw('LOCK TABLE estates IN EXCLUSIVE MODE');
    // The SDK's INFO logs include its worker state changes (STOPPING: shutdown has begun).
    const a = startWorkerProcess('drain-a', { LOG_LEVEL: 'info', TEMPORAL_LOG_LEVEL: 'INFO' });
    const handle = await ctx.client.workflow.start('importBatch', {
      taskQueue: ctx.cfg.temporal.taskQueue,
      workflowId: uniqueId(`import-batch/${tenant}`),
      args: [{ tenant }],
    });
    const file = await fileWorkflow(ctx.client, ctx.db, tenant, 'big.xml', 120_000);
    // A statement of the test database waits for the lock, and the file workflow has a started activity of A's.
    await waitFor(
      'an upsert waiting for the estates lock',
      async () =>
        Number((await ctx.db.raw(`select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`)).rows[0].n) > 0,
      120_000,
    );
    const inFlight = (await file.handle.describe()).raw.pendingActivities?.find((x) => Number(x.state) === 2);
    expect(inFlight).toMatchObject({ activityType: { name: 'upsertEstates' }, lastWorkerIdentity: 'drain-a' });
    const activityId = inFlight!.activityId!;

    const b = startWorkerProcess('drain-b');
    const stopping = a.logged((r) => r.msg === 'Worker state changed' && r.state === 'STOPPING');
    a.p.kill('SIGTERM');
    await stopping;
    // Worker A is shutting down, its activity still waits: now let it finish.
    await hold.commit();
    expect(await a.exit).toBe(0);

    // The activity that was in flight at SIGTERM: started and completed by A, first attempt, after A's shutdown began.
    const events = (await file.handle.fetchHistory()).events ?? [];
    const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityId === activityId)!;
    const started = events.find((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled.eventId));
    const completed = events.find((e) => String(e.activityTaskCompletedEventAttributes?.scheduledEventId) === String(scheduled.eventId));
    expect(started?.activityTaskStartedEventAttributes).toMatchObject({ identity: 'drain-a', attempt: 1 });
    expect(completed?.activityTaskCompletedEventAttributes?.identity).toBe('drain-a');

    const summary = (await handle.result()) as BatchSummary;
    expect(summary.imported).toBe(1);
    // Every 50th generated object is a DELETE of an estate that does not exist: reported, nothing changes.
    expect(await ctx.db('estates').count('* as n').first()).toEqual({ n: OBJECTS - OBJECTS / 50 });
    expect(summary.objects).toMatchObject({ total: OBJECTS, created: OBJECTS - OBJECTS / 50, unchanged: OBJECTS / 50, rejected: 0 });
    const outcomes = await ctx.db('import_objects').select('outcome').count<{ outcome: string; n: number }[]>('* as n').groupBy('outcome').orderBy('outcome');
    expect(outcomes).toEqual([
      { outcome: 'created', n: OBJECTS - OBJECTS / 50 },
      { outcome: 'not-found', n: OBJECTS / 50 },
    ]);
    expect(Number((await ctx.db('import_objects').count('* as n').first())!.n)).toBe(OBJECTS);
    expect(await ctx.db('staged_objects').count('* as n').first()).toEqual({ n: 0 });
    const ledger = await ctx.db('import_files');
    expect(ledger).toHaveLength(1);
    expect(ledger[0].status).toBe('imported');
    b.p.kill('SIGTERM');
    expect(await b.exit).toBe(0);
  });
});
