/**
 * Address upsert for one chunk, set-based: candidates for every contact of the chunk are loaded in
 * one query, matched in memory in document order with onOffice's steps (domain/address-matching.ts:
 * two objects of the same owner in one chunk share one address), new addresses are inserted in one
 * statement with ids drawn from the sequence, and only changed ones are updated.
 */
import type { Transaction } from '../db/db';
import { addressColumns, candidateSearch, chunkContacts, matchChunkContacts, newAddressColumns, storedCandidate } from '../domain/address-matching';
import type { AddressCandidate, StagedForAddresses } from '../domain/address-matching';
import { addressCandidates, insertAddresses, nextAddressIds, updateAddress } from '../db/addresses';

/** Applies the chunk's contacts; returns the links per staged position. */
export async function upsertChunkAddresses(
  trx: Transaction,
  tenant: string,
  rows: StagedForAddresses[],
  userOfEstate: Map<number, string>,
): Promise<Map<number, { id: number; role: string }[]>> {
  const contacts = chunkContacts(rows, userOfEstate);
  if (!contacts.length) return new Map();
  const stored = await addressCandidates(trx, tenant, candidateSearch(contacts));
  const { links, fresh, changed } = matchChunkContacts(contacts, stored.map(storedCandidate));

  // Ids for new addresses come from the sequence up front, so the insert needs no RETURNING order.
  const ids = fresh.length ? await nextAddressIds(trx, fresh.length) : [];
  const newId = new Map(fresh.map((c, i) => [c, ids[i]]));
  const idOf = (c: AddressCandidate): number => c.id ?? newId.get(c)!;
  if (fresh.length)
    await insertAddresses(
      trx,
      fresh.map((c) => ({ id: idOf(c), tenant_id: tenant, ...newAddressColumns(c) })),
    );
  for (const c of changed) await updateAddress(trx, idOf(c), addressColumns(c));
  return new Map([...links].map(([position, list]) => [position, list.map((l) => ({ id: idOf(l.address), role: l.role }))]));
}
