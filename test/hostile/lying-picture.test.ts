/**
 * A picture entry whose header lies about its size (declares 10 KiB, inflates to megabytes) on the
 * real pipeline (Temporal dev server, PostgreSQL, vsftpd, an in-process worker). The lie is found
 * only when the attachments step inflates the picture, after the estate is written: that picture is
 * skipped with a warning naming the object, the file in the XML and the ZIP entry, and the rest is
 * imported (docs/design.md §3). Decided once: the step is not retried, the file leaves the inbox in
 * its one batch, and the next batch has nothing to do. One ZIP is big (regular activities), one
 * small (local steps).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowHandle } from '@temporalio/client';
import type { BatchSummary } from '../../common/messages';
import { listRemote, uniqueId, uploadTo, usePipeline } from '../support/harness';
import { activityAttempts } from '../support/workflows';
import { MiB, zipLyingPicture } from './hostile-files';

const files = [
  { name: 'lying-picture.zip', id: '7801', bytes: zipLyingPicture('7801', 3 * MiB), local: false },
  { name: 'lying-picture-small.zip', id: '7802', bytes: zipLyingPicture('7802', 100 * 1024), local: true },
];

/** What the history says of each storeAttachments attempt: regular activities' started events, local ones' markers. */
async function storeAttachmentsAttempts(h: WorkflowHandle): Promise<{ attempt: number; failure: string | null }[]> {
  const regular = (await activityAttempts(h)).filter((a) => a.type === 'storeAttachments').map((a) => ({ attempt: a.attempt, failure: a.lastFailure }));
  const local = ((await h.fetchHistory()).events ?? [])
    .map((e) => e.markerRecordedEventAttributes)
    .filter((m) => m?.markerName === 'core_local_activity')
    .map((m) => JSON.parse(Buffer.from(m!.details!.data!.payloads![0]!.data!).toString()) as { activity_type: string; attempt: number })
    .filter((d) => d.activity_type === 'storeAttachments')
    .map((d) => ({ attempt: d.attempt, failure: null }));
  return [...regular, ...local];
}

describe('a ZIP whose picture entry lies about its size', () => {
  const tenant = uniqueId('liar');
  const ctx = usePipeline({ tenants: [{ id: tenant }], identities: ['liar-worker'] });
  let summary: BatchSummary;

  beforeAll(async () => {
    for (const f of files) await uploadTo(tenant, f.name, f.bytes);
    summary = await ctx.batch(tenant);
  }, 600_000);

  it('each file is imported in its one batch, without the lying picture, with a warning naming object, file and entry', async () => {
    expect(files[0]!.bytes.length).toBeGreaterThan(256 * 1024); // regular activities
    expect(files[1]!.bytes.length).toBeLessThan(256 * 1024); // local steps
    expect([summary.files, summary.imported]).toEqual([2, 2]);
    for (const f of files) {
      const row = await ctx.db('import_files').where({ tenant_id: tenant, file_name: f.name }).first();
      expect([f.name, row.status, row.created, row.error_type]).toEqual([f.name, 'imported', 1, null]);
      const estate = await ctx.db('estates').where({ tenant_id: tenant, source_id: f.id }).first();
      const pictures = await ctx.db('estate_attachments').where({ estate_id: estate.id }).orderBy('position');
      expect(pictures.map((a) => [a.position, a.group, a.title, a.file_name])).toEqual([[0, 'BILD', 'Küche', 'bilder/kueche.png']]);
      const [obj] = await ctx.db('import_objects').where({ import_id: row.id });
      expect(obj.outcome).toBe('created');
      expect(obj.messages).toEqual([
        `object ${f.id}: anhang 1 "Außen": file "bilder/aussen.jpg" is skipped: ZIP entry "export/bilder/aussen.jpg" is rejected: it inflates to more than the 10240 bytes its header declares`,
      ]);
    }
  });

  it('the attachments step ran once per file: one attempt, no failure', async () => {
    for (const f of files) {
      const row = await ctx.db('import_files').where({ tenant_id: tenant, file_name: f.name }).first();
      const h = ctx.client.workflow.getHandle(row.workflow_id);
      expect(await storeAttachmentsAttempts(h), f.name).toEqual([{ attempt: 1, failure: null }]);
      const events = (await h.fetchHistory()).events ?? [];
      expect(events.filter((e) => e.activityTaskFailedEventAttributes || e.activityTaskTimedOutEventAttributes || e.timerStartedEventAttributes)).toEqual([]);
    }
  });

  it('the files left the inbox; the next batch imports nothing', async () => {
    expect(await listRemote(`/${tenant}`)).toEqual([]);
    const next = await ctx.batch(tenant);
    expect([next.files, next.imported, next.failed]).toEqual([0, 0, 0]);
  });
});
