/**
 * The tenant's "openimmo Import" FTP account: listing finished uploads, downloading, moving files
 * to processed/ and failed/, writing reports and feedback. Every operation opens its own short
 * session: activities run anywhere, connections are not shared across them.
 */
import { Client, FTPError, type FileInfo } from 'basic-ftp';
import path from 'node:path/posix';
import { Readable } from 'node:stream';
import type { FtpAccess } from '../config/config';
import type { RemoteFile } from '../common/messages';

export const TRANSFER_NAME = /\.(xml|zip)$/i;

export interface FtpOptions {
  /** Socket inactivity timeout: a stalled server fails the operation instead of hanging it. */
  timeoutMs?: number;
}

interface ListParser {
  testLine(line: string): boolean;
  parseLine(line: string): FileInfo | undefined;
  transformList(files: FileInfo[]): FileInfo[];
}
// basic-ftp's own line parsers (its index exports only the combined parseList).
/* eslint-disable @typescript-eslint/no-require-imports -- deep modules without typings of their own */
const LIST_PARSERS: ListParser[] = [
  require('basic-ftp/dist/parseListDOS') as ListParser,
  require('basic-ftp/dist/parseListUnix') as ListParser,
  require('basic-ftp/dist/parseListMLSD') as ListParser,
];
/* eslint-enable @typescript-eslint/no-require-imports */

/**
 * A directory listing where one entry cannot break the others. basic-ftp picks the format from the
 * LAST line and throws when it does not recognise it: a file name holding a line break ends the
 * listing with a fragment, and the whole inbox could no longer be listed. Here the format is the one
 * that recognises the most lines, and lines it does not recognise (such fragments) are left out.
 */
export function tolerantParseList(raw: string): FileInfo[] {
  const lines = raw.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.startsWith('total'));
  if (!lines.length) return [];
  let best: { parser: ListParser; lines: string[] } | null = null;
  for (const parser of LIST_PARSERS) {
    const ok = lines.filter((l) => parser.testLine(l));
    if (ok.length && (!best || ok.length > best.lines.length)) best = { parser, lines: ok };
  }
  if (!best) throw new Error(`unrecognised directory listing format (${lines.length} lines)`);
  const parser = best.parser;
  return parser.transformList(best.lines.map((l) => parser.parseLine(l)).filter((f): f is FileInfo => f !== undefined));
}

export async function connect(access: FtpAccess, opts: FtpOptions = {}): Promise<Client> {
  const client = new Client(opts.timeoutMs ?? 30_000);
  client.ftp.verbose = false;
  client.parseList = tolerantParseList;
  try {
    await client.access({
      host: access.host,
      port: access.port,
      user: access.user,
      password: access.password,
      secure: access.secure,
      secureOptions: access.insecureTls ? { rejectUnauthorized: false } : undefined,
    });
  } catch (e) {
    // A refused login (530) or TLS handshake leaves the control connection open (basic-ftp closes it
    // only on socket errors): an open socket nobody uses keeps a CLI process from exiting.
    client.close();
    throw e;
  }
  return client;
}

export async function withFtp<T>(access: FtpAccess, fn: (c: Client) => Promise<T>, opts: FtpOptions = {}): Promise<T> {
  const client = await connect(access, opts);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

export function inboxPath(access: FtpAccess, ...parts: string[]): string {
  return path.join(access.baseDir, ...parts);
}

interface Seen {
  name: string;
  size: number;
  mtime: string;
  /** The time is exact (MLSD or MDTM), not the listing's minutes. */
  exact: boolean;
  note?: string;
}

/** A reply of the server with a code (as opposed to a broken connection or a timeout). */
export function ftpReplyCode(e: unknown): number | null {
  const code = (e as { code?: unknown } | null)?.code;
  return e instanceof FTPError && typeof code === 'number' ? code : null;
}

/**
 * This one command cannot succeed, however often it is retried: the server refused it for good
 * (5xx), or, with the connection still open, basic-ftp refused to send it (a name with CR/LF/NUL) or
 * could not read the reply. A closed connection, a timeout or a local I/O error is transient.
 */
export function isPermanentFtpError(e: unknown, client?: Client): boolean {
  const code = ftpReplyCode(e);
  if (code !== null) return code >= 500 && code < 600;
  const sysCode = (e as { code?: unknown } | null)?.code;
  return !!client && !client.closed && e instanceof Error && sysCode === undefined;
}

/** A short, single-line account of an FTP error (the server's reply, without the command). */
export function ftpErrorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.replace(/\s+/g, ' ').slice(0, 200);
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];

