/**
 * The `fs` file store: a directory, one file per sha256 under a two-letter folder. Writes go to a
 * temp file and are renamed into place, so a crash never leaves a half file under a hash, and
 * storing the same content twice is a no-op. Every worker must see the same directory: one host,
 * or a shared volume.
 *
 * Safe beside garbage collection. A collection's remove() first renames the blob from under its hash
 * into `gc/` (atomic on one filesystem), then re-checks its time there, and deletes it only if it was
 * not used after the cut-off; otherwise it renames it back. Puts and touches reach a blob only by its
 * hash, so each lands on one side of that rename:
 * - before it: the touch (or the fresh copy a put renamed into place) is on the file the collector
 *   re-checks, so the collector puts it back;
 * - after it: the hash is gone, the touch fails, and the put writes the content anew under the hash,
 *   where the collector never looks again.
 * A put that reports content stored has it under its hash and used now; a collection never deletes a
 * blob touched after its cut-off. Readers (get, openLocal) that miss the hash look in `gc/` too, so
 * content a collection holds aside for a moment (and puts back) never seems to vanish; what they open
 * stays readable when the collection does delete it (an open file; openLocal's own hard link). `has`,
 * `size` and `touch` answer for the hash alone: content held aside counts as not stored, and is then
 * stored again. A collector killed in the middle leaves its blob in `gc/`: readers still find it, and
 * the next start-up clean puts it back (cleanTemp).
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { createHash, randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Transform, type Readable } from 'node:stream';
import { assertSha256, NotStoredError, type FileStore, type LocalCopy, type Stored, type StoredBlob } from './file-store';

/** A blob in `gc/` this long was left by a killed collection (a live one holds it for milliseconds). */
const ASIDE_STALE_MS = 3600_000;

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
    const file = this.pathOf(sha256);
    const now = new Date();
    try {
      await fsp.utimes(file, now, now);
      // Still under its hash after the time was set: utimes finds the file before it sets the time,
      // and a collection could take it aside and re-check it in between. Found here, the touched file
      // is in place, and a collection that takes it aside later sees the time.
      await fsp.stat(file);
      return true;
    } catch {
      return false;
    }
  }

  async get(sha256: string): Promise<Readable> {
    // Opened before it is returned: a missing blob is an error here, not on the first read; and an open
    // file reads to its end even when a collection deletes the blob meanwhile.
    const handle = await this.locate(sha256, (file) => fsp.open(file, 'r'));
    return handle.createReadStream();
  }

  /** Removes the blob; with `unusedSince`, by way of `gc/` (see the header): whether it was removed. */
  async remove(sha256: string, unusedSince?: Date): Promise<boolean> {
    const file = this.pathOf(sha256);
    if (!unusedSince) {
      const removed = await fsp.rm(file).catch(() => false);
      return removed !== false;
    }
    await fsp.mkdir(this.asideDir, { recursive: true });
    const aside = path.join(this.asideDir, `${sha256}-${randomUUID()}`);
    try {
      await fsp.rename(file, aside);
    } catch {
      return false; // removed meanwhile (or stored anew later: then it is recent)
    }
    await this.collecting(sha256, 'detached');
    try {
      if ((await fsp.stat(aside)).mtime <= unusedSince) {
        await this.collecting(sha256, 'decided');
        await fsp.rm(aside);
        return true;
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false; // put back by a start-up clean
    }
    // Used after the cut-off: back under its hash. A copy a put wrote there meanwhile is the same content.
    await fsp.rename(aside, file);
    return false;
  }

  /** A seam for tests: remove() calls it at each step at which another worker may act. */
  protected async collecting(_sha256: string, _step: 'detached' | 'decided'): Promise<void> {}

  /** Where a collection holds blobs while it decides (in the store's folder: renames are atomic). */
  private get asideDir(): string {
    return path.join(this.dir, 'gc');
  }

  /** The files in `gc/` holding the blob now: a collection is deciding on it (or one was killed doing so). */
  private async heldAside(sha256: string): Promise<string[]> {
    const names = await fsp.readdir(this.asideDir).catch(() => [] as string[]);
    return names.filter((n) => n.startsWith(`${sha256}-`)).map((n) => path.join(this.asideDir, n));
  }

  /**
   * `use` on the blob's file; when it is not under its hash, on a file in `gc/` holding it, then under
   * its hash again (put back meanwhile). A `NotStoredError` when it is in neither place.
   */
  private async locate<T>(sha256: string, use: (file: string) => Promise<T>): Promise<T> {
    const attempt = async (file: string): Promise<{ value: T } | null> => {
      try {
        return { value: await use(file) };
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw e;
      }
    };
    for (let round = 0; ; round++) {
      const hit = await attempt(this.pathOf(sha256));
      if (hit) return hit.value;
      if (round === 2) throw new NotStoredError(sha256);
      for (const aside of await this.heldAside(sha256)) {
        const held = await attempt(aside);
        if (held) return held.value;
      }
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

  /**
   * A hard link of the reader's own in `tmp/`: the reader (a ZIP) opens the path again and again, and
   * a collection may delete the blob meanwhile. Touched through the link: marked used while it is read,
   * and not an abandoned temp file to a start-up clean. On a filesystem without hard links, the blob's
   * own path.
   */
  async openLocal(sha256: string): Promise<LocalCopy> {
    const link = await this.tempPath();
    try {
      await this.locate(sha256, (file) => fsp.link(file, link));
    } catch (e) {
      if (e instanceof NotStoredError) throw e;
      if (!(await this.has(sha256))) throw new NotStoredError(sha256);
      return { path: this.pathOf(sha256), release: async () => undefined };
    }
    const release = () => fsp.rm(link, { force: true });
    const now = new Date();
    await fsp.utimes(link, now, now).catch(async (e: unknown) => {
      await release();
      throw e;
    });
    return { path: link, release };
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
   * it on start; a live download is younger than the age, so it is never touched. Also puts back
   * under their hash the blobs a killed collection left in `gc/` (held there over an hour).
   */
  async cleanTemp(maxAgeMs = 24 * 3600_000, now = Date.now()): Promise<number> {
    return (await removeOldFiles(path.join(this.dir, 'tmp'), maxAgeMs, now)) + (await this.putBackAside(now));
  }

  /**
   * Blobs held in `gc/` for over an hour (a collection decides in milliseconds): back under their hash,
   * by a link, which never replaces a copy stored there since (that one's time is the newer); the next
   * collection decides on them again. How many.
   */
  private async putBackAside(now: number): Promise<number> {
    let restored = 0;
    for (const name of await fsp.readdir(this.asideDir).catch(() => [] as string[])) {
      const aside = path.join(this.asideDir, name);
      const sha256 = name.slice(0, 64);
      try {
        if (!/^[0-9a-f]{64}-/.test(name) || now - (await fsp.stat(aside)).ctimeMs < ASIDE_STALE_MS) continue;
        await fsp.mkdir(path.dirname(this.pathOf(sha256)), { recursive: true });
        await fsp.link(aside, this.pathOf(sha256)).catch((e: NodeJS.ErrnoException) => {
          if (e.code !== 'EEXIST') throw e;
        });
        await fsp.rm(aside);
        restored++;
      } catch {
        /* decided meanwhile (a live collection) */
      }
    }
    return restored;
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
