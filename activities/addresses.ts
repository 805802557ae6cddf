/**
 * Address upsert for one chunk, set-based: candidates for every contact of the chunk are loaded in
 * one query, matched in memory in document order with onOffice's steps (so two objects of the same
 * owner in one chunk share one address), new addresses are inserted in one statement with ids
 * drawn from the sequence, and only changed ones are updated.
 */
import type { Transaction } from '../db/db';
import { contactKeys, findMatch, isImportableContact, type AddressKeys } from '../domain/contact';
import type { ContactData, TransferObject } from '../openimmo/types';
import { addressCandidates, insertAddresses, nextAddressIds, updateAddress } from '../db/addresses';

const FIELD_COLUMNS = {
  externalId: 'external_person_id',
  salutation: 'salutation',
  title: 'title',
  firstName: 'first_name',
  lastName: 'last_name',
  company: 'company',
  street: 'street',
  houseNumber: 'house_number',
  zip: 'zip',
  city: 'city',
  country: 'country',
  url: 'url',
} as const;
type FieldKey = keyof typeof FIELD_COLUMNS;

interface Candidate {
  id: number;
  isNew: boolean;
  dirty: boolean;
  fields: Record<string, string | null>;
  emails: Record<string, string>;
  phones: Record<string, string>;
  keys: AddressKeys;
  user: string | null;
}

export interface StagedForAddresses {
  position: number;
  outcome: string | null;
  estate_id: number | null;
  address_ids: { id: number; role: string }[];
  payload: TransferObject;
}

function keysOfRow(r: Record<string, unknown>): AddressKeys {
  return {
    externalId: (r.external_person_id as string | null) ?? null,
    last: r.norm_last as string | null,
    first: r.norm_first as string | null,
    city: r.norm_city as string | null,
    street: r.norm_street as string | null,
    company: r.norm_company as string | null,
    emails: (r.norm_emails as string[]) ?? [],
    phones: (r.norm_phones as string[]) ?? [],
  };
}

/** Applies the chunk's contacts; returns the links per staged position. */
export async function upsertChunkAddresses(
  trx: Transaction,
  tenant: string,
  rows: StagedForAddresses[],
  userOfEstate: Map<number, string>,
): Promise<Map<number, { id: number; role: string }[]>> {
  const work = chunkContacts(rows, userOfEstate);
  const links = new Map<number, { id: number; role: string }[]>();
  if (!work.length) return links;

  const keyed = work.map((w) => ({ ...w, k: contactKeys(w.c) }));
  const uniq = <T>(xs: (T | null)[]) => [...new Set(xs.filter((x): x is T => x != null))];
  const existing = await addressCandidates(trx, tenant, {
    externalIds: uniq(keyed.map((w) => w.k.externalId)),
    lasts: uniq(keyed.map((w) => w.k.last)),
    companies: uniq(keyed.map((w) => w.k.company)),
    emails: uniq(keyed.flatMap((w) => w.k.emails)),
    phones: uniq(keyed.flatMap((w) => w.k.phones)),
    namelessPlaces: keyed.flatMap((w) => (!w.k.last && !w.k.company && w.k.city && w.k.street ? [{ city: w.k.city, street: w.k.street }] : [])),
  });
  const candidates: Candidate[] = existing.map((r) => ({
    id: r.id,
    isNew: false,
    dirty: false,
    fields: Object.fromEntries(Object.values(FIELD_COLUMNS).map((col) => [col, (r[col] as string | null) ?? null])),
    emails: r.emails ?? {},
    phones: r.phones ?? {},
    keys: keysOfRow(r),
    user: r.user_name,
  }));

  // Ids for new addresses come from the sequence up front, so the insert needs no RETURNING order.
  let pendingIds: number[] = [];
  const nextId = async (): Promise<number> => {
    if (!pendingIds.length) pendingIds = await nextAddressIds(trx, Math.max(16, keyed.length));
    return pendingIds.shift()!;
  };

  for (const w of keyed) {
    let cand = findMatch(candidates, w.k);
    if (!cand) {
      cand = {
        id: await nextId(),
        isNew: true,
        dirty: true,
        fields: Object.fromEntries(Object.values(FIELD_COLUMNS).map((col) => [col, null])),
        emails: {},
        phones: {},
        keys: { externalId: null, last: null, first: null, city: null, street: null, company: null, emails: [], phones: [] },
        user: w.user,
      };
      candidates.push(cand);
    }
    mergeContact(cand, w.c);
    const list = links.get(w.position) ?? [];
    if (!list.some((l) => l.id === cand!.id && l.role === w.role)) list.push({ id: cand.id, role: w.role });
    links.set(w.position, list);
  }

  const toRow = (c: Candidate) => ({
    ...c.fields,
    emails: JSON.stringify(c.emails),
    phones: JSON.stringify(c.phones),
    norm_last: c.keys.last,
    norm_first: c.keys.first,
    norm_city: c.keys.city,
    norm_street: c.keys.street,
    norm_company: c.keys.company,
    norm_emails: c.keys.emails,
    norm_phones: c.keys.phones,
  });
  const fresh = candidates.filter((c) => c.isNew);
  if (fresh.length) {
    await insertAddresses(
      trx,
      fresh.map((c) => ({ id: c.id, tenant_id: tenant, ...toRow(c), contact_origin: 'IMV', status: 'Aktiv', user_name: c.user })),
    );
  }
  for (const c of candidates.filter((x) => !x.isNew && x.dirty)) await updateAddress(trx, c.id, toRow(c));
  return links;
}

