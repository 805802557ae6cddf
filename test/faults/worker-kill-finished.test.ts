/**
 * Fault: the worker dies after a small file's import finished (its ledger row final) but before the
 * server heard of it. A small file runs every step as a local activity inside one workflow task, so
 * the server learns of them only when that task completes; a worker killed before that leaves a
 * task that times out, and the next worker runs the workflow again from the start: its begin finds
 * the ledger row final. The file's result, its ImportObjects search attribute and the batch's
 * summary must still carry the objects the ledger holds (they used to say 0).
 *
 * To make "after the commit, before the server heard" exact, the worker reaches Temporal through
 * a proxy that is frozen while the file downloads (slowed by a throttling FTP proxy): the worker
 * finishes the import on its own, the server hears nothing, and then the worker is SIGKILLed.
 * The file workflow's history is kept as a golden history of the finished-ledger-counts shape
 * (UPDATE_GOLDEN_HISTORIES=1 writes test/replay/histories/finished-ledger-counts-file-finished-earlier.json).
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { ImportFileResult } from '../../common/messages';
import { isFinalStatus } from '../../common/statuses';
import { ImportObjects } from '../../common/search-attributes';
import { countsOfRow } from '../../db/ledger/row';
import { sharedFtpPort, upload } from '../support/ftp';
import { generateTransfer } from '../support/generated-transfers';
import { uniqueId, usePipeline } from '../support/harness';
import { waitFor } from '../support/wait';
import { batchResult, startBatch } from '../support/workflows';

// Five objects with filler: ~100 KB, a small file (local steps), downloaded in about two seconds.
const transfer = { name: 'klein.xml', content: generateTransfer({ firstId: 310_000, count: 5, padding: 20_000 }) };

describe('worker SIGKILLed after a small file finished, before the server heard of it', () => {
  const tenant = uniqueId('killfin');
  // Downloads are slowed by a throttling FTP proxy; the first worker reaches Temporal through a proxy that freezes.
  const ctx = usePipeline({ tenants: [{ id: tenant }], ftpProxy: { bytesPerSecond: 50_000 }, temporalProxy: true, faults: true, identities: [], poolMax: 2 });

  it("the file's result, its search attribute and the batch summary carry the ledger's counts", async () => {
    expect(transfer.content.length).toBeLessThan(256 * 1024); // within localStepsMaxBytes: local steps
    const { cfg, db, client, temporalProxy: temporal } = ctx;
    await upload(sharedFtpPort(), tenant, transfer.name, transfer.content);
    const first = await ctx.spawnWorker(`${tenant}-w1`, { viaTemporalProxy: true });
    const batch = await startBatch(client, cfg, tenant);

    // begin has opened the ledger row; the download is under way (seconds): cut the worker off.
    const opened = await waitFor('the ledger row', () => db('import_files').where({ tenant_id: tenant }).first('id', 'workflow_id', 'status'), 60_000, 10);
    temporal.freeze();
    expect(opened.status).toBe('importing');
    const file = client.workflow.getHandle(opened.workflow_id);
    // The worker finishes the import alone: the row is final, the server knows nothing of it.
    const row = await waitFor(
      'the ledger row final',
      async () => {
        const r = await db('import_files').where({ id: opened.id }).first();
        return r && isFinalStatus(r.status) ? r : null;
      },
      120_000,
      50,
    );
    await first.kill('SIGKILL');
    const before = (await file.fetchHistory()).events ?? [];
    expect(before.some((e) => e.workflowTaskCompletedEventAttributes)).toBe(false);

    await ctx.spawnWorker(`${tenant}-w2`);
    const summary = await batchResult(batch);
    const result = (await file.result()) as ImportFileResult;

    const ledger = countsOfRow(row);
    expect(row.status).toBe('imported');
    expect(ledger.total).toBe(5);
    expect(result.outcome).toBe('imported');
    expect(result.counts).toEqual(ledger);
    expect((await file.describe()).typedSearchAttributes.get(ImportObjects)).toBe(ledger.total);
    expect(summary.objects).toEqual(ledger);

    // It went through the finished-row branch: the dead worker's task timed out, and the run that
    // followed recorded the finished-ledger-counts patch.
    const history = await file.fetchHistory();
    const events = history.events ?? [];
    expect(events.some((e) => e.workflowTaskTimedOutEventAttributes)).toBe(true);
    const patches = events
      .map((e) => e.markerRecordedEventAttributes)
      .filter((m) => m?.markerName === 'core_patch')
      .map((m) =>
        Object.values(m!.details ?? {})
          .flatMap((p) => p.payloads ?? [])
          .map((p) => Buffer.from(p.data ?? []).toString())
          .join(' '),
      );
    expect(patches).toContainEqual(expect.stringContaining('finished-ledger-counts'));
    if (process.env.UPDATE_GOLDEN_HISTORIES)
      fs.writeFileSync(path.join(__dirname, '../replay/histories/finished-ledger-counts-file-finished-earlier.json'), historyToJSON(history as never));
  }, 240_000);
});
