/**
 * Content-addressed file store: transfers and attachments by sha256. Writes go to a temp file and
 * are renamed into place, so a crash never leaves a half file under a hash, and storing the same
 * content twice is a no-op. Fetch and parse must see the same store: one host or a shared volume.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';

export class FileStore {
  constructor(readonly dir: string) {}

  pathOf(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
    return path.join(this.dir, sha256.slice(0, 2), sha256);
  }

  async has(sha256: string): Promise<boolean> {
    try {
      await fsp.access(this.pathOf(sha256));
      return true;
    } catch {
      return false;
    }
  }

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
    const dir = path.join(this.dir, 'tmp');
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

  /** Moves a finished temp file into place under its hash. */
  async commit(tempFile: string, sha256: string): Promise<string> {
    const dest = this.pathOf(sha256);
    await fsp.mkdir(path.dirname(dest), { recursive: true });
    await fsp.rename(tempFile, dest);
    return dest;
  }

  async putStream(source: Readable): Promise<{ sha256: string; size: number }> {
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

  async putBuffer(buf: Buffer): Promise<{ sha256: string; size: number }> {
    const sha256 = createHash('sha256').update(buf).digest('hex');
    if (!(await this.has(sha256))) {
      const tmp = await this.tempPath();
      await fsp.writeFile(tmp, buf);
      await this.commit(tmp, sha256);
    }
    return { sha256, size: buf.length };
  }
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}
