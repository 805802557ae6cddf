/**
 * A tenant on explicit FTPS (ftps:// = AUTH TLS on the control port, protected data connections):
 * a real vsftpd with TLS forced for logins and data, and a batch that imports through it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Client as FtpClient } from 'basic-ftp';
import type { Client } from '@temporalio/client';
import { parseConfig, type AppConfig } from '../../config/config';
import { openDatabase, type Db } from '../../db/db';
import type { BatchSummary } from '../../common/messages';
import { createTestDatabase, fixturesDir, startWorker, temporalClient, testConfig, uniqueId, type RunningWorker } from '../support/harness';
import { FTP_PASSWORD, FTP_USER, startVsftpd, type Vsftpd } from '../support/vsftpd';

describe('explicit FTPS', () => {
  const tenant = uniqueId('ftps');
  let ftps: Vsftpd;
  let dbHandle: { url: string; drop(): Promise<void> };
  let cfg: AppConfig;
  let db: Db;
  let worker: RunningWorker;
  let client: Client;

  beforeAll(async () => {
    ftps = await startVsftpd({ tls: true });
    dbHandle = await createTestDatabase();
    const base = testConfig({ databaseUrl: dbHandle.url, tenants: [{ id: tenant }] });
    const raw = JSON.parse(
      JSON.stringify({
        ...base,
        tenants: base.tenants.map((t) => ({
          ...t,
          ftp: { url: `ftps://${FTP_USER}@127.0.0.1:${ftps.port}/${tenant}`, passwordEnv: 'IMV_TEST_FTP_PASSWORD', insecureTls: true },
        })),
      }),
    );
    cfg = parseConfig(raw, { IMV_TEST_FTP_PASSWORD: FTP_PASSWORD });
    db = await openDatabase(cfg, 2);
    worker = await startWorker(cfg, 'ftps-worker');
    client = await temporalClient();
  });

  afterAll(async () => {
    await worker?.stop();
    await client?.connection.close();
    await db?.destroy();
    await dbHandle?.drop();
    await ftps?.stop();
  });

  it('refuses plain FTP logins and imports over TLS', async () => {
    const plain = new FtpClient(5000);
    await expect(plain.access({ host: '127.0.0.1', port: ftps.port, user: FTP_USER, password: FTP_PASSWORD })).rejects.toThrow();
    plain.close();

    const c = new FtpClient(5000);
    await c.access({ host: '127.0.0.1', port: ftps.port, user: FTP_USER, password: FTP_PASSWORD, secure: true, secureOptions: { rejectUnauthorized: false } });
    await c.ensureDir(`/${tenant}`);
    await c.uploadFrom(Readable.from([fs.readFileSync(path.join(fixturesDir, 'transfers', 'change-then-delete-1301.xml'))]), `/${tenant}/tls.xml`);
    c.close();

    const summary: BatchSummary = await client.workflow.execute('importBatch', {
      taskQueue: cfg.temporal.taskQueue,
      workflowId: uniqueId(`import-batch/${tenant}`),
      args: [{ tenant }],
    });
    expect(summary.imported).toBe(1);
    expect(fs.readdirSync(path.join(ftps.root, tenant, 'processed'))).toEqual([expect.stringMatching(/-tls\.xml$/)]);
    expect(await db('estates').where({ tenant_id: tenant, source_id: '1301' }).first()).toBeTruthy();
  });
});
