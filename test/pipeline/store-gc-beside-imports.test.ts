/**
 * Garbage collection of the PostgreSQL file store running beside imports (issue 17, defect 3): pictures
 * seen again more than a day after their last use, while `store gc` runs, must still be stored when the
 * estates' attachment rows refer to them.
 *
 * Earlier transfers brought the pictures, a later one removed them from their estates, and the ledger
 * and the store are aged past retention and grace: every one of them may be collected. A batch of new
 * files then brings the same pictures again, most of them recurring in several files, one of them
 * (`einmal`) once. The first collection holds that picture's row in its transaction (as its DELETE
 * does while it runs) until the import is seen waiting on it, so its removal lands in the middle of the
 * put of that very content, which no later file stores again; then collections keep running until the
 * batch ends, racing the recurring pictures' puts as they come. Every attachment row's content must
 * read back.
 */
import { describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import { createFileStore } from '../../store/open-store';
import { PgFileStore } from '../../store/pg-store';
import { collectGarbage } from '../../store/gc';
import { zipOf } from '../support/zip';
import { uniqueId, uploadTo, usePipeline } from '../support/harness';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const png = (label: string, extra: number) =>
  Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(label), randomBytes(extra)]);

function immobilie(id: string, pictures: string[]): string {
  const anhaenge = pictures
    .map(
      (p) => `<anhang location="EXTERN" gruppe="BILD"><anhangtitel>${p}</anhangtitel><format>png</format><daten><pfad>bilder/${p}.png</pfad></daten></anhang>`,
    )
    .join('');
  return `<immobilie>
  <objektkategorie><nutzungsart WOHNEN="1"/><vermarktungsart KAUF="1"/><objektart><wohnung/></objektart></objektkategorie>
  <geo><plz>24103</plz><ort>Kiel</ort></geo>
  <kontaktperson><name>Sammler</name><vorname>Gero</vorname></kontaktperson>
  <anhaenge>${anhaenge}</anhaenge>
  <verwaltung_techn><objektnr_extern>${id}</objektnr_extern><stand_vom>2026-12-01</stand_vom></verwaltung_techn>
  <user_defined_simplefield feldname="onoffice_benutzer">skoch</user_defined_simplefield>
</immobilie>`;
}

