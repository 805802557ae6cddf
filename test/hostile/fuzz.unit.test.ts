/**
 * Fuzz: the real-world sample transfers (shared/samples, where test/support/samples.ts finds them)
 * and the project's fixtures (test/fixtures/**), mutated — byte flips, truncation, deletion,
 * duplication, insertion of tags, entities, DOCTYPEs, BOMs, control characters and random text,
 * re-zipping under hostile entry names and flags, flips inside the ZIP — must either parse or throw
 * the reader's typed TransferError: never another exception, never a hang (each case is bounded by a
 * timeout). And whatever parses is storable: the events serialize to JSON that PostgreSQL's jsonb
 * accepts (no NUL, no unpaired surrogate).
 */
import fc from 'fast-check';
import { isUtf8 } from 'node:buffer';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTransferError, TransferError, type TransferErrorType } from '../../openimmo/errors';
import { readTransferBuffer, type ReaderOptions } from '../../openimmo/reader';
import { looksLikeZip, openZip } from '../../openimmo/zip';
import { craftZip, type CraftedEntry } from '../openimmo/helpers';
import { fixturesDir } from '../support/harness';
import { hasSamples, samplesDir } from '../support/samples';

const TYPES: readonly TransferErrorType[] = ['MalformedXml', 'NotOpenImmo', 'EncodingError', 'ZipRejected', 'TooLarge'];
// A hang detector, not a speed limit: a case of a few KB that runs this long is stuck.
const CASE_TIMEOUT_MS = 60_000;
const RUNS = Number(process.env.FUZZ_RUNS ?? 1000);

function filesUnder(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)]))
    .filter((f) => /\.(xml|zip)$/i.test(f))
    .sort();
}

const seedFiles = [...(hasSamples ? filesUnder(samplesDir) : []), ...filesUnder(fixturesDir)];
const seeds = seedFiles.map((f) => ({ name: path.relative(path.resolve(fixturesDir, '..', '..'), f), bytes: fs.readFileSync(f) }));

// ---------------------------------------------------------------------------------------------------------
// Mutations

const SNIPPETS = [
  '<x>',
  '</x>',
  '<immobilie>',
  '</immobilie>',
  '<anbieter>',
  '</anbieter>',
  '<openimmo>',
  '</openimmo>',
  '<uebertragung umfang="VOLL"/>',
  '<verwaltung_techn><objektnr_extern>',
  '</objektnr_extern></verwaltung_techn>',
  '<objektnr_extern></objektnr_extern>',
  '<![CDATA[',
  ']]>',
  '<!--',
  '-->',
  '<?pi data?>',
  '<?xml version="1.0" encoding="UTF-16"?>',
  '<?xml version="1.0" encoding="ISO-8859-1"?>',
  '&lol;',
  '&amp;',
  '&#0;',
  '&#xD800;',
  '&#xDC00;',
  '&#x1F600;',
  '&#65;',
  '&#xFFFE;',
  '&',
  '<',
  '>',
  '"',
  "'",
  '=',
  '<!DOCTYPE openimmo [<!ENTITY a "b">]>',
  '<!DOCTYPE openimmo SYSTEM "http://127.0.0.1:9/x.dtd">',
  '<!ENTITY x SYSTEM "file:///etc/passwd">',
  '<!DOCTYPE',
  '%pe;',
  '<x:y xmlns:x="urn:x">',
  '<a xmlns="">',
  'xmlns:oi="http://www.openimmo.de"',
  ' __proto__="1"',
  ' constructor="x"',
  '<anhaenge><anhang gruppe="BILD"><daten><pfad>../../../etc/passwd</pfad></daten></anhang></anhaenge>',
  '<anhang><anhanginhalt>!!notbase64!!</anhanginhalt></anhang>',
  '<kaufpreis>1e400</kaufpreis>',
  '<kaufpreis>99999999999999999</kaufpreis>',
  '<baujahr>-99999999999</baujahr>',
  '<geokoordinaten breitengrad="NaN" laengengrad="Infinity"/>',
  '<land iso_land="XX"/>',
  '<user_defined_simplefield feldname="onoffice_benutzer">',
  '<user_defined_anyfield><a><b/></a></user_defined_anyfield>',
  '<aktion aktionart="DELETE"/>',
  '<stand_vom>2026-02-30T25:61:61.123456789+99:99</stand_vom>',
  '\u0000',
  '\u0001',
  '\u000b',
  '\uFEFF',
  '\uFFFE',
  '\u0085',
  '\u2028',
  '😀',
  'ä',
  '€',
];
const BYTE_SNIPPETS = [
  Buffer.from([0xef, 0xbb, 0xbf]),
  Buffer.from([0xff, 0xfe]),
  Buffer.from([0xfe, 0xff]),
  Buffer.from([0x00, 0x00, 0xfe, 0xff]),
  Buffer.from([0xc3]),
  Buffer.from([0xc3, 0x28]),
  Buffer.from([0xed, 0xa0, 0x80]),
  Buffer.from([0xf4, 0x90, 0x80, 0x80]),
  Buffer.from([0x80, 0x81, 0x9d]),
  Buffer.from('PK\x03\x04', 'latin1'),
  Buffer.from([0xff]),
];

