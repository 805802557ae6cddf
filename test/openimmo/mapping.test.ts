import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { MAX_TEXT_DAMAGE_WARNINGS, collectUserFields, mapContact, mapHeader, mapImmobilie, mapProvider } from '../../openimmo/mapping';
import type { TransferObject, XmlElement } from '../../openimmo/types';
import { immobilie, readObjects, transfer } from './helpers';

const FIXTURE = resolve(__dirname, '../fixtures/openimmo/full-object.xml');

describe('full-object.xml: every group', () => {
  let objects: TransferObject[];
  let o: TransferObject;

  beforeAll(async () => {
    objects = (await readObjects(readFileSync(FIXTURE))) as TransferObject[];
    o = objects[0]!;
  });

  it('parses: the one object of the file', () => {
    expect(objects).toHaveLength(1);
  });

  it('identity, action, user, stand_vom', () => {
    expect(o.sourceId).toBe('4711'); // IMVO-ID- stripped: never prefixed twice
    expect(o.openimmoObid).toBe('OBID-4711');
    expect(o.action).toBe('REFERENZ'); // aktionart="referenz"
    expect(o.user).toBe('mmustermann'); // feldname in other case, value trimmed
    expect(o.standVom).toBe('2026-11-20T09:00:00.000Z');
    expect(o.position).toBe(0);
    expect(o.providerIndex).toBe(0);
  });

  it('objektkategorie: any boolean spelling; objektart first child (not objektart_zusatz) and its *typ', () => {
    expect(o.estate.usageType).toBe('WOHNEN,ANLAGE');
    expect(o.estate.marketingType).toBe('MIETE_PACHT,LEASING');
    expect(o.estate.kind).toBe('haus');
    expect(o.estate.kindType).toBe('REIHENEND');
  });

  it('geo', () => {
    expect(o.estate).toMatchObject({
      street: 'Hohe Straße',
      houseNumber: '12a',
      zip: '50667',
      city: 'Köln',
      district: 'Altstadt-Nord',
      country: 'DEU', // iso_land="DE"
      latitude: 50.9384, // German comma
      longitude: 6.9599,
      floor: 'EG',
    });
  });

  it('preise', () => {
    expect(o.estate).toMatchObject({
      purchasePrice: null, // empty with auf_anfrage: no warning
      coldRent: 1250.5, // nettokaltmiete when kaltmiete is absent
      warmRent: 1500,
      additionalCosts: 180,
      heatingCosts: 70,
      deposit: '3 Nettokaltmieten',
      houseMoney: null,
      commission: '2,38 Monatsmieten inkl. MwSt.',
      currency: 'EUR',
    });
  });

  it('flaechen', () => {
    expect(o.estate).toMatchObject({
      livingArea: 120.5,
      usableArea: 30,
      totalArea: 150,
      plotArea: 1200.5,
      officeArea: null,
      rooms: 4.5,
      bedrooms: 3,
      bathrooms: null, // "zwei": warning
    });
  });

  it('zustand_angaben: baujahr, zustand, several energiepass, and pre-1.2.7 epass_* fields', () => {
    expect(o.estate.yearBuilt).toBe(1975);
    expect(o.estate.condition).toBe('MODERNISIERT');
    expect(o.estate.energyCertificates).toHaveLength(3);
    expect(o.estate.energyCertificates[0]).toMatchObject({
      art: 'BEDARF',
      validUntil: '2030-05-31',
      energyDemand: 123.4,
      energyConsumption: null,
      primaryEnergySource: 'GAS',
      efficiencyClass: 'D',
      yearBuilt: '1975',
      issueDate: '2020-06-01',
    });
    expect(o.estate.energyCertificates[0]!.fields['jahrgang']).toBe('2014');
    expect(o.estate.energyCertificates[1]).toMatchObject({ art: 'VERBRAUCH', validUntil: 'unbefristet', energyConsumption: 98.7 });
    expect(o.estate.energyCertificates[2]).toMatchObject({ art: 'VERBRAUCH', validUntil: '2029-12-31', energyConsumption: 110 });
  });

  it('freitexte', () => {
    expect(o.estate.title).toBe('Reihenendhaus <mit> Garten & Garage');
    expect(o.estate.description).toBe('Helles Haus.<br/>Mit <b>großem</b> Garten.');
    expect(o.estate.locationText).toBe('Ruhig & zentral');
    expect(o.estate.featuresText).toBe('Einbauküche');
    expect(o.estate.otherText).toBe('Provisionspflichtig');
  });

  it('verwaltung_objekt', () => {
    expect(o.estate.addressPublishable).toBe(false); // NEIN
    expect(o.estate.availableFrom).toBe('2026-12-01'); // abdatum when verfuegbar_ab is absent
  });

  it('kontaktperson: referenz_id when personennummer is empty; repeated e-mails all kept', () => {
    expect(o.contact).toEqual({
      externalId: 'REF-7',
      salutation: 'Herr',
      title: 'Dr.',
      firstName: 'Max',
      lastName: 'Mustermann',
      company: 'Muster GmbH',
      street: 'Ring',
      houseNumber: '1',
      zip: '10115',
      city: 'Berlin',
      country: null,
      emails: { email_direkt: 'max@example.org', email_sonstige: 'max.privat@example.org', 'email_sonstige#2': 'max.zwei@example.org' },
      phones: { tel_durchw: '+49 30 1', tel_handy: '+49 170 2' },
      url: 'https://muster.example',
      role: null,
      field: 'kontaktperson',
    });
  });

  it('weitere_adresse with adressart', () => {
    expect(o.furtherAddresses.map((a) => [a.role, a.lastName ?? a.company, a.country])).toEqual([
      ['EIGENTUEMER', 'Musterfrau', 'AUT'],
      ['VERWALTER', 'Hausverwaltung Rhein', null],
    ]);
  });

  it('anhaenge: inline (whitespace removed), url, path, none; group upper-cased; check', () => {
    expect(o.attachments).toEqual([
      {
        position: 0,
        group: 'BILD',
        title: 'Inline',
        format: 'image/png',
        location: 'INTERN',
        source: { kind: 'inline', base64: 'iVBORw0KGgo=AAAA' },
        check: null,
      },
      {
        position: 1,
        group: 'TITELBILD',
        title: 'Außen',
        format: 'jpg',
        location: 'REMOTE',
        source: { kind: 'url', url: 'HTTPS://cdn.example.org/a.jpg' },
        check: 'd41d8cd98f00b204e9800998ecf8427e',
      },
      {
        position: 2,
        group: null,
        title: null,
        format: null,
        location: 'EXTERN',
        source: { kind: 'path', path: 'bilder/innen.jpg' },
        check: '2026-11-20T10:00:00',
      },
      { position: 3, group: 'DOKUMENTE', title: 'leer', format: null, location: null, source: { kind: 'none' }, check: null },
    ]);
  });

  it('user fields anywhere in the object: simplefield, anyfield, extend', () => {
    expect(o.userFields).toEqual([
      { section: 'preise', kind: 'simplefield', name: 'preis_hinweis', value: 'VB' },
      { section: 'zustand_angaben', kind: 'simplefield', name: 'epass_art', value: 'VERBRAUCH' },
      { section: 'zustand_angaben', kind: 'simplefield', name: 'epass_energieverbrauchkennwert', value: '110,0' },
      { section: 'zustand_angaben', kind: 'simplefield', name: 'epass_gueltig_bis', value: '2029-12-31' },
      { section: 'verwaltung_objekt', kind: 'anyfield', name: 'imv_score', value: '87' },
      { section: 'verwaltung_objekt', kind: 'anyfield', name: 'imv_quelle', value: '<portal>immowelt</portal>' },
      { section: 'immobilie', kind: 'simplefield', name: 'Onoffice_Benutzer', value: 'mmustermann' },
      { section: 'immobilie', kind: 'extend', name: 'imv_kategorie', value: 'A' },
      { section: 'immobilie', kind: 'extend', name: 'imv_rang', value: '2' },
    ]);
  });

  it('warnings name field and value, never personal data', () => {
    expect(o.warnings).toEqual([
      'objektkategorie/nutzungsart/@WAZ: unreadable boolean "vielleicht"',
      'flaechen/anzahl_badezimmer: unreadable number "zwei"',
      'kontaktperson/land/@iso_land: unreadable country code',
      'anhaenge/anhang[4]: no content (neither daten/pfad nor daten/anhanginhalt)',
      // Added by the reader, not the mapping: a plain XML has no files beside it.
      'anhaenge/anhang[3]: refers to the file "bilder/innen.jpg", but the transfer is a plain XML file',
    ]);
    const personal = [o.contact!, ...o.furtherAddresses].flatMap((c) => [
      c.firstName,
      c.lastName,
      c.street,
      c.company,
      ...Object.values(c.emails),
      ...Object.values(c.phones),
    ]);
    for (const w of o.warnings) for (const p of personal) if (p) expect(w).not.toContain(p);
  });

  it('raw keeps everything, including what has no typed field', () => {
    const json = JSON.stringify(o.raw);
    expect(json).toContain('"objektart_zusatz"');
    expect(json).toContain('"heizkosten_enthalten"');
    expect(json).toContain('"mit_mwst":"true"');
    expect(o.raw.name).toBe('immobilie');
  });
});