const transfer = (objects: string[]) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<openimmo><uebertragung umfang="TEIL" version="1.2.7"/><anbieter><openimmo_anid>IMV</openimmo_anid>${objects.join('\n')}</anbieter></openimmo>`;

/** A ZIP of the objects (id → picture names) with those pictures. */
async function zipWith(objects: [string, string[]][], pool: Map<string, Buffer>) {
  const names = [...new Set(objects.flatMap(([, p]) => p))];
  return zipOf([
    { name: 'export.xml', data: Buffer.from(transfer(objects.map(([id, p]) => immobilie(id, p)))) },
    ...names.map((n) => ({ name: `bilder/${n}.png`, data: pool.get(n)! })),
  ]);
}

async function bytesOf(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

describe('store gc beside imports (postgres file store)', () => {
  const tenant = uniqueId('gc-beside');
  const ctx = usePipeline({
    // Regular activities, two objects per chunk: attachment steps of several files run at once.
    tenants: [{ id: tenant, options: { localStepsMaxBytes: 0, chunkSize: 2 } }],
    fileStore: 'postgres',
    identities: ['gc-worker-1', 'gc-worker-2'],
    poolMax: 6,
  });

  it('pictures stored again while collections remove them: every attachment reads back', async () => {
    // Small pictures (one statement each) and one above a chunk (1 MiB; touched first, then streamed).
    const pool = new Map<string, Buffer>([
      ...Array.from({ length: 7 }, (_, i) => [`bild-${i}`, png(`bild-${i}`, 20_000 + i)] as [string, Buffer]),
      ['gross', png('gross', 1300 * 1024)],
    ]);
    const names = [...pool.keys()];
    const einmal = png('einmal', 30_000);
    pool.set('einmal', einmal);
    const store = createFileStore(ctx.cfg, ctx.db);

    // The past: estates had these pictures, then a transfer without pictures emptied their sets.
    const old = [...pool.keys()].map((n, i) => [`alt-${i}`, [n]] as [string, string[]]);
    await uploadTo(tenant, 'frueher.zip', await zipWith(old, pool));
    expect((await ctx.batch(tenant)).imported).toBe(1);
    await uploadTo(tenant, 'ohne-bilder.xml', transfer(old.map(([id]) => immobilie(id, []))));
    expect((await ctx.batch(tenant)).imported).toBe(1);
    expect(await ctx.db('estate_attachments').count<{ n: string }[]>('* as n')).toEqual([{ n: 0 }]);
    // Long ago: the imports are past the retention, the pictures unused for two days.
    await ctx.db('import_files').update({ started_at: ctx.db.raw(`now() - interval '200 days'`), finished_at: ctx.db.raw(`now() - interval '200 days'`) });
    await ctx.db('store_blobs').update({ used_at: ctx.db.raw(`now() - interval '2 days'`) });
    const eligible = pool.size + 2; // the pictures and both transfers
    expect(await collectGarbage(ctx.db, store, { retentionDays: 90, dryRun: true })).toMatchObject({ removed: eligible });

    // Now: twelve files, two objects each, three pictures per object, each picture in several files;
    // one object of the middle file has `einmal` too, the only time it comes again.
    const files = 12;
    for (let f = 0; f < files; f++) {
      const objects = [0, 1].map((o) => [`neu-${f}-${o}`, [0, 1, 2].map((k) => names[(f + 3 * o + k) % names.length]!)] as [string, string[]]);
      if (f === files / 2) objects[0]![1].push('einmal');
      await uploadTo(tenant, `neu-${String(f).padStart(2, '0')}.zip`, await zipWith(objects, pool));
    }

    // The first collection holds `einmal`'s row until the import waits on it, then collects.
    const trx = await ctx.db.transaction();
    const pid = Number((await trx.raw('SELECT pg_backend_pid() AS pid')).rows[0].pid);
    await trx.raw('SELECT 1 FROM store_blobs WHERE sha256 = ? FOR UPDATE', [sha(einmal)]);
    let batchDone = false;
    const batch = ctx.batch(tenant).finally(() => (batchDone = true));
    const waitedOn = async (): Promise<void> => {
      for (;;) {
        const r = await ctx.db.raw('SELECT count(*) AS n FROM pg_stat_activity WHERE ? = ANY (pg_blocking_pids(pid))', [pid]);
        if (Number(r.rows[0].n) > 0) return;
        if (batchDone) throw new Error('the batch ended without any import waiting on the picture the collection held');
        await delay(10);
      }
    };
    await waitedOn();
    const first = await collectGarbage(trx, new PgFileStore(trx, ctx.cfg.fileStore.dir), { retentionDays: 90 });
    // The removal hit content an import was storing at that moment (and whatever else was still aged).
    expect(
      await trx('store_blobs')
        .where({ sha256: sha(einmal) })
        .first('id'),
    ).toBeUndefined();
    await trx.commit();
    expect(first.removed).toBeGreaterThanOrEqual(1);

    let collections = 1;
    while (!batchDone) {
      await collectGarbage(ctx.db, store, { retentionDays: 90 });
      collections++;
      await delay(50);
    }
    const summary = await batch;
    expect(summary.imported).toBe(files);
    expect(collections).toBeGreaterThan(1);

    // And once more after the batch: nothing an estate refers to goes.
    await collectGarbage(ctx.db, store, { retentionDays: 90 });
    const rows = (await ctx.db('estate_attachments').select('sha256')) as { sha256: string }[];
    expect(rows.length).toBe(files * 2 * 3 + 1);
    const byHash = new Map([...pool].map(([name, b]) => [sha(b), { name, b }]));
    const missing: string[] = [];
    for (const h of new Set(rows.map((r) => r.sha256))) {
      const content = await store
        .get(h)
        .then(bytesOf)
        .catch(() => null);
      const picture = byHash.get(h);
      if (!picture || !content?.equals(picture.b)) missing.push(picture?.name ?? h);
    }
    expect(missing).toEqual([]);
  }, 180_000);
});
