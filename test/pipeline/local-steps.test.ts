/**
 * The local-steps shape (issue 8): a small file runs every step as a local activity on the worker
 * that runs its workflow (no activity task goes through the server), a file over the tenant's
 * localStepsMaxBytes runs its steps as regular activities; the mirror step is not run when mirror
 * mode is off. Both import the same way.
 */
import { describe, expect, it } from 'vitest';
import { goodXml, imvObject, imvTransfer } from '../hostile/hostile-files';
import { uploadTo, usePipeline, uniqueId } from '../support/harness';

const small = uniqueId('local-small');
const big = uniqueId('local-big');

describe('small files run their steps as local activities', () => {
  const p = usePipeline({ tenants: [{ id: small }, { id: big, options: { localStepsMaxBytes: 2000 } }] });

  const historyOf = async (tenant: string) => {
    const summary = await p.batch(tenant);
    expect(summary.imported).toBe(1);
    const events = (await p.client.workflow.getHandle(summary.results[0]!.workflowId).fetchHistory()).events ?? [];
    return {
      scheduled: events.map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean),
      localMarkers: events.filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_local_activity').length,
      events: events.length,
    };
  };

  it('a one-object file: begin and its steps local, no mirror, no idle attachments step, a short history', async () => {
    await uploadTo(small, 'small.xml', goodXml('9401'));
    const h = await historyOf(small);
    expect(h.scheduled).toEqual([]);
    // begin, fetch, parse, estates, addresses, links, finish: a new estate without pictures leaves the attachments step out
    expect(h.localMarkers).toBe(7);
    expect(h.events).toBeLessThan(30);
    expect(await p.db('estates').where({ tenant_id: small, source_id: '9401' }).first()).toBeDefined();
  });

  it('a file over localStepsMaxBytes: regular activities after a local begin', async () => {
    const xml = imvTransfer([imvObject({ id: '9402' }), imvObject({ id: '9403' })]);
    expect(Buffer.byteLength(xml)).toBeGreaterThan(2000);
    await uploadTo(big, 'big.xml', xml);
    const h = await historyOf(big);
    expect(h.localMarkers).toBe(1);
    // New estates without pictures: the attachments step is left out (skip-idle-attachments).
    expect(h.scheduled).toEqual(['fetchTransfer', 'parseTransfer', 'upsertEstates', 'upsertAddresses', 'linkContacts', 'finishImport']);
    expect(await p.db('estates').where({ tenant_id: big }).count<{ n: number }[]>('* as n')).toEqual([{ n: 2 }]);
  });
});
