/** db/ledger/apply.ts against real PostgreSQL: the ledger row read under the tenant's lock, with the active users. */
import { expect, it } from 'vitest';
import { lockedImport } from '../../../db/ledger/apply';
import { insertImport, insertTenant, useDatabase } from '../../support/database';

const pg = useDatabase();

it('reads the row and the tenant’s active users, holding the tenant’s lock until the transaction ends', async () => {
  await insertTenant(pg.db, 't', ['anna', 'bert', 'carl']);
  await pg.db('users').where({ tenant_id: 't', user_name: 'bert' }).update({ active: false });
  const importId = await insertImport(pg.db, 't');
  const lockFree = () =>
    pg.db.transaction(async (trx) => (await trx.raw("SELECT pg_try_advisory_xact_lock(hashtext('imv-import:t')) AS got")).rows[0].got as boolean);

  await pg.db.transaction(async (trx) => {
    const { imp, users } = await lockedImport(trx, importId);
    expect(imp).toMatchObject({ id: importId, tenant_id: 't', status: 'importing' });
    expect([...users].sort()).toEqual(['anna', 'carl']);
    expect(await lockFree()).toBe(false);
  });
  expect(await lockFree()).toBe(true);
});

it('fails for good (UnknownImport) for an id the ledger does not have', async () => {
  await expect(pg.db.transaction((trx) => lockedImport(trx, 999_999))).rejects.toMatchObject({ type: 'UnknownImport', nonRetryable: true });
});
