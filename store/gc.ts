/**
 * Garbage collection of the file store. A blob is removed only when all of these hold:
 * - no import within the retention references it as its transfer (`import_files.sha256` of an import
 *   started or finished within `retentionDays`, or still importing): replay needs those;
 * - no estate has it as an attachment (`estate_attachments`, archived estates included: they are
 *   kept for audit and may be restored);
 * - it was not stored or touched within the grace period (`graceHours`, default a day): an import
 *   that is under way stores content before the ledger or an estate refers to it, and fetch touches
 *   what it is about to read again. The removal itself re-checks the time (store.remove), so content
 *   touched while the collection runs stays.
 */
import type { Db } from '../db/db';
import { referencedBlobs } from '../db/blobs';
import type { FileStore, StoredBlob } from './file-store';

export interface GcOptions {
  retentionDays: number;
  graceHours?: number;
  now?: Date;
  /** Count what would be removed, remove nothing. */
  dryRun?: boolean;
  /** Called after each batch of blobs (activities heartbeat here). */
  onProgress?: (examined: number) => void;
}

export interface GcResult {
  examined: number;
  removed: number;
  removedBytes: number;
  /** Referenced by an import within the retention or by an estate's attachments. */
  referenced: number;
  /** Stored or touched within the grace period. */
  recent: number;
}

const BATCH = 500;
const DAY_MS = 24 * 3600_000;

export async function collectGarbage(db: Db, store: FileStore, o: GcOptions): Promise<GcResult> {
  const now = o.now ?? new Date();
  const retainFrom = new Date(now.getTime() - o.retentionDays * DAY_MS);
  const unusedSince = new Date(now.getTime() - (o.graceHours ?? 24) * 3600_000);
  const result: GcResult = { examined: 0, removed: 0, removedBytes: 0, referenced: 0, recent: 0 };
  let batch: StoredBlob[] = [];
  const flush = async () => {
    const kept = await referencedBlobs(
      db,
      batch.map((b) => b.sha256),
      retainFrom,
    );
    for (const b of batch) {
      if (kept.has(b.sha256)) result.referenced++;
      else if (o.dryRun || (await store.remove(b.sha256, unusedSince))) {
        result.removed++;
        result.removedBytes += b.size;
      } else result.recent++;
    }
    batch = [];
    o.onProgress?.(result.examined);
  };
  for await (const b of store.list()) {
    result.examined++;
    if (b.usedAt >= unusedSince) result.recent++;
    else batch.push(b);
    if (batch.length >= BATCH) await flush();
  }
  await flush();
  return result;
}
