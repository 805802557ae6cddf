/**
 * A fresh database for the test file: created (and migrated, unless told not to) before its tests,
 * dropped after them. Call it once at the top of a file or a describe block; the handle's `db` and
 * `url` are there from the first test on.
 *
 *   const pg = useDatabase();
 *   it('…', async () => { await pg.db('tenants').insert({ id: 't' }); });
 */
import { afterAll, beforeAll } from 'vitest';
import { createDb, migrate, type Db } from '../../db/db';
import { createTestDatabase } from './harness';

export interface TestDatabase {
  readonly db: Db;
  readonly url: string;
}

export function useDatabase(opts: { migrated?: boolean; poolMax?: number } = {}): TestDatabase {
  let handle: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  let db: Db | undefined;
  beforeAll(async () => {
    handle = await createTestDatabase();
    db = createDb(handle.url, opts.poolMax ?? 4);
    if (opts.migrated ?? true) await migrate(db);
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

/** A tenant row (and its users), the parent most rows need. */
export async function insertTenant(db: Db, id: string, users: string[] = []): Promise<void> {
  await db('tenants').insert({ id, name: id });
  if (users.length) await db('users').insert(users.map((u) => ({ tenant_id: id, user_name: u })));
}

let made = 0;

/** A ledger row (import_files) of the tenant, status importing unless `values` say otherwise; its id. */
export async function insertImport(db: Db, tenant: string, values: Record<string, unknown> = {}): Promise<number> {
  const n = ++made;
  const [row] = await db('import_files')
    .insert({
      tenant_id: tenant,
      remote_path: `/inbox/f${n}.xml`,
      file_name: `f${n}.xml`,
      size: 100,
      mtime: new Date('2026-01-01T00:00:00Z'),
      workflow_id: `wf-${tenant}-${n}-${process.pid}`,
      ...values,
    })
    .returning('id');
  return Number(row.id);
}

/** An IMV estate of the tenant with this source id; its id. */
export async function insertEstate(db: Db, tenant: string, sourceId: string, values: Record<string, unknown> = {}): Promise<number> {
  const [row] = await db('estates')
    .insert({
      tenant_id: tenant,
      source: 'IMV',
      source_id: sourceId,
      external_number: `IMVO-ID-${sourceId}`,
      user_name: 'mmustermann',
      warning_note: 'IMV Import',
      data: '{}',
      content_hash: `hash-${sourceId}`,
      ...values,
    })
    .returning('id');
  return Number(row.id);
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
