/**
 * Local copies of blobs for readers that need random access (a ZIP's central directory is at its
 * end): a PostgreSQL-stored transfer is written to this host's scratch folder once and shared by
 * the activities that read it (parse, then every attachment chunk of a big ZIP). Content-addressed,
 * so a copy is never stale. Copies nobody reads are kept up to a byte budget, least recently used
 * first out; a copy in use is never removed.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import type { LocalCopy } from './file-store';

interface Entry {
  path: string;
  size: number;
  users: number;
  lastUsed: number;
}

export class LocalCopies {
  private readonly entries = new Map<string, Entry>();
  private readonly pending = new Map<string, Promise<Entry>>();
  private clock = 0;

  /** `dir`: this process's own folder (nothing else writes there). */
  constructor(
    readonly dir: string,
    private readonly budgetBytes = 1024 * 1024 * 1024,
  ) {}

  async open(sha256: string, source: () => Promise<Readable>): Promise<LocalCopy> {
    let entry = this.entries.get(sha256);
    if (entry && !fs.existsSync(entry.path)) {
      // Removed behind our back (a start-up clean of another process): copy it again.
      this.entries.delete(sha256);
      entry = undefined;
    }
    if (!entry) {
      let p = this.pending.get(sha256);
      if (!p) {
        p = this.copy(sha256, source).finally(() => this.pending.delete(sha256));
        this.pending.set(sha256, p);
      }
      entry = await p;
    }
    entry.users++;
    entry.lastUsed = ++this.clock;
    let released = false;
    return {
      path: entry.path,
      release: async () => {
        if (released) return;
        released = true;
        entry.users--;
        await this.evict();
      },
    };
  }

  private async copy(sha256: string, source: () => Promise<Readable>): Promise<Entry> {
    await fsp.mkdir(this.dir, { recursive: true });
    const dest = path.join(this.dir, sha256);
    const tmp = path.join(this.dir, `.${randomUUID()}`);
    try {
      await pipeline(await source(), fs.createWriteStream(tmp));
      await fsp.rename(tmp, dest);
    } finally {
      await fsp.rm(tmp, { force: true });
    }
    const entry: Entry = { path: dest, size: (await fsp.stat(dest)).size, users: 0, lastUsed: ++this.clock };
    this.entries.set(sha256, entry);
    return entry;
  }

  /** Removes unused copies, least recently used first, until the rest fits the budget. */
  private async evict(): Promise<void> {
    let total = [...this.entries.values()].reduce((n, e) => n + e.size, 0);
    const idle = [...this.entries].filter(([, e]) => e.users === 0).sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [sha256, e] of idle) {
      if (total <= this.budgetBytes) break;
      this.entries.delete(sha256);
      total -= e.size;
      await fsp.rm(e.path, { force: true });
    }
  }

  /** Removes every copy (the process is done with them). */
  async clear(): Promise<void> {
    this.entries.clear();
    await fsp.rm(this.dir, { recursive: true, force: true });
  }
}
