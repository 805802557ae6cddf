/**
 * The `postgres` file store: blobs in the CRM/ledger database every worker already shares, so
 * workers on several machines need no shared disk (docs/design.md §5, issue 10).
 *
 * - `store_blobs` (sha256, id, size, chunks, created_at, used_at) says what is stored;
 *   `store_chunks` (blob_id, seq, data) holds the content in 1 MiB bytea chunks.
 * - Streamed: chunks are written as they arrive and read one at a time, so neither a put nor a get
 *   holds more than a chunk or two of a 200 MB transfer in memory.
 * - Never half visible: a blob's chunks and its `store_blobs` row are written in one transaction
 *   (the chunks' foreign key is checked at commit); a stream that fails midway rolls it all back.
 * - De-duplicated: the row is keyed by sha256. Content known up front (or shorter than a chunk) is
 *   one statement that writes nothing but the used time when the row exists; a longer stream that
 *   turns out to be stored already drops its own chunks, and the existing blob is marked used.
 * - Safe beside garbage collection: a put that finds its content stored marks it used in the same
 *   statement that finds it (`ON CONFLICT … DO UPDATE SET used_at`), which locks the row. The
 *   collector's DELETE re-checks `used_at` in its WHERE (store.remove), so under READ COMMITTED
 *   either the put's touch commits first and the DELETE, re-reading the row, keeps it; or the DELETE
 *   commits first and the put's insert, re-checking the conflict, writes the content anew. There is
 *   no moment between "it exists" and "it is marked used" for a removal to fall into.
 * Random-access readers (ZIP) get a local copy in this host's scratch folder (store/local-copies.ts).
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Knex } from 'knex';
import type { Db } from '../db/db';
import { removeOldFiles } from './fs-store';
import { LocalCopies } from './local-copies';
import { assertSha256, NotStoredError, type FileStore, type LocalCopy, type Stored, type StoredBlob } from './file-store';

export const CHUNK_BYTES = 1024 * 1024;

export class PgFileStore implements FileStore {
  readonly kind = 'postgres' as const;
  private readonly copies: LocalCopies;

  /** `scratchDir`: this host's folder for local copies (never shared). */
  constructor(
    private readonly db: Db,
    readonly scratchDir: string,
    private readonly chunkBytes = CHUNK_BYTES,
  ) {
    // A folder per store (a worker has one; a test process may have several): named by the pid, so a
    // later start can tell whose process is gone.
    this.copies = new LocalCopies(path.join(scratchDir, 'copies', `${process.pid}-${randomUUID()}`));
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.size(sha256)) !== null;
  }

  async size(sha256: string): Promise<number | null> {
    const row = (await this.db('store_blobs')
      .where({ sha256: assertSha256(sha256) })
      .first('size')) as { size: number } | undefined;
    return row ? Number(row.size) : null;
  }

  async touch(sha256: string): Promise<boolean> {
    return (
      (await this.db('store_blobs')
        .where({ sha256: assertSha256(sha256) })
        .update({ used_at: this.db.fn.now() })) > 0
    );
  }

  async get(sha256: string): Promise<Readable> {
    const blob = (await this.db('store_blobs')
      .where({ sha256: assertSha256(sha256) })
      .first('id', 'chunks')) as { id: number; chunks: number } | undefined;
    if (!blob) throw new NotStoredError(sha256);
    const { db } = this;
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let seq = 0; seq < blob!.chunks; seq++) {
        const data = await readChunk(db, blob!.id, seq);
        if (!data) throw new Error(`the file store's content ${sha256} was removed while it was being read`);
        yield data;
      }
    }
    return Readable.from(chunks(), { objectMode: false, highWaterMark: 1 });
  }

  async remove(sha256: string, unusedSince?: Date): Promise<boolean> {
    const q = this.db('store_blobs').where({ sha256: assertSha256(sha256) });
    if (unusedSince) q.where('used_at', '<', unusedSince);
    return (await q.delete()) > 0;
  }

  async *list(): AsyncIterable<StoredBlob> {
    let after = '';
    for (;;) {
      const page = (await this.db('store_blobs').where('sha256', '>', after).orderBy('sha256').limit(1000).select('sha256', 'size', 'used_at')) as {
        sha256: string;
        size: number;
        used_at: Date;
      }[];
      for (const r of page) yield { sha256: r.sha256, size: Number(r.size), usedAt: r.used_at };
      if (page.length < 1000) return;
      after = page[page.length - 1]!.sha256;
    }
  }

  async openLocal(sha256: string): Promise<LocalCopy> {
    // A copy of content the store no longer has is not handed out (the store decides what exists).
    if (!(await this.has(sha256))) throw new NotStoredError(sha256);
    return this.copies.open(sha256, () => this.get(sha256));
  }

  async close(): Promise<void> {
    await this.copies.clear();
  }

  /** Local copies of processes that are gone (each store instance has a folder named by its pid). */
  async cleanTemp(maxAgeMs = 24 * 3600_000): Promise<number> {
    const root = path.join(this.scratchDir, 'copies');
    let removed = 0;
    for (const name of await readdir(root).catch(() => [] as string[])) {
      const pid = Number(name.split('-')[0]);
      if (pid === process.pid) continue;
      const dir = path.join(root, name);
      if (processGone(pid)) {
        removed += (await readdir(dir).catch(() => [])).length;
        await rm(dir, { recursive: true, force: true });
      } else removed += await removeOldFiles(dir, maxAgeMs);
    }
    return removed;
  }

  async putBuffer(buf: Buffer): Promise<Stored> {
    const sha256 = createHash('sha256').update(buf).digest('hex');
    // Content known up front: nothing is sent when it is stored already.
    if (buf.length > this.chunkBytes && (await this.touch(sha256))) return { sha256, size: buf.length };
    return this.put(Readable.from([buf]));
  }

  async put(source: AsyncIterable<Buffer> | Readable): Promise<Stored> {
    const hash = createHash('sha256');
    const chunks = chunked(source as AsyncIterable<Buffer>, this.chunkBytes, hash)[Symbol.asyncIterator]();
    const first = await chunks.next();
    const second = first.done ? first : await chunks.next();
    if (second.done) {
      const data = first.done ? Buffer.alloc(0) : first.value;
      return this.putSmall(hash.digest('hex'), data);
    }
    const stored = { sha256: '', size: 0 };
    try {
      await this.db.transaction(async (trx) => {
        await trx.raw(ASYNC_COMMIT);
        const id = Number((await trx.raw(`SELECT nextval('store_blob_ids') AS id`)).rows[0].id);
        let seq = 0;
        const write = async (data: Buffer) => {
          await trx.raw('INSERT INTO store_chunks (blob_id, seq, data) VALUES (?, ?, ?)', [id, seq++, data]);
          stored.size += data.length;
        };
        await write(first.value!);
        await write(second.value);
        for (let next = await chunks.next(); !next.done; next = await chunks.next()) await write(next.value);
        stored.sha256 = hash.digest('hex');
        // Stored already: this statement marks the existing blob used (and holds its row until the
        // commit), and the chunks written here are dropped in the same transaction. Rolling back and
        // touching afterwards would leave a gap in which garbage collection could remove the blob.
        const published = await trx.raw(`INSERT INTO store_blobs (sha256, id, size, chunks) VALUES (?, ?, ?, ?) ${OR_TOUCH} RETURNING id`, [
          stored.sha256,
          id,
          stored.size,
          seq,
        ]);
        if (Number(published.rows[0].id) !== id) await trx.raw('DELETE FROM store_chunks WHERE blob_id = ?', [id]);
      });
    } finally {
      // A source that failed midway (or a failed write) must not be left reading.
      await chunks.return?.(undefined);
    }
    return stored;
  }

  /** Content of at most one chunk: one statement (in a transaction only for its commit mode), which only marks the blob used when it is stored already. */
  private async putSmall(sha256: string, data: Buffer): Promise<Stored> {
    await runInsert(this.db, sha256, data);
    return { sha256, size: data.length };
  }
}