/**
 * The time of an `ls`-style LIST line (`Nov 27 08:12`, or `Nov 27  2025` for older files), in UTC
 * (vsftpd and ftp-srv list UTC). Without a year it is the latest such time not in the future.
 * Minute precision: only a fallback for servers that refuse MDTM for a name.
 */
export function listTime(raw: string | undefined, now = Date.now()): Date | null {
  const m = /^([A-Za-z]{3})\s+(\d{1,2})\s+(?:(\d{1,2}):(\d{2})|(\d{4}))$/.exec((raw ?? '').trim());
  if (!m) return null;
  const month = MONTHS.indexOf(m[1].toLowerCase());
  if (month < 0) return null;
  const day = Number(m[2]);
  if (m[5]) return new Date(Date.UTC(Number(m[5]), month, day));
  const year = new Date(now).getUTCFullYear();
  let t = Date.UTC(year, month, day, Number(m[3]), Number(m[4]));
  if (t > now + 24 * 3600_000) t = Date.UTC(year - 1, month, day, Number(m[3]), Number(m[4]));
  return new Date(t);
}

/**
 * One inbox entry's exact size and time. The listing's size is exact (bytes, binary mode); its time
 * is exact only from MLSD. Otherwise MDTM asks for it (LIST gives minutes, and no year). Each entry
 * stands on its own: a server that refuses MDTM (or SIZE, asked only when the listing has no size)
 * for this name, or answers without a number (a 0-byte file on ftp-srv, a name with quotes or
 * control characters that no command can carry) leaves the listing's values and a note, and never
 * fails the listing. Only a closed connection (broken, timed out) does, and is retried.
 */
async function sizeAndTime(client: Client, full: string, e: FileInfo): Promise<Seen> {
  const notes: string[] = [];
  let mtime: Date | null = e.modifiedAt && !Number.isNaN(e.modifiedAt.getTime()) ? e.modifiedAt : null;
  let size: number | null = Number.isSafeInteger(e.size) && e.size >= 0 ? e.size : null;
  let exact = mtime !== null;
  if (mtime === null) {
    try {
      const d = await client.lastMod(full);
      if (!Number.isNaN(d.getTime())) {
        mtime = d;
        exact = true;
      } else notes.push('MDTM gave no time');
    } catch (err) {
      if (client.closed) throw err;
      notes.push(`MDTM refused (${ftpErrorText(err)})`);
    }
  }
  if (size === null) {
    try {
      const n = await client.size(full);
      if (Number.isSafeInteger(n) && n >= 0) size = n;
      else notes.push('SIZE gave no number');
    } catch (err) {
      if (client.closed) throw err;
      notes.push(`SIZE refused (${ftpErrorText(err)})`);
    }
  }
  if (mtime === null) {
    mtime = listTime(e.rawModifiedAt) ?? new Date(0);
    notes.push(mtime.getTime() === 0 ? 'no time known' : 'time from the listing (minute precision)');
  }
  if (size === null) {
    size = 0;
    notes.push('no size known');
  }
  return { name: e.name, size, mtime: mtime.toISOString(), exact, ...(notes.length ? { note: notes.join('; ') } : {}) };
}

/** The inbox's transfers (or only those named in `only`), each with its size and time. */
async function snapshot(client: Client, dir: string, only?: Set<string>): Promise<Seen[]> {
  const entries: FileInfo[] = await client.list(dir);
  const out: Seen[] = [];
  for (const e of entries) {
    if (!e.isFile || e.name.startsWith('.') || !TRANSFER_NAME.test(e.name)) continue;
    if (only && !only.has(e.name)) continue;
    out.push(await sizeAndTime(client, path.join(dir, e.name), e));
  }
  return out;
}

/**
 * Finished uploads, oldest first. A file still being written is skipped: it is younger than
 * `minAgeMs`, or its size or mtime changed between two listings `stableCheckMs` apart. The second
 * listing is made only for files the age cannot vouch for: an exact time at least `minAgeMs` old
 * means no byte was written for that long, which covers the shorter gap between two listings. So
 * with the defaults (a minute, 2 s) files that waited in the inbox are taken from one listing, and
 * the second look remains for times the server would not give exactly, or a minimum age below the gap.
 */
