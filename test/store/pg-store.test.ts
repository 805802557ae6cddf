/**
 * The PostgreSQL file store against the machine's PostgreSQL: streamed both ways in 1 MiB chunks,
 * never half visible, de-duplicated, safe under concurrent puts of the same content.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { Db } from '../../db/db';
import { NotStoredError, type Stored } from '../../store/file-store';
import { collectGarbage } from '../../store/gc';
import { CHUNK_BYTES, PgFileStore } from '../../store/pg-store';
import { useDatabase } from '../support/database';

const MiB = 1024 * 1024;

async function counts(db: Db): Promise<{ blobs: number; chunks: number }> {
  const [b] = await db('store_blobs').count<{ n: string }[]>('* as n');
  const [c] = await db('store_chunks').count<{ n: string }[]>('* as n');
  return { blobs: Number(b!.n), chunks: Number(c!.n) };
}

/** Reads a stream to its end: sha256, bytes and the pieces' largest size, keeping nothing. */
async function drain(stream: Readable): Promise<{ sha256: string; size: number; largest: number }> {
  const hash = createHash('sha256');
  let size = 0;
  let largest = 0;
  for await (const piece of stream) {
    const b = piece as Buffer;
    hash.update(b);
    size += b.length;
    largest = Math.max(largest, b.length);
  }
  return { sha256: hash.digest('hex'), size, largest };
}

/** `total` random bytes in 64 KiB pieces, hashed as they go; `onPiece` sees the bytes sent so far. */
function generated(total: number, onPiece?: (sent: number) => Promise<void> | void) {
  const hash = createHash('sha256');
  async function* pieces() {
    let sent = 0;
    while (sent < total) {
      const b = randomBytes(Math.min(64 * 1024, total - sent));
      hash.update(b);
      sent += b.length;
      yield b;
      await onPiece?.(sent);
    }
  }
  return { stream: Readable.from(pieces()), sha256: () => hash.digest('hex') };
}

/**
 * A migrated database of the describe's own, a store on it (`db`, a pool of `poolMax`) and a second
 * pool (another worker's, or the collector's).
 */
function usePgStore(poolMax: number, scratchPrefix: string): { db: Db; second: Db; store: PgFileStore; scratch: string } {
  const database = useDatabase({ poolMax: 1 });
  const pgs = { scratch: fs.mkdtempSync(path.join(os.tmpdir(), scratchPrefix)) } as { db: Db; second: Db; store: PgFileStore; scratch: string };
  beforeAll(() => {
    pgs.db = database.pool(poolMax);
    pgs.second = database.pool(2);
    pgs.store = new PgFileStore(pgs.db, pgs.scratch);
  });
  return pgs;
}

