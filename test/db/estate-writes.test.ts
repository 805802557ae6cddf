/** db/estates.ts's writePlannedEstates against real PostgreSQL: an apply chunk's planned estates written once each. */
import { describe, expect, it } from 'vitest';
import { inTransaction } from '../../db/db';
import { writePlannedEstates } from '../../db/estates';
import type { EstateColumns } from '../../domain/estate';
import type { PlannedEstate } from '../../domain/plan-chunk';
import { anEstate, anImport, hoursAgo, useMigratedDatabase } from '../support/database';

/** The columns a planned estate with data carries (those the table requires, and a title). */
const columns = (title: string, importId: number) =>
  ({
    user_name: 'skoch',
    warning_note: 'IMV Import',
    title,
    fields: { title },
    data: { raw: title },
    content_hash: `hash of ${title}`,
    last_import_id: importId,
  }) as unknown as EstateColumns;

describe('db/estates: writePlannedEstates', () => {
  const ctx = useMigratedDatabase(['ew']);
  const estate = (sourceId: string) => ctx.db('estates').where({ tenant_id: 'ew', source: 'IMV', source_id: sourceId }).first();

  it('inserts new estates inaktiv with their external number, updates stored ones but never their status, archives the archive-only ones, and returns every id', async () => {
    const importId = await anImport(ctx.db, 'ew');
    const stored = await anEstate(ctx.db, 'ew', { source_id: 'stored', external_number: 'CRM-7', status: 'aktiv', title: 'old', updated_at: hoursAgo(48) });
    const toArchive = await anEstate(ctx.db, 'ew', { source_id: 'gone' });
    const untouched = await anEstate(ctx.db, 'ew', { source_id: 'unchanged' });
    const planned = new Map<string, PlannedEstate>([
      ['new', { columns: columns('new one', importId), archived: false, reference: true, isNew: true }],
      ['stored', { columns: columns('new title', importId), archived: false, reference: false, isNew: false }],
      ['gone', { columns: null, archived: true, reference: false, isNew: false }],
    ]);
    const storedIds = new Map([
      ['stored', stored],
      ['gone', toArchive],
      ['unchanged', untouched],
    ]);

    const ids = await inTransaction(ctx.db, (trx) => writePlannedEstates(trx, 'ew', importId, planned, storedIds));

    const created = await estate('new');
    expect(created).toMatchObject({ status: 'inaktiv', external_number: 'IMVO-ID-new', title: 'new one', reference: true, archived: false, archived_at: null });
    expect(created.fields).toEqual({ title: 'new one' });
    expect(created.data).toEqual({ raw: 'new one' });
    expect(await estate('stored')).toMatchObject({ id: stored, status: 'aktiv', external_number: 'CRM-7', title: 'new title', last_import_id: importId });
    expect((await estate('stored')).updated_at.getTime()).toBeGreaterThan(hoursAgo(1).getTime());
    expect(await estate('gone')).toMatchObject({ archived: true, last_import_id: importId, archived_at: expect.any(Date) });
    expect(await estate('unchanged')).toMatchObject({ archived: false, last_import_id: null });
    expect(ids).toEqual(
      new Map([
        ['stored', stored],
        ['gone', toArchive],
        ['unchanged', untouched],
        ['new', Number(created.id)],
      ]),
    );
  });

  it('archives an estate planned with data and archived, in the same upsert', async () => {
    const importId = await anImport(ctx.db, 'ew');
    const planned = new Map<string, PlannedEstate>([
      ['archived-new', { columns: columns('archived on arrival', importId), archived: true, reference: false, isNew: true }],
    ]);
    await inTransaction(ctx.db, (trx) => writePlannedEstates(trx, 'ew', importId, planned, new Map()));
    expect(await estate('archived-new')).toMatchObject({ archived: true, archived_at: expect.any(Date), title: 'archived on arrival' });
  });
});
