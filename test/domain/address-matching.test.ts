/**
 * Address matching for one chunk, without the database: which contacts of the chunk become addresses,
 * what the candidates are loaded by, matching in document order (two objects of one owner share one
 * address, a stored address is updated only when the transfer changes it), and how a contact merges into
 * the address it matched. The steps themselves (findMatch) are in estate-rules.test.ts.
 */
import { describe, expect, it } from 'vitest';
import {
  addressColumns,
  candidateSearch,
  chunkContacts,
  matchChunkContacts,
  mergeContact,
  newAddressColumns,
  storedCandidate,
  type AddressCandidate,
  type StagedForAddresses,
  type StoredAddressRow,
} from '../../domain/address-matching';
import type { ContactData, TransferObject } from '../../openimmo/types';
import { contact } from './contact-data';

const staged = (position: number, estateId: number | null, owner: ContactData | null, further: ContactData[] = []): StagedForAddresses => ({
  position,
  outcome: 'created',
  estate_id: estateId,
  address_ids: [],
  payload: { position, contact: owner, furtherAddresses: further } as unknown as TransferObject,
});

const owner = contact({
  firstName: 'Erika',
  lastName: 'Muster',
  street: 'Lindenallee',
  houseNumber: '4',
  city: 'Köln',
  phones: { tel_privat: '0221 5550100' },
});

/** A stored address (as the candidates query returns it) with the columns of this contact. */
function storedRow(id: number, c: ContactData, user: string): StoredAddressRow {
  const fresh = matchChunkContacts(chunkContacts([staged(0, 1, c)], new Map([[1, user]])), []).fresh[0];
  const cols = addressColumns(fresh);
  return { ...cols, id, user_name: user, emails: JSON.parse(cols.emails as string), phones: JSON.parse(cols.phones as string) };
}

describe('the contacts of a chunk', () => {
  it('in document order: each object’s owner (ansprechpartner), then its further addresses by their role; only importable ones, with the estate’s user', () => {
    const partner = contact({ company: 'Hausverwaltung Beispiel GmbH', role: 'VERWALTER', emails: { email_zentrale: 'info@example.org' } });
    const plain = contact({ lastName: 'Beispiel' });
    const nobody = contact({ city: 'Bonn' });
    const work = chunkContacts([staged(3, 10, owner, [partner, nobody, plain]), staged(4, null, nobody), staged(5, 11, plain)], new Map([[10, 'mmustermann']]));
    expect(work.map((w) => [w.position, w.role, w.user])).toEqual([
      [3, 'ansprechpartner', 'mmustermann'],
      [3, 'verwalter', 'mmustermann'],
      [3, 'weitere_adresse', 'mmustermann'],
      [5, 'ansprechpartner', null],
    ]);
    expect(work[0].keys.phones).toEqual(['+492215550100']);
  });

  it('the candidates are loaded by every key once; by street and town only for contacts without a name or company', () => {
    const nameless = contact({ firstName: 'Erika', street: 'Hauptstr.', houseNumber: '5', city: 'Bonn' });
    const search = candidateSearch(chunkContacts([staged(0, 1, owner), staged(1, 1, owner), staged(2, 1, nameless)], new Map()));
    expect(search).toEqual({
      externalIds: [],
      lasts: ['muster'],
      companies: [],
      emails: [],
      phones: ['+492215550100'],
      namelessPlaces: [{ city: 'bonn', street: 'hauptstrasse 5' }],
    });
  });
});

