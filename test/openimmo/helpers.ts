/**
 * Test helpers: a ZIP crafter for archives that break the format on purpose, and builders for OpenImmo
 * transfers. Well-formed ZIPs come from yazl (test/support/zip.ts).
 */
import { crc32, deflateRawSync } from 'node:zlib';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readTransferBuffer, type ReaderOptions } from '../../openimmo/reader';
import type { TransferEvent, TransferObject } from '../../openimmo/types';

// ---------------------------------------------------------------------------------------------------------
// Hand-made ZIP records. Only for malformed archives, which no correct writer (yazl included) makes:
// sizes that lie, an "encrypted" flag over plain data, names with `..`, absolute or with a backslash,
// central records that share one local entry. Every hostile archive is built in the test, byte by byte.

export interface RecordSpec {
  name: Buffer;
  crc: number;
  /** Bytes of the (compressed) data that follows the local header. */
  compressedSize: number;
  /** Declared uncompressed size: the truth, or a lie. */
  size: number;
  /** 0 = stored, 8 = deflated. */
  method: 0 | 8;
  /** General purpose flags: 0x800 (UTF-8 names) is always set. */
  flags?: number;
}

/** A local file header followed by its name; the entry's data goes right after. */
export function localHeader(r: RecordSpec): Buffer {
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(20, 4);
  h.writeUInt16LE(0x800 | (r.flags ?? 0), 6);
  h.writeUInt16LE(r.method, 8);
  h.writeUInt16LE(0, 10);
  h.writeUInt16LE(0x21, 12);
  h.writeUInt32LE(r.crc, 14);
  h.writeUInt32LE(r.compressedSize, 18);
  h.writeUInt32LE(r.size, 22);
  h.writeUInt16LE(r.name.length, 26);
  h.writeUInt16LE(0, 28);
  return Buffer.concat([h, r.name]);
}

/** A central directory record (made by Unix, so `unixMode` counts) pointing at the local header at `offset`. */
export function centralRecord(r: RecordSpec, unixMode: number, offset: number): Buffer {
  const c = Buffer.alloc(46);
  c.writeUInt32LE(0x02014b50, 0);
  c.writeUInt16LE((3 << 8) | 20, 4);
  c.writeUInt16LE(20, 6);
  c.writeUInt16LE(0x800 | (r.flags ?? 0), 8);
  c.writeUInt16LE(r.method, 10);
  c.writeUInt16LE(0, 12);
  c.writeUInt16LE(0x21, 14);
  c.writeUInt32LE(r.crc, 16);
  c.writeUInt32LE(r.compressedSize, 20);
  c.writeUInt32LE(r.size, 24);
  c.writeUInt16LE(r.name.length, 28);
  c.writeUInt32LE((unixMode << 16) >>> 0, 38);
  c.writeUInt32LE(offset, 42);
  return Buffer.concat([c, r.name]);
}

/** The end of central directory record. */
export function endOfCentralDirectory(entries: number, centralSize: number, centralOffset: number): Buffer {
  const e = Buffer.alloc(22);
  e.writeUInt32LE(0x06054b50, 0);
  e.writeUInt16LE(entries, 8);
  e.writeUInt16LE(entries, 10);
  e.writeUInt32LE(centralSize, 12);
  e.writeUInt32LE(centralOffset, 16);
  return e;
}

export interface CraftedEntry {
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

/** An archive with whatever names, flags and sizes the test asks for, unchecked. */
export function craftZip(entries: CraftedEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const raw = typeof e.data === 'string' ? Buffer.from(e.data, 'utf8') : (e.data ?? Buffer.alloc(0));
    const method = e.name.endsWith('/') ? 0 : (e.method ?? 8);
    const body = method === 8 ? deflateRawSync(raw) : raw;
    const r: RecordSpec = {
      name: Buffer.from(e.name, 'utf8'),
      crc: crc32(raw),
      compressedSize: body.length,
      size: e.declaredSize ?? raw.length,
      method,
      flags: e.encrypted ? 1 : 0,
    };
    const local = localHeader(r);
    locals.push(local, body);
    centrals.push(centralRecord(r, e.unixMode ?? (e.name.endsWith('/') ? 0o40755 : 0o100644), offset));
    offset += local.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  return Buffer.concat([...locals, cd, endOfCentralDirectory(entries.length, cd.length, offset)]);
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
