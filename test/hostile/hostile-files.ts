/**
 * Hostile and broken transfers, generated in the test (nothing big is committed): well-formed ZIPs by
 * yazl, malformed ones byte by byte. Shared by the
 * reader-level tests and the pipeline batch: each entry says what the file is, and what must happen
 * to it (ledger status, error type, a phrase of the message).
 */
import { crc32 } from 'node:zlib';
import { centralRecord, craftZip, endOfCentralDirectory, localHeader, type RecordSpec } from '../openimmo/helpers';
import { zipOf } from '../support/zip';

export const MiB = 1024 * 1024;

/** A tiny PNG header: enough for an attachment. */
export const PNG = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');

/** Deterministic pseudo-random bytes (mulberry32), so every run builds the same files. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(seed: number, n: number): Buffer {
  const r = prng(seed);
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(r() * 256);
  return b;
}

/** Letters without any structure (an over-long "name" that does not compress away in an index). */
export function randomLetters(seed: number, n: number): string {
  const r = prng(seed);
  const abc = 'abcdefghijklmnopqrstuvwxyzäöüßABCDEFGHIJKLMNOPQRSTUVWXYZ';
  let s = '';
  for (let i = 0; i < n; i++) s += abc[Math.floor(r() * abc.length)];
  return s;
}

// ---------------------------------------------------------------------------------------------------------
// Good transfers (IMV-shaped)

export interface ObjectOptions {
  id?: string | null;
  user?: string;
  title?: string;
  owner?: string;
  ownerNumber?: string;
  description?: string;
  price?: string;
  yearBuilt?: string;
  extra?: string;
}

export function imvObject(o: ObjectOptions): string {
  return `<immobilie>
  <objektkategorie><nutzungsart WOHNEN="1" GEWERBE="0"/><vermarktungsart KAUF="1" MIETE_PACHT="0"/><objektart><wohnung wohnungtyp="ETAGE"/></objektart></objektkategorie>
  <geo><plz>50667</plz><ort>Köln</ort><strasse>Hohe Straße</strasse><hausnummer>12</hausnummer><land iso_land="DEU"/></geo>
  <kontaktperson><name>${o.owner ?? 'Hostile'}</name><vorname>Hanna</vorname><email_privat>hanna.${o.id ?? 'x'}@example.org</email_privat><personennummer>${o.ownerNumber ?? `HK-${o.id ?? 'x'}`}</personennummer></kontaktperson>
  <preise><kaufpreis>${o.price ?? '250000.00'}</kaufpreis><waehrung iso_waehrung="EUR"/></preise>
  <flaechen><wohnflaeche>80</wohnflaeche><anzahl_zimmer>3</anzahl_zimmer></flaechen>
  ${o.yearBuilt ? `<zustand_angaben><baujahr>${o.yearBuilt}</baujahr></zustand_angaben>` : ''}
  <freitexte><objekttitel>${o.title ?? `Wohnung ${o.id}`}</objekttitel>${o.description !== undefined ? `<objektbeschreibung>${o.description}</objektbeschreibung>` : ''}</freitexte>
  ${o.extra ?? ''}
  <verwaltung_techn>${o.id === null ? '' : `<objektnr_extern>${o.id}</objektnr_extern>`}<aktion/><stand_vom>2026-11-25</stand_vom></verwaltung_techn>
  <user_defined_simplefield feldname="onoffice_benutzer">${o.user ?? 'skoch'}</user_defined_simplefield>
</immobilie>`;
}

export function imvTransfer(objects: string[], opts: { prolog?: string; anbieternr?: string; encoding?: string } = {}): string {
  return `<?xml version="1.0" encoding="${opts.encoding ?? 'UTF-8'}"?>
${opts.prolog ?? ''}<openimmo>
<uebertragung art="OFFLINE" umfang="TEIL" modus="CHANGE" version="1.2.7" sendersoftware="hostile-test" timestamp="2026-11-25T10:00:00Z"/>
<anbieter><anbieternr>${opts.anbieternr ?? 'IMV'}</anbieternr><openimmo_anid>IMVONLINE</openimmo_anid>
${objects.join('\n')}
</anbieter></openimmo>
`;
}

export function goodXml(id: string): Buffer {
  return Buffer.from(imvTransfer([imvObject({ id, owner: `Gut-${id}` })]), 'utf8');
}

