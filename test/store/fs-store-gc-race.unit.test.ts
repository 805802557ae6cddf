/**
 * The `fs` store's removal (what store/gc.ts calls for content it found aged and unreferenced) racing a
 * put, a touch or a reader of the same content, as another worker would run them. The collector's store
 * pauses inside remove() at a step — after it took the blob from under its hash ('detached'), or after it
 * decided the blob is unused and before it deletes it ('decided') — and the test runs the other side
 * there, to its end, on a store of its own. Whatever the order: a put that reports content stored leaves
 * it stored (and recently used, so the next collection keeps it too), and a reader reads it whole.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { NotStoredError, type Stored } from '../../store/file-store';
import { FsFileStore } from '../../store/fs-store';

type Step = 'detached' | 'decided';

/** The collector's store: runs `during` when its removal reaches `at`. */
class PausingStore extends FsFileStore {
  hits = 0;
  constructor(
    dir: string,
    private readonly at: Step,
    private readonly during: () => Promise<void>,
  ) {
    super(dir);
  }

  protected override async collecting(_sha256: string, step: Step): Promise<void> {
    if (step !== this.at) return;
    this.hits++;
    await this.during();
  }
}

const DAY = 24 * 3600_000;
/** What the collector passes: used before this is unused. */
const cutoff = () => new Date(Date.now() - DAY);

async function readAll(stream: Readable): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

describe('FsFileStore: a put, a touch or a reader racing the removal of the same content', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-fs-gc-race-'));
  /** Another worker's store on the same directory. */
  const other = new FsFileStore(dir);

  /** Stored, then last used two days ago: a collection may remove it. */
  async function agedContent(): Promise<{ content: Buffer; sha256: string }> {
    const content = randomBytes(20_000);
    const { sha256 } = await other.putBuffer(content);
    const old = new Date(Date.now() - 2 * DAY);
    fs.utimesSync(other.pathOf(sha256), old, old);
    return { content, sha256 };
  }

  async function readsBack(sha256: string, content: Buffer): Promise<void> {
    expect(await other.size(sha256)).toBe(content.length);
    expect((await readAll(await other.get(sha256))).equals(content)).toBe(true);
  }

  const puts: [string, (s: FsFileStore, c: Buffer) => Promise<Stored>][] = [
    ['putBuffer (finds it stored: touches it)', (s, c) => s.putBuffer(c)],
    ['put of a stream (writes it and renames it into place)', (s, c) => s.put(Readable.from([c.subarray(0, 7), c.subarray(7)]))],
    [
      // What fetchTransfer does: touch what the ledger says is stored, download it when that fails.
      'touch, else put (fetch of a transfer stored before)',
      async (s, c) => {
        const sha256 = createHash('sha256').update(c).digest('hex');
        return (await s.touch(sha256)) ? { sha256, size: c.length } : s.put(Readable.from([c]));
      },
    ],
  ];
  const steps: Step[] = ['detached', 'decided'];

  describe.each(steps)('while the removal is %s', (step) => {
    it.each(puts)('%s: content it reports stored stays stored, and the next collection keeps it', async (_name, put) => {
      const { content, sha256 } = await agedContent();
      let reported: Stored | undefined;
      const collector = new PausingStore(dir, step, async () => {
        reported = await put(other, content);
      });
      await collector.remove(sha256, cutoff());
      // The window was hit: the put ran inside the removal.
      expect(collector.hits).toBe(1);
      expect(reported).toEqual({ sha256, size: content.length });
      await readsBack(sha256, content);
      expect(await collector.remove(sha256, cutoff())).toBe(false);
      await readsBack(sha256, content);
    });

    it('a reader that opens it meanwhile reads it whole, removed or not', async () => {
      const { content, sha256 } = await agedContent();
      let read: Buffer | undefined;
      const collector = new PausingStore(dir, step, async () => {
        read = await readAll(await other.get(sha256));
      });
      expect(await collector.remove(sha256, cutoff())).toBe(true);
      expect(collector.hits).toBe(1);
      expect(read?.equals(content)).toBe(true);
      expect(await other.has(sha256)).toBe(false);
      await expect(other.get(sha256)).rejects.toBeInstanceOf(NotStoredError);
    });

    it('a local copy taken meanwhile stays readable until it is released', async () => {
      const { content, sha256 } = await agedContent();
      let local: Awaited<ReturnType<FsFileStore['openLocal']>> | undefined;
      const collector = new PausingStore(dir, step, async () => {
        local = await other.openLocal(sha256);
      });
      // Taking a local copy marks the content used: a collection that has not re-checked it yet keeps it.
      const removed = await collector.remove(sha256, cutoff());
      expect(removed).toBe(step === 'decided');
      expect(collector.hits).toBe(1);
      // The reader (a ZIP) opens its path again and again, after the collection is done.
      expect(fs.readFileSync(local!.path).equals(content)).toBe(true);
      await local!.release();
      expect(fs.existsSync(local!.path)).toBe(false);
      expect(await other.has(sha256)).toBe(!removed);
    });
  });

  it('content touched after it was listed, before its removal, is kept', async () => {
    const { content, sha256 } = await agedContent();
    expect(await other.touch(sha256)).toBe(true);
    expect(await other.remove(sha256, cutoff())).toBe(false);
    await readsBack(sha256, content);
  });

  it('content touched while the removal has it aside goes back under its hash', async () => {
    const { content, sha256 } = await agedContent();
    let seen: Buffer | undefined;
    const collector = new PausingStore(dir, 'detached', async () => {
      // A worker that marked it used just before the collector took it aside: the collector's
      // re-check sees that. Meanwhile a reader still finds it.
      fs.utimesSync(
        path.join(
          dir,
          'gc',
          fs.readdirSync(path.join(dir, 'gc')).find((n) => n.startsWith(sha256))!,
        ),
        new Date(),
        new Date(),
      );
      seen = await readAll(await other.get(sha256));
    });
    expect(await collector.remove(sha256, cutoff())).toBe(false);
    expect(seen?.equals(content)).toBe(true);
    await readsBack(sha256, content);
    expect(fs.readdirSync(path.join(dir, 'gc'))).toEqual([]);
  });

  it('a removal a killed collector left half done: readable meanwhile, put back under its hash by the next start-up clean', async () => {
    const { content, sha256 } = await agedContent();
    // What a collector killed after taking the blob aside leaves behind: it under the collector's folder.
    fs.mkdirSync(path.join(dir, 'gc'), { recursive: true });
    fs.renameSync(other.pathOf(sha256), path.join(dir, 'gc', `${sha256}-killed`));
    expect(await other.has(sha256)).toBe(false);
    expect((await readAll(await other.get(sha256))).equals(content)).toBe(true);
    // A fresh start-up (an hour is not over yet) leaves it: a collector may still be deciding.
    expect(await other.cleanTemp()).toBe(0);
    expect(await other.cleanTemp(DAY, Date.now() + 2 * 3600_000)).toBe(1);
    expect(fs.readdirSync(path.join(dir, 'gc'))).toEqual([]);
    await readsBack(sha256, content);
  });
});
