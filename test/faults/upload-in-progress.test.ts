/**
 * Fault: a sender still uploading when the batch lists the inbox. The lister must not take the
 * growing file (a half file would fail as malformed, or worse, import half of its objects); the
 * batch imports the finished files, and a later batch imports the file whole once it is complete.
 */
import { describe, expect, it } from 'vitest';
import { dbState, expectLedgerComplete, expectSameState } from '../support/db-state';
import { ftpAt, listDir, sharedFtpPort, upload, uploadUntilReleased } from '../support/ftp';
import { generateTransfer } from '../support/generated-transfers';
import { uniqueId, usePipeline } from '../support/harness';
import { referenceRun, type TransferFile } from '../support/reference-run';
import { waitFor } from '../support/wait';

const finished: TransferFile[] = [
  { name: 'imv-fertig-1.xml', content: generateTransfer({ firstId: 800_000, count: 200 }) },
  { name: 'imv-fertig-2.xml', content: generateTransfer({ firstId: 810_000, count: 200, deleteEvery: 40 }) },
];
const slow: TransferFile = { name: 'imv-langsam.xml', content: generateTransfer({ firstId: 820_000, count: 1200, unknownUserEvery: 300, changeEvery: 29 }) };
// Production lists twice, 2 s apart, and wants files a minute old; the test keeps the two-listing
// check (1 s apart) and no minimum age, so only the size/mtime comparison protects the upload.
const options = { minFileAgeSeconds: 0, stableCheckMs: 1000 };

describe('a file still being uploaded when the batch lists the inbox', () => {
  const tenant = uniqueId('upl');
  const ctx = usePipeline({ tenants: [{ id: tenant, options }], faults: true, identities: [`${tenant}-worker`], poolMax: 2 });

  it('is skipped by the batch that sees it growing and imported whole by the next one', async () => {
    for (const f of finished) await upload(sharedFtpPort(), tenant, f.name, f.content);
    // The sender trickles a few hundred bytes every 100 ms (the file changes between any two
    // listings, and would take many minutes to finish) until the test lets the rest go: the file is
    // still growing when the first batch lists, however long anything takes.
    const uploading = uploadUntilReleased(sharedFtpPort(), tenant, slow.name, slow.content);
    try {
      await waitFor('upload started', async () => (await ftpAt(sharedFtpPort(), (c) => c.size(`/${tenant}/${slow.name}`))) > 0, 10_000, 20);

      const first = await ctx.batch(tenant);
      const sizeAfterBatch = await ftpAt(sharedFtpPort(), (c) => c.size(`/${tenant}/${slow.name}`));
      expect(sizeAfterBatch, 'the upload was still running after the first batch').toBeLessThan(slow.content.length);
      expect(first.results.map((r) => r.name).sort()).toEqual(finished.map((f) => f.name).sort());
      expect(await ctx.db('import_files').where({ tenant_id: tenant, file_name: slow.name }).first()).toBeUndefined();
    } finally {
      uploading.release();
    }
    await uploading.done;
    expect(await ftpAt(sharedFtpPort(), (c) => c.size(`/${tenant}/${slow.name}`))).toBe(slow.content.length);

    // The undisturbed run starts only now: while the first batch listed, nothing else ran in this
    // process that could hold up the trickle.
    const reference = referenceRun([...finished, slow], options);
    reference.catch(() => undefined);

    expect(await listDir(sharedFtpPort(), `/${tenant}`)).toEqual([slow.name]);
    const second = await ctx.batch(tenant);
    expect(second.results.map((r) => [r.name, r.outcome])).toEqual([[slow.name, 'partial']]);
    const row = await ctx.db('import_files').where({ tenant_id: tenant, file_name: slow.name }).first();
    expect([row.size, row.objects_total]).toEqual([slow.content.length, 1200]);

    await expectLedgerComplete(
      ctx.db,
      tenant,
      [...finished, slow].map((f) => f.name),
    );
    expectSameState(await dbState(ctx.db, tenant), await reference);
  });
});
