/**
 * The machine's PostgreSQL for tests, without Temporal or FTP: a fresh database for the test file,
 * created (and migrated, unless told not to) before its tests, dropped after them. Call useDatabase
 * once at the top of a file or a describe block; the handle's `db` and `url` are there from the first
 * test on.
 *
 *   const pg = useDatabase();
 *   it('…', async () => { await pg.db('tenants').insert({ id: 't' }); });
 */
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { createDb, migrate, type Db } from '../../db/db';

export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface CreatedDatabase {
  url: string;
  drop(): Promise<void>;
}

/** A new, empty database on the machine's PostgreSQL (TEST_PG_URL), or on the server `adminUrl` names (a private
 * one, reached as a role that may create databases); and how to drop it. */
export async function createTestDatabase(prefix = 'imv_test', adminUrl = PG_ADMIN_URL): Promise<CreatedDatabase> {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE ${name}`, [], adminUrl);
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      await adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`, [], adminUrl);
    },
  };
}

/** One statement on a connection of its own to the server's admin database (CREATE/DROP DATABASE, catalog reads). */
export async function adminQuery(sql: string, params: unknown[] = [], adminUrl = PG_ADMIN_URL): Promise<pg.QueryResult> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  try {
    return await c.query(sql, params);
  } finally {
    await c.end();
  }
}

export interface TestDatabase {
  /** The file's pool (`poolMax` connections). */
  readonly db: Db;
  readonly url: string;
  /** Another pool on the database, destroyed before the database is dropped. */
  pool(max: number): Db;
}

/**
 * `migrated: false` leaves the database empty; `tenants` are inserted (by id, named as their id) after migrating;
 * `prefix` starts the database's name.
 */
export function useDatabase(opts: { migrated?: boolean; poolMax?: number; tenants?: string[]; prefix?: string } = {}): TestDatabase {
  let handle: CreatedDatabase | undefined;
  const pools: Db[] = [];
  const exists = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('useDatabase: the database exists from the first test on (beforeAll)');
    return v;
  };
  const ctx: TestDatabase = {
    get db() {
      return exists(pools[0]);
    },
    get url() {
      return exists(handle).url;
    },
    pool(max) {
      const db = createDb(exists(handle).url, max);
      pools.push(db);
      return db;
    },
  };
  beforeAll(async () => {
    handle = await createTestDatabase(opts.prefix);
    const db = ctx.pool(opts.poolMax ?? 4);
    if (opts.migrated ?? true) await migrate(db);
    for (const id of opts.tenants ?? []) await insertTenant(db, id);
  });
  afterAll(async () => {
    for (const db of pools.splice(0)) await db.destroy();
    await handle?.drop();
  });
  return ctx;
}

/** A fresh migrated database for the file, with these tenants: `ctx.db`, `ctx.url`. */
export function useMigratedDatabase(tenants: string[] = []): TestDatabase {
  return useDatabase({ tenants });
}

/** A tenant row (and its users), the parent most rows need. */
export async function insertTenant(db: Db, id: string, users: string[] = []): Promise<void> {
  await db('tenants').insert({ id, name: id });
  if (users.length) await db('users').insert(users.map((u) => ({ tenant_id: id, user_name: u })));
}

export const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000);

let imports = 0;

/** An import_files row (status `imported` unless `values` say otherwise), every NOT NULL column filled; its id. */
export async function anImport(db: Db, tenant: string, values: Record<string, unknown> = {}): Promise<number> {
  const n = ++imports;
  const [row] = (await db('import_files')
    .insert({
      tenant_id: tenant,
      remote_path: `/${tenant}/f${n}.xml`,
      file_name: `f${n}.xml`,
      size: 10,
      mtime: hoursAgo(1),
      status: 'imported',
      workflow_id: `import-file/${tenant}/f${n}-${process.pid}`,
      ...values,
    })
    .returning('id')) as { id: number }[];
  return row!.id;
}

/** A ledger row of a file still importing (unless `values` say otherwise); its id. */
export function insertImport(db: Db, tenant: string, values: Record<string, unknown> = {}): Promise<number> {
  return anImport(db, tenant, { status: 'importing', ...values });
}

let estates = 0;

/** An IMV estate row (status `inaktiv` unless `values` say otherwise), every NOT NULL column filled; its id. */
export async function anEstate(db: Db, tenant: string, values: Record<string, unknown> = {}): Promise<number> {
  const n = ++estates;
  const [row] = (await db('estates')
    .insert({
      tenant_id: tenant,
      source: 'IMV',
      source_id: `s${n}`,
      external_number: `IMVO-ID-s${n}`,
      user_name: 'skoch',
      warning_note: 'IMV Import',
      data: '{}',
      content_hash: `h${n}`,
      ...values,
    })
    .returning('id')) as { id: number }[];
  return row!.id;
}

/** An IMV estate of the tenant with this source id (its number IMVO-ID-…, its hash hash-…); its id. */
export function insertEstate(db: Db, tenant: string, sourceId: string, values: Record<string, unknown> = {}): Promise<number> {
  return anEstate(db, tenant, { source_id: sourceId, external_number: `IMVO-ID-${sourceId}`, content_hash: `hash-${sourceId}`, ...values });
}

/** An address of the tenant (origin IMV, Aktiv); its id. */
export async function insertAddress(db: Db, tenant: string, values: Record<string, unknown> = {}): Promise<number> {
  const [row] = await db('addresses')
    .insert({ tenant_id: tenant, contact_origin: 'IMV', status: 'Aktiv', ...values })
    .returning('id');
  return Number(row.id);
}

/** A staged object of the import at this position (payload: a minimal object with this source id). */
export async function insertStaged(db: Db, importId: number, position: number, values: Record<string, unknown> = {}): Promise<void> {
  const sourceId = (values.source_id as string | null | undefined) ?? `obj-${position}`;
  await db('staged_objects').insert({ import_id: importId, position, source_id: sourceId, payload: JSON.stringify({ sourceId }), ...values });
}

/** A small pool that does not log the connection errors a database outage causes (polling in tests). */
export function quietDb(url: string): Db {
  const silent = { warn() {}, error() {}, debug() {}, deprecate() {} };
  return knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 2 }, acquireConnectionTimeout: 5_000, log: silent });
}
