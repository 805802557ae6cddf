/**
 * The multi-host test's inbox: one-object transfers (IMV's everyday files) and a few ZIPs with
 * pictures, small enough (under localStepsMaxBytes, 256 KiB) to run every step as a local activity
 * on the worker that runs their workflow, and optionally one big ZIP (thousands of objects, some with
 * pictures) whose steps run as regular activities on any host. Objects are disjoint, so the files may
 * run in any order. No vitest here: test/multihost/bench.ts uses it too.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { Client as FtpClient } from 'basic-ftp';
import { transferOf } from '../../bench/transfers';
import { FTP_PASSWORD, FTP_USER } from '../support/vsftpd';
import { zipOf } from '../support/zip';

export interface InboxFile {
  name: string;
  content: Buffer;
}

export interface Picture {
  name: string;
  data: Buffer;
  sha256: string;
}

/** One object, IMV-shaped (bench/transfers' template), its own owner; users alternate. */
const oneObject = (k: number) => transferOf([{ id: 20_000 + 10 * k, n: k, owner: 20_000 + 10 * k, user: k % 2 ? 'skoch' : 'mmustermann' }]);

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A PNG-signed picture of `size` bytes, different for every label (deterministic). */
function picture(label: string, size: number): Buffer {
  const head = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const body = Buffer.alloc(size - head.length);
  let x = createHash('sha256').update(label).digest().readUInt32LE(0) || 1;
  for (let i = 0; i < body.length; i++) {
    // xorshift: incompressible, so the ZIP is about as big as its pictures.
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    body[i] = x & 0xff;
  }
  return Buffer.concat([head, body]);
}

const anhang = (gruppe: string, titel: string, file: string) =>
  `<anhang location="EXTERN" gruppe="${gruppe}"><anhangtitel>${titel}</anhangtitel><format>png</format><daten><pfad>${file}</pfad></daten></anhang>`;

/**
 * `plain` one-object XML files and `zips` one-object ZIPs with two pictures each (~`pictureBytes`
 * each). Object ids: 20000 + 10·k.
 */
export async function inbox(o: {
  plain: number;
  zips?: number;
  pictureBytes?: number;
  /** One ZIP `mh-big.zip` of this many objects, every `pictureEvery`-th with a picture. */
  big?: { objects: number; pictureEvery: number };
}): Promise<{ files: InboxFile[]; pictures: Picture[]; objects: number }> {
  const files: InboxFile[] = [];
  const pictures: Picture[] = [];
  for (let k = 0; k < o.plain; k++) {
    files.push({ name: `mh-${String(k + 1).padStart(3, '0')}.xml`, content: oneObject(k) });
  }
  for (let z = 0; z < (o.zips ?? 0); z++) {
    const k = o.plain + z;
    const firstId = 20_000 + 10 * k;
    const pics = [`bilder/aussen-${firstId}.png`, `bilder/grundriss-${firstId}.png`].map((name) => {
      const data = picture(name, o.pictureBytes ?? 40_000);
      return { name, data, sha256: sha256(data) };
    });
    pictures.push(...pics);
    const xml = oneObject(k)
      .toString('utf8')
      .replace(
        '      <verwaltung_objekt>',
        `      <anhaenge>${anhang('TITELBILD', 'Außen', pics[0]!.name)}${anhang('GRUNDRISS', 'Grundriss', pics[1]!.name)}</anhaenge>\n      <verwaltung_objekt>`,
      );
    if (!xml.includes('<anhaenge>')) throw new Error('transfer template changed: no place for <anhaenge>');
    const zip = await zipOf([{ name: 'objekt.xml', data: xml }, ...pics.map((p) => ({ name: p.name, data: p.data, stored: true }))]);
    files.push({ name: `mh-zip-${String(z + 1).padStart(2, '0')}.zip`, content: zip });
  }
  let objects = o.plain + (o.zips ?? 0);
  if (o.big) {
    const big = await bigZip(objects, o.big.objects, o.big.pictureEvery, o.pictureBytes ?? 40_000);
    files.push(big.file);
    pictures.push(...big.pictures);
    objects += o.big.objects;
  }
  return { files, pictures, objects };
}

/** `count` objects from index `from` in one ZIP; every `every`-th object has a picture of its own. */
async function bigZip(from: number, count: number, every: number, pictureBytes: number): Promise<{ file: InboxFile; pictures: Picture[] }> {
  const objs = Array.from({ length: count }, (_, i) => {
    const k = from + i;
    return { id: 20_000 + 10 * k, n: k, owner: 20_000 + 10 * k, user: k % 2 ? 'skoch' : 'mmustermann' };
  });
  const pictures: Picture[] = [];
  let i = 0;
  const xml = transferOf(objs)
    .toString('utf8')
    .replace(/ {6}<verwaltung_objekt>/g, (m) => {
      const k = i++;
      if (k % every) return m;
      const name = `bilder/big-${20_000 + 10 * (from + k)}.png`;
      const data = picture(name, pictureBytes);
      pictures.push({ name, data, sha256: sha256(data) });
      return `      <anhaenge>${anhang('TITELBILD', 'Außen', name)}</anhaenge>\n${m}`;
    });
  if (i !== count) throw new Error(`transfer template changed: ${i} places for <anhaenge> in ${count} objects`);
  const zip = await zipOf([{ name: 'objekte.xml', data: xml }, ...pictures.map((p) => ({ name: p.name, data: p.data, stored: true }))]);
  return { file: { name: 'mh-big.zip', content: zip }, pictures };
}

/** Uploads the files into the tenant's folder on the test's FTP server (over its service address). */
export async function uploadAll(host: string, port: number, tenant: string, files: InboxFile[]): Promise<void> {
  const c = new FtpClient(15_000);
  await c.access({ host, port, user: FTP_USER, password: FTP_PASSWORD });
  try {
    await c.ensureDir(`/${tenant}`);
    for (const f of files) await c.uploadFrom(Readable.from([f.content]), `/${tenant}/${f.name}`);
  } finally {
    c.close();
  }
}
