/** db/ops-status.ts against real PostgreSQL: what `imv-import status` reads from the ledger. */
import { describe, expect, it } from 'vitest';
import { estateOutcomesSince, unreplayedProblemImports } from '../../db/ops-status';
import { anImport, hoursAgo, useMigratedDatabase } from '../support/database';

describe('db/ops-status', () => {
  const ctx = useMigratedDatabase(['st', 'other']);

  it('unreplayedProblemImports lists failed, partial and error imports since the time that no replay imported', async () => {
    const since = hoursAgo(24);
    const failed = await anImport(ctx.db, 'st', { status: 'failed', error_type: 'ParseError', error_message: 'bad xml', started_at: hoursAgo(2) });
    const partial = await anImport(ctx.db, 'st', { status: 'partial', rejected: 3, started_at: hoursAgo(2) });
    const error = await anImport(ctx.db, 'st', { status: 'error', started_at: hoursAgo(2) });
    const replayedFailing = await anImport(ctx.db, 'st', { status: 'failed', started_at: hoursAgo(3) });
    const failedAgain = await anImport(ctx.db, 'st', { status: 'failed', replay_of: replayedFailing, started_at: hoursAgo(1) });
    const replayedOk = await anImport(ctx.db, 'st', { status: 'failed', started_at: hoursAgo(3) });
    await anImport(ctx.db, 'st', { status: 'duplicate', replay_of: replayedOk, started_at: hoursAgo(1) });
    await anImport(ctx.db, 'st', { status: 'imported', started_at: hoursAgo(2) });
    await anImport(ctx.db, 'st', { status: 'failed', started_at: hoursAgo(30) });
    await anImport(ctx.db, 'other', { status: 'failed', started_at: hoursAgo(2) });

    const rows = await unreplayedProblemImports(ctx.db, 'st', since);
    // The replay that failed again is itself a problem of the day.
    expect(rows.map((r) => r.id)).toEqual([failed, partial, error, replayedFailing, failedAgain]);
    expect(rows[0]).toMatchObject({ status: 'failed', error_type: 'ParseError', error_message: 'bad xml', started_at: expect.any(Date) });
    expect(rows[1]).toMatchObject({ status: 'partial', rejected: 3 });
  });

  it('estateOutcomesSince counts distinct IMV objects by outcome over the imports started since the time', async () => {
    const since = hoursAgo(5);
    const today1 = await anImport(ctx.db, 'st', { started_at: hoursAgo(1) });
    const today2 = await anImport(ctx.db, 'st', { started_at: hoursAgo(2) });
    const yesterday = await anImport(ctx.db, 'st', { started_at: hoursAgo(30) });
    const elsewhere = await anImport(ctx.db, 'other', { started_at: hoursAgo(1) });
    const objects = [
      [today1, 0, 'A', 'created'],
      [today1, 1, 'B', 'updated'],
      [today2, 0, 'B', 'updated'], // the same object updated twice counts once
      [today2, 1, 'C', 'archived'],
      [today2, 2, 'D', 'unchanged'],
      [yesterday, 0, 'E', 'created'],
      [elsewhere, 0, 'F', 'created'],
    ] as const;
    await ctx.db('import_objects').insert(objects.map(([import_id, position, source_id, outcome]) => ({ import_id, position, source_id, outcome })));
    expect(await estateOutcomesSince(ctx.db, 'st', since)).toEqual({ created: 1, updated: 1, archived: 1 });
    expect(await estateOutcomesSince(ctx.db, 'st', hoursAgo(0))).toEqual({ created: 0, updated: 0, archived: 0 });
  });
});
