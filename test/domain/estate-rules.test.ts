/** The CRM's rules as pure functions, one test per rule (design.md §1). */
import { describe, expect, it } from 'vitest';
import { externalNumberOf, planEstate, contentHash, WARNING_NOTE, estateColumns, type ApplyContext, type StoredEstate } from '../../domain/estate';
import { compareVersions, isStale } from '../../domain/staleness';
import { contactKeys, contactWarnings, matchSteps, normStreet, isImportableContact } from '../../domain/contact';
import type { ContactData, TransferObject } from '../../openimmo/types';
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

const contact = (c: Partial<ContactData>): ContactData => ({
  externalId: null,
  salutation: null,
  title: null,
  firstName: null,
  lastName: null,
  company: null,
  street: null,
  houseNumber: null,
  zip: null,
  city: null,
  country: null,
  emails: {},
  phones: {},
  url: null,
  role: null,
  ...c,
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

  it('R2: a contact needs a name or a company to be imported; an e-mail, a first name or a person number alone is not enough', () => {
    expect(isImportableContact(contact({ city: 'Bonn' }))).toBe(false);
    expect(isImportableContact(contact({ emails: { email_privat: 'x@example.org' } }))).toBe(false);
    expect(isImportableContact(contact({ externalId: 'K-1', firstName: 'Renate', phones: { tel_handy: '0170' } }))).toBe(false);
    expect(isImportableContact(contact({ lastName: '  ' }))).toBe(false);
    expect(isImportableContact(contact({ lastName: 'Petersen' }))).toBe(true);
    expect(isImportableContact(contact({ company: 'Hanse Gewerbebau GmbH', emails: { email_zentrale: 'x@example.org' } }))).toBe(true);
    expect(isImportableContact(null)).toBe(false);
  });
});

describe('R2: address elements that give no address are warned about per object, without personal data', () => {
  const object = (o: Partial<Pick<TransferObject, 'action' | 'contact' | 'furtherAddresses' | 'emptyAddresses'>>) => ({
    action: 'UPSERT' as const,
    contact: null,
    furtherAddresses: [],
    ...o,
  });

  it('a kontaktperson with only an e-mail: no owner address, and the warning says so without the address', () => {
    const w = contactWarnings(object({ contact: contact({ field: 'kontaktperson', emails: { email_privat: 'renate@example.org' } }) }));
    expect(w).toEqual(['kontaktperson has no name or company (only e-mail): no owner address created']);
  });

  it('an empty kontaktperson, and one with only a first name, phone and town', () => {
    expect(contactWarnings(object({ emptyAddresses: ['kontaktperson'] }))).toEqual(['kontaktperson is empty: no owner address created']);
    const w = contactWarnings(object({ contact: contact({ firstName: 'Renate', phones: { tel_handy: '+49 170 1' }, city: 'Köln', externalId: 'K-9' }) }));
    expect(w).toEqual(['kontaktperson has no name or company (only first name, phone, postal address, person number): no owner address created']);
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
    expect(contactWarnings(a!)).toEqual(['kontaktperson has no name or company (only e-mail): no owner address created']);
    expect(contactWarnings(b!)).toEqual(['kontaktperson is empty: no owner address created']);
  });
});
