/** The CRM's rules as pure functions, one test per rule (design.md §1). */
import { describe, expect, it } from 'vitest';
import { externalNumberOf, planEstate, contentHash, WARNING_NOTE, estateColumns, type ApplyContext, type StoredEstate } from '../../domain/estate';
import { compareVersions, isStale } from '../../domain/staleness';
import { contactKeys, contactWarnings, findMatch, matchSteps, normPhone, normStreet, isImportableContact } from '../../domain/contact';
import type { ContactData, TransferObject } from '../../openimmo/types';
import { contact } from './contact-data';
import { readTransferBuffer } from '../../openimmo/reader';
import fs from 'node:fs';
import path from 'node:path';

const fixture = (f: string) => fs.readFileSync(path.join(__dirname, '../fixtures/transfers', f));

async function objectsOf(buf: Buffer): Promise<TransferObject[]> {
  return (await readTransferBuffer(buf)).flatMap((e) => (e.type === 'object' ? [e.object] : []));
}

const ctx: ApplyContext = {
  tenant: 't',
  user: 'mmustermann',
  importId: 1,
  transferTimestamp: '2026-11-25T10:00:00.000Z',
  fileTime: '2026-11-25T10:05:00.000Z',
  provider: 'IMVONLINE',
};

function stored(o: TransferObject, over: Partial<StoredEstate> = {}): StoredEstate {
  const c = estateColumns(o, ctx);
  return {
    id: 7,
    status: 'inaktiv',
    archived: false,
    reference: false,
    content_hash: c.content_hash,
    source_stand: c.source_stand,
    source_timestamp: c.source_timestamp,
    source_file_time: c.source_file_time,
    ...over,
  };
}

describe('estate rules', () => {
  it('R4: the external number is IMVO-ID-<id>, never prefixed twice', () => {
    expect(externalNumberOf('1001')).toBe('IMVO-ID-1001');
    expect(externalNumberOf('IMVO-ID-1001')).toBe('IMVO-ID-1001');
  });

  it('R5: every estate carries the warning note "IMV Import"', async () => {
    const [o] = await objectsOf(fixture('change-then-delete-1301.xml'));
    expect(estateColumns(o, ctx).warning_note).toBe('IMV Import');
    expect(WARNING_NOTE).toBe('IMV Import');
  });

  it('R3, R4: the columns written on update carry neither status nor external number', async () => {
    const [o] = await objectsOf(fixture('change-then-delete-1301.xml'));
    const cols = estateColumns(o, ctx);
    expect(cols).not.toHaveProperty('status');
    expect(cols).not.toHaveProperty('external_number');
  });

  it('R8: the same object again is unchanged; changed content is an update of the same estate', async () => {
    const [first, second] = await objectsOf(fixture('change-then-delete-1301.xml'));
    expect(planEstate(first, null, ctx).outcome).toBe('created');
    expect(planEstate(first, stored(first), ctx).outcome).toBe('unchanged');
    expect(planEstate(second, stored(first), ctx).outcome).toBe('updated');
    expect(contentHash(first, 'a')).not.toBe(contentHash(first, 'b')); // a user change is a change
  });

  it('DELETE (any case) archives without overwriting data; a DELETE of an unknown estate is reported', async () => {
    const objs = await objectsOf(fixture('change-then-delete-1301.xml'));
    const del = objs[2];
    expect(del.action).toBe('DELETE');
    const plan = planEstate(del, stored(objs[1]), ctx);
    expect(plan).toEqual({ outcome: 'archived', columns: null });
    expect(planEstate(del, stored(objs[1], { archived: true }), ctx).outcome).toBe('unchanged');
    expect(planEstate(del, null, ctx).outcome).toBe('not-found');
  });

  it('REFERENZ marks the estate as a reference object', async () => {
    const [o] = await objectsOf(fixture('voll-only-1302-referenz.xml'));
    expect(o.action).toBe('REFERENZ');
    const plan = planEstate(o, null, ctx);
    expect(plan.outcome).toBe('created');
    expect(plan.outcome === 'created' && plan.reference).toBe(true);
  });

  it('staleness: older stand_vom, then transfer timestamp, then file time is skipped', async () => {
    expect(
      isStale({ standVom: '2026-11-20', transferTimestamp: null, fileTime: null }, { standVom: '2026-11-24', transferTimestamp: null, fileTime: null }),
    ).toBe(true);
    expect(
      isStale(
        { standVom: '2026-11-24', transferTimestamp: '2026-11-24T08:00:00Z', fileTime: null },
        { standVom: '2026-11-24', transferTimestamp: '2026-11-24T09:00:00Z', fileTime: null },
      ),
    ).toBe(true);
    expect(
      isStale(
        { standVom: '2026-11-24', transferTimestamp: '2026-11-24T09:00:00Z', fileTime: '2026-11-24T09:01:00Z' },
        { standVom: '2026-11-24', transferTimestamp: '2026-11-24T09:00:00Z', fileTime: '2026-11-24T09:02:00Z' },
      ),
    ).toBe(true);
    // Equal versions are not stale: replaying the same file re-applies it (idempotent).
    expect(
      compareVersions(
        { standVom: '2026-11-24', transferTimestamp: null, fileTime: null },
        { standVom: '2026-11-24T10:00:00Z', transferTimestamp: null, fileTime: null },
      ),
    ).toBe(0);
    // A missing component does not decide.
    expect(
      isStale(
        { standVom: null, transferTimestamp: null, fileTime: '2026-01-01T00:00:00Z' },
        { standVom: '2026-11-24', transferTimestamp: null, fileTime: '2026-11-24T00:00:00Z' },
      ),
    ).toBe(true);
    const [o] = await objectsOf(fixture('change-then-delete-1301.xml'));
    const newer = stored(o, { source_stand: '2026-12-01' });
    expect(planEstate(o, newer, ctx).outcome).toBe('stale');
  });
});

