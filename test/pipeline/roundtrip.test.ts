/**
 * Round trip through the whole pipeline: generated objects covering every mapped group are
 * written as an OpenImmo transfer, imported (FTP → Temporal → PostgreSQL), and read back from the
 * database with the same values — typed columns, the mapped fields, addresses, links, attachments
 * and user-defined fields.
 */
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { listEstates } from '../../ops/estates';
import { uniqueId, uploadTo, usePipeline } from '../support/harness';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const word = fc.stringMatching(/^[A-Za-zÄÖÜäöüß][A-Za-zÄÖÜäöüß \-–'&<>€]{0,20}[A-Za-zäöüß]$/);
const KINDS = { wohnung: 'wohnungtyp', haus: 'haustyp', grundstueck: 'grundst_typ', buero_praxen: 'buero_typ' } as const;

const objectArb = fc.record({
  kind: fc.constantFrom(...(Object.keys(KINDS) as (keyof typeof KINDS)[])),
  kindType: fc.constantFrom('ETAGE', 'VILLA', 'WOHNEN', 'BUEROFLAECHE'),
  kauf: fc.boolean(),
  city: word,
  zip: fc.stringMatching(/^\d{5}$/),
  street: word,
  houseNumber: fc.stringMatching(/^\d{1,3}[a-c]?$/),
  lat: fc.integer({ min: 47_000_000, max: 55_000_000 }).map((n) => n / 1_000_000),
  lon: fc.integer({ min: 5_000_000, max: 15_000_000 }).map((n) => n / 1_000_000),
  floor: fc.integer({ min: 0, max: 30 }).map(String),
  price: fc.integer({ min: 10_000_00, max: 9_999_999_99 }).map((n) => n / 100),
  livingArea: fc.integer({ min: 200, max: 50_000 }).map((n) => n / 100),
  rooms: fc.integer({ min: 2, max: 30 }).map((n) => n / 2),
  yearBuilt: fc.integer({ min: 1800, max: 2026 }),
  title: word,
  description: word,
  lastName: word,
  firstName: word,
  email: fc.stringMatching(/^[a-z]{3,8}\.[a-z]{3,8}@example\.(org|net)$/),
  phone: fc.stringMatching(/^\+49 \d{2,4} \d{4,7}$/),
  owner: fc.option(word, { nil: undefined }),
  picture: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((a) => Buffer.from(a)),
  link: fc.stringMatching(/^https:\/\/cdn\.example\.org\/[a-z0-9]{4,10}\.jpg$/),
  custom: word,
});
type Obj = typeof objectArb extends fc.Arbitrary<infer T> ? T : never;

function render(o: Obj, id: string): string {
  return `<immobilie>
  <objektkategorie><nutzungsart WOHNEN="1"/><vermarktungsart KAUF="${o.kauf ? 1 : 0}" MIETE_PACHT="${o.kauf ? 0 : 1}"/>
    <objektart><${o.kind} ${KINDS[o.kind]}="${o.kindType}"/></objektart></objektkategorie>
  <geo><plz>${o.zip}</plz><ort>${esc(o.city)}</ort><strasse>${esc(o.street)}</strasse><hausnummer>${o.houseNumber}</hausnummer>
    <land iso_land="DE"/><geokoordinaten breitengrad="${o.lat}" laengengrad="${o.lon}"/><etage>${o.floor}</etage></geo>
  <kontaktperson><anrede>Frau</anrede><vorname>${esc(o.firstName)}</vorname><name>${esc(o.lastName)}</name>
    <email_privat>${o.email}</email_privat><tel_privat>${o.phone}</tel_privat><ort>${esc(o.city)}</ort></kontaktperson>
  ${o.owner ? `<weitere_adresse adressart="EIGENTUEMER"><name>${esc(o.owner)}</name><email_privat>owner.${o.email}</email_privat></weitere_adresse>` : ''}
  <preise><kaufpreis>${o.price.toFixed(2).replace('.', ',')}</kaufpreis><waehrung iso_waehrung="EUR"/></preise>
  <flaechen><wohnflaeche>${o.livingArea}</wohnflaeche><anzahl_zimmer>${o.rooms}</anzahl_zimmer></flaechen>
  <zustand_angaben><baujahr>${o.yearBuilt}</baujahr></zustand_angaben>
  <freitexte><objekttitel>${esc(o.title)}</objekttitel><objektbeschreibung><![CDATA[${o.description}]]></objektbeschreibung></freitexte>
  <anhaenge>
    <anhang gruppe="BILD"><anhangtitel>Bild</anhangtitel><anhanginhalt>${o.picture.toString('base64')}</anhanginhalt></anhang>
    <anhang gruppe="TITELBILD"><anhangtitel>Titel</anhangtitel><daten><pfad>${o.link}</pfad></daten></anhang>
  </anhaenge>
  <verwaltung_techn><objektnr_extern>${id}</objektnr_extern><stand_vom>2026-11-26</stand_vom></verwaltung_techn>
  <user_defined_simplefield feldname="onoffice_benutzer">mmustermann</user_defined_simplefield>
  <user_defined_simplefield feldname="imv_notiz">${esc(o.custom)}</user_defined_simplefield>
</immobilie>`;
}

describe('round trip: generated objects → transfer → pipeline → database', () => {
  const tenant = uniqueId('roundtrip');
  const ctx = usePipeline({ tenants: [{ id: tenant, options: { chunkSize: 7 } }], identities: ['roundtrip-worker'] });

  it('every mapped group reads back with the values that were sent', async () => {
    const objects = fc.sample(objectArb, { numRuns: 30, seed: 20261127 });
    const xml = `<?xml version="1.0" encoding="UTF-8"?>
<openimmo><uebertragung umfang="TEIL" version="1.2.7" timestamp="2026-11-26T12:00:00Z"/>
<anbieter><openimmo_anid>IMVONLINE</openimmo_anid>${objects.map((o, i) => render(o, `RT-${i}`)).join('\n')}</anbieter></openimmo>`;
    await uploadTo(tenant, 'roundtrip.xml', xml);
    const summary = await ctx.batch(tenant);
    expect(summary.objects.created).toBe(objects.length);

    const estates = await listEstates(ctx.db, { tenant, status: 'all' });
    const rows = new Map((await ctx.db('estates').where({ tenant_id: tenant })).map((r) => [r.source_id, r]));
    for (const [i, o] of objects.entries()) {
      const id = `RT-${i}`;
      const r = rows.get(id);
      const e = estates.find((x) => x.sourceId === id)!;
      expect({
        kind: r.kind,
        kindType: r.kind_type,
        marketing: r.marketing_type,
        city: r.city,
        zip: r.zip,
        street: r.street,
        houseNumber: r.house_number,
        country: r.country,
        lat: r.latitude,
        lon: r.longitude,
        floor: r.floor,
        price: r.purchase_price,
        livingArea: r.living_area,
        rooms: r.rooms,
        yearBuilt: r.year_built,
        title: r.title,
        description: r.fields.description,
        currency: r.currency,
      }).toEqual({
        kind: o.kind,
        kindType: o.kindType,
        marketing: o.kauf ? 'KAUF' : 'MIETE_PACHT',
        city: o.city,
        zip: o.zip,
        street: o.street,
        houseNumber: o.houseNumber,
        country: 'DEU',
        lat: o.lat,
        lon: o.lon,
        floor: o.floor,
        price: o.price,
        livingArea: o.livingArea,
        rooms: o.rooms,
        yearBuilt: o.yearBuilt,
        title: o.title,
        description: o.description,
        currency: 'EUR',
      });
      expect(r.data.userFields).toContainEqual({ section: 'immobilie', kind: 'simplefield', name: 'imv_notiz', value: o.custom });
      expect(e.attachments.map((a) => [a.group, a.sha256 ?? a.url])).toEqual([
        ['TITELBILD', o.link],
        ['BILD', createHash('sha256').update(o.picture).digest('hex')],
      ]);
      const contact = e.contacts.find((c) => c.role === 'ansprechpartner')!;
      expect([contact.lastName, contact.firstName, contact.origin, contact.status]).toEqual([o.lastName, o.firstName, 'IMV', 'Aktiv']);
      if (o.owner) expect(e.contacts.find((c) => c.role === 'eigentuemer')?.lastName).toBe(o.owner);
      else expect(e.contacts.some((c) => c.role === 'eigentuemer')).toBe(false);
    }
    // Address details survive too (e-mails and phones are kept as sent, keyed by element).
    const a = await ctx.db('addresses').where({ tenant_id: tenant, last_name: objects[0].lastName }).first();
    expect(a.emails.email_privat).toBe(objects[0].email);
    expect(a.phones.tel_privat).toBe(objects[0].phone);
  });
});
