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
 * The statements are in db/blobs.ts.
 * Random-access readers (ZIP) get a local copy in this host's scratch folder (store/local-copies.ts).
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { createHash, randomUUID, type Hash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Db } from '../db/db';
import { blobSize, blobsAfter, findBlob, putChunkedBlob, putSmallBlob, readBlobChunk, removeBlob, touchBlob } from '../db/blobs';
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
    return blobSize(this.db, assertSha256(sha256));
  }

  async touch(sha256: string): Promise<boolean> {
    return touchBlob(this.db, assertSha256(sha256));
  }

  async get(sha256: string): Promise<Readable> {
    const blob = await findBlob(this.db, assertSha256(sha256));
    if (!blob) throw new NotStoredError(sha256);
    const { db } = this;
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let seq = 0; seq < blob!.chunks; seq++) {
        const data = await readBlobChunk(db, blob!.id, seq);
        if (!data) throw new Error(`the file store's content ${sha256} was removed while it was being read`);
        yield data;
      }
    }
    return Readable.from(chunks(), { objectMode: false, highWaterMark: 1 });
  }

  async remove(sha256: string, unusedSince?: Date): Promise<boolean> {
    return removeBlob(this.db, assertSha256(sha256), unusedSince);
  }

  async *list(): AsyncIterable<StoredBlob> {
    let after = '';
    for (;;) {
      const page = await blobsAfter(this.db, after, 1000);
      for (const r of page) yield { sha256: r.sha256, size: r.size, usedAt: r.used_at };
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
    // The first two chunks, then the rest as they come: written in one transaction (db/blobs.ts).
    async function* all(): AsyncGenerator<Buffer> {
      yield first.value!;
      yield second.value!;
      for (let next = await chunks.next(); !next.done; next = await chunks.next()) yield next.value;
    }
    try {
      return await putChunkedBlob(this.db, all(), () => hash.digest('hex'));
    } finally {
      // A source that failed midway (or a failed write) must not be left reading.
      await chunks.return?.(undefined);
    }
  }

  /** Content of at most one chunk: one statement (in a transaction only for its commit mode), which only marks the blob used when it is stored already. */
  private async putSmall(sha256: string, data: Buffer): Promise<Stored> {
    await putSmallBlob(this.db, sha256, data);
    return { sha256, size: data.length };
  }
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
