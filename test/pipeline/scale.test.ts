/**
 * Scale-out and long batches: two workers share the files of one batch; a batch continues-as-new
 * and still imports every file exactly once; the sliding window bounds the children in flight.
 */
import { describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import type { BatchSummary } from '../../common/messages';
import { uniqueId, uploadTo, usePipeline } from '../support/harness';

function transfer(id: number): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<openimmo><uebertragung umfang="TEIL" version="1.2.7" timestamp="2026-11-25T10:00:00Z"/>
<anbieter><openimmo_anid>IMVONLINE</openimmo_anid>
<immobilie>
  <objektkategorie><objektart><wohnung/></objektart></objektkategorie>
  <geo><plz>10115</plz><ort>Berlin</ort></geo>
  <kontaktperson><name>Scale${id}</name><vorname>Sam</vorname><email_privat>sam${id}@example.org</email_privat></kontaktperson>
  <preise><kaufpreis>${100000 + id}</kaufpreis></preise>
  <verwaltung_techn><objektnr_extern>${id}</objektnr_extern><stand_vom>2026-11-25</stand_vom></verwaltung_techn>
  <user_defined_simplefield feldname="onoffice_benutzer">skoch</user_defined_simplefield>
</immobilie></anbieter></openimmo>`;
}

/**
 * The workers that did a file's work: regular activities name the worker that started them; a small
 * file's steps are local activities, run by the worker that completed its workflow tasks.
 */
async function activityIdentities(client: Client, workflowId: string): Promise<Set<string>> {
  const history = await client.workflow.getHandle(workflowId).fetchHistory();
  const ids = new Set<string>();
  for (const e of history.events ?? []) {
    const id = e.activityTaskStartedEventAttributes?.identity ?? e.workflowTaskCompletedEventAttributes?.identity;
    if (id) ids.add(id);
  }
  return ids;
}

describe('scale-out and long batches', () => {
  const tenant = uniqueId('scale');
  const ctx = usePipeline({
    tenants: [{ id: tenant, options: { maxConcurrentFiles: 6 } }],
    worker: { maxConcurrentActivities: 2 },
    identities: ['worker-one', 'worker-two'],
  });

  it('two workers process files of one batch; every file is imported once', async () => {
    for (let i = 0; i < 10; i++) await uploadTo(tenant, `scale-${i}.xml`, transfer(5000 + i));
    const batchId = uniqueId(`import-batch/${tenant}`);
    const summary: BatchSummary = await ctx.client.workflow.execute('importBatch', {
      taskQueue: ctx.cfg.temporal.taskQueue,
      workflowId: batchId,
      args: [{ tenant }],
    });
    // The sliding window: never more than maxConcurrentFiles (6) children open at once.
    let open = 0;
    let maxOpen = 0;
    for (const e of (await ctx.client.workflow.getHandle(batchId).fetchHistory()).events ?? []) {
      if (e.startChildWorkflowExecutionInitiatedEventAttributes) maxOpen = Math.max(maxOpen, ++open);
      if (e.childWorkflowExecutionCompletedEventAttributes || e.childWorkflowExecutionFailedEventAttributes) open--;
    }
    expect(maxOpen).toBe(6);
    // The progress queries answer on both workflows (here after they finished).
    expect(await ctx.client.workflow.getHandle(batchId).query('progress')).toMatchObject({ tenant, files: 10, imported: 10, running: 0, pending: 0 });
    expect(await ctx.client.workflow.getHandle(summary.results[0].workflowId).query('progress')).toMatchObject({
      step: 'done: imported',
      objectsTotal: 1,
      objectsDone: 1,
      outcome: 'imported',
    });
    expect(summary.files).toBe(10);
    expect(summary.imported).toBe(10);
    const seen = new Set<string>();
    for (const r of summary.results) for (const id of await activityIdentities(ctx.client, r.workflowId)) seen.add(id);
    expect([...seen].sort()).toEqual(['worker-one', 'worker-two']);
    expect(await ctx.db('estates').where({ tenant_id: tenant }).count('* as n').first()).toEqual({ n: 10 });
    expect(await ctx.db('import_files').where({ tenant_id: tenant, status: 'imported' }).count('* as n').first()).toEqual({ n: 10 });
  });

  it('a batch continues-as-new and carries its summary; the window bounds children in flight', async () => {
    for (let i = 0; i < 5; i++) await uploadTo(tenant, `long-${i}.xml`, transfer(6000 + i));
    const workflowId = uniqueId(`import-batch/${tenant}`);
    const handle = await ctx.client.workflow.start('importBatch', { taskQueue: ctx.cfg.temporal.taskQueue, workflowId, args: [{ tenant, filesPerRun: 2 }] });
    const summary = (await handle.result()) as BatchSummary;
    expect(summary.runs).toBe(3);
    expect(summary.files).toBe(5);
    expect(summary.imported).toBe(5);
    expect(summary.objects.created).toBe(5);
    const first = await ctx.client.workflow.getHandle(workflowId, handle.firstExecutionRunId).fetchHistory();
    expect(first.events?.some((e) => e.workflowExecutionContinuedAsNewEventAttributes)).toBe(true);
    expect(await ctx.db('estates').where({ tenant_id: tenant }).count('* as n').first()).toEqual({ n: 15 });
  });
});
