/**
 * Every file in shared/samples parses, with its key values. The samples live outside the repo; where
 * they are is test/support/samples.ts's to find (it fails a CI run without them, and says once per
 * run what is skipped elsewhere). The project's own IMV-shaped transfers (test/fixtures/transfers, on
 * which the rule tests run) are read the same way, in every run.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openTransfer, type OpenedTransfer } from '../../openimmo/reader';
import type { ProviderInfo, TransferEvent, TransferHeader, TransferObject } from '../../openimmo/types';
import { contactWarnings, isImportableContact } from '../../domain/contact';
import { fixturesDir } from '../support/harness';
import { candidateDirs, hasSamples, localOriginCheckout, samplesDir as SAMPLES } from '../support/samples';

interface Read {
  transfer: OpenedTransfer;
  events: TransferEvent[];
  header: TransferHeader | null;
  objects: TransferObject[];
  providers: ProviderInfo[];
}

async function readTransfer(file: string): Promise<Read> {
  const transfer = await openTransfer(file);
  const events: TransferEvent[] = [];
  try {
    for await (const e of transfer.events()) events.push(e);
  } finally {
    await transfer.close();
  }
  return {
    transfer,
    events,
    header: events.flatMap((e) => (e.type === 'header' ? [e.header] : []))[0] ?? null,
    objects: events.flatMap((e) => (e.type === 'object' ? [e.object] : [])),
    providers: events.flatMap((e) => (e.type === 'provider' ? [e.provider] : [])),
  };
}

describe.runIf(hasSamples)('shared samples', () => {
  const expected: Record<string, (r: Read) => Promise<void> | void> = {
    'imv/imv-1001-wohnung.xml': ({ header, objects, providers }) => {
      expect(header).toMatchObject({ version: '1.2.7', umfang: 'TEIL', sendersoftware: 'IMV online', timestamp: '2026-11-20T08:15:00.000Z' });
      expect(objects).toHaveLength(1);
      const o = objects[0]!;
      expect(o).toMatchObject({
        sourceId: '1001',
        openimmoObid: 'IMVONLINE-1001',
        action: 'UPSERT',
        user: 'mmustermann',
        standVom: '2026-11-20',
        warnings: [],
      });
      expect(o.estate).toMatchObject({
        kind: 'wohnung',
        kindType: 'ETAGE',
        marketingType: 'KAUF',
        usageType: 'WOHNEN',
        city: 'Köln',
        zip: '50667',
        street: 'Hohe Straße',
        houseNumber: '12a',
        country: 'DEU',
        latitude: 50.9384,
        longitude: 6.9599,
        floor: '3',
        purchasePrice: 389000,
        houseMoney: 310.5,
        currency: 'EUR',
        livingArea: 84.5,
        rooms: 3,
        bathrooms: 1,
        yearBuilt: 1968,
        condition: 'GEPFLEGT',
        addressPublishable: false,
        availableFrom: 'nach Absprache',
        title: 'Helle 3-Zimmer-Wohnung mit Balkon in der Kölner Innenstadt',
      });
      expect(o.contact).toMatchObject({
        externalId: 'IMV-K-88120',
        lastName: 'Schäfer',
        firstName: 'Renate',
        salutation: 'Frau',
        city: 'Köln',
        country: 'DEU',
        emails: { email_privat: 'renate.schaefer@example.org' },
        phones: { tel_privat: '+49 221 5550101', tel_handy: '+49 170 5550101' },
      });
      expect(o.userFields.map((f) => f.name)).toEqual(['onoffice_benutzer', 'imv_quelle']);
      expect(providers).toEqual([{ index: 0, anbieternr: 'IMV', firma: 'IMV online', openimmoAnid: 'IMVONLINE', user: null, userFields: [] }]);
    },

    'imv/imv-update-1001-delete-1003.xml': ({ objects }) => {
      expect(objects.map((o) => [o.sourceId, o.action, o.user])).toEqual([
        ['1001', 'UPSERT', 'mmustermann'],
        ['1003', 'DELETE', 'mmustermann'],
      ]);
      expect(objects[0]!.estate.purchasePrice).toBe(369000);
      expect(objects[0]!.standVom).toBe('2026-11-24');
      expect(objects[1]!.contact?.lastName).toBe('Özdemir');
    },

    'imv/imv-latin1-two-objects.xml': ({ transfer, objects }) => {
      expect(transfer.encoding).toMatchObject({ encoding: 'windows-1252', declared: 'ISO-8859-1' });
      expect(objects.map((o) => o.sourceId)).toEqual(['1002', '1003']);
      const [a, b] = objects as [TransferObject, TransferObject];
      expect(a.estate.city).toBe('Lüdenscheid');
      expect(a.estate.street).toBe('Am Bürgerhof');
      expect(a.estate.title).toBe('Großzügiges Einfamilienhaus mit Garten – ruhige Lage');
      expect(a.estate).toMatchObject({ kind: 'haus', kindType: 'EINFAMILIENHAUS', purchasePrice: 455000, plotArea: 612, rooms: 5.5, yearBuilt: 1994 });
      expect(a.contact).toMatchObject({ lastName: 'Größ', firstName: 'Jürgen' });
      expect(a.user).toBe('skoch');
      expect(b.estate).toMatchObject({ city: 'München', coldRent: 1450, additionalCosts: 260, deposit: '4350.00', marketingType: 'MIETE_PACHT' });
      expect(b.contact).toMatchObject({ lastName: 'Özdemir', firstName: 'Begüm' });
    },

    'imv/imv-1004-with-images.zip': async ({ transfer, objects }) => {
      expect(transfer.kind).toBe('zip');
      expect(transfer.xmlEntryName).toBe('export/openimmo.xml');
      const [o] = objects as [TransferObject];
      expect(o).toMatchObject({ sourceId: '1004', user: 'skoch', warnings: [] });
      expect(o.estate).toMatchObject({
        kind: 'buero_praxen',
        kindType: 'BUEROFLAECHE',
        usageType: 'GEWERBE',
        usableArea: 310,
        officeArea: 290,
        city: 'Hamburg',
      });
      expect(o.contact).toMatchObject({ company: 'Hanse Gewerbebau GmbH', lastName: 'Petersen' });
      expect(o.attachments.map((a) => [a.group, a.title, a.source])).toEqual([
        ['TITELBILD', 'Außenansicht', { kind: 'path', path: 'bilder/aussen.png', entry: 'export/bilder/aussen.png' }],
        ['GRUNDRISS', 'Grundriss 4. OG', { kind: 'path', path: 'bilder/Grundriss 4OG.png', entry: 'export/bilder/Grundriss 4OG.png' }],
      ]);
      // The two attachments resolve and can be read (the transfer is closed, so open it again).
      const again = await openTransfer(join(SAMPLES, 'imv/imv-1004-with-images.zip'));
      try {
        for (const a of o.attachments) {
          const entry = again.attachments!.resolve(a.source.kind === 'path' ? a.source.path : '');
          expect(entry).not.toBeNull();
          const bytes = await again.attachments!.read(entry!);
          expect(bytes.subarray(1, 4).toString('latin1')).toBe('PNG');
        }
      } finally {
        await again.close();
      }
    },

    'public/OpenEstate-IO__openimmo-1-2-0-downgrade.xml': ({ header, objects, providers }) => {
      expect(header).toMatchObject({ version: '1.2.0', modus: 'NEW' });
      expect(objects).toHaveLength(10);
      expect(objects.every((o) => o.sourceId === null)).toBe(true);
      expect(objects.every((o) => o.warnings.some((w) => /no object id/.test(w)))).toBe(true);
      expect(objects.slice(3, 8).map((o) => o.estate.kindType)).toEqual(['KRANKENHAUS', 'PFLEGEHEIM', 'SANATORIUM', 'SENIORENHEIM', 'BETREUTES-WOHNEN']);
      expect(objects[0]!.userFields.map((f) => [f.section, f.kind, f.name, f.value])).toEqual([
        ['geo', 'extend', 'test1', 'test2'],
        ['preise', 'extend', 'test1', 'test2'],
        ['bieterverfahren', 'extend', 'test1', 'test2'],
        ['ausstattung', 'extend', 'test1', 'test2'],
      ]);
      expect(objects[8]!.estate.energyCertificates).toMatchObject([{ art: 'VERBRAUCH' }]);
      expect(objects[9]!.estate.energyCertificates).toMatchObject([{ art: 'BEDARF', energyDemand: 456 }]);
      expect(providers).toMatchObject([{ firma: 'first agency', openimmoAnid: null }]);
    },

    'public/innobraingmbh-laravel-openimmo__tests_fixtures_example.xml': ({ header, objects, providers }) => {
      expect(header).toBeNull(); // no <uebertragung>
      const [o] = objects as [TransferObject];
      expect(o).toMatchObject({ sourceId: '8333', openimmoObid: null, standVom: '2025-04-01', warnings: [] });
      expect(o.estate).toMatchObject({
        zip: '97084',
        city: 'Heidingsfeld, Heidingsfeld',
        street: null,
        coldRent: 940,
        additionalCosts: 322,
        livingArea: 72.3,
        rooms: 2,
      });
      expect(o.estate.title).toBe('Reinkommen, wohlfühlen, losleben!');
      expect(o.estate.locationText).toContain('<br>Heidingsfeld, besitzt heute');
      expect(o.estate.description).toMatch(/^Diese Wohnung beeindruckt/); // from objekt_text
      expect(o.attachments).toHaveLength(6);
      expect(o.attachments.every((a) => a.source.kind === 'url' && a.group === null && a.location === null)).toBe(true);
      expect(o.attachments.map((a) => a.title)).toContain('offene Küche');
      expect(providers).toMatchObject([{ firma: null, openimmoAnid: null }]);
    },

    'public/oliverklee-ext-csv_to_openimmo__MinimalOpenImmo.xml': ({ header, objects }) => {
      expect(header).toMatchObject({ version: '1.2.7', umfang: 'VOLL' });
      const [o] = objects as [TransferObject];
      expect(o.sourceId).toBeNull();
      expect(o.estate).toMatchObject({ kind: 'zimmer', usageType: 'WOHNEN,GEWERBE', marketingType: 'KAUF,MIETE_PACHT', title: null });
      expect(o.contact).toMatchObject({ lastName: null, emails: { email_zentrale: 'info@example.com' } });
      // R2: an owner with only an e-mail becomes an address without a name (this object has no id, so
      // the pipeline rejects it before its contact: test/pipeline/fidelity.test.ts).
      expect(isImportableContact(o.contact)).toBe(true);
      expect(contactWarnings(o)).toEqual(['kontaktperson has no name or company (only e-mail): owner address created without a name']);
      expect(o.standVom).toBe('2018-11-26');
    },

    'public/oliverklee-ext-realty__charset-ISO8859-1.zip': ({ transfer, objects, providers }) => {
      expect(transfer.kind).toBe('zip');
      expect(transfer.xmlEntryName).toBe('charset-ISO8859-1.xml');
      expect(transfer.encoding).toMatchObject({ encoding: 'windows-1252' });
      const [o] = objects as [TransferObject];
      expect(o).toMatchObject({ sourceId: 'bar1234567', openimmoObid: 'foo', action: 'UPSERT' });
      // openimmo_anid comes after the immobilie, with an umlaut.
      expect(providers).toMatchObject([{ openimmoAnid: 'test-anid-with-umlaut-ü', firma: 'bar' }]);
    },
  };

  const files = hasSamples ? ['imv', 'public'].flatMap((d) => readdirSync(join(SAMPLES, d)).map((f) => `${d}/${f}`)).sort() : [];

  it('every sample file has expectations here', () => {
    expect(files.filter((f) => !(f in expected))).toEqual([]);
  });

  for (const file of files) {
    it(`${file} parses`, async () => {
      const r = await readTransfer(join(SAMPLES, file));
      expect(r.objects.length).toBeGreaterThan(0);
      await expected[file]?.(r);
    });
  }
});

describe("the project's IMV fixtures", () => {
  const transfers = join(fixturesDir, 'transfers');
  const read = (f: string) => readTransfer(join(transfers, f));

  it('imv-flat-1001.xml: the IMV channel (object id, user, owner as kontaktperson) and the typed values', async () => {
    const { header, objects, providers } = await read('imv-flat-1001.xml');
    expect(header).toMatchObject({ version: '1.2.7', umfang: 'TEIL', sendersoftware: 'IMV online', timestamp: '2026-11-20T08:15:00.000Z' });
    const [o] = objects as [TransferObject];
    expect(objects).toHaveLength(1);
    expect(o).toMatchObject({ sourceId: '1001', openimmoObid: 'IMVONLINE-1001', action: 'UPSERT', user: 'mmustermann', standVom: '2026-11-20', warnings: [] });
    expect(o.estate).toMatchObject({
      kind: 'wohnung',
      kindType: 'ETAGE',
      marketingType: 'KAUF',
      usageType: 'WOHNEN',
      city: 'Mönchengladbach',
      street: 'Brückenstraße',
      houseNumber: '7b',
      country: 'DEU',
      latitude: 51.1946,
      longitude: 6.4421,
      floor: '2',
      purchasePrice: 289000,
      houseMoney: 275.4,
      livingArea: 76.2,
      rooms: 3,
      yearBuilt: 1972,
      condition: 'GEPFLEGT',
      addressPublishable: false,
      availableFrom: 'ab Frühjahr 2027',
    });
    expect(o.contact).toMatchObject({
      externalId: 'IMV-K-40211',
      lastName: 'Wüstefeld',
      firstName: 'Henrike',
      salutation: 'Frau',
      country: 'DEU',
      emails: { email_privat: 'henrike.wuestefeld@example.org' },
      phones: { tel_privat: '+49 2161 5550177', tel_handy: '+49 151 5550177' },
    });
    expect(o.userFields.map((f) => f.name)).toEqual(['onoffice_benutzer', 'imv_quelle']);
    expect(providers).toEqual([{ index: 0, anbieternr: 'IMV', firma: 'IMV online', openimmoAnid: 'IMVONLINE', user: null, userFields: [] }]);
  });

  it('imv-latin1-house-1002-flat-1003.xml: declared ISO-8859-1, read as windows-1252 (the en dash of a character reference kept)', async () => {
    const { transfer, objects } = await read('imv-latin1-house-1002-flat-1003.xml');
    expect(transfer.encoding).toMatchObject({ encoding: 'windows-1252', declared: 'ISO-8859-1' });
    const [a, b] = objects as [TransferObject, TransferObject];
    expect(objects.map((o) => [o.sourceId, o.user])).toEqual([
      ['1002', 'skoch'],
      ['1003', 'mmustermann'],
    ]);
    expect(a.estate).toMatchObject({ city: 'Görlitz', kind: 'haus', kindType: 'EINFAMILIENHAUS', purchasePrice: 335000, plotArea: 540, rooms: 5.5 });
    expect(a.estate.title).toBe('Großzügiges Einfamilienhaus mit Garten – nahe der Neiße');
    expect(a.contact).toMatchObject({ lastName: 'Käßler', firstName: 'Björn' });
    expect(b.estate).toMatchObject({ city: 'Würzburg', coldRent: 1180, additionalCosts: 240, deposit: '3540.00', marketingType: 'MIETE_PACHT' });
    expect(b.contact).toMatchObject({ lastName: 'Çelik', firstName: 'Aylin' });
  });

  it('imv-office-1004-with-pictures.zip: the XML in a folder, its pictures found beside it (a name with a space)', async () => {
    const { transfer, objects } = await read('imv-office-1004-with-pictures.zip');
    expect([transfer.kind, transfer.xmlEntryName]).toEqual(['zip', 'export/openimmo.xml']);
    const [o] = objects as [TransferObject];
    expect(o).toMatchObject({ sourceId: '1004', user: 'skoch', warnings: [] });
    expect(o.estate).toMatchObject({ kind: 'buero_praxen', usageType: 'GEWERBE', usableArea: 265, officeArea: 240, city: 'Bremen' });
    expect(o.contact).toMatchObject({ company: 'Weser Gewerbeflächen GmbH', lastName: 'Tiedemann' });
    expect(o.attachments.map((a) => [a.group, a.title, a.source])).toEqual([
      ['TITELBILD', 'Außenansicht', { kind: 'path', path: 'bilder/aussen.png', entry: 'export/bilder/aussen.png' }],
      ['GRUNDRISS', 'Grundriss 3. OG', { kind: 'path', path: 'bilder/Grundriss 3OG.png', entry: 'export/bilder/Grundriss 3OG.png' }],
    ]);
  });

  it('imv-update-1001-delete-1003.xml: CHANGE updates, DELETE carries only what identifies the object', async () => {
    const { objects } = await read('imv-update-1001-delete-1003.xml');
    expect(objects.map((o) => [o.sourceId, o.action, o.user, o.standVom])).toEqual([
      ['1001', 'UPSERT', 'mmustermann', '2026-11-24'],
      ['1003', 'DELETE', 'mmustermann', '2026-11-24'],
    ]);
    expect(objects[0]!.estate.purchasePrice).toBe(269000);
    expect(objects[1]!.estate.coldRent).toBeNull();
  });
});

describe('where the samples are looked for', () => {
  it('IMV_SAMPLES_DIR alone, when set', () => {
    expect(candidateDirs({ IMV_SAMPLES_DIR: '/somewhere/samples' }, '/work/x')).toEqual(['/somewhere/samples']);
  });

  it("else beside the checkout, then beside a local origin's checkout (a path, file:// URL or .git); never for a remote origin", () => {
    const clone = mkdtempSync(join(tmpdir(), 'imv-samples-clone-'));
    try {
      execFileSync('git', ['init', '-q', clone]);
      const beside = resolve(clone, '../shared/samples');
      expect(candidateDirs({}, clone)).toEqual([beside]); // no origin
      execFileSync('git', ['-C', clone, 'remote', 'add', 'origin', '/work/main']);
      expect(candidateDirs({}, clone)).toEqual([beside, '/work/shared/samples']);
      execFileSync('git', ['-C', clone, 'remote', 'set-url', 'origin', 'https://git.example/imv-import.git']);
      expect(candidateDirs({}, clone)).toEqual([beside]);
    } finally {
      rmSync(clone, { recursive: true, force: true });
    }
    expect(localOriginCheckout('file:///work/main/.git', '/tmp/x')).toBe('/work/main');
    expect(localOriginCheckout('../main', '/work/clone')).toBe('/work/main');
    expect(localOriginCheckout('git@git.example:team/imv-import.git', '/tmp/x')).toBeNull();
    expect(localOriginCheckout('ssh://git.example/imv-import.git', '/tmp/x')).toBeNull();
  });
});