export function goodZip(id: string): Promise<Buffer> {
  const xml = imvTransfer([
    imvObject({
      id,
      owner: `Gut-${id}`,
      extra:
        '<anhaenge><anhang gruppe="TITELBILD"><anhangtitel>Außen</anhangtitel><format>png</format><daten><pfad>bilder/aussen.png</pfad></daten></anhang></anhaenge>',
    }),
  ]);
  return zipOf([
    { name: 'export/openimmo.xml', data: xml },
    { name: 'export/bilder/aussen.png', data: PNG },
  ]);
}

// ---------------------------------------------------------------------------------------------------------
// External entities and DTDs

/** Where hostile references point: a local file holding a marker, and a recording HTTP server. */
export interface Bait {
  /** Absolute path of a local file whose content is `marker`. */
  file: string;
  marker: string;
  /** http://127.0.0.1:<port> of a server that records every connection. */
  url: string;
}

/** Internal subset with SYSTEM entities (file and http) and a parameter entity fetching a DTD. */
export function xxeFile(b: Bait): Buffer {
  const prolog = `<!DOCTYPE openimmo [
  <!ENTITY xfile SYSTEM "file://${b.file}">
  <!ENTITY xhttp SYSTEM "${b.url}/xxe-entity">
  <!ENTITY % remote SYSTEM "${b.url}/xxe-parameter.dtd">
  %remote;
]>
`;
  return Buffer.from(imvTransfer([imvObject({ id: '7401', title: 'Titel &xfile;', owner: '&xfile;', description: '&xhttp;' })], { prolog }), 'utf8');
}

/** An external DTD (SYSTEM id over http) whose entity the document uses. */
export function externalDtdFile(b: Bait): Buffer {
  const prolog = `<!DOCTYPE openimmo SYSTEM "${b.url}/openimmo.dtd">\n`;
  return Buffer.from(imvTransfer([imvObject({ id: '7402', title: '&fromdtd;' })], { prolog }), 'utf8');
}

/**
 * No DOCTYPE, but XInclude and a stylesheet PI pointing at the bait: XML that a naive processor would
 * resolve. It is ordinary OpenImmo for us, imported with the references kept as written, never followed.
 */
export function xincludeFile(b: Bait): Buffer {
  const prolog = `<?xml-stylesheet type="text/xsl" href="${b.url}/style.xsl"?>\n`;
  const description = `Beschreibung <xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="file://${b.file}" parse="text"/> und <xi:include xmlns:xi="http://www.w3.org/2001/XInclude" href="${b.url}/xinclude" parse="text"/>`;
  return Buffer.from(imvTransfer([imvObject({ id: '7403', description })], { prolog }), 'utf8');
}

export function billionLaughs(): Buffer {
  const lines = ['<!ENTITY lol "lol">'];
  for (let i = 1; i <= 9; i++) lines.push(`<!ENTITY lol${i} "${`&lol${i === 1 ? '' : i - 1};`.repeat(10)}">`);
  const prolog = `<!DOCTYPE openimmo [\n  ${lines.join('\n  ')}\n]>\n`;
  return Buffer.from(imvTransfer([imvObject({ id: '7404', title: '&lol9;' })], { prolog }), 'utf8');
}

// ---------------------------------------------------------------------------------------------------------
// ZIPs

const okXml = (id: string) => imvTransfer([imvObject({ id })]);

/** A classic bomb: 16 MiB of zeros deflate to ~16 KiB (ratio ~1000), honestly declared. */
export function zipBombRatio(): Promise<Buffer> {
  return zipOf([
    { name: 'openimmo.xml', data: okXml('7501') },
    { name: 'bilder/aussen.jpg', data: Buffer.alloc(16 * MiB) },
  ]);
}

/** A bomb whose headers lie: the XML entry says 1 KiB, it inflates to 64 MiB of spaces. Lying headers: crafted. */
export function zipBombLyingHeader(): Buffer {
  const xml = Buffer.concat([Buffer.from('<?xml version="1.0" encoding="UTF-8"?><openimmo>'), Buffer.alloc(64 * MiB, 0x20), Buffer.from('</openimmo>')]);
  return craftZip([{ name: 'openimmo.xml', data: xml, declaredSize: 1024 }]);
}

/**
 * A picture entry that lies about its size: the header declares 10 KiB, the entry inflates to
 * `pictureBytes` (incompressible, so the ZIP is as big). The XML and a second, honest picture are
 * good. Lying headers: crafted.
 */
