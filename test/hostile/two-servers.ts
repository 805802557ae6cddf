/**
 * One tenant on vsftpd (a real daemon) and one on the embedded ftp-srv (the dev default), both
 * served from local folders the test writes into directly (FTP clients cannot upload every name a
 * sender's server may hold), one worker and a fresh database for both.
 */
import { afterAll, beforeAll, inject } from 'vitest';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { BatchSummary } from '../../common/messages';
import { parseConfig, type AppConfig } from '../../config/config';
import { openDatabase, type Db } from '../../db/db';
import { startEmbeddedFtp, type EmbeddedFtp } from '../../dev/embedded-ftp';
import { createTestDatabase, startWorker, temporalClient, uniqueId, type RunningWorker } from '../support/harness';
import { FTP_PASSWORD, FTP_USER } from '../support/vsftpd';

export type Server = 'vsftpd' | 'ftp-srv';
export const SERVERS: Server[] = ['vsftpd', 'ftp-srv'];

export interface TwoServers {
  tenants: Record<Server, string>;
  cfg: AppConfig;
  db: Db;
  client: Client;
  /** The tenant's inbox folder on the local disk. */
  inbox(server: Server): string;
  /** Writes files (names as strings or raw bytes) into the tenant's inbox, owned by the FTP user. */
  put(server: Server, files: { name: string | Buffer; bytes: Buffer }[]): void;
  batch(tenant: string): Promise<BatchSummary>;
}

export function useTwoServers(prefix: string): TwoServers {
  const tenants: Record<Server, string> = { vsftpd: uniqueId(`${prefix}-v`), 'ftp-srv': uniqueId(`${prefix}-e`) };
  const roots = {} as Record<Server, string>;
  let embedded: EmbeddedFtp;
  let dbHandle: { url: string; drop(): Promise<void> };
  let worker: RunningWorker;
  const ctx = {
    tenants,
    inbox: (server: Server) => path.join(roots[server], tenants[server]),
    put(server: Server, files: { name: string | Buffer; bytes: Buffer }[]) {
      const dir = ctx.inbox(server);
      fs.mkdirSync(dir, { recursive: true });
      for (const f of files) {
        const p = typeof f.name === 'string' ? path.join(dir, f.name) : Buffer.concat([Buffer.from(`${dir}/`), f.name]);
        fs.writeFileSync(p, f.bytes);
      }
      if (server === 'vsftpd') execFileSync('chown', ['-R', `${FTP_USER}:${FTP_USER}`, dir]);
    },
    batch: (tenant: string): Promise<BatchSummary> =>
      ctx.client.workflow.execute('importBatch', { taskQueue: ctx.cfg.temporal.taskQueue, workflowId: uniqueId(`import-batch/${tenant}`), args: [{ tenant }] }),
  } as TwoServers;

  beforeAll(async () => {
    roots['ftp-srv'] = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-ftpsrv-'));
    embedded = await startEmbeddedFtp({ root: roots['ftp-srv'], port: 0, user: FTP_USER, password: FTP_PASSWORD });
    roots.vsftpd = inject('ftpRoot');
    const ports: Record<Server, number> = { vsftpd: inject('ftpPort'), 'ftp-srv': embedded.port };
    dbHandle = await createTestDatabase();
    ctx.cfg = parseConfig(
      {
        tenants: SERVERS.map((s) => ({
          id: tenants[s],
          ftp: { url: `ftp://${FTP_USER}@127.0.0.1:${ports[s]}/${tenants[s]}`, passwordEnv: 'IMV_TEST_FTP_PASSWORD' },
          users: ['skoch'],
          options: { minFileAgeSeconds: 0, stableCheckMs: 300, feedback: true },
        })),
        temporal: { address: inject('temporalAddress'), taskQueue: uniqueId(`tq-${prefix}`) },
        databaseUrl: dbHandle.url,
        fileStore: { dir: fs.mkdtempSync(path.join(os.tmpdir(), 'imv-store-')) },
        worker: { maxConcurrentActivities: 8, shutdownGraceSeconds: 5 },
      },
      { IMV_TEST_FTP_PASSWORD: FTP_PASSWORD },
    );
    ctx.db = await openDatabase(ctx.cfg, 4);
    worker = await startWorker(ctx.cfg, `${prefix}-worker`);
    ctx.client = await temporalClient();
  });

  afterAll(async () => {
    await worker?.stop();
    await ctx.client?.connection.close();
    await ctx.db?.destroy();
    await dbHandle?.drop();
    await embedded?.stop();
  });
  return ctx;
}