type Mutation =
  | { kind: 'flip'; at: number; value: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'delete'; at: number; length: number }
  | { kind: 'duplicate'; from: number; length: number; to: number }
  | { kind: 'insert'; at: number; bytes: Buffer; betweenTags?: boolean };

/** A position anywhere in the input, uniformly (fast-check's default bias would favour the very start). */
const fraction = fc.noBias(fc.integer({ min: 0, max: 0xffffffff })).map((n) => n / 2 ** 32);
/** Well-formed pieces: inserted between two tags, the document often stays well-formed and reaches the mapping. */
const BALANCED = [
  '<x>text</x>',
  '<x/>',
  '<![CDATA[<b>&</b> ]]]]>',
  '<!-- comment -- -->'.replace(' -- ', ' '),
  '<?pi data?>',
  '&amp;&lt;&#228;&#x1F600;&#x85;',
  '<a:b xmlns:a="urn:a" a:c="d">e</a:b>',
  '<x __proto__="1" constructor="2" toString="3" hasOwnProperty="4"/>',
  '<user_defined_simplefield feldname="onoffice_benutzer">neu</user_defined_simplefield>',
  '<user_defined_anyfield><a><b>c</b></a></user_defined_anyfield>',
  '<user_defined_extend><feld><name>n</name><wert>w</wert></feld></user_defined_extend>',
  '<preise><kaufpreis>1.234.567,89</kaufpreis><kaltmiete>1e400</kaltmiete><warmmiete>99999999999999999999</warmmiete></preise>',
  '<flaechen><anzahl_zimmer>999999.99</anzahl_zimmer><wohnflaeche>-0</wohnflaeche></flaechen>',
  '<zustand_angaben><baujahr>-99999999999</baujahr></zustand_angaben>',
  '<geo><geokoordinaten breitengrad="NaN" laengengrad="Infinity"/><land iso_land="XX"/></geo>',
  '<verwaltung_techn><objektnr_extern></objektnr_extern><aktion aktionart="DELETE"/><stand_vom>2026-02-30T25:61:61.123456789+99:99</stand_vom></verwaltung_techn>',
  '<anhaenge><anhang gruppe="BILD"><daten><pfad>../../../etc/passwd</pfad></daten></anhang><anhang><anhanginhalt>!!notbase64!!</anhanginhalt></anhang><anhang><daten><pfad>file:///etc/passwd</pfad></daten></anhang></anhaenge>',
  '<kontaktperson><name>N</name><email_privat>a@b</email_privat><email_privat>c@d</email_privat><land iso_land="ZZ"/></kontaktperson>',
  '<weitere_adresse adressart="EIGENTUEMER"><name>W</name></weitere_adresse>',
  '<immobilie/>',
  '<immobilie><verwaltung_techn><objektnr_extern>F1</objektnr_extern></verwaltung_techn></immobilie>',
  '<anbieter><anbieternr>X</anbieternr></anbieter>',
  '<uebertragung umfang="VOLL" timestamp="not a time"/>',
  '<energiepass><epart>BEDARF</epart><endenergiebedarf>1e400</endenergiebedarf></energiepass>',
];
const insertion = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...BALANCED).map((s) => Buffer.from(s, 'utf8')) },
  { weight: 3, arbitrary: fc.constantFrom(...SNIPPETS).map((s) => Buffer.from(s, 'utf8')) },
  { weight: 2, arbitrary: fc.constantFrom(...BYTE_SNIPPETS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 20 }).map((s) => Buffer.from(s, 'utf8')) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)) },
  { weight: 1, arbitrary: fc.constantFrom('<x>', '<immobilie>', '<a:b>').chain((t) => fc.integer({ min: 1, max: 400 }).map((n) => Buffer.from(t.repeat(n)))) },
);
const byteValue = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...Buffer.from('abcxyzABCXYZ0123456789 .,-')) }, // keeps text text
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) },
);
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fraction, value: byteValue }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fraction }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), at: fraction, length: fc.integer({ min: 1, max: 64 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), from: fraction, length: fc.integer({ min: 1, max: 512 }), to: fraction }) },
  {
    weight: 6,
    arbitrary: fc.record({
      kind: fc.constant('insert' as const),
      at: fraction,
      bytes: insertion,
      betweenTags: fc.oneof({ weight: 3, arbitrary: fc.constant(true) }, { weight: 1, arbitrary: fc.constant(false) }),
    }),
  },
);

