/**
 * db/db.ts against real PostgreSQL: the client's value handling, creating a missing database,
 * migrating, and the tenants and users made to match the configuration.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { AppConfig } from '../../config/config';
import { DatabaseConnectionError, ensureDatabase, migrate, openDatabase, syncTenants } from '../../db/db';
import { migrations } from '../../db/migrations';
import { adminQuery, PG_ADMIN_URL, useDatabase } from '../support/database';

const pgdb = useDatabase({ migrated: false });

/** A database name no test has used, and its URL; `drop` removes it if it was created. */
function unusedDatabase(): { name: string; url: string; drop(): Promise<void> } {
  const name = `imv_test_db_${process.pid}_${randomBytes(4).toString('hex')}`;
  const u = new URL(PG_ADMIN_URL);
  u.pathname = `/${name}`;
  return { name, url: u.toString(), drop: () => adminQuery(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => undefined) };
}

const config = (tenants: { id: string; name?: string; users: string[] }[], databaseUrl = pgdb.url) => ({ tenants, databaseUrl }) as unknown as AppConfig;

describe('migrate', () => {
  it('brings an empty database to the latest version, and a second run changes nothing', async () => {
    await migrate(pgdb.db);
    await migrate(pgdb.db);
    expect(await pgdb.db('knex_migrations').orderBy('id').pluck('name')).toEqual(migrations.map((m) => m.name));
  });
});

describe('createDb', () => {
  it('returns bigint and numeric values as numbers', async () => {
    const r = await pgdb.db.raw('SELECT 9007199254740991::bigint AS big, 12.5::numeric AS num');
    expect(r.rows[0]).toEqual({ big: 9007199254740991, num: 12.5 });
  });

  it('stores a bound text with a NUL character (as U+2400) instead of failing the statement', async () => {
    await pgdb.db('tenants').insert({ id: 'nul', name: 'a\u0000b' });
    expect(await pgdb.db('tenants').where({ id: 'nul' }).first('name')).toEqual({ name: 'a\u2400b' });
  });
});

describe('ensureDatabase', () => {
  it('creates the database named in the URL when it is missing, and leaves it when it exists', async () => {
    const fresh = unusedDatabase();
    try {
      await ensureDatabase(fresh.url);
      await ensureDatabase(fresh.url);
      expect((await adminQuery('SELECT count(*)::int AS n FROM pg_database WHERE datname = $1', [fresh.name])).rows[0].n).toBe(1);
    } finally {
      await fresh.drop();
    }
  });

  it('fails with a DatabaseConnectionError naming the server when it cannot connect', async () => {
    // Port 1 on the loopback: nothing listens there, the connection is refused at once.
    const err = await ensureDatabase('postgres://someone:secret@127.0.0.1:1/imv').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DatabaseConnectionError);
    expect((err as Error).message).toMatch(/^cannot connect to PostgreSQL at 127\.0\.0\.1:1 /);
    expect((err as Error).message).not.toContain('secret');
  });
});

describe('syncTenants', () => {
  it('adds the configured tenants and users, renames a tenant, and deactivates users no longer configured', async () => {
    await syncTenants(pgdb.db, config([{ id: 'sync', name: 'Old', users: ['anna', 'bert'] }]));
    await syncTenants(pgdb.db, config([{ id: 'sync', name: 'New', users: ['bert', 'carl'] }]));
    expect(await pgdb.db('tenants').where({ id: 'sync' }).first('name')).toEqual({ name: 'New' });
    expect(await pgdb.db('users').where({ tenant_id: 'sync' }).orderBy('user_name').select('user_name', 'active')).toEqual([
      { user_name: 'anna', active: false },
      { user_name: 'bert', active: true },
      { user_name: 'carl', active: true },
    ]);
  });

  it('names a tenant without a name by its id', async () => {
    await syncTenants(pgdb.db, config([{ id: 'noname', users: [] }]));
    expect(await pgdb.db('tenants').where({ id: 'noname' }).first('name')).toEqual({ name: 'noname' });
  });
});

describe('openDatabase', () => {
  it('creates, migrates and fills a missing database in one call', async () => {
    const fresh = unusedDatabase();
    const db = await openDatabase(config([{ id: 'open', users: ['anna'] }], fresh.url), 2);
    try {
      expect(await db('knex_migrations').count<{ n: number }[]>('* as n')).toEqual([{ n: migrations.length }]);
      expect(await db('users').select('tenant_id', 'user_name', 'active')).toEqual([{ tenant_id: 'open', user_name: 'anna', active: true }]);
    } finally {
      await db.destroy();
      await fresh.drop();
    }
  });
});