describe('matching a chunk in document order', () => {
  it('two objects of the same owner share one new address, in the first estate’s user’s records', () => {
    const work = chunkContacts(
      [staged(0, 1, owner), staged(1, 2, { ...owner, emails: { email_privat: 'erika@example.org' } })],
      new Map([
        [1, 'mmustermann'],
        [2, 'skoch'],
      ]),
    );
    const { links, fresh, changed } = matchChunkContacts(work, []);
    expect(fresh).toHaveLength(1);
    expect(changed).toEqual([]);
    expect(links.get(0)).toEqual([{ address: fresh[0], role: 'ansprechpartner' }]);
    expect(links.get(1)).toEqual([{ address: fresh[0], role: 'ansprechpartner' }]);
    // The second object's e-mail is merged into the address the first one made.
    expect(fresh[0].emails).toEqual({ email_privat: 'erika@example.org' });
    expect(newAddressColumns(fresh[0])).toMatchObject({ contact_origin: 'IMV', status: 'Aktiv', user_name: 'mmustermann', last_name: 'Muster' });
  });

  it('a stored address that matches is updated only when the transfer changes it, and keeps its user', () => {
    const candidates = [storedCandidate(storedRow(7, owner, 'skoch'))];
    const same = matchChunkContacts(chunkContacts([staged(0, 1, owner)], new Map([[1, 'mmustermann']])), candidates);
    expect(same.fresh).toEqual([]);
    expect(same.changed).toEqual([]);
    expect(same.links.get(0)).toEqual([{ address: expect.objectContaining({ id: 7 }), role: 'ansprechpartner' }]);

    const moved = matchChunkContacts(chunkContacts([staged(0, 1, { ...owner, zip: '50667' })], new Map([[1, 'mmustermann']])), candidates);
    expect(moved.changed.map((c) => [c.id, c.fields.zip, c.user])).toEqual([[7, '50667', 'skoch']]);
    // The candidates given are not changed: matching works on copies.
    expect(candidates[0].fields.zip).toBeNull();
    expect(candidates[0].dirty).toBe(false);
  });

  it('the oldest matching candidate wins; an address linked twice in one role is one link', () => {
    const candidates = [storedCandidate(storedRow(3, owner, 'skoch')), storedCandidate(storedRow(9, owner, 'skoch'))];
    const { links } = matchChunkContacts(
      chunkContacts(
        [
          staged(0, 1, owner, [
            { ...owner, role: null },
            { ...owner, role: 'EIGENTUEMER' },
          ]),
        ],
        new Map(),
      ),
      candidates,
    );
    expect(links.get(0)!.map((l) => [l.address.id, l.role])).toEqual([
      [3, 'ansprechpartner'],
      [3, 'weitere_adresse'],
      [3, 'eigentuemer'],
    ]);
    const twice = matchChunkContacts(chunkContacts([staged(0, 1, owner, [{ ...owner, role: 'ansprechpartner' }])], new Map()), candidates);
    expect(twice.links.get(0)!.map((l) => [l.address.id, l.role])).toEqual([[3, 'ansprechpartner']]);
  });

  it('a contact that matches no candidate and nothing earlier in the chunk makes an address of its own', () => {
    const other = contact({ firstName: 'Max', lastName: 'Muster', street: 'Lindenallee', houseNumber: '4', city: 'Köln' });
    const { fresh, links } = matchChunkContacts(chunkContacts([staged(0, 1, owner), staged(1, 1, other)], new Map()), [
      storedCandidate(storedRow(5, contact({ lastName: 'Muster', firstName: 'Erika', city: 'Bonn', street: 'Lindenallee', houseNumber: '4' }), 'skoch')),
    ]);
    expect(fresh.map((c) => c.fields.first_name)).toEqual(['Erika', 'Max']);
    expect(links.get(1)![0].address).toBe(fresh[1]);
  });
});

describe('merging a contact into its address', () => {
  const address = (): AddressCandidate => storedCandidate(storedRow(1, { ...owner, emails: { email_privat: 'alt@example.org' } }, 'skoch'));

  it('fills what the transfer carries, keeps what it leaves empty, and keeps every e-mail and phone key the address had', () => {
    const a = address();
    mergeContact(a, contact({ lastName: 'Muster', firstName: 'Erika', emails: { email_direkt: 'neu@example.org' }, phones: { tel_handy: '0170 5550001' } }));
    expect(a.dirty).toBe(true);
    expect(a.fields).toMatchObject({ last_name: 'Muster', first_name: 'Erika', street: 'Lindenallee', city: 'Köln' });
    expect(a.emails).toEqual({ email_privat: 'alt@example.org', email_direkt: 'neu@example.org' });
    expect(a.phones).toEqual({ tel_privat: '0221 5550100', tel_handy: '0170 5550001' });
    expect(a.keys.emails.sort()).toEqual(['alt@example.org', 'neu@example.org']);
    expect(a.keys.phones.sort()).toEqual(['+491705550001', '+492215550100']);
    expect(a.keys.street).toBe('lindenallee 4');
    expect(a.user).toBe('skoch');
  });

  it('changes nothing (not dirty) when the transfer says what the address says already', () => {
    const a = address();
    mergeContact(a, owner);
    expect(a.dirty).toBe(false);
  });

  it('a stored address reads back as it was written: fields, bags and keys', () => {
    const a = address();
    const again = storedCandidate({ ...addressColumns(a), id: 1, user_name: 'skoch', emails: a.emails, phones: a.phones });
    expect(again).toEqual(a);
  });
});
