/** The estate step's plan for one chunk (domain/plan-chunk.ts): pure, no database. */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { estateColumns, type StoredEstate } from '../../domain/estate';
import { planChunk, type ChunkContext, type ChunkObject } from '../../domain/plan-chunk';
import { readTransferBuffer } from '../../openimmo/reader';
import type { ProviderInfo, TransferObject } from '../../openimmo/types';

const fixture = (f: string) => fs.readFileSync(path.join(__dirname, '../fixtures/transfers', f));

/** The three objects of 1301: created, then changed, then deleted (document order). */
async function objects1301(): Promise<TransferObject[]> {
  return (await readTransferBuffer(fixture('change-then-delete-1301.xml'))).flatMap((e) => (e.type === 'object' ? [e.object] : []));
}

const rowsOf = (objects: TransferObject[]): ChunkObject[] => objects.map((payload) => ({ position: payload.position, payload }));

const ctx: ChunkContext = {
  tenant: 't',
  defaultUser: null,
  userField: 'onoffice_benutzer',
  users: new Set(['mmustermann', 'skoch']),
  importId: 5,
  fileTime: '2026-11-25T10:05:00.000Z',
  header: { timestamp: '2026-11-25T10:00:00.000Z' },
  providers: [],
};

function storedOf(o: TransferObject, over: Partial<StoredEstate> = {}): StoredEstate {
  const c = estateColumns(o, {
    tenant: 't',
    user: 'mmustermann',
    importId: 1,
    transferTimestamp: ctx.header!.timestamp,
    fileTime: ctx.fileTime,
    provider: null,
  });
  const s = {
    id: 42,
    status: 'aktiv',
    archived: false,
    reference: false,
    content_hash: c.content_hash,
    source_stand: c.source_stand,
    source_timestamp: c.source_timestamp,
    source_file_time: c.source_file_time,
  };
  return { ...s, ...over };
}

describe('planChunk', () => {
  it('create, change and delete of one id in one chunk: three outcomes, one final state written once', async () => {
    const [create, change, del] = await objects1301();
    const plan = planChunk(rowsOf([create, change, del]), new Map(), ctx);
    expect(plan.objects.map((o) => [o.position, o.sourceId, o.outcome])).toEqual([
      [0, '1301', 'created'],
      [1, '1301', 'updated'],
      [2, '1301', 'archived'],
    ]);
    expect([...plan.estates.keys()]).toEqual(['1301']);
    const final = plan.estates.get('1301')!;
    // The DELETE does not overwrite the data: the columns are the change's, archived, and still new.
    expect(final).toMatchObject({ archived: true, isNew: true, reference: false });
    expect(final.columns?.title).toBe('Dann geändert');
    expect(plan.storedIds.size).toBe(0);
  });

  it('against a stored estate: the same content is unchanged and nothing is written; the stored id is known', async () => {
    const [create] = await objects1301();
    const stored = new Map([['1301', storedOf(create)]]);
    const plan = planChunk(rowsOf([create]), stored, ctx);
    expect(plan.objects.map((o) => o.outcome)).toEqual(['unchanged']);
    expect(plan.estates.size).toBe(0);
    expect(plan.storedIds.get('1301')).toBe(42);
  });

  it('a DELETE of a stored estate archives it without its data and keeps its reference flag; the input map is not changed', async () => {
    const [, , del] = await objects1301();
    const before = storedOf(del, { reference: true });
    const stored = new Map([['1301', before]]);
    const plan = planChunk(rowsOf([del]), stored, ctx);
    expect(plan.objects[0].outcome).toBe('archived');
    expect(plan.estates.get('1301')).toEqual({ columns: null, archived: true, reference: true, isNew: false });
    expect(stored.get('1301')).toBe(before);
    expect(before.archived).toBe(false);
  });

  it('stale and not-found carry their message after the object warnings; neither writes', async () => {
    const [create, , del] = await objects1301();
    const newer = new Map([['1301', storedOf(create, { source_stand: '2027-01-01', content_hash: 'other' })]]);
    const stale = planChunk(rowsOf([{ ...create, warnings: ['w1'] }]), newer, ctx);
    expect(stale.objects[0].outcome).toBe('stale');
    expect(stale.objects[0].messages[0]).toBe('w1');
    expect(stale.objects[0].messages[1]).toMatch(/^object 1301: stored data is newer/);
    expect(stale.estates.size).toBe(0);
    const missing = planChunk(rowsOf([del]), new Map(), ctx);
    expect(missing.objects[0]).toMatchObject({ outcome: 'not-found', messages: ['object 1301: DELETE for an estate that does not exist'] });
  });

  it('rejected: no IMV id, no user and no default user, an unknown user (R9)', async () => {
    const [create] = await objects1301();
    const plan = planChunk(
      rowsOf([
        { ...create, position: 0, sourceId: null },
        { ...create, position: 1, sourceId: '1', user: null },
        { ...create, position: 2, sourceId: '2', user: 'sk\u043Ech' },
      ]),
      new Map(),
      ctx,
    );
    expect(plan.objects.map((o) => o.outcome)).toEqual(['rejected', 'rejected', 'rejected']);
    expect(plan.objects[0].messages).toEqual([
      'object #0: no IMV object id (verwaltung_techn/objektnr_extern and openimmo_obid are missing, empty or unusable)',
    ]);
    expect(plan.objects[1].messages).toEqual([
      'object 1: no onOffice user named (user_defined_simplefield feldname="onoffice_benutzer") and tenant t has no default user',
    ]);
    expect(plan.objects[2].messages[0]).toContain('unknown onOffice user "sk\\u043Ech"');
    expect(plan.objects[2].messages[0]).toContain('replay import 5');
    expect(plan.estates.size).toBe(0);
  });

  it("the user comes from the object, else its provider, else the tenant's default; the provider id from openimmo_anid", async () => {
    const [create] = await objects1301();
    const provider: ProviderInfo = { index: 0, anbieternr: 'IMV', firma: null, openimmoAnid: 'ANID', user: 'skoch', userFields: [] };
    const fromProvider = planChunk(rowsOf([{ ...create, user: null, providerIndex: 0 }]), new Map(), { ...ctx, providers: [provider] });
    expect(fromProvider.estates.get('1301')?.columns).toMatchObject({ user_name: 'skoch', provider_id: 'ANID' });
    const fromDefault = planChunk(rowsOf([{ ...create, user: null }]), new Map(), { ...ctx, defaultUser: 'mmustermann' });
    expect(fromDefault.estates.get('1301')?.columns).toMatchObject({ user_name: 'mmustermann', provider_id: null });
  });

  it('an applied object gets the warnings of contacts the address step cannot import', async () => {
    const [create] = await objects1301();
    const plan = planChunk(rowsOf([{ ...create, emptyAddresses: ['weitere_adresse[1]'] }]), new Map(), ctx);
    expect(plan.objects[0].outcome).toBe('created');
    expect(plan.objects[0].messages.length).toBe(1);
    expect(plan.objects[0].messages[0]).toContain('weitere_adresse[1]');
  });
});
