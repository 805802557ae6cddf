/** db/bench.ts against real PostgreSQL: the benchmarks' throwaway databases, the bare baseline's shortcuts and figures. */
import { describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { closeDb, createDb } from '../../db/db';
import {
  createScratchDatabase,
  databaseUrlFor,
  dropScratchDatabase,
  finishBareImport,
  importedTimeSpan,
  setImportContent,
  tenantEstateCount,
} from '../../db/bench';
import { PG_ADMIN_URL } from '../support/harness';
import { adminQuery, anEstate, anImport, hoursAgo, useMigratedDatabase } from '../support/database';

async function databaseExists(name: string): Promise<boolean> {
  return (await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
}

describe('db/bench', () => {
  const ctx = useMigratedDatabase(['bench', 'other']);

  it('databaseUrlFor names another database on the same server, keeping the query', () => {
    expect(databaseUrlFor('postgres://u:p@db.example:5433/postgres?sslmode=require', 'imv_bench_1')).toBe(
      'postgres://u:p@db.example:5433/imv_bench_1?sslmode=require',
    );
  });

  it('createScratchDatabase creates the database and returns a URL that connects to it', async () => {
    const name = `imv_test_scratch_${randomBytes(4).toString('hex')}`;
    const url = await createScratchDatabase(PG_ADMIN_URL, name);
    try {
      expect(await databaseExists(name)).toBe(true);
      const db = createDb(url, 1);
      expect((await db.raw('SELECT current_database() AS name')).rows[0].name).toBe(name);
      await closeDb(db);
    } finally {
      await dropScratchDatabase(PG_ADMIN_URL, name);
    }
  });

  it('dropScratchDatabase drops the database even with a connection open, and does nothing when it is gone', async () => {
    const name = `imv_test_scratch_${randomBytes(4).toString('hex')}`;
    const db = createDb(await createScratchDatabase(PG_ADMIN_URL, name), 1);
    await db.raw('SELECT 1');
    await dropScratchDatabase(PG_ADMIN_URL, name);
    expect(await databaseExists(name)).toBe(false);
    await closeDb(db);
    await expect(dropScratchDatabase(PG_ADMIN_URL, name)).resolves.toBeUndefined();
  });

  it('setImportContent records the hash and size', async () => {
    const id = await anImport(ctx.db, 'bench', { status: 'importing', size: 1 });
    await setImportContent(ctx.db, id, 'a'.repeat(64), 1234);
    expect(await ctx.db('import_files').where({ id }).first('sha256', 'size', 'status')).toEqual({ sha256: 'a'.repeat(64), size: 1234, status: 'importing' });
  });

  it('finishBareImport marks the import imported now and removes its staged objects only', async () => {
    const id = await anImport(ctx.db, 'bench', { status: 'importing' });
    const other = await anImport(ctx.db, 'bench', { status: 'importing' });
    await ctx.db('staged_objects').insert([
      { import_id: id, position: 0, payload: '{}' },
      { import_id: other, position: 0, payload: '{}' },
    ]);
    await finishBareImport(ctx.db, id);
    const row = await ctx.db('import_files').where({ id }).first('status', 'finished_at');
    expect(row.status).toBe('imported');
    expect(row.finished_at.getTime()).toBeGreaterThan(hoursAgo(1).getTime());
    expect((await ctx.db('staged_objects').select('import_id')).map((r) => r.import_id)).toEqual([other]);
  });

  it('tenantEstateCount counts the tenant’s estates', async () => {
    await anEstate(ctx.db, 'bench');
    await anEstate(ctx.db, 'bench', { archived: true });
    await anEstate(ctx.db, 'other');
    expect(await tenantEstateCount(ctx.db, 'bench')).toBe(2);
  });

  it('importedTimeSpan gives when the first and the last imported or partial file finished', async () => {
    await ctx.db('import_files').update({ finished_at: null });
    expect(await importedTimeSpan(ctx.db)).toEqual({ first: null, last: null });
    const [t1, t2, t3] = [hoursAgo(3), hoursAgo(2), hoursAgo(1)];
    await anImport(ctx.db, 'bench', { status: 'imported', finished_at: t1 });
    await anImport(ctx.db, 'bench', { status: 'partial', finished_at: t2 });
    await anImport(ctx.db, 'bench', { status: 'failed', finished_at: t3 });
    expect(await importedTimeSpan(ctx.db)).toEqual({ first: t1, last: t2 });
  });
});
