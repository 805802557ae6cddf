/**
 * ZIP transfers: exactly one OpenImmo XML plus its attachments (design §3).
 *
 * A ZIP comes from outside, so every entry is checked before anything is read: no traversal, absolute
 * paths, drive letters, symlinks or encryption, and limits against zip bombs. The sizes in the headers
 * are only a first filter: the streams count what they actually inflate and stop at the limits, because
 * headers can lie; an entry that inflates to more or fewer bytes than its header declares is rejected.
 */
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import * as yauzl from 'yauzl';
import { TransferError } from './errors';

export interface ZipLimits {
  /** Entries in the archive (directories included). */
  maxEntries: number;
  /** Uncompressed size of the XML entry. */
  maxXmlBytes: number;
  /** Uncompressed size of each other entry. */
  maxAttachmentBytes: number;
  /** Uncompressed size of all entries together. */
  maxTotalBytes: number;
  /** Uncompressed : compressed, checked for entries larger than `ratioMinBytes`. */
  maxCompressionRatio: number;
  /** Small entries (a page of repeated whitespace) compress extremely well and are harmless. */
  ratioMinBytes: number;
}

const MiB = 1024 * 1024;

export const DEFAULT_ZIP_LIMITS: Readonly<ZipLimits> = Object.freeze({
  maxEntries: 10_000,
  maxXmlBytes: 256 * MiB,
  maxAttachmentBytes: 64 * MiB,
  maxTotalBytes: 1024 * MiB,
  maxCompressionRatio: 100,
  ratioMinBytes: 1 * MiB,
});

/** Entry names are the sender's (up to 64 KiB each): shortened in messages and details. */
const MAX_NAME_IN_MESSAGE = 200;
function cap(name: string): string {
  return name.length > MAX_NAME_IN_MESSAGE ? `${name.slice(0, MAX_NAME_IN_MESSAGE)}…` : name;
}
function q(name: string): string {
  return `"${cap(name)}"`;
}

function rejected(message: string, detail?: Record<string, string | number>): TransferError {
  return new TransferError('ZipRejected', message, detail);
}

// ---------------------------------------------------------------------------------------------------------
// Entry names (pure)

/** Why an entry name is unsafe, or null. Backslashes are already slashes here (Windows zippers). */
export function unsafeEntryName(name: string): string | null {
  if (name.includes('\0')) return 'a NUL character in the name';
  if (name.startsWith('/')) return 'an absolute path';
  if (/^[a-zA-Z]:/.test(name)) return 'a drive letter';
  if (name.split('/').some((seg) => seg === '..')) return 'a path leading outside the archive (..)';
  return null;
}

/** macOS resource forks and dot-files ride along in real ZIPs; they are never the transfer. */
export function isIgnorableEntry(name: string): boolean {
  return name.split('/').some((seg) => seg === '__MACOSX' || seg.startsWith('.'));
}

export function isXmlEntryName(name: string): boolean {
  return !name.endsWith('/') && name.toLowerCase().endsWith('.xml') && !isIgnorableEntry(name);
}

/** Normalises a path as written in the XML or the ZIP: URL-encoding, backslashes, `./`, case. */
function normalizePath(p: string): string {
  const parts: string[] = [];
  for (const seg of p.replace(/\\/g, '/').split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (parts.length === 0) return ''; // leads outside the archive: matches nothing
      parts.pop();
      continue;
    }
    parts.push(seg);
  }
  return parts.join('/').toLowerCase();
}

function decodeUrl(p: string): string | null {
  if (!p.includes('%')) return null;
  try {
    return decodeURIComponent(p);
  } catch {
    return null;
  }
}

export interface AttachmentIndex {
  /** The entry name a path from the XML refers to, or null. */
  resolve(pathFromXml: string): string | null;
  /**
   * Every entry the path matches by the rule that decides (first = the one `resolve` returns): more
   * than one when the ZIP holds the same name twice, names that differ only in case, or several
   * files ending in the path. Empty when nothing matches.
   */
  candidates(pathFromXml: string): string[];
}

/**
 * Resolves attachment paths as exporters write them: relative to the XML's folder first (XML at
 * `export/openimmo.xml` refers to `bilder/a.png` stored as `export/bilder/a.png`), then from the
 * archive root, then as a path suffix anywhere in the archive; case-insensitively, after URL-decoding,
 * with backslashes as slashes. Where several entries match at the same step, the first in the archive
 * wins (deterministic), and `candidates` lists them all so the reader can warn.
 */
