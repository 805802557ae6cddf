/**
 * Address matching for one chunk, in memory: the chunk's contacts in document order, the keys the
 * candidate addresses are loaded by, each contact matched with onOffice's steps (domain/contact.ts)
 * against the candidates and the addresses made earlier in the chunk (so two objects of the same owner
 * in one chunk share one address), and what the transfer carries merged into the address it matched.
 * The address step (activities/addresses.ts) loads the candidates and writes the result (db/addresses.ts).
 */
import { contactKeys, findMatch, isImportableContact, type AddressKeys, type ContactKeys } from './contact';
import type { ContactData, TransferObject } from '../openimmo/types';

/** The address columns a contact's fields fill. */
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

/** An address as matching sees it: a stored one (a candidate), or one the chunk creates. */
export interface AddressCandidate {
  /** The stored address's id; null for a new one (its id is drawn when it is written). */
  id: number | null;
  isNew: boolean;
  /** Changed by the chunk: to be written. */
  dirty: boolean;
  /** Column → value of the text columns (FIELD_COLUMNS). */
  fields: Record<string, string | null>;
  emails: Record<string, string>;
  phones: Record<string, string>;
  keys: AddressKeys;
  /** The onOffice user whose records it is in (a new address: the estate's). */
  user: string | null;
}

/** A stored address row as the candidates query returns it: its columns by name. */
export interface StoredAddressRow {
  id: number;
  user_name: string | null;
  emails: Record<string, string> | null;
  phones: Record<string, string> | null;
  [column: string]: unknown;
}

/** A staged object of the chunk, as the address step reads it. */
export interface StagedForAddresses {
  position: number;
  outcome: string | null;
  estate_id: number | null;
  address_ids: { id: number; role: string }[];
  payload: TransferObject;
}

/** One importable contact of the chunk: where it stands, its role at the estate, and its keys. */
export interface ChunkContact {
  position: number;
  contact: ContactData;
  role: string;
  /** The estate's user: the owner of an address made for it. */
  user: string | null;
  keys: ContactKeys;
}

/** What the candidates are loaded by (any of them may match one of the chunk's contacts). */
export interface CandidateSearch {
  externalIds: string[];
  lasts: string[];
  companies: string[];
  emails: string[];
  phones: string[];
  /** Contacts without a name or company match the same street and town among addresses without either. */
  namelessPlaces: { city: string; street: string }[];
}

/** The chunk's result: each position's addresses with their roles, the addresses to insert and to update. */
export interface ChunkMatch {
  links: Map<number, { address: AddressCandidate; role: string }[]>;
  /** New addresses, in the order the chunk made them. */
  fresh: AddressCandidate[];
  /** Stored addresses the chunk changed. */
  changed: AddressCandidate[];
}

/**
 * The chunk's importable contacts (a name or company, or a way to reach the person) in document order:
 * the owner (ansprechpartner), then further addresses (their role, else weitere_adresse).
 */
export function chunkContacts(rows: StagedForAddresses[], userOfEstate: Map<number, string>): ChunkContact[] {
  const work: ChunkContact[] = [];
  for (const r of rows) {
    const o = r.payload;
    const user = r.estate_id ? (userOfEstate.get(r.estate_id) ?? null) : null;
    const add = (contact: ContactData, role: string) => work.push({ position: r.position, contact, role, user, keys: contactKeys(contact) });
    if (isImportableContact(o.contact)) add(o.contact, 'ansprechpartner');
    for (const w of o.furtherAddresses ?? []) if (isImportableContact(w)) add(w, (w.role ?? 'weitere_adresse').toLowerCase());
  }
  return work;
}

/** The keys to load candidates by: every key of every contact, each once. */
export function candidateSearch(contacts: ChunkContact[]): CandidateSearch {
  const uniq = <T>(xs: (T | null)[]) => [...new Set(xs.filter((x): x is T => x != null))];
  const keys = contacts.map((w) => w.keys);
  return {
    externalIds: uniq(keys.map((k) => k.externalId)),
    lasts: uniq(keys.map((k) => k.last)),
    companies: uniq(keys.map((k) => k.company)),
    emails: uniq(keys.flatMap((k) => k.emails)),
    phones: uniq(keys.flatMap((k) => k.phones)),
    namelessPlaces: keys.flatMap((k) => (!k.last && !k.company && k.city && k.street ? [{ city: k.city, street: k.street }] : [])),
  };
}

/** A stored address as a candidate: its fields, bags and stored keys (norm_* columns). */
export function storedCandidate(r: StoredAddressRow): AddressCandidate {
  return {
    id: r.id,
    isNew: false,
    dirty: false,
    fields: Object.fromEntries(Object.values(FIELD_COLUMNS).map((col) => [col, (r[col] as string | null) ?? null])),
    emails: r.emails ?? {},
    phones: r.phones ?? {},
    keys: {
      externalId: (r.external_person_id as string | null) ?? null,
      last: r.norm_last as string | null,
      first: r.norm_first as string | null,
      city: r.norm_city as string | null,
      street: r.norm_street as string | null,
      company: r.norm_company as string | null,
      emails: (r.norm_emails as string[]) ?? [],
      phones: (r.norm_phones as string[]) ?? [],
    },
    user: r.user_name,
  };
}

/**
 * Matches the chunk's contacts in document order against the candidates (oldest first) and the
 * addresses made before them in the chunk; a contact that matches none makes a new address, in its
 * estate's user's records. Each match takes what the contact carries (mergeContact). A position links
 * an address in a role once. The candidates are not changed; the addresses are copies.
 */
export function matchChunkContacts(contacts: ChunkContact[], candidates: AddressCandidate[]): ChunkMatch {
  const known = candidates.map((c) => ({ ...c, fields: { ...c.fields } }));
  const links: ChunkMatch['links'] = new Map();
  for (const w of contacts) {
    let address = findMatch(known, w.keys);
    if (!address) {
      address = newAddress(w.user);
      known.push(address);
    }
    mergeContact(address, w.contact);
    const list = links.get(w.position) ?? [];
    if (!list.some((l) => l.address === address && l.role === w.role)) list.push({ address, role: w.role });
    links.set(w.position, list);
  }
  return { links, fresh: known.filter((c) => c.isNew), changed: known.filter((c) => !c.isNew && c.dirty) };
}

function newAddress(user: string | null): AddressCandidate {
  return {
    id: null,
    isNew: true,
    dirty: true,
    fields: Object.fromEntries(Object.values(FIELD_COLUMNS).map((col) => [col, null])),
    emails: {},
    phones: {},
    keys: { externalId: null, last: null, first: null, city: null, street: null, company: null, emails: [], phones: [] },
    user,
  };
}

/**
 * Fills what the transfer carries into the address; keeps what it leaves empty (a field, an e-mail or
 * phone it does not name). The keys are those of the merged address, with every e-mail and phone key it
 * ever had. Never re-owns an address (the user stays).
 */
export function mergeContact(cand: AddressCandidate, c: ContactData): void {
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

/** The columns an address is written with: its fields, the e-mail and phone bags, and its keys (norm_*). */
export function addressColumns(c: AddressCandidate): Record<string, unknown> {
  return {
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
  };
}

/** A new address's columns: as addressColumns, with contact origin IMV, status Aktiv, in its user's records. */
export function newAddressColumns(c: AddressCandidate): Record<string, unknown> {
  return { ...addressColumns(c), contact_origin: 'IMV', status: 'Aktiv', user_name: c.user };
}