describe("contact de-duplication (onOffice's order)", () => {
  it('R6/R8 keys: steps 0–3 apply only when all their keys are present, in order', () => {
    const full = contact({
      externalId: 'K-1',
      lastName: 'Schäfer',
      firstName: 'Renate',
      city: 'Köln',
      street: 'Lindenallee',
      houseNumber: '4',
      company: 'Firma',
      emails: { email_privat: 'R.Schaefer@Example.org ' },
    });
    expect(matchSteps(contactKeys(full)).map((s) => s.step)).toEqual([0, 1, 2, 3]);
    expect(matchSteps(contactKeys(contact({ lastName: 'Özdemir' })))).toEqual([]);
    expect(matchSteps(contactKeys(contact({ lastName: 'X', emails: { a: 'x@y.de' } }))).map((s) => s.step)).toEqual([2]);
    expect(contactKeys(full).emails).toEqual(['r.schaefer@example.org']);
  });

  it('normalizes names and streets: case, spacing, ß/ss, "Str." vs "Straße"', () => {
    expect(normStreet('Hauptstr. ', '5 a')).toBe(normStreet('Hauptstraße', '5a'));
    expect(contactKeys(contact({ lastName: ' GRÖSS ' })).last).toBe(contactKeys(contact({ lastName: 'größ' })).last);
  });

  it('R2: a contact becomes an address with a name or a company, or with a way to reach the person (e-mail, phone, postal address)', () => {
    expect(isImportableContact(contact({ lastName: 'Petersen' }))).toBe(true);
    expect(isImportableContact(contact({ company: 'Hanse Gewerbebau GmbH', emails: { email_zentrale: 'x@example.org' } }))).toBe(true);
    // Without a name: reachable is enough.
    expect(isImportableContact(contact({ phones: { tel_handy: '0170 5550001' } }))).toBe(true);
    expect(isImportableContact(contact({ emails: { email_privat: 'x@example.org' } }))).toBe(true);
    expect(isImportableContact(contact({ street: 'Lindenallee', houseNumber: '4', city: 'Köln' }))).toBe(true);
    expect(isImportableContact(contact({ externalId: 'K-1', firstName: 'Renate', phones: { tel_handy: '+49 170 5550001' } }))).toBe(true);
    // Nothing to reach anyone by: no address.
    expect(isImportableContact(contact({ city: 'Bonn' }))).toBe(false);
    expect(isImportableContact(contact({ externalId: 'K-1', firstName: 'Renate', url: 'https://x.example' }))).toBe(false);
    expect(isImportableContact(contact({ phones: { tel_handy: '0170' } }))).toBe(false); // a fragment, no number
    expect(isImportableContact(contact({ emails: { email_privat: 'keine' } }))).toBe(false);
    expect(isImportableContact(contact({ lastName: '  ' }))).toBe(false);
    expect(isImportableContact(null)).toBe(false);
  });

  it('R8: phones are matched as numbers: spacing, punctuation, +49 / 0049 / 0 and "(0)" give one key', () => {
    const key = '+492215550123';
    for (const v of [
      '0221 5550123',
      '0221/555-01 23',
      '+49 221 5550123',
      '+49 (0) 221 5550123',
      '0049 221 5550123',
      '+49 0221 5550123',
      '０２２１ ５５５０１２３',
    ]) {
      expect(normPhone(v), v).toBe(key);
    }
    expect(normPhone('0221 5550123', 'AUT')).toBe('+432215550123'); // the contact's own country
    expect(normPhone('06 12 34 56 78', 'FRA')).toBe('0612345678'); // no trunk rule known: its digits
    expect(normPhone('5550123')).toBe('5550123'); // no area code: its digits, matched only as written
    expect(normPhone('0170')).toBeNull();
    expect(normPhone('keine Angabe')).toBeNull();
    expect(normPhone('1'.repeat(40))).toBeNull();
    expect(contactKeys(contact({ phones: { tel_privat: '0221 5550123', tel_handy: '+49 221 555 0123' } })).phones).toEqual([key]);
  });

  it('R6/R8 keys: a contact without a name or company is matched by e-mail, then phone, then postal address', () => {
    const k = contactKeys(
      contact({
        externalId: 'K-1',
        firstName: 'Renate',
        emails: { email_privat: 'R.Schaefer@Example.org' },
        phones: { tel_handy: '0170 5550001' },
        street: 'Lindenallee',
        houseNumber: '4',
        city: 'Köln',
      }),
    );
    expect(matchSteps(k).map((s) => s.step)).toEqual([0, 4, 5, 6]);
    expect(matchSteps(contactKeys(contact({ phones: { tel_handy: '0170 5550001' } })))).toEqual([{ step: 5, phones: ['+491705550001'] }]);
    // A named contact keeps onOffice's steps: no match by e-mail or phone alone.
    expect(matchSteps(contactKeys(contact({ lastName: 'X', emails: { a: 'x@y.de' }, phones: { b: '0170 5550001' } }))).map((s) => s.step)).toEqual([2]);
  });

  it('R6/R8: the same phone or e-mail, written differently, finds the same nameless address; never a named one', () => {
    const stored = (id: number, c: Partial<ContactData>) => ({ id, keys: contactKeys(contact(c)) });
    const named = stored(1, { lastName: 'Schäfer', emails: { a: 'owner@example.org' }, phones: { b: '0221 5550123' } });
    const byPhone = stored(2, { phones: { tel_handy: '+49 221 5550123' } });
    const byMail = stored(3, { emails: { email_privat: 'owner@example.org' } });
    const byPlace = stored(4, { street: 'Hauptstraße', houseNumber: '5', city: 'Bonn' });
    const all = [named, byPhone, byMail, byPlace];
    const find = (c: Partial<ContactData>) => findMatch(all, contactKeys(contact(c)))?.id ?? null;
    expect(find({ phones: { tel_privat: '0221/555 01 23' } })).toBe(2);
    expect(find({ emails: { email_direkt: ' OWNER@Example.ORG' } })).toBe(3);
    expect(find({ emails: { e: 'owner@example.org' }, phones: { p: '0221 5550123' } })).toBe(3); // e-mail before phone
    expect(find({ street: 'Hauptstr.', houseNumber: '5', city: 'BONN' })).toBe(4);
    expect(find({ street: 'Hauptstr.', houseNumber: '5', city: 'Bonn', firstName: 'Jan' })).toBeNull(); // another person there
    expect(find({ phones: { p: '0221 5550124' } })).toBeNull();
    // The named owner with that phone and e-mail is not matched by a nameless contact, and a named
    // contact does not match a nameless address by phone or e-mail alone.
    expect(findMatch([named], contactKeys(contact({ phones: { p: '0221 5550123' } })))).toBeNull();
    expect(
      findMatch([byPhone, byMail], contactKeys(contact({ lastName: 'Schäfer', emails: { a: 'owner@example.org' }, phones: { b: '0221 5550123' } }))),
    ).toBeNull();
    expect(findMatch([named], contactKeys(contact({ lastName: 'schäfer', emails: { a: 'owner@example.org' } })))?.id).toBe(1); // step 2 as before
  });
});

