/**
 * Both file stores through the whole pipeline: ZIP pictures, inline (base64) attachments and the
 * transfer itself land in the configured store and read back by hash, whether the steps run as
 * local activities on one worker or as regular activities in several chunks; the same content is
 * stored once. With the PostgreSQL store nothing is stored on the worker's disk.
 */
import { describe, expect, inject, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { createFileStore } from '../../store/open-store';
import { collectGarbage } from '../../store/gc';
import { startReplay } from '../../ops/replay';
import { ensureGcSchedule, GC_SCHEDULE_ID } from '../../ops/schedule';
import type { GcResult } from '../../store/gc';
import { zipOf } from '../support/zip';
import { uniqueId, uploadTo, usePipeline } from '../support/harness';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const png = (label: string, extra = 0) =>
  Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(label), randomBytes(extra)]);

function immobilie(id: string, anhaenge: string): string {
  return `<immobilie>
  <objektkategorie><nutzungsart WOHNEN="1"/><vermarktungsart KAUF="1"/><objektart><wohnung/></objektart></objektkategorie>
  <geo><plz>24103</plz><ort>Kiel</ort></geo>
  <kontaktperson><name>Speicher</name><vorname>Sina</vorname></kontaktperson>
  <anhaenge>${anhaenge}</anhaenge>
  <verwaltung_techn><objektnr_extern>${id}</objektnr_extern><stand_vom>2026-12-01</stand_vom></verwaltung_techn>
  <user_defined_simplefield feldname="onoffice_benutzer">skoch</user_defined_simplefield>
</immobilie>`;
}

const anhang = (gruppe: string, inner: string) =>
  `<anhang location="EXTERN" gruppe="${gruppe}"><anhangtitel>${gruppe}</anhangtitel><format>png</format>${inner}</anhang>`;

function* walk(dir: string): Generator<string> {
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else yield p;
  }
}

async function bytesOf(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const p of stream) parts.push(p as Buffer);
  return Buffer.concat(parts);
}

