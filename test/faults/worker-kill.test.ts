/**
 * Fault: the worker process dies (SIGKILL: OOM killer, node drained without grace) in the middle of
 * a download, of a parse and of upsert chunks, several times during one import. Each time a fresh
 * worker process takes over; the killed activity is retried after its heartbeat timeout. The final
 * database must equal that of an undisturbed import of the same transfer.
 */
import { describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import { countsOfRow } from '../../db/ledger/row';
import { dbState, expectLedgerComplete, expectSameState } from '../support/db-state';
import { downloadingBytes, sharedFtpPort, upload } from '../support/ftp';
import { generateTransfer } from '../support/generated-transfers';
import { uniqueId, usePipeline } from '../support/harness';
import { referenceRun } from '../support/reference-run';
import { waitFor } from '../support/wait';
import { activityAttempts, batchResult, fileWorkflow, runningActivity, startBatch, type RunningActivity } from '../support/workflows';

const N = 2000;
// Chunks of 400 objects: each upsert step runs long enough to be caught in the middle.
const options = { chunkSize: 400 };
const transfer = { name: 'imv-gross.xml', content: generateTransfer({ firstId: 200_000, count: N, unknownUserEvery: 500, deleteEvery: 40, changeEvery: 29 }) };

/**
 * How attempt `attempt` of activity `id` ended, once the server knows: 'retried' (it failed or
 * timed out, a later attempt is pending or has completed) or 'completed' (it completed itself).
 */
async function attemptFate(h: WorkflowHandle, id: string, attempt: number): Promise<'retried' | 'completed'> {
  return waitFor(
    `the end of activity ${id} attempt ${attempt}`,
    async () => {
      const pending = (await h.describe()).raw.pendingActivities?.find((a) => a.activityId === id);
      if (pending) return (pending.attempt ?? 1) > attempt ? 'retried' : null;
      // Closed: the started event (written when an activity closes) says which attempt it was.
      const events = (await h.fetchHistory()).events ?? [];
      const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityId === id);
      const started = scheduled && events.find((e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled.eventId));
      if (!started) return null;
      return (started.activityTaskStartedEventAttributes!.attempt ?? 1) > attempt ? 'retried' : 'completed';
    },
    60_000,
    100,
  );
}

describe('worker SIGKILLed during fetch, parse and upserts', () => {
  const tenant = uniqueId('kill');
  // Downloads go through a throttling proxy so that "the middle of the download" lasts a while;
  // the workers are processes, started and killed by the test.
  const ctx = usePipeline({ tenants: [{ id: tenant, options }], ftpProxy: { bytesPerSecond: 4_000_000 }, faults: true, identities: [], poolMax: 2 });

  it('ends with the same database as an undisturbed import', async () => {
    const reference = referenceRun([transfer], options);
    reference.catch(() => undefined);

    const { cfg, db, client } = ctx;
    await upload(sharedFtpPort(), tenant, transfer.name, transfer.content);
    const fresh = () => ctx.spawnWorker(`${tenant}-w${ctx.processes.length + 1}`);
    let worker = await fresh();
    const batch = await startBatch(client, cfg, tenant);
    const { handle: file, importId } = await fileWorkflow(client, db, tenant, transfer.name);
    const kills: string[] = [];
    const t0 = Date.now();
    const staged = async () => Number((await db('staged_objects').where({ import_id: importId }).count<{ n: number }[]>('* as n'))[0].n);
    const applied = async () => Number((await db('import_objects').where({ import_id: importId }).count<{ n: number }[]>('* as n'))[0].n);

    /**
     * SIGKILLs the worker while it runs activity `type` and `progress` says it is in the middle of
     * it, then starts a fresh worker. The worker is frozen (SIGSTOP) and the activity and its
     * progress are looked at again before the kill, so what was seen cannot change in between; a
     * kill still counts only if the server then retries the killed attempt (it did not complete).
     */
    const killDuring = async (type: string, progress: (a: RunningActivity) => Promise<string | null>): Promise<RunningActivity> => {
      for (let tries = 0; tries < 5; tries++) {
        const seen = await waitFor(
          `${type} under way`,
          async () => {
            const a = await runningActivity(file, type.startsWith('upsert'));
            if (a?.type !== type || !(await progress(a))) return null;
            worker.child.kill('SIGSTOP');
            try {
              const b = await runningActivity(file, type.startsWith('upsert'));
              const p = b?.id === a.id && b.attempt === a.attempt ? await progress(b) : null;
              if (!p) worker.child.kill('SIGCONT');
              return p && b ? { ...b, p } : null;
            } catch (e) {
              worker.child.kill('SIGCONT');
              throw e;
            }
          },
          60_000,
          10,
        );
        await worker.kill('SIGKILL');
        worker = await fresh();
        const hit = (await attemptFate(file, seen.id, seen.attempt)) === 'retried';
        kills.push(`${hit ? '' : 'missed '}${type} attempt ${seen.attempt} (${seen.p}) at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        if (hit) return seen;
      }
      throw new Error(`could not kill the worker during ${type}: ${kills.join('; ')}`);
    };

    // 1. In the middle of the download: part of the file is in the store's temp folder.
    await killDuring('fetchTransfer', async () => {
      const n = downloadingBytes(cfg.fileStore.dir);
      return n > 500_000 && n < transfer.content.length - 500_000 ? `${n} of ${transfer.content.length} bytes` : null;
    });
    // 2. In the middle of the parse: some of the objects are staged.
    await killDuring('parseTransfer', async () => {
      const n = await staged();
      return n > 0 && n < N - 400 ? `${n} of ${N} objects staged` : null;
    });
    // 3–5. In the middle of upsert chunks, three times, in different steps and chunks: a chunk's
    // estates step is caught before it committed (no outcome of the chunk written yet).
    let lastChunk = 0;
    for (const step of ['upsertEstates', 'upsertAddresses', 'upsertEstates']) {
      const killed = await killDuring(step, async (a) => {
        const from = Number(a.input?.from);
        if (!(from > lastChunk) && !(step === 'upsertAddresses' && from === lastChunk)) return null;
        const n = await applied();
        if (step === 'upsertEstates' && n !== from) return null;
        return `chunk from ${from}, ${n} of ${N} objects applied`;
      });
      lastChunk = Number(killed.input?.from);
    }

    const summary = await batchResult(batch);
    kills.push(`done at ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    expect(summary.files).toBe(1);
    expect(summary.partial).toBe(1); // every 500th object names an unknown user
    // The summary's objects are the ledger's (a file finished by an attempt the server never heard of counts too).
    const ledgerRow = await db('import_files').where({ id: importId }).first();
    expect(summary.objects).toEqual(countsOfRow(ledgerRow));
    expect(summary.objects.total).toBe(N);

    // Every killed step was retried: its completed attempt is not the first, after a heartbeat timeout.
    const attempts = await activityAttempts(file);
    const retried = (type: string) => attempts.filter((a) => a.type === type && a.attempt > 1);
    expect(retried('fetchTransfer').length).toBe(1);
    expect(retried('parseTransfer').length).toBe(1);
    expect(retried('upsertEstates').length).toBeGreaterThanOrEqual(2);
    expect(retried('upsertAddresses').length).toBeGreaterThanOrEqual(1);
    for (const a of attempts.filter((x) => x.attempt > 1)) expect(a.lastFailure ?? '').toMatch(/heartbeat/i);

    await expectLedgerComplete(db, tenant, [transfer.name]);
    expectSameState(await dbState(db, tenant), await reference);
    console.info(`worker kills: ${kills.join('; ')}`);
  }, 240_000);
});