/**
 * A blob's commit does not wait for its WAL flush. Whatever refers to a blob (the ledger's hash, an
 * attachment row) is committed later with the default synchronous commit, and flushing that commit
 * flushes the WAL before it, the blob's included: a crash can lose only blobs nothing refers to yet
 * (their step is retried). Saves a disk flush per stored picture.
 */
const ASYNC_COMMIT = 'SET LOCAL synchronous_commit TO OFF';

/**
 * One chunk, as base64 text: bytea's default text form (hex) doubles the bytes on the wire (reading
 * was 10–50% slower with it here); node-postgres cannot receive binary results.
 */
async function readChunk(db: Db, blobId: number, seq: number): Promise<Buffer | null> {
  const r = await db.raw(`SELECT encode(data, 'base64') AS data FROM store_chunks WHERE blob_id = ? AND seq = ?`, [blobId, seq]);
  const row = r.rows[0] as { data: string } | undefined;
  return row ? Buffer.from(row.data, 'base64') : null;
}

/**
 * Ends every insert of a `store_blobs` row: when the hash is stored already, the existing row is marked
 * used instead (and `RETURNING` gives its id). Finding and touching are one statement on a locked row:
 * see the header.
 */
const OR_TOUCH = 'ON CONFLICT (sha256) DO UPDATE SET used_at = now()';

async function runInsert(db: Knex, sha256: string, data: Buffer): Promise<void> {
  await db.transaction(async (trx) => {
    await trx.raw(ASYNC_COMMIT);
    await insertSmall(trx, sha256, data);
  });
}

async function insertSmall(db: Knex, sha256: string, data: Buffer): Promise<void> {
  if (!data.length) {
    await db.raw(`INSERT INTO store_blobs (sha256, size, chunks) VALUES (?, 0, 0) ${OR_TOUCH}`, [sha256]);
    return;
  }
  // The row (or the existing one, marked used) and its one chunk in one statement: the id is drawn
  // first, and the chunk is written only when the row that comes back has that id (the row is new).
  await db.raw(
    `WITH n AS (SELECT nextval('store_blob_ids') AS id),
     b AS (INSERT INTO store_blobs (sha256, id, size, chunks) SELECT ?, id, ?, 1 FROM n ${OR_TOUCH} RETURNING id)
     INSERT INTO store_chunks (blob_id, seq, data) SELECT id, 0, ? FROM b JOIN n USING (id)`,
    [sha256, data.length, data],
  );
}

/** The stream in pieces of exactly `size` bytes (the last one shorter), hashed on the way. */
async function* chunked(source: AsyncIterable<Buffer>, size: number, hash: Hash): AsyncGenerator<Buffer> {
  let parts: Buffer[] = [];
  let have = 0;
  for await (const piece of source) {
    const buf = Buffer.isBuffer(piece) ? piece : Buffer.from(piece as Uint8Array);
    hash.update(buf);
    parts.push(buf);
    have += buf.length;
    while (have >= size) {
      const all = parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
      yield all.subarray(0, size);
      const rest = all.subarray(size);
      parts = rest.length ? [rest] : [];
      have = rest.length;
    }
  }
  if (have) yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, have);
}

function processGone(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return true;
  try {
    process.kill(pid, 0);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
