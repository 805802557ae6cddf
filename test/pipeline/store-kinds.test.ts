/**
 * Both file stores through the whole pipeline: ZIP pictures, inline (base64) attachments and the
 * transfer itself land in the configured store and read back by hash, whether the steps run as
 * local activities on one worker or as regular activities in several chunks; the same content is
 * stored once. With the PostgreSQL store nothing is stored on the worker's disk.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { createFileStore } from '../../store/file-store';
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
});
