/** db/ledger/begin.ts against real PostgreSQL: a file's ledger row opened, opened again, or left final. */
import { describe, expect, it } from 'vitest';
import { finalImportOf, upsertImport } from '../../../db/ledger/begin';
import { insertTenant, useDatabase } from '../../support/database';

const pg = useDatabase();
const values = (name: string) => ({ tenant_id: 't', remote_path: `/in/${name}`, file_name: name, size: 42, mtime: new Date('2026-01-01T00:00:00Z') });

describe('upsertImport', () => {
  it('opens a new row, importing', async () => {
    await insertTenant(pg.db, 't');
    const begun = await upsertImport(pg.db, values('a.xml'), 'wf-a', 'run-1');
    expect(begun).toEqual({ id: expect.any(Number), file_name: 'a.xml', size: 42, inserted: true });
    expect(await pg.db('import_files').where({ id: begun!.id }).first('status', 'run_id', 'attempts')).toEqual({
      status: 'importing',
      run_id: 'run-1',
      attempts: 1,
    });
  });

  it('opens the workflow’s row again: a new run, one more attempt, the last error cleared', async () => {
    const first = await upsertImport(pg.db, values('b.xml'), 'wf-b', 'run-1');
    await pg
      .db('import_files')
      .where({ id: first!.id })
      .update({ status: 'error', error_type: 'Transient', error_message: 'boom', finished_at: pg.db.fn.now() });
    const again = await upsertImport(pg.db, values('b.xml'), 'wf-b', 'run-2');
    expect(again).toEqual({ id: first!.id, file_name: 'b.xml', size: 42, inserted: false });
    expect(await pg.db('import_files').where({ id: first!.id }).first('status', 'run_id', 'attempts', 'error_type', 'error_message', 'finished_at')).toEqual({
      status: 'importing',
      run_id: 'run-2',
      attempts: 2,
      error_type: null,
      error_message: null,
      finished_at: null,
    });
  });

  it('leaves a final row as it is and returns nothing', async () => {
    const first = await upsertImport(pg.db, values('c.xml'), 'wf-c', 'run-1');
    await pg.db('import_files').where({ id: first!.id }).update({ status: 'imported' });
    expect(await upsertImport(pg.db, values('c.xml'), 'wf-c', 'run-2')).toBeUndefined();
    expect(await pg.db('import_files').where({ id: first!.id }).first('status', 'run_id', 'attempts')).toEqual({
      status: 'imported',
      run_id: 'run-1',
      attempts: 1,
    });
  });
});

describe('finalImportOf', () => {
  it('reads the workflow’s row with the counts it ended with', async () => {
    const first = await upsertImport(pg.db, values('d.xml'), 'wf-d', 'run-1');
    await pg
      .db('import_files')
      .where({ id: first!.id })
      .update({ status: 'partial', objects_total: 5, created: 2, updated: 1, unchanged: 0, archived: 0, stale: 1, rejected: 1 });
    expect(await finalImportOf(pg.db, 'wf-d')).toEqual({
      id: first!.id,
      file_name: 'd.xml',
      size: 42,
      status: 'partial',
      counts: { total: 5, created: 2, updated: 1, unchanged: 0, archived: 0, stale: 1, rejected: 1 },
    });
  });
});
