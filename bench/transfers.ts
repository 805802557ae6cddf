/**
 * IMV-shaped OpenImmo transfers, generated: the one `<immobilie>` template of the benchmarks
 * (bench/reader, bench/pipeline) and of the tests that need many realistic objects (test/faults,
 * test/hostile, test/pipeline). It follows IMV's sample (../shared/samples/imv/imv-1001-wohnung.xml):
 * a flat, the owner as kontaktperson, the onOffice user in a user_defined_simplefield.
 *
 * Each caller plans its objects (which id, which owner, which action) as {@link ImvObject}s; this module
 * renders them. Deterministic: the same objects give the same bytes.
 */
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import iconv from 'iconv-lite';

const CITIES = ['Köln', 'München', 'Lüdenscheid', 'Düsseldorf', 'Hamburg', 'Würzburg', 'Görlitz', 'Essen'];

export interface ImvObject {
  /** IMV object id (objektnr_extern, and openimmo_obid `IMVONLINE-<id>`). */
  id: number;
  /** Drives the estate's data (city, postcode, price, areas, rooms, year): the same n, the same estate. */
  n: number;
  /** The owner's number: objects with the same number carry the same kontaktperson (one address after de-duplication). */
  owner: number;
  /** `aktion/@aktionart`: none (create or update), CHANGE (with another price and title) or DELETE. */
  action?: 'CHANGE' | 'DELETE';
  /** The onOffice user the object is routed to. */
  user: string;
  /** verwaltung_techn/stand_vom */
  stand?: string;
  /** Without personennummer: the owner is matched by name and address instead. */
  withoutPersonNumber?: boolean;
  /** Without a mobile number. */
  withoutMobile?: boolean;
  /** objektbeschreibung (default: a fixed text in CDATA). */
  description?: string;
  /** Filler text (bytes) in sonstige_angaben, to make the object bigger. */
  padding?: number;
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
}

const DESCRIPTION =
  '<![CDATA[Privatverkauf. Gefunden auf einem Immobilienportal; Eigentümerin wünscht Rückruf ab 17 Uhr.<br>Gepflegtes Haus, ruhige Nachbarschaft, Keller.]]>';

/** One `immobilie` element, indented for its place in {@link transferHead}'s anbieter. */
export function imvObject(o: ImvObject): string {
  const { n, owner: c } = o;
  const city = CITIES[n % CITIES.length]!;
  const kauf = n % 3 !== 0;
  const changed = o.action === 'CHANGE';
  const kaufpreis = 200_000 + n * 17 + (changed ? 1000 : 0);
  const kaltmiete = 800 + (n % 900) + (changed ? 10 : 0);
  const phone = String(c).padStart(5, '0');
  const pad = o.padding
    ? `\n        <sonstige_angaben>${'Lorem ipsum dolor sit amet. '.repeat(Math.ceil(o.padding / 28)).slice(0, o.padding)}</sonstige_angaben>`
    : '';
  return `    <immobilie>
      <objektkategorie>
        <nutzungsart WOHNEN="1" GEWERBE="0"/>
        <vermarktungsart KAUF="${kauf ? 1 : 0}" MIETE_PACHT="${kauf ? 0 : 1}"/>
        <objektart>
          <wohnung wohnungtyp="ETAGE"/>
        </objektart>
      </objektkategorie>
      <geo>
        <plz>${50000 + (n % 9999)}</plz>
        <ort>${city}</ort>
        <geokoordinaten breitengrad="50.${1000 + (n % 8999)}" laengengrad="6.${1000 + (n % 8999)}"/>
        <strasse>Hohe Straße</strasse>
        <hausnummer>${(n % 120) + 1}a</hausnummer>
        <land iso_land="DEU"/>
        <etage>${n % 7}</etage>
      </geo>
      <kontaktperson>
        <email_privat>eigentuemer${c}@example.org</email_privat>
        <tel_privat>+49 221 555${phone}</tel_privat>${o.withoutMobile ? '' : `\n        <tel_handy>+49 170 555${phone}</tel_handy>`}
        <name>Schäfer-${c}</name>
        <vorname>Renate</vorname>
        <anrede>Frau</anrede>
        <strasse>Lindenallee</strasse>
        <hausnummer>${(c % 40) + 1}</hausnummer>
        <plz>50968</plz>
        <ort>${CITIES[c % CITIES.length]}</ort>
        <land iso_land="DEU"/>${o.withoutPersonNumber ? '' : `\n        <personennummer>IMV-K-${88000 + c}</personennummer>`}
      </kontaktperson>
      <preise>
        ${kauf ? `<kaufpreis>${kaufpreis}.00</kaufpreis>` : `<kaltmiete>${kaltmiete}.00</kaltmiete>\n        <nebenkosten>210.00</nebenkosten>`}
        <hausgeld>310.50</hausgeld>
        <waehrung iso_waehrung="EUR"/>
      </preise>
      <flaechen>
        <wohnflaeche>${40 + (n % 120)}.50</wohnflaeche>
        <anzahl_zimmer>${1 + (n % 6)}</anzahl_zimmer>
        <anzahl_badezimmer>1</anzahl_badezimmer>
        <anzahl_balkone>1</anzahl_balkone>
      </flaechen>
      <ausstattung>
        <fahrstuhl PERSONEN="1"/>
        <heizungsart ZENTRAL="1"/>
      </ausstattung>
      <zustand_angaben>
        <baujahr>${1900 + (n % 125)}</baujahr>
        <zustand zustand_art="GEPFLEGT"/>
      </zustand_angaben>
      <freitexte>
        <objekttitel>${esc(`Helle ${1 + (n % 6)}-Zimmer-Wohnung mit Balkon in ${city} – Nr. ${n}${changed ? ' (geändert)' : ''}`)}</objekttitel>
        <lage>Zentrale Lage, 5 Minuten zum Dom. Einkaufsmöglichkeiten, Schulen und Ärzte in der Nähe.</lage>
        <objektbeschreibung>${o.description === undefined ? DESCRIPTION : esc(o.description)}</objektbeschreibung>${pad}
      </freitexte>
      <verwaltung_objekt>
        <objektadresse_freigeben>false</objektadresse_freigeben>
        <verfuegbar_ab>nach Absprache</verfuegbar_ab>
      </verwaltung_objekt>
      <verwaltung_techn>
        <objektnr_extern>${o.id}</objektnr_extern>
        <aktion${o.action ? ` aktionart="${o.action}"` : ''}/>
        <openimmo_obid>IMVONLINE-${o.id}</openimmo_obid>
        <kennung_ursprung>IMV online</kennung_ursprung>
        <stand_vom>${o.stand ?? '2026-11-20'}</stand_vom>
      </verwaltung_techn>
      <user_defined_simplefield feldname="onoffice_benutzer">${o.user}</user_defined_simplefield>
      <user_defined_simplefield feldname="imv_quelle">Portal-Inserat</user_defined_simplefield>
    </immobilie>
`;
}

