/**
 * Faults on the FTP side while a transfer downloads: the server goes away and comes back (a
 * private vsftpd, stopped and started), and a connection that stalls without closing (a proxy
 * that freezes it; only the heartbeat timeout notices). The download is retried and the final
 * database equals that of an undisturbed import.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { openDatabase, type Db } from '../../db/db';
import type { AppConfig } from '../../config/config';
import { createTestDatabase, startWorker, temporalClient, uniqueId, type RunningWorker } from '../support/harness';
import { startVsftpd, type Vsftpd } from '../support/vsftpd';
import {
  activityAttempts,
  batchResult,
  dbState,
  downloadingBytes,
  expectLedgerComplete,
  expectSameState,
  faultConfig,
  fileWorkflow,
  FtpProxy,
  generateTransfer,
  referenceRun,
  sharedFtpPort,
  sleep,
  startBatch,
  upload,
  waitFor,
  type DbState,
} from '../support/faults';

const transfer = { name: 'imv-ftp.xml', content: generateTransfer({ firstId: 600_000, count: 1500, unknownUserEvery: 400, deleteEvery: 40, changeEvery: 29 }) };

// The two cases are independent (own tenant, database, worker, proxy) and mostly wait: run them side by side.
describe.concurrent('FTP server down and connection stalled during a download', () => {
  let client: Client;
  let reference: Promise<DbState>;
  const cleanup: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    client = await temporalClient();
    reference = referenceRun([transfer]);
    reference.catch(() => undefined);
  });

  afterAll(async () => {
    for (const c of cleanup.reverse()) await c();
    await client?.connection.close();
  });

  /** A tenant whose FTP account is reached through `proxy`, its database, and a worker. */
  async function tenantBehind(proxy: FtpProxy, prefix: string): Promise<{ tenant: string; cfg: AppConfig; db: Db; worker: RunningWorker }> {
    const tenant = uniqueId(prefix);
    const dbh = await createTestDatabase();
    const cfg = faultConfig({ databaseUrl: dbh.url, tenants: [{ id: tenant }], ftpPort: proxy.port });
    const db = await openDatabase(cfg, 2);
    const worker = await startWorker(cfg, `${tenant}-worker`);
    cleanup.push(async () => {
      await worker.stop();
      await db.destroy();
      await dbh.drop();
    });
    return { tenant, cfg, db, worker };
  }

  it('the server is stopped in the middle of a download and started again', async () => {
    const ftp: Vsftpd = await startVsftpd();
    cleanup.push(() => ftp.stop());
    const proxy = await new FtpProxy(ftp.port).start();
    cleanup.push(() => proxy.stop());
    proxy.bytesPerSecond = 1_000_000; // ~3 s for the file
    const { tenant, cfg, db } = await tenantBehind(proxy, 'ftpdown');
    await upload(ftp.port, tenant, transfer.name, transfer.content);

    const batch = await startBatch(client, cfg, tenant);
    const { handle } = await fileWorkflow(client, db, tenant, transfer.name);
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
    const proxy = await new FtpProxy(sharedFtpPort()).start();
    cleanup.push(() => proxy.stop());
    proxy.bytesPerSecond = 1_000_000;
    const { tenant, cfg, db } = await tenantBehind(proxy, 'ftpstall');
    await upload(sharedFtpPort(), tenant, transfer.name, transfer.content);

    const batch = await startBatch(client, cfg, tenant);
    const { handle } = await fileWorkflow(client, db, tenant, transfer.name);
    await waitFor('download under way', () => downloadingBytes(cfg.fileStore.dir) > 300_000, 30_000, 20);
    // Control and data connection freeze; nothing is closed. The retry opens new ones, which flow.
    expect(proxy.freeze()).toBeGreaterThanOrEqual(2);

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
