/** db/stuck.ts against real PostgreSQL: imports still `importing` long after their start, found and counted. */
import { beforeAll, describe, expect, it } from 'vitest';
import { countStuckImports, findStuckImports, whereStuck } from '../../db/stuck';
import { insertImport, insertTenant, useDatabase } from '../support/database';

const pg = useDatabase();
const HOUR = 3600;
const ago = (seconds: number) => pg.db.raw(`now() - interval '${seconds} seconds'`);
const id: Record<string, number> = {};

beforeAll(async () => {
  await insertTenant(pg.db, 'a');
  await insertTenant(pg.db, 'b');
  id.oldest = await insertImport(pg.db, 'a', { started_at: ago(5 * HOUR), file_name: 'oldest.xml' });
  id.old = await insertImport(pg.db, 'b', { started_at: ago(3 * HOUR) });
  id.recent = await insertImport(pg.db, 'a', { started_at: ago(10) });
  id.done = await insertImport(pg.db, 'a', { started_at: ago(5 * HOUR), status: 'imported' });
});

describe('whereStuck', () => {
  it('restricts a query to the rows importing for longer than the limit', async () => {
    expect(
      await whereStuck(pg.db('import_files'), 2 * HOUR)
        .orderBy('id')
        .pluck('id'),
    ).toEqual([id.oldest, id.old]);
  });
});

describe('findStuckImports', () => {
  it('lists the stuck imports oldest first, with file name, workflow, start and age', async () => {
    const stuck = await findStuckImports(pg.db, { stuckAfterSeconds: 2 * HOUR });
    expect(stuck.map((s) => s.id)).toEqual([id.oldest, id.old]);
    const [first] = stuck;
    expect(first).toMatchObject({ tenant: 'a', file: 'oldest.xml', workflowId: expect.stringMatching(/^import-file\/a\//) });
    expect(first!.ageSeconds).toBeGreaterThanOrEqual(5 * HOUR);
    expect(first!.ageSeconds).toBeLessThan(6 * HOUR);
    expect(Date.now() - Date.parse(first!.startedAt)).toBeGreaterThanOrEqual(5 * HOUR * 1000 - 60_000);
  });

  it('keeps to the tenants, the ids and the limit asked for', async () => {
    const ids = async (o: object) => (await findStuckImports(pg.db, { stuckAfterSeconds: 2 * HOUR, ...o })).map((s) => s.id);
    expect(await ids({ tenants: ['b'] })).toEqual([id.old]);
    expect(await ids({ ids: [id.old, id.recent, id.done] })).toEqual([id.old]);
    expect(await ids({ limit: 1 })).toEqual([id.oldest]);
  });

  it('finds the recent import only with a shorter limit', async () => {
    expect((await findStuckImports(pg.db, { stuckAfterSeconds: 1, tenants: ['a'] })).map((s) => s.id)).toEqual([id.oldest, id.recent]);
  });
});

describe('countStuckImports', () => {
  it('counts the stuck imports of every tenant asked for, 0 when none', async () => {
    expect(await countStuckImports(pg.db, { stuckAfterSeconds: 2 * HOUR, tenants: ['a', 'b', 'c'] })).toEqual(
      new Map([
        ['a', 1],
        ['b', 1],
        ['c', 0],
      ]),
    );
    expect(await countStuckImports(pg.db, { stuckAfterSeconds: 2 * HOUR, tenants: [] })).toEqual(new Map());
  });
});