/**
 * The chunk's importable contacts (a name or company, or a way to reach the person) in document order:
 * the owner (ansprechpartner), then further addresses.
 */
function chunkContacts(rows: StagedForAddresses[], userOfEstate: Map<number, string>) {
  const work: { position: number; c: ContactData; role: string; user: string | null }[] = [];
  for (const r of rows) {
    const o = r.payload;
    const user = r.estate_id ? (userOfEstate.get(r.estate_id) ?? null) : null;
    if (isImportableContact(o.contact)) work.push({ position: r.position, c: o.contact, role: 'ansprechpartner', user });
    for (const w of o.furtherAddresses ?? []) {
      if (isImportableContact(w)) work.push({ position: r.position, c: w, role: (w.role ?? 'weitere_adresse').toLowerCase(), user });
    }
  }
  return work;
}

/** Fills what the transfer carries into the candidate; keeps what it leaves empty. Never re-owns an address. */
function mergeContact(cand: Candidate, c: ContactData): void {
  for (const [key, col] of Object.entries(FIELD_COLUMNS) as [FieldKey, string][]) {
    const v = c[key];
    if (v != null && v !== '' && cand.fields[col] !== v) {
      cand.fields[col] = v;
      cand.dirty = true;
    }
  }
  for (const [bag, incoming] of [
    ['emails', c.emails],
    ['phones', c.phones],
  ] as const) {
    for (const [k, v] of Object.entries(incoming)) {
      if (cand[bag][k] !== v) {
        cand[bag] = { ...cand[bag], [k]: v };
        cand.dirty = true;
      }
    }
  }
  const before = JSON.stringify(cand.keys);
  const nk = contactKeys({ ...c, ...fieldsAsContact(cand.fields), emails: cand.emails, phones: cand.phones });
  cand.keys = { ...nk, emails: [...new Set([...cand.keys.emails, ...nk.emails])], phones: [...new Set([...cand.keys.phones, ...nk.phones])] };
  if (JSON.stringify(cand.keys) !== before) cand.dirty = true;
}

function fieldsAsContact(f: Record<string, string | null>): Partial<ContactData> {
  return {
    externalId: f.external_person_id,
    firstName: f.first_name,
    lastName: f.last_name,
    company: f.company,
    street: f.street,
    houseNumber: f.house_number,
    city: f.city,
    country: f.country,
  };
}
