/** A fresh database on the machine's PostgreSQL (or another server's) for a test file, dropped after it. */
import { afterAll, beforeAll } from 'vitest';
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import pg from 'pg';
import type { Db } from '../../db/db';

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

/**
 * A fresh, empty database for the test file as vitest hooks (created before its tests, dropped after
 * them): for tests that need a database and nothing else of the pipeline (`usePipeline` has one too).
 * Its `url` is there once the tests run.
 */
export function useTestDatabase(prefix?: string): { url: string } {
  const ctx = { url: '' };
  let handle: TestDatabase | undefined;
  beforeAll(async () => {
    handle = await createTestDatabase(prefix);
    ctx.url = handle.url;
  });
  afterAll(async () => {
    await handle?.drop();
  });
  return ctx;
}

/** A small pool that does not log the connection errors a database outage causes (polling in tests). */
export function quietDb(url: string): Db {
  const silent = { warn() {}, error() {}, debug() {}, deprecate() {} };
  return knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 2 }, acquireConnectionTimeout: 5_000, log: silent });
}
