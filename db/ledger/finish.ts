/** The ledger's final states: finished, abandoned after finishing failed, or a transient error. */
import { FINAL_STATUSES } from '../../common/statuses';
import type { FileOutcome } from '../../common/messages';
import type { Db } from '../db';

/** How many objects an import still has in staging. */
export async function stagedCount(db: Db, importId: number): Promise<number> {
  const staged = await db('staged_objects').where({ import_id: importId }).count<{ count: number }[]>('* as count');
  return Number(staged[0].count);
}

/** The ledger's final state (these columns), and the staging rows removed, in one statement. */
export async function finishImportRow(db: Db, importId: number, columns: Record<string, unknown>): Promise<void> {
  const final = db('import_files')
    .where({ id: importId })
    .update({ ...columns, finished_at: db.fn.now() })
    .toSQL();
  await db.raw(`WITH cleared AS (DELETE FROM staged_objects WHERE import_id = ?) ${final.sql}`, [importId, ...final.bindings]);
}

/**
 * A row not final yet becomes `failed` with this error and a note (one statement); then its status
 * and tenant are read. A row that is final already keeps its state.
 */
export async function abandonImportRow(
  db: Db,
  importId: number,
  errorType: string,
  message: string,
): Promise<{ updated: number; row: { status: FileOutcome; tenant_id: string } | undefined }> {
  const updated = await db('import_files')
    .where({ id: importId })
    .whereNotIn('status', [...FINAL_STATUSES])
    .update({
      status: 'failed',
      error_type: errorType,
      error_message: `finishing the import failed: ${message}`.slice(0, 2000),
      notes: db.raw('notes || ?::jsonb', [
        JSON.stringify(['the import could not be finished normally (archive, report or ledger): see the error; replay it after fixing the cause']),
      ]),
      finished_at: db.fn.now(),
    });
  const row = await db('import_files').where({ id: importId }).first('status', 'tenant_id');
  return { updated, row };
}

/** A transient failure outlived its retries: a row not final yet gets status `error` (one statement). */
export async function markImportErrorRow(db: Db, importId: number, message: string): Promise<void> {
  await db('import_files')
    .where({ id: importId })
    .whereNotIn('status', [...FINAL_STATUSES])
    .update({ status: 'error', error_type: 'Transient', error_message: message.slice(0, 2000), finished_at: db.fn.now() });
}