export type TransferEncoding = 'utf-8' | 'latin1';

/** The XML declaration, uebertragung and the anbieter's own fields, up to its first object. */
export function transferHead(o: { encoding?: TransferEncoding; timestamp?: string } = {}): string {
  return `<?xml version="1.0" encoding="${o.encoding === 'latin1' ? 'ISO-8859-1' : 'UTF-8'}"?>
<openimmo>
  <uebertragung art="OFFLINE" umfang="TEIL" modus="CHANGE" version="1.2.7" sendersoftware="IMV online" senderversion="4.2" timestamp="${o.timestamp ?? '2026-11-20T09:15:00+01:00'}"/>
  <anbieter>
    <anbieternr>IMV</anbieternr>
    <firma>IMV online</firma>
    <openimmo_anid>IMVONLINE</openimmo_anid>
`;
}

export const TRANSFER_TAIL = '  </anbieter>\n</openimmo>\n';

/** Text in the transfer's encoding (ISO-8859-1 is written as windows-1252, as senders do). */
export function encodeTransfer(s: string, encoding: TransferEncoding = 'utf-8'): Buffer {
  return encoding === 'utf-8' ? Buffer.from(s, 'utf8') : iconv.encode(s, 'windows-1252');
}

/** A whole transfer in memory. */
export function transferOf(objects: Iterable<ImvObject>, o: { encoding?: TransferEncoding; timestamp?: string } = {}): Buffer {
  const parts = [transferHead(o)];
  for (const obj of objects) parts.push(imvObject(obj));
  parts.push(TRANSFER_TAIL);
  return encodeTransfer(parts.join(''), o.encoding);
}

/** A transfer written to `path` object by object (a 10,000-object file never sits in memory whole). */
export async function writeTransfer(path: string, objects: Iterable<ImvObject>, o: { encoding?: TransferEncoding; timestamp?: string } = {}): Promise<void> {
  const out = createWriteStream(path);
  const write = async (s: string): Promise<void> => {
    if (!out.write(encodeTransfer(s, o.encoding))) await once(out, 'drain');
  };
  await write(transferHead(o));
  for (const obj of objects) await write(imvObject(obj));
  await write(TRANSFER_TAIL);
  out.end();
  await once(out, 'finish');
}

/**
 * The benchmarks' transfer: `count` objects, ids 100000 on, each with its own owner, all for user
 * mmustermann; every 50th (from the first) is a DELETE of an estate never imported.
 */
export function* benchObjects(count: number): Generator<ImvObject> {
  for (let i = 0; i < count; i++) yield { id: 100_000 + i, n: i, owner: i, action: i % 50 === 0 ? 'DELETE' : undefined, user: 'mmustermann' };
}

/** Writes the benchmarks' transfer of `objects` objects to `path`. */
export async function generate(path: string, objects: number, encoding: TransferEncoding): Promise<void> {
  await writeTransfer(path, benchObjects(objects), { encoding });
}
