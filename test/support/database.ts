/** A fresh database on the machine's PostgreSQL (or another server's) for a test file, dropped after it. */
import { afterAll, beforeAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import pg from 'pg';
import { createDb, migrate, type Db } from '../../db/db';

export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

/** `adminUrl`: a server other than the machine's (a private one), reached as a role that may create databases. */
export async function createTestDatabase(prefix = 'imv_test', adminUrl = PG_ADMIN_URL): Promise<TestDatabase> {
  const name = `${prefix}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: adminUrl });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

export interface UsedDatabase {
  /** There once the tests (and the file's own beforeAll hooks) run. */
  url: string;
  /** A connection pool on the database, destroyed before the database is dropped. */
  pool(max: number): Db;
}

/**
 * A fresh database for the test file as vitest hooks (created before its tests, dropped after them),
 * empty or with the schema (`migrate`): for tests that need a database and nothing else of the
 * pipeline (`usePipeline` has one too).
 */
export function useTestDatabase(opts: string | { prefix?: string; migrate?: boolean } = {}): UsedDatabase {
  const { prefix, migrate: migrated } = typeof opts === 'string' ? { prefix: opts, migrate: false } : opts;
  let handle: TestDatabase | undefined;
  const pools: Db[] = [];
  const ctx: UsedDatabase = {
    url: '',
    pool(max) {
      const db = createDb(ctx.url, max);
      pools.push(db);
      return db;
    },
  };
  beforeAll(async () => {
    handle = await createTestDatabase(prefix);
    ctx.url = handle.url;
    if (migrated) await migrate(ctx.pool(1));
  });
  afterAll(async () => {
    for (const db of pools.splice(0)) await db.destroy();
    await handle?.drop();
  });
  return ctx;
}

/** A small pool that does not log the connection errors a database outage causes (polling in tests). */
export function quietDb(url: string): Db {
  const silent = { warn() {}, error() {}, debug() {}, deprecate() {} };
  return knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 2 }, acquireConnectionTimeout: 5_000, log: silent });
}
