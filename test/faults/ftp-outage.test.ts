/**
 * Faults on the FTP side while a transfer downloads: the server goes away and comes back (a
 * private vsftpd, stopped and started), and a connection that stalls without closing (a proxy
 * that freezes it; only the heartbeat timeout notices). The download is retried and the final
 * database equals that of an undisturbed import.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dbState, expectLedgerComplete, expectSameState, type DbState } from '../support/db-state';
import { downloadingBytes, upload } from '../support/ftp';
import { generateTransfer } from '../support/generated-transfers';
import { openPipeline, uniqueId, type PipelineContext, type PipelineOptions } from '../support/harness';
import { referenceRun } from '../support/reference-run';
import { sleep, waitFor } from '../support/wait';
import { activityAttempts, batchResult, fileWorkflow, startBatch } from '../support/workflows';

const transfer = { name: 'imv-ftp.xml', content: generateTransfer({ firstId: 600_000, count: 1500, unknownUserEvery: 400, deleteEvery: 40, changeEvery: 29 }) };

// The two cases are independent (own tenant, database, worker, proxy) and mostly wait: run them side by side.
describe.concurrent('FTP server down and connection stalled during a download', () => {
  let reference: Promise<DbState>;
  const opened: PipelineContext[] = [];

  beforeAll(() => {
    reference = referenceRun([transfer]);
    reference.catch(() => undefined);
  });

  afterAll(async () => {
    for (const p of opened) await p.close();
  });

  /** A tenant whose FTP account is reached through a throttling proxy (~3 s for the file), its database and worker. */
  async function tenantBehindProxy(prefix: string, ftp: PipelineOptions['ftp']): Promise<{ tenant: string; p: PipelineContext }> {
    const tenant = uniqueId(prefix);
    const p = await openPipeline({
      tenants: [{ id: tenant }],
      ftp,
      ftpProxy: { bytesPerSecond: 1_000_000 },
      faults: true,
      identities: [`${tenant}-worker`],
      poolMax: 2,
    });
    opened.push(p);
    return { tenant, p };
  }

  it('the server is stopped in the middle of a download and started again', async () => {
    // A vsftpd of its own, to stop and start.
    const { tenant, p } = await tenantBehindProxy('ftpdown', { vsftpd: {} });
    const { cfg, db } = p;
    const ftp = p.ftp();
    await upload(ftp.port, tenant, transfer.name, transfer.content);

    const batch = await startBatch(p.client, cfg, tenant);
    const { handle } = await fileWorkflow(p.client, db, tenant, transfer.name);
    const got = await waitFor('download under way', () => downloadingBytes(cfg.fileStore.dir) > 300_000 && downloadingBytes(cfg.fileStore.dir), 30_000, 20);
    await ftp.stop();
    await sleep(3000);
    await ftp.start();

    const summary = await batchResult(batch);
    expect(summary.files).toBe(1);
    expect(summary.partial).toBe(1);
    const fetches = (await activityAttempts(handle)).filter((a) => a.type === 'fetchTransfer');
    expect(fetches).toHaveLength(1);
    expect(fetches[0].attempt, `stopped after ${got} bytes`).toBeGreaterThan(1);
    expect(fetches[0].lastFailure).not.toMatch(/heartbeat/i); // the broken connection failed the attempt itself

    await expectLedgerComplete(db, tenant, [transfer.name]);
    expectSameState(await dbState(db, tenant), await reference);
  });

  it('a connection that stalls in the middle of a download is given up after the heartbeat timeout', async () => {
    const { tenant, p } = await tenantBehindProxy('ftpstall', 'shared');
    const { cfg, db } = p;
    await upload(p.ftp().port, tenant, transfer.name, transfer.content);

    const batch = await startBatch(p.client, cfg, tenant);
    const { handle } = await fileWorkflow(p.client, db, tenant, transfer.name);
    await waitFor('download under way', () => downloadingBytes(cfg.fileStore.dir) > 300_000, 30_000, 20);
    // Control and data connection freeze; nothing is closed. The retry opens new ones, which flow.
    expect(p.ftpProxy.freeze()).toBeGreaterThanOrEqual(2);

    const summary = await batchResult(batch);
    expect(summary.partial).toBe(1);
    const fetches = (await activityAttempts(handle)).filter((a) => a.type === 'fetchTransfer');
    expect(fetches).toHaveLength(1);
    expect(fetches[0].attempt).toBe(2);
    expect(fetches[0].lastFailure).toMatch(/heartbeat/i);

    await expectLedgerComplete(db, tenant, [transfer.name]);
    expectSameState(await dbState(db, tenant), await reference);
  });
});
