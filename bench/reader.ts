/**
 * Reader benchmark: a 10,000-object IMV-shaped transfer (~26 MB) → openTransfer → events.
 * Prints MB/s, objects/s, and RSS/heap along the way: heap must stay flat while objects stream by
 * (a memory test is a benchmark, not a timed unit test).
 *
 *   npx tsc -p tsconfig.build.json && node dist/bench/reader.js [objects] [--latin1] [--keep]
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SaxesParser } from 'saxes';
import iconv from 'iconv-lite';
import { openTransfer } from '../openimmo/reader';

const CITIES = ['Köln', 'München', 'Lüdenscheid', 'Düsseldorf', 'Hamburg', 'Würzburg', 'Görlitz', 'Essen'];

export function immobilie(i: number): string {
  const city = CITIES[i % CITIES.length]!;
  const kauf = i % 3 !== 0;
  return `    <immobilie>
      <objektkategorie>
        <nutzungsart WOHNEN="1" GEWERBE="0"/>
        <vermarktungsart KAUF="${kauf ? 1 : 0}" MIETE_PACHT="${kauf ? 0 : 1}"/>
        <objektart>
          <wohnung wohnungtyp="ETAGE"/>
        </objektart>
      </objektkategorie>
      <geo>
        <plz>${50000 + (i % 9999)}</plz>
        <ort>${city}</ort>
        <geokoordinaten breitengrad="50.${1000 + (i % 8999)}" laengengrad="6.${1000 + (i % 8999)}"/>
        <strasse>Hohe Straße</strasse>
        <hausnummer>${(i % 120) + 1}a</hausnummer>
        <land iso_land="DEU"/>
        <etage>${i % 7}</etage>
      </geo>
      <kontaktperson>
        <email_privat>eigentuemer${i}@example.org</email_privat>
        <tel_privat>+49 221 555${String(i).padStart(5, '0')}</tel_privat>
        <tel_handy>+49 170 555${String(i).padStart(5, '0')}</tel_handy>
        <name>Schäfer-${i}</name>
        <vorname>Renate</vorname>
        <anrede>Frau</anrede>
        <strasse>Lindenallee</strasse>
        <hausnummer>${(i % 40) + 1}</hausnummer>
        <plz>50968</plz>
        <ort>${city}</ort>
        <land iso_land="DEU"/>
        <personennummer>IMV-K-${88000 + i}</personennummer>
      </kontaktperson>
      <preise>
        ${kauf ? `<kaufpreis>${200000 + i * 17}.00</kaufpreis>` : `<kaltmiete>${800 + (i % 900)}.00</kaltmiete>\n        <nebenkosten>210.00</nebenkosten>`}
        <hausgeld>310.50</hausgeld>
        <waehrung iso_waehrung="EUR"/>
      </preise>
      <flaechen>
        <wohnflaeche>${40 + (i % 120)}.50</wohnflaeche>
        <anzahl_zimmer>${1 + (i % 6)}</anzahl_zimmer>
        <anzahl_badezimmer>1</anzahl_badezimmer>
        <anzahl_balkone>1</anzahl_balkone>
      </flaechen>
      <ausstattung>
        <fahrstuhl PERSONEN="1"/>
        <heizungsart ZENTRAL="1"/>
      </ausstattung>
      <zustand_angaben>
        <baujahr>${1900 + (i % 125)}</baujahr>
        <zustand zustand_art="GEPFLEGT"/>
      </zustand_angaben>
      <freitexte>
        <objekttitel>Helle ${1 + (i % 6)}-Zimmer-Wohnung mit Balkon in ${city} – Nr. ${i}</objekttitel>
        <lage>Zentrale Lage, 5 Minuten zum Dom. Einkaufsmöglichkeiten, Schulen und Ärzte in der Nähe.</lage>
        <objektbeschreibung><![CDATA[Privatverkauf. Gefunden auf einem Immobilienportal; Eigentümerin wünscht Rückruf ab 17 Uhr.<br>Gepflegtes Haus, ruhige Nachbarschaft, Keller.]]></objektbeschreibung>
      </freitexte>
      <verwaltung_objekt>
        <objektadresse_freigeben>false</objektadresse_freigeben>
        <verfuegbar_ab>nach Absprache</verfuegbar_ab>
      </verwaltung_objekt>
      <verwaltung_techn>
        <objektnr_extern>${100000 + i}</objektnr_extern>
        <aktion${i % 50 === 0 ? ' aktionart="DELETE"' : ''}/>
        <openimmo_obid>IMVONLINE-${100000 + i}</openimmo_obid>
        <kennung_ursprung>IMV online</kennung_ursprung>
        <stand_vom>2026-11-20</stand_vom>
      </verwaltung_techn>
      <user_defined_simplefield feldname="onoffice_benutzer">mmustermann</user_defined_simplefield>
      <user_defined_simplefield feldname="imv_quelle">Portal-Inserat</user_defined_simplefield>
    </immobilie>
`;
}

export async function generate(path: string, objects: number, encoding: 'utf-8' | 'latin1'): Promise<void> {
  const out = createWriteStream(path);
  const write = async (s: string): Promise<void> => {
    const buf = encoding === 'utf-8' ? Buffer.from(s, 'utf8') : iconv.encode(s, 'windows-1252');
    if (!out.write(buf)) await once(out, 'drain');
  };
  await write(`<?xml version="1.0" encoding="${encoding === 'utf-8' ? 'UTF-8' : 'ISO-8859-1'}"?>
<openimmo>
  <uebertragung art="OFFLINE" umfang="TEIL" modus="CHANGE" version="1.2.7" sendersoftware="IMV online" senderversion="4.2" timestamp="2026-11-20T09:15:00+01:00"/>
  <anbieter>
    <anbieternr>IMV</anbieternr>
    <firma>IMV online</firma>
    <openimmo_anid>IMVONLINE</openimmo_anid>
`);
  for (let i = 0; i < objects; i++) await write(immobilie(i));
  await write('  </anbieter>\n</openimmo>\n');
  out.end();
  await once(out, 'finish');
}

function mb(n: number): string {
  return (n / 1024 / 1024).toFixed(1);
}

async function saxesCeiling(path: string): Promise<number> {
  const sax = new SaxesParser({ xmlns: false, position: true });
  let n = 0;
  sax.on('opentag', () => n++);
  sax.on('text', () => undefined);
  const t0 = process.hrtime.bigint();
  for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024, encoding: 'utf8' })) sax.write(chunk as string);
  sax.close();
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const objects = Number(args.find((a) => /^\d+$/.test(a)) ?? 10_000);
  const latin1 = args.includes('--latin1');
  const dir = await mkdtemp(join(tmpdir(), 'imv-bench-'));
  const file = join(dir, 'transfer.xml');
  try {
    await generate(file, objects, latin1 ? 'latin1' : 'utf-8');
    const size = (await stat(file)).size;
    console.log(`transfer: ${objects} objects, ${mb(size)} MB, ${latin1 ? 'ISO-8859-1 declared' : 'UTF-8'}`);

    if (!latin1) {
      const s = await saxesCeiling(file);
      console.log(`saxes alone (ceiling): ${(size / 1024 / 1024 / s).toFixed(1)} MB/s`);
    }

    global.gc?.();
    const base = process.memoryUsage();
    let peakRss = base.rss;
    let peakHeap = base.heapUsed;
    const samples: string[] = [];
    const t0 = process.hrtime.bigint();
    const t = await openTransfer(file);
    let count = 0;
    let warnings = 0;
    for await (const e of t.events()) {
      if (e.type !== 'object') continue;
      count++;
      warnings += e.object.warnings.length;
      if (count % 500 === 0) {
        const m = process.memoryUsage();
        if (m.rss > peakRss) peakRss = m.rss;
        if (m.heapUsed > peakHeap) peakHeap = m.heapUsed;
        if (count % Math.max(1000, Math.floor(objects / 5)) === 0) samples.push(`${count}: heap ${mb(m.heapUsed)} MB`);
      }
    }
    await t.close();
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    if (count !== objects) throw new Error(`expected ${objects} objects, got ${count}`);
    console.log(`reader: ${secs.toFixed(2)} s, ${(size / 1024 / 1024 / secs).toFixed(1)} MB/s, ${Math.round(count / secs)} objects/s, ${warnings} warnings`);
    console.log(`encoding: ${t.encoding?.encoding} (${t.encoding?.reason})`);
    console.log(`memory: baseline rss ${mb(base.rss)} MB / heap ${mb(base.heapUsed)} MB; peak rss ${mb(peakRss)} MB / heap ${mb(peakHeap)} MB`);
    console.log(`heap along the way: ${samples.join(', ')}`);
  } finally {
    if (args.includes('--keep')) console.log(`kept: ${file}`);
    else await rm(dir, { recursive: true, force: true });
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exitCode = 1;
  });
}
