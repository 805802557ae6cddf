/**
 * The `fs` file store: a directory, one file per sha256 under a two-letter folder. Writes go to a
 * temp file and are renamed into place, so a crash never leaves a half file under a hash, and
 * storing the same content twice is a no-op. Every worker must see the same directory: one host,
 * or a shared volume.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import { assertSha256, NotStoredError, type FileStore, type LocalCopy, type Stored, type StoredBlob } from './file-store';

export class FsFileStore implements FileStore {
  readonly kind = 'fs' as const;

  constructor(readonly dir: string) {}

  pathOf(sha256: string): string {
    assertSha256(sha256);
    return path.join(this.dir, sha256.slice(0, 2), sha256);
  }

  async has(sha256: string): Promise<boolean> {
    return (await this.size(sha256)) !== null;
  }

  async size(sha256: string): Promise<number | null> {
    try {
      return (await fsp.stat(this.pathOf(sha256))).size;
    } catch {
      return null;
    }
  }

  async touch(sha256: string): Promise<boolean> {
    const now = new Date();
    try {
      await fsp.utimes(this.pathOf(sha256), now, now);
      return true;
    } catch {
      return false;
    }
  }

  async get(sha256: string): Promise<Readable> {
    const file = this.pathOf(sha256);
    // Opened before it is returned: a missing blob is an error here, not on the first read.
    const handle = await fsp.open(file, 'r').catch((e: NodeJS.ErrnoException) => {
      throw e.code === 'ENOENT' ? new NotStoredError(sha256) : e;
    });
    return handle.createReadStream();
  }

  async remove(sha256: string, unusedSince?: Date): Promise<boolean> {
    const file = this.pathOf(sha256);
    try {
      if (unusedSince && (await fsp.stat(file)).mtime > unusedSince) return false;
      await fsp.rm(file);
      return true;
    } catch {
      return false;
    }
  }

  async *list(): AsyncIterable<StoredBlob> {
    let folders: string[];
    try {
      folders = (await fsp.readdir(this.dir)).filter((n) => /^[0-9a-f]{2}$/.test(n));
    } catch {
      return;
    }
    for (const folder of folders) {
      let names: string[];
      try {
        names = await fsp.readdir(path.join(this.dir, folder));
      } catch {
        continue;
      }
      for (const name of names) {
        if (!/^[0-9a-f]{64}$/.test(name)) continue;
        try {
          const st = await fsp.stat(path.join(this.dir, folder, name));
          yield { sha256: name, size: st.size, usedAt: st.mtime };
        } catch {
          /* removed meanwhile */
        }
      }
    }
  }

  async openLocal(sha256: string): Promise<LocalCopy> {
    const file = this.pathOf(sha256);
    if (!(await this.has(sha256))) throw new NotStoredError(sha256);
    return { path: file, release: async () => undefined };
  }

  async close(): Promise<void> {}

  /** A temp file in the store's folder (same filesystem, so the final rename is atomic). */
  async tempPath(): Promise<string> {
    const dir = path.join(this.dir, 'tmp');
    await fsp.mkdir(dir, { recursive: true });
    return path.join(dir, `${process.pid}-${randomUUID()}`);
  }

  /**
   * Removes temp files older than `maxAgeMs`: what a killed worker left mid-download. Workers call
   * it on start; a live download is younger than the age, so it is never touched.
   */
  async cleanTemp(maxAgeMs = 24 * 3600_000, now = Date.now()): Promise<number> {
    return removeOldFiles(path.join(this.dir, 'tmp'), maxAgeMs, now);
  }

  /** Moves a finished temp file into place under its hash. */
  async commit(tempFile: string, sha256: string): Promise<string> {
    const dest = this.pathOf(sha256);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    await fsp.rename(tempFile, dest);
    return dest;
  }

  async put(source: AsyncIterable<Buffer> | Readable): Promise<Stored> {
    const tmp = await this.tempPath();
    const hash = createHash('sha256');
    let size = 0;
    const tap = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        hash.update(chunk);
        size += chunk.length;
        cb(null, chunk);
      },
    });
    try {
      await pipeline(source, tap, fs.createWriteStream(tmp));
      const sha256 = hash.digest('hex');
      await this.commit(tmp, sha256);
      return { sha256, size };
    } catch (e) {
      await fsp.rm(tmp, { force: true });
      throw e;
    }
  }

  async putBuffer(buf: Buffer): Promise<Stored> {
    const sha256 = createHash('sha256').update(buf).digest('hex');
    if (!(await this.touch(sha256))) {
      const tmp = await this.tempPath();
      await fsp.writeFile(tmp, buf);
      await this.commit(tmp, sha256);
    }
    return { sha256, size: buf.length };
  }
}

/** Removes the files in `dir` older than `maxAgeMs`: how many. */
export async function removeOldFiles(dir: string, maxAgeMs: number, now = Date.now()): Promise<number> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const n of names) {
    const f = path.join(dir, n);
    try {
      if (now - (await fsp.stat(f)).mtimeMs > maxAgeMs) {
        await fsp.rm(f, { force: true });
        removed++;
      }
    } catch {
      /* gone meanwhile (another worker cleaned it) */
    }
  }
  return removed;
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}
