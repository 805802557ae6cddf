/** A test's configuration: unique names, and tenants whose inboxes are fresh folders on a test FTP server. */
import { inject } from 'vitest';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig, type AppConfig } from '../../config/config';
import { FTP_USER, type VsftpdOptions } from './vsftpd';
import { testEnv } from './workers';

/** Fault tests' timings (`faults: true`): a dead worker's activity is retried after this many seconds. */
export const FAULT_HEARTBEAT_SECONDS = 4;

export function uniqueId(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

/**
 * An FTP server for tenants: the run's shared vsftpd, the embedded ftp-srv of `imv-import dev`, or a
 * vsftpd of the file's own (FTPS with `tls`, a connection limit with `maxPerIp`, one a test stops).
 */
export type FtpChoice = 'shared' | 'embedded' | { vsftpd: VsftpdOptions };

export interface TestTenant {
  id: string;
  users?: string[];
  defaultUser?: string | null;
  options?: Record<string, unknown>;
  /** This tenant's FTP server, when not the pipeline's. */
  ftp?: FtpChoice;
  /** The tenant's ftp.maxConnections. */
  maxConnections?: number;
}

/** Where a tenant's inbox is served: the port its config names, and whether it is FTPS. */
export interface FtpEndpoint {
  port: number;
  tls?: boolean;
}

/** A config for tenants whose inboxes are fresh folders on the shared vsftpd (or the server `ftp` names). */
export function testConfig(opts: {
  databaseUrl: string;
  tenants: TestTenant[];
  taskQueue?: string;
  worker?: Record<string, unknown>;
  /** The file store's kind (default fs); its folder (the store, or the postgres store's scratch) is a fresh one. */
  fileStore?: 'fs' | 'postgres';
  /** Each tenant's FTP server (default the shared vsftpd). */
  ftp?: (t: TestTenant) => FtpEndpoint;
}): AppConfig {
  const endpoint = opts.ftp ?? ((): FtpEndpoint => ({ port: inject('ftpPort') }));
  const raw = {
    tenants: opts.tenants.map((t) => {
      const { port, tls } = endpoint(t);
      return {
        id: t.id,
        ftp: {
          url: `${tls ? 'ftps' : 'ftp'}://${FTP_USER}@127.0.0.1:${port}/${t.id}`,
          passwordEnv: 'IMV_TEST_FTP_PASSWORD',
          ...(tls ? { insecureTls: true } : {}),
          ...(t.maxConnections ? { maxConnections: t.maxConnections } : {}),
        },
        users: t.users ?? ['mmustermann', 'skoch'],
        defaultUser: t.defaultUser ?? null,
        options: { minFileAgeSeconds: 0, stableCheckMs: 300, feedback: true, ...(t.options ?? {}) },
      };
    }),
    temporal: { address: inject('temporalAddress'), taskQueue: opts.taskQueue ?? uniqueId('tq') },
    databaseUrl: opts.databaseUrl,
    fileStore: { kind: opts.fileStore ?? storeKindOfEnv(), dir: fs.mkdtempSync(path.join(os.tmpdir(), 'imv-store-')) },
    worker: { maxConcurrentActivities: 8, shutdownGraceSeconds: 5, ...(opts.worker ?? {}) },
  };
  return parseConfig(raw, testEnv);
}

/** TEST_FILE_STORE=postgres runs the pipeline tests on the PostgreSQL file store. */
function storeKindOfEnv(): 'fs' | 'postgres' {
  const kind = process.env.TEST_FILE_STORE ?? 'fs';
  if (kind !== 'fs' && kind !== 'postgres') throw new Error(`TEST_FILE_STORE must be fs or postgres, not ${kind}`);
  return kind;
}