/** The seed as UTF-16 (LE or BE, with its byte order mark), so flips and cuts reach the UTF-16 decoder. */
function toUtf16(buf: Buffer, bigEndian: boolean): Buffer {
  if (looksLikeZip(buf)) return buf;
  const text = (isUtf8(buf) ? buf.toString('utf8') : buf.toString('latin1'))
    .replace(/^\uFEFF/, '')
    .replace(/(<\?xml[^>]*?encoding\s*=\s*["'])[^"']*/, '$1UTF-16');
  const body = Buffer.from(text, 'utf16le');
  if (bigEndian) body.swap16();
  return Buffer.concat([Buffer.from(bigEndian ? [0xfe, 0xff] : [0xff, 0xfe]), body]);
}

function apply(buf: Buffer, m: Mutation): Buffer {
  const pos = (f: number) => Math.floor(f * (buf.length + 1));
  switch (m.kind) {
    case 'flip': {
      if (buf.length === 0) return buf;
      const b = Buffer.from(buf);
      b[Math.min(pos(m.at), b.length - 1)] = m.value;
      return b;
    }
    case 'truncate':
      return buf.subarray(0, pos(m.at));
    case 'delete': {
      const at = pos(m.at);
      return Buffer.concat([buf.subarray(0, at), buf.subarray(at + m.length)]);
    }
    case 'duplicate': {
      const from = pos(m.from);
      const to = pos(m.to);
      return Buffer.concat([buf.subarray(0, to), buf.subarray(from, from + m.length), buf.subarray(to)]);
    }
    case 'insert': {
      let at = pos(m.at);
      if (m.betweenTags) {
        const lt = buf.lastIndexOf(0x3c, at); // just before a tag: between two elements, mostly
        at = lt > 0 ? lt : at;
      }
      return Buffer.concat([buf.subarray(0, at), m.bytes, buf.subarray(at)]);
    }
  }
}

/** Re-zipping: the (mutated) XML under a name, maybe beside other entries, with odd flags (each now and then). */
const sometimes = <T>(arb: fc.Arbitrary<T>, usual: T) => fc.oneof({ weight: 4, arbitrary: fc.constant(usual) }, { weight: 1, arbitrary: arb });
const zipPlan = fc.record({
  xmlName: fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('openimmo.xml', 'export/transfer.xml', 'A.XML', 'dir\\win.xml') },
    { weight: 1, arbitrary: fc.constantFrom('../transfer.xml', '/abs/transfer.xml', 'C:/transfer.xml', '__MACOSX/._x.xml', 'transfer.xml/', 'nul\0.xml') },
  ),
  extra: fc.array(
    fc.record({
      name: fc.constantFrom('bilder/a.png', 'bilder/Grundriss 4OG.png', 'ä/ö.jpg', '.DS_Store', 'dir/', 'second.xml', '../../etc/x'),
      size: fc.integer({ min: 0, max: 4096 }),
      symlink: sometimes(fc.boolean(), false),
    }),
    { maxLength: 3 },
  ),
  method: fc.constantFrom<0 | 8>(0, 8),
  encrypted: sometimes(fc.boolean(), false),
  lieAboutSize: sometimes(fc.integer({ min: 0, max: 3 * 1024 * 1024 }), undefined as number | undefined),
  zipFlips: sometimes(
    fc.array(fc.record({ at: fraction, value: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 3 }),
    [] as { at: number; value: number }[],
  ),
});

function rezip(xml: Buffer, p: typeof zipPlan extends fc.Arbitrary<infer T> ? T : never): Buffer {
  const entries: CraftedEntry[] = [
    { name: p.xmlName, data: xml, method: p.method, encrypted: p.encrypted && p.extra.length === 0, declaredSize: p.lieAboutSize },
    ...p.extra.map((e) => ({ name: e.name, data: Buffer.alloc(e.size, 0x41), unixMode: e.symlink ? 0o120777 : undefined })),
  ];
  // Names with `..`, absolute, with a backslash or a NUL, a fake encryption flag, lying sizes: crafted.
  let zip = craftZip(entries);
  for (const f of p.zipFlips) zip = apply(zip, { kind: 'flip', ...f });
  return zip;
}

// ---------------------------------------------------------------------------------------------------------
// The property

/**
 * What the staging insert would send to jsonb: PostgreSQL refuses NUL and unpaired surrogates (a
 * parse that yields them would fail its database write on every retry). Keys and values, recursively.
 */
// eslint-disable-next-line no-control-regex -- NUL is what PostgreSQL refuses
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
function unstorable(v: unknown): string | null {
  if (typeof v === 'string') return UNSTORABLE.test(v) ? JSON.stringify(v.match(UNSTORABLE)![0]) : null;
  if (typeof v === 'number') return Number.isFinite(v) ? null : String(v);
  if (v === null || typeof v !== 'object') return null;
  for (const [k, x] of Object.entries(v)) {
    const bad = unstorable(k) ?? unstorable(x);
    if (bad) return bad;
  }
  return null;
}

async function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`HANG: ${what} took more than ${CASE_TIMEOUT_MS} ms`)), CASE_TIMEOUT_MS);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** The reader's whole surface for one input: events, and for a ZIP every entry an attachment could be. */
async function exercise(input: Buffer, options: ReaderOptions): Promise<'parsed' | TransferErrorType> {
  try {
    const events = await readTransferBuffer(input, options);
    const bad = unstorable(events);
    if (bad) throw new Error(`parsed, but not storable in jsonb: ${bad}`);
    JSON.stringify(events); // no cycles, no BigInt
    if (looksLikeZip(input)) {
      const z = await openZip(input, options.zip);
      try {
        for (const name of z.entryNames()) if (!name.endsWith('/')) await z.readEntry(name);
      } finally {
        z.close();
      }
    }
    return 'parsed';
  } catch (e) {
    if (process.env.FUZZ_DEBUG) console.log(String(e).slice(0, 160));
    if (isTransferError(e) && e instanceof TransferError && TYPES.includes(e.type)) {
      // The message goes to the ledger and the report: it says what is wrong, briefly.
      if (!e.message || e.message.length > 1000) throw new Error(`${e.type} with a message of ${e.message.length} characters`);
      return e.type;
    }
    throw e;
  }
}

