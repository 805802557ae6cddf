/** What `imv-import imports` and `imv-import replay` read from the ledger (ops/ledger.ts, ops/replay.ts). */
import type { Db } from './db';
import type { countColumns, ImportRow } from './ledger/row';
import { whereStuck } from './stuck';

/** An `import_files` row with every column ops show (the counts as countColumns names them). */
export interface ImportListRow extends ImportRow, ReturnType<typeof countColumns> {
  started_at: Date;
  finished_at: Date | null;
  run_id: string | null;
  duplicate_of: number | null;
}

/**
 * The newest imports first, at most `limit` (default 20); `tenant`, `status` and `ids` narrow them.
 * `stuckAfterSeconds` given: only the stuck ones (db/stuck.ts), whatever `status` says.
 * Rows as `import_files` holds them (every column).
 */
export async function importRows(
  db: Db,
  o: { tenant?: string; status?: string; limit?: number; ids?: number[]; stuckAfterSeconds?: number },
): Promise<ImportListRow[]> {
  const q = db('import_files')
    .orderBy('id', 'desc')
    .limit(o.limit ?? 20);
  if (o.tenant) q.where({ tenant_id: o.tenant });
  if (o.stuckAfterSeconds !== undefined) whereStuck(q, o.stuckAfterSeconds);
  else if (o.status) q.where({ status: o.status });
  if (o.ids) q.whereIn('id', o.ids);
  return (await q) as ImportListRow[];
}

export interface ImportObjectRow {
  import_id: number;
  position: number;
  source_id: string | null;
  action: string | null;
  outcome: string;
  messages: string[];
}

/** The objects of these imports, by import and position (callers keep `importIds` within the bind-parameter limit). */
export async function importObjectRows(db: Db, importIds: number[]): Promise<ImportObjectRow[]> {
  return db('import_objects').whereIn('import_id', importIds).orderBy(['import_id', 'position']);
}

/** One import's ledger row (every column), or undefined. */
export async function importById(db: Db, importId: number): Promise<ImportListRow | undefined> {
  return (await db('import_files').where({ id: importId }).first()) as ImportListRow | undefined;
}

/**
 * The ids of the tenant's failed imports started within [since, until) (either bound optional),
 * leaving out those a replay has imported since (imported or partial), in id order.
 */
export async function failedImportIdsToReplay(db: Db, o: { tenant: string; since?: Date; until?: Date }): Promise<number[]> {
  const q = db('import_files').where({ tenant_id: o.tenant, status: 'failed' }).orderBy('id');
  if (o.since) q.where('started_at', '>=', o.since);
  if (o.until) q.where('started_at', '<', o.until);
  // A failed import that was already replayed successfully is not replayed again.
  q.whereNotExists(db('import_files as r').whereRaw('r.replay_of = import_files.id').whereIn('r.status', ['imported', 'partial']));
  return (await q.pluck('id')) as number[];
}
