/**
 * The statements of the `postgres` file store (store/pg-store.ts) and of its garbage collection
 * (store/gc.ts): `store_blobs` (sha256, id, size, chunks, created_at, used_at) says what is stored,
 * `store_chunks` (blob_id, seq, data) holds the content in chunks.
 *
 * Safe beside garbage collection: every insert of a `store_blobs` row ends in OR_TOUCH, so a put
 * that finds its content stored marks it used in the same statement that finds it, which locks the
 * row. The collector's DELETE re-checks `used_at` in its WHERE (removeBlob), so under READ COMMITTED
 * either the put's touch commits first and the DELETE, re-reading the row, keeps it; or the DELETE
 * commits first and the put's insert, re-checking the conflict, writes the content anew.
 */
import type { Db, Transaction } from './db';

/** The sha256 of a stored blob, its size and when it was last stored or touched. */
export interface BlobRow {
  sha256: string;
  size: number;
  used_at: Date;
}

/**
 * A blob's commit does not wait for its WAL flush. Whatever refers to a blob (the ledger's hash, an
 * attachment row) is committed later with the default synchronous commit, and flushing that commit
 * flushes the WAL before it, the blob's included: a crash can lose only blobs nothing refers to yet
 * (their step is retried). Saves a disk flush per stored picture.
 */
const ASYNC_COMMIT = 'SET LOCAL synchronous_commit TO OFF';

/**
 * Ends every insert of a `store_blobs` row: when the hash is stored already, the existing row is marked
 * used instead (and `RETURNING` gives its id). Finding and touching are one statement on a locked row:
 * see the header.
 */
const OR_TOUCH = 'ON CONFLICT (sha256) DO UPDATE SET used_at = now()';

/** The blob's size, or null when it is not stored. */
export async function blobSize(db: Db, sha256: string): Promise<number | null> {
  const row = (await db('store_blobs').where({ sha256 }).first('size')) as { size: number } | undefined;
  return row ? Number(row.size) : null;
}

/** Marks the blob used now; false when it is not stored. */
export async function touchBlob(db: Db, sha256: string): Promise<boolean> {
  return (await db('store_blobs').where({ sha256 }).update({ used_at: db.fn.now() })) > 0;
}

/** The blob's id and how many chunks it has, or undefined when it is not stored. */
export async function findBlob(db: Db, sha256: string): Promise<{ id: number; chunks: number } | undefined> {
  return (await db('store_blobs').where({ sha256 }).first('id', 'chunks')) as { id: number; chunks: number } | undefined;
}

/**
 * One chunk, as base64 text: bytea's default text form (hex) doubles the bytes on the wire (reading
 * was 10–50% slower with it here); node-postgres cannot receive binary results. Null when it is gone.
 */
export async function readBlobChunk(db: Db, blobId: number, seq: number): Promise<Buffer | null> {
  const r = await db.raw(`SELECT encode(data, 'base64') AS data FROM store_chunks WHERE blob_id = ? AND seq = ?`, [blobId, seq]);
  const row = r.rows[0] as { data: string } | undefined;
  return row ? Buffer.from(row.data, 'base64') : null;
}

/** Removes the blob (its chunks go with it), only if it was last used before `unusedSince` when that is given. */
export async function removeBlob(db: Db, sha256: string, unusedSince?: Date): Promise<boolean> {
  const q = db('store_blobs').where({ sha256 });
  if (unusedSince) q.where('used_at', '<', unusedSince);
  return (await q.delete()) > 0;
}

/** The next `limit` stored blobs in sha256 order after `after` ('' for the first page). */
export async function blobsAfter(db: Db, after: string, limit: number): Promise<BlobRow[]> {
  const page = (await db('store_blobs').where('sha256', '>', after).orderBy('sha256').limit(limit).select('sha256', 'size', 'used_at')) as BlobRow[];
  return page.map((r) => ({ sha256: r.sha256, size: Number(r.size), used_at: r.used_at }));
}

/**
 * Content of at most one chunk (`data` may be empty): one statement, in a transaction only for its
 * commit mode, which only marks the blob used when it is stored already.
 */
export async function putSmallBlob(db: Db, sha256: string, data: Buffer): Promise<void> {
  await db.transaction(async (trx) => {
    await trx.raw(ASYNC_COMMIT);
    await insertSmall(trx, sha256, data);
  });
}

async function insertSmall(trx: Transaction, sha256: string, data: Buffer): Promise<void> {
  if (!data.length) {
    await trx.raw(`INSERT INTO store_blobs (sha256, size, chunks) VALUES (?, 0, 0) ${OR_TOUCH}`, [sha256]);
    return;
  }
  // The row (or the existing one, marked used) and its one chunk in one statement: the id is drawn
  // first, and the chunk is written only when the row that comes back has that id (the row is new).
  await trx.raw(
    `WITH n AS (SELECT nextval('store_blob_ids') AS id),
     b AS (INSERT INTO store_blobs (sha256, id, size, chunks) SELECT ?, id, ?, 1 FROM n ${OR_TOUCH} RETURNING id)
     INSERT INTO store_chunks (blob_id, seq, data) SELECT id, 0, ? FROM b JOIN n USING (id)`,
    [sha256, data.length, data],
  );
}

/**
 * Content of several chunks, written as they come, in one transaction (the chunks' foreign key is
 * checked at commit): never half visible, and a source that fails midway rolls it all back.
 * `sha256Of` is asked once every chunk is written. Stored already: the final insert marks the
 * existing blob used (and holds its row until the commit), and the chunks written here are dropped
 * in the same transaction. Rolling back and touching afterwards would leave a gap in which garbage
 * collection could remove the blob.
 */
export async function putChunkedBlob(db: Db, chunks: AsyncIterable<Buffer>, sha256Of: () => string): Promise<{ sha256: string; size: number }> {
  const stored = { sha256: '', size: 0 };
  await db.transaction(async (trx) => {
    await trx.raw(ASYNC_COMMIT);
    const id = Number((await trx.raw(`SELECT nextval('store_blob_ids') AS id`)).rows[0].id);
    let seq = 0;
    for await (const data of chunks) {
      await trx.raw('INSERT INTO store_chunks (blob_id, seq, data) VALUES (?, ?, ?)', [id, seq++, data]);
      stored.size += data.length;
    }
    stored.sha256 = sha256Of();
    const published = await trx.raw(`INSERT INTO store_blobs (sha256, id, size, chunks) VALUES (?, ?, ?, ?) ${OR_TOUCH} RETURNING id`, [
      stored.sha256,
      id,
      stored.size,
      seq,
    ]);
    if (Number(published.rows[0].id) !== id) await trx.raw('DELETE FROM store_chunks WHERE blob_id = ?', [id]);
  });
  return stored;
}

/**
 * Which of the hashes an estate's attachments or an import within the retention refer to: an
 * import started or finished since `retainFrom`, or still importing.
 */
export async function referencedBlobs(db: Db, hashes: string[], retainFrom: Date): Promise<Set<string>> {
  if (!hashes.length) return new Set();
  const r = await db.raw(
    `SELECT s.sha256 FROM unnest(?::text[]) AS s(sha256)
      WHERE EXISTS (SELECT 1 FROM estate_attachments a WHERE a.sha256 = s.sha256)
         OR EXISTS (SELECT 1 FROM import_files f WHERE f.sha256 = s.sha256
                     AND (f.status = 'importing' OR greatest(f.started_at, f.finished_at) >= ?))`,
    [hashes, retainFrom],
  );
  return new Set((r.rows as { sha256: string }[]).map((x) => x.sha256));
}
