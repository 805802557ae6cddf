/**
 * FTP from the test's side: a session on any server, uploads (whole, slowly, or held open until the
 * test releases them), listings, and how far a download into the file store has got.
 */
import { inject } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Client as FtpClient } from 'basic-ftp';
import { FTP_PASSWORD, FTP_USER } from './vsftpd';
import { sleep } from './wait';

export async function ftpAt<T>(port: number, fn: (c: FtpClient) => Promise<T>): Promise<T> {
  const c = new FtpClient(15_000);
  await c.access({ host: '127.0.0.1', port, user: FTP_USER, password: FTP_PASSWORD });
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

export const sharedFtpPort = (): number => inject('ftpPort');

export async function upload(port: number, tenant: string, name: string, content: Buffer): Promise<void> {
  await ftpAt(port, async (c) => {
    await c.ensureDir(`/${tenant}`);
    await c.uploadFrom(Readable.from([content]), `/${tenant}/${name}`);
  });
}

/**
 * Uploads `content` in `parts` pieces, `delayMs` apart, so the file grows on the server for
 * parts × delayMs: what a sender on a slow line looks like to the lister. The upload ends after
 * that wall-clock time whatever the test is doing: a test that needs the file to be still growing
 * at some point (after a batch, say) must use `uploadUntilReleased` instead.
 */
export async function uploadSlowly(port: number, tenant: string, name: string, content: Buffer, o: { parts: number; delayMs: number }): Promise<void> {
  const size = Math.ceil(content.length / o.parts);
  async function* pieces() {
    for (let i = 0; i < content.length; i += size) {
      if (i > 0) await sleep(o.delayMs);
      yield content.subarray(i, i + size);
    }
  }
  await ftpAt(port, async (c) => {
    await c.ensureDir(`/${tenant}`);
    await c.uploadFrom(Readable.from(pieces()), `/${tenant}/${name}`);
  });
}

export interface HeldUpload {
  /** Resolves when the whole file is on the server (the upload finished); rejects if it failed. */
  done: Promise<void>;
  /** Bytes handed to the data connection so far. */
  sent(): number;
  /** Sends the rest of the content at once and completes the upload. Idempotent. */
  release(): void;
}

/**
 * An upload that keeps growing until the test releases it: `pieceBytes` every `everyMs` (by
 * default 256 bytes every 100 ms, 2.5 KB/s: a 2.5 MB transfer would take 16 minutes), then, once
 * `release()` is called, the rest at once. Unlike `uploadSlowly` nothing depends on how long the
 * test's other steps take: the file is incomplete, and changes between any two listings a second
 * or so apart, for as long as the test wants. The trickle never sends the last piece on its own;
 * if it gets there before `release()`, the upload fails (`done` rejects) rather than looking
 * finished. `done` has a handler attached, so a test that fails before awaiting it does not also
 * report an unhandled rejection; call `release()` in a `finally` so that the connection ends.
 */
export function uploadUntilReleased(
  port: number,
  tenant: string,
  name: string,
  content: Buffer,
  o: { pieceBytes?: number; everyMs?: number } = {},
): HeldUpload {
  const pieceBytes = o.pieceBytes ?? 256;
  const everyMs = o.everyMs ?? 100;
  let release!: () => void;
  let released = false;
  const gate = new Promise<void>((r) => (release = r));
  let at = 0;
  async function* pieces() {
    while (!released) {
      if (at + pieceBytes >= content.length) {
        throw new Error(`uploadUntilReleased: ${name} trickled up to its last piece (${at} of ${content.length} bytes) and was never released`);
      }
      const piece = content.subarray(at, at + pieceBytes);
      at += piece.length;
      yield piece;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([gate, new Promise<void>((r) => (timer = setTimeout(r, everyMs)))]);
      clearTimeout(timer);
    }
    const rest = content.subarray(at);
    at = content.length;
    yield rest;
  }
  const done = ftpAt(port, async (c) => {
    await c.ensureDir(`/${tenant}`);
    await c.uploadFrom(Readable.from(pieces()), `/${tenant}/${name}`);
  });
  done.catch(() => undefined);
  return {
    done,
    sent: () => at,
    release() {
      released = true;
      release();
    },
  };
}

export async function listDir(port: number, dir: string): Promise<string[]> {
  return ftpAt(port, async (c) => {
    try {
      return (await c.list(dir))
        .filter((f) => f.isFile)
        .map((f) => f.name)
        .sort();
    } catch {
      return [];
    }
  });
}

/** Bytes in the file store's temp folder: > 0 while a download is under way. */
export function downloadingBytes(storeDir: string): number {
  const dir = path.join(storeDir, 'tmp');
  let n = 0;
  try {
    for (const f of fs.readdirSync(dir)) {
      try {
        n += fs.statSync(path.join(dir, f)).size;
      } catch {
        /* renamed into place meanwhile */
      }
    }
  } catch {
    /* no download yet */
  }
  return n;
}
