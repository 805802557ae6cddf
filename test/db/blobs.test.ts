/**
 * db/blobs.ts against real PostgreSQL: the `postgres` file store's statements and garbage
 * collection's reference check, one operation a test.
 */
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { blobSize, blobsAfter, findBlob, putChunkedBlob, putSmallBlob, readBlobChunk, referencedBlobs, removeBlob, touchBlob } from '../../db/blobs';
import { anEstate, anImport, hoursAgo, useMigratedDatabase } from '../support/database';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

describe('db/blobs', () => {
  const ctx = useMigratedDatabase(['blobs']);
  let n = 0;

  /** New content, stored in one chunk; returns it and its hash. */
  async function small(): Promise<{ data: Buffer; sha256: string }> {
    const data = Buffer.from(`content ${++n} ${Math.random()}`);
    await putSmallBlob(ctx.db, sha(data), data);
    return { data, sha256: sha(data) };
  }

  const row = (sha256: string) => ctx.db('store_blobs').where({ sha256 }).first();
  const chunksOf = async (sha256: string) =>
    ctx.db('store_chunks').join('store_blobs', 'store_blobs.id', 'store_chunks.blob_id').where({ sha256 }).orderBy('seq').select('seq', 'data');
  const ageBlob = (sha256: string, hours: number) =>
    ctx
      .db('store_blobs')
      .where({ sha256 })
      .update({ used_at: hoursAgo(hours) });

  it('putSmallBlob stores new content as one row and one chunk', async () => {
    const { data, sha256 } = await small();
    expect(await row(sha256)).toMatchObject({ sha256, size: data.length, chunks: 1 });
    expect((await chunksOf(sha256)).map((c) => Buffer.from(c.data).toString())).toEqual([data.toString()]);
  });

  it('putSmallBlob stores empty content as a row without chunks', async () => {
    const empty = Buffer.alloc(0);
    await putSmallBlob(ctx.db, sha(empty), empty);
    expect(await row(sha(empty))).toMatchObject({ size: 0, chunks: 0 });
    expect(await chunksOf(sha(empty))).toEqual([]);
  });

  it('putSmallBlob of stored content marks it used and writes no second chunk', async () => {
    const { data, sha256 } = await small();
    await ageBlob(sha256, 48);
    await putSmallBlob(ctx.db, sha256, data);
    expect((await row(sha256)).used_at.getTime()).toBeGreaterThan(hoursAgo(1).getTime());
    expect(await chunksOf(sha256)).toHaveLength(1);
  });

  it('putChunkedBlob writes every chunk in order and the row with their count and size', async () => {
    const parts = [Buffer.from('first-'), Buffer.from('second-'), Buffer.from('third')];
    const all = Buffer.concat(parts);
    const r = await putChunkedBlob(
      ctx.db,
      (async function* () {
        yield* parts;
      })(),
      () => sha(all),
    );
    expect(r).toEqual({ sha256: sha(all), size: all.length });
    expect(await row(sha(all))).toMatchObject({ size: all.length, chunks: 3 });
    expect((await chunksOf(sha(all))).map((c) => Buffer.from(c.data).toString())).toEqual(['first-', 'second-', 'third']);
  });

  it('putChunkedBlob of stored content keeps the stored blob, marks it used and drops the chunks it wrote', async () => {
    const parts = [Buffer.from('again-a'), Buffer.from('again-b')];
    const all = Buffer.concat(parts);
    const chunks = async function* () {
      yield* parts;
    };
    await putChunkedBlob(ctx.db, chunks(), () => sha(all));
    const before = await row(sha(all));
    await ageBlob(sha(all), 48);
    expect(await putChunkedBlob(ctx.db, chunks(), () => sha(all))).toEqual({ sha256: sha(all), size: all.length });
    const after = await row(sha(all));
    expect(after.id).toBe(before.id);
    expect(after.used_at.getTime()).toBeGreaterThan(hoursAgo(1).getTime());
    const [{ n: orphans }] = await ctx.db('store_chunks').whereNotIn('blob_id', ctx.db('store_blobs').select('id')).count<{ n: number }[]>('* as n');
    expect(Number(orphans)).toBe(0);
    expect(await chunksOf(sha(all))).toHaveLength(2);
  });

  it('putChunkedBlob whose source fails midway leaves nothing behind', async () => {
    const [{ n: before }] = await ctx.db('store_chunks').count<{ n: number }[]>('* as n');
    const failing = async function* () {
      yield Buffer.from('half');
      throw new Error('the source broke');
    };
    await expect(putChunkedBlob(ctx.db, failing(), () => 'never asked')).rejects.toThrow('the source broke');
    const [{ n: after }] = await ctx.db('store_chunks').count<{ n: number }[]>('* as n');
    expect(Number(after)).toBe(Number(before));
  });

  it('blobSize gives the stored size, null for content not stored', async () => {
    const { data, sha256 } = await small();
    expect(await blobSize(ctx.db, sha256)).toBe(data.length);
    expect(await blobSize(ctx.db, sha('never stored'))).toBeNull();
  });

  it('touchBlob marks stored content used now, and says false for content not stored', async () => {
    const { sha256 } = await small();
    await ageBlob(sha256, 48);
    expect(await touchBlob(ctx.db, sha256)).toBe(true);
    expect((await row(sha256)).used_at.getTime()).toBeGreaterThan(hoursAgo(1).getTime());
    expect(await touchBlob(ctx.db, sha('never stored'))).toBe(false);
  });

  it('findBlob gives the id and chunk count, undefined for content not stored', async () => {
    const { sha256 } = await small();
    const r = await row(sha256);
    expect(await findBlob(ctx.db, sha256)).toEqual({ id: Number(r.id), chunks: 1 });
    expect(await findBlob(ctx.db, sha('never stored'))).toBeUndefined();
  });

  it('readBlobChunk gives a chunk’s bytes, null past the last one', async () => {
    const data = Buffer.from([0, 1, 2, 254, 255]);
    await putSmallBlob(ctx.db, sha(data), data);
    const blob = (await findBlob(ctx.db, sha(data)))!;
    expect(await readBlobChunk(ctx.db, blob.id, 0)).toEqual(data);
    expect(await readBlobChunk(ctx.db, blob.id, 1)).toBeNull();
  });

  it('removeBlob removes the row and its chunks; false when nothing was stored', async () => {
    const { sha256 } = await small();
    const { id } = (await findBlob(ctx.db, sha256))!;
    expect(await removeBlob(ctx.db, sha256)).toBe(true);
    expect(await row(sha256)).toBeUndefined();
    expect(await ctx.db('store_chunks').where({ blob_id: id })).toEqual([]);
    expect(await removeBlob(ctx.db, sha256)).toBe(false);
  });

  it('removeBlob with unusedSince keeps content used since then and removes older content', async () => {
    const recent = await small();
    const old = await small();
    await ageBlob(old.sha256, 48);
    expect(await removeBlob(ctx.db, recent.sha256, hoursAgo(24))).toBe(false);
    expect(await removeBlob(ctx.db, old.sha256, hoursAgo(24))).toBe(true);
    expect(await blobSize(ctx.db, recent.sha256)).not.toBeNull();
    expect(await blobSize(ctx.db, old.sha256)).toBeNull();
  });

  it('blobsAfter pages through the blobs in hash order', async () => {
    await small();
    await small();
    const all = (await ctx.db('store_blobs').orderBy('sha256').select('sha256')).map((r) => r.sha256 as string);
    const first = await blobsAfter(ctx.db, '', 2);
    expect(first.map((b) => b.sha256)).toEqual(all.slice(0, 2));
    expect(first[0]).toMatchObject({ size: expect.any(Number), used_at: expect.any(Date) });
    const rest = await blobsAfter(ctx.db, first[1]!.sha256, 1000);
    expect(rest.map((b) => b.sha256)).toEqual(all.slice(2));
  });

  it('referencedBlobs names the hashes attachments, imports within the retention and running imports refer to', async () => {
    const [attached, recentImport, running, expired, unreferenced] = ['a', 'b', 'c', 'd', 'e'].map((x) => sha(`ref ${x}`));
    const estate = await anEstate(ctx.db, 'blobs');
    await ctx.db('estate_attachments').insert({ estate_id: estate, position: 0, sha256: attached });
    await anImport(ctx.db, 'blobs', { sha256: recentImport, started_at: hoursAgo(24 * 10), finished_at: hoursAgo(24 * 10) });
    await anImport(ctx.db, 'blobs', { sha256: running, status: 'importing', started_at: hoursAgo(24 * 200) });
    await anImport(ctx.db, 'blobs', { sha256: expired, started_at: hoursAgo(24 * 100), finished_at: hoursAgo(24 * 100) });
    const kept = await referencedBlobs(ctx.db, [attached!, recentImport!, running!, expired!, unreferenced!], hoursAgo(24 * 90));
    expect([...kept].sort()).toEqual([attached, recentImport, running].sort());
    expect(await referencedBlobs(ctx.db, [], hoursAgo(0))).toEqual(new Set());
  });
});
