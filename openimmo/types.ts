/**
 * The normalized shape of an OpenImmo transfer, as the reader yields it.
 *
 * Everything here is plain JSON (no Dates, no class instances) because objects are staged in
 * PostgreSQL as jsonb between the parse and the upsert activities.
 */

/** A lossless rendering of one XML element: local name, attributes, children in document order. */
export interface XmlElement {
  /** Local name (prefix and namespace dropped: files in the wild mix them freely). */
  name: string;
  /** Namespace prefix as written, when there was one (kept so an export can reproduce it). */
  prefix?: string;
  /** Attributes by local name, values as written (entities decoded). Omitted when empty. */
  attrs?: Record<string, string>;
  /**
   * Child nodes in document order: elements, and text runs as strings (CDATA included). Whitespace-only
   * text between elements is dropped; text inside mixed content is kept as written. Omitted when empty.
   */
  children?: XmlNode[];
}
export type XmlNode = XmlElement | string;

/** What the transfer asks us to do with the object (verwaltung_techn/aktion/@aktionart). */
export type ObjectAction = 'UPSERT' | 'DELETE' | 'REFERENZ';

export interface TransferHeader {
  /** uebertragung attributes as written (art, umfang, modus, version, sendersoftware, timestamp, …). */
  version: string | null;
  /** `VOLL` or `TEIL` (upper-cased), null when absent. */
  umfang: string | null;
  modus: string | null;
  sendersoftware: string | null;
  /** uebertragung/@timestamp normalized to ISO-8601 (UTC), null when absent or unreadable. */
  timestamp: string | null;
  attrs: Record<string, string>;
}

export interface ProviderInfo {
  /** 0-based index of the `anbieter` element in the file. */
  index: number;
  anbieternr: string | null;
  firma: string | null;
  openimmoAnid: string | null;
  /** onOffice user named on the anbieter (user_defined_simplefield feldname="onoffice_benutzer"). */
  user: string | null;
  userFields: UserField[];
}

export interface UserField {
  /** Where the field was found: the parent element's local name (e.g. `immobilie`, `geo`, `preise`). */
  section: string;
  /** `simplefield` | `anyfield` | `extend` */
  kind: 'simplefield' | 'anyfield' | 'extend';
  name: string;
  value: string;
}

export interface ContactData {
  /** personennummer, else referenz_id (onOffice's de-duplication step 0). */
  externalId: string | null;
  salutation: string | null;
  title: string | null;
  firstName: string | null;
  lastName: string | null;
  company: string | null;
  street: string | null;
  houseNumber: string | null;
  zip: string | null;
  city: string | null;
  /** ISO 3166 alpha-3 (2-letter codes converted). */
  country: string | null;
  /** All e-mails as found, keyed by element (email_direkt, email_privat, email_zentrale, …). */
  emails: Record<string, string>;
  /** All phones as found, keyed by element (tel_durchw, tel_privat, tel_handy, tel_zentrale, tel_fax, …). */
  phones: Record<string, string>;
  url: string | null;
  /** For weitere_adresse: its adressart attribute; for kontaktperson: null. */
  role: string | null;
  /** Where it was found, for messages: `kontaktperson` or `weitere_adresse[2]` (1-based, document order). */
  field?: string;
}

export interface EnergyCertificate {
  art: string | null; // BEDARF / VERBRAUCH
  validUntil: string | null; // gueltig_bis (text as written, or ISO date)
  energyDemand: number | null; // endenergiebedarf / energiebedarf
  energyConsumption: number | null; // energieverbrauchkennwert
  primaryEnergySource: string | null; // primaerenergietraeger
  efficiencyClass: string | null; // wertklasse
  yearBuilt: string | null; // baujahr (in energiepass)
  issueDate: string | null; // ausstelldatum
  /** All child values by local name, as written, for what has no typed field. */
  fields: Record<string, string>;
}

