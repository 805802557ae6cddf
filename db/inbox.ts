/**
 * What each tenant's last batch saw in its inbox: when it listed, how many finished uploads were
 * waiting, and the upload time of the oldest. One UPDATE per batch (listTransfers) and one small
 * read per check: the workers export it as gauges (the same values from every worker, whichever ran
 * the batch) and `imv-import status` shows it. Times are the database's (`now()`), as for stuck imports.
 */
import type { Db } from './db';

/** Records a listing of the tenant's inbox: `files` waiting, the oldest uploaded at `oldestMtime` (ISO; null when none). */
export async function recordInboxListing(db: Db, tenant: string, o: { files: number; oldestMtime: string | null }): Promise<void> {
  await db('tenants').where({ id: tenant }).update({ inbox_listed_at: db.fn.now(), inbox_files: o.files, inbox_oldest_mtime: o.oldestMtime });
}

export interface InboxState {
  tenant: string;
  /** The last listing, or null when no batch has listed yet. */
  listedAt: string | null;
  /** The last listing or, before the first, since when the tenant is watched: what "no batch for too long" is measured from. */
  sinceSeconds: number;
  /** Finished uploads waiting at the last listing (0 before the first). */
  files: number;
  /** How long the oldest of them had been waiting when it was listed (0 when none). */
  oldestWaitSeconds: number;
}

/** The inbox state of each tenant in `tenants` that has a row (every configured tenant has one: db.ts syncTenants). */
export async function inboxStates(db: Db, tenants: string[]): Promise<InboxState[]> {
  if (!tenants.length) return [];
  const rows = (await db('tenants')
    .whereIn('id', tenants)
    .orderBy('id')
    .select(
      'id',
      'inbox_listed_at',
      'inbox_files',
      db.raw('extract(epoch from coalesce(inbox_listed_at, inbox_watched_since))::float8 as since_seconds'),
      db.raw('greatest(0, coalesce(extract(epoch from inbox_listed_at - inbox_oldest_mtime), 0))::float8 as oldest_wait_seconds'),
    )) as { id: string; inbox_listed_at: Date | null; inbox_files: number | null; since_seconds: number; oldest_wait_seconds: number }[];
  return rows.map((r) => ({
    tenant: r.id,
    listedAt: r.inbox_listed_at ? new Date(r.inbox_listed_at).toISOString() : null,
    sinceSeconds: Number(r.since_seconds),
    files: r.inbox_files ?? 0,
    oldestWaitSeconds: Math.floor(Number(r.oldest_wait_seconds)),
  }));
}
