/** What the workers' metrics read from the ledger about a finished import: its tenant and how long it took. */
import type { Db } from '../db';

/**
 * The import's tenant and the seconds since it started, on the database's clock
 * (`clock_timestamp()`: the time of the read, not of a transaction); undefined when there is no such import.
 */
export async function importTenantAndAge(db: Db, importId: number): Promise<{ tenant: string; seconds: number } | undefined> {
  const row = await db('import_files')
    .where({ id: importId })
    .first('tenant_id', db.raw('extract(epoch from (clock_timestamp() - started_at))::float8 as seconds'));
  return row ? { tenant: row.tenant_id as string, seconds: Number(row.seconds) } : undefined;
}
