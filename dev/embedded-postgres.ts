// The database of the one-command demo when no DATABASE_URL is set and no server listens on
// 127.0.0.1:5432: PGlite (PostgreSQL compiled to WASM, persistent in a folder) served over the wire
// protocol on loopback, so the rest of the code talks to it through knex + pg like to any PostgreSQL.
//
// What to know when using it (checked in test/dev/embedded-postgres.unit.test.ts):
// - One database, one role: whatever user, password and database name a client sends, it is `postgres`
//   in database `postgres`; there is no authentication (loopback only).
// - Statements run one at a time. The socket server multiplexes up to `maxConnections` client
//   connections over its single session, pinning it to a connection while that one is inside a
//   transaction; a further connection is dropped ("Connection terminated unexpectedly" in pg).
//   Use a knex pool of { min: 0, max: 1 } per process (EMBEDDED_POSTGRES_POOL): with more, a transaction
//   on one pooled connection blocks every query on the others, and code that awaits another connection
//   inside a transaction would wait forever.
// - PGlite does not guard its folder against a second process (it writes a placeholder postmaster.pid),
//   and two writers corrupt it: a lock file in the folder does. After a crash (kill -9) it recovers from
//   its WAL on the next start, and the stale lock is taken over.
// - It is PostgreSQL 18 inside; first start (initdb) takes a couple of seconds, later ones well under one.
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import * as net from 'node:net';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';

export interface EmbeddedPostgresOptions {
  /** PGDATA; created on first start, reused after. */
  dataDir: string;
  /** 0 lets the OS choose; the chosen port is in the returned url. */
  port: number;
  /** Loopback only. */
  host?: '127.0.0.1';
  /** Client connections served at once (multiplexed, see above). Default 8, so a CLI can run beside the worker. */
  maxConnections?: number;
}

export interface EmbeddedPostgres {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (no password: there is no authentication). */
  url: string;
  port: number;
  dataDir: string;
  stop(): Promise<void>;
}

/** knex `pool` settings for the embedded server: one connection per process, none kept when idle. */
export const EMBEDDED_POSTGRES_POOL = Object.freeze({ min: 0, max: 1 });

const LOCK_FILE = 'imv-embedded.lock';
const heldLocks = new Set<string>();

export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions): Promise<EmbeddedPostgres> {
  const host = options.host ?? '127.0.0.1';
  if (host !== '127.0.0.1') throw new Error('the embedded PostgreSQL listens on loopback only');
  const dataDir = path.resolve(options.dataDir);
  await fsp.mkdir(dataDir, { recursive: true });
  const releaseLock = await acquireLock(dataDir);

  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  try {
    db = await PGlite.create({ dataDir });
    server = new PGLiteSocketServer({ db, host, port: options.port, maxConnections: options.maxConnections ?? 8 });
    await server.start();
  } catch (err) {
    await db?.close().catch(() => undefined);
    await releaseLock();
    throw err;
  }

  // getServerConn() is `host:port` with the port the OS chose when asked for 0.
  const port = Number(server.getServerConn().split(':').pop());
  const started = { db, server };
  let stopped: Promise<void> | undefined;
  return {
    url: `postgres://postgres@${host}:${port}/postgres`,
    port,
    dataDir,
    stop() {
      stopped ??= (async () => {
        try {
          await started.server.stop();
        } finally {
          try {
            await started.db.close();
          } finally {
            await releaseLock();
          }
        }
      })();
      return stopped;
    },
  };
}

/**
 * True when a PostgreSQL server at `url` accepts a connection and answers `SELECT 1` within
 * `timeoutMs`. False for anything else (nothing listening, refused credentials, a non-PostgreSQL
 * listener, a timeout). Never throws and never logs the URL.
 */
export async function isPostgresReachable(url: string, timeoutMs = 2000): Promise<boolean> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs,
    statement_timeout: timeoutMs,
  });
  client.on('error', () => undefined); // a late socket error after we gave up
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs + 250);
  });
  const attempt = (async () => {
    try {
      await client.connect();
      await client.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  })();
  try {
    return await Promise.race([attempt, deadline]);
  } finally {
    clearTimeout(timer);
    void client.end().catch(() => undefined);
  }
}

/** True when something accepts TCP connections on host:port within `timeoutMs`. */
export function isPortListening(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (result: boolean): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** An exclusive lock on the data folder, across processes; a lock left by a dead process is taken over. */
async function acquireLock(dataDir: string): Promise<() => Promise<void>> {
  const lockPath = path.join(dataDir, LOCK_FILE);
  if (heldLocks.has(lockPath)) throw new Error(`embedded PostgreSQL in ${dataDir} is already running in this process`);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await fsp.writeFile(lockPath, `${process.pid}\n`, { flag: 'wx' });
      heldLocks.add(lockPath);
      let released = false;
      return async () => {
        if (released) return;
        released = true;
        heldLocks.delete(lockPath);
        await fsp.rm(lockPath, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number.parseInt(await fsp.readFile(lockPath, 'utf8').catch(() => ''), 10);
      // Our own pid without a lock held here is a leftover (a restarted container often gets the same pid).
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && isProcessAlive(holder)) {
        throw new Error(
          `embedded PostgreSQL data directory ${dataDir} is in use by process ${holder} ` + `(remove ${lockPath} if that process is not an imv-import)`,
        );
      }
      await fsp.rm(lockPath, { force: true });
    }
  }
  throw new Error(`could not lock ${lockPath}`);
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
