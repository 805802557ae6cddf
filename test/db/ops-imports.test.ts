/** db/ops-imports.ts against real PostgreSQL: what `imv-import imports` and `imv-import replay` read from the ledger. */
import { beforeAll, describe, expect, it } from 'vitest';
import { failedImportIdsToReplay, importById, importObjectRows, importRows } from '../../db/ops-imports';
import { anImport, hoursAgo, useMigratedDatabase } from '../support/database';

describe('db/ops-imports', () => {
  const ctx = useMigratedDatabase(['imp', 'other']);
  let ids: { a: number; b: number; c: number; stuck: number; running: number; elsewhere: number };

  beforeAll(async () => {
    ids = {
      a: await anImport(ctx.db, 'imp', { status: 'imported', created: 2, objects_total: 3 }),
      b: await anImport(ctx.db, 'imp', { status: 'failed', error_type: 'ParseError', error_message: 'bad' }),
      c: await anImport(ctx.db, 'imp', { status: 'imported' }),
      stuck: await anImport(ctx.db, 'imp', { status: 'importing', started_at: hoursAgo(5) }),
      running: await anImport(ctx.db, 'imp', { status: 'importing', started_at: hoursAgo(0.1) }),
      elsewhere: await anImport(ctx.db, 'other', { status: 'imported' }),
    };
  });

  it('importRows gives the newest imports first, at most the limit, narrowed by tenant, status and ids', async () => {
    const all = Object.values(ids);
    expect((await importRows(ctx.db, { ids: all })).map((r) => r.id)).toEqual([ids.elsewhere, ids.running, ids.stuck, ids.c, ids.b, ids.a]);
    expect((await importRows(ctx.db, { ids: all, limit: 2 })).map((r) => r.id)).toEqual([ids.elsewhere, ids.running]);
    expect((await importRows(ctx.db, { tenant: 'imp', status: 'imported' })).map((r) => r.id)).toEqual([ids.c, ids.a]);
    expect((await importRows(ctx.db, { ids: [ids.a, ids.b] })).map((r) => r.id)).toEqual([ids.b, ids.a]);
    const [a] = await importRows(ctx.db, { ids: [ids.a] });
    expect(a).toMatchObject({ tenant_id: 'imp', status: 'imported', created: 2, objects_total: 3, started_at: expect.any(Date), finished_at: null });
  });

  it('importRows with stuckAfterSeconds gives only the imports importing for longer than that', async () => {
    expect((await importRows(ctx.db, { tenant: 'imp', status: 'stuck', stuckAfterSeconds: 3600 })).map((r) => r.id)).toEqual([ids.stuck]);
  });

  it('importObjectRows gives the objects of these imports by import and position', async () => {
    await ctx.db('import_objects').insert([
      { import_id: ids.b, position: 1, source_id: 'y', action: 'UPSERT', outcome: 'rejected', messages: JSON.stringify(['no id']) },
      { import_id: ids.a, position: 1, source_id: 'x2', action: 'UPSERT', outcome: 'updated' },
      { import_id: ids.a, position: 0, source_id: 'x1', action: 'DELETE', outcome: 'archived' },
      { import_id: ids.c, position: 0, source_id: 'z', action: 'UPSERT', outcome: 'created' },
    ]);
    const rows = await importObjectRows(ctx.db, [ids.a, ids.b]);
    expect(rows.map((r) => [r.import_id, r.position, r.source_id, r.outcome])).toEqual([
      [ids.a, 0, 'x1', 'archived'],
      [ids.a, 1, 'x2', 'updated'],
      [ids.b, 1, 'y', 'rejected'],
    ]);
    expect(rows[2]).toMatchObject({ action: 'UPSERT', messages: ['no id'] });
  });

  it('importById gives the ledger row, undefined for an unknown id', async () => {
    expect(await importById(ctx.db, ids.b)).toMatchObject({
      id: ids.b,
      tenant_id: 'imp',
      status: 'failed',
      error_type: 'ParseError',
      workflow_id: expect.any(String),
    });
    expect(await importById(ctx.db, ids.elsewhere + 1000)).toBeUndefined();
  });

  it('failedImportIdsToReplay gives the failed imports within the time range that no replay imported', async () => {
    const t = 'replay';
    await ctx.db('tenants').insert({ id: t, name: t });
    const old = await anImport(ctx.db, t, { status: 'failed', started_at: hoursAgo(48) });
    const recent = await anImport(ctx.db, t, { status: 'failed', started_at: hoursAgo(2) });
    const replayed = await anImport(ctx.db, t, { status: 'failed', started_at: hoursAgo(3) });
    await anImport(ctx.db, t, { status: 'partial', replay_of: replayed });
    const replayFailed = await anImport(ctx.db, t, { status: 'failed', started_at: hoursAgo(4) });
    const again = await anImport(ctx.db, t, { status: 'failed', replay_of: replayFailed, started_at: hoursAgo(1) });
    await anImport(ctx.db, t, { status: 'imported', started_at: hoursAgo(2) });
    await anImport(ctx.db, 'other', { status: 'failed', started_at: hoursAgo(2) });

    expect(await failedImportIdsToReplay(ctx.db, { tenant: t })).toEqual([old, recent, replayFailed, again]);
    expect(await failedImportIdsToReplay(ctx.db, { tenant: t, since: hoursAgo(24) })).toEqual([recent, replayFailed, again]);
    expect(await failedImportIdsToReplay(ctx.db, { tenant: t, since: hoursAgo(24), until: hoursAgo(1.5) })).toEqual([recent, replayFailed]);
  });
});