export function createAttachmentIndex(entryNames: readonly string[], xmlEntryName: string | null): AttachmentIndex {
  const byPath = new Map<string, string[]>();
  const files = entryNames.filter((n) => !n.endsWith('/') && n !== xmlEntryName && !isIgnorableEntry(n));
  for (const name of files) {
    const key = normalizePath(name);
    if (!key) continue;
    const list = byPath.get(key);
    if (list) list.push(name);
    else byPath.set(key, [name]);
  }
  const xmlDir = xmlEntryName && xmlEntryName.includes('/') ? xmlEntryName.slice(0, xmlEntryName.lastIndexOf('/')) : '';

  const lookup = (raw: string): string[] => {
    let p = raw.trim();
    // `file:` URLs and leading slashes mean "from the top of whatever the exporter had": try relative.
    p = p.replace(/^file:\/*/i, '');
    const rel = normalizePath(p);
    if (!rel) return [];
    if (xmlDir) {
      const hit = byPath.get(normalizePath(`${xmlDir}/${p.replace(/^[/\\]+/, '')}`));
      if (hit) return hit;
    }
    const hit = byPath.get(rel);
    if (hit) return hit;
    const suffix = `/${rel}`;
    const out: string[] = [];
    for (const [key, names] of byPath) if (key.endsWith(suffix)) out.push(...names);
    return out;
  };

  const candidates = (pathFromXml: string): string[] => {
    if (!pathFromXml || !pathFromXml.trim()) return [];
    const decoded = decodeUrl(pathFromXml);
    // The decoded form first (`Grundriss%204OG.png`); the raw form covers names with a literal `%`.
    const first = decoded !== null ? lookup(decoded) : [];
    return first.length ? first : lookup(pathFromXml);
  };

  return {
    resolve: (pathFromXml) => candidates(pathFromXml)[0] ?? null,
    candidates,
  };
}

/**
 * The entries an ambiguous path matched, for a warning: `"bilder/a.jpg" twice` or
 * `"bilder/a.jpg", "Bilder/A.JPG"` (at most five names, each shortened).
 */
export function describeCandidates(names: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const n of names) counts.set(n, (counts.get(n) ?? 0) + 1);
  const shown = [...counts].slice(0, 5).map(([n, k]) => `${q(n)}${k === 2 ? ' twice' : k > 2 ? ` ${k} times` : ''}`);
  const more = counts.size > shown.length ? ` and ${counts.size - shown.length} more` : '';
  return shown.join(', ') + more;
}

// ---------------------------------------------------------------------------------------------------------
// Opening and checking the archive

interface CheckedEntry {
  name: string;
  entry: yauzl.Entry;
  isXml: boolean;
}

const S_IFMT = 0o170000;
const S_IFLNK = 0o120000;

type GetFileName = (flags: number, raw: Buffer, extraFields: yauzl.ExtraField[], strict: boolean) => string;
// Not in @types/yauzl, but exported: yauzl's own name decoding (UTF-8 flag, Info-ZIP unicode path,
// CP437 otherwise) with backslashes turned into slashes. We decode ourselves (decodeStrings: false) so
// that unsafe names become our ZipRejected with the entry named, not yauzl's generic error.
const getFileNameLowLevel = (yauzl as unknown as { getFileNameLowLevel: GetFileName }).getFileNameLowLevel;

function checkEntry(entry: yauzl.Entry, limits: ZipLimits): CheckedEntry {
  const name = getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, false);
  const unsafe = unsafeEntryName(name);
  if (unsafe) throw rejected(`ZIP entry ${q(name)} is rejected: ${unsafe}`, { entry: cap(name) });
  const mode = (entry.externalFileAttributes >>> 16) & S_IFMT;
  if (mode === S_IFLNK) throw rejected(`ZIP entry ${q(name)} is rejected: it is a symbolic link`, { entry: cap(name) });
  if ((entry.generalPurposeBitFlag & 0x1) !== 0) {
    throw rejected(`ZIP entry ${q(name)} is rejected: it is encrypted`, { entry: cap(name) });
  }
  const isDir = name.endsWith('/');
  if (!isDir && entry.compressionMethod !== 0 && entry.compressionMethod !== 8) {
    throw rejected(`ZIP entry ${q(name)} is rejected: unsupported compression method ${entry.compressionMethod}`, {
      entry: cap(name),
    });
  }
  const isXml = isXmlEntryName(name);
  const max = isXml ? limits.maxXmlBytes : limits.maxAttachmentBytes;
  if (entry.uncompressedSize > max) {
    throw rejected(`ZIP entry ${q(name)} is rejected: ${entry.uncompressedSize} bytes uncompressed exceed the limit of ${max}`, {
      entry: cap(name),
      limit: max,
    });
  }
  checkRatio(name, entry.uncompressedSize, entry.compressedSize, limits);
  return { name, entry, isXml };
}

function checkRatio(name: string, uncompressed: number, compressed: number, limits: ZipLimits): void {
  if (uncompressed > limits.ratioMinBytes && uncompressed > Math.max(compressed, 1) * limits.maxCompressionRatio) {
    throw rejected(`ZIP entry ${q(name)} is rejected: compression ratio above ${limits.maxCompressionRatio}:1 (zip bomb?)`, {
      entry: cap(name),
      limit: limits.maxCompressionRatio,
    });
  }
}

function wrapYauzlError(err: unknown, what: string): TransferError {
  if (err instanceof TransferError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return rejected(`${what}: ${msg}`);
}

function openYauzl(source: string | Buffer): Promise<yauzl.ZipFile> {
  const options: yauzl.Options = {
    lazyEntries: true,
    autoClose: false,
    decodeStrings: false,
    // Checked by LimitStream instead, with a ZipRejected that names the entry and its declared size.
    validateEntrySizes: false,
  };
  return new Promise((resolve, reject) => {
    const cb = (err: Error | null, zf?: yauzl.ZipFile): void => {
      if (err || !zf) reject(wrapYauzlError(err, 'Not a readable ZIP archive'));
      else resolve(zf);
    };
    if (typeof source === 'string') yauzl.open(source, options, cb);
    else yauzl.fromBuffer(source, options, cb);
  });
}

function readAllEntries(zf: yauzl.ZipFile, limits: ZipLimits): Promise<CheckedEntry[]> {
  return new Promise((resolve, reject) => {
    const out: CheckedEntry[] = [];
    let total = 0;
    let done = false;
    const fail = (e: unknown): void => {
      if (done) return;
      done = true;
      zf.removeAllListeners('entry');
      reject(wrapYauzlError(e, 'Broken ZIP archive'));
    };
    zf.on('error', fail);
    zf.on('entry', (entry: yauzl.Entry) => {
      if (done) return;
      try {
        if (out.length + 1 > limits.maxEntries) {
          throw rejected(`The ZIP has more than ${limits.maxEntries} entries`, { limit: limits.maxEntries });
        }
        const checked = checkEntry(entry, limits);
        total += entry.uncompressedSize;
        if (total > limits.maxTotalBytes) {
          throw rejected(`ZIP entry ${q(checked.name)} is rejected: the entries together exceed ${limits.maxTotalBytes} bytes uncompressed`, {
            entry: cap(checked.name),
            limit: limits.maxTotalBytes,
          });
        }
        out.push(checked);
        zf.readEntry();
      } catch (e) {
        fail(e);
      }
    });
    zf.once('end', () => {
      if (done) return;
      done = true;
      resolve(out);
    });
    zf.readEntry();
  });
}

/** Counts what is really inflated, stops at the limits and at the size the header declares (headers can lie). */
class LimitStream extends Transform {
  private bytes = 0;
  constructor(
    private readonly name: string,
    private readonly max: number,
    private readonly entry: Pick<yauzl.Entry, 'compressedSize' | 'uncompressedSize'>,
    private readonly limits: ZipLimits,
    private readonly onBytes: (name: string, bytesSoFar: number) => void,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.bytes += chunk.length;
    try {
      const declared = this.entry.uncompressedSize;
      if (this.bytes > declared) {
        throw rejected(`ZIP entry ${q(this.name)} is rejected: it inflates to more than the ${declared} bytes its header declares`, {
          entry: cap(this.name),
          declared,
        });
      }
      if (this.bytes > this.max) {
        throw rejected(`ZIP entry ${q(this.name)} is rejected: it inflates beyond the limit of ${this.max} bytes`, {
          entry: cap(this.name),
          limit: this.max,
        });
      }
      checkRatio(this.name, this.bytes, this.entry.compressedSize, this.limits);
      this.onBytes(this.name, this.bytes);
    } catch (e) {
      cb(e as Error);
      return;
    }
    cb(null, chunk);
  }

  override _flush(cb: TransformCallback): void {
    const declared = this.entry.uncompressedSize;
    if (this.bytes >= declared) return cb();
    cb(
      rejected(`ZIP entry ${q(this.name)} is rejected: it inflates to ${this.bytes} bytes, fewer than the ${declared} its header declares`, {
        entry: cap(this.name),
        declared,
      }),
    );
  }
}

/** An error of the system (reading the local file: EIO, ENOENT …), not of the archive's content: transient, not ZipRejected. */
function isSystemError(err: unknown): boolean {
  return err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string' && typeof (err as NodeJS.ErrnoException).syscall === 'string';
}

export class ZipTransfer {
  readonly xmlEntryName: string;
  readonly attachments: AttachmentIndex;
  private readonly byName = new Map<string, CheckedEntry>();
  /** Bytes inflated per entry (the most any read reached), for the total limit across reads. */
  private readonly inflated = new Map<string, number>();
  private inflatedTotal = 0;
  private readonly open = new Set<Readable>();
  private closed = false;

  /** @internal use openZip */
  constructor(
    private readonly zf: yauzl.ZipFile,
    entries: CheckedEntry[],
    private readonly limits: ZipLimits,
  ) {
    for (const e of entries) if (!this.byName.has(e.name)) this.byName.set(e.name, e);
    const xmls = entries.filter((e) => e.isXml);
    if (xmls.length === 0) throw rejected('The ZIP contains no XML file');
    if (xmls.length > 1) {
      const shown = xmls.slice(0, 5).map((e) => cap(e.name));
      const more = xmls.length > shown.length ? ` and ${xmls.length - shown.length} more` : '';
      throw rejected(`The ZIP contains ${xmls.length} XML files (${shown.map((n) => `"${n}"`).join(', ')}${more}); exactly one is expected`, {
        entries: shown.join(', ') + more,
      });
    }
    this.xmlEntryName = xmls[0]!.name;
    this.attachments = createAttachmentIndex(
      entries.map((e) => e.name),
      this.xmlEntryName,
    );
  }

  /** All entry names, in archive order. */
  entryNames(): string[] {
    return [...this.byName.keys()];
  }

  /** A stream of the entry's inflated bytes, stopped with ZipRejected at the limits. */
  async openEntryStream(name: string): Promise<Readable> {
    if (this.closed) throw new Error('ZIP transfer is closed');
    const e = this.byName.get(name);
    if (!e || name.endsWith('/')) throw rejected(`ZIP entry ${q(name)} does not exist`, { entry: cap(name) });
    const max = e.isXml ? this.limits.maxXmlBytes : this.limits.maxAttachmentBytes;
    let raw: Readable;
    try {
      raw = await this.zf.openReadStreamPromise(e.entry);
    } catch (err) {
      throw wrapYauzlError(err, `ZIP entry ${q(name)} cannot be read`);
    }
    const limiter = new LimitStream(name, max, e.entry, this.limits, (n, b) => this.count(n, b));
    raw.on('error', (err) => limiter.destroy(isSystemError(err) ? err : wrapYauzlError(err, `ZIP entry ${q(name)} cannot be read`)));
    limiter.on('close', () => {
      this.open.delete(limiter);
      raw.destroy();
    });
    this.open.add(limiter);
    return raw.pipe(limiter);
  }

  async openXmlStream(): Promise<Readable> {
    return this.openEntryStream(this.xmlEntryName);
  }

  /** The whole entry in memory (attachments: bounded by maxAttachmentBytes). */
  async readEntry(name: string): Promise<Buffer> {
    const stream = await this.openEntryStream(name);
    const parts: Buffer[] = [];
    for await (const chunk of stream) parts.push(chunk as Buffer);
    return Buffer.concat(parts);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.open) s.destroy();
    this.open.clear();
    this.zf.close();
  }

  private count(name: string, bytesSoFar: number): void {
    const before = this.inflated.get(name) ?? 0;
    if (bytesSoFar <= before) return; // reading an entry again does not count twice
    this.inflated.set(name, bytesSoFar);
    this.inflatedTotal += bytesSoFar - before;
    if (this.inflatedTotal > this.limits.maxTotalBytes) {
      throw rejected(`ZIP entry ${q(name)} is rejected: the entries together inflate beyond ${this.limits.maxTotalBytes} bytes`, {
        entry: cap(name),
        limit: this.limits.maxTotalBytes,
      });
    }
  }
}

/** Opens and checks a ZIP (a path or a buffer). Throws ZipRejected when any rule is broken. */
export async function openZip(source: string | Buffer, limits: Partial<ZipLimits> = {}): Promise<ZipTransfer> {
  const l: ZipLimits = { ...DEFAULT_ZIP_LIMITS };
  // An explicit `undefined` (an option passed through unset) keeps the default.
  for (const [k, v] of Object.entries(limits)) if (v !== undefined) l[k as keyof ZipLimits] = v;
  const zf = await openYauzl(source);
  try {
    if (zf.entryCount > l.maxEntries) {
      throw rejected(`The ZIP has ${zf.entryCount} entries, more than the limit of ${l.maxEntries}`, {
        limit: l.maxEntries,
      });
    }
    const entries = await readAllEntries(zf, l);
    return new ZipTransfer(zf, entries, l);
  } catch (e) {
    zf.close();
    throw e;
  }
}

/** `PK\x03\x04` (a local file header) or `PK\x05\x06` (an empty archive): detection by content, not name. */
export function looksLikeZip(head: Buffer): boolean {
  return head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && ((head[2] === 0x03 && head[3] === 0x04) || (head[2] === 0x05 && head[3] === 0x06));
}
