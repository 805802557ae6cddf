/**
 * Test helpers: a tiny ZIP writer (so every hostile archive is built in the test, byte by byte) and
 * builders for OpenImmo transfers.
 */
import { deflateRawSync } from 'node:zlib';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTransferBuffer, type ReaderOptions } from '../../openimmo/reader';
import type { TransferEvent, TransferObject } from '../../openimmo/types';

// ---------------------------------------------------------------------------------------------------------
// ZIP writer

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf: Buffer): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

export interface ZipEntrySpec {
  name: string;
  data?: Buffer | string;
  /** 0 = stored, 8 = deflated (default). */
  method?: 0 | 8;
  /** Unix mode bits for externalFileAttributes (e.g. 0o120777 for a symlink). */
  unixMode?: number;
  /** Sets the "encrypted" flag (the data is not actually encrypted). */
  encrypted?: boolean;
  /** Lie about the uncompressed size in both headers. */
  declaredSize?: number;
}

export function buildZip(entries: ZipEntrySpec[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name, 'utf8');
    const raw = typeof e.data === 'string' ? Buffer.from(e.data, 'utf8') : (e.data ?? Buffer.alloc(0));
    const method = e.name.endsWith('/') ? 0 : (e.method ?? 8);
    const body = method === 8 ? deflateRawSync(raw) : raw;
    const crc = crc32(raw);
    const size = e.declaredSize ?? raw.length;
    const flags = 0x800 | (e.encrypted ? 1 : 0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(0, 10);
    local.writeUInt16LE(0x21, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, body);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4); // made by Unix, so the mode bits count
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(0, 12);
    central.writeUInt16LE(0x21, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(0, 30);
    central.writeUInt16LE(0, 32);
    central.writeUInt16LE(0, 34);
    central.writeUInt16LE(0, 36);
    const mode = e.unixMode ?? (e.name.endsWith('/') ? 0o40755 : 0o100644);
    central.writeUInt32LE((mode << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(0, 4);
  eocd.writeUInt16LE(0, 6);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  eocd.writeUInt16LE(0, 20);
  return Buffer.concat([...locals, cd, eocd]);
}

// ---------------------------------------------------------------------------------------------------------
// Transfers

export interface ObjectSpec {
  id?: string;
  aktion?: string | null;
  user?: string;
  body?: string;
}

export function immobilie(spec: ObjectSpec = {}): string {
  const aktion = spec.aktion === undefined ? '<aktion/>' : spec.aktion === null ? '' : `<aktion aktionart="${spec.aktion}"/>`;
  return `<immobilie>
  ${spec.body ?? ''}
  <verwaltung_techn>
    ${spec.id !== undefined ? `<objektnr_extern>${spec.id}</objektnr_extern>` : ''}
    ${aktion}
  </verwaltung_techn>
  ${spec.user !== undefined ? `<user_defined_simplefield feldname="onoffice_benutzer">${spec.user}</user_defined_simplefield>` : ''}
</immobilie>`;
}

export function transfer(objects: string[], opts: { anbieterBefore?: string; anbieterAfter?: string; header?: string } = {}): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<openimmo>
  ${opts.header ?? '<uebertragung art="OFFLINE" umfang="TEIL" modus="CHANGE" version="1.2.7" sendersoftware="test" timestamp="2026-11-20T09:15:00+01:00"/>'}
  <anbieter>
    ${opts.anbieterBefore ?? '<anbieternr>IMV</anbieternr>'}
    ${objects.join('\n')}
    ${opts.anbieterAfter ?? ''}
  </anbieter>
</openimmo>`;
}

export async function read(xml: string | Buffer, options?: ReaderOptions): Promise<TransferEvent[]> {
  return readTransferBuffer(typeof xml === 'string' ? Buffer.from(xml, 'utf8') : xml, options);
}

export function objectsOf(events: TransferEvent[]): TransferObject[] {
  return events.flatMap((e) => (e.type === 'object' ? [e.object] : []));
}

export async function readObjects(xml: string | Buffer, options?: ReaderOptions): Promise<TransferObject[]> {
  return objectsOf(await read(xml, options));
}

/** Runs `fn` with a temp directory that is removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'openimmo-test-'));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function writeTemp(dir: string, name: string, data: Buffer | string): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}

/** Catches the rejection of a promise (or the throw of an async iteration) for assertions. */
export async function caught(p: Promise<unknown>): Promise<Error & { type?: string; detail?: Record<string, unknown> }> {
  try {
    await p;
  } catch (e) {
    return e as Error & { type?: string };
  }
  throw new Error('expected a rejection');
}
