/**
 * One tenant on vsftpd (a real daemon) and one on the embedded ftp-srv (the dev default), both
 * served from local folders the test writes into directly (FTP clients cannot upload every name a
 * sender's server may hold), one worker and a fresh database for both.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { BatchSummary } from '../../common/messages';
import type { AppConfig } from '../../config/config';
import type { Db } from '../../db/db';
import { uniqueId, usePipeline } from '../support/harness';
import { FTP_USER } from '../support/vsftpd';

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
  const p = usePipeline({
    tenants: [
      { id: tenants.vsftpd, users: ['skoch'] },
      { id: tenants['ftp-srv'], users: ['skoch'], ftp: 'embedded' },
    ],
    identities: [`${prefix}-worker`],
  });
  const inbox = (server: Server) => path.join(p.ftp(tenants[server]).root, tenants[server]);
  return {
    tenants,
    get cfg() {
      return p.cfg;
    },
    get db() {
      return p.db;
    },
    get client() {
      return p.client;
    },
    inbox,
    put(server, files) {
      const dir = inbox(server);
      fs.mkdirSync(dir, { recursive: true });
      for (const f of files) {
        const file = typeof f.name === 'string' ? path.join(dir, f.name) : Buffer.concat([Buffer.from(`${dir}/`), f.name]);
        fs.writeFileSync(file, f.bytes);
      }
      if (server === 'vsftpd') execFileSync('chown', ['-R', `${FTP_USER}:${FTP_USER}`, dir]);
    },
    batch: (tenant) => p.batch(tenant),
  };
}
