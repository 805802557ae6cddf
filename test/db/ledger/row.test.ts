/** db/ledger/row.ts against real PostgreSQL: the ledger row read by id, its hash, its notes, and its counts. */
import { describe, expect, it } from 'vitest';
import { countColumns, countsOfRow, importSha256, loadImport, setImportNotes } from '../../../db/ledger/row';
import { insertImport, insertTenant, useDatabase } from '../../support/database';

const pg = useDatabase();

describe('loadImport', () => {
  it('reads the row by id', async () => {
    await insertTenant(pg.db, 't');
    const id = await insertImport(pg.db, 't', { file_name: 'r.xml', size: 7 });
    expect(await loadImport(pg.db, id)).toMatchObject({ id, tenant_id: 't', file_name: 'r.xml', size: 7, status: 'importing', meta: {}, notes: [] });
  });

  it('fails for good (UnknownImport) for an id the ledger does not have', async () => {
    await expect(loadImport(pg.db, 999_999)).rejects.toMatchObject({ type: 'UnknownImport', nonRetryable: true, message: 'import 999999 does not exist' });
  });
});

describe('importSha256', () => {
  it('reads the content hash: null before the fetch, undefined for an unknown id', async () => {
    const id = await insertImport(pg.db, 't');
    expect(await importSha256(pg.db, id)).toEqual({ sha256: null });
    await pg.db('import_files').where({ id }).update({ sha256: 'abc' });
    expect(await importSha256(pg.db, id)).toEqual({ sha256: 'abc' });
    expect(await importSha256(pg.db, 999_999)).toBeUndefined();
  });
});

describe('setImportNotes', () => {
  it('replaces the row’s notes', async () => {
    const id = await insertImport(pg.db, 't', { notes: JSON.stringify(['old']) });
    await setImportNotes(pg.db, id, ['mirror refused', 'attachments missing']);
    expect(await pg.db('import_files').where({ id }).first('notes')).toEqual({ notes: ['mirror refused', 'attachments missing'] });
  });
});

describe('countColumns and countsOfRow', () => {
  it('write the counts into the row’s columns and read the same counts back', async () => {
    const counts = { total: 9, created: 1, updated: 2, unchanged: 3, archived: 1, stale: 1, rejected: 1 };
    const id = await insertImport(pg.db, 't', countColumns(counts));
    expect(countsOfRow(await pg.db('import_files').where({ id }).first())).toEqual(counts);
  });
});
