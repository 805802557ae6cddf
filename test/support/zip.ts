/**
 * Well-formed ZIPs for tests, written by yazl (the writer from the author of yauzl, which the reader
 * uses). Archives that break the format on purpose (sizes that lie, an encrypted flag without
 * encryption, names with `..` or absolute, entries that overlap) cannot come from a correct writer:
 * test/openimmo/helpers.ts crafts those byte by byte.
 */
import fs from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { buffer } from 'node:stream/consumers';
import { ZipFile } from 'yazl';

export interface ZipEntry {
  /** Path inside the archive; a name ending in `/` is a directory. */
  name: string;
  data?: Buffer | string;
  /** Stored instead of deflated. */
  stored?: boolean;
  /** Unix mode with the file type (e.g. 0o120777 for a symbolic link). */
  mode?: number;
}

/** A fixed time, so the same entries make the same bytes. */
const MTIME = new Date('2026-11-25T10:00:00Z');

function add(zip: ZipFile, e: ZipEntry): void {
  const mode = e.mode === undefined ? {} : { mode: e.mode };
  if (e.name.endsWith('/')) {
    zip.addEmptyDirectory(e.name, { mtime: MTIME, ...mode });
    return;
  }
  const data = typeof e.data === 'string' ? Buffer.from(e.data, 'utf8') : (e.data ?? Buffer.alloc(0));
  zip.addBuffer(data, e.name, { mtime: MTIME, compress: !e.stored, ...mode });
}

/** The archive's bytes. */
export async function zipOf(entries: ZipEntry[]): Promise<Buffer> {
  const zip = new ZipFile();
  for (const e of entries) add(zip, e);
  zip.end();
  return buffer(zip.outputStream);
}

/**
 * Writes an archive of one entry streamed from `chunks` (never held whole: a big transfer) to `file`;
 * sizes and CRC follow the data in a data descriptor. Returns the archive's size.
 */
export async function zipFileStreaming(file: string, name: string, chunks: AsyncIterable<Buffer>, compressionLevel = 1): Promise<number> {
  const zip = new ZipFile();
  zip.addReadStreamLazy(name, { mtime: MTIME, compressionLevel }, (cb) => cb(null, Readable.from(chunks)));
  zip.end();
  await pipeline(zip.outputStream, fs.createWriteStream(file));
  return fs.statSync(file).size;
}
