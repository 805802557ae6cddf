/** Recording a fetched file's content in the ledger, and whether it duplicates an earlier import. */
import type { Db } from '../db';
import type { ImportRow } from './row';

/**
 * Whether this content was imported already is decided once, under a lock on (tenant, content),
 * and recorded together with the hash: of two copies fetched at the same time (one batch, two
 * names) exactly one is the original, even while it is still importing, and a retried fetch
 * gets the answer it got before. A replay is never a duplicate. Returns the original's id or null.
 */
export async function recordFetched(
  db: Db,
  row: Pick<ImportRow, 'id' | 'tenant_id' | 'replay_of'>,
  sha256: string | null,
  size: number,
): Promise<number | null> {
  const importId = row.id;
  return db.transaction(async (trx) => {
    await trx.raw("SELECT pg_advisory_xact_lock(hashtext('imv-import:content:' || ? || ':' || ?))", [row.tenant_id, sha256]);
    // After the lock (a statement of its own, so it sees what the lock's previous holder wrote):
    // a row that has this hash already keeps its answer; otherwise the original is looked up.
    const original =
      row.replay_of == null
        ? db.raw(
            `(SELECT o.id FROM import_files o WHERE o.tenant_id = ? AND o.sha256 = ? AND o.status IN ('imported', 'partial', 'importing') AND o.duplicate_of IS NULL AND o.id <> ? ORDER BY o.id LIMIT 1)`,
            [row.tenant_id, sha256, importId],
          )
        : null;
    const [updated] = (await trx('import_files')
      .where({ id: importId })
      .update({
        duplicate_of: trx.raw('CASE WHEN import_files.sha256 IS NOT DISTINCT FROM ? THEN import_files.duplicate_of ELSE ? END', [sha256, original]),
        sha256,
        size,
      })
      .returning(['duplicate_of'])) as { duplicate_of: number | null }[];
    return updated?.duplicate_of ?? null;
  });
}
