import type { ContactData, TransferObject } from '../openimmo/types';

/** Normalized keys for onOffice's contact de-duplication (case, spacing and ß/ss insensitive). */
export function norm(v: string | null | undefined): string | null {
  if (v == null) return null;
  const s = v.normalize('NFC').toLowerCase().replace(/ß/g, 'ss').replace(/\s+/g, ' ').trim();
  return s === '' ? null : s;
}

/** Street with the usual abbreviations folded, so "Hauptstr. 5" and "Hauptstraße 5" match. */
export function normStreet(street: string | null | undefined, houseNumber: string | null | undefined): string | null {
  const s = norm(street);
  if (!s) return null;
  const folded = s.replace(/str\.?(?=\s|$)/g, 'strasse'); // norm() has made ß an ss already
  const hn = norm(houseNumber);
  return hn ? `${folded} ${hn.replace(/\s+/g, '')}` : folded;
}

/** Countries whose national numbers start with the trunk prefix 0, by calling code (0221 … = +49 221 …). */
const TRUNK_ZERO: Record<string, string> = { DEU: '49', AUT: '43', CHE: '41' };
/** Digits of a phone key (calling code included): shorter is a fragment or junk, longer is no phone (E.164 allows 15; extensions). */
export const MIN_PHONE_DIGITS = 7;
export const MAX_PHONE_DIGITS = 20;

/**
 * A phone number as a match key: digits only, international form where it can tell. `00` and `+`
 * mean international; a leading 0 is the trunk prefix of the contact's country (Germany when it names
 * none, as the IMV channel's addresses are German); "+49 (0)221" and "+49 0221" drop the trunk 0. So
 * "0221 / 555-01 23", "+49 (0) 221 5550123" and "0049 221 5550123" are one key. A number without an
 * area code or from another country stays as its digits. Too short or too long: no key.
 */
export function normPhone(v: string | null | undefined, country: string | null = null): string | null {
  if (v == null) return null;
  const s = v.normalize('NFKC').trim(); // NFKC: full-width digits are digits
  let d = s.replace(/\D/g, '');
  let international = true;
  if (s.startsWith('+') || d.startsWith('00')) {
    if (!s.startsWith('+')) d = d.slice(2);
    const cc = Object.values(TRUNK_ZERO).find((c) => d.startsWith(c) && d[c.length] === '0');
    if (cc) d = cc + d.slice(cc.length + 1); // the trunk 0 written after the calling code
  } else if (d.startsWith('0') && TRUNK_ZERO[country ?? 'DEU']) {
    d = TRUNK_ZERO[country ?? 'DEU'] + d.slice(1);
  } else {
    international = false; // no area code, or a country whose trunk rule we do not know: its digits
  }
  if (d.length < MIN_PHONE_DIGITS || d.length > MAX_PHONE_DIGITS) return null;
  return international ? `+${d}` : d;
}

/** An e-mail address as a match key for a contact without a name: the normalized value when it looks like one. */
const EMAIL_SHAPE = /^[^@\s]+@[^@\s]+$/;
const MAX_EMAIL_LENGTH = 254; // RFC 5321
function usableEmail(e: string): boolean {
  return e.length <= MAX_EMAIL_LENGTH && EMAIL_SHAPE.test(e);
}

export interface ContactKeys {
  externalId: string | null;
  last: string | null;
  first: string | null;
  city: string | null;
  street: string | null;
  company: string | null;
  emails: string[];
  /** normPhone of every phone, without duplicates. */
  phones: string[];
}

export function contactKeys(c: ContactData): ContactKeys {
  const uniq = (xs: (string | null)[]) => [...new Set(xs.filter((x): x is string => !!x))];
  return {
    externalId: c.externalId?.trim() || null,
    last: norm(c.lastName),
    first: norm(c.firstName),
    city: norm(c.city),
    street: normStreet(c.street, c.houseNumber),
    company: norm(c.company),
    emails: uniq(Object.values(c.emails).map((e) => norm(e))),
    phones: uniq(Object.values(c.phones).map((p) => normPhone(p, c.country))),
  };
}

/** A name or a company: what onOffice's address records and duplicate check are built on. */
export function hasIdentity(c: ContactData): boolean {
  return !!(c.lastName?.trim() || c.company?.trim());
}

/** The ways a contact can be reached: an e-mail, a phone (usable as such), a postal address (street and town). */
function reachKinds(k: ContactKeys): { email: boolean; phone: boolean; postal: boolean } {
  return { email: k.emails.some(usableEmail), phone: k.phones.length > 0, postal: !!(k.street && k.city) };
}

/**
 * A contact that becomes an address: one with a (last) name or a company, or, without them, one that
 * says how to reach the person (an e-mail, a phone, a postal address). For IMV the owner's phone is
 * often all there is, and the most valuable field. A first name, a person number, a salutation or a
 * URL alone reach nobody: no address.
 */
export function isImportableContact(c: ContactData | null): c is ContactData {
  if (!c) return false;
  if (hasIdentity(c)) return true;
  const r = reachKinds(contactKeys(c));
  return r.email || r.phone || r.postal;
}

