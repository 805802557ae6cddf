/**
 * XmlElement (one `immobilie`, one `anbieter`, the `uebertragung`) → the normalized transfer types.
 *
 * Pure and lenient (design §3): any element order, empty elements, odd values. An oddity becomes a
 * warning naming the field; only a missing id makes an object unusable, and that is decided later
 * (sourceId null). Warnings never carry personal data: values from addresses are not echoed.
 */
import type {
  AttachmentRef,
  ContactData,
  EnergyCertificate,
  EstateFields,
  ObjectAction,
  ProviderInfo,
  TransferHeader,
  TransferObject,
  UserField,
  XmlElement,
} from './types';
import { TransferError } from './errors';
import { attr, child, childText, childrenNamed, deepText, elementChildren, hasElementChildren, innerXml, richText, text } from './tree';
import {
  booleanField,
  countryField,
  dateOrTimestampField,
  decimalField,
  integerField,
  parseDate,
  parseTimestamp,
  quoteForWarning,
  textDamage,
  textDamageWarning,
  textValue,
} from './values';

/** The IMV channel's prefix for the CRM's external number (R4); stripped so it is never added twice. */
const IMV_PREFIX = /^IMVO-ID-/i;
export const USER_FIELD_NAME = 'onoffice_benutzer';

/**
 * Longest value (UTF-8 bytes, after the NFC + lower-casing the address de-duplication applies) of a
 * field the CRM identifies records by: the object id, the provider id and the owner's name, first
 * name, city, street, house number and person number. Real values are a few dozen bytes. The limit
 * exists because PostgreSQL cannot index values above ~2.7 KB and the de-duplication index holds four
 * of these fields: an over-long value there would fail every attempt to store the object, where it
 * should be one clear per-object outcome.
 */
export const MAX_KEY_BYTES = 400;

/** Byte length as the matching sees the value; null when within MAX_KEY_BYTES. */
export function overlongKey(value: string | null): number | null {
  // Cheap path: NFC and lower-casing grow a UTF-16 unit to at most 3 code points of ≤ 4 bytes.
  if (value === null || value.length * 12 <= MAX_KEY_BYTES) return null;
  const n = Buffer.byteLength(value.normalize('NFC').toLowerCase(), 'utf8');
  return n > MAX_KEY_BYTES ? n : null;
}

function overlongMessage(field: string, value: string): string {
  return `${field} is ${value.length} characters long, more than the limit of ${MAX_KEY_BYTES} bytes for a value records are matched on`;
}

/**
 * Typed numeric columns of the CRM's estate record, as |value| bounds (precision and scale of the
 * column, rounding included). A value beyond them is a typo or an attack, never a price: it becomes a
 * warning and null, the value as written stays in `raw`. Unbounded, it would fail every attempt to
 * store the object.
 */
export const NUMERIC_BOUNDS = {
  price: 999_999_999_999.99, // numeric(14,2): kaufpreis
  amount: 9_999_999_999.99, // numeric(12,2): rents, costs, living and usable area
  plot: 999_999_999_999.99, // numeric(14,2): plot area
  rooms: 99_999.9, // numeric(6,1)
  integer: 2_147_483_647, // integer: year built
} as const;

export interface ObjectContext {
  /** 0-based position of the immobilie in the file. */
  position: number;
  /** Index of the enclosing anbieter (-1 when the immobilie is not inside one). */
  providerIndex: number;
  /**
   * Whether any text of the object passed `mayBeDamaged` (the reader tests each text run as it arrives);
   * false skips the search for damaged text. Absent: the mapping searches.
   */
  suspectText?: boolean;
}

/** Direct children by local name (first occurrence): the groups of an immobilie. */
function groups(el: XmlElement): Map<string, XmlElement> {
  const m = new Map<string, XmlElement>();
  for (const k of el.children ?? []) if (typeof k !== 'string' && !m.has(k.name)) m.set(k.name, k);
  return m;
}

// ---------------------------------------------------------------------------------------------------------
// Generic user fields

/**
 * user_defined_simplefield / _anyfield / _extend anywhere below `el`, with the parent's local name as
 * section. Nothing inside a user field is searched again (an anyfield may hold anything).
 */
export function collectUserFields(el: XmlElement, out: UserField[] = []): UserField[] {
  const kids = el.children;
  if (!kids) return out;
  for (let i = 0; i < kids.length; i++) {
    const k = kids[i]!;
    if (typeof k === 'string') continue;
    const n = k.name;
    if (n.length > 13 && n.startsWith('user_defined_')) userFieldsOf(k, el.name, out);
    else if (k.children) collectUserFields(k, out);
  }
  return out;
}

