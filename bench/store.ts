/**
 * File store throughput: the `fs` store against the `postgres` store, on what an import stores and reads.
 * - "big": one transfer the size of 10,000 IMV objects (~26 MB of XML, streamed from a file) and its
 *   pictures (one 50 KB picture per 10 objects, stored one by one as the attachment step does);
 * - "small": 1,000 one-object transfers (~3 KB each), put and read one by one.
 * Each run stores new content (nothing is de-duplicated away); the median of the runs is printed.
 * One process, one operation at a time (one activity slot); asserts nothing.
 *
 *   npm run build && node dist/bench/store.js [--runs 3] [--objects 10000] [--small 1000]
 *
 * Uses DATABASE_URL's server (default the local one on 127.0.0.1:5432) with a fresh database.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { closeDb, createDb, migrate, type Db } from '../db/db';
import { createScratchDatabase, dropScratchDatabase } from '../db/bench';
import type { FileStore } from '../store/file-store';
import { FsFileStore } from '../store/fs-store';
import { PgFileStore } from '../store/pg-store';
import { transferOf, writeTransfer, type ImvObject } from './transfers';

const MB = 1024 * 1024;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function objects(count: number, run: number): Generator<ImvObject> {
  return (function* () {
    for (let i = 0; i < count; i++) yield { id: 100_000 + i, n: i + run, owner: i, user: 'mmustermann' };
  })();
}

async function drain(stream: Readable): Promise<number> {
  let n = 0;
  for await (const b of stream) n += (b as Buffer).length;
  return n;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await fn();
  return [r, (performance.now() - t0) / 1000];
}

interface RunFigures {
  bigPutMBs: number;
  bigGetMBs: number;
  picturePutPerS: number;
  pictureGetPerS: number;
  smallPutPerS: number;
  smallGetPerS: number;
}

async function oneRun(store: FileStore, dir: string, run: number, o: { objects: number; small: number }): Promise<RunFigures> {
  const xml = path.join(dir, `transfer-${store.kind}-${run}.xml`);
  await writeTransfer(xml, objects(o.objects, run), { timestamp: `2026-12-0${(run % 9) + 1}T09:00:00Z` });
  const bytes = fs.statSync(xml).size;
  const [big, putS] = await timed(() => store.put(fs.createReadStream(xml)));
  const [, getS] = await timed(async () => drain(await store.get(big.sha256)));
  fs.rmSync(xml);

  const pictures = Array.from({ length: Math.ceil(o.objects / 10) }, () => randomBytes(50 * 1024));
  const [stored, picPutS] = await timed(async () => {
    const out = [];
    for (const p of pictures) out.push(await store.putBuffer(p));
    return out;
  });
  const [, picGetS] = await timed(async () => {
    for (const s of stored) await drain(await store.get(s.sha256));
  });

  const small = Array.from({ length: o.small }, (_, i) => transferOf([{ id: 500_000 + i, n: i + run * 7919, owner: i, user: 'skoch' }]));
  const [smallStored, smallPutS] = await timed(async () => {
    const out = [];
    for (const s of small) out.push(await store.put(Readable.from([s])));
    return out;
  });
  const [, smallGetS] = await timed(async () => {
    for (const s of smallStored) await drain(await store.get(s.sha256));
  });
  return {
    bigPutMBs: bytes / MB / putS,
    bigGetMBs: bytes / MB / getS,
    picturePutPerS: pictures.length / picPutS,
    pictureGetPerS: pictures.length / picGetS,
    smallPutPerS: small.length / smallPutS,
    smallGetPerS: small.length / smallGetS,
  };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const runs = arg('--runs', 3);
  const o = { objects: arg('--objects', 10_000), small: arg('--small', 1000) };
  const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `imv_bench_store_${Date.now()}`;
  const dbUrl = await createScratchDatabase(base, dbName);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-bench-store-'));
  let db: Db | null = null;
  try {
    db = createDb(dbUrl, 4);
    await migrate(db);
    const stores: FileStore[] = [new FsFileStore(path.join(dir, 'fs')), new PgFileStore(db, path.join(dir, 'scratch'))];
    console.log(
      `file store throughput: ${o.objects} objects' transfer (+ ${Math.ceil(o.objects / 10)} pictures of 50 KB), ${o.small} small files; median of ${runs} runs`,
    );
    for (const store of stores) {
      const figures: RunFigures[] = [];
      for (let r = 0; r < runs; r++) figures.push(await oneRun(store, dir, r, o));
      const m = (k: keyof RunFigures) => median(figures.map((f) => f[k]));
      console.log(
        `${store.kind.padEnd(8)} transfer put ${m('bigPutMBs').toFixed(1)} MB/s, get ${m('bigGetMBs').toFixed(1)} MB/s; ` +
          `pictures put ${m('picturePutPerS').toFixed(0)}/s, get ${m('pictureGetPerS').toFixed(0)}/s; ` +
          `small files put ${m('smallPutPerS').toFixed(0)}/s, get ${m('smallGetPerS').toFixed(0)}/s`,
      );
    }
  } finally {
    if (db) await closeDb(db);
    await dropScratchDatabase(base, dbName);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

void main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