describe('contacts', () => {
  it('an empty kontaktperson is null, and recorded as empty (not as absent)', async () => {
    const [o] = await readObjects(transfer([immobilie({ id: '1', body: '<kontaktperson><name/><email_zentrale> </email_zentrale></kontaktperson>' })]));
    expect(o!.contact).toBeNull();
    expect(o!.emptyAddresses).toEqual(['kontaktperson']);
  });

  it('empty weitere_adresse elements are recorded by their place in the document; absent ones are not', async () => {
    const [a, b] = await readObjects(
      transfer([
        immobilie({
          id: '1',
          body: '<kontaktperson><name>A</name></kontaktperson><weitere_adresse/><weitere_adresse><firma>B</firma></weitere_adresse><weitere_adresse adressart="MIETER"> </weitere_adresse>',
        }),
        immobilie({ id: '2' }),
      ]),
    );
    expect(a!.emptyAddresses).toEqual(['weitere_adresse[1]', 'weitere_adresse[3]']);
    expect(a!.furtherAddresses.map((w) => [w.company, w.field])).toEqual([['B', 'weitere_adresse[2]']]);
    expect(b!.contact).toBeNull();
    expect(b!).not.toHaveProperty('emptyAddresses');
  });

  it('a kontaktperson dropped for an over-long key is not reported as empty as well', async () => {
    const [o] = await readObjects(transfer([immobilie({ id: '1', body: `<kontaktperson><name>${'N'.repeat(3000)}</name></kontaktperson>` })]));
    expect(o!.contact).toBeNull();
    expect(o!).not.toHaveProperty('emptyAddresses');
    expect(o!.warnings.join('\n')).toContain('kontaktperson/name is 3000 characters long');
  });

  it('weitere_adresse nested inside kontaktperson is found too', async () => {
    const [o] = await readObjects(
      transfer([
        immobilie({ id: '1', body: '<kontaktperson><name>A</name><weitere_adresse adressart="MIETER"><name>B</name></weitere_adresse></kontaktperson>' }),
      ]),
    );
    expect(o!.furtherAddresses.map((a) => [a.lastName, a.role])).toEqual([['B', 'MIETER']]);
  });

  it('a country written as text', () => {
    const el: XmlElement = { name: 'kontaktperson', children: [{ name: 'land', children: ['Deutschland'] }] };
    expect(mapContact(el, null, 'kontaktperson', [])!.country).toBe('DEU');
  });
});

