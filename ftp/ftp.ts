/**
 * The tenant's "openimmo Import" FTP account: listing finished uploads, downloading, moving files
 * to processed/ and failed/, writing reports and feedback. Every operation opens its own short
 * session: activities run anywhere, connections are not shared across them.
 */
import { Client, type FileInfo } from 'basic-ftp';
import path from 'node:path/posix';
import { Readable, Writable } from 'node:stream';
import type { FtpAccess } from '../config/config';
import type { RemoteFile } from '../common/messages';

export const TRANSFER_NAME = /\.(xml|zip)$/i;

export interface FtpOptions {
  /** Socket inactivity timeout: a stalled server fails the operation instead of hanging it. */
  timeoutMs?: number;
}

export async function connect(access: FtpAccess, opts: FtpOptions = {}): Promise<Client> {
  const client = new Client(opts.timeoutMs ?? 30_000);
  client.ftp.verbose = false;
  await client.access({
    host: access.host,
    port: access.port,
    user: access.user,
    password: access.password,
    secure: access.secure,
    secureOptions: access.insecureTls ? { rejectUnauthorized: false } : undefined,
  });
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
}

async function snapshot(client: Client, dir: string): Promise<Seen[]> {
  const entries: FileInfo[] = await client.list(dir);
  const out: Seen[] = [];
  for (const e of entries) {
    if (!e.isFile || e.name.startsWith('.') || !TRANSFER_NAME.test(e.name)) continue;
    const full = path.join(dir, e.name);
    // LIST gives minute precision without a year: ask MDTM and SIZE for the exact values.
    const [mtime, size] = [await client.lastMod(full), await client.size(full)];
    out.push({ name: e.name, size, mtime: mtime.toISOString() });
  }
  return out;
}

/**
 * Finished uploads, oldest first. A file still being written is skipped: it is younger than
 * `minAgeMs`, or its size or mtime changed between two listings `stableCheckMs` apart.
 */
export async function listFinishedUploads(
  client: Client,
  dir: string,
  opts: { minAgeMs: number; stableCheckMs: number; now?: () => number },
): Promise<RemoteFile[]> {
  const first = await snapshot(client, dir);
  let second = first;
  if (opts.stableCheckMs > 0 && first.length) {
    await new Promise((r) => setTimeout(r, opts.stableCheckMs));
    second = await snapshot(client, dir);
  }
  const before = new Map(first.map((f) => [f.name, f]));
  const now = (opts.now ?? Date.now)();
  return second
    .filter((f) => {
      const b = before.get(f.name);
      return b && b.size === f.size && b.mtime === f.mtime && Date.parse(f.mtime) <= now - opts.minAgeMs;
    })
    .sort((a, b) => (a.mtime < b.mtime ? -1 : a.mtime > b.mtime ? 1 : a.name < b.name ? -1 : 1));
}

export async function exists(client: Client, file: string): Promise<boolean> {
  try {
    await client.size(file);
    return true;
  } catch {
    return false;
  }
}

/**
 * Moves `from` to `to` (creating the folder). Idempotent: when `from` is gone and `to` exists,
 * an earlier attempt already did it.
 */
export async function moveFile(client: Client, from: string, to: string): Promise<'moved' | 'already-moved'> {
  if (!(await exists(client, from))) {
    if (await exists(client, to)) return 'already-moved';
    throw new Error(`cannot move ${from}: it is not on the server (and ${to} is not either)`);
  }
  const cwd = await client.pwd();
  await client.ensureDir(path.dirname(to));
  await client.cd(cwd);
  await client.rename(from, to);
  return 'moved';
}

export async function uploadBuffer(client: Client, file: string, content: Buffer | string): Promise<void> {
  const cwd = await client.pwd();
  await client.ensureDir(path.dirname(file));
  await client.cd(cwd);
  await client.uploadFrom(Readable.from([Buffer.from(content)]), file);
}

export async function downloadToBuffer(client: Client, file: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  await client.downloadTo(sink, file);
  return Buffer.concat(chunks);
}
