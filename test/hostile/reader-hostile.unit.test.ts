/**
 * Hostile and broken input at the reader: every file of the hostile catalogue is either rejected with
 * its typed TransferError (the type and a message that says what is wrong) or read with the per-object
 * outcome the pipeline turns into `partial`/warnings — through both entry points the project uses
 * (`readTransferBuffer`, and `openTransfer` on a file as the parse activity does). Nothing is fetched,
 * nothing is written outside. A 200 MB transfer streams with bounded memory.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isTransferError, TransferError } from '../../openimmo/errors';
import { decodeXml } from '../../openimmo/decode';
import { MAX_KEY_BYTES } from '../../openimmo/mapping';
import { openTransfer, parseTextChunks, readTransferBuffer } from '../../openimmo/reader';
import type { TransferEvent, TransferObject } from '../../openimmo/types';
import { caught, objectsOf, withTempDir, writeTemp } from '../openimmo/helpers';
import { hostileFiles, imvObject, imvTransfer, MiB, type HostileFile } from './hostile-files';
import { outsideTargets, startBait, type BaitServer } from './support';
import { bigTransfer, bigZipFile, watchMemory } from './big-transfer';

let bait: BaitServer;
const outside = outsideTargets();
let files: HostileFile[];
const byName = (n: string) => files.find((f) => f.name === n)!;

beforeAll(async () => {
  bait = await startBait();
  files = await hostileFiles(bait, outside);
});

afterAll(async () => {
  await bait?.close();
});

async function viaFile(name: string, bytes: Buffer): Promise<TransferEvent[]> {
  return withTempDir(async (dir) => {
    const t = await openTransfer(writeTemp(dir, name, bytes));
    try {
      const out: TransferEvent[] = [];
      for await (const e of t.events()) out.push(e);
      return out;
    } finally {
      await t.close();
    }
  });
}

describe('every hostile file gets its typed outcome, by buffer and by file', () => {
  it('the catalogue is complete', () => {
    expect(files.map((f) => f.name)).toHaveLength(26);
  });

  for (const entry of ['buffer', 'file'] as const) {
    it(`rejections (${entry})`, async () => {
      for (const f of files) {
        if (f.expect.status !== 'failed') continue;
        const err = await caught(entry === 'buffer' ? readTransferBuffer(f.bytes) : viaFile(f.name, f.bytes));
        expect(err, f.name).toBeInstanceOf(TransferError);
        expect(isTransferError(err)).toBe(true);
        expect({ file: f.name, type: err.type }).toEqual({ file: f.name, type: f.expect.errorType });
        expect(err.message, f.name).toMatch(f.expect.message);
      }
    });
  }

  it('DOCTYPEs are refused whatever the chunking, before saxes buffers the internal subset', async () => {
    for (const name of ['xxe-file-and-http.xml', 'xxe-external-dtd.xml', 'billion-laughs.xml']) {
      for (const chunkSize of [1, 2, 9, 100, 4096]) {
        const err = await caught(readTransferBuffer(byName(name).bytes, { chunkSize }));
        expect({ name, chunkSize, type: err.type }).toEqual({ name, chunkSize, type: 'MalformedXml' });
      }
    }
  });

  it('a billion-laughs document is refused at once (no expansion is attempted)', async () => {
    // Refused before any entity is expanded: memory does not grow (an expansion would need gigabytes),
    // and the error names the undefined entity rather than running out of memory. No wall-clock limit:
    // a loaded machine is slow, not wrong.
    const mem = watchMemory();
    const err = await caught(readTransferBuffer(byName('billion-laughs.xml').bytes));
    mem.sample();
    expect(err.type).toBe('MalformedXml');
    expect(mem.growthMB()).toBeLessThan(50);
  });

  it('XInclude and xml-stylesheet are data, never followed', async () => {
    const [o] = objectsOf(await readTransferBuffer(byName('xinclude-stylesheet.xml').bytes)) as [TransferObject];
    expect(o.sourceId).toBe('7403');
    expect(o.estate.description).toContain('xi:include');
    expect(o.estate.description).toContain(`href="file://${bait.file}"`); // kept as written
    expect(JSON.stringify(o)).not.toContain(bait.marker);
  });

  it('an object without an id, and one with a 5,000-character id, are object-level rejections (sourceId null, warning)', async () => {
    const noId = objectsOf(await readTransferBuffer(byName('no-id.xml').bytes));
    expect(noId.map((o) => o.sourceId)).toEqual(['7701', null]);
    expect(noId[1]!.warnings).toContain('verwaltung_techn: no object id (objektnr_extern and openimmo_obid are missing or empty)');

    const longId = objectsOf(await readTransferBuffer(byName('overlong-id.xml').bytes));
    expect(longId.map((o) => o.sourceId)).toEqual(['7703', null]);
    expect(longId[1]!.warnings.join('\n')).toMatch(
      new RegExp(`verwaltung_techn/objektnr_extern is 5000 characters long, more than the limit of ${MAX_KEY_BYTES} bytes .*not usable as the object id`),
    );
    expect(longId[1]!.warnings.join('\n').length).toBeLessThan(1000); // the value is not echoed
  });

  it('over-long values: the owner is dropped with a warning, out-of-range numbers become warnings, a long free text is kept', async () => {
    const [o] = objectsOf(await readTransferBuffer(byName('overlong-values.xml').bytes)) as [TransferObject];
    expect(o.sourceId).toBe('7704');
    expect(o.contact).toBeNull();
    expect(o.estate.purchasePrice).toBeNull();
    expect(o.estate.yearBuilt).toBeNull();
    expect(o.estate.description).toHaveLength('Sehr lange Beschreibung. '.repeat(12_000).trim().length);
    expect(o.warnings).toEqual([
      'preise/kaufpreis: out of range "12345678901234.00"',
      'zustand_angaben/baujahr: out of range "99999999999"',
      `kontaktperson/name is 3000 characters long, more than the limit of ${MAX_KEY_BYTES} bytes for a value records are matched on; this address is not imported`,
    ]);
  });

  it('values at the bounds still pass; a key field of 400 bytes is fine, 401 is not', async () => {
    const xml = imvTransfer([
      imvObject({ id: 'a'.repeat(MAX_KEY_BYTES), owner: 'ü'.repeat(MAX_KEY_BYTES / 2), ownerNumber: 'K-1', price: '999999999999.99', yearBuilt: '2147483647' }),
      imvObject({ id: 'b'.repeat(MAX_KEY_BYTES + 1), owner: 'ü'.repeat(MAX_KEY_BYTES / 2 + 1), ownerNumber: 'K-2', price: '-999999999999.99' }),
    ]);
    const [a, b] = objectsOf(await readTransferBuffer(Buffer.from(xml))) as [TransferObject, TransferObject];
    expect(a.sourceId).toHaveLength(MAX_KEY_BYTES);
    expect(a.contact?.lastName).toHaveLength(MAX_KEY_BYTES / 2);
    expect(a.estate.purchasePrice).toBe(999999999999.99);
    expect(a.estate.yearBuilt).toBe(2147483647);
    expect(a.warnings).toEqual([]);
    expect(b.sourceId).toBeNull();
    expect(b.contact).toBeNull();
    expect(b.estate.purchasePrice).toBe(-999999999999.99);
  });

  it('a number of 400 digits is unreadable, not Infinity (which JSON would silently turn into null)', async () => {
    const [o] = objectsOf(await readTransferBuffer(Buffer.from(imvTransfer([imvObject({ id: '1', price: '9'.repeat(400) })])))) as [TransferObject];
    expect(o.estate.purchasePrice).toBeNull();
    expect(o.warnings[0]).toMatch(/^preise\/kaufpreis: unreadable number "9{60}…"$/);
  });

  it('the node limit counts attributes too; a generous real object is far below it', async () => {
    const attrs = Array.from({ length: 120_000 }, (_, i) => `a${i}=""`).join(' ');
    const err = await caught(readTransferBuffer(Buffer.from(imvTransfer([imvObject({ id: '1', extra: `<x ${attrs}/>` })]))));
    expect(err.type).toBe('TooLarge');
    expect(err.message).toMatch(/has more than 100000 elements and attributes/);
    // A generous real object (300 pictures, 200 user fields) is far below it.
    const pictures = Array.from(
      { length: 300 },
      (_, i) => `<anhang gruppe="BILD"><anhangtitel>Bild ${i}</anhangtitel><format>jpg</format><daten><pfad>b/${i}.jpg</pfad></daten></anhang>`,
    ).join('');
    const fields = Array.from({ length: 200 }, (_, i) => `<user_defined_simplefield feldname="f${i}">v</user_defined_simplefield>`).join('');
    const [o] = objectsOf(await readTransferBuffer(Buffer.from(imvTransfer([imvObject({ id: '2', extra: `<anhaenge>${pictures}</anhaenge>${fields}` })])))) as [
      TransferObject,
    ];
    expect(o.attachments).toHaveLength(300);
  });

  it('nothing was fetched and nothing was written outside', () => {
    expect(bait.requests).toEqual([]);
    expect(bait.connections).toBe(0);
    expect(fs.existsSync(outside.traversal)).toBe(false);
    expect(fs.existsSync(outside.absolute)).toBe(false);
  });
});

describe('encodings: bytes that are not what the file says are an EncodingError, not damaged text', () => {
  const latin1Body = (bytes: number[]) =>
    Buffer.concat([
      Buffer.from('<?xml version="1.0" encoding="ISO-8859-1"?><openimmo><anbieter><immobilie><freitexte><objekttitel>'),
      Buffer.from(bytes),
      Buffer.from('</objekttitel></freitexte><verwaltung_techn><objektnr_extern>1</objektnr_extern></verwaltung_techn></immobilie></anbieter></openimmo>'),
    ]);

  it('ISO-8859-1 / windows-1252: € and – as windows-1252, the five undefined bytes as the C1 controls of ISO-8859-1 (lossless, no U+FFFD)', async () => {
    const [o] = objectsOf(await readTransferBuffer(latin1Body([0x80, 0x96, 0x81, 0x8d, 0x8f, 0x90, 0x9d, 0xe4]))) as [TransferObject];
    expect(o.estate.title).toBe('€–\u0081\u008d\u008f\u0090\u009dä');
  });

  it('UTF-16: an unpaired surrogate, a lone low surrogate, an odd last byte; a pair split across chunks is fine', async () => {
    const doc = (title: string) => imvTransfer([imvObject({ id: '1', title })], { encoding: 'UTF-16' });
    const le = (s: string) => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(s, 'utf16le')]);
    const withUnit = (unit: number) => {
      const s = doc('#');
      const b = le(s);
      b.writeUInt16LE(unit, 2 + s.indexOf('#') * 2);
      return b;
    };
    for (const unit of [0xd800, 0xdc00]) {
      const err = await caught(readTransferBuffer(withUnit(unit)));
      expect(err.type).toBe('EncodingError');
      expect(err.message).toMatch(new RegExp(`unpaired surrogate \\(0x${unit.toString(16).toUpperCase()}\\)`));
    }
    const odd = await caught(readTransferBuffer(Buffer.concat([le(doc('x')), Buffer.from([0x41])])));
    expect(odd.type).toBe('EncodingError');
    expect(odd.message).toMatch(/odd number of bytes/);
    for (const chunkSize of [1, 3, 5, 64]) {
      const [o] = objectsOf(await readTransferBuffer(le(doc('a😀b')), { chunkSize })) as [TransferObject];
      expect(o.estate.title).toBe('a😀b');
    }
    // big-endian too
    const be = Buffer.from(doc('a😀b'), 'utf16le').swap16();
    const [o] = objectsOf(await readTransferBuffer(Buffer.concat([Buffer.from([0xfe, 0xff]), be]), { chunkSize: 7 })) as [TransferObject];
    expect(o.estate.title).toBe('a😀b');
  });

  it('a legacy multi-byte encoding: valid text reads, invalid bytes name the encoding and the line', async () => {
    const sjis = (bytes: number[]) => {
      const [before, after] = imvTransfer([imvObject({ id: '1', title: '#' })], { encoding: 'Shift_JIS' }).split('#') as [string, string];
      return Buffer.concat([Buffer.from(before, 'latin1'), Buffer.from(bytes), Buffer.from(after, 'latin1')]);
    };
    const [o] = objectsOf(await readTransferBuffer(sjis([0x82, 0xa0, 0x93, 0xfa]))) as [TransferObject];
    expect(o.estate.title).toBe('あ日');
    const err = await caught(readTransferBuffer(sjis([0x82, 0xa0, 0x81, 0x20])));
    expect(err.type).toBe('EncodingError');
    expect(err.message).toBe('Invalid byte sequence for the encoding Shift_JIS in line 12');
  });
});

describe('a 200 MB transfer streams within bounded memory', () => {
  const TARGET = 200 * 1000 * 1000;

  async function consume(events: AsyncIterable<TransferEvent>, mem: ReturnType<typeof watchMemory>) {
    let objects = 0;
    let last: string | null = null;
    for await (const e of events) {
      if (e.type !== 'object') continue;
      objects++;
      last = e.object.sourceId;
      if (objects % 1000 === 0) mem.sample();
    }
    return { objects, last };
  }

  it('plain UTF-8 from a generator (Readable) through decodeXml → parseTextChunks', async () => {
    const big = bigTransfer(TARGET, 'UTF-8');
    const mem = watchMemory();
    const t0 = performance.now();
    const r = await consume(parseTextChunks(decodeXml(() => Readable.from(big.chunks()))), mem);
    const seconds = (performance.now() - t0) / 1000;
    expect(big.bytesWritten()).toBeGreaterThan(TARGET);
    expect(r.objects).toBe(big.objects());
    expect(r.last).toBe(String(big.objects() - 1));
    expect(mem.growthMB()).toBeLessThan(150);
    console.log(`200 MB UTF-8: ${r.objects} objects in ${seconds.toFixed(1)} s, peak growth ${mem.growthMB().toFixed(0)} MB (heap + buffers)`);
  });

  it('declared ISO-8859-1: the content check reads the stream twice, still bounded', async () => {
    const big = bigTransfer(TARGET, 'ISO-8859-1');
    const mem = watchMemory();
    const t0 = performance.now();
    const r = await consume(parseTextChunks(decodeXml(() => Readable.from(big.chunks()))), mem);
    const seconds = (performance.now() - t0) / 1000;
    expect(r.objects).toBe(big.objects());
    expect(mem.growthMB()).toBeLessThan(150);
    console.log(`200 MB ISO-8859-1 (two passes): ${r.objects} objects in ${seconds.toFixed(1)} s, peak growth ${mem.growthMB().toFixed(0)} MB`);
  });

  it('inside a ZIP on disk, through openTransfer as the parse activity does', async () => {
    await withTempDir(async (dir) => {
      const file = path.join(dir, 'big.zip');
      const t0 = performance.now();
      const written = await bigZipFile(file, TARGET);
      const t1 = performance.now();
      const mem = watchMemory();
      const t = await openTransfer(file);
      let r;
      try {
        r = await consume(t.events(), mem);
      } finally {
        await t.close();
      }
      const seconds = (performance.now() - t1) / 1000;
      expect(r.objects).toBe(written.objects);
      expect(mem.growthMB()).toBeLessThan(150);
      console.log(
        `200 MB in a ZIP (${(fs.statSync(file).size / MiB).toFixed(0)} MiB on disk, written in ${((t1 - t0) / 1000).toFixed(1)} s): ${r.objects} objects in ${seconds.toFixed(1)} s, peak growth ${mem.growthMB().toFixed(0)} MB`,
      );
    });
  });
});
