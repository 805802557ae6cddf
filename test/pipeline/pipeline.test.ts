/**
 * The pipeline end to end on real components: Temporal dev server, PostgreSQL (a fresh database),
 * vsftpd. The project's IMV-shaped transfers (test/fixtures/transfers, in the shape of IMV's channel:
 * design.md "The IMV channel") are uploaded in order and imported by batches triggered through the
 * tenant's schedule.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { Db } from '../../db/db';
import { ensureSchedule, describeSchedule } from '../../ops/schedule';
import { triggerBatch } from '../../ops/batches';
import { activateEstate, listEstates, publishEstate } from '../../ops/estates';
import { startReplay } from '../../ops/replay';
import { fixturesDir, listRemote, readRemote, uniqueId, uploadTo, usePipeline } from '../support/harness';

const transfer = (f: string) => fs.readFileSync(path.join(fixturesDir, 'transfers', f));

async function runBatch(client: Client, tenant: string) {
  const run = await triggerBatch(client, tenant);
  expect(run.alreadyRunning).toBe(false);
  return run.result();
}

async function snapshot(db: Db) {
  const estates = await db('estates').orderBy('id').select('*');
  const addresses = await db('addresses').orderBy('id').select('*');
  const links = await db('estate_contacts').orderBy('id').select('estate_id', 'address_id', 'role');
  return { estates, addresses, links };
}

describe('pipeline on Temporal + PostgreSQL + vsftpd', () => {
  const tenant = uniqueId('acme');
  const ctx = usePipeline({ tenants: [{ id: tenant }], identities: ['worker-a'] });

  beforeAll(async () => {
    expect(await ensureSchedule(ctx.client, ctx.cfg, ctx.cfg.tenants[0])).toBe('created');
  });

  it('R1: the schedule runs every 30 minutes with overlap SKIP and a catch-up window; ensure is idempotent', async () => {
    expect(await ensureSchedule(ctx.client, ctx.cfg, ctx.cfg.tenants[0])).toBe('updated');
    const d = await describeSchedule(ctx.client, tenant);
    expect(d.spec.intervals?.[0]?.every).toBe(30 * 60 * 1000);
    expect(d.policies.overlap).toBe('SKIP');
    expect(d.policies.catchupWindow).toBe(60 * 60 * 1000);
    expect(d.action.type).toBe('startWorkflow');
  });

  it('imports the first transfers: R2–R9 on creation', async () => {
    for (const f of ['imv-flat-1001.xml', 'imv-latin1-house-1002-flat-1003.xml', 'imv-office-1004-with-pictures.zip']) await uploadTo(tenant, f, transfer(f));
    const summary = await runBatch(ctx.client, tenant);
    expect(summary.files).toBe(3);
    expect(summary.imported).toBe(3);
    expect(summary.objects.created).toBe(4);

    const estates = await ctx.db('estates').where({ tenant_id: tenant }).orderBy('source_id');
    expect(estates.map((e) => e.source_id)).toEqual(['1001', '1002', '1003', '1004']);
    for (const e of estates) {
      expect(e.status).toBe('inaktiv'); // R3
      expect(e.external_number).toBe(`IMVO-ID-${e.source_id}`); // R4
      expect(e.warning_note).toBe('IMV Import'); // R5
      expect(e.archived).toBe(false);
    }
    // R9: routed to the user named in the transfer
    expect(Object.fromEntries(estates.map((e) => [e.source_id, e.user_name]))).toEqual({
      '1001': 'mmustermann',
      '1002': 'skoch',
      '1003': 'mmustermann',
      '1004': 'skoch',
    });
    const e1001 = estates.find((e) => e.source_id === '1001');
    expect(e1001.purchase_price).toBe(289000);
    expect(e1001.city).toBe('Mönchengladbach');
    const e1002 = estates.find((e) => e.source_id === '1002');
    expect(e1002.city).toBe('Görlitz'); // Latin-1 decoded
    expect(e1002.title).toContain('–');

    // Attachments of the ZIP (pictures in a folder, a name with a space): title picture first
    const e1004 = estates.find((e) => e.source_id === '1004');
    const att = await ctx.db('estate_attachments').where({ estate_id: e1004.id }).orderBy('position');
    expect(att.map((a) => [a.position, a.group, a.title])).toEqual([
      [0, 'TITELBILD', 'Außenansicht'],
      [1, 'GRUNDRISS', 'Grundriss 3. OG'],
    ]);
    expect(att.every((a) => /^[0-9a-f]{64}$/.test(a.sha256) && a.size > 0)).toBe(true);

    // R2, R7: the owner is imported with origin IMV and status Aktiv
    const addresses = await ctx.db('addresses').where({ tenant_id: tenant }).orderBy('id');
    expect(addresses).toHaveLength(4);
    for (const a of addresses) {
      expect(a.contact_origin).toBe('IMV');
      expect(a.status).toBe('Aktiv');
    }
    const owner = addresses.find((a) => a.last_name === 'Wüstefeld');
    expect(owner.first_name).toBe('Henrike');
    expect(owner.external_person_id).toBe('IMV-K-40211');
    expect(owner.user_name).toBe('mmustermann');

    // R6: linked as ansprechpartner, once
    const links = await ctx
      .db('estate_contacts as l')
      .join('estates as e', 'e.id', 'l.estate_id')
      .where('e.tenant_id', tenant)
      .select('e.source_id', 'l.role', 'l.address_id');
    expect(links).toHaveLength(4);
    expect(links.every((l) => l.role === 'ansprechpartner')).toBe(true);

    // The files went to processed/, the ledger has them
    expect(await listRemote(`/${tenant}`)).toEqual([]);
    expect((await listRemote(`/${tenant}/processed`)).length).toBe(3);
    const ledger = await ctx.db('import_files').where({ tenant_id: tenant }).orderBy('id');
    expect(ledger.map((r) => r.status)).toEqual(['imported', 'imported', 'imported']);
    expect(ledger.every((r) => /^[0-9a-f]{64}$/.test(r.sha256))).toBe(true);
    // Feedback for the sender
    const feedback = await listRemote(`/${tenant}/feedback`);
    expect(feedback.length).toBe(3);
    const fb = readRemote(tenant, `feedback/${feedback.find((f) => f.includes('latin1'))}`);
    expect(fb).toContain('<openimmo_feedback>');
    expect(fb).toContain('<oobj_id>1002</oobj_id>');
    expect(fb).toContain('created');
  });

  it('R3, R4, R8: an update changes the data but not a status or external number a user changed; DELETE archives', async () => {
    // A user activates 1001 and renumbers it in the CRM.
    await ctx.db('estates').where({ tenant_id: tenant, source_id: '1001' }).update({ status: 'aktiv', external_number: 'K-2026-17' });
    const before = await snapshot(ctx.db);

    await uploadTo(tenant, 'imv-update-1001-delete-1003.xml', transfer('imv-update-1001-delete-1003.xml'));
    const summary = await runBatch(ctx.client, tenant);
    expect(summary.imported).toBe(1);
    expect(summary.objects.updated).toBe(1);
    expect(summary.objects.archived).toBe(1);

    const e1001 = await ctx.db('estates').where({ tenant_id: tenant, source_id: '1001' }).first();
    expect(e1001.purchase_price).toBe(269000);
    expect(e1001.title).toBe('Preisreduziert: helle 3-Zimmer-Wohnung nahe dem Münster');
    expect(e1001.status).toBe('aktiv');
    expect(e1001.external_number).toBe('K-2026-17');
    expect(e1001.id).toBe(before.estates.find((e) => e.source_id === '1001').id);

    const e1003 = await ctx.db('estates').where({ tenant_id: tenant, source_id: '1003' }).first();
    expect(e1003.archived).toBe(true);
    expect(e1003.cold_rent).toBe(1180); // the DELETE's thin content did not overwrite the data

    // R8: no new estates, the same address (de-duplicated by personennummer), the same link
    const after = await snapshot(ctx.db);
    expect(after.estates).toHaveLength(before.estates.length);
    expect(after.addresses).toHaveLength(before.addresses.length);
    expect(after.links).toEqual(before.links);
  });

  it('objects apply in document order: CREATE, CHANGE, then delete (any case) of one object in one file leaves it archived', async () => {
    await uploadTo(tenant, 'change-then-delete-1301.xml', transfer('change-then-delete-1301.xml'));
    const summary = await runBatch(ctx.client, tenant);
    expect(summary.imported).toBe(1);
    const e = await ctx.db('estates').where({ tenant_id: tenant, source_id: '1301' }).first();
    expect(e.archived).toBe(true);
    expect(e.purchase_price).toBe(110000);
    expect(e.title).toBe('Dann geändert');
    const outcomes = await ctx
      .db('import_objects as o')
      .join('import_files as f', 'f.id', 'o.import_id')
      .where('f.file_name', 'change-then-delete-1301.xml')
      .orderBy('o.position')
      .pluck('o.outcome');
    expect(outcomes).toEqual(['created', 'updated', 'archived']);
  });

  it('a full transfer (umfang VOLL) archives nothing that is missing from it; REFERENZ flags the estate', async () => {
    const activeBefore = await ctx.db('estates').where({ tenant_id: tenant, archived: false }).pluck('source_id');
    await uploadTo(tenant, 'voll-only-1302-referenz.xml', transfer('voll-only-1302-referenz.xml'));
    const summary = await runBatch(ctx.client, tenant);
    expect(summary.imported).toBe(1);
    const activeAfter = await ctx.db('estates').where({ tenant_id: tenant, archived: false }).pluck('source_id');
    expect(activeAfter.sort()).toEqual([...activeBefore, '1302'].sort());
    const e = await ctx.db('estates').where({ tenant_id: tenant, source_id: '1302' }).first();
    expect(e.reference).toBe(true);
    expect(e.status).toBe('inaktiv');
  });

  it('staleness: replaying the first 1001 transfer after its update changes nothing', async () => {
    const first = await ctx.db('import_files').where({ tenant_id: tenant, file_name: 'imv-flat-1001.xml' }).first();
    const before = await snapshot(ctx.db);
    const { handle } = await startReplay(ctx.cfg, ctx.client, ctx.db, first.id);
    const r = await handle.result();
    expect(r.outcome).toBe('imported');
    expect(r.counts.stale).toBe(1);
    const e = await ctx.db('estates').where({ tenant_id: tenant, source_id: '1001' }).first();
    expect(e.purchase_price).toBe(269000);
    const msg = await ctx.db('import_objects').where({ import_id: r.importId }).first();
    expect(msg.outcome).toBe('stale');
    expect(msg.messages.join(' ')).toContain('stored data is newer');
    const after = await snapshot(ctx.db);
    expect(after.estates.map((x) => [x.id, x.content_hash, x.purchase_price])).toEqual(before.estates.map((x) => [x.id, x.content_hash, x.purchase_price]));
  });

  it('R12 and R11 through the CLI helpers: inactive estates are hidden by default; publishing needs aktiv', async () => {
    const active = await listEstates(ctx.db, { tenant, status: 'aktiv' });
    expect(active.map((e) => e.externalNumber)).toEqual(['K-2026-17']);
    const all = await listEstates(ctx.db, { tenant, status: 'all' });
    expect(all).toHaveLength(6);
    await expect(publishEstate(ctx.db, tenant, 'IMVO-ID-1002')).rejects.toThrow(/inaktiv/);
    await activateEstate(ctx.db, tenant, 'IMVO-ID-1002');
    await publishEstate(ctx.db, tenant, 'IMVO-ID-1002');
    expect((await ctx.db('estates').where({ tenant_id: tenant, source_id: '1002' }).first()).published_at).not.toBeNull();
    const e1002 = all.find((e) => e.sourceId === '1002')!;
    expect(e1002.contacts).toEqual([{ role: 'ansprechpartner', lastName: 'Käßler', firstName: 'Björn', company: null, origin: 'IMV', status: 'Aktiv' }]);
  });

  it('a second batch imports nothing and changes nothing', async () => {
    const before = await snapshot(ctx.db);
    const ledgerBefore = await ctx.db('import_files').count('* as n').first();
    const summary = await runBatch(ctx.client, tenant);
    expect(summary.files).toBe(0);
    expect(await snapshot(ctx.db)).toEqual(before);
    expect(await ctx.db('import_files').count('* as n').first()).toEqual(ledgerBefore);
  });

  it('a malformed file ends in failed/ with its report while the others import', async () => {
    const good = transfer('imv-flat-1001.xml')
      .toString('utf8')
      .replace(/1001/g, '1101')
      .replace('Wüstefeld', 'Wüstefeld-Neu')
      .replace('IMV-K-40211', 'IMV-K-99999');
    await uploadTo(tenant, 'a-broken.xml', '<?xml version="1.0"?><openimmo><anbieter><immobilie><geo>');
    await uploadTo(tenant, 'b-good.xml', good);
    await uploadTo(tenant, 'c-not-openimmo.xml', '<?xml version="1.0"?><rss><channel/></rss>');
    const summary = await runBatch(ctx.client, tenant);
    expect(summary.files).toBe(3);
    expect(summary.failed).toBe(2);
    expect(summary.imported).toBe(1);
    expect(await ctx.db('estates').where({ tenant_id: tenant, source_id: '1101' }).first()).toBeTruthy();
    const failed = await listRemote(`/${tenant}/failed`);
    expect(failed.filter((f) => f.endsWith('.report.txt'))).toHaveLength(2);
    const report = readRemote(tenant, `failed/${failed.find((f) => f.includes('a-broken') && f.endsWith('.report.txt'))}`);
    expect(report).toContain('MalformedXml');
    expect(report).toContain('a-broken.xml');
    const rows = await ctx.db('import_files').where({ tenant_id: tenant }).whereIn('file_name', ['a-broken.xml', 'c-not-openimmo.xml']).orderBy('file_name');
    expect(rows.map((r) => [r.status, r.error_type])).toEqual([
      ['failed', 'MalformedXml'],
      ['failed', 'NotOpenImmo'],
    ]);
    // The failed file workflow is a failed workflow in the UI, with its error type.
    const h = ctx.client.workflow.getHandle(rows[0].workflow_id);
    await expect(h.result()).rejects.toThrow();
    const desc = await h.describe();
    expect(desc.status.name).toBe('FAILED');
  });

  it('the same content under another name is recorded as a duplicate and changes nothing', async () => {
    const before = await snapshot(ctx.db);
    await uploadTo(tenant, 'imv-1001-again.xml', transfer('imv-flat-1001.xml'));
    const summary = await runBatch(ctx.client, tenant);
    expect(summary.duplicate).toBe(1);
    expect(await snapshot(ctx.db)).toEqual(before);
  });

  it('R9: an unknown user is a clear per-object error; the file is kept and a replay imports it once the user exists', async () => {
    const xml = transfer('imv-flat-1001.xml').toString('utf8').replace(/1001/g, '1201').replace('>mmustermann<', '>neu.kollege<');
    await uploadTo(tenant, 'unknown-user.xml', xml);
    const summary = await runBatch(ctx.client, tenant);
    expect(summary.partial).toBe(1);
    const row = await ctx.db('import_files').where({ tenant_id: tenant, file_name: 'unknown-user.xml' }).first();
    expect(row.status).toBe('partial');
    expect(row.rejected).toBe(1);
    const obj = await ctx.db('import_objects').where({ import_id: row.id }).first();
    expect(obj.outcome).toBe('rejected');
    expect(obj.messages.join(' ')).toContain('unknown onOffice user "neu.kollege"');
    expect(await ctx.db('estates').where({ tenant_id: tenant, source_id: '1201' }).first()).toBeUndefined();

    // The user is added; the file is replayed from processed/.
    ctx.cfg.tenants[0].users.push('neu.kollege');
    await ctx.restartWorkers();
    const { handle } = await startReplay(ctx.cfg, ctx.client, ctx.db, row.id);
    const r = await handle.result();
    expect(r.outcome).toBe('imported');
    expect(r.counts.created).toBe(1);
    const e = await ctx.db('estates').where({ tenant_id: tenant, source_id: '1201' }).first();
    expect(e.user_name).toBe('neu.kollege');
    const replayRow = await ctx.db('import_files').where({ id: r.importId }).first();
    expect(replayRow.replay_of).toBe(row.id);
    expect((await ctx.db('import_files').where({ id: row.id }).first()).status).toBe('partial'); // the old outcome stays
  });
});

/**
 * R2, R6, R8 for owners that come with only a phone or an e-mail: the contact becomes an address linked to the estate, and the same
 * phone or e-mail again, written differently, finds that address instead of creating another.
 */
