/** db/ledger/fetch.ts against real PostgreSQL: a fetched file's hash recorded, and whether it duplicates an earlier import. */
import { beforeAll, describe, expect, it } from 'vitest';
import { recordFetched } from '../../../db/ledger/fetch';
import { insertImport, insertTenant, useDatabase } from '../../support/database';

const pg = useDatabase();
const row = async (tenant: string, values: Record<string, unknown> = {}) => {
  const id = await insertImport(pg.db, tenant, values);
  return { id, tenant_id: tenant, replay_of: (values.replay_of as number | undefined) ?? null };
};

beforeAll(async () => {
  await insertTenant(pg.db, 't');
  await insertTenant(pg.db, 'u');
});

describe('recordFetched', () => {
  it('records the hash and size; the first import of a content is no duplicate', async () => {
    const first = await row('t');
    expect(await recordFetched(pg.db, first, 'h-first', 10)).toBeNull();
    expect(await pg.db('import_files').where({ id: first.id }).first('sha256', 'size', 'duplicate_of')).toEqual({
      sha256: 'h-first',
      size: 10,
      duplicate_of: null,
    });
  });

  it('a second import of the same content is a duplicate of the first, even while that one still imports', async () => {
    const original = await row('t');
    await recordFetched(pg.db, original, 'h-dup', 10);
    const copy = await row('t');
    expect(await recordFetched(pg.db, copy, 'h-dup', 10)).toBe(original.id);
    expect(await pg.db('import_files').where({ id: copy.id }).first('duplicate_of')).toEqual({ duplicate_of: original.id });
  });

  it('a retried fetch of the same content gets the answer it got before', async () => {
    const original = await row('t');
    await recordFetched(pg.db, original, 'h-retry', 10);
    const copy = await row('t');
    expect(await recordFetched(pg.db, copy, 'h-retry', 10)).toBe(original.id);
    // The original fails meanwhile: the copy's recorded answer stands.
    await pg.db('import_files').where({ id: original.id }).update({ status: 'failed' });
    expect(await recordFetched(pg.db, copy, 'h-retry', 10)).toBe(original.id);
  });

  it('a replay, an earlier failed import or another tenant’s import makes no duplicate', async () => {
    const original = await row('t');
    await recordFetched(pg.db, original, 'h-other', 10);
    expect(await recordFetched(pg.db, await row('t', { replay_of: original.id }), 'h-other', 10)).toBeNull();
    expect(await recordFetched(pg.db, await row('u'), 'h-other', 10)).toBeNull();
    const failed = await row('t', { status: 'failed' });
    await recordFetched(pg.db, failed, 'h-failed', 10);
    expect(await recordFetched(pg.db, await row('t'), 'h-failed', 10)).toBeNull();
  });
});
