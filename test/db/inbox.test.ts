/** db/inbox.ts against real PostgreSQL: a listing recorded, and the inbox states read back. */
import { describe, expect, it } from 'vitest';
import { inboxStates, recordInboxListing } from '../../db/inbox';
import { insertTenant, useDatabase } from '../support/database';

const pg = useDatabase();

describe('recordInboxListing', () => {
  it('stores when the inbox was listed, how many files waited and the oldest upload time', async () => {
    await insertTenant(pg.db, 'rec');
    await recordInboxListing(pg.db, 'rec', { files: 3, oldestMtime: '2026-01-01T10:00:00.000Z' });
    const row = await pg.db('tenants').where({ id: 'rec' }).first('inbox_listed_at', 'inbox_files', 'inbox_oldest_mtime');
    expect(row.inbox_files).toBe(3);
    expect(row.inbox_oldest_mtime.toISOString()).toBe('2026-01-01T10:00:00.000Z');
    expect(row.inbox_listed_at).toBeInstanceOf(Date);
  });
});

describe('inboxStates', () => {
  it('is empty for no tenants', async () => {
    expect(await inboxStates(pg.db, [])).toEqual([]);
  });

  it('before a listing: none listed, no files, measured from when the tenant is watched', async () => {
    await insertTenant(pg.db, 'never');
    await pg
      .db('tenants')
      .where({ id: 'never' })
      .update({ inbox_watched_since: new Date('2026-02-01T00:00:00Z') });
    expect(await inboxStates(pg.db, ['never'])).toEqual([
      { tenant: 'never', listedAt: null, sinceSeconds: Date.parse('2026-02-01T00:00:00Z') / 1000, files: 0, oldestWaitSeconds: 0 },
    ]);
  });

  it('after a listing: its time, its files and how long the oldest had waited, for the tenants asked, by id', async () => {
    await insertTenant(pg.db, 'b-listed');
    await insertTenant(pg.db, 'a-listed');
    await insertTenant(pg.db, 'not-asked');
    const listed = { inbox_listed_at: new Date('2026-03-01T12:00:00Z'), inbox_files: 2, inbox_oldest_mtime: new Date('2026-03-01T11:59:00.500Z') };
    await pg.db('tenants').whereIn('id', ['a-listed', 'b-listed']).update(listed);
    await pg.db('tenants').where({ id: 'a-listed' }).update({ inbox_files: 0, inbox_oldest_mtime: null });
    expect(await inboxStates(pg.db, ['b-listed', 'a-listed'])).toEqual([
      { tenant: 'a-listed', listedAt: '2026-03-01T12:00:00.000Z', sinceSeconds: Date.parse('2026-03-01T12:00:00Z') / 1000, files: 0, oldestWaitSeconds: 0 },
      { tenant: 'b-listed', listedAt: '2026-03-01T12:00:00.000Z', sinceSeconds: Date.parse('2026-03-01T12:00:00Z') / 1000, files: 2, oldestWaitSeconds: 59 },
    ]);
  });
});
