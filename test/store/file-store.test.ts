/** The content-addressed file store: same bytes → one file; interrupted downloads are cleaned. */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { createHash } from 'node:crypto';
import { FileStore } from '../../store/file-store';

describe('FileStore', () => {
  const store = new FileStore(fs.mkdtempSync(path.join(os.tmpdir(), 'imv-store-test-')));

  it('stores content under its sha256, once, from buffers and streams alike', async () => {
    const a = await store.putBuffer(Buffer.from('Grundriss'));
    const b = await store.putStream(Readable.from([Buffer.from('Grund'), Buffer.from('riss')]));
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
});
