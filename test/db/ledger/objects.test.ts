/** db/ledger/objects.ts against real PostgreSQL: the import's object outcomes written and read. */
import { beforeAll, describe, expect, it } from 'vitest';
import { objectOutcomes, objectOutcomesPage, objectsWithMessages, outcomeTally, writeOutcomes, type ObjectResult } from '../../../db/ledger/objects';
import { insertEstate, insertImport, insertStaged, insertTenant, useDatabase } from '../../support/database';

const pg = useDatabase();
let importId: number;
let estate: number;

const result = (position: number, outcome: string, messages: string[] = [], estateId: number | null = null): ObjectResult => ({
  position,
  sourceId: `obj-${position}`,
  action: 'CHANGE',
  outcome,
  messages,
  estateId,
});

// An import with three staged objects; their outcomes are written by the first test and read by the others.
beforeAll(async () => {
  await insertTenant(pg.db, 't');
  importId = await insertImport(pg.db, 't');
  estate = await insertEstate(pg.db, 't', 'obj-0');
  for (const position of [0, 1, 2]) await insertStaged(pg.db, importId, position);
});

describe('writeOutcomes', () => {
  it('writes the outcomes into the ledger and into staging, and a second write replaces them', async () => {
    await pg.db.transaction((trx) => writeOutcomes(trx, importId, [result(0, 'created', [], estate), result(1, 'rejected', ['no id']), result(2, 'updated')]));
    await pg.db.transaction((trx) => writeOutcomes(trx, importId, [result(2, 'unchanged', ['same as before'])]));
    await pg.db.transaction((trx) => writeOutcomes(trx, importId, [])); // nothing: no statement
    expect(
      await pg
        .db('import_objects')
        .where({ import_id: importId })
        .orderBy('position')
        .select('position', 'source_id', 'action', 'outcome', 'estate_id', 'messages'),
    ).toEqual([
      { position: 0, source_id: 'obj-0', action: 'CHANGE', outcome: 'created', estate_id: estate, messages: [] },
      { position: 1, source_id: 'obj-1', action: 'CHANGE', outcome: 'rejected', estate_id: null, messages: ['no id'] },
      { position: 2, source_id: 'obj-2', action: 'CHANGE', outcome: 'unchanged', estate_id: null, messages: ['same as before'] },
    ]);
    expect(await pg.db('staged_objects').where({ import_id: importId }).orderBy('position').select('position', 'outcome', 'estate_id', 'messages')).toEqual([
      { position: 0, outcome: 'created', estate_id: estate, messages: [] },
      { position: 1, outcome: 'rejected', estate_id: null, messages: ['no id'] },
      { position: 2, outcome: 'unchanged', estate_id: null, messages: ['same as before'] },
    ]);
  });
});

describe('objectOutcomes', () => {
  it('reads the import’s objects in document order, with their estates’ numbers', async () => {
    expect(await objectOutcomes(pg.db, importId)).toEqual([
      { position: 0, source_id: 'obj-0', outcome: 'created', messages: [], external_number: 'IMVO-ID-obj-0' },
      { position: 1, source_id: 'obj-1', outcome: 'rejected', messages: ['no id'], external_number: null },
      { position: 2, source_id: 'obj-2', outcome: 'unchanged', messages: ['same as before'], external_number: null },
    ]);
  });
});

describe('objectOutcomesPage', () => {
  it('reads a page of objects after a position', async () => {
    expect((await objectOutcomesPage(pg.db, importId, -1, 2)).map((o) => o.position)).toEqual([0, 1]);
    expect((await objectOutcomesPage(pg.db, importId, 1, 2)).map((o) => o.position)).toEqual([2]);
    expect(await objectOutcomesPage(pg.db, importId, 2, 2)).toEqual([]);
  });
});

describe('objectsWithMessages', () => {
  it('reads only the objects that carry messages', async () => {
    expect((await objectsWithMessages(pg.db, importId)).map((o) => [o.position, o.messages])).toEqual([
      [1, ['no id']],
      [2, ['same as before']],
    ]);
  });
});

describe('outcomeTally', () => {
  it('counts the objects by outcome', async () => {
    expect(await outcomeTally(pg.db, importId)).toEqual(
      new Map([
        ['created', 1],
        ['rejected', 1],
        ['unchanged', 1],
      ]),
    );
  });
});
