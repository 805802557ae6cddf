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

export interface ContactKeys {
  externalId: string | null;
  last: string | null;
  first: string | null;
  city: string | null;
  street: string | null;
  company: string | null;
  emails: string[];
}

export function contactKeys(c: ContactData): ContactKeys {
  const emails = [
    ...new Set(
      Object.values(c.emails)
        .map((e) => norm(e))
        .filter((e): e is string => !!e),
    ),
  ];
  return {
    externalId: c.externalId?.trim() || null,
    last: norm(c.lastName),
    first: norm(c.firstName),
    city: norm(c.city),
    street: normStreet(c.street, c.houseNumber),
    company: norm(c.company),
    emails,
  };
}

/**
 * A contact that can become an address: it has an identity, a (last) name or a company, as an
 * onOffice address record and its duplicate check need. An e-mail, a phone, a first name or a person
 * number alone identify nobody a user could recognise, so they create (or match) no address.
 */
export function isImportableContact(c: ContactData | null): c is ContactData {
  if (!c) return false;
  return !!(c.lastName?.trim() || c.company?.trim());
}

/** What a contact without identity does carry, by kind (never the values: personal data). */
function carriedKinds(c: ContactData): string[] {
  const kinds: [string, boolean][] = [
    ['first name', !!c.firstName?.trim()],
    ['e-mail', Object.keys(c.emails).length > 0],
    ['phone', Object.keys(c.phones).length > 0],
    ['postal address', !!(c.street || c.houseNumber || c.zip || c.city || c.country)],
    ['person number', !!c.externalId?.trim()],
    ['salutation', !!(c.salutation || c.title)],
    ['url', !!c.url],
  ];
  return kinds.filter(([, has]) => has).map(([k]) => k);
}

/**
 * Per-object warnings for address elements that give no address: present but empty, or without a
 * name or company. A DELETE imports no contact, so it has none. The text names the element and what
 * kinds of data it had, never the data.
 */
export function contactWarnings(o: Pick<TransferObject, 'action' | 'contact' | 'furtherAddresses' | 'emptyAddresses'>): string[] {
  if (o.action === 'DELETE') return [];
  const what = (field: string) => (field === 'kontaktperson' ? 'no owner address created' : 'no address created');
  const out = (o.emptyAddresses ?? []).map((field) => `${field} is empty: ${what(field)}`);
  const contacts: [ContactData, string][] = [];
  if (o.contact) contacts.push([o.contact, o.contact.field ?? 'kontaktperson']);
  for (const w of o.furtherAddresses ?? []) contacts.push([w, w.field ?? 'weitere_adresse']);
  for (const [c, field] of contacts) {
    if (isImportableContact(c)) continue;
    const kinds = carriedKinds(c);
    out.push(`${field} has no name or company${kinds.length ? ` (only ${kinds.join(', ')})` : ''}: ${what(field)}`);
  }
  return out;
}

/**
 * The de-duplication steps in onOffice's order; first match wins:
 * (0) same external person id, (1) last + first name + city + street, (2) e-mail + last name,
 * (3) e-mail + company, otherwise a new address. A step applies only when all its keys are present.
 */
export type MatchStep =
  | { step: 0; externalId: string }
  | { step: 1; last: string; first: string; city: string; street: string }
  | { step: 2; emails: string[]; last: string }
  | { step: 3; emails: string[]; company: string };

export function matchSteps(k: ContactKeys): MatchStep[] {
  const steps: MatchStep[] = [];
  if (k.externalId) steps.push({ step: 0, externalId: k.externalId });
  if (k.last && k.first && k.city && k.street) steps.push({ step: 1, last: k.last, first: k.first, city: k.city, street: k.street });
  if (k.emails.length && k.last) steps.push({ step: 2, emails: k.emails, last: k.last });
  if (k.emails.length && k.company) steps.push({ step: 3, emails: k.emails, company: k.company });
  return steps;
}

/** The normalized keys an address is matched on, as stored in its norm_* columns: a contact's keys. */
export type AddressKeys = ContactKeys;

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
      }
    });
    if (hit) return hit;
  }
  return null;
}
