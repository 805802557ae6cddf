/** db/ops-estates.ts against real PostgreSQL: estates as `imv-import estates` and `estate activate|publish` read and change them. */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  activateEstateRow,
  anyEstateAfter,
  estateAttachmentRows,
  estateContactRows,
  estateRows,
  estatesByExternalNumber,
  publishEstateRow,
} from '../../db/ops-estates';
import { anEstate, hoursAgo, useMigratedDatabase } from '../support/database';

describe('db/ops-estates', () => {
  const ctx = useMigratedDatabase(['es', 'other']);
  let e: { one: number; two: number; active: number; elsewhere: number };

  beforeAll(async () => {
    e = {
      one: await anEstate(ctx.db, 'es', { title: 'one', city: 'Köln', purchase_price: 250000.5, fields: JSON.stringify({ rooms: 3 }) }),
      two: await anEstate(ctx.db, 'es', { title: 'two' }),
      active: await anEstate(ctx.db, 'es', { title: 'active', status: 'aktiv' }),
      elsewhere: await anEstate(ctx.db, 'other', { title: 'elsewhere' }),
    };
  });

  it('estateRows gives the matching estates in id order from the cursor on, at most the limit', async () => {
    const titles = async (f: Parameters<typeof estateRows>[1], limit = 100) => (await estateRows(ctx.db, f, limit)).map((r) => r.title);
    expect(await titles({ tenant: 'es', status: 'all' })).toEqual(['one', 'two', 'active']);
    expect(await titles({ tenant: 'es', status: 'inaktiv' })).toEqual(['one', 'two']);
    expect(await titles({ tenant: 'es', status: 'aktiv' })).toEqual(['active']);
    expect(await titles({ status: 'all', after: e.one })).toEqual(['two', 'active', 'elsewhere']);
    expect(await titles({ status: 'all' }, 2)).toEqual(['one', 'two']);
    const [one] = await estateRows(ctx.db, { tenant: 'es', status: 'all' }, 1);
    expect(one).toMatchObject({
      id: e.one,
      tenant_id: 'es',
      city: 'Köln',
      purchase_price: 250000.5,
      fields: { rooms: 3 },
      published_at: null,
      archived: false,
    });
    expect(one).not.toHaveProperty('data');
  });

  it('anyEstateAfter says whether a matching estate follows the id', async () => {
    expect(await anyEstateAfter(ctx.db, { tenant: 'es', status: 'all' }, e.two)).toBe(true);
    expect(await anyEstateAfter(ctx.db, { tenant: 'es', status: 'inaktiv' }, e.two)).toBe(false);
    expect(await anyEstateAfter(ctx.db, { status: 'all' }, e.elsewhere)).toBe(false);
  });

  it('estateContactRows gives the estates’ contacts with their addresses, by estate and link', async () => {
    const address = async (last: string) =>
      ((await ctx.db('addresses').insert({ tenant_id: 'es', last_name: last, contact_origin: 'IMV', status: 'Aktiv' }).returning('id')) as { id: number }[])[0]!
        .id;
    const [a, b] = [await address('Muster'), await address('Beispiel')];
    await ctx.db('estate_contacts').insert([
      { estate_id: e.two, address_id: a, role: 'ansprechpartner' },
      { estate_id: e.one, address_id: b, role: 'eigentuemer' },
      { estate_id: e.one, address_id: a, role: 'ansprechpartner' },
      { estate_id: e.active, address_id: a, role: 'ansprechpartner' },
    ]);
    const rows = await estateContactRows(ctx.db, [e.one, e.two]);
    expect(rows.map((r) => [r.estate_id, r.role, r.last_name])).toEqual([
      [e.one, 'eigentuemer', 'Beispiel'],
      [e.one, 'ansprechpartner', 'Muster'],
      [e.two, 'ansprechpartner', 'Muster'],
    ]);
    expect(rows[0]).toMatchObject({ first_name: null, company: null, contact_origin: 'IMV', status: 'Aktiv' });
  });

  it('estateAttachmentRows gives the estates’ attachments by estate and position', async () => {
    await ctx.db('estate_attachments').insert([
      { estate_id: e.one, position: 1, group: 'BILD', title: 'b', sha256: 'f'.repeat(64), size: 10 },
      { estate_id: e.one, position: 0, group: 'TITELBILD', title: 'a', url: 'https://example.org/a.jpg' },
      { estate_id: e.active, position: 0, title: 'not asked for' },
    ]);
    const rows = await estateAttachmentRows(ctx.db, [e.one, e.two]);
    expect(rows.map((r) => [r.estate_id, r.position, r.title])).toEqual([
      [e.one, 0, 'a'],
      [e.one, 1, 'b'],
    ]);
    expect(rows[1]).toMatchObject({ group: 'BILD', sha256: 'f'.repeat(64), size: 10, url: null });
  });

  it('estatesByExternalNumber gives every estate of the tenant with that number', async () => {
    const [one] = await estateRows(ctx.db, { tenant: 'es', status: 'all' }, 1);
    expect(await estatesByExternalNumber(ctx.db, 'es', one!.external_number)).toMatchObject([{ id: e.one, status: 'inaktiv', archived: false }]);
    expect(await estatesByExternalNumber(ctx.db, 'other', one!.external_number)).toEqual([]);
  });

  it('activateEstateRow sets the status to aktiv and the update time', async () => {
    await ctx
      .db('estates')
      .where({ id: e.two })
      .update({ updated_at: hoursAgo(48) });
    await activateEstateRow(ctx.db, e.two);
    const row = await ctx.db('estates').where({ id: e.two }).first();
    expect(row.status).toBe('aktiv');
    expect(row.updated_at.getTime()).toBeGreaterThan(hoursAgo(1).getTime());
  });

  it('publishEstateRow sets the publication and update times', async () => {
    await publishEstateRow(ctx.db, e.active);
    const row = await ctx.db('estates').where({ id: e.active }).first();
    expect(row.published_at.getTime()).toBeGreaterThan(hoursAgo(1).getTime());
    expect(row.updated_at.getTime()).toBeGreaterThan(hoursAgo(1).getTime());
  });
});
