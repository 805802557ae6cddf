/** db/staging.ts against real PostgreSQL: a chunk's staged objects read, their address ids stored and linked. */
import { beforeAll, describe, expect, it } from 'vitest';
import { linkStagedContacts, loadChunk, loadChunkForAttachments, loadChunkWithOwners, stagedSourceIds, storeAddressIds } from '../../db/staging';
import { insertAddress, insertEstate, insertImport, insertStaged, insertTenant, useDatabase } from '../support/database';

const pg = useDatabase();
let importId: number;
let estate: number;

// One import with four staged objects at positions 0..3; the chunk [1, 3) is what the steps read.
beforeAll(async () => {
  await insertTenant(pg.db, 't');
  importId = await insertImport(pg.db, 't');
  estate = await insertEstate(pg.db, 't', 'obj-1', { user_name: 'skoch' });
  await insertStaged(pg.db, importId, 0);
  await insertStaged(pg.db, importId, 1, { estate_id: estate, outcome: 'created' });
  await insertStaged(pg.db, importId, 2, { outcome: 'rejected', source_id: null });
  await insertStaged(pg.db, importId, 3, { estate_id: estate, outcome: 'updated' });
});

describe('loadChunk', () => {
  it('reads the chunk’s staged objects in document order', async () => {
    const rows = await pg.db.transaction((trx) => loadChunk(trx, { importId, from: 1, to: 3 }));
    expect(rows.map((r) => [r.position, r.source_id, r.estate_id, r.outcome])).toEqual([
      [1, 'obj-1', estate, 'created'],
      [2, null, null, 'rejected'],
    ]);
    expect(rows[0]!.payload).toEqual({ sourceId: 'obj-1' });
  });
});

describe('loadChunkWithOwners', () => {
  it('reads the chunk with each object’s estate user (null without an estate)', async () => {
    const rows = await pg.db.transaction((trx) => loadChunkWithOwners(trx, { importId, from: 1, to: 3 }));
    expect(rows.map((r) => [r.position, r.user_name])).toEqual([
      [1, 'skoch'],
      [2, null],
    ]);
  });
});

describe('storeAddressIds and linkStagedContacts', () => {
  it('stores the address ids per position, then links them to the estates once', async () => {
    const [a, b] = [await insertAddress(pg.db, 't'), await insertAddress(pg.db, 't')];
    const links = new Map([
      [1, [{ id: a, role: 'ansprechpartner' }]],
      [2, [{ id: b, role: 'ansprechpartner' }]],
    ]);
    await pg.db.transaction((trx) => storeAddressIds(trx, importId, links));
    await pg.db.transaction((trx) => storeAddressIds(trx, importId, new Map())); // nothing to store: no statement
    expect(await pg.db('staged_objects').where({ import_id: importId }).orderBy('position').pluck('address_ids')).toEqual([
      [],
      [{ id: a, role: 'ansprechpartner' }],
      [{ id: b, role: 'ansprechpartner' }],
      [],
    ]);

    // Position 2 has no estate: only position 1's link is made; a second run makes none.
    expect(await linkStagedContacts(pg.db, { importId, from: 0, to: 4 })).toBe(1);
    expect(await linkStagedContacts(pg.db, { importId, from: 0, to: 4 })).toBe(0);
    expect(await pg.db('estate_contacts').select('estate_id', 'address_id', 'role')).toEqual([{ estate_id: estate, address_id: a, role: 'ansprechpartner' }]);
  });
});

describe('loadChunkForAttachments', () => {
  it('reads the chunk’s created or updated objects that have an estate', async () => {
    const rows = await loadChunkForAttachments(pg.db, { importId, from: 0, to: 4 });
    expect(rows.map((r) => [r.position, r.estate_id, r.outcome])).toEqual([
      [1, estate, 'created'],
      [3, estate, 'updated'],
    ]);
  });
});

describe('stagedSourceIds', () => {
  it('lists the source ids of every staged object that has one', async () => {
    expect((await stagedSourceIds(pg.db, importId)).sort()).toEqual(['obj-0', 'obj-1', 'obj-3']);
  });
});
