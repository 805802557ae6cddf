/**
 * Fault: PostgreSQL goes down hard (`pg_ctl stop -m immediate`: every connection is cut, open
 * transactions are lost, crash recovery on start) in the middle of the upserts, twice, and comes
 * back once an activity attempt has failed against it. A private server is used so that the other
 * test files, which share the machine's server, are not disturbed. The final database must equal
 * an undisturbed import.
 */
import { describe, expect, it } from 'vitest';
import { dbState, expectLedgerComplete, expectSameState } from '../support/db-state';
import { sharedFtpPort, upload } from '../support/ftp';
import { generateTransfer } from '../support/generated-transfers';
import { uniqueId, usePipeline } from '../support/harness';
import { referenceRun } from '../support/reference-run';
import { waitFor } from '../support/wait';
import { activityAttempts, batchResult, fileWorkflow, startBatch } from '../support/workflows';

const N = 2000;
const transfer = { name: 'imv-pg.xml', content: generateTransfer({ firstId: 700_000, count: N, unknownUserEvery: 450, deleteEvery: 40, changeEvery: 29 }) };

describe('PostgreSQL restarted during the upserts', () => {
  const tenant = uniqueId('pgdown');
  // A private PostgreSQL server (its binaries are on every machine of this kind and in CI: fail,
  // never skip), and a worker process of its own: its pool goes through the outage like a deployed
  // worker's; the test polls with a pool that does not log the outage.
  const ctx = usePipeline({ tenants: [{ id: tenant }], postgres: 'private', faults: true, identities: [], processes: [`${tenant}-worker`] });

  it('ends with the same database as an undisturbed import', async () => {
    const reference = referenceRun([transfer]);
    reference.catch(() => undefined);

    const { cfg, db, client, postgres: pg } = ctx;
    const worker = ctx.processes[0]!;
    await upload(sharedFtpPort(), tenant, transfer.name, transfer.content);
    const batch = await startBatch(client, cfg, tenant);
    const { handle, importId } = await fileWorkflow(client, db, tenant, transfer.name);
    const applied = async () => Number((await db('import_objects').where({ import_id: importId }).count<{ n: number }[]>('* as n'))[0].n);

    // Pending activity attempts of the file workflow ("id#attempt"): a retry shows up as a new one.
    const pending = async () => new Set(((await handle.describe()).raw.pendingActivities ?? []).map((a) => `${a.activityId}#${a.attempt ?? 1}`));
    const outages: string[] = [];
    for (const share of [0.2, 0.6]) {
      await waitFor(`${share * 100}% applied`, async () => (await applied()) >= share * N, 60_000, 20);
      // The worker is frozen (SIGSTOP) while PostgreSQL goes down, so the outage starts with
      // upserts left however fast the worker runs; it is thawed with the database gone.
      worker.child.kill('SIGSTOP');
      try {
        const n = await applied();
        expect(n, 'upserts left when PostgreSQL goes down').toBeLessThan(N);
        const before = await pending();
        await pg.stop();
        outages.push(`down after ${n} of ${N} objects`);
        worker.child.kill('SIGCONT');
        // Down until an attempt has failed (a cut transaction fails at once, a new one when the
        // pool gives up waiting for a connection), not for a fixed time that might fall between
        // two activities.
        await waitFor(
          'an activity attempt failed during the outage',
          async () => [...(await pending())].some((k) => !before.has(k) && !k.endsWith('#1')),
          60_000,
          100,
        );
      } finally {
        worker.child.kill('SIGCONT');
      }
      await pg.start();
    }

    const summary = await batchResult(batch);
    expect(summary.files).toBe(1);
    expect(summary.partial).toBe(1);
    // The upsert steps that were cut off failed and were retried.
    const retried = (await activityAttempts(handle)).filter((a) => a.attempt > 1);
    expect(retried.length, outages.join('; ')).toBeGreaterThanOrEqual(2);

    await expectLedgerComplete(db, tenant, [transfer.name]);
    expectSameState(await dbState(db, tenant), await reference);
    console.info(`PostgreSQL outages: ${outages.join('; ')}; retried: ${retried.map((a) => `${a.type} attempt ${a.attempt}`).join(', ')}`);
  }, 180_000);
});
