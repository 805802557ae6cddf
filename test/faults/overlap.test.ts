/**
 * Faults from the outside world that need no crash: the same transfer uploaded twice under two
 * names, and batches that overlap (a manual trigger while the scheduled batch runs, and a second
 * import batch started directly with another id). Each file must be imported exactly once and the
 * final database must equal that of an undisturbed run.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { BatchSummary } from '../../common/messages';
import { ensureSchedule, scheduleIdOf } from '../../ops/schedule';
import { triggerBatch } from '../../ops/batches';
import { dbState, expectLedgerComplete, expectSameState, type DbState } from '../support/db-state';
import { sharedFtpPort, upload } from '../support/ftp';
import { generateTransfer } from '../support/generated-transfers';
import { openPipeline, uniqueId, type PipelineContext } from '../support/harness';
import { referenceRun, type TransferFile } from '../support/reference-run';
import { batchResult, startBatch } from '../support/workflows';

interface Env extends PipelineContext {
  tenant: string;
}

/** A tenant with its own database; its worker runs at once unless `deferWorker` (then the test starts it). */
async function environment(prefix: string, options: Record<string, unknown> = {}, deferWorker = false): Promise<Env> {
  const tenant = uniqueId(prefix);
  const p = await openPipeline({ tenants: [{ id: tenant, options }], faults: true, identities: deferWorker ? [] : [`${tenant}-worker`], poolMax: 2 });
  return Object.assign(p, { tenant });
}

/** Swaps two file names everywhere in a state (which of two identical uploads wins is a race). */
function renamed(state: DbState, a: string, b: string): DbState {
  const swap = (rows: string[]) => rows.map((r) => r.split(a).join('\u0000').split(b).join(a).split('\u0000').join(b)).sort();
  return { estates: state.estates, addresses: state.addresses, links: state.links, objects: swap(state.objects), ledger: swap(state.ledger) };
}

describe('the same transfer twice, and overlapping batches', () => {
  const envs: Env[] = [];

  afterAll(async () => {
    for (const e of envs) await e.close();
  });

  it('the same file under two names in one batch: one import, one duplicate row, no duplicate estates', async () => {
    const same = generateTransfer({ firstId: 400_000, count: 1500, deleteEvery: 40, changeEvery: 29 });
    const a: TransferFile = { name: 'imv-export-a.xml', content: same };
    const b: TransferFile = { name: 'imv-export-b.xml', content: same };
    const other: TransferFile = { name: 'imv-other.xml', content: generateTransfer({ firstId: 410_000, count: 300 }) };
    // Undisturbed: the copy arrives after the original was imported.
    const reference = referenceRun([[a, other], [b]]);
    reference.catch(() => undefined);

    const env = await environment('dup');
    envs.push(env);
    for (const f of [a, b, other]) await upload(sharedFtpPort(), env.tenant, f.name, f.content);
    const summary = await env.batch(env.tenant);
    expect(summary.files).toBe(3);
    expect(summary.duplicate).toBe(1);
    expect(summary.imported + summary.partial).toBe(2);

    await expectLedgerComplete(env.db, env.tenant, [a.name, b.name, other.name]);
    const rows = await env
      .db('import_files')
      .where({ tenant_id: env.tenant })
      .whereIn('file_name', [a.name, b.name])
      .select('id', 'file_name', 'status', 'duplicate_of');
    const dup = rows.find((r) => r.status === 'duplicate')!;
    const orig = rows.find((r) => r.status !== 'duplicate')!;
    expect(dup.duplicate_of).toBe(orig.id);
    expect(await env.db('import_objects').where({ import_id: dup.id }).count('* as n').first()).toEqual({ n: 0 });

    let state = await dbState(env.db, env.tenant);
    if (orig.file_name === b.name) state = renamed(state, a.name, b.name);
    expectSameState(state, await reference);
  });

  it('a manual trigger during a scheduled run is skipped, a second batch started directly imports nothing twice', async () => {
    const files: TransferFile[] = Array.from({ length: 6 }, (_, i) => ({
      name: `imv-teil-${i + 1}.xml`,
      content: generateTransfer({ firstId: 500_000 + i * 10_000, count: 400, unknownUserEvery: 150, deleteEvery: 40 }),
    }));
    const options = { maxConcurrentFiles: 2 };
    const reference = referenceRun(files, options);
    reference.catch(() => undefined);

    // No worker yet: the scheduled batch cannot finish (nor list and archive anything) before the
    // direct batch and the manual trigger have been started, however fast the machine is.
    const env = await environment('overlap', options, true);
    envs.push(env);
    for (const f of files) await upload(sharedFtpPort(), env.tenant, f.name, f.content);
    expect(await ensureSchedule(env.client, env.cfg, env.cfg.tenants[0])).toBe('created');
    try {
      const scheduled = await triggerBatch(env.client, env.tenant);
      expect(scheduled.alreadyRunning).toBe(false);
      const direct = await startBatch(env.client, env.cfg, env.tenant, uniqueId(`import-batch/${env.tenant}/manual`));
      // Run now through the schedule while its batch runs: overlap SKIP, the running batch is returned.
      const manual = await triggerBatch(env.client, env.tenant);
      expect(manual.alreadyRunning).toBe(true);
      expect(manual.workflowId).toBe(scheduled.workflowId);
      // Both batches list the inbox when the worker comes, and compete for the same files.
      await env.startWorker(`${env.tenant}-worker`);

      const results: BatchSummary[] = [await scheduled.result(), await batchResult(direct)];
      const importedBy = new Map<string, number>();
      for (const r of results) {
        for (const f of r.results) {
          expect(['imported', 'partial', 'in-progress-elsewhere']).toContain(f.outcome);
          if (f.outcome !== 'in-progress-elsewhere') importedBy.set(f.name, (importedBy.get(f.name) ?? 0) + 1);
        }
      }
      // Every file was imported by exactly one of the batches; the second batch did see files in flight.
      expect(Object.fromEntries(importedBy)).toEqual(Object.fromEntries(files.map((f) => [f.name, 1])));
      expect(results[1].results.length).toBeGreaterThan(0);

      await expectLedgerComplete(
        env.db,
        env.tenant,
        files.map((f) => f.name),
      );
      expectSameState(await dbState(env.db, env.tenant), await reference);
    } finally {
      await env.client.schedule.getHandle(scheduleIdOf(env.tenant)).delete();
    }
  });
});
