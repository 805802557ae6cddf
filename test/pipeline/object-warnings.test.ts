/**
 * Per-object warnings through the pipeline (issue 7): contacts without a name (R2, R7), text the sender damaged, a
 * look-alike onOffice user name (R9) and two ZIP entries under one name reach the ledger's
 * import_objects.messages and the report on the FTP server, without personal data.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { zipOf } from '../support/zip';
import { readRemote, uniqueId, uploadTo, usePipeline } from '../support/harness';
import { FINISH_PAGE } from '../../activities/finish';
import { archiveNames } from '../../common/remote-names';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function object(id: string, user: string, inner: string): string {
  return `<immobilie>
  <objektkategorie><nutzungsart WOHNEN="1"/><vermarktungsart KAUF="1"/><objektart><wohnung wohnungtyp="ETAGE"/></objektart></objektkategorie>
  <geo><plz>50667</plz><ort>Köln</ort></geo>
  ${inner}
  <verwaltung_techn><objektnr_extern>${id}</objektnr_extern><stand_vom>2026-11-20</stand_vom></verwaltung_techn>
  <user_defined_simplefield feldname="onoffice_benutzer">${user}</user_defined_simplefield>
</immobilie>`;
}

const transfer = (objects: string[]) => `<?xml version="1.0" encoding="UTF-8"?>
<openimmo><uebertragung umfang="TEIL" version="1.2.7" timestamp="2026-11-20T10:00:00Z"/>
<anbieter><openimmo_anid>IMVONLINE</openimmo_anid>
${objects.join('\n')}
</anbieter></openimmo>`;

describe('per-object warnings in the ledger and the report', () => {
  const tenant = uniqueId('warnings');
  const ctx = usePipeline({ tenants: [{ id: tenant, users: ['mmustermann', 'skoch'] }], identities: ['warnings-worker'] });

  it('a file of more objects than finish reads at once: counts, report and the streamed feedback cover every object', async () => {
    const n = FINISH_PAGE + 150;
    const objects = Array.from({ length: n }, (_, i) => object(`8${String(i).padStart(5, '0')}`, i % 100 === 0 ? 'nobody' : 'skoch', ''));
    await uploadTo(tenant, 'many.xml', transfer(objects));
    const summary = await ctx.batch(tenant);
    expect(summary.partial).toBe(1);
    const row = await ctx.db('import_files').where({ tenant_id: tenant, file_name: 'many.xml' }).first();
    const rejected = Math.ceil(n / 100);
    expect([row.objects_total, row.created, row.rejected]).toEqual([n, n - rejected, rejected]);

    const feedback = readRemote(tenant, `feedback/${archiveNames(row.id, 'many.xml').feedback}`);
    expect(feedback.match(/<objekt>/g)).toHaveLength(n);
    expect(feedback).toContain('<oobj_id>800000</oobj_id>');
    expect(feedback).toContain(`<oobj_id>8${String(n - 1).padStart(5, '0')}</oobj_id>`);
    expect(feedback.match(/<fehler>/g)).toHaveLength(rejected);
    expect(feedback.trimEnd().endsWith('</openimmo_feedback>')).toBe(true);
    const report = readRemote(tenant, `processed/${archiveNames(row.id, 'many.xml').report}`);
    expect(report.match(/unknown onOffice user "nobody"/g)).toHaveLength(rejected);
  });

  it('contacts without a name or company are warned (an address only when they say how to reach the person); a look-alike user is shown by code point', async () => {
    const xml = transfer([
      object('7001', 'mmustermann', '<kontaktperson><email_privat>nur.mail@example.org</email_privat><tel_handy>+49 170 5550001</tel_handy></kontaktperson>'),
      object('7002', 'mmustermann', '<kontaktperson> </kontaktperson>'),
      object('7003', 'sk\u043Ech', '<kontaktperson><name>Petersen</name></kontaktperson>'),
      object('7004', 'skoch', '<kontaktperson><name>Petersen</name><email_privat>p@example.org</email_privat></kontaktperson>'),
      object('7005', 'skoch', '<freitexte><objekttitel>SchÃ¶ne Wohnung</objekttitel><lage>N\uFFFDhe Dom</lage></freitexte>'),
    ]);
    await uploadTo(tenant, 'contacts.xml', xml);
    const summary = await ctx.batch(tenant);
    expect(summary.partial).toBe(1);

    const row = await ctx.db('import_files').where({ tenant_id: tenant, file_name: 'contacts.xml' }).first();
    const objects = await ctx.db('import_objects').where({ import_id: row.id }).orderBy('position').select('source_id', 'outcome', 'messages');
    expect(objects).toEqual([
      { source_id: '7001', outcome: 'created', messages: ['kontaktperson has no name or company (only e-mail, phone): owner address created without a name'] },
      { source_id: '7002', outcome: 'created', messages: ['kontaktperson is empty: no owner address created'] },
      {
        source_id: '7003',
        outcome: 'rejected',
        messages: [
          `object 7003: unknown onOffice user "sk\\u043Ech" (contains non-ASCII U+043E Cyrillic letter) for tenant ${tenant}; add the user to the configuration and replay import ${row.id}`,
        ],
      },
      { source_id: '7004', outcome: 'created', messages: [] },
      // Text the sender damaged: the field is named, the text is not repeated.
      {
        source_id: '7005',
        outcome: 'created',
        messages: [
          'freitexte/objekttitel: looks garbled (UTF-8 read as Latin-1 by the sender, such as "Ã¤" for "ä")',
          "freitexte/lage: holds U+FFFD, characters the sender's file had already lost",
        ],
      },
    ]);

    // The named owner and the reachable nameless one became addresses, linked to their estates; the empty one none.
    const addresses = await ctx.db('addresses').where({ tenant_id: tenant }).orderBy('id').select('last_name', 'emails');
    expect(addresses).toEqual([
      { last_name: null, emails: { email_privat: 'nur.mail@example.org' } },
      { last_name: 'Petersen', emails: { email_privat: 'p@example.org' } },
    ]);
    const linked = await ctx
      .db('estate_contacts as l')
      .join('estates as e', 'e.id', 'l.estate_id')
      .where('e.tenant_id', tenant)
      .orderBy('e.source_id')
      .pluck('e.source_id');
    expect(linked).toEqual(['7001', '7004']);

    // The report names file, object and problem, and carries none of the personal data.
    const report = readRemote(tenant, `processed/${row.id}-contacts.xml.report.txt`);
    expect(report).toContain('object #0 (id 7001) created: kontaktperson has no name or company (only e-mail, phone): owner address created without a name');
    expect(report).toContain('unknown onOffice user "sk\\u043Ech" (contains non-ASCII U+043E');
    expect(report).toContain('object #4 (id 7005) created: freitexte/objekttitel: looks garbled');
    for (const personal of ['nur.mail@example.org', '5550001', 'p@example.org', 'SchÃ¶ne', 'Dom']) expect(report).not.toContain(personal);
  });

  it('a ZIP with two pictures under one name: the object is warned, naming the entry; the first in the archive is stored', async () => {
    const first = Buffer.from('first picture');
    const second = Buffer.from('second picture');
    const xml = transfer([
      object(
        '7101',
        'skoch',
        `<kontaktperson><name>Anhang</name></kontaktperson>
        <anhaenge><anhang gruppe="TITELBILD"><format>jpg</format><daten><pfad>bilder/a.jpg</pfad></daten></anhang></anhaenge>`,
      ),
    ]);
    await uploadTo(
      tenant,
      'pictures.zip',
      await zipOf([
        { name: 'openimmo.xml', data: xml },
        { name: 'bilder/a.jpg', data: first },
        { name: 'bilder/A.JPG', data: second },
      ]),
    );
    const summary = await ctx.batch(tenant);
    expect(summary.imported).toBe(1);

    const row = await ctx.db('import_files').where({ tenant_id: tenant, file_name: 'pictures.zip' }).first();
    const obj = await ctx.db('import_objects').where({ import_id: row.id }).first('outcome', 'messages');
    expect(obj).toEqual({
      outcome: 'created',
      messages: ['anhaenge/anhang[1]: file "bilder/a.jpg" matches 2 entries in the ZIP ("bilder/a.jpg", "bilder/A.JPG"); the first in the archive is used'],
    });
    const stored = await ctx
      .db('estate_attachments as a')
      .join('estates as e', 'e.id', 'a.estate_id')
      .where({ 'e.tenant_id': tenant, 'e.source_id': '7101' })
      .pluck('a.sha256');
    expect(stored).toEqual([sha(first)]);
  });
});