export function zipLyingPicture(id: string, pictureBytes: number): Buffer {
  const anhang = (group: string, title: string, file: string) =>
    `<anhang gruppe="${group}"><anhangtitel>${title}</anhangtitel><format>jpg</format><daten><pfad>${file}</pfad></daten></anhang>`;
  const xml = imvTransfer([
    imvObject({ id, extra: `<anhaenge>${anhang('TITELBILD', 'Außen', 'bilder/aussen.jpg')}${anhang('BILD', 'Küche', 'bilder/kueche.png')}</anhaenge>` }),
  ]);
  return craftZip([
    { name: 'export/openimmo.xml', data: xml },
    { name: 'export/bilder/aussen.jpg', data: randomBytes(Number(id), pictureBytes), declaredSize: 10 * 1024 },
    { name: 'export/bilder/kueche.png', data: PNG },
  ]);
}

/**
 * A non-recursive "overlapping" bomb (Fifield 2019): many central-directory records point at the same
 * 1 MiB stored kernel. Each entry alone is harmless (ratio 1:1, 1 MiB), together they are > 1 GiB:
 * only the total-size limit stops it. ~1.1 MB on disk. Entries that share their data: crafted.
 */
export function zipBombOverlap(entries = 1100, kernelBytes = 1 * MiB): Buffer {
  const stored = (name: string, data: Buffer): RecordSpec => ({
    name: Buffer.from(name),
    crc: crc32(data),
    compressedSize: data.length,
    size: data.length,
    method: 0,
  });
  const xml = Buffer.from(okXml('7502'));
  const xmlRecord = stored('openimmo.xml', xml);
  const kernel = randomBytes(42, kernelBytes);
  const kernelRecord = stored('bilder/bild-0000.jpg', kernel);
  const xmlLocal = Buffer.concat([localHeader(xmlRecord), xml]);
  const kernelLocal = Buffer.concat([localHeader(kernelRecord), kernel]);
  const centrals = [centralRecord(xmlRecord, 0o100644, 0)];
  for (let i = 0; i < entries; i++) {
    const name = Buffer.from(`bilder/bild-${String(i).padStart(4, '0')}.jpg`);
    centrals.push(centralRecord({ ...kernelRecord, name }, 0o100644, xmlLocal.length));
  }
  const cd = Buffer.concat(centrals);
  const cdOffset = xmlLocal.length + kernelLocal.length;
  return Buffer.concat([xmlLocal, kernelLocal, cd, endOfCentralDirectory(centrals.length, cd.length, cdOffset)]);
}

/** A name with `..` (yazl refuses to write one): crafted. */
export function zipTraversal(target: string): Buffer {
  return craftZip([
    { name: 'openimmo.xml', data: okXml('7503') },
    { name: `../../../../../../../..${target}`, data: 'owned' },
  ]);
}

/** An absolute name (yazl refuses to write one): crafted. */
export function zipAbsolute(target: string): Buffer {
  return craftZip([
    { name: 'openimmo.xml', data: okXml('7504') },
    { name: target, data: 'owned' },
  ]);
}

export function zipSymlink(): Promise<Buffer> {
  return zipOf([
    { name: 'openimmo.xml', data: okXml('7505') },
    { name: 'bilder/aussen.png', data: '/etc/passwd', mode: 0o120777 },
  ]);
}

export function zipNoXml(): Promise<Buffer> {
  return zipOf([
    { name: 'bilder/aussen.png', data: PNG },
    { name: 'liesmich.txt', data: 'no transfer here' },
  ]);
}

export function zipTwoXml(): Promise<Buffer> {
  return zipOf([
    { name: 'a.xml', data: okXml('7506') },
    { name: 'export/b.xml', data: okXml('7507') },
  ]);
}

// ---------------------------------------------------------------------------------------------------------
// Broken XML and encodings

export function truncatedXml(): Buffer {
  const full = Buffer.from(imvTransfer([imvObject({ id: '7601' }), imvObject({ id: '7602' })]), 'utf8');
  return full.subarray(0, Math.floor(full.length * 0.6));
}

/** 64 KiB of noise; never starts like a ZIP or a byte order mark. */
export function binaryGarbage(): Buffer {
  const b = randomBytes(1234, 64 * 1024);
  b[0] = 0x9c;
  b[1] = 0x13;
  return b;
}

/** Declared UTF-8, with `0xC3 0x28` (a lead byte without its continuation) in a city. */
export function badUtf8(): Buffer {
  const [before, after] = imvTransfer([imvObject({ id: '7603' })]).split('Köln') as [string, string];
  return Buffer.concat([Buffer.from(before, 'utf8'), Buffer.from([0x4b, 0xc3, 0x28, 0x6c, 0x6e]), Buffer.from(after, 'utf8')]);
}

