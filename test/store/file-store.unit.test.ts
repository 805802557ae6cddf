/** The content-addressed file store: same bytes → one file; interrupted downloads are cleaned. */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { FsFileStore } from '../../store/fs-store';
import { NotStoredError } from '../../store/file-store';

describe('FsFileStore', () => {
  const store = new FsFileStore(fs.mkdtempSync(path.join(os.tmpdir(), 'imv-store-test-')));

  it('stores content under its sha256, once, from buffers and streams alike', async () => {
    const a = await store.putBuffer(Buffer.from('Grundriss'));
    const b = await store.put(Readable.from([Buffer.from('Grund'), Buffer.from('riss')]));
    expect(b).toEqual(a);
    expect(a).toEqual({ sha256: createHash('sha256').update('Grundriss').digest('hex'), size: 9 });
    expect(fs.readFileSync(store.pathOf(a.sha256), 'utf8')).toBe('Grundriss');
    expect(fs.readdirSync(path.dirname(store.pathOf(a.sha256)))).toEqual([a.sha256]);
    expect(() => store.pathOf('../etc/passwd')).toThrow(/not a sha256/);
  });

  it('removes temp files older than the age on start, leaves fresh ones (a live download)', async () => {
    const stale = await store.tempPath();
    const fresh = await store.tempPath();
    fs.writeFileSync(stale, 'half a download');
    fs.writeFileSync(fresh, 'downloading');
    const old = new Date(Date.now() - 2 * 24 * 3600_000);
    fs.utimesSync(stale, old, old);
    expect(await store.cleanTemp()).toBe(1);
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.existsSync(fresh)).toBe(true);
  });

  it('reads, sizes, lists, touches and removes by hash; a missing hash is a NotStoredError', async () => {
    const a = await store.putBuffer(Buffer.from('Exposé'));
    const chunks: Buffer[] = [];
    for await (const c of await store.get(a.sha256)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('Exposé');
    expect(await store.size(a.sha256)).toBe(a.size);
    const listed = [];
    for await (const b of store.list()) listed.push(b.sha256);
    expect(listed).toContain(a.sha256);
    const old = new Date(Date.now() - 3600_000);
    fs.utimesSync(store.pathOf(a.sha256), old, old);
    expect(await store.touch(a.sha256)).toBe(true);
    // Used after the cut-off (touched just now): kept.
    expect(await store.remove(a.sha256, new Date(Date.now() - 60_000))).toBe(false);
    expect(await store.remove(a.sha256)).toBe(true);
    expect(await store.has(a.sha256)).toBe(false);
    await expect(store.get(a.sha256)).rejects.toBeInstanceOf(NotStoredError);
    expect(await store.touch(a.sha256)).toBe(false);
  });
});
