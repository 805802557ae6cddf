/** db/estates.ts against real PostgreSQL: the estate step's locked reads, upserts, archiving and the tenant lock. */
import { describe, expect, it } from 'vitest';
import { archiveEstates, lockStoredEstates, lockTenant, providerEstatesMissing, upsertEstateRows } from '../../db/estates';
import { insertEstate, insertImport, insertTenant, useDatabase } from '../support/database';

const pg = useDatabase();

/** Whether another connection could take the tenant's advisory lock just now (it lets go at once). */
async function tenantLockFree(tenant: string): Promise<boolean> {
  return pg.db.transaction(async (trx) => {
    const r = await trx.raw("SELECT pg_try_advisory_xact_lock(hashtext('imv-import:' || ?)) AS got", [tenant]);
    return r.rows[0].got as boolean;
  });
}

describe('lockStoredEstates', () => {
  it('reads the tenant’s IMV estates with these source ids, locked until the transaction ends', async () => {
    await insertTenant(pg.db, 'lock');
    await insertTenant(pg.db, 'lock-other');
    const a = await insertEstate(pg.db, 'lock', 'a', { status: 'aktiv', source_stand: '2026-01-01' });
    await insertEstate(pg.db, 'lock', 'b');
    await insertEstate(pg.db, 'lock', 'a-other-source', { source: 'manual', source_id: 'a' });
    await insertEstate(pg.db, 'lock-other', 'a');
    await pg.db.transaction(async (trx) => {
      const rows = await lockStoredEstates(trx, 'lock', ['a', 'missing']);
      expect(rows).toEqual([
        {
          id: a,
          source_id: 'a',
          status: 'aktiv',
          archived: false,
          reference: false,
          content_hash: 'hash-a',
          source_stand: '2026-01-01',
          source_timestamp: null,
          source_file_time: null,
        },
      ]);
      await expect(pg.db.raw('SELECT id FROM estates WHERE id = ? FOR UPDATE NOWAIT', [a])).rejects.toMatchObject({ code: '55P03' });
    });
  });
});

describe('upsertEstateRows', () => {
  it('inserts new estates and returns their ids by source id', async () => {
    await insertTenant(pg.db, 'ups');
    const row = (sourceId: string) => ({
      tenant_id: 'ups',
      source: 'IMV',
      source_id: sourceId,
      external_number: `X-${sourceId}`,
      user_name: 'u',
      warning_note: 'IMV Import',
      data: '{}',
      content_hash: 'h1',
    });
    const ids = await pg.db.transaction((trx) => upsertEstateRows(trx, [row('n1'), row('n2')], ['content_hash']));
    expect(ids.map((r) => r.source_id)).toEqual(['n1', 'n2']);
    expect(
      await pg
        .db('estates')
        .whereIn(
          'id',
          ids.map((r) => r.id),
        )
        .orderBy('source_id')
        .pluck('external_number'),
    ).toEqual(['X-n1', 'X-n2']);
  });

  it('on an existing estate changes only the updatable columns and updated_at: never status nor external number', async () => {
    await insertTenant(pg.db, 'upd');
    const id = await insertEstate(pg.db, 'upd', 's', { status: 'aktiv', title: 'Alt', updated_at: new Date('2020-01-01T00:00:00Z') });
    const changed = {
      tenant_id: 'upd',
      source: 'IMV',
      source_id: 's',
      external_number: 'CHANGED',
      status: 'inaktiv',
      user_name: 'u',
      warning_note: 'IMV Import',
      data: '{}',
      content_hash: 'h2',
      title: 'Neu',
    };
    const ids = await pg.db.transaction((trx) => upsertEstateRows(trx, [changed], ['content_hash', 'title']));
    expect(ids).toEqual([{ id, source_id: 's' }]);
    const row = await pg.db('estates').where({ id }).first('external_number', 'status', 'title', 'content_hash', 'updated_at');
    expect(row).toMatchObject({ external_number: 'IMVO-ID-s', status: 'aktiv', title: 'Neu', content_hash: 'h2' });
    expect(row.updated_at.getTime()).toBeGreaterThan(Date.parse('2020-01-01T00:00:00Z'));
  });
});

describe('archiveEstates', () => {
  it('archives these estates with the import that did it, and no others', async () => {
    await insertTenant(pg.db, 'arc');
    const importId = await insertImport(pg.db, 'arc');
    const [gone, kept] = [await insertEstate(pg.db, 'arc', 'gone'), await insertEstate(pg.db, 'arc', 'kept')];
    await pg.db.transaction((trx) => archiveEstates(trx, [gone], importId));
    const rows = await pg
      .db('estates')
      .whereIn('id', [gone, kept])
      .orderBy('id')
      .select('id', 'archived', 'last_import_id', pg.db.raw('archived_at IS NOT NULL AS dated'));
    expect(rows).toEqual([
      { id: gone, archived: true, last_import_id: importId, dated: true },
      { id: kept, archived: false, last_import_id: null, dated: false },
    ]);
  });
});

describe('lockTenant', () => {
  it('holds the tenant’s advisory lock until the transaction ends, and only that tenant’s', async () => {
    await pg.db.transaction(async (trx) => {
      await lockTenant(trx, 'locked');
      expect(await tenantLockFree('locked')).toBe(false);
      expect(await tenantLockFree('another')).toBe(true);
    });
    expect(await tenantLockFree('locked')).toBe(true);
  });
});

describe('providerEstatesMissing', () => {
  it('counts the providers’ live IMV estates and names those not present', async () => {
    await insertTenant(pg.db, 'mir');
    await insertEstate(pg.db, 'mir', 'here', { provider_id: 'P1' });
    const missing = await insertEstate(pg.db, 'mir', 'missing', { provider_id: 'P1' });
    await insertEstate(pg.db, 'mir', 'archived', { provider_id: 'P1', archived: true });
    await insertEstate(pg.db, 'mir', 'other-provider', { provider_id: 'P2' });
    const r = await pg.db.transaction((trx) => providerEstatesMissing(trx, 'mir', ['P1'], ['here']));
    expect(r).toEqual({ total: 2, missing: [missing] });
  });
});
