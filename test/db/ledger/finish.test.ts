/** db/ledger/finish.ts against real PostgreSQL: staging counted, and a row finished, abandoned or marked as an error. */
import { describe, expect, it } from 'vitest';
import { abandonImportRow, finishImportRow, markImportErrorRow, stagedCount } from '../../../db/ledger/finish';
import { insertImport, insertStaged, insertTenant, useDatabase } from '../../support/database';

const pg = useDatabase();
const state = (id: number) =>
  pg.db('import_files').where({ id }).first('status', 'error_type', 'error_message', 'notes', pg.db.raw('finished_at IS NOT NULL AS finished'));

describe('stagedCount', () => {
  it('counts the import’s staged objects', async () => {
    await insertTenant(pg.db, 't');
    const [a, b] = [await insertImport(pg.db, 't'), await insertImport(pg.db, 't')];
    await insertStaged(pg.db, a, 0);
    await insertStaged(pg.db, a, 1);
    await insertStaged(pg.db, b, 0);
    expect(await stagedCount(pg.db, a)).toBe(2);
  });
});

describe('finishImportRow', () => {
  it('writes the final columns and the finish time, and removes the import’s staging', async () => {
    const id = await insertImport(pg.db, 't');
    const other = await insertImport(pg.db, 't');
    await insertStaged(pg.db, id, 0);
    await insertStaged(pg.db, other, 0);
    await finishImportRow(pg.db, id, { status: 'imported', created: 1 });
    expect(await pg.db('import_files').where({ id }).first('status', 'created', pg.db.raw('finished_at IS NOT NULL AS finished'))).toEqual({
      status: 'imported',
      created: 1,
      finished: true,
    });
    expect(await stagedCount(pg.db, id)).toBe(0);
    expect(await stagedCount(pg.db, other)).toBe(1);
  });
});

describe('abandonImportRow', () => {
  it('makes a row not final yet failed, with the error and a note', async () => {
    const id = await insertImport(pg.db, 't');
    expect(await abandonImportRow(pg.db, id, 'ArchiveFailed', 'disk full')).toEqual({ updated: 1, row: { status: 'failed', tenant_id: 't' } });
    const row = await state(id);
    expect(row).toMatchObject({ status: 'failed', error_type: 'ArchiveFailed', error_message: 'finishing the import failed: disk full', finished: true });
    expect(row.notes).toHaveLength(1);
    expect(row.notes[0]).toMatch(/could not be finished normally/);
  });

  it('leaves a final row as it is', async () => {
    const id = await insertImport(pg.db, 't', { status: 'imported' });
    expect(await abandonImportRow(pg.db, id, 'ArchiveFailed', 'disk full')).toEqual({ updated: 0, row: { status: 'imported', tenant_id: 't' } });
    expect(await state(id)).toEqual({ status: 'imported', error_type: null, error_message: null, notes: [], finished: false });
  });
});

describe('markImportErrorRow', () => {
  it('gives a row not final yet status error (Transient), and leaves a final one', async () => {
    const open = await insertImport(pg.db, 't');
    const final = await insertImport(pg.db, 't', { status: 'duplicate' });
    await markImportErrorRow(pg.db, open, 'x'.repeat(3000));
    await markImportErrorRow(pg.db, final, 'late');
    const row = await state(open);
    expect(row).toMatchObject({ status: 'error', error_type: 'Transient', finished: true });
    expect(row.error_message).toHaveLength(2000);
    expect(await state(final)).toMatchObject({ status: 'duplicate', error_type: null, finished: false });
  });
});
