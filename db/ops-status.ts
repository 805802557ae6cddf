/** What `imv-import status` reads from the ledger (ops/status.ts): recent problems and today's estates. */
import type { Db } from './db';

const PROBLEM_STATUSES = ['failed', 'partial', 'error'];

export interface ProblemImportRow {
  id: number;
  file_name: string;
  status: string;
  started_at: Date;
  error_type: string | null;
  error_message: string | null;
  rejected: number | null;
}

/**
 * The tenant's failed, partial and error imports started since `since` that no later replay
 * imported (imported, partial or duplicate): the first 200 by id.
 */
export async function unreplayedProblemImports(db: Db, tenant: string, since: Date): Promise<ProblemImportRow[]> {
  return db('import_files')
    .where({ tenant_id: tenant })
    .whereIn('status', PROBLEM_STATUSES)
    .where('started_at', '>=', since)
    .whereNotExists(db('import_files as r').whereRaw('r.replay_of = import_files.id').whereIn('r.status', ['imported', 'partial', 'duplicate']))
    .orderBy('id')
    .limit(200)
    .select('id', 'file_name', 'status', 'started_at', 'error_type', 'error_message', 'rejected');
}

/** Distinct IMV objects written for the tenant by imports started since `since`, by outcome. */
export async function estateOutcomesSince(db: Db, tenant: string, since: Date): Promise<{ created: number; updated: number; archived: number }> {
  const r = (await db('import_objects as o')
    .join('import_files as f', 'f.id', 'o.import_id')
    .where('f.tenant_id', tenant)
    .where('f.started_at', '>=', since)
    .first(
      db.raw(`count(DISTINCT o.source_id) FILTER (WHERE o.outcome = 'created')::int AS created`),
      db.raw(`count(DISTINCT o.source_id) FILTER (WHERE o.outcome = 'updated')::int AS updated`),
      db.raw(`count(DISTINCT o.source_id) FILTER (WHERE o.outcome = 'archived')::int AS archived`),
    )) as { created: number; updated: number; archived: number } | undefined;
  return { created: r?.created ?? 0, updated: r?.updated ?? 0, archived: r?.archived ?? 0 };
}