describe('values in context', () => {
  it('out-of-range coordinates are dropped with a warning', async () => {
    const [o] = await readObjects(transfer([immobilie({ id: '1', body: '<geo><geokoordinaten breitengrad="509384" laengengrad="6.9"/></geo>' })]));
    expect(o!.estate.latitude).toBeNull();
    expect(o!.estate.longitude).toBe(6.9);
    expect(o!.warnings).toEqual(['geo/geokoordinaten/@breitengrad: out of range "509384"']);
  });

  it('attribute names in other case (wohnen="true")', async () => {
    const [o] = await readObjects(
      transfer([immobilie({ id: '1', body: '<objektkategorie><nutzungsart wohnen="true"/><vermarktungsart kauf="1"/></objektkategorie>' })]),
    );
    expect(o!.estate.usageType).toBe('WOHNEN');
    expect(o!.estate.marketingType).toBe('KAUF');
  });

  it('description falls back to objekt_text', async () => {
    const [o] = await readObjects(transfer([immobilie({ id: '1', body: '<freitexte><objekt_text lang="de">Text</objekt_text></freitexte>' })]));
    expect(o!.estate.description).toBe('Text');
  });

  it('an unreadable stand_vom is null with a warning', async () => {
    const [o] = await readObjects(
      transfer(['<immobilie><verwaltung_techn><objektnr_extern>1</objektnr_extern><stand_vom>gestern</stand_vom></verwaltung_techn></immobilie>']),
    );
    expect(o!.standVom).toBeNull();
    expect(o!.warnings).toEqual(['verwaltung_techn/stand_vom: unreadable date "gestern"']);
  });
});