function userFieldsOf(f: XmlElement, section: string, out: UserField[]): void {
  switch (f.name) {
    case 'user_defined_simplefield':
      out.push({ section, kind: 'simplefield', name: (attr(f, 'feldname') ?? '').trim(), value: deepText(f).trim() });
      break;
    case 'user_defined_extend':
      // <feld><name/><wert/><typ/><modus/></feld>: name and value; typ/modus stay in raw.
      for (const feld of childrenNamed(f, 'feld')) {
        out.push({ section, kind: 'extend', name: childText(feld, 'name') ?? '', value: childText(feld, 'wert') ?? '' });
      }
      break;
    case 'user_defined_anyfield': {
      // Free XML: one field per child element (name = its local name, value = its text or markup).
      const els = elementChildren(f);
      if (els.length === 0) {
        const v = deepText(f).trim();
        if (v !== '') out.push({ section, kind: 'anyfield', name: (attr(f, 'feldname') ?? '').trim(), value: v });
      }
      for (const e of els) {
        const v = (hasElementChildren(e) ? innerXml(e) : deepText(e)).trim();
        out.push({ section, kind: 'anyfield', name: e.name, value: v });
      }
      break;
    }
    default:
      // An unknown user_defined_* element: keep it as anyfield rather than lose its meaning.
      out.push({ section, kind: 'anyfield', name: f.name, value: (hasElementChildren(f) ? innerXml(f) : deepText(f)).trim() });
  }
}

function simplefield(fields: UserField[], section: string, name: string): string | null {
  for (const f of fields) {
    if (f.kind === 'simplefield' && f.section === section && f.name.toLowerCase() === name && f.value !== '') {
      return f.value;
    }
  }
  return null;
}

// ---------------------------------------------------------------------------------------------------------
// Header and provider

export function mapHeader(attrs: Record<string, string>): TransferHeader {
  const get = (k: string): string | null => textValue(attrs[k]);
  const ts = get('timestamp');
  return {
    version: get('version'),
    umfang: get('umfang')?.toUpperCase() ?? null,
    modus: get('modus'),
    sendersoftware: get('sendersoftware'),
    timestamp: ts === null ? null : (parseTimestamp(ts) ?? null),
    attrs: { ...attrs },
  };
}

