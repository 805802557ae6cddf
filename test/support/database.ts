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