describe('R2: address elements that give no address are warned about per object, without personal data', () => {
  const object = (o: Partial<Pick<TransferObject, 'action' | 'contact' | 'furtherAddresses' | 'emptyAddresses'>>) => ({
    action: 'UPSERT' as const,
    contact: null,
    furtherAddresses: [],
    ...o,
  });

  it('a kontaktperson with only an e-mail or only a phone: an owner address without a name, and the warning says so without the values', () => {
    const w = contactWarnings(object({ contact: contact({ field: 'kontaktperson', emails: { email_privat: 'renate@example.org' } }) }));
    expect(w).toEqual(['kontaktperson has no name or company (only e-mail): owner address created without a name']);
    const p = contactWarnings(object({ contact: contact({ field: 'kontaktperson', phones: { tel_handy: '+49 170 5550001' } }) }));
    expect(p).toEqual(['kontaktperson has no name or company (only phone): owner address created without a name']);
    expect([...w, ...p].join(' ')).not.toMatch(/renate|5550001/);
  });

  it('an empty kontaktperson, and one with nothing to reach the person by: no owner address', () => {
    expect(contactWarnings(object({ emptyAddresses: ['kontaktperson'] }))).toEqual(['kontaktperson is empty: no owner address created']);
    const w = contactWarnings(object({ contact: contact({ firstName: 'Renate', phones: { tel_handy: '170 1' }, city: 'Köln', externalId: 'K-9' }) }));
    expect(w).toEqual([
      'kontaktperson has no name or company (only first name, phone that is no number, part of a postal address, person number): no owner address created',
    ]);
    for (const text of ['Renate', '170', 'Köln', 'K-9']) expect(w.join(' ')).not.toContain(text);
  });

  it('weitere_adresse entries are named by their place', () => {
    const w = contactWarnings(
      object({
        contact: contact({ lastName: 'Petersen' }),
        furtherAddresses: [contact({ company: 'Verwaltung', field: 'weitere_adresse[1]' }), contact({ url: 'https://x.example', field: 'weitere_adresse[3]' })],
        emptyAddresses: ['weitere_adresse[2]'],
      }),
    );
    expect(w).toEqual(['weitere_adresse[2] is empty: no address created', 'weitere_adresse[3] has no name or company (only url): no address created']);
    const reach = contactWarnings(object({ furtherAddresses: [contact({ phones: { tel_zentrale: '030 5550000' }, field: 'weitere_adresse[1]' })] }));
    expect(reach).toEqual(['weitere_adresse[1] has no name or company (only phone): address created without a name']);
  });

  it('no warning for a named contact, for an object without kontaktperson, nor for a DELETE (which imports no contact)', () => {
    expect(contactWarnings(object({ contact: contact({ lastName: 'Petersen', emails: { a: 'p@example.org' } }) }))).toEqual([]);
    expect(contactWarnings(object({}))).toEqual([]);
    expect(contactWarnings(object({ action: 'DELETE', emptyAddresses: ['kontaktperson'], contact: null }))).toEqual([]);
    expect(contactWarnings(object({ action: 'DELETE', contact: contact({ emails: { a: 'p@example.org' } }) }))).toEqual([]);
  });

  it('read from a transfer: the reader and the rule together', async () => {
    const xml = Buffer.from(`<?xml version="1.0" encoding="UTF-8"?><openimmo><anbieter><anbieternr>A</anbieternr>
      <immobilie><kontaktperson><email_privat>nur.mail@example.org</email_privat></kontaktperson><verwaltung_techn><objektnr_extern>1</objektnr_extern></verwaltung_techn></immobilie>
      <immobilie><kontaktperson/><verwaltung_techn><objektnr_extern>2</objektnr_extern></verwaltung_techn></immobilie>
    </anbieter></openimmo>`);
    const [a, b] = await objectsOf(xml);
    expect(contactWarnings(a!)).toEqual(['kontaktperson has no name or company (only e-mail): owner address created without a name']);
    expect(contactWarnings(b!)).toEqual(['kontaktperson is empty: no owner address created']);
  });
});
