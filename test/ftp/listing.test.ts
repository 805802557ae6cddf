/**
 * Listing finished uploads against a real FTP server (the embedded ftp-srv): sizes come from the
 * listing (no SIZE per file), exact times from MDTM, and the second listing is made only for files
 * whose age cannot vouch for them — so files that waited in the inbox are taken from one listing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from 'basic-ftp';
import { startEmbeddedFtp, type EmbeddedFtp } from '../../dev/embedded-ftp';
import { connect, listFinishedUploads } from '../../ftp/ftp';
import type { FtpAccess } from '../../config/config';

/** The client's LIST, MDTM and SIZE commands, counted. */
function counting(c: Client): Record<'list' | 'lastMod' | 'size', number> {
  const n = { list: 0, lastMod: 0, size: 0 };
  for (const k of Object.keys(n) as (keyof typeof n)[]) {
    const orig = (c[k] as (...a: unknown[]) => Promise<unknown>).bind(c);
    (c as unknown as Record<string, unknown>)[k] = (...a: unknown[]) => {
      n[k]++;
      return orig(...a);
    };
  }
  return n;
}

describe('listFinishedUploads', () => {
  let root: string;
  let ftp: EmbeddedFtp;
  let access: FtpAccess;
  const hourAgo = new Date(Date.now() - 3600_000);

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-listing-'));
    for (const [name, bytes] of [
      ['old-1.xml', 10],
      ['old-2.zip', 2000],
      ['old-3.xml', 0],
    ] as const) {
      fs.writeFileSync(path.join(root, name), 'x'.repeat(bytes));
      fs.utimesSync(path.join(root, name), hourAgo, hourAgo);
    }
    fs.writeFileSync(path.join(root, 'fresh.xml'), 'fresh');
    fs.writeFileSync(path.join(root, 'notes.txt'), 'not a transfer');
    ftp = await startEmbeddedFtp({ root, port: 0, user: 'lister', password: 'lister-secret' });
    access = { host: '127.0.0.1', port: ftp.port, user: 'lister', password: 'lister-secret', secure: false, insecureTls: false, baseDir: '/' } as FtpAccess;
  });

  afterAll(async () => {
    await ftp?.stop();
    if (root) fs.rmSync(root, { recursive: true, force: true });
  });

  it('with a minimum age longer than the gap, takes files that waited from one listing, sized by it', async () => {
    const c = await connect(access);
    try {
      const n = counting(c);
      const files = await listFinishedUploads(c, '/', { minAgeMs: 60_000, stableCheckMs: 2000 });
      expect(files.map((f) => [f.name, f.size])).toEqual([
        ['old-1.xml', 10],
        ['old-2.zip', 2000],
        ['old-3.xml', 0],
      ]);
      // The exact time (MDTM), not the listing's minutes.
      for (const f of files) expect(Math.abs(Date.parse(f.mtime) - hourAgo.getTime()), f.name).toBeLessThan(1000);
      expect(files.every((f) => !f.note)).toBe(true);
      // One LIST, one MDTM per old transfer, no SIZE, no second look.
      expect(n).toEqual({ list: 1, lastMod: 4, size: 0 });
    } finally {
      c.close();
    }
  });

  it('with a minimum age shorter than the gap, lists twice and takes every unchanged file', async () => {
    const c = await connect(access);
    try {
      const n = counting(c);
      const files = await listFinishedUploads(c, '/', { minAgeMs: 0, stableCheckMs: 200 });
      expect(files.map((f) => f.name).sort()).toEqual(['fresh.xml', 'old-1.xml', 'old-2.zip', 'old-3.xml']);
      expect(n.list).toBe(2);
      expect(n.size).toBe(0);
    } finally {
      c.close();
    }
  });

  it('a file that changes between the two listings is left for the next batch', async () => {
    const c = await connect(access);
    try {
      const growing = path.join(root, 'growing.xml');
      fs.writeFileSync(growing, 'a');
      // Grows as soon as the first listing has dated it: the second listing sees another size.
      const orig = c.lastMod.bind(c);
      c.lastMod = async (p: string) => {
        const d = await orig(p);
        if (p.endsWith('growing.xml')) fs.appendFileSync(growing, 'more');
        return d;
      };
      const files = await listFinishedUploads(c, '/', { minAgeMs: 0, stableCheckMs: 100 });
      expect(files.map((f) => f.name)).not.toContain('growing.xml');
      expect(files.map((f) => f.name)).toContain('old-1.xml');
      fs.rmSync(growing);
    } finally {
      c.close();
    }
  });
});
