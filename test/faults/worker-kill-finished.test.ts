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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { ImportFileResult } from '../../common/messages';
import { isFinalStatus } from '../../common/statuses';
import { ImportObjects } from '../../common/search-attributes';
import type { AppConfig } from '../../config/config';
import { openDatabase, type Db } from '../../db/db';
import { countsOfRow } from '../../db/ledger/row';
import { createTestDatabase, temporalClient, uniqueId } from '../support/harness';
import {
  batchResult,
  faultConfig,
  FtpProxy,
  generateTransfer,
  sharedFtpPort,
  spawnWorker,
  startBatch,
  TcpProxy,
  upload,
  waitFor,
  type WorkerProcess,
} from '../support/faults';

// Five objects with filler: ~100 KB, a small file (local steps), downloaded in about two seconds.
const transfer = { name: 'klein.xml', content: generateTransfer({ firstId: 310_000, count: 5, padding: 20_000 }) };

describe('worker SIGKILLed after a small file finished, before the server heard of it', () => {
  const tenant = uniqueId('killfin');
  let dbh: { url: string; drop(): Promise<void> };
  let cfg: AppConfig;
  let db: Db;
  let client: Client;
  let ftp: FtpProxy;
  let temporal: TcpProxy;
  const workers: WorkerProcess[] = [];

  beforeAll(async () => {
    dbh = await createTestDatabase();
    ftp = await new FtpProxy(sharedFtpPort()).start();
    ftp.bytesPerSecond = 50_000;
    cfg = faultConfig({ databaseUrl: dbh.url, tenants: [{ id: tenant }], ftpPort: ftp.port });
    const [host, port] = cfg.temporal.address.split(':');
    temporal = await new TcpProxy(host!, Number(port)).start();
    db = await openDatabase(cfg, 2);
    client = await temporalClient();
  });

  afterAll(async () => {
    for (const w of workers) await w.kill();
    await temporal?.stop();
    await ftp?.stop();
    await client?.connection.close();
    await db?.destroy();
    await dbh?.drop();
  });

  it("the file's result, its search attribute and the batch summary carry the ledger's counts", async () => {
    expect(transfer.content.length).toBeLessThan(256 * 1024); // within localStepsMaxBytes: local steps
    await upload(sharedFtpPort(), tenant, transfer.name, transfer.content);
    const first = await spawnWorker({ ...cfg, temporal: { ...cfg.temporal, address: `127.0.0.1:${temporal.port}` } }, `${tenant}-w1`);
    workers.push(first);
    await first.ready;
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

    const second = await spawnWorker(cfg, `${tenant}-w2`);
    workers.push(second);
    await second.ready;
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
