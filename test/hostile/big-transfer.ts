/**
 * A large IMV-shaped transfer made on the fly (a generator, never a whole buffer), a ZIP of it written
 * with a streaming deflater, and a memory watcher (heap plus Buffers, which live outside the heap).
 */
import fs from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';
import iconv from 'iconv-lite';

const CITIES = ['Köln', 'München', 'Lüdenscheid', 'Düsseldorf', 'Görlitz', 'Würzburg'];

function object(i: number): string {
  const city = CITIES[i % CITIES.length]!;
  // A per-object varying text keeps the deflate ratio realistic (a few :1, not a bomb's 1000:1).
  const noise = ((i * 2654435761) >>> 0).toString(36);
  return `<immobilie>
<objektkategorie><nutzungsart WOHNEN="1" GEWERBE="0"/><vermarktungsart KAUF="1" MIETE_PACHT="0"/><objektart><wohnung wohnungtyp="ETAGE"/></objektart></objektkategorie>
<geo><plz>${50000 + (i % 9999)}</plz><ort>${city}</ort><strasse>Hohe Straße</strasse><hausnummer>${(i % 120) + 1}</hausnummer><land iso_land="DEU"/></geo>
<kontaktperson><name>Schäfer-${i}</name><vorname>Renate</vorname><email_privat>eigentuemer${i}@example.org</email_privat><personennummer>IMV-K-${i}</personennummer></kontaktperson>
<preise><kaufpreis>${200000 + i * 17}.00</kaufpreis><waehrung iso_waehrung="EUR"/></preise>
<flaechen><wohnflaeche>${40 + (i % 120)}.50</wohnflaeche><anzahl_zimmer>${1 + (i % 6)}</anzahl_zimmer></flaechen>
<freitexte><objekttitel>Wohnung ${i} in ${city}</objekttitel><objektbeschreibung>${`Helle Wohnung ${noise} mit großer Küche, Balkon ${i % 7} und Keller. `.repeat(12)}</objektbeschreibung></freitexte>
<verwaltung_techn><objektnr_extern>${i}</objektnr_extern><aktion/><stand_vom>2026-11-25</stand_vom></verwaltung_techn>
<user_defined_simplefield feldname="onoffice_benutzer">skoch</user_defined_simplefield>
</immobilie>
`;
}

export interface BigTransfer {
  /** The bytes from the start, each call anew (the decoder may open the source twice). */
  chunks(): AsyncGenerator<Buffer>;
  /** Objects in the transfer (known once a pass has finished). */
  objects(): number;
  bytesWritten(): number;
}

/** At least `targetBytes` of XML in chunks of ~64 objects (~200 KB). */
export function bigTransfer(targetBytes: number, encoding: 'UTF-8' | 'ISO-8859-1'): BigTransfer {
  const encode = (s: string): Buffer => (encoding === 'UTF-8' ? Buffer.from(s, 'utf8') : iconv.encode(s, 'windows-1252'));
  let count = 0;
  let written = 0;
  return {
    async *chunks() {
      let bytes = 0;
      let i = 0;
      const head = encode(`<?xml version="1.0" encoding="${encoding}"?>\n<openimmo>\n<uebertragung umfang="TEIL" version="1.2.7" timestamp="2026-11-25T10:00:00Z"/>\n<anbieter><anbieternr>BIG</anbieternr>\n`);
      bytes += head.length;
      yield head;
      while (bytes < targetBytes) {
        let s = '';
        for (let k = 0; k < 64; k++) s += object(i++);
        const b = encode(s);
        bytes += b.length;
        yield b;
      }
      const tail = encode('</anbieter></openimmo>\n');
      bytes += tail.length;
      yield tail;
      count = i;
      written = bytes;
    },
    objects: () => count,
    bytesWritten: () => written,
  };
}

const CRC_TABLE = (() => {
  const t = new Int32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c;
  }
  return t;
})();

function crcUpdate(crc: number, buf: Buffer): number {
  let c = crc;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return c;
}

/**
 * Writes a ZIP holding `export/openimmo.xml` of ≥ `targetBytes`, streaming: the local header is
 * patched with CRC and sizes afterwards. Returns the object count.
 */
export async function bigZipFile(file: string, targetBytes: number): Promise<{ objects: number; uncompressed: number; compressed: number }> {
  const big = bigTransfer(targetBytes, 'UTF-8');
  const name = Buffer.from('export/openimmo.xml');
  const fd = fs.openSync(file, 'w');
  try {
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x800, 6);
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(name.length, 26);
    fs.writeSync(fd, local, 0, 30, 0);
    fs.writeSync(fd, name, 0, name.length, 30);
    const dataStart = 30 + name.length;
    let crc = -1;
    let uncompressed = 0;
    let compressed = 0;
    async function* counted() {
      for await (const b of big.chunks()) {
        crc = crcUpdate(crc, b);
        uncompressed += b.length;
        yield b;
      }
    }
    let pos = dataStart;
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        fs.write(fd, chunk, 0, chunk.length, pos, (err) => cb(err));
        pos += chunk.length;
        compressed += chunk.length;
      },
    });
    await pipeline(Readable.from(counted()), zlib.createDeflateRaw({ level: 1 }), sink);
    const crcFinal = (crc ^ -1) >>> 0;
    const patch = Buffer.alloc(12);
    patch.writeUInt32LE(crcFinal, 0);
    patch.writeUInt32LE(compressed, 4);
    patch.writeUInt32LE(uncompressed, 8);
    fs.writeSync(fd, patch, 0, 12, 14);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x800, 8);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crcFinal, 16);
    central.writeUInt32LE(compressed, 20);
    central.writeUInt32LE(uncompressed, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE((0o100644 << 16) >>> 0, 38);
    central.writeUInt32LE(0, 42);
    const cdStart = dataStart + compressed;
    const cd = Buffer.concat([central, name]);
    const eocd = Buffer.alloc(22);
    eocd.writeUInt32LE(0x06054b50, 0);
    eocd.writeUInt16LE(1, 8);
    eocd.writeUInt16LE(1, 10);
    eocd.writeUInt32LE(cd.length, 12);
    eocd.writeUInt32LE(cdStart, 16);
    fs.writeSync(fd, Buffer.concat([cd, eocd]), 0, cd.length + 22, cdStart);
    return { objects: big.objects(), uncompressed, compressed };
  } finally {
    fs.closeSync(fd);
  }
}

/** Peak growth of heapUsed + arrayBuffers (Buffers) over the value at creation. */
export function watchMemory() {
  const now = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.arrayBuffers;
  };
  const base = now();
  let peak = base;
  return {
    sample() {
      const v = now();
      if (v > peak) peak = v;
    },
    growthMB: () => (peak - base) / (1024 * 1024),
  };
}