/** UTF-16LE with a byte order mark and an unpaired high surrogate in the title. */
export function badUtf16(): Buffer {
  const xml = imvTransfer([imvObject({ id: '7604', title: 'Wohnung #' })], { encoding: 'UTF-16' });
  const body = Buffer.from(xml, 'utf16le');
  body.writeUInt16LE(0xd83d, xml.indexOf('#') * 2); // half of an emoji, the other half missing
  return Buffer.concat([Buffer.from([0xff, 0xfe]), body]);
}

/** Declared Shift_JIS; 0x81 0x20 and 0xFF are not Shift_JIS. */
export function badShiftJis(): Buffer {
  const [before, after] = imvTransfer([imvObject({ id: '7605', title: '#' })], { encoding: 'Shift_JIS' }).split('#') as [string, string];
  return Buffer.concat([Buffer.from(before, 'latin1'), Buffer.from([0x82, 0xa0, 0x81, 0x20, 0xff]), Buffer.from(after, 'latin1')]);
}

export function unsupportedEncoding(): Buffer {
  return Buffer.from(imvTransfer([imvObject({ id: '7606' })], { encoding: 'X-KLINGON-9' }), 'latin1');
}

// ---------------------------------------------------------------------------------------------------------
// Objects and sizes

/** Two objects, the second without any id: the file is partial, the first imports. */
export function objectWithoutId(): Buffer {
  return Buffer.from(imvTransfer([imvObject({ id: '7701' }), imvObject({ id: null, title: 'Ohne Nummer' })]), 'utf8');
}

/** A 2 MiB title: more than the 1 MiB a single field may hold. */
export function overlongField(): Buffer {
  return Buffer.from(imvTransfer([imvObject({ id: '7702', title: 'x'.repeat(2 * MiB) })]), 'utf8');
}

/** A good object and one whose id is 5,000 characters (no real id; PostgreSQL could not index it). */
export function overlongId(): Buffer {
  return Buffer.from(imvTransfer([imvObject({ id: '7703' }), imvObject({ id: randomLetters(7, 5000) })]), 'utf8');
}

/**
 * One object with values out of any sane size: an owner name of 3,000 characters, a price of 10^13,
 * a year built of 10^11, and a 300 KB description (long, but a legitimate free text).
 */
export function overlongValues(): Buffer {
  return Buffer.from(
    imvTransfer([
      imvObject({
        id: '7704',
        owner: randomLetters(11, 3000),
        price: '12345678901234.00',
        yearBuilt: '99999999999',
        description: 'Sehr lange Beschreibung. '.repeat(12_000),
      }),
    ]),
    'utf8',
  );
}

/** A provider number of 5,000 characters: it would be stored with every object of the anbieter. */
export function overlongProvider(): Buffer {
  return Buffer.from(imvTransfer([imvObject({ id: '7705' })], { anbieternr: randomLetters(13, 5000) }), 'utf8');
}

/** 10,000 nested elements inside an object (a parser stack-depth attack). */
export function deepNesting(): Buffer {
  const depth = 10_000;
  return Buffer.from(imvObjectTransfer('7706', `${'<x>'.repeat(depth)}${'</x>'.repeat(depth)}`), 'utf8');
}

/**
 * 4 MB of `<x/>` in one object: a million elements, each ~15× its size in memory. Within the byte
 * limit of an object, but not within its node limit.
 */
export function elementBomb(): Buffer {
  return Buffer.from(imvObjectTransfer('7707', '<x/>'.repeat(1_000_000)), 'utf8');
}

function imvObjectTransfer(id: string, extra: string): string {
  return imvTransfer([imvObject({ id, extra })]);
}

// ---------------------------------------------------------------------------------------------------------
// The catalogue

export type Expect =
  | { status: 'failed'; errorType: 'MalformedXml' | 'NotOpenImmo' | 'EncodingError' | 'ZipRejected' | 'TooLarge'; message: RegExp }
  | { status: 'partial' | 'imported' };

export interface HostileFile {
  name: string;
  what: string;
  bytes: Buffer;
  expect: Expect;
}

