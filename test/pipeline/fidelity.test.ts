/**
 * OpenImmo fidelity through the whole pipeline: every real-world sample transfer imports (or is
 * rejected object by object with the right message; where test/support/samples.ts finds them),
 * attachments land in the file store and are replaced per update, further addresses are linked,
 * mirror mode archives what a full transfer omits.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import type { BatchSummary } from '../../common/messages';
import { listEstates } from '../../ops/estates';
import { formatImports, listImports } from '../../ops/ledger';
import { createFileStore } from '../../store/open-store';
import { zipOf } from '../support/zip';
import { fixturesDir, listRemote, readRemote, uniqueId, uploadTo, usePipeline } from '../support/harness';
import { hasSamples, samplesDir } from '../support/samples';

const png = (label: string) => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(label)]);
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function withAttachments(id: string, stand: string, anhaenge: string, extra = ''): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<openimmo><uebertragung umfang="TEIL" version="1.2.7" timestamp="${stand}T10:00:00Z"/>
<anbieter><openimmo_anid>IMVONLINE</openimmo_anid>
<immobilie>
  <objektkategorie><nutzungsart WOHNEN="1"/><vermarktungsart KAUF="1"/><objektart><haus haustyp="VILLA"/></objektart></objektkategorie>
  <geo><plz>22587</plz><ort>Hamburg</ort></geo>
  <kontaktperson><name>Anhang</name><vorname>Anna</vorname><email_privat>anna.anhang@example.org</email_privat></kontaktperson>
  ${extra}
  <preise><kaufpreis>2100000</kaufpreis></preise>
  <anhaenge>${anhaenge}</anhaenge>
  <verwaltung_techn><objektnr_extern>${id}</objektnr_extern><stand_vom>${stand}</stand_vom></verwaltung_techn>
  <user_defined_simplefield feldname="onoffice_benutzer">skoch</user_defined_simplefield>
</immobilie></anbieter></openimmo>`;
}

const anhang = (gruppe: string, titel: string, daten: string) =>
  `<anhang location="EXTERN" gruppe="${gruppe}"><anhangtitel>${titel}</anhangtitel><format>png</format>${daten}</anhang>`;

describe('OpenImmo fidelity through the pipeline', () => {
  const tenant = uniqueId('fidelity');
  const mirrorTenant = uniqueId('mirror');
  const ctx = usePipeline({
    tenants: [
      // Public samples carry no onOffice user: the tenant's default user applies.
      { id: tenant, users: ['mmustermann', 'skoch', 'standard'], defaultUser: 'standard' },
      { id: mirrorTenant, options: { mirror: { enabled: true, maxArchiveShare: 0.5 } } },
    ],
    identities: ['fidelity-worker'],
  });
  const batch = (t: string): Promise<BatchSummary> => ctx.batch(t);

  it.runIf(hasSamples)('every sample transfer imports; objects without an id are rejected with a clear message', async () => {
    const files = ['public', 'imv'].flatMap((d) => fs.readdirSync(path.join(samplesDir, d)).map((f) => path.join(d, f)));
    expect(files.length).toBeGreaterThanOrEqual(8);
    for (const f of files) await uploadTo(tenant, path.basename(f), fs.readFileSync(path.join(samplesDir, f)));
    const summary = await batch(tenant);
    expect(summary.failed).toBe(0);
    expect(summary.files).toBe(files.length);
    const ledger = Object.fromEntries(
      (await ctx.db('import_files').where({ tenant_id: tenant })).map((r) => [
        r.file_name,
        { status: r.status, total: r.objects_total, rejected: r.rejected, created: r.created },
      ]),
    );
    // OpenEstate's objects have no ids at all; the minimal TYPO3 file has empty ones.
    expect(ledger['OpenEstate-IO__openimmo-1-2-0-downgrade.xml']).toMatchObject({ status: 'partial', total: 10, rejected: 10 });
    expect(ledger['oliverklee-ext-csv_to_openimmo__MinimalOpenImmo.xml']).toMatchObject({ status: 'partial', total: 1, rejected: 1 });
    expect(ledger['innobraingmbh-laravel-openimmo__tests_fixtures_example.xml']).toMatchObject({ status: 'imported', created: 1 });
    expect(ledger['oliverklee-ext-realty__charset-ISO8859-1.zip']).toMatchObject({ status: 'imported', created: 1 });
    const noId = await ctx
      .db('import_objects as o')
      .join('import_files as f', 'f.id', 'o.import_id')
      .where('f.file_name', 'OpenEstate-IO__openimmo-1-2-0-downgrade.xml')
      .first('o.messages', 'o.outcome');
    expect(noId.outcome).toBe('rejected');
    expect(noId.messages.join(' ')).toMatch(/no IMV object id/);

    // The innobrain sample: default user, https pictures kept as links in order, CDATA/HTML text kept.
    const [inno] = (await listEstates(ctx.db, { tenant, status: 'all' })).filter((e) => e.sourceId === '8333');
    expect(inno.user).toBe('standard');
    expect(inno.attachments).toHaveLength(6);
    expect(inno.attachments[0]).toMatchObject({ position: 0, title: 'Wohn- und Essbereich', sha256: null });
    expect(inno.attachments[0].url).toMatch(/^https:\/\/mms\.immowelt\.de\//);
    expect((inno.fields as { locationText: string }).locationText).toContain('Heidingsfeld');
    const realty = (await listEstates(ctx.db, { tenant, status: 'all' })).find((e) => e.sourceId === 'bar1234567')!;
    expect(realty.contacts).toEqual([{ role: 'ansprechpartner', lastName: 'bar', firstName: null, company: null, origin: 'IMV', status: 'Aktiv' }]);
    // The lossless JSON keeps what has no column.
    const row = await ctx.db('estates').where({ tenant_id: tenant, source_id: '1004' }).first('data');
    expect(row.data.raw.children.find((c: { name: string }) => c.name === 'flaechen')).toEqual({
      name: 'flaechen',
      children: [
        { name: 'nutzflaeche', children: ['310'] },
        { name: 'bueroflaeche', children: ['290'] },
      ],
    });
  });

  it('attachments: ZIP folders, any case, base64, URLs, a missing file; an update swaps pictures without duplicating stored files', async () => {
    const outside = png('aussen');
    const floor = png('grundriss');
    const inline = png('inline');
    const v1 = withAttachments(
      '7001',
      '2026-11-20',
      [
        anhang('BILD', 'Grundriss', '<daten><pfad>Bilder/GRUNDRISS.PNG</pfad></daten>'),
        anhang('TITELBILD', 'Außen', '<daten><pfad>bilder/au%C3%9Fen.png</pfad></daten>'),
        anhang('BILD', 'Inline', `<anhanginhalt>${inline.toString('base64')}</anhanginhalt>`),
        anhang('LINKS', 'Exposé online', '<daten><pfad>https://example.org/expose/7001</pfad></daten>'),
        anhang('BILD', 'Fehlt', '<daten><pfad>bilder/fehlt.png</pfad></daten>'),
      ].join(''),
      `<weitere_adresse adressart="EIGENTUEMER"><name>Eigner</name><vorname>Erik</vorname><email_privat>erik.eigner@example.org</email_privat></weitere_adresse>
       <weitere_adresse adressart="VERWALTER"><firma>Hausverwaltung Elbe</firma><email_zentrale>info@hv-elbe.example</email_zentrale></weitere_adresse>`,
    );
    const zip1 = await zipOf([
      { name: 'export/objekt.xml', data: Buffer.from(v1) },
      { name: 'export/bilder/grundriss.png', data: floor },
      { name: 'export/bilder/außen.png', data: outside },
    ]);
    await uploadTo(tenant, 'attachments-v1.zip', zip1);
    expect((await batch(tenant)).imported).toBe(1);
    let [e] = (await listEstates(ctx.db, { tenant, status: 'all' })).filter((x) => x.sourceId === '7001');
    expect(e.attachments.map((a) => [a.position, a.group, a.title, a.sha256 ?? a.url])).toEqual([
      [0, 'TITELBILD', 'Außen', sha(outside)],
      [1, 'BILD', 'Grundriss', sha(floor)],
      [2, 'BILD', 'Inline', sha(inline)],
      [3, 'LINKS', 'Exposé online', 'https://example.org/expose/7001'],
    ]);
    // Whichever store the run uses (TEST_FILE_STORE): the bytes read back by hash.
    const store = createFileStore(ctx.cfg, ctx.db);
    const parts: Buffer[] = [];
    for await (const p of await store.get(sha(outside))) parts.push(p as Buffer);
    expect(Buffer.concat(parts)).toEqual(outside);
    const msgs = await ctx
      .db('import_objects as o')
      .join('import_files as f', 'f.id', 'o.import_id')
      .where('f.file_name', 'attachments-v1.zip')
      .first('o.messages');
    expect(msgs.messages.join(' ')).toContain('fehlt.png');
    // weitere_adresse: further linked addresses with their role
    expect(e.contacts.map((c) => [c.role, c.lastName ?? c.company])).toEqual([
      ['ansprechpartner', 'Anhang'],
      ['eigentuemer', 'Eigner'],
      ['verwalter', 'Hausverwaltung Elbe'],
    ]);

    // The update removes the floor plan and adds a new picture; the title picture is unchanged.
    const garden = png('garten');
    const v2 = withAttachments(
      '7001',
      '2026-11-22',
      [
        anhang('TITELBILD', 'Außen', '<daten><pfad>bilder/außen.png</pfad></daten>'),
        anhang('BILD', 'Garten', '<daten><pfad>bilder/garten.png</pfad></daten>'),
      ].join(''),
    );
    await uploadTo(
      tenant,
      'attachments-v2.zip',
      await zipOf([
        { name: 'objekt.xml', data: Buffer.from(v2) },
        { name: 'bilder/außen.png', data: outside },
        { name: 'bilder/garten.png', data: garden },
      ]),
    );
    expect((await batch(tenant)).imported).toBe(1);
    [e] = (await listEstates(ctx.db, { tenant, status: 'all' })).filter((x) => x.sourceId === '7001');
    expect(e.attachments.map((a) => [a.position, a.title, a.sha256])).toEqual([
      [0, 'Außen', sha(outside)],
      [1, 'Garten', sha(garden)],
    ]);
    const stored: string[] = [];
    for await (const b of store.list()) if (b.sha256 === sha(outside)) stored.push(b.sha256);
    expect(stored).toHaveLength(1);
  });

  it('mirror mode: a full transfer archives the provider estates it omits; refuses an empty one or too large a share', async () => {
    const obj = (id: string) => `<immobilie><objektkategorie><objektart><wohnung/></objektart></objektkategorie><geo><ort>Kiel</ort></geo>
      <verwaltung_techn><objektnr_extern>${id}</objektnr_extern><stand_vom>2026-11-26</stand_vom></verwaltung_techn>
      <user_defined_simplefield feldname="onoffice_benutzer">mmustermann</user_defined_simplefield></immobilie>`;
    const full = (ts: string, ids: string[]) =>
      `<?xml version="1.0"?><openimmo><uebertragung umfang="VOLL" version="1.2.7" timestamp="${ts}"/><anbieter><openimmo_anid>IMVONLINE</openimmo_anid>${ids.map(obj).join('')}</anbieter></openimmo>`;
    await uploadTo(mirrorTenant, 'full-1.xml', full('2026-11-26T08:00:00Z', ['m1', 'm2', 'm3', 'm4']));
    expect((await batch(mirrorTenant)).objects.created).toBe(4);
    await uploadTo(mirrorTenant, 'full-2.xml', full('2026-11-26T09:00:00Z', ['m1', 'm2', 'm3']));
    await batch(mirrorTenant);
    const archived = async () => (await ctx.db('estates').where({ tenant_id: mirrorTenant, archived: true }).pluck('source_id')).sort();
    expect(await archived()).toEqual(['m4']);
    // Archiving 2 of 3 (67 %) is more than the allowed 50 %: refused and noted in the ledger.
    await uploadTo(mirrorTenant, 'full-3.xml', full('2026-11-26T10:00:00Z', ['m1']));
    await batch(mirrorTenant);
    expect(await archived()).toEqual(['m4']);
    const notes = (await ctx.db('import_files').where({ tenant_id: mirrorTenant, file_name: 'full-3.xml' }).first('notes')).notes;
    expect(notes.join(' ')).toMatch(/mirror refused: .*2 of 3/);
    const [view] = await listImports(ctx.db, {
      tenant: mirrorTenant,
      limit: 1,
      ids: [(await ctx.db('import_files').where({ tenant_id: mirrorTenant, file_name: 'full-3.xml' }).first('id')).id],
    });
    expect(formatImports([view], false)).toMatch(/note: mirror refused/);
    await uploadTo(mirrorTenant, 'full-empty.xml', full('2026-11-26T11:00:00Z', []));
    await batch(mirrorTenant);
    expect(await archived()).toEqual(['m4']);
    const emptyNotes = (await ctx.db('import_files').where({ tenant_id: mirrorTenant, file_name: 'full-empty.xml' }).first('notes')).notes;
    expect(emptyNotes.join(' ')).toContain('holds no objects');
  });

  it("quirks are stored, not only parsed: the project's fixtures land in typed columns, mapped fields and the lossless JSON", async () => {
    const quirks = path.join(fixturesDir, 'openimmo');
    for (const f of ['full-object.xml', 'old-namespace.xml']) await uploadTo(tenant, `quirk-${f}`, fs.readFileSync(path.join(quirks, f)));
    const summary = await batch(tenant);
    expect(summary.failed).toBe(0);
    const full = await ctx.db('estates').where({ tenant_id: tenant, source_id: '4711' }).first();
    // IMVO-ID- is never prefixed twice; REFERENZ in lower case; user name trimmed and matched case-insensitively by field name
    expect([full.external_number, full.reference, full.user_name]).toEqual(['IMVO-ID-4711', true, 'mmustermann']);
    // German decimals, 2-letter country, coordinates with a comma, booleans spelled JA/NEIN
    expect([full.cold_rent, full.living_area, full.plot_area, full.rooms, full.country, full.latitude, full.address_publishable]).toEqual([
      1250.5,
      120.5,
      1200.5,
      4.5,
      'DEU',
      50.9384,
      false,
    ]);
    expect(full.kind).toBe('haus');
    expect(full.title).toBe('Reihenendhaus <mit> Garten & Garage');
    // Energy certificates: both 1.2.7 energiepass elements and the pre-1.2.7 epass_* fields
    const certs = full.fields.energyCertificates as { art: string; energyDemand: number | null; energyConsumption: number | null }[];
    expect(certs.map((c) => [c.art, c.energyDemand ?? c.energyConsumption])).toEqual([
      ['BEDARF', 123.4],
      ['VERBRAUCH', 98.7],
      ['VERBRAUCH', 110],
    ]);
    // Mixed content (HTML in free text) is kept; anyfield/extend kept generically
    expect(full.fields.description).toContain('<b>großem</b>');
    expect(full.data.userFields).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ kind: 'extend', name: 'imv_kategorie', value: 'A' }),
        expect.objectContaining({ kind: 'anyfield', name: 'imv_score', value: '87' }),
      ]),
    );
    // weitere_adresse entries are further linked addresses
    const roles = await ctx.db('estate_contacts').where({ estate_id: full.id }).orderBy('id').pluck('role');
    expect(roles).toEqual(['ansprechpartner', 'eigentuemer', 'verwalter']);
    // The old default namespace and xmlns="" on a child
    const old = await ctx.db('estates').where({ tenant_id: tenant, source_id: 'OLD-1' }).first();
    expect([old.city, old.zip, old.user_name]).toEqual(['Berlin', '10115', 'standard']);
  });

  it('OpenImmo-Feedback: per object its status, per error object id, number and text', async () => {
    await uploadTo(
      tenant,
      'feedback-mixed.xml',
      fs
        .readFileSync(path.join(fixturesDir, 'transfers', 'change-then-delete-1301.xml'))
        .toString('utf8')
        .replace('<objektnr_extern>1301</objektnr_extern>\n        <aktion/>', '<objektnr_extern></objektnr_extern>\n        <aktion/>'),
    );
    await batch(tenant);
    const files = await listRemote(`/${tenant}/feedback`);
    const fb = readRemote(tenant, `feedback/${files.find((f) => f.includes('feedback-mixed'))}`);
    expect(fb).toMatch(/<openimmo_feedback>\s*<version>1\.2\.5<\/version>/);
    expect(fb).toContain('<fehlerliste>');
    expect(fb).toMatch(/<fehler><objekt_id>position-0<\/objekt_id><fehlernr>100<\/fehlernr><text>[^<]*no IMV object id/);
    expect(fb).toContain('<user_defined_simplefield feldname="imv_import_status">created</user_defined_simplefield>');
    expect(fb).not.toContain('frieda.fixture@example.org');
  });
});
