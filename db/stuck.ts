/**
 * Stuck imports: ledger rows still in status `importing` long after their start. A file workflow
 * that was terminated, reset or lost leaves its row there; nothing else would ever show it. The
 * CLI (`imports`, `imports --status stuck`, `replay`) and the worker's periodic check (log line and
 * the `imv_import_stuck_imports` gauge) all use the one definition here.
 *
 * Age is measured on the database's clock (`now() - started_at`), so hosts with skewed clocks agree.
 */
import type { Knex } from 'knex';
import type { Db } from './db';

/** Two hours: far beyond what a healthy file takes (a 10,000-object file imports in well under a minute). */
export const DEFAULT_STUCK_AFTER_SECONDS = 2 * 3600;

export interface StuckImport {
  id: number;
  tenant: string;
  /** The file name only (no folder). */
  file: string;
  workflowId: string;
  startedAt: string;
  ageSeconds: number;
}

/** Restricts a query on `import_files` to the stuck rows. */
export function whereStuck<Q extends Knex.QueryBuilder>(q: Q, stuckAfterSeconds: number): Q {
  return q.where('import_files.status', 'importing').whereRaw('import_files.started_at < now() - make_interval(secs => ?)', [stuckAfterSeconds]) as Q;
}

/** The stuck imports, oldest first; `tenants`/`ids` limit them to these; at most `limit` rows (default 1,000). */
export async function findStuckImports(db: Db, o: { stuckAfterSeconds: number; tenants?: string[]; ids?: number[]; limit?: number }): Promise<StuckImport[]> {
  const q = whereStuck(db('import_files'), o.stuckAfterSeconds)
    .select('id', 'tenant_id', 'file_name', 'workflow_id', 'started_at', db.raw('floor(extract(epoch from now() - started_at))::bigint as age_seconds'))
    .orderBy([{ column: 'started_at' }, { column: 'id' }])
    .limit(o.limit ?? 1000);
  if (o.tenants) q.whereIn('tenant_id', o.tenants);
  if (o.ids) q.whereIn('id', o.ids);
  const rows = await q;
  return rows.map((r) => ({
    id: r.id,
    tenant: r.tenant_id,
    file: r.file_name,
    workflowId: r.workflow_id,
    startedAt: new Date(r.started_at).toISOString(),
    ageSeconds: Number(r.age_seconds),
  }));
}

/** How many imports are stuck per tenant (every tenant in `tenants` appears, with 0 when none). */
export async function countStuckImports(db: Db, o: { stuckAfterSeconds: number; tenants: string[] }): Promise<Map<string, number>> {
  const counts = new Map(o.tenants.map((t) => [t, 0]));
  if (!o.tenants.length) return counts;
  const rows = (await whereStuck(db('import_files'), o.stuckAfterSeconds)
    .whereIn('tenant_id', o.tenants)
    .groupBy('tenant_id')
    .select('tenant_id')
    .count({ n: '*' })) as unknown as {
    tenant_id: string;
    n: number | string;
  }[];
  for (const r of rows) counts.set(String(r.tenant_id), Number(r.n));
  return counts;
}