/** What a contact without identity does carry, by kind (never the values: personal data). */
function carriedKinds(c: ContactData): string[] {
  const r = reachKinds(contactKeys(c));
  const kinds: [string, boolean][] = [
    ['first name', !!c.firstName?.trim()],
    [r.email ? 'e-mail' : 'e-mail that is no address', Object.keys(c.emails).length > 0],
    [r.phone ? 'phone' : 'phone that is no number', Object.keys(c.phones).length > 0],
    [r.postal ? 'postal address' : 'part of a postal address', !!(c.street || c.houseNumber || c.zip || c.city || c.country)],
    ['person number', !!c.externalId?.trim()],
    ['salutation', !!(c.salutation || c.title)],
    ['url', !!c.url],
  ];
  return kinds.filter(([, has]) => has).map(([k]) => k);
}

/**
 * Per-object warnings for address elements without a name or company: present but empty, without
 * anything to reach the person by (no address), or with only that (an address without a name). A
 * DELETE imports no contact, so it has none. The text names the element and what kinds of data it
 * had, never the data.
 */
export function contactWarnings(o: Pick<TransferObject, 'action' | 'contact' | 'furtherAddresses' | 'emptyAddresses'>): string[] {
  if (o.action === 'DELETE') return [];
  const what = (field: string) => (field === 'kontaktperson' ? 'owner address' : 'address');
  const out = (o.emptyAddresses ?? []).map((field) => `${field} is empty: no ${what(field)} created`);
  const contacts: [ContactData, string][] = [];
  if (o.contact) contacts.push([o.contact, o.contact.field ?? 'kontaktperson']);
  for (const w of o.furtherAddresses ?? []) contacts.push([w, w.field ?? 'weitere_adresse']);
  for (const [c, field] of contacts) {
    if (hasIdentity(c)) continue;
    const kinds = carriedKinds(c);
    const outcome = isImportableContact(c) ? `${what(field)} created without a name` : `no ${what(field)} created`;
    out.push(`${field} has no name or company${kinds.length ? ` (only ${kinds.join(', ')})` : ''}: ${outcome}`);
  }
  return out;
}

/**
 * The de-duplication steps; first match wins. A contact with a name or a company follows onOffice's
 * order: (0) same external person id, (1) last + first name + city + street, (2) e-mail + last name,
 * (3) e-mail + company, otherwise a new address. A contact without either has (0), then (4) a shared
 * e-mail, (5) a shared phone, (6) the same postal address and first name, and steps 4–6 look only at
 * addresses that have no name or company either: an e-mail or phone shared in a family or an office
 * must not pour a nameless contact into a named person's record. A step applies only when all its keys
 * are present.
 */
export type MatchStep =
  | { step: 0; externalId: string }
  | { step: 1; last: string; first: string; city: string; street: string }
  | { step: 2; emails: string[]; last: string }
  | { step: 3; emails: string[]; company: string }
  | { step: 4; emails: string[] }
  | { step: 5; phones: string[] }
  | { step: 6; city: string; street: string; first: string | null };

export function matchSteps(k: ContactKeys): MatchStep[] {
  const steps: MatchStep[] = [];
  if (k.externalId) steps.push({ step: 0, externalId: k.externalId });
  if (k.last || k.company) {
    if (k.last && k.first && k.city && k.street) steps.push({ step: 1, last: k.last, first: k.first, city: k.city, street: k.street });
    if (k.emails.length && k.last) steps.push({ step: 2, emails: k.emails, last: k.last });
    if (k.emails.length && k.company) steps.push({ step: 3, emails: k.emails, company: k.company });
    return steps;
  }
  const emails = k.emails.filter(usableEmail);
  if (emails.length) steps.push({ step: 4, emails });
  if (k.phones.length) steps.push({ step: 5, phones: k.phones });
  if (k.city && k.street) steps.push({ step: 6, city: k.city, street: k.street, first: k.first });
  return steps;
}

/** The normalized keys an address is matched on, as stored in its norm_* columns: a contact's keys. */
export type AddressKeys = ContactKeys;

const nameless = (a: AddressKeys) => !a.last && !a.company;

/**
 * The first candidate a step matches, steps in onOffice's order and, within a step, the oldest
 * address (lowest position in `candidates`) first. Pure: the activity preloads the candidates.
 */
export function findMatch<T extends { keys: AddressKeys }>(candidates: T[], k: ContactKeys): T | null {
  for (const s of matchSteps(k)) {
    const hit = candidates.find((c) => {
      const a = c.keys;
      switch (s.step) {
        case 0:
          return a.externalId === s.externalId;
        case 1:
          return a.last === s.last && a.first === s.first && a.city === s.city && a.street === s.street;
        case 2:
          return a.last === s.last && a.emails.some((e) => s.emails.includes(e));
        case 3:
          return a.company === s.company && a.emails.some((e) => s.emails.includes(e));
        case 4:
          return nameless(a) && a.emails.some((e) => s.emails.includes(e));
        case 5:
          return nameless(a) && a.phones.some((p) => s.phones.includes(p));
        case 6:
          return nameless(a) && a.city === s.city && a.street === s.street && a.first === s.first;
      }
    });
    if (hit) return hit;
  }
  return null;
}
