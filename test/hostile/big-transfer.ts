/**
 * A large IMV-shaped transfer made on the fly (a generator, never a whole buffer), a ZIP of it written
 * as a stream, and a memory watcher (heap plus Buffers, which live outside the heap).
 */
import iconv from 'iconv-lite';
import { zipFileStreaming } from '../support/zip';

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

/** Writes a ZIP holding `export/openimmo.xml` of ≥ `targetBytes`, streamed through yazl. Returns the object count. */
export async function bigZipFile(file: string, targetBytes: number): Promise<{ objects: number; compressed: number }> {
  const big = bigTransfer(targetBytes, 'UTF-8');
  const compressed = await zipFileStreaming(file, 'export/openimmo.xml', big.chunks());
  return { objects: big.objects(), compressed };
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
