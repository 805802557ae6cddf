/** Opening a file's ledger row (beginImport). */
import { FINAL_STATUSES } from '../../common/statuses';
import type { Db } from '../db';
import { emptyCounts, type ObjectCounts } from '../../common/messages';
import { countColumns, countsOfRow, type ImportRow } from './row';

export interface BegunRow {
  id: number;
  file_name: string;
  size: number;
  /** A new row (not the workflow's row again). */
  inserted: boolean;
}

/**
 * One statement: a new row, or the workflow's row again (a retried begin, a new run) back to
 * importing. A final row is left as it is: then nothing is returned (read it with {@link finalImportOf}).
 */
export async function upsertImport(db: Db, values: Record<string, unknown>, workflowId: string, runId: string): Promise<BegunRow | undefined> {
  const final = [...FINAL_STATUSES];
  const upserted = (await db('import_files')
    .insert({ ...values, workflow_id: workflowId, run_id: runId, status: 'importing' })
    .onConflict('workflow_id')
    .merge({
      status: 'importing',
      run_id: runId,
      attempts: db.raw('import_files.attempts + 1'),
      error_type: null,
      error_message: null,
      started_at: db.fn.now(),
      finished_at: null,
    })
    .whereNotIn('import_files.status', final)
    .returning(['id', 'file_name', 'size', db.raw('(xmax = 0) AS inserted')])) as BegunRow[];
  return upserted[0];
}

/** The workflow's row that {@link upsertImport} left as it was: final already, with the counts it ended with. */
export async function finalImportOf(db: Db, workflowId: string): Promise<Pick<ImportRow, 'id' | 'file_name' | 'size' | 'status'> & { counts: ObjectCounts }> {
  const row = (await db('import_files')
    .where({ workflow_id: workflowId })
    .first('id', 'file_name', 'size', 'status', ...Object.keys(countColumns(emptyCounts())))) as Pick<ImportRow, 'id' | 'file_name' | 'size' | 'status'> &
    Record<string, unknown>;
  return { id: row.id, file_name: row.file_name, size: row.size, status: row.status, counts: countsOfRow(row) };
}
