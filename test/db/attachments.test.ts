/** db/attachments.ts against real PostgreSQL: a chunk's attachment sets replaced, warnings appended once. */
import { expect, it } from 'vitest';
import { replaceAttachmentSets } from '../../db/attachments';
import { insertEstate, insertImport, insertTenant, useDatabase } from '../support/database';

const pg = useDatabase();

it('replaces the attachment sets of these estates only, and appends each warning once', async () => {
  await insertTenant(pg.db, 't');
  const importId = await insertImport(pg.db, 't');
  const [e1, e2, untouched] = [await insertEstate(pg.db, 't', 'a'), await insertEstate(pg.db, 't', 'b'), await insertEstate(pg.db, 't', 'c')];
  await pg.db('estate_attachments').insert([
    { estate_id: e1, position: 0, title: 'old' },
    { estate_id: untouched, position: 0, title: 'kept' },
  ]);
  await pg.db('import_objects').insert({ import_id: importId, position: 0, outcome: 'updated', messages: JSON.stringify(['earlier']) });
  // More than one insert batch (500 rows) for e2.
  const records = [{ estate_id: e1, position: 0, title: 'new' }, ...Array.from({ length: 501 }, (_, i) => ({ estate_id: e2, position: i, title: `p${i}` }))];
  const warnings = new Map([[0, ['attachment x.jpg is missing']]]);

  await replaceAttachmentSets(pg.db, importId, [e1, e2], records, warnings);
  await replaceAttachmentSets(pg.db, importId, [e1, e2], records, warnings); // a retry

  const byEstate = await pg
    .db('estate_attachments')
    .groupBy('estate_id')
    .orderBy('estate_id')
    .select('estate_id', pg.db.raw('count(*)::int as n'), pg.db.raw('min(title) as title'));
  expect(byEstate).toEqual([
    { estate_id: e1, n: 1, title: 'new' },
    { estate_id: e2, n: 501, title: 'p0' },
    { estate_id: untouched, n: 1, title: 'kept' },
  ]);
  expect(await pg.db('import_objects').where({ import_id: importId, position: 0 }).first('messages')).toEqual({
    messages: ['earlier', 'attachment x.jpg is missing'],
  });
});
