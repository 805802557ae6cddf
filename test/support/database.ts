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
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { createDb, migrate, type Db } from '../../db/db';

export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A new, empty database on the machine's PostgreSQL (TEST_PG_URL), and how to drop it. */
export async function createTestDatabase(prefix = 'imv_test'): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface TestDatabase {
  readonly db: Db;
  readonly url: string;
}

/** `migrated: false` leaves the database empty; `tenants` are inserted (by id, named as their id) after migrating. */
export function useDatabase(opts: { migrated?: boolean; poolMax?: number; tenants?: string[] } = {}): TestDatabase {
  let handle: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let db: Db | undefined;
  beforeAll(async () => {
    handle = await createTestDatabase();
    db = createDb(handle.url, opts.poolMax ?? 4);
    if (opts.migrated ?? true) await migrate(db);
    for (const id of opts.tenants ?? []) await insertTenant(db, id);
  });
  afterAll(async () => {
    await db?.destroy();
    await handle?.drop();
  });
  return {
    get db() {
      if (!db) throw new Error('useDatabase: the database exists from the first test on (beforeAll)');
      return db;
    },
    get url() {
      if (!handle) throw new Error('useDatabase: the database exists from the first test on (beforeAll)');
      return handle.url;
    },
  };
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