/** Every hostile file of the batch (the 200 MB transfer is tested on its own). */
export async function hostileFiles(bait: Bait, outside: { traversal: string; absolute: string }): Promise<HostileFile[]> {
  const f = (name: string, what: string, bytes: Buffer, expect: Expect): HostileFile => ({ name, what, bytes, expect });
  const failed = (errorType: Extract<Expect, { status: 'failed' }>['errorType'], message: RegExp) => ({ status: 'failed' as const, errorType, message });
  return [
    f(
      'xxe-file-and-http.xml',
      'external entities (file:// and http://) and a parameter entity',
      xxeFile(bait),
      failed('MalformedXml', /DOCTYPE declaration is present/),
    ),
    f('xxe-external-dtd.xml', 'an external DTD over http', externalDtdFile(bait), failed('MalformedXml', /DOCTYPE declaration is present/)),
    f('xinclude-stylesheet.xml', 'XInclude and xml-stylesheet pointing at the bait', xincludeFile(bait), { status: 'imported' }),
    f('billion-laughs.xml', 'nested entity expansion', billionLaughs(), failed('MalformedXml', /DTDs and custom entities are not accepted/)),
    f(
      'zip-bomb-ratio.zip',
      '16 MiB of zeros, ratio ~1000:1',
      await zipBombRatio(),
      failed('ZipRejected', /bilder\/aussen\.jpg.*compression ratio above 100:1/),
    ),
    f('zip-bomb-lying.zip', 'an entry that inflates far beyond its declared size', zipBombLyingHeader(), failed('ZipRejected', /openimmo\.xml/)),
    f('zip-bomb-overlap.zip', 'overlapping entries, > 1 GiB in total', zipBombOverlap(), failed('ZipRejected', /together exceed 1073741824 bytes/)),
    f('zip-traversal.zip', 'an entry with ../', zipTraversal(outside.traversal), failed('ZipRejected', /a path leading outside the archive/)),
    f('zip-absolute.zip', 'an entry with an absolute path', zipAbsolute(outside.absolute), failed('ZipRejected', /an absolute path/)),
    f('zip-symlink.zip', 'a symlink entry', await zipSymlink(), failed('ZipRejected', /bilder\/aussen\.png.*symbolic link/)),
    f('zip-no-xml.zip', 'a ZIP without XML', await zipNoXml(), failed('ZipRejected', /no XML file/)),
    f('zip-two-xml.zip', 'a ZIP with two XML files', await zipTwoXml(), failed('ZipRejected', /2 XML files/)),
    f('truncated.xml', 'cut off in the middle', truncatedXml(), failed('MalformedXml', /Malformed XML at line \d+, column \d+/)),
    f('garbage.xml', 'binary noise named .xml', binaryGarbage(), failed('MalformedXml', /Malformed XML at line 1/)),
    f('empty.xml', 'zero bytes', Buffer.alloc(0), failed('MalformedXml', /must contain a root element/)),
    f('bad-utf8.xml', 'invalid UTF-8 in a file declaring UTF-8', badUtf8(), failed('EncodingError', /Invalid UTF-8 at byte offset \d+ \(declared UTF-8\)/)),
    f('bad-utf16.xml', 'an unpaired surrogate in UTF-16', badUtf16(), failed('EncodingError', /Invalid UTF-16LE at byte offset \d+: an unpaired surrogate/)),
    f(
      'bad-shift-jis.xml',
      'bytes that are not Shift_JIS',
      badShiftJis(),
      failed('EncodingError', /Invalid byte sequence for the encoding Shift_JIS in line \d+/),
    ),
    f('unsupported-encoding.xml', 'an encoding nobody knows', unsupportedEncoding(), failed('EncodingError', /Unsupported encoding "X-KLINGON-9"/)),
    f('no-id.xml', 'an object without an id beside a good one', objectWithoutId(), { status: 'partial' }),
    f('overlong-id.xml', 'an object id of 5,000 characters beside a good object', overlongId(), { status: 'partial' }),
    f('overlong-field.xml', 'a 2 MiB title', overlongField(), failed('TooLarge', /<objekttitel> near line \d+ has more than 1048576 characters/)),
    f('overlong-values.xml', 'owner name 3,000 chars, price 10^13, year 10^11, 300 KB description', overlongValues(), { status: 'imported' }),
    f('overlong-provider.xml', 'a provider number of 5,000 characters', overlongProvider(), failed('TooLarge', /anbieter\/anbieternr is 5000 characters long/)),
    f('deep-nesting.xml', '10,000 nested elements', deepNesting(), failed('TooLarge', /nested deeper than 256 levels/)),
    f(
      'element-bomb.xml',
      'a million empty elements in one object',
      elementBomb(),
      failed('TooLarge', /Object 1 \(immobilie\) near line \d+ has more than 100000 elements and attributes/),
    ),
  ];
}