/** `fields`: the anbieter's direct child elements except its immobilien (those are streamed away). */
export function mapProvider(index: number, fields: readonly XmlElement[]): ProviderInfo {
  const anbieter: XmlElement = { name: 'anbieter', children: [...fields] };
  const userFields = collectUserFields(anbieter);
  const anbieternr = childText(anbieter, 'anbieternr');
  const openimmoAnid = childText(anbieter, 'openimmo_anid');
  // The provider id scopes every object of the anbieter (mirror mode): not a per-object matter.
  for (const [field, v] of [
    ['anbieternr', anbieternr],
    ['openimmo_anid', openimmoAnid],
  ] as const) {
    if (overlongKey(v) !== null) {
      throw new TransferError('TooLarge', `anbieter ${index + 1}: ${overlongMessage(`anbieter/${field}`, v!)}`, {
        limit: MAX_KEY_BYTES,
        element: field,
      });
    }
  }
  return {
    index,
    anbieternr,
    firma: childText(anbieter, 'firma'),
    openimmoAnid,
    user: simplefield(userFields, 'anbieter', USER_FIELD_NAME),
    userFields,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Estate

const USAGE_FLAGS = ['WOHNEN', 'GEWERBE', 'ANLAGE', 'WAZ'] as const;
const MARKETING_FLAGS = ['KAUF', 'MIETE_PACHT', 'ERBPACHT', 'LEASING'] as const;

/** The attribute flags set true, joined with `,` in the schema's order; null when none is. */
function flagsSet(el: XmlElement | null, names: readonly string[], field: string, warnings: string[]): string | null {
  if (!el) return null;
  const set: string[] = [];
  for (const n of names) {
    const v = attr(el, n);
    if (v === null) continue;
    if (booleanField(v, `${field}/@${n}`, warnings)) set.push(n);
  }
  return set.length ? set.join(',') : null;
}

/** iso_land attribute, tolerating the code written as text (`<land>DE</land>`). */
function landCode(land: XmlElement | null): string | null {
  if (!land) return null;
  return textValue(attr(land, 'iso_land')) ?? text(land);
}

function coordinate(raw: string | null, field: string, limit: number, warnings: string[]): number | null {
  const n = decimalField(raw, field, warnings);
  if (n === null) return null;
  if (Math.abs(n) > limit) {
    warnings.push(`${field}: out of range ${quoteForWarning(String(raw))}`);
    return null;
  }
  return n;
}

function energyCertificate(fields: Record<string, string>, field: string, warnings: string[]): EnergyCertificate {
  const f = (k: string): string | null => textValue(fields[k]);
  const dateOrText = (k: string): string | null => {
    const v = f(k);
    return v === null ? null : (parseDate(v) ?? v); // "text as written" when it is not a date
  };
  const demandKey = fields['endenergiebedarf'] !== undefined ? 'endenergiebedarf' : 'energiebedarf';
  return {
    art: f('epart') ?? f('art'),
    validUntil: dateOrText('gueltig_bis'),
    energyDemand: decimalField(fields[demandKey], `${field}/${demandKey}`, warnings),
    energyConsumption: decimalField(fields['energieverbrauchkennwert'], `${field}/energieverbrauchkennwert`, warnings),
    primaryEnergySource: f('primaerenergietraeger'),
    efficiencyClass: f('wertklasse'),
    yearBuilt: f('baujahr'),
    issueDate: dateOrText('ausstelldatum'),
    fields,
  };
}

function energyCertificates(zustand: XmlElement | null, userFields: UserField[], warnings: string[]): EnergyCertificate[] {
  const out: EnergyCertificate[] = [];
  const passes = childrenNamed(zustand, 'energiepass');
  passes.forEach((pass, i) => {
    const fields: Record<string, string> = {};
    for (const e of elementChildren(pass)) {
      if (fields[e.name] === undefined) fields[e.name] = deepText(e).trim();
    }
    const label = passes.length > 1 ? `zustand_angaben/energiepass[${i + 1}]` : 'zustand_angaben/energiepass';
    out.push(energyCertificate(fields, label, warnings));
  });
  // Before 1.2.7 exporters sent the certificate as user_defined_simplefield feldname="epass_*".
  const legacy: Record<string, string> = {};
  let any = false;
  for (const u of userFields) {
    if (u.kind !== 'simplefield') continue;
    const n = u.name.toLowerCase();
    if (!n.startsWith('epass_') || n.length <= 6) continue;
    const key = n.slice(6);
    if (legacy[key] === undefined) legacy[key] = u.value;
    any = true;
  }
  if (any) out.push(energyCertificate(legacy, 'user_defined_simplefield epass_*', warnings));
  return out;
}

function boundedInteger(raw: string | null, field: string, bound: number, warnings: string[]): number | null {
  const n = integerField(raw, field, warnings);
  if (n !== null && !(Math.abs(n) <= bound)) {
    warnings.push(`${field}: out of range ${quoteForWarning(raw!)}`);
    return null;
  }
  return n;
}

function estateFields(g: Map<string, XmlElement>, userFields: UserField[], warnings: string[]): EstateFields {
  const kat = g.get('objektkategorie') ?? null;
  const geo = g.get('geo') ?? null;
  const preise = g.get('preise') ?? null;
  const flaechen = g.get('flaechen') ?? null;
  const zustand = g.get('zustand_angaben') ?? null;
  const freitexte = g.get('freitexte') ?? null;
  const vo = g.get('verwaltung_objekt') ?? null;

  let kind: string | null = null;
  let kindType: string | null = null;
  const objektart = child(kat, 'objektart');
  if (objektart) {
    const first = elementChildren(objektart).find((e) => e.name !== 'objektart_zusatz');
    if (first) {
      kind = first.name;
      for (const k in first.attrs ?? {}) {
        if (k.toLowerCase().endsWith('typ')) {
          kindType = textValue(first.attrs![k]);
          break;
        }
      }
    }
  }

  const koord = child(geo, 'geokoordinaten');
  const dec = (el: XmlElement | null, group: string, name: string, bound: number = Number.MAX_VALUE): number | null => {
    const raw = childText(el, name);
    const n = decimalField(raw, `${group}/${name}`, warnings);
    if (n !== null && !(Math.abs(n) <= bound)) {
      warnings.push(`${group}/${name}: out of range ${quoteForWarning(raw!)}`);
      return null;
    }
    return n;
  };
  const B = NUMERIC_BOUNDS;

  const baujahrText = childText(zustand, 'baujahr');

  return {
    kind,
    kindType,
    marketingType: flagsSet(child(kat, 'vermarktungsart'), MARKETING_FLAGS, 'objektkategorie/vermarktungsart', warnings),
    usageType: flagsSet(child(kat, 'nutzungsart'), USAGE_FLAGS, 'objektkategorie/nutzungsart', warnings),
    street: childText(geo, 'strasse'),
    houseNumber: childText(geo, 'hausnummer'),
    zip: childText(geo, 'plz'),
    city: childText(geo, 'ort'),
    district: childText(geo, 'regionaler_zusatz'),
    country: countryField(landCode(child(geo, 'land')), 'geo/land/@iso_land', warnings),
    latitude: coordinate(attr(koord, 'breitengrad'), 'geo/geokoordinaten/@breitengrad', 90, warnings),
    longitude: coordinate(attr(koord, 'laengengrad'), 'geo/geokoordinaten/@laengengrad', 180, warnings),
    floor: childText(geo, 'etage'),
    addressPublishable: booleanField(childText(vo, 'objektadresse_freigeben'), 'verwaltung_objekt/objektadresse_freigeben', warnings),
    purchasePrice: dec(preise, 'preise', 'kaufpreis', B.price),
    coldRent: child(preise, 'kaltmiete') ? dec(preise, 'preise', 'kaltmiete', B.amount) : dec(preise, 'preise', 'nettokaltmiete', B.amount),
    warmRent: dec(preise, 'preise', 'warmmiete', B.amount),
    additionalCosts: dec(preise, 'preise', 'nebenkosten', B.amount),
    heatingCosts: dec(preise, 'preise', 'heizkosten'),
    deposit: childText(preise, 'kaution') ?? childText(preise, 'kaution_text'),
    houseMoney: dec(preise, 'preise', 'hausgeld'),
    commission: childText(preise, 'aussen_courtage'),
    currency: textValue(attr(child(preise, 'waehrung'), 'iso_waehrung'))?.toUpperCase() ?? null,
    livingArea: dec(flaechen, 'flaechen', 'wohnflaeche', B.amount),
    usableArea: dec(flaechen, 'flaechen', 'nutzflaeche', B.amount),
    plotArea: dec(flaechen, 'flaechen', 'grundstuecksflaeche', B.plot),
    officeArea: dec(flaechen, 'flaechen', 'bueroflaeche'),
    totalArea: dec(flaechen, 'flaechen', 'gesamtflaeche'),
    rooms: dec(flaechen, 'flaechen', 'anzahl_zimmer', B.rooms),
    bedrooms: dec(flaechen, 'flaechen', 'anzahl_schlafzimmer'),
    bathrooms: dec(flaechen, 'flaechen', 'anzahl_badezimmer'),
    yearBuilt: boundedInteger(baujahrText, 'zustand_angaben/baujahr', B.integer, warnings),
    condition: textValue(attr(child(zustand, 'zustand'), 'zustand_art')),
    availableFrom: childText(vo, 'verfuegbar_ab') ?? childText(vo, 'abdatum'),
    title: text(child(freitexte, 'objekttitel')),
    description: richText(child(freitexte, 'objektbeschreibung')) ?? richText(child(freitexte, 'objekt_text')),
    locationText: richText(child(freitexte, 'lage')),
    featuresText: richText(child(freitexte, 'ausstatt_beschr')),
    otherText: richText(child(freitexte, 'sonstige_angaben')),
    energyCertificates: energyCertificates(zustand, userFields, warnings),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Contacts

/** Repeated elements (two `email_sonstige`) keep all values: the second is `email_sonstige#2`. */
function addKeyed(into: Record<string, string>, key: string, value: string): void {
  if (into[key] === undefined) {
    into[key] = value;
    return;
  }
  let n = 2;
  while (into[`${key}#${n}`] !== undefined) n++;
  into[`${key}#${n}`] = value;
}

export function mapContact(el: XmlElement | null, role: string | null, field: string, warnings: string[]): ContactData | null {
  return readContact(el, role, field, warnings).contact;
}

/** The contact, and whether the element was there but empty (as opposed to absent or dropped with a warning). */
function readContact(el: XmlElement | null, role: string | null, field: string, warnings: string[]): { contact: ContactData | null; empty: boolean } {
  if (!el) return { contact: null, empty: false };
  const emails: Record<string, string> = {};
  const phones: Record<string, string> = {};
  for (const k of elementChildren(el)) {
    if (k.name.startsWith('email_')) {
      const v = text(k);
      if (v !== null) addKeyed(emails, k.name, v);
    } else if (k.name.startsWith('tel_')) {
      const v = text(k);
      if (v !== null) addKeyed(phones, k.name, v);
    }
  }
  const c: ContactData = {
    externalId: childText(el, 'personennummer') ?? childText(el, 'referenz_id'),
    salutation: childText(el, 'anrede'),
    title: childText(el, 'titel'),
    firstName: childText(el, 'vorname'),
    lastName: childText(el, 'name'),
    company: childText(el, 'firma'),
    street: childText(el, 'strasse'),
    houseNumber: childText(el, 'hausnummer'),
    zip: childText(el, 'plz'),
    city: childText(el, 'ort'),
    country: countryField(landCode(child(el, 'land')), `${field}/land/@iso_land`, warnings, true),
    emails,
    phones,
    url: childText(el, 'url'),
    role,
    field,
  };
  // Values the address de-duplication matches on (never echoed: personal data).
  const keys: [string, string | null][] = [
    ['personennummer/referenz_id', c.externalId],
    ['name', c.lastName],
    ['vorname', c.firstName],
    ['ort', c.city],
    ['strasse', c.street],
    ['hausnummer', c.houseNumber],
  ];
  for (const [name, v] of keys) {
    if (overlongKey(v) !== null) {
      warnings.push(`${overlongMessage(`${field}/${name}`, v!)}; this address is not imported`);
      return { contact: null, empty: false };
    }
  }
  const values = [c.externalId, c.salutation, c.title, c.firstName, c.lastName, c.company, c.street, c.houseNumber, c.zip, c.city, c.country, c.url];
  const empty = values.every((v) => v === null) && Object.keys(emails).length === 0 && Object.keys(phones).length === 0;
  return empty ? { contact: null, empty: true } : { contact: c, empty: false };
}

// ---------------------------------------------------------------------------------------------------------
// Attachments

const URL_PATH = /^https?:\/\//i;

function mapAttachments(imm: XmlElement, warnings: string[]): AttachmentRef[] {
  const out: AttachmentRef[] = [];
  for (const anhaenge of childrenNamed(imm, 'anhaenge')) {
    for (const anhang of childrenNamed(anhaenge, 'anhang')) {
      const position = out.length;
      const daten = child(anhang, 'daten');
      // Lenient: some exporters put pfad/anhanginhalt directly in anhang.
      const inhalt = childText(daten, 'anhanginhalt') ?? childText(anhang, 'anhanginhalt');
      const pfad = childText(daten, 'pfad') ?? childText(anhang, 'pfad');
      let source: AttachmentRef['source'];
      if (inhalt !== null) source = { kind: 'inline', base64: inhalt.replace(/\s+/g, '') };
      else if (pfad !== null) source = URL_PATH.test(pfad) ? { kind: 'url', url: pfad } : { kind: 'path', path: pfad };
      else {
        source = { kind: 'none' };
        warnings.push(`anhaenge/anhang[${position + 1}]: no content (neither daten/pfad nor daten/anhanginhalt)`);
      }
      out.push({
        position,
        group: textValue(attr(anhang, 'gruppe'))?.toUpperCase() ?? null,
        title: childText(anhang, 'anhangtitel'),
        format: childText(anhang, 'format'),
        location: textValue(attr(anhang, 'location')),
        source,
        check: childText(daten, 'check') ?? childText(anhang, 'check'),
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Damaged text

/** Damaged-text warnings per object, at most: a whole object sent garbled is one problem, not fifty. */
export const MAX_TEXT_DAMAGE_WARNINGS = 5;

/**
 * Text the sender damaged (U+FFFD, mojibake): a warning per field, named by its path below the
 * immobilie (`freitexte/objektbeschreibung`, `kontaktperson/name`, a user field by its feldname), never
 * the text. Walks the text nodes once, base64 content skipped; the reader skips the walk for objects in
 * which no text run passed `mayBeDamaged` (a character-class test), which is nearly all of them.
 */
function textDamageWarnings(imm: XmlElement, warnings: string[]): void {
  const found = new Map<string, 'replacement' | 'mojibake'>();
  const path: string[] = [];
  const walk = (el: XmlElement): void => {
    const kids = el.children;
    if (!kids) return;
    for (let i = 0; i < kids.length; i++) {
      const k = kids[i]!;
      if (typeof k === 'string') {
        const d = textDamage(k);
        if (d) {
          const field = path.join('/');
          if (!found.has(field) || d === 'replacement') found.set(field, d);
        }
      } else if (k.name !== 'anhanginhalt' && k.children) {
        const feldname = k.name === 'user_defined_simplefield' ? attr(k, 'feldname') : null;
        path.push(feldname !== null ? `${k.name}[@feldname=${quoteForWarning(feldname)}]` : k.name);
        walk(k);
        path.pop();
      }
    }
  };
  walk(imm);
  let n = 0;
  for (const [field, d] of found) {
    if (n++ < MAX_TEXT_DAMAGE_WARNINGS) warnings.push(textDamageWarning(field, d));
  }
  const more = n - MAX_TEXT_DAMAGE_WARNINGS;
  if (more > 0) warnings.push(`damaged text (U+FFFD or mojibake) in ${more} more field${more === 1 ? '' : 's'}`);
}

// ---------------------------------------------------------------------------------------------------------
// The object

function objectId(raw: string | null): string | null {
  if (raw === null) return null;
  const s = raw.replace(IMV_PREFIX, '').trim();
  return s === '' ? null : s;
}

function mapAction(aktion: XmlElement | null, warnings: string[]): ObjectAction {
  const v = textValue(attr(aktion, 'aktionart'))?.toUpperCase() ?? null;
  switch (v) {
    case null:
    case 'CHANGE':
      return 'UPSERT';
    case 'DELETE':
      return 'DELETE';
    case 'REFERENZ':
      return 'REFERENZ';
    default:
      warnings.push(`verwaltung_techn/aktion/@aktionart: unknown value ${quoteForWarning(v)}, treated as CHANGE`);
      return 'UPSERT';
  }
}

export function mapImmobilie(imm: XmlElement, ctx: ObjectContext): TransferObject {
  const warnings: string[] = [];
  const g = groups(imm);
  const techn = g.get('verwaltung_techn') ?? null;
  const userFields = collectUserFields(imm);

  const openimmoObid = childText(techn, 'openimmo_obid');
  const externId = objectId(childText(techn, 'objektnr_extern'));
  let sourceId = externId ?? objectId(openimmoObid);
  if (sourceId === null) {
    warnings.push('verwaltung_techn: no object id (objektnr_extern and openimmo_obid are missing or empty)');
  } else if (overlongKey(sourceId) !== null) {
    // Not a usable id (and not storable as a key): the object is rejected like one without an id.
    const field = externId !== null ? 'verwaltung_techn/objektnr_extern' : 'verwaltung_techn/openimmo_obid';
    warnings.push(`${overlongMessage(field, sourceId)}: not usable as the object id, the object is rejected`);
    sourceId = null;
  }

  const further: ContactData[] = [];
  const emptyAddresses: string[] = [];
  const kontakt = g.get('kontaktperson') ?? null;
  // 1.2.7 puts weitere_adresse beside kontaktperson; some exporters nest it inside.
  const weitere = [...childrenNamed(imm, 'weitere_adresse'), ...childrenNamed(kontakt, 'weitere_adresse')];
  weitere.forEach((w, i) => {
    const field = `weitere_adresse[${i + 1}]`;
    const c = readContact(w, textValue(attr(w, 'adressart')), field, warnings);
    if (c.contact) further.push(c.contact);
    else if (c.empty) emptyAddresses.push(field);
  });
  // Evaluated in this order so that warnings keep a stable order: action, stand_vom, estate, contact, attachments, damaged text.
  const action = mapAction(child(techn, 'aktion'), warnings);
  const standVom = dateOrTimestampField(childText(techn, 'stand_vom'), 'verwaltung_techn/stand_vom', warnings);
  const estate = estateFields(g, userFields, warnings);
  const contact = readContact(kontakt, null, 'kontaktperson', warnings);
  if (contact.empty) emptyAddresses.unshift('kontaktperson');
  const attachments = mapAttachments(imm, warnings);
  if (ctx.suspectText !== false) textDamageWarnings(imm, warnings);

  return {
    position: ctx.position,
    providerIndex: ctx.providerIndex,
    sourceId,
    openimmoObid,
    action,
    user: simplefield(userFields, 'immobilie', USER_FIELD_NAME),
    standVom,
    estate,
    contact: contact.contact,
    furtherAddresses: further,
    ...(emptyAddresses.length ? { emptyAddresses } : {}),
    userFields,
    attachments,
    raw: imm,
    warnings,
  };
}
