/**
 * Garbage collection of both file stores against real PostgreSQL: transfers of imports older than
 * the retention go, unless a later import (a replay) or a running one still refers to them;
 * estates' attachments stay, archived estates' too; anything stored or touched within the grace
 * period stays; a dry run removes nothing.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Db } from '../../db/db';
import type { FileStore } from '../../store/file-store';
import { FsFileStore } from '../../store/fs-store';
import { PgFileStore } from '../../store/pg-store';
import { collectGarbage } from '../../store/gc';
import { useDatabase } from '../support/database';

const DAY = 24 * 3600_000;
const daysAgo = (n: number) => new Date(Date.now() - n * DAY);

describe.each(['fs', 'postgres'] as const)('garbage collection of the %s file store', (kind) => {
  const database = useDatabase({ poolMax: 1 });
  let db: Db;
  let store: FileStore;
  const hashes: Record<string, string> = {};

  /** Content stored, then dated back as if last used `days` ago. */
  async function stored(name: string, days: number): Promise<string> {
    const { sha256 } = await store.putBuffer(Buffer.from(`${name} ${kind}`));
    const when = daysAgo(days);
    if (store instanceof FsFileStore) fs.utimesSync(store.pathOf(sha256), when, when);
    else await db('store_blobs').where({ sha256 }).update({ used_at: when });
    hashes[name] = sha256;
    return sha256;
  }

  let imports = 0;
  async function anImport(sha256: string, startedDaysAgo: number, status = 'imported', replayOf: number | null = null): Promise<number> {
    const [row] = (await db('import_files')
      .insert({
        tenant_id: 'gc',
        remote_path: `/gc/processed/f${++imports}.xml`,
        file_name: `f${imports}.xml`,
        size: 10,
        mtime: daysAgo(startedDaysAgo),
        sha256,
        status,
        workflow_id: `gc-${kind}-${imports}`,
        replay_of: replayOf,
        started_at: daysAgo(startedDaysAgo),
        finished_at: status === 'importing' ? null : daysAgo(startedDaysAgo),
      })
      .returning('id')) as { id: number }[];
    return row!.id;
  }

  async function anEstate(id: string, attachment: string, archived: boolean): Promise<void> {
    const [e] = (await db('estates')
      .insert({
        tenant_id: 'gc',
        source: 'IMV',
        source_id: id,
        external_number: `IMVO-ID-${id}`,
        user_name: 'skoch',
        warning_note: 'IMV Import',
        data: '{}',
        content_hash: id,
        archived,
      })
      .returning('id')) as { id: number }[];
    await db('estate_attachments').insert({ estate_id: e!.id, position: 0, group: 'BILD', sha256: attachment, size: 10 });
  }

  beforeAll(async () => {
    db = database.pool(4);
    await db('tenants').insert({ id: 'gc', name: 'gc' });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `imv-gc-${kind}-`));
    store = kind === 'fs' ? new FsFileStore(dir) : new PgFileStore(db, dir);

    await anImport(await stored('expired transfer', 100), 100);
    await anImport(await stored('transfer of 10 days ago', 100), 10);
    const replayed = await anImport(await stored('replayed transfer', 200), 200, 'failed');
    await anImport(hashes['replayed transfer']!, 5, 'imported', replayed);
    await anImport(await stored('transfer still importing', 200), 200, 'importing');
    await anEstate('live', await stored('attachment of an estate', 300), false);
    await anEstate('archived', await stored('attachment of an archived estate', 300), true);
    await stored('former attachment', 120);
    await stored('stored an hour ago', 1 / 24);
  });

  const present = async () => {
    const out: string[] = [];
    for (const [name, sha256] of Object.entries(hashes)) if (await store.has(sha256)) out.push(name);
    return out.sort();
  };

  it('a dry run counts what would go and removes nothing', async () => {
    const r = await collectGarbage(db, store, { retentionDays: 90, dryRun: true });
    expect(r).toMatchObject({ examined: 8, removed: 2, referenced: 5, recent: 1 });
    expect((await present()).length).toBe(8);
  });

  it('removes expired transfers and content nothing refers to; keeps what imports within the retention, running imports and estates need', async () => {
    const r = await collectGarbage(db, store, { retentionDays: 90 });
    expect(r).toMatchObject({ examined: 8, removed: 2, referenced: 5, recent: 1 });
    expect(r.removedBytes).toBe(Buffer.byteLength(`expired transfer ${kind}`) + Buffer.byteLength(`former attachment ${kind}`));
    expect(await present()).toEqual(
      [
        'transfer of 10 days ago',
        'replayed transfer',
        'transfer still importing',
        'attachment of an estate',
        'attachment of an archived estate',
        'stored an hour ago',
      ].sort(),
    );
    // A shorter retention lets the 10-day-old and the replayed transfer go; estates keep theirs.
    const shorter = await collectGarbage(db, store, { retentionDays: 3 });
    expect(shorter).toMatchObject({ removed: 2, referenced: 3, recent: 1 });
    expect(await present()).toEqual(['attachment of an archived estate', 'attachment of an estate', 'stored an hour ago', 'transfer still importing']);
  });

  it('keeps content that is touched again (fetched for a new import) while the collection decides', async () => {
    const sha256 = await stored('fetched again', 100);
    // What fetch does before it reads content it has: the store marks it used.
    expect(await store.touch(sha256)).toBe(true);
    const r = await collectGarbage(db, store, { retentionDays: 90 });
    expect(r.removed).toBe(0);
    expect(await store.has(sha256)).toBe(true);
  });
});

/**
 * The real collection beside a put of the same content into the `fs` store: the collector's store runs
 * the put (another worker's store on the same folder) after the collection decided the blob is unused,
 * before it is deleted. The put's report holds: the content reads back. (test/store/fs-store-gc-race.unit.test.ts
 * has every step and every put path.)
 */
describe('garbage collection of the fs file store, a put in the middle of a removal', () => {
  const database = useDatabase({ poolMax: 1 });
  let db: Db;

  beforeAll(() => {
    db = database.pool(2);
  });

  it('a picture stored again while the collection removes it stays stored', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-gc-fs-race-'));
    const worker = new FsFileStore(dir);
    const picture = Buffer.from('Grundriss, seen again after a day');
    const { sha256 } = await worker.putBuffer(picture);
    fs.utimesSync(worker.pathOf(sha256), daysAgo(2), daysAgo(2));
    let reported: unknown;
    class Collector extends FsFileStore {
      protected override async collecting(_sha256: string, step: 'detached' | 'decided'): Promise<void> {
        if (step === 'decided') reported = await worker.putBuffer(picture);
      }
    }
    const r = await collectGarbage(db, new Collector(dir), { retentionDays: 90 });
    expect(r).toMatchObject({ examined: 1, removed: 1 });
    expect(reported).toEqual({ sha256, size: picture.length });
    expect(await worker.size(sha256)).toBe(picture.length);
    const local = await worker.openLocal(sha256);
    expect(fs.readFileSync(local.path).equals(picture)).toBe(true);
    await local.release();
    // Stored now: the next collection keeps it.
    expect(await collectGarbage(db, worker, { retentionDays: 90 })).toMatchObject({ examined: 1, removed: 0, recent: 1 });
  });
});
