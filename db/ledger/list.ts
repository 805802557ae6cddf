/** The lister's question to the ledger: which of these workflow ids have a final row already. */
import { FINAL_STATUSES } from '../../common/statuses';
import type { Db } from '../db';

/** Of these file workflow ids, those whose ledger row is final: one query per 1,000 ids (bind-parameter limit). */
export async function finishedWorkflowIds(db: Db, ids: string[]): Promise<Set<string>> {
  const finished = new Set<string>();
  for (let i = 0; i < ids.length; i += 1000) {
    const rows = (await db('import_files')
      .whereIn('workflow_id', ids.slice(i, i + 1000))
      .whereIn('status', [...FINAL_STATUSES])
      .pluck('workflow_id')) as string[];
    for (const id of rows) finished.add(id);
  }
  return finished;
}
