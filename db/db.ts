import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { migrationSource } from './migrations';
import type { AppConfig } from '../config/config';
import { pgSafe } from '../common/pg-safe';

// bigint (int8) and numeric come back as strings by default; ids and counts fit in a JS number.
pg.types.setTypeParser(20, (v) => Number(v));
pg.types.setTypeParser(1700, (v) => Number(v));

export type Db = Knex;

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

export function createDb(url: string, poolMax = 10): Db {
  return knexFactory({
    client: SafeTextPgClient as unknown as typeof knexFactory.Client,
    connection: { connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS },
    pool: { min: 0, max: poolMax },
    // A worker must not hang forever on a database that is restarting: fail and let Temporal retry.
    acquireConnectionTimeout: 20_000,
  });
}

/** Creates the database named in the URL when it does not exist yet (first start, fresh test runs). */
export async function ensureDatabase(url: string): Promise<void> {
  const u = new URL(url);
  const name = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!name) return;
  u.pathname = '/postgres';
  const client = new pg.Client({ connectionString: u.toString(), connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  await client.connect();
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