const chunkSize = fc.oneof(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 65, max: 65536 }));
/** Mostly the defaults (any chunking); sometimes tight limits, to reach the TooLarge and ZIP-limit paths. */
const optionsArb: fc.Arbitrary<ReaderOptions> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ chunkSize }) },
  {
    weight: 1,
    arbitrary: fc.record(
      {
        chunkSize,
        maxFieldLength: fc.integer({ min: 16, max: 65536 }),
        maxObjectBytes: fc.integer({ min: 256, max: 1 << 20 }),
        maxDepth: fc.integer({ min: 4, max: 64 }),
        maxObjectNodes: fc.integer({ min: 1, max: 2000 }),
        zip: fc.record(
          {
            maxEntries: fc.integer({ min: 1, max: 8 }),
            maxCompressionRatio: fc.integer({ min: 2, max: 200 }),
            ratioMinBytes: fc.integer({ min: 64, max: 1 << 20 }),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: ['chunkSize'] },
    ),
  },
);

describe('fuzz: mutated transfers parse or fail with a typed TransferError', () => {
  it('has seeds', () => {
    expect(seeds.length).toBeGreaterThanOrEqual(hasSamples ? 23 : 15);
  });

  it(`${RUNS} mutated inputs: never another exception type, never a hang, parsed output is storable`, async () => {
    const outcomes = new Map<string, number>();
    const t0 = performance.now();
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: seeds.length - 1 }),
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: zipPlan }),
        optionsArb,
        fc.constantFrom('as is', 'as is', 'as is', 'as is', 'utf-16le', 'utf-16be'),
        async (seedIndex, mutations, zip, options, encoding) => {
          const seed = seeds[seedIndex]!;
          let bytes: Buffer = encoding === 'as is' ? seed.bytes : toUtf16(seed.bytes, encoding === 'utf-16be');
          for (const m of mutations) bytes = apply(bytes, m);
          if (zip) bytes = rezip(bytes, zip);
          const outcome = await withTimeout(exercise(bytes, options), `${seed.name} (${bytes.length} bytes)`);
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        },
      ),
      { numRuns: RUNS, seed: Number(process.env.FUZZ_SEED ?? 20261127), endOnFailure: true },
    );
    const seconds = (performance.now() - t0) / 1000;
    console.log(`fuzz: ${RUNS} cases in ${seconds.toFixed(1)} s over ${seeds.length} seeds:`, Object.fromEntries([...outcomes].sort()));
    // The mutations are varied enough to reach the reader's rejection paths, not only one of them.
    expect(outcomes.get('parsed') ?? 0).toBeGreaterThan(RUNS / 20);
    expect(outcomes.get('MalformedXml') ?? 0).toBeGreaterThan(0);
    expect(outcomes.get('ZipRejected') ?? 0).toBeGreaterThan(0);
  });

  it('the unmutated seeds themselves parse or are rejected as their fixture intends', async () => {
    for (const s of seeds) {
      const outcome = await exercise(s.bytes, {});
      const intended = /billion-laughs|external-entity|truncated/.test(s.name) ? 'MalformedXml' : /not-openimmo/.test(s.name) ? 'NotOpenImmo' : 'parsed';
      expect({ seed: s.name, outcome }).toEqual({ seed: s.name, outcome: intended });
    }
  });
});