describe.each(['fs', 'postgres'] as const)('the %s file store through the pipeline', (kind) => {
  const local = uniqueId(`store-${kind}-local`);
  const chunked = uniqueId(`store-${kind}-chunked`);
  const ctx = usePipeline({
    tenants: [
      { id: local, options: { localStepsMaxBytes: 4 * 1024 * 1024 } },
      // Regular activities, three objects per chunk: parse and each attachment chunk may run apart.
      { id: chunked, options: { localStepsMaxBytes: 0, chunkSize: 3 } },
    ],
    fileStore: kind,
    identities: [`${kind}-worker-1`, `${kind}-worker-2`],
  });

  it('ZIP pictures, inline attachments and the transfer read back by hash from the store; the same content is stored once', async () => {
    // One picture bigger than a PostgreSQL chunk (1 MiB), one shared by every object, one per object.
    const title = png('titel', 1536 * 1024);
    const shared = png('lageplan');
    const own = Array.from({ length: 8 }, (_, i) => png(`grundriss-${i}`, 2000));
    const inline = png('inline', 500);
    const objects = own.map((_, i) =>
      immobilie(
        `st-${i}`,
        [
          anhang('TITELBILD', '<daten><pfad>bilder/titel.png</pfad></daten>'),
          anhang('BILD', '<daten><pfad>bilder/lageplan.png</pfad></daten>'),
          anhang('GRUNDRISS', `<daten><pfad>bilder/grundriss-${i}.png</pfad></daten>`),
          ...(i === 0 ? [anhang('BILD', `<anhanginhalt>${inline.toString('base64')}</anhanginhalt>`)] : []),
        ].join(''),
      ),
    );
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<openimmo><uebertragung umfang="TEIL" version="1.2.7"/><anbieter><openimmo_anid>IMV</openimmo_anid>${objects.join('\n')}</anbieter></openimmo>`;
    const zip = await zipOf([
      { name: 'export.xml', data: Buffer.from(xml) },
      { name: 'bilder/titel.png', data: title },
      { name: 'bilder/lageplan.png', data: shared },
      ...own.map((data, i) => ({ name: `bilder/grundriss-${i}.png`, data })),
    ]);
    const pictures = [title, shared, inline, ...own];

    for (const tenant of [local, chunked]) {
      await uploadTo(tenant, 'mit-bildern.zip', zip);
      const summary = await ctx.batch(tenant);
      expect(summary.imported, tenant).toBe(1);
      const stored = (await ctx
        .db('estate_attachments as a')
        .join('estates as e', 'e.id', 'a.estate_id')
        .where('e.tenant_id', tenant)
        .pluck('a.sha256')) as string[];
      expect(stored.length).toBe(own.length * 3 + 1);
      expect(new Set(stored)).toEqual(new Set(pictures.map(sha)));
    }

    const store = createFileStore(ctx.cfg, ctx.db);
    expect(store.kind).toBe(kind);
    for (const p of [...pictures, zip]) expect((await bytesOf(await store.get(sha(p)))).equals(p)).toBe(true);
    const listed: string[] = [];
    for await (const b of store.list()) listed.push(b.sha256);
    // Two tenants, the same ZIP: each picture and the transfer once.
    expect(listed.sort()).toEqual([...pictures, zip].map(sha).sort());

    const onDisk = [...walk(ctx.cfg.fileStore.dir)].map((f) => path.basename(f));
    const blobs = Number((await ctx.db('store_blobs').count<{ n: string }[]>('* as n'))[0]!.n);
    if (kind === 'postgres') {
      expect(blobs).toBe(pictures.length + 1);
      // No picture on the worker's disk; at most a local copy of the ZIP being read.
      for (const p of pictures) expect(onDisk).not.toContain(sha(p));
      expect(onDisk.filter((n) => n !== sha(zip))).toEqual([]);
    } else {
      expect(blobs).toBe(0);
      for (const p of pictures) expect(onDisk).toContain(sha(p));
    }
  });

  it('a replay whose transfer garbage collection removed fetches it from processed/ again, and fails naming the retention when that is gone too', async () => {
    const store = createFileStore(ctx.cfg, ctx.db);
    const rows = (await ctx.db('import_files').whereIn('tenant_id', [local, chunked]).whereNull('replay_of').orderBy('id')) as {
      id: number;
      tenant_id: string;
      sha256: string;
      archived_path: string;
    }[];
    expect(rows.map((r) => r.tenant_id)).toEqual([local, chunked]);
    const transfer = rows[0]!.sha256;
    expect(rows[1]!.sha256).toBe(transfer);
    // The local tenant's archived copy is gone from the FTP server too.
    fs.rmSync(path.join(inject('ftpRoot'), rows[0]!.archived_path));
    // 100 days later: the imports are older than the retention, the estates keep their pictures.
    const gc = await collectGarbage(ctx.db, store, { retentionDays: ctx.cfg.fileStore.retentionDays, now: new Date(Date.now() + 100 * 24 * 3600_000) });
    expect(gc.removed).toBe(1);
    expect(await store.has(transfer)).toBe(false);

    const failed = await startReplay(ctx.cfg, ctx.client, ctx.db, rows[0]!.id);
    await failed.handle.result().catch(() => undefined);
    const failedRow = await ctx.db('import_files').where({ replay_of: rows[0]!.id }).first('status', 'error_message');
    expect(failedRow.status).toBe('failed');
    expect(failedRow.error_message).toContain(`import ${rows[0]!.id} cannot be replayed: its transfer (sha256 ${transfer}) is no longer in the file store`);
    expect(failedRow.error_message).toContain('keeps transfers for 90 days after their last import (fileStore.retentionDays)');

    // The other tenant's archived copy is still on the server: its replay downloads it into the store again.
    const replayed = await startReplay(ctx.cfg, ctx.client, ctx.db, rows[1]!.id);
    const r = await replayed.handle.result();
    expect(r.outcome).toBe('imported');
    expect(r.counts.unchanged).toBe(8);
    expect(await store.has(transfer)).toBe(true);
  });

  it('the store-gc workflow collects through a worker; the schedule runs it every fileStore.gcIntervalHours, and 0 removes it', async () => {
    const r: GcResult = await ctx.client.workflow.execute('storeGc', {
      taskQueue: ctx.cfg.temporal.taskQueue,
      workflowId: uniqueId(`store-gc-${kind}`),
      args: [{ dryRun: true }],
    });
    // Eleven pictures and the transfer, all used just now.
    expect(r).toMatchObject({ examined: 12, removed: 0, recent: 12 });
    expect(await ensureGcSchedule(ctx.client, ctx.cfg)).toMatch(/^(created|updated)$/);
    const d = await ctx.client.schedule.getHandle(GC_SCHEDULE_ID).describe();
    expect(d.spec.intervals?.[0]?.every).toBe(24 * 3600_000);
    expect(d.action.type === 'startWorkflow' && d.action.workflowType).toBe('storeGc');
    expect(await ensureGcSchedule(ctx.client, { ...ctx.cfg, fileStore: { ...ctx.cfg.fileStore, gcIntervalHours: 0 } })).toBe('deleted');
  });
});