export async function listFinishedUploads(
  client: Client,
  dir: string,
  opts: { minAgeMs: number; stableCheckMs: number; now?: () => number },
): Promise<RemoteFile[]> {
  const clock = opts.now ?? Date.now;
  const oldEnough = (f: Seen) => Date.parse(f.mtime) <= clock() - opts.minAgeMs;
  const vouched = (f: Seen) => f.exact && opts.minAgeMs >= opts.stableCheckMs;
  const first = (await snapshot(client, dir)).filter(oldEnough);
  const needsSecondLook = (f: Seen) => opts.stableCheckMs > 0 && !vouched(f);
  const taken = first.filter((f) => !needsSecondLook(f));
  const doubtful = first.filter(needsSecondLook);
  if (doubtful.length) {
    await new Promise((r) => setTimeout(r, opts.stableCheckMs));
    const again = new Map((await snapshot(client, dir, new Set(doubtful.map((f) => f.name)))).map((f) => [f.name, f]));
    for (const b of doubtful) {
      const f = again.get(b.name);
      if (f && f.size === b.size && f.mtime === b.mtime) taken.push(f);
    }
  }
  return taken.map(({ exact: _exact, ...f }) => f).sort((a, b) => (a.mtime < b.mtime ? -1 : a.mtime > b.mtime ? 1 : a.name < b.name ? -1 : 1));
}

/**
 * Whether `file` is on the server, by SIZE. A refusal (5xx) means no; a 213 reply that is not a
 * number (ftp-srv for a 0-byte file) means yes; a closed connection is thrown.
 */
export async function exists(client: Client, file: string): Promise<boolean> {
  try {
    await client.size(file);
    return true;
  } catch (err) {
    if (client.closed) throw err;
    if (ftpReplyCode(err) !== null) return false;
    return /^Can't parse response/.test((err as Error).message);
  }
}

/** Folders a connection has created or found (a pooled connection serves many files). */
const knownDirs = new WeakMap<Client, Set<string>>();

/**
 * Runs `op` (which writes into `dir`), creating `dir` first unless this connection already knows it.
 * If the folder was removed since, the refused operation is retried once after creating it again.
 */
async function intoDir<T>(client: Client, dir: string, op: () => Promise<T>): Promise<T> {
  const known = knownDirs.get(client) ?? new Set<string>();
  knownDirs.set(client, known);
  const ensure = async () => {
    const cwd = await client.pwd();
    await client.ensureDir(dir);
    await client.cd(cwd);
    known.add(dir);
  };
  if (!known.has(dir)) {
    await ensure();
    return op();
  }
  try {
    return await op();
  } catch (err) {
    if (!isPermanentFtpError(err)) throw err;
    known.delete(dir);
    await ensure();
    return op();
  }
}

/**
 * Moves `from` to `to` (creating the folder). Idempotent: when the rename is refused because `from`
 * is gone and `to` exists, an earlier attempt already did it.
 */
export async function moveFile(client: Client, from: string, to: string): Promise<'moved' | 'already-moved'> {
  try {
    await intoDir(client, path.dirname(to), () => client.rename(from, to));
    return 'moved';
  } catch (err) {
    if (isPermanentFtpError(err) && (await exists(client, to)) && !(await exists(client, from))) return 'already-moved';
    throw err;
  }
}

/** Uploads a stream (read once: the folder is made sure of first, never retried with it). */
export async function uploadStream(client: Client, file: string, content: NodeJS.ReadableStream): Promise<void> {
  const cwd = await client.pwd();
  await client.ensureDir(path.dirname(file));
  await client.cd(cwd);
  await client.uploadFrom(content as Readable, file);
}

/**
 * Uploads a text or buffer, or text made piece by piece (a big import's feedback: never whole in
 * memory). Pieces come from a function, so an upload tried again after creating the folder reads
 * them from the start.
 */
export async function uploadBuffer(client: Client, file: string, content: Buffer | string | (() => AsyncIterable<string>)): Promise<void> {
  const source = () => (typeof content === 'function' ? Readable.from(asBuffers(content())) : Readable.from([Buffer.from(content)]));
  await intoDir(client, path.dirname(file), () => client.uploadFrom(source(), file));
}

async function* asBuffers(pieces: AsyncIterable<string>): AsyncGenerator<Buffer> {
  for await (const p of pieces) yield Buffer.from(p);
}