describe('damaged text: a warning per field, naming it, never the text', () => {
  it('U+FFFD and mojibake in free texts, the owner, a user field; base64 content is not text', async () => {
    const [o, clean] = await readObjects(
      transfer([
        immobilie({
          id: '1',
          body: `<freitexte><objekttitel>Sch&#xFFFD;ne Wohnung</objekttitel><objektbeschreibung>Helle KÃ¼che, <b>85 mÂ²</b></objektbeschreibung><lage>Ruhige Lage</lage></freitexte>
            <kontaktperson><name>MÃ¼ller</name><ort>K\uFFFDln</ort><tel_handy>0170 5550001</tel_handy></kontaktperson>
            <user_defined_simplefield feldname="bemerkung">â‚¬ 500</user_defined_simplefield>
            <anhaenge><anhang><daten><anhanginhalt>w4PCpA==</anhanginhalt></daten></anhang></anhaenge>`,
        }),
        immobilie({ id: '2', body: '<freitexte><objekttitel>Schöne Wohnung in Köln – 85 m² für 500 €</objekttitel></freitexte>' }),
      ]),
    );
    const damaged = o!.warnings.filter((w) => /: holds U\+FFFD|: looks garbled/.test(w));
    expect(damaged).toEqual([
      "freitexte/objekttitel: holds U+FFFD, characters the sender's file had already lost",
      'freitexte/objektbeschreibung: looks garbled (UTF-8 read as Latin-1 by the sender, such as "Ã¤" for "ä")',
      'freitexte/objektbeschreibung/b: looks garbled (UTF-8 read as Latin-1 by the sender, such as "Ã¤" for "ä")',
      'kontaktperson/name: looks garbled (UTF-8 read as Latin-1 by the sender, such as "Ã¤" for "ä")',
      "kontaktperson/ort: holds U+FFFD, characters the sender's file had already lost",
    ]);
    expect(o!.warnings).toContain('damaged text (U+FFFD or mojibake) in 1 more field');
    for (const text of ['Sch', 'KÃ¼che', 'MÃ¼ller', 'K\uFFFDln', '500']) expect(o!.warnings.join('\n')).not.toContain(text);
    expect(o!.estate.title).toBe('Sch\uFFFDne Wohnung'); // kept as sent: never repaired
    expect(clean!.warnings).toEqual([]);
    expect(o!.warnings.filter((w) => /U\+FFFD|garbled|damaged/.test(w))).toHaveLength(MAX_TEXT_DAMAGE_WARNINGS + 1);
  });

  it('a user field is named by its feldname; a clean object has no such warning', () => {
    const el: XmlElement = {
      name: 'immobilie',
      children: [
        { name: 'verwaltung_techn', children: [{ name: 'objektnr_extern', children: ['9'] }] },
        { name: 'user_defined_simplefield', attrs: { feldname: 'bemerkung' }, children: ['Preis â‚¬ 500'] },
      ],
    };
    expect(mapImmobilie(el, { position: 0, providerIndex: -1 }).warnings).toEqual([
      'user_defined_simplefield[@feldname="bemerkung"]: looks garbled (UTF-8 read as Latin-1 by the sender, such as "Ã¤" for "ä")',
    ]);
    el.children![1] = { name: 'user_defined_simplefield', attrs: { feldname: 'bemerkung' }, children: ['Preis € 500, Straße'] };
    expect(mapImmobilie(el, { position: 0, providerIndex: -1 }).warnings).toEqual([]);
  });
});

describe('pure mapping functions', () => {
  it('mapImmobilie on a hand-built tree', () => {
    const el: XmlElement = {
      name: 'immobilie',
      children: [{ name: 'verwaltung_techn', children: [{ name: 'openimmo_obid', children: ['X-1'] }] }],
    };
    const o = mapImmobilie(el, { position: 3, providerIndex: -1 });
    expect(o).toMatchObject({ sourceId: 'X-1', position: 3, providerIndex: -1, action: 'UPSERT', contact: null, raw: el });
  });

  it('mapHeader keeps all attributes', () => {
    expect(mapHeader({ umfang: 'teil', timestamp: 'kaputt', x: 'y' })).toEqual({
      version: null,
      umfang: 'TEIL',
      modus: null,
      sendersoftware: null,
      timestamp: null,
      attrs: { umfang: 'teil', timestamp: 'kaputt', x: 'y' },
    });
  });

  it('mapProvider', () => {
    const p = mapProvider(2, [
      { name: 'firma', children: ['F'] },
      { name: 'user_defined_simplefield', attrs: { feldname: 'onoffice_benutzer' }, children: ['u1'] },
    ]);
    expect(p).toMatchObject({ index: 2, firma: 'F', user: 'u1', anbieternr: null, openimmoAnid: null });
  });

  it('collectUserFields does not look inside a user field', () => {
    const el: XmlElement = {
      name: 'immobilie',
      children: [
        {
          name: 'user_defined_anyfield',
          children: [{ name: 'x', children: [{ name: 'user_defined_simplefield', attrs: { feldname: 'inner' }, children: ['v'] }] }],
        },
      ],
    };
    expect(collectUserFields(el)).toEqual([
      { section: 'immobilie', kind: 'anyfield', name: 'x', value: '<user_defined_simplefield feldname="inner">v</user_defined_simplefield>' },
    ]);
  });
});