export interface AttachmentRef {
  /** 0-based position in the object's anhaenge, in document order. */
  position: number;
  /** anhang/@gruppe upper-cased (TITELBILD, BILD, GRUNDRISS, DOKUMENTE, …), null when empty. */
  group: string | null;
  title: string | null;
  format: string | null;
  location: string | null;
  /** Where the content is: inline base64 (`anhanginhalt`), a URL, or a path inside the ZIP. */
  source:
    | { kind: 'inline'; base64: string }
    /** Set at staging: inline content moved to the file store (activities/staging.ts). */
    | { kind: 'stored'; sha256: string; size: number }
    | { kind: 'url'; url: string }
    | {
        kind: 'path';
        path: string;
        /** The ZIP entry the path resolved to (set by the reader for ZIP transfers; absent when not found). */
        entry?: string;
      }
    | { kind: 'none' };
  /** daten/check (md5 or timestamp as sent), when present. */
  check: string | null;
}

/** Typed estate fields: what users search, filter and sort on. Everything else is in `raw`. */
export interface EstateFields {
  /** objektart child element name (wohnung, haus, buero_praxen, …). */
  kind: string | null;
  /** The type attribute of that element (wohnungtyp, haustyp, …), e.g. ETAGE. */
  kindType: string | null;
  /** KAUF, MIETE_PACHT, ERBPACHT, LEASING — those set true, joined in that order. */
  marketingType: string | null;
  /** WOHNEN, GEWERBE, ANLAGE, WAZ — those set true. */
  usageType: string | null;
  street: string | null;
  houseNumber: string | null;
  zip: string | null;
  city: string | null;
  district: string | null;
  country: string | null;
  latitude: number | null;
  longitude: number | null;
  floor: string | null;
  /** verwaltung_objekt/objektadresse_freigeben. */
  addressPublishable: boolean | null;
  purchasePrice: number | null;
  coldRent: number | null;
  warmRent: number | null;
  additionalCosts: number | null;
  heatingCosts: number | null;
  deposit: string | null;
  houseMoney: number | null;
  commission: string | null;
  currency: string | null;
  livingArea: number | null;
  usableArea: number | null;
  plotArea: number | null;
  officeArea: number | null;
  totalArea: number | null;
  rooms: number | null;
  bedrooms: number | null;
  bathrooms: number | null;
  yearBuilt: number | null;
  condition: string | null;
  availableFrom: string | null;
  title: string | null;
  description: string | null;
  locationText: string | null;
  featuresText: string | null;
  otherText: string | null;
  energyCertificates: EnergyCertificate[];
}

export interface TransferObject {
  /** 0-based position of the immobilie in the file (document order). */
  position: number;
  /** Index of the anbieter it belongs to (-1 for an immobilie outside any anbieter). */
  providerIndex: number;
  /** The IMV object id (verwaltung_techn/objektnr_extern, else openimmo_obid); null → the object is rejected. */
  sourceId: string | null;
  openimmoObid: string | null;
  action: ObjectAction;
  /** onOffice user named on the immobilie itself (the anbieter's and the tenant default are resolved later). */
  user: string | null;
  /** verwaltung_techn/stand_vom normalized to ISO (date or date-time), null when absent. */
  standVom: string | null;
  estate: EstateFields;
  /** kontaktperson, null when absent or empty. */
  contact: ContactData | null;
  /** weitere_adresse entries. */
  furtherAddresses: ContactData[];
  /**
   * Address elements that are present but carry nothing (`kontaktperson`, `weitere_adresse[2]`), so
   * they have no ContactData; reported when the object is applied (domain/contact.ts).
   */
  emptyAddresses?: string[];
  userFields: UserField[];
  attachments: AttachmentRef[];
  /** The whole immobilie element, losslessly. */
  raw: XmlElement;
  /** Oddities that did not stop the object (unknown boolean, unparsable number, …), each naming the field. */
  warnings: string[];
}

/** Events of a streaming read, in document order. */
export type TransferEvent =
  { type: 'header'; header: TransferHeader } | { type: 'object'; object: TransferObject } | { type: 'provider'; provider: ProviderInfo };