describe('owners without a name: an address when the transfer says how to reach them', () => {
  const tenant = uniqueId('owners');
  const ctx = usePipeline({ tenants: [{ id: tenant }], identities: ['worker-owners'] });
  const linksOf = async () =>
    Object.fromEntries(
      (
        await ctx
          .db('estate_contacts as l')
          .join('estates as e', 'e.id', 'l.estate_id')
          .where('e.tenant_id', tenant)
          .orderBy('l.id')
          .select('e.source_id', 'l.role', 'l.address_id')
      ).map((l) => [l.source_id, [l.role, Number(l.address_id)]]),
    );

  it('R2, R6, R7: an owner with only a phone, only an e-mail or only a postal address is an address linked as ansprechpartner; one with none is none', async () => {
    await uploadTo(tenant, 'owners-reach-only-1401.xml', transfer('owners-reach-only-1401.xml'));
    const summary = await ctx.batch(tenant);
    expect(summary.imported).toBe(1);
    expect(summary.objects.created).toBe(4);

    const addresses = await ctx.db('addresses').where({ tenant_id: tenant }).orderBy('id');
    expect(addresses.map((a) => [a.last_name, a.company, a.phones, a.emails, a.street])).toEqual([
      [null, null, { tel_handy: '0170 555 0001' }, {}, null],
      [null, null, {}, { email_privat: 'Nur.Mail@Example.org' }, null],
      [null, null, {}, {}, 'Hauptstraße'],
    ]);
    for (const a of addresses) expect([a.contact_origin, a.status, a.user_name]).toEqual(['IMV', 'Aktiv', 'mmustermann']);
    const [phone, mail, place] = addresses.map((a) => Number(a.id));
    expect(await linksOf()).toEqual({ '1401': ['ansprechpartner', phone], '1402': ['ansprechpartner', mail], '1404': ['ansprechpartner', place] });

    // Each object still says that its owner has no name, naming kinds of data, never their values.
    const row = await ctx.db('import_files').where({ tenant_id: tenant, file_name: 'owners-reach-only-1401.xml' }).first();
    const messages = await ctx.db('import_objects').where({ import_id: row.id }).orderBy('position').pluck('messages');
    expect(messages).toEqual([
      ['kontaktperson has no name or company (only phone): owner address created without a name'],
      ['kontaktperson has no name or company (only e-mail): owner address created without a name'],
      ['kontaktperson has no name or company (only first name, person number): no owner address created'],
      ['kontaktperson has no name or company (only postal address): owner address created without a name'],
    ]);
    for (const personal of ['0170', '555 0001', 'nur.mail', 'Renate', 'K-1403'])
      expect(JSON.stringify(messages).toLowerCase()).not.toContain(personal.toLowerCase());
  });

  it('R6, R8: the same phone (+49 (0)170 vs 0170, other spacing), e-mail (other case) and postal address (Str. vs Straße) again give the same addresses, no duplicate', async () => {
    const before = await ctx.db('addresses').where({ tenant_id: tenant }).orderBy('id').pluck('id');
    await uploadTo(tenant, 'owners-reach-only-again-1411.xml', transfer('owners-reach-only-again-1411.xml'));
    const summary = await ctx.batch(tenant);
    expect(summary.imported).toBe(1);
    expect([summary.objects.created, summary.objects.updated]).toEqual([3, 1]);

    const addresses = await ctx.db('addresses').where({ tenant_id: tenant }).orderBy('id');
    expect(addresses.map((a) => a.id)).toEqual(before);
    const [phone, mail, place] = before.map(Number);
    // The phones the transfers carried are all kept on the one address.
    expect(addresses[0].phones).toEqual({ tel_handy: '0049 170 5550001', tel_privat: '+49 (0)170 / 555-00-01' });
    expect(addresses[1].emails).toEqual({ email_privat: 'Nur.Mail@Example.org', email_direkt: 'nur.mail@EXAMPLE.ORG' });
    expect(await linksOf()).toEqual({
      '1401': ['ansprechpartner', phone],
      '1402': ['ansprechpartner', mail],
      '1411': ['ansprechpartner', phone],
      '1412': ['ansprechpartner', mail],
      '1404': ['ansprechpartner', place],
      '1414': ['ansprechpartner', place],
    });
    const [{ n }] = await ctx.db('estate_contacts as l').join('estates as e', 'e.id', 'l.estate_id').where('e.tenant_id', tenant).count({ n: '*' });
    expect(Number(n)).toBe(6); // once per estate
  });
});
