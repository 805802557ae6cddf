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
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import type { BatchSummary } from '../../common/messages';
import { goodXml } from '../hostile/hostile-files';
import { uniqueId, uploadTo, usePipeline } from '../support/harness';

let finishCalls = 0;
/** finishImport fails for good (every other activity is the real one). */
const failFinish: ActivityInterceptorsFactory = (ctx) => ({
  inbound: {
    async execute(input, next) {
      if (ctx.info.activityType !== 'finishImport') return next(input);
      finishCalls++;
      throw ApplicationFailure.nonRetryable('PostgreSQL refused a value (SQLSTATE 22021): invalid byte sequence for encoding "UTF8": 0x00', 'DataError');
    },
  },
});

describe('the last resort when finishing an import fails for good', () => {
  const tenant = uniqueId('lastresort');
  // Regular activities for every step after begin, so the history shows each step by name.
  const ctx = usePipeline({ tenants: [{ id: tenant, options: { localStepsMaxBytes: 0 } }], workerOptions: { activityInterceptors: [failFinish] } });
  let summary: BatchSummary;

  beforeAll(async () => {
    await uploadTo(tenant, 'finish-fails.xml', goodXml('9301'));
    summary = await ctx.batch(tenant);
  });

  it('the ledger row ends failed with the error, not importing; the batch finishes', async () => {
    expect(finishCalls).toBe(1);
    expect(summary.files).toBe(1);
    expect(summary.results.map((r) => r.outcome)).toEqual(['failed']);
    const row = await ctx.db('import_files').where({ tenant_id: tenant }).first();
    expect([row.status, row.error_type]).toEqual(['failed', 'DataError']);
    expect(row.error_message).toMatch(/^finishing the import failed: PostgreSQL refused a value/);
    expect(row.finished_at).not.toBeNull();
    expect(row.notes.join('\n')).toContain('could not be finished normally');
  });

  it('the file workflow completes with outcome failed and records the patch marker', async () => {
    const wf = summary.results[0]!.workflowId;
    const handle = ctx.client.workflow.getHandle(wf);
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
