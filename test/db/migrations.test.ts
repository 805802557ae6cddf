/**
 * The migrations, one file a version (db/migrations/). Migrated up to 005, a fresh database gets exactly
 * the schema and the knex_migrations rows that the single-file migrations made (test/fixtures/db/
 * schema-005.json, taken with them before the split); a database they left at 002 (test/fixtures/db/
 * at-002.sql, a pg_dump) migrates to the same state as a fresh database, its rows kept. A renamed
 * migration, a changed column, index or constraint fails here. A new migration (006 …) needs no change
 * to the fixtures: the fixture is compared up to 005, the old database with a fresh one.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Knex } from 'knex';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { migrate } from '../../db/db';
import { migrations, migrationSource, type Migration } from '../../db/migrations';
import { useDatabase } from '../support/database';
import { migrationRows, schemaSnapshot, type SchemaSnapshot } from '../support/schema';

const fixtures = path.resolve(__dirname, '../fixtures/db');
const at005 = JSON.parse(fs.readFileSync(path.join(fixtures, 'schema-005.json'), 'utf8')) as {
  schema: SchemaSnapshot;
  migrations: { name: string; batch: number }[];
};

/** The migrations of the fixture, taken by name from today's list (a renamed one is missing). */
const upTo005: Knex.MigrationSource<Migration> = {
  ...migrationSource,
  getMigrations: async () => migrations.filter((m) => at005.migrations.some((f) => f.name === m.name)),
};

it('lists every file of db/migrations/ once, in order, named as its file', () => {
  const files = fs
    .readdirSync(path.resolve(__dirname, '../../db/migrations'))
    .filter((f) => /^\d{3}_\w+\.ts$/.test(f))
    .map((f) => f.replace(/\.ts$/, ''))
    .sort();
  expect(migrations.map((m) => m.name)).toEqual(files);
});

describe('a fresh database', () => {
  const pgdb = useDatabase({ migrated: false });

  it('migrated up to 005 has the schema and the migration rows of the single-file migrations', async () => {
    await pgdb.db.migrate.latest({ migrationSource: upTo005 });
    expect(await schemaSnapshot(pgdb.db)).toEqual(at005.schema);
    expect(await migrationRows(pgdb.db)).toEqual(at005.migrations);
  });

  it('rolls back to knex’s own tables, and migrates to the same schema again', async () => {
    await pgdb.db.migrate.rollback({ migrationSource: upTo005 }, true);
    const empty = await schemaSnapshot(pgdb.db);
    expect(Object.keys(empty.tables).sort()).toEqual(['knex_migrations', 'knex_migrations_lock']);
    expect(Object.keys(empty.sequences).sort()).toEqual(['knex_migrations_id_seq', 'knex_migrations_lock_index_seq']);
    await pgdb.db.migrate.latest({ migrationSource: upTo005 });
    expect(await schemaSnapshot(pgdb.db)).toEqual(at005.schema);
  });
});

describe('a database the single-file migrations left at 002', () => {
  const old = useDatabase({ migrated: false });
  const fresh = useDatabase();

  it('migrates to the same schema and migration rows as a fresh one, its rows kept', async () => {
    const restore = new pg.Client({ connectionString: old.url });
    await restore.connect();
    try {
      await restore.query(fs.readFileSync(path.join(fixtures, 'at-002.sql'), 'utf8'));
    } finally {
      await restore.end();
    }
    const restored = [
      { name: '001_initial', batch: 1 },
      { name: '002_provider_and_notes', batch: 1 },
    ];
    expect(await migrationRows(old.db)).toEqual(restored);

    await migrate(old.db);
    expect(await schemaSnapshot(old.db)).toEqual(await schemaSnapshot(fresh.db));
    // The same names in the same order; the versions after 002 ran as the second batch.
    const freshRows = await migrationRows(fresh.db);
    expect(await migrationRows(old.db)).toEqual([...restored, ...freshRows.slice(2).map((m) => ({ ...m, batch: 2 }))]);
    expect(await old.db('addresses').orderBy('id').select('id', 'tenant_id', 'norm_phones')).toEqual([
      { id: 1, tenant_id: 't1', norm_phones: ['+492215550100'] },
      { id: 2, tenant_id: 't1', norm_phones: [] },
    ]);
    expect(await old.db('tenants').whereNotNull('inbox_watched_since').pluck('id')).toEqual(['t1']);
    // The sequences went on from the restored rows: a new address does not collide.
    const [{ id }] = await old.db('addresses').insert({ tenant_id: 't1', contact_origin: 'IMV', status: 'Aktiv' }).returning('id');
    expect(id).toBe(3);
  });
});
