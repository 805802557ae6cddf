/**
 * finishImport is the last word of a file; when it fails for good, the last resort (abandonImport,
 * behind `patched('finish-last-resort')`) still gives the ledger row a final status with the error,
 * so no row stays `importing` and the batch goes on. The fault is injected into finishImport of an
 * otherwise real worker (real activities, Temporal, PostgreSQL, vsftpd): it fails non-retryably the
 * way the NUL-in-a-message bug once did. Its history is kept as a golden history of this shape
 * (UPDATE_GOLDEN_HISTORIES=1 writes test/replay/histories/skip-idle-attachments-file-abandoned.json;
 * file-abandoned.json and local-steps-file-abandoned.json are the same run before the local-steps and the
 * skip-idle-attachments patches).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { NativeConnection, Worker } from '@temporalio/worker';
import type { Client } from '@temporalio/client';
import type { BatchSummary } from '../../common/messages';
import type { AppConfig } from '../../config/config';
import { openDatabase, type Db } from '../../db/db';
import { createActivities } from '../../activities';
import { FsFileStore } from '../../store/fs-store';
import { goodXml } from '../hostile/hostile-files';
import { createTestDatabase, quietLog, temporalClient, testConfig, testEnv, uniqueId, uploadTo, workflowBundle } from '../support/harness';

describe('the last resort when finishing an import fails for good', () => {
  const tenant = uniqueId('lastresort');
  let dbHandle: { url: string; drop(): Promise<void> };
  let cfg: AppConfig;
  let db: Db;
  let client: Client;
  let connection: NativeConnection;
  let worker: Worker;
  let running: Promise<void>;
  let summary: BatchSummary;
  let finishCalls = 0;

  beforeAll(async () => {
    dbHandle = await createTestDatabase();
    // Regular activities for every step after begin, so the history shows each step by name.
    cfg = testConfig({ databaseUrl: dbHandle.url, tenants: [{ id: tenant, options: { localStepsMaxBytes: 0 } }] });
    db = await openDatabase(cfg, 4);
    client = await temporalClient();
    connection = await NativeConnection.connect({ address: cfg.temporal.address });
    const real = createActivities({ cfg, db, store: new FsFileStore(cfg.fileStore.dir), log: quietLog, env: testEnv });
    worker = await Worker.create({
      connection,
      taskQueue: cfg.temporal.taskQueue,
      workflowBundle: await workflowBundle(),
      activities: {
        ...real,
        async finishImport() {
          finishCalls++;
          throw ApplicationFailure.nonRetryable('PostgreSQL refused a value (SQLSTATE 22021): invalid byte sequence for encoding "UTF8": 0x00', 'DataError');
        },
      },
    });
    running = worker.run();
    await uploadTo(tenant, 'finish-fails.xml', goodXml('9301'));
    summary = await client.workflow.execute('importBatch', {
      taskQueue: cfg.temporal.taskQueue,
      workflowId: uniqueId(`import-batch/${tenant}`),
      args: [{ tenant }],
    });
  });

  afterAll(async () => {
    worker?.shutdown();
    await running;
    await connection?.close();
    await client?.connection.close();
    await db?.destroy();
    await dbHandle?.drop();
  });

  it('the ledger row ends failed with the error, not importing; the batch finishes', async () => {
    expect(finishCalls).toBe(1);
    expect(summary.files).toBe(1);
    expect(summary.results.map((r) => r.outcome)).toEqual(['failed']);
    const row = await db('import_files').where({ tenant_id: tenant }).first();
    expect([row.status, row.error_type]).toEqual(['failed', 'DataError']);
    expect(row.error_message).toMatch(/^finishing the import failed: PostgreSQL refused a value/);
    expect(row.finished_at).not.toBeNull();
    expect(row.notes.join('\n')).toContain('could not be finished normally');
  });

  it('the file workflow completes with outcome failed and records the patch marker', async () => {
    const wf = summary.results[0]!.workflowId;
    const handle = client.workflow.getHandle(wf);
    expect((await handle.result()).outcome).toBe('failed');
    const history = await handle.fetchHistory();
    // Three patches: local-steps and skip-idle-attachments at the start, finish-last-resort where finishing failed.
    const markers = (history.events ?? []).filter((e) => e.markerRecordedEventAttributes?.markerName === 'core_patch');
    expect(markers).toHaveLength(3);
    const types = (history.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
    expect(types.slice(-2)).toEqual(['finishImport', 'abandonImport']);
    if (process.env.UPDATE_GOLDEN_HISTORIES)
      fs.writeFileSync(path.join(__dirname, '../replay/histories/skip-idle-attachments-file-abandoned.json'), historyToJSON(history as never));
  });
});
