/** The ledger row as the apply steps read it: under the tenant's lock, with the tenant's active users. */
import type { Knex } from 'knex';
import { unknownImport, type ImportRow } from './row';

/**
 * The ledger row, the tenant's lock and its active users in one round trip. The lock is taken
 * before anything this chunk reads to decide: the row and the users (what this statement read
 * before the lock was granted) do not change while a file is applied.
 */
export async function lockedImport(trx: Knex.Transaction, importId: number): Promise<{ imp: ImportRow; users: Set<string> }> {
  const r = await trx.raw(
    `SELECT i.*, pg_advisory_xact_lock(hashtext('imv-import:' || i.tenant_id)) AS locked,
              ARRAY(SELECT u.user_name FROM users u WHERE u.tenant_id = i.tenant_id AND u.active) AS active_users
         FROM import_files i WHERE i.id = ?`,
    [importId],
  );
  const row = r.rows[0] as (ImportRow & { active_users: string[] }) | undefined;
  if (!row) throw unknownImport(importId);
  return { imp: row, users: new Set(row.active_users) };
}