describe('PgFileStore', () => {
  const pgs = usePgStore(6, 'imv-pgstore-');

  afterAll(async () => {
    await pgs.store?.cleanTemp(0);
  });

  it('streams a 160 MiB transfer in and out in 1 MiB chunks without holding it in memory', async () => {
    const total = 160 * MiB + 12_345;
    const before = await counts(pgs.db);
    const rss0 = process.memoryUsage().rss;
    let peak = rss0;
    const src = generated(total, () => void (peak = Math.max(peak, process.memoryUsage().rss)));
    const put = await pgs.store.put(src.stream);
    expect(put).toEqual({ sha256: src.sha256(), size: total });
    const after = await counts(pgs.db);
    expect(after.blobs - before.blobs).toBe(1);
    expect(after.chunks - before.chunks).toBe(Math.ceil(total / CHUNK_BYTES));
    expect(await pgs.store.size(put.sha256)).toBe(total);
    // The process grew by far less than the transfer (it never held it whole).
    expect(peak - rss0).toBeLessThan(total / 2);

    const rss1 = process.memoryUsage().rss;
    const out = await pgs.store.get(put.sha256);
    let readPeak = rss1;
    out.on('data', () => void (readPeak = Math.max(readPeak, process.memoryUsage().rss)));
    const read = await drain(out);
    expect(read).toEqual({ sha256: put.sha256, size: total, largest: CHUNK_BYTES });
    expect(readPeak - rss1).toBeLessThan(total / 2);
  }, 120_000);

  it('stores the same content once: small and chunked, as buffers and as streams', async () => {
    const small = randomBytes(10_000);
    const big = randomBytes(3 * MiB + 7);
    const a = await pgs.store.putBuffer(small);
    const b = await pgs.store.putBuffer(big);
    const before = await counts(pgs.db);
    expect(await pgs.store.put(Readable.from([small.subarray(0, 5000), small.subarray(5000)]))).toEqual(a);
    expect(await pgs.store.put(Readable.from([big]))).toEqual(b);
    expect(await pgs.store.putBuffer(big)).toEqual(b);
    expect(await pgs.store.putBuffer(small)).toEqual(a);
    expect(await counts(pgs.db)).toEqual(before);
    expect((await drain(await pgs.store.get(b.sha256))).sha256).toBe(b.sha256);
    // Empty content is a blob too (an attachment may be empty), with no chunk.
    const empty = await pgs.store.putBuffer(Buffer.alloc(0));
    expect(empty).toEqual({ sha256: createHash('sha256').digest('hex'), size: 0 });
    expect(await drain(await pgs.store.get(empty.sha256))).toEqual({ sha256: empty.sha256, size: 0, largest: 0 });
    expect(await pgs.store.putBuffer(Buffer.alloc(0))).toEqual(empty);
  });

  it('never shows a half-written blob: chunks are invisible while written, and gone when the stream fails', async () => {
    const before = await counts(pgs.db);
    let seenMidway: { blobs: number; chunks: number } | null = null;
    const src = generated(5 * MiB, async (sent) => {
      if (sent === 3 * MiB) {
        // Three chunks are written in the put's transaction by now; another connection sees none.
        seenMidway = await counts(pgs.second);
        throw new Error('FTP connection lost');
      }
    });
    await expect(pgs.store.put(src.stream)).rejects.toThrow('FTP connection lost');
    expect(seenMidway).toEqual(before);
    expect(await counts(pgs.db)).toEqual(before);
  });

  it('concurrent puts of the same content pgs.store it once and all get its hash', async () => {
    const content = randomBytes(3 * MiB + 100);
    const sha256 = createHash('sha256').update(content).digest('hex');
    const before = await counts(pgs.db);
    const pieces = (n: number) => Readable.from(Array.from({ length: Math.ceil(content.length / n) }, (_, i) => content.subarray(i * n, (i + 1) * n)));
    const results = await Promise.all([pieces(64 * 1024), pieces(100_000), pieces(MiB), pieces(1000)].map((s) => pgs.store.put(s)));
    for (const r of results) expect(r).toEqual({ sha256, size: content.length });
    expect(await counts(pgs.db)).toEqual({ blobs: before.blobs + 1, chunks: before.chunks + 4 });
    const smallOnes = await Promise.all([1, 2, 3].map(() => pgs.store.putBuffer(Buffer.from('Grundriss EG'))));
    expect(new Set(smallOnes.map((s) => s.sha256)).size).toBe(1);
    expect(await counts(pgs.db)).toEqual({ blobs: before.blobs + 2, chunks: before.chunks + 5 });
  });

  it('gives readers a local copy (shared while in use), lists, touches and removes; a missing hash is a NotStoredError', async () => {
    const content = randomBytes(2 * MiB + 3);
    const { sha256 } = await pgs.store.putBuffer(content);
    const [one, two] = await Promise.all([pgs.store.openLocal(sha256), pgs.store.openLocal(sha256)]);
    expect(one!.path).toBe(two!.path);
    expect(fs.readFileSync(one!.path).equals(content)).toBe(true);
    await one!.release();
    await two!.release();
    // A worker that stops removes its copies.
    const stopping = new PgFileStore(pgs.db, pgs.scratch);
    const copy = await stopping.openLocal(sha256);
    await copy.release();
    expect(fs.existsSync(copy.path)).toBe(true);
    await stopping.close();
    expect(fs.existsSync(copy.path)).toBe(false);
    const listed = new Map<string, number>();
    for await (const b of pgs.store.list()) listed.set(b.sha256, b.size);
    expect(listed.get(sha256)).toBe(content.length);
    await pgs
      .db('store_blobs')
      .where({ sha256 })
      .update({ used_at: new Date(Date.now() - 3600_000) });
    expect(await pgs.store.remove(sha256, new Date(Date.now() - 7200_000))).toBe(false);
    expect(await pgs.store.touch(sha256)).toBe(true);
    expect(await pgs.store.remove(sha256, new Date(Date.now() - 60_000))).toBe(false);
    const before = await counts(pgs.db);
    expect(await pgs.store.remove(sha256)).toBe(true);
    expect(await counts(pgs.db)).toEqual({ blobs: before.blobs - 1, chunks: before.chunks - 3 });
    await expect(pgs.store.get(sha256)).rejects.toBeInstanceOf(NotStoredError);
    await expect(pgs.store.openLocal(sha256)).rejects.toBeInstanceOf(NotStoredError);
    // A later start removes the copies of a process that is gone, and keeps a live one's.
    const copies = path.join(pgs.scratch, 'copies');
    fs.mkdirSync(path.join(copies, '999999999-gone'), { recursive: true });
    fs.writeFileSync(path.join(copies, '999999999-gone', sha256), 'left behind');
    expect(fs.readdirSync(copies).length).toBe(2);
    expect(await new PgFileStore(pgs.db, pgs.scratch).cleanTemp()).toBe(1);
    expect(fs.readdirSync(copies)).toEqual([fs.readdirSync(copies).find((n) => n.startsWith(`${process.pid}-`))]);
    expect(await pgs.store.touch(sha256)).toBe(false);
    expect(await pgs.store.size(sha256)).toBeNull();
  });
});

