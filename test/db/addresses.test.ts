/** db/addresses.ts against real PostgreSQL: the address step's candidates, ids, inserts and updates. */
import { beforeAll, describe, expect, it } from 'vitest';
import { addressCandidates, insertAddresses, nextAddressIds, updateAddress } from '../../db/addresses';
import { insertAddress, insertTenant, useDatabase } from '../support/database';

const pg = useDatabase();

type Keys = Parameters<typeof addressCandidates>[2];
const noKeys: Keys = { externalIds: [], lasts: [], companies: [], emails: [], phones: [], namelessPlaces: [] };
const candidateIds = (tenant: string, keys: Partial<Keys>) =>
  pg.db.transaction(async (trx) => (await addressCandidates(trx, tenant, { ...noKeys, ...keys })).map((a) => a.id));

describe('addressCandidates', () => {
  const id: Record<string, number> = {};
  beforeAll(async () => {
    await insertTenant(pg.db, 'cand');
    await insertTenant(pg.db, 'other');
    id.external = await insertAddress(pg.db, 'cand', { external_person_id: 'P-1', norm_last: 'ext' });
    id.named = await insertAddress(pg.db, 'cand', { norm_last: 'muster', norm_first: 'max', norm_city: 'köln', norm_street: 'ring' });
    id.company = await insertAddress(pg.db, 'cand', { norm_company: 'acme gmbh' });
    id.mail = await insertAddress(pg.db, 'cand', { norm_emails: ['a@example.org'] });
    id.phone = await insertAddress(pg.db, 'cand', { norm_phones: ['+492215550100'] });
    id.nameless = await insertAddress(pg.db, 'cand', { norm_city: 'bonn', norm_street: 'markt' });
    id.namedAtPlace = await insertAddress(pg.db, 'cand', { norm_last: 'zweiter', norm_city: 'bonn', norm_street: 'markt' });
    id.otherTenant = await insertAddress(pg.db, 'other', { external_person_id: 'P-1', norm_last: 'muster', norm_emails: ['a@example.org'] });
  });

  it('finds an address by its external person id', async () => {
    expect(await candidateIds('cand', { externalIds: ['P-1'] })).toEqual([id.external]);
  });

  it('finds addresses by last name or company', async () => {
    expect(await candidateIds('cand', { lasts: ['muster'], companies: ['acme gmbh'] })).toEqual([id.named, id.company]);
  });

  it('finds addresses that share an e-mail or a phone key', async () => {
    expect(await candidateIds('cand', { emails: ['a@example.org', 'b@example.org'], phones: ['+492215550100'] })).toEqual([id.mail, id.phone]);
  });

  it('finds by street and town only the addresses without a name or company', async () => {
    expect(await candidateIds('cand', { namelessPlaces: [{ city: 'bonn', street: 'markt' }] })).toEqual([id.nameless]);
  });

  it('finds nothing without keys, and never another tenant’s address', async () => {
    expect(await candidateIds('cand', {})).toEqual([]);
    expect(await candidateIds('other', { externalIds: ['P-1'], lasts: ['muster'], emails: ['a@example.org'] })).toEqual([id.otherTenant]);
  });
});

describe('nextAddressIds', () => {
  it('takes n new ids from the sequence, and later inserts do not reuse them', async () => {
    await insertTenant(pg.db, 'seq');
    const ids = await pg.db.transaction((trx) => nextAddressIds(trx, 3));
    expect(ids).toHaveLength(3);
    expect(new Set(ids).size).toBe(3);
    const after = await insertAddress(pg.db, 'seq');
    expect(after).toBeGreaterThan(Math.max(...ids));
  });
});

describe('insertAddresses', () => {
  it('inserts the rows with the ids given', async () => {
    await insertTenant(pg.db, 'ins');
    const [a, b] = await pg.db.transaction(async (trx) => {
      const ids = await nextAddressIds(trx, 2);
      await insertAddresses(
        trx,
        ids.map((id, i) => ({ id, tenant_id: 'ins', last_name: `N${i}`, contact_origin: 'IMV', status: 'Aktiv' })),
      );
      return ids;
    });
    expect(await pg.db('addresses').where({ tenant_id: 'ins' }).orderBy('id').select('id', 'last_name')).toEqual([
      { id: a, last_name: 'N0' },
      { id: b, last_name: 'N1' },
    ]);
  });
});

describe('updateAddress', () => {
  it('changes the columns given and updated_at, nothing else', async () => {
    await insertTenant(pg.db, 'upd');
    const id = await insertAddress(pg.db, 'upd', { last_name: 'Alt', city: 'Köln', updated_at: new Date('2020-01-01T00:00:00Z') });
    await pg.db.transaction((trx) => updateAddress(trx, id, { last_name: 'Neu' }));
    const row = await pg.db('addresses').where({ id }).first('last_name', 'city', 'updated_at');
    expect(row).toMatchObject({ last_name: 'Neu', city: 'Köln' });
    expect(row.updated_at.getTime()).toBeGreaterThan(new Date('2020-01-01T00:00:00Z').getTime());
  });
});
