/** Addresses (the CRM's contacts) as the address step reads and writes them, per chunk. */
import type { Knex } from 'knex';
import type { CandidateSearch, StoredAddressRow } from '../domain/address-matching';

/** An address row as stored: its columns by name (the domain reads it as a match candidate). */
export type AddressRow = StoredAddressRow;

/**
 * The tenant's addresses that may match any contact of the chunk (same external id, last name,
 * company, a shared e-mail or phone, or, without a name or company, the same street and town), in id
 * order: one query.
 */
export async function addressCandidates(trx: Knex.Transaction, tenant: string, keys: CandidateSearch): Promise<AddressRow[]> {
  return trx('addresses')
    .where({ tenant_id: tenant })
    .andWhere((q) => {
      q.whereRaw('external_person_id = ANY(?::text[])', [keys.externalIds])
        .orWhereRaw('norm_last = ANY(?::text[])', [keys.lasts])
        .orWhereRaw('norm_company = ANY(?::text[])', [keys.companies])
        .orWhereRaw('norm_emails && ?::text[]', [keys.emails])
        .orWhereRaw('norm_phones && ?::text[]', [keys.phones]);
      if (keys.namelessPlaces.length) {
        q.orWhereRaw('norm_last IS NULL AND norm_company IS NULL AND (norm_city, norm_street) IN (SELECT * FROM unnest(?::text[], ?::text[]))', [
          keys.namelessPlaces.map((p) => p.city),
          keys.namelessPlaces.map((p) => p.street),
        ]);
      }
    })
    .orderBy('id');
}

/** n ids for new addresses from the sequence, up front, so the insert needs no RETURNING order. */
export async function nextAddressIds(trx: Knex.Transaction, n: number): Promise<number[]> {
  const r = await trx.raw("SELECT nextval(pg_get_serial_sequence('addresses', 'id')) AS id FROM generate_series(1, ?)", [n]);
  return r.rows.map((x: { id: number }) => Number(x.id));
}

export async function insertAddresses(trx: Knex.Transaction, rows: Record<string, unknown>[]): Promise<void> {
  await trx('addresses').insert(rows);
}

export async function updateAddress(trx: Knex.Transaction, id: number, columns: Record<string, unknown>): Promise<void> {
  await trx('addresses')
    .where({ id })
    .update({ ...columns, updated_at: trx.fn.now() });
}