/**
 * A put of content that is stored already, racing garbage collection of that (aged, unreferenced)
 * content. The interleavings are forced with the collector's transaction on a second connection: it
 * holds the blob's row, the test waits until PostgreSQL reports the put waiting on it, then the real
 * collector (store/gc.ts) removes the blob in that transaction and commits. Whatever the order, the put
 * must leave its content stored.
 */
describe('PgFileStore: a put racing garbage collection of the same content', () => {
  const pgs = usePgStore(4, 'imv-pgstore-gc-');

  /** Stored, then last used two days ago and referred to by nothing: the collector may remove it. */
  async function agedContent(content: Buffer): Promise<string> {
    const { sha256 } = await pgs.store.putBuffer(content);
    await pgs
      .db('store_blobs')
      .where({ sha256 })
      .update({ used_at: new Date(Date.now() - 2 * 24 * 3600_000) });
    return sha256;
  }

  /** The collector's transaction: its backend, and the real collection run inside it. */
  async function collectorTransaction() {
    const trx = await pgs.second.transaction();
    const pid = Number((await trx.raw('SELECT pg_backend_pid() AS pid')).rows[0].pid);
    return {
      trx,
      collect: () => collectGarbage(trx, new PgFileStore(trx, pgs.scratch), { retentionDays: 90 }),
      /** Resolves once another backend waits for a lock this transaction holds (the put is stuck on it). */
      async blocksAnother(): Promise<void> {
        for (;;) {
          const r = await pgs.db.raw('SELECT count(*) AS n FROM pg_stat_activity WHERE ? = ANY (pg_blocking_pids(pid))', [pid]);
          if (Number(r.rows[0].n) > 0) return;
          await delay(10);
        }
      },
    };
  }

  async function readsBack(sha256: string, content: Buffer): Promise<void> {
    expect(await pgs.store.size(sha256)).toBe(content.length);
    expect((await drain(await pgs.store.get(sha256))).sha256).toBe(sha256);
  }

  const paths: [string, () => Buffer, (c: Buffer) => Promise<Stored>][] = [
    ['one-chunk content (putBuffer)', () => randomBytes(10_000), (c) => pgs.store.putBuffer(c)],
    ['empty content (put)', () => Buffer.alloc(0), (c) => pgs.store.put(Readable.from([c]))],
    ['a chunked stream (put)', () => randomBytes(3 * MiB + 5), (c) => pgs.store.put(Readable.from([c.subarray(0, MiB / 2), c.subarray(MiB / 2)]))],
    ['a chunked buffer (putBuffer touches first)', () => randomBytes(2 * MiB + 5), (c) => pgs.store.putBuffer(c)],
  ];

  it.each(paths)('%s: the collector removes it between the put finding it stored and marking it used', async (_name, make, put) => {
    const content = make();
    const sha256 = await agedContent(content);
    const gc = await collectorTransaction();
    // The collector holds the row (as its DELETE does while it runs): finding the row does not wait
    // for that, marking it used does.
    await gc.trx.raw('SELECT 1 FROM store_blobs WHERE sha256 = ? FOR UPDATE', [sha256]);
    const putting = put(content);
    await gc.blocksAnother();
    const collected = await gc.collect();
    await gc.trx.commit();
    // The race window was hit: the collector removed the blob while the put was under way.
    expect(collected.removed).toBe(1);
    expect(await putting).toEqual({ sha256, size: content.length });
    await readsBack(sha256, content);
  });

  it.each(paths)('%s: the collector has removed it but not committed yet when the put comes', async (_name, make, put) => {
    const content = make();
    const sha256 = await agedContent(content);
    const gc = await collectorTransaction();
    expect((await gc.collect()).removed).toBe(1);
    const putting = put(content);
    await gc.blocksAnother();
    await gc.trx.commit();
    expect(await putting).toEqual({ sha256, size: content.length });
    await readsBack(sha256, content);
  });

  it.each(paths)('%s: the put comes first and marks it used, so the collector keeps it', async (_name, make, put) => {
    const content = make();
    const sha256 = await agedContent(content);
    expect(await put(content)).toEqual({ sha256, size: content.length });
    const gc = await collectorTransaction();
    expect(await gc.collect()).toMatchObject({ removed: 0 });
    await gc.trx.commit();
    await readsBack(sha256, content);
  });
});
