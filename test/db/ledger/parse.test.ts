/** db/ledger/parse.ts against real PostgreSQL: staging cleared for a new parse, objects staged, the ledger's totals. */
import { describe, expect, it } from 'vitest';
import { clearStaging, loadImportClearingStaging, stageLastBatch, stageObjects } from '../../../db/ledger/parse';
import { stagedCount } from '../../../db/ledger/finish';
import { insertImport, insertStaged, insertTenant, useDatabase } from '../../support/database';

const pg = useDatabase();
const staged = (importId: number, position: number) => ({ import_id: importId, position, source_id: `s${position}`, payload: JSON.stringify({ n: position }) });

describe('loadImportClearingStaging', () => {
  it('reads the row and removes what an earlier, unfinished parse staged', async () => {
    await insertTenant(pg.db, 't');
    const id = await insertImport(pg.db, 't', { file_name: 'p.xml' });
    await insertStaged(pg.db, id, 0);
    expect(await loadImportClearingStaging(pg.db, id)).toMatchObject({ id, file_name: 'p.xml', tenant_id: 't' });
    expect(await stagedCount(pg.db, id)).toBe(0);
  });

  it('keeps the staging of a parse that completed (its chunk starts are in the ledger)', async () => {
    const id = await insertImport(pg.db, 't', { meta: JSON.stringify({ chunkStarts: [0] }) });
    await insertStaged(pg.db, id, 0, { outcome: 'created' });
    expect((await loadImportClearingStaging(pg.db, id)).meta).toEqual({ chunkStarts: [0] });
    expect(await pg.db('staged_objects').where({ import_id: id }).pluck('outcome')).toEqual(['created']);
  });

  it('fails for good (UnknownImport) for an id the ledger does not have', async () => {
    await expect(loadImportClearingStaging(pg.db, 999_999)).rejects.toMatchObject({ type: 'UnknownImport', nonRetryable: true });
  });
});

describe('stageObjects', () => {
  it('inserts one batch of staged objects', async () => {
    const id = await insertImport(pg.db, 't');
    await stageObjects(pg.db, [staged(id, 0), staged(id, 1)]);
    expect(await pg.db('staged_objects').where({ import_id: id }).orderBy('position').select('position', 'source_id', 'payload')).toEqual([
      { position: 0, source_id: 's0', payload: { n: 0 } },
      { position: 1, source_id: 's1', payload: { n: 1 } },
    ]);
  });
});

describe('stageLastBatch', () => {
  const totals = { meta: { kind: 'xml' as const, chunkStarts: [0] }, objects: 2, warnings: 1 };

  it('stages the last batch and writes the ledger’s totals', async () => {
    const id = await insertImport(pg.db, 't');
    await stageLastBatch(pg.db, id, [staged(id, 0), staged(id, 1)], totals);
    expect(await stagedCount(pg.db, id)).toBe(2);
    expect(await pg.db('import_files').where({ id }).first('meta', 'objects_total', 'warnings')).toEqual({ meta: totals.meta, objects_total: 2, warnings: 1 });
  });

  it('with an empty batch writes only the totals', async () => {
    const id = await insertImport(pg.db, 't');
    await stageLastBatch(pg.db, id, [], { ...totals, objects: 0 });
    expect(await stagedCount(pg.db, id)).toBe(0);
    expect(await pg.db('import_files').where({ id }).first('meta', 'objects_total', 'warnings')).toEqual({ meta: totals.meta, objects_total: 0, warnings: 1 });
  });
});

describe('clearStaging', () => {
  it('removes the import’s staged objects and no other import’s', async () => {
    const [id, other] = [await insertImport(pg.db, 't'), await insertImport(pg.db, 't')];
    await insertStaged(pg.db, id, 0);
    await insertStaged(pg.db, other, 0);
    await clearStaging(pg.db, id);
    expect([await stagedCount(pg.db, id), await stagedCount(pg.db, other)]).toEqual([0, 1]);
  });
});
