import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { migrationSource } from './migrations';
import type { AppConfig } from '../config/config';
import { pgSafe } from '../common/pg-safe';
import { shortErrorMessage } from '../common/error-messages';

// bigint (int8) and numeric come back as strings by default; ids and counts fit in a JS number.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

/**
 * The database handle (a knex instance) and a transaction on it. Code outside db/ names these types
 * and calls the functions of db/ with them: it never builds a statement itself (eslint.config.mjs).
 */
export type Db = Knex;
export type Transaction = Knex.Transaction;

type KnexClientClass = new (config: Knex.Config) => { prepBindings(bindings: unknown[] | undefined): unknown[] | undefined };
// eslint-disable-next-line @typescript-eslint/no-require-imports -- knex ships no typings for its dialect classes
const PgClient = require('knex/lib/dialects/postgres') as KnexClientClass;

/**
 * knex's PostgreSQL client with every bound value made storable (common/pg-safe.ts): text from a
 * sender's file (a NUL in a ZIP entry name, in a message quoting it) can never fail a statement.
 * A subclass, because transactions build their client from the class, not from the instance.
 */
class SafeTextPgClient extends PgClient {
  override prepBindings(bindings: unknown[] | undefined): unknown[] | undefined {
    const b = super.prepBindings(bindings);
    return Array.isArray(b) ? b.map((v) => pgSafe(v)) : b;
  }
}

/**
 * How long opening one connection may take. pg waits forever by default: a server (or a proxy) that
 * accepts the connection and never answers would hang a CLI command, or a worker's start, for good.
 */
export const CONNECT_TIMEOUT_MS = 20_000;

/**
 * The URL goes to pg as `connectionString`, for knex's pool as for the single connections here: pg's
 * own parser reads `sslmode`, `sslrootcert`, `sslcert`, `sslkey` and `uselibpqcompat` (knex would
 * parse a URL string with an older copy that knows no `uselibpqcompat`).
 */
export function createDb(url: string, poolMax = 10): Db {
  return knexFactory({
    client: SafeTextPgClient as unknown as typeof knexFactory.Client,
    connection: { connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
    pool: { min: 0, max: poolMax },
    // A worker must not hang forever on a database that is restarting: fail and let Temporal retry.
    acquireConnectionTimeout: 20_000,
  });
}

/** Where a database URL points, for messages: host and port, never the user or the password. */
export function databaseAddress(url: string): string {
  try {
    const u = new URL(url);
    const host = u.searchParams.get('host') ?? (decodeURIComponent(u.hostname.replace(/^\[(.+)\]$/, '$1')) || 'localhost');
    return `${host}:${u.searchParams.get('port') ?? (u.port || '5432')}`;
  } catch {
    return 'an unparsable databaseUrl';
  }
}

/** The URL with its password (if any) replaced by `***`, for banners and logs. */
export function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url.replace(/\/\/([^:/@]*):[^@]*@/, '//$1:***@');
  }
}

/** Node's TLS codes for a server certificate that does not chain up to the CAs the client trusts. */
const UNTRUSTED_CERT = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'CERT_SIGNATURE_FAILURE',
]);

/** The database cannot be reached, or refuses the connection (TLS, pg_hba.conf, password): a message for the operator. */
export class DatabaseConnectionError extends Error {
  override readonly name = 'DatabaseConnectionError';
  readonly exitCode = 1;
  constructor(
    url: string,
    override readonly cause: unknown,
  ) {
    const code = (cause as { code?: unknown })?.code;
    const hint = typeof code === 'string' && UNTRUSTED_CERT.has(code) ? " (the server's certificate is not signed by a CA in sslrootcert)" : '';
    super(`cannot connect to PostgreSQL at ${databaseAddress(url)} (databaseUrl in IMV_CONFIG, or DATABASE_URL): ${shortErrorMessage(cause)}${hint}`);
  }
}

/** A connected client, or a DatabaseConnectionError naming the server (reading sslrootcert/sslcert/sslkey may fail too). */
async function connect(url: string): Promise<pg.Client> {
  try {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    await client.connect();
    return client;
  } catch (e) {
    // A failed connect leaves no socket open; pg's end() would wait for a close that has already happened.
    throw new DatabaseConnectionError(url, e);
  }
}

/**
 * Creates the database named in the URL when it does not exist yet (first start, fresh test runs).
 * The database itself is tried first, so a role that may not open the `postgres` database works
 * once its database exists; every query parameter (sslmode, sslrootcert …) is kept for both.
 */
export async function ensureDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!name) return;
  try {
    await (await connect(url)).end();
    return;
  } catch (e) {
    // 3D000: the database does not exist (yet).
    if (!(e instanceof DatabaseConnectionError) || (e.cause as { code?: unknown })?.code !== '3D000') throw e;
  }
  u.pathname = '/postgres';
  const client = await connect(u.toString());
  try {
    const r = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (r.rowCount === 0) {
      try {
        await client.query(`CREATE DATABASE "${name.replace(/"/g, '""')}"`);
      } catch (e) {
        // Two processes starting at once: the other one created it.
        if ((e as { code?: string }).code !== '42P04') throw e;
      }
    }
  } finally {
    await client.end();
  }
}

/** Runs `fn` in one transaction: committed when it resolves, rolled back when it throws. */
export function inTransaction<T>(db: Db, fn: (trx: Transaction) => Promise<T>): Promise<T> {
  return db.transaction(fn);
}

/** Closes the handle's pool: its connections end once their statements have. */
export async function closeDb(db: Db): Promise<void> {
  await db.destroy();
}

export async function migrate(db: Db): Promise<void> {
  await db.migrate.latest({ migrationSource });
}

/** Makes the tenants and users tables match the configuration (users are added, never deleted). */
export async function syncTenants(db: Db, cfg: AppConfig): Promise<void> {
  for (const t of cfg.tenants) {
    await db('tenants')
      .insert({ id: t.id, name: t.name ?? t.id })
      .onConflict('id')
      .merge(['name', 'updated_at']);
    const users = t.users.map((u) => ({ tenant_id: t.id, user_name: u, active: true }));
    if (users.length) await db('users').insert(users).onConflict(['tenant_id', 'user_name']).merge(['active']);
    await db('users').where({ tenant_id: t.id }).whereNotIn('user_name', t.users).update({ active: false });
  }
}

export async function openDatabase(cfg: AppConfig, poolMax?: number): Promise<Db> {
  await ensureDatabase(cfg.databaseUrl);
  const db = createDb(cfg.databaseUrl, cfg.databasePoolMax ? Math.min(cfg.databasePoolMax, poolMax ?? 10) : poolMax);
  await migrate(db);
  await syncTenants(db, cfg);
  return db;
}
