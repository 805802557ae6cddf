import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, stat, symlink, utimes, writeFile, mkdir, access } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import * as net from 'node:net';
import { Readable, Writable } from 'node:stream';
import { Client, FTPError } from 'basic-ftp';
import { startEmbeddedFtp, type EmbeddedFtp } from '../../dev/embedded-ftp';

const USER = 'openimmo';
const PASSWORD = 'not-the-real-one';

function sink(): { stream: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      chunks.push(chunk);
      done();
    },
  });
  return { stream, bytes: () => Buffer.concat(chunks) };
}

async function ftpError(promise: Promise<unknown>): Promise<FTPError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof FTPError) return err;
    throw err;
  }
  throw new Error('expected an FTP error reply');
}

describe('embedded FTP server (ftp-srv) with basic-ftp', () => {
  let root: string;
  let outside: string;
  let ftp: EmbeddedFtp;
  let client: Client;
  let signalListenersBefore: number;

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'imv-ftp-'));
    outside = await mkdtemp(path.join(tmpdir(), 'imv-ftp-outside-'));
    signalListenersBefore = process.listenerCount('SIGTERM');
    ftp = await startEmbeddedFtp({ root, port: 0, user: USER, password: PASSWORD });
    client = new Client(10_000);
    await client.access({ host: '127.0.0.1', port: ftp.port, user: USER, password: PASSWORD });
  });

  afterAll(async () => {
    client?.close();
    await ftp?.stop();
    await rm(root, { recursive: true, force: true });
    await rm(outside, { recursive: true, force: true });
  });

  it('gives a URL with the user and port but never the password', () => {
    expect(ftp.url).toBe(`ftp://${USER}@127.0.0.1:${ftp.port}/`);
    expect(ftp.url).not.toContain(PASSWORD);
    expect(ftp.port).toBeGreaterThan(0);
  });

  it('leaves the process signal handlers alone', () => {
    expect(process.listenerCount('SIGTERM')).toBe(signalListenersBefore);
  });

  it('uploads, lists, sizes, dates, moves to processed/, downloads and removes a transfer', async () => {
    const content = Buffer.from('<?xml version="1.0" encoding="UTF-8"?>\n<openimmo><uebertragung art="OFFLINE"/></openimmo>\n');
    await client.ensureDir('/inbox');
    await client.cd('/');
    await client.uploadFrom(Readable.from(content), 'inbox/transfer-0001.xml');
    expect(await readFile(path.join(root, 'inbox', 'transfer-0001.xml'))).toEqual(content);

    const listing = await client.list('inbox');
    expect(listing.map((f) => f.name)).toEqual(['transfer-0001.xml']);
    expect(listing[0].isFile).toBe(true);
    expect(listing[0].size).toBe(content.length);
    // LIST carries minute precision only, as on most daemons.
    expect(listing[0].rawModifiedAt).toMatch(/^[A-Z][a-z]{2} +\d{1,2} +(\d{2}:\d{2}|\d{4})$/);

    expect(await client.size('inbox/transfer-0001.xml')).toBe(content.length);

    // MDTM is exact to the millisecond (UTC): set a known mtime and read it back.
    const mtime = new Date('2026-11-27T08:12:34.567Z');
    await utimes(path.join(root, 'inbox', 'transfer-0001.xml'), mtime, mtime);
    expect((await client.lastMod('inbox/transfer-0001.xml')).toISOString()).toBe(mtime.toISOString());

    // ensureDir creates and enters processed/, so go back before renaming by relative paths.
    await client.ensureDir('processed');
    expect(await client.pwd()).toBe('/processed');
    await client.cd('/');
    await client.rename('inbox/transfer-0001.xml', 'processed/transfer-0001.xml');
    expect(await client.list('inbox')).toEqual([]);
    expect((await client.list('processed')).map((f) => f.name)).toEqual(['transfer-0001.xml']);
    // A rename keeps the file's time, which is what the ledger keys on.
    expect((await client.lastMod('/processed/transfer-0001.xml')).toISOString()).toBe(mtime.toISOString());

    const out = sink();
    await client.downloadTo(out.stream, 'processed/transfer-0001.xml');
    expect(out.bytes()).toEqual(content);

    await client.remove('processed/transfer-0001.xml');
    expect(await client.list('processed')).toEqual([]);
    await expect(access(path.join(root, 'processed', 'transfer-0001.xml'))).rejects.toThrow();
  });

  it('lastMod is the file time of a fresh upload as Node reports it (rounded to milliseconds)', async () => {
    await client.cd('/');
    await client.uploadFrom(Readable.from(Buffer.from('x')), 'fresh.xml');
    const local = await stat(path.join(root, 'fresh.xml'));
    const lastMod = (await client.lastMod('fresh.xml')).getTime();
    // ftp-srv formats Stats.mtime, which Node rounds (not truncates) from the nanosecond time.
    expect(lastMod).toBe(local.mtime.getTime());
    expect(Math.abs(lastMod - local.mtimeMs)).toBeLessThanOrEqual(0.5);
    await client.remove('fresh.xml');
  });

  it('moves a large binary (ZIP-sized) file intact both ways', async () => {
    const content = randomBytes(3 * 1024 * 1024 + 17);
    await client.cd('/');
    await client.uploadFrom(Readable.from(content), 'big.zip');
    expect(await client.size('big.zip')).toBe(content.length);
    const out = sink();
    await client.downloadTo(out.stream, 'big.zip');
    expect(out.bytes().equals(content)).toBe(true);
    await client.remove('big.zip');
  });

  it('handles UTF-8 and spaces in file names', async () => {
    await client.cd('/');
    const name = 'Exposé Müller 2026.xml';
    await client.uploadFrom(Readable.from(Buffer.from('ä')), name);
    expect((await client.list()).map((f) => f.name)).toContain(name);
    expect(await client.size(name)).toBe(2);
    await client.remove(name);
  });

  it('addresses names with quotes, backslashes and lone -x words like any other (every command the importer sends)', async () => {
    await client.cd('/');
    await client.ensureDir('/names-processed');
    await client.cd('/');
    const names = ['quote"name.xml', 'back\\slash.xml', 'Exposé -x 2026.xml', '-r', 'a  "b" -la  \\c -d.xml'];
    for (const name of names) {
      const content = Buffer.from(`<openimmo>${name}</openimmo>`);
      await client.uploadFrom(Readable.from(content), name);
      // On the disk under exactly that name.
      expect((await stat(path.join(root, name))).size, name).toBe(content.length);
      expect(
        (await client.list()).map((f) => f.name),
        name,
      ).toContain(name);
      expect(await client.size(name), name).toBe(content.length);
      expect(Math.abs((await client.lastMod(name)).getTime() - (await stat(path.join(root, name))).mtimeMs), name).toBeLessThan(1);
      await client.rename(name, `/names-processed/${name}`);
      const out = sink();
      await client.downloadTo(out.stream, `/names-processed/${name}`);
      expect(out.bytes().equals(content), name).toBe(true);
      await client.remove(`/names-processed/${name}`);
      await expect(access(path.join(root, 'names-processed', name)), name).rejects.toThrow();
    }
    // Listings still take their options (basic-ftp sends `LIST -a`), before a path too.
    expect((await client.send('STAT -l /')).code).toBeLessThan(300);
  });

  it('answers 550 for a missing file without revealing local paths', async () => {
    const err = await ftpError(client.size('/inbox/missing.xml'));
    expect(err.code).toBe(550);
    expect(err.message).not.toContain(root);
    const mdtm = await ftpError(client.lastMod('/inbox/missing.xml'));
    expect(mdtm.code).toBe(550);
    const rename = await ftpError(client.rename('/inbox/missing.xml', '/processed/missing.xml'));
    expect(rename.code).toBe(550);
  });

  it('answers MKD with the client path, not the local one', async () => {
    const res = await client.send('MKD /failed');
    expect(res.code).toBe(257);
    expect(res.message).toContain('"/failed"');
    expect(res.message).not.toContain(root);
  });

  it('keeps the client inside its root (.. and symlinks)', async () => {
    await client.cd('/../../..');
    expect(await client.pwd()).toBe('/');
    await writeFile(path.join(outside, 'secret.txt'), 'secret');
    await symlink(outside, path.join(root, 'escape'));
    await mkdir(path.join(root, 'inside'), { recursive: true });
    const err = await ftpError(client.size('/escape/secret.txt'));
    expect(err.code).toBe(550);
    expect((await client.list('/')).map((f) => f.name)).not.toContain('escape');
    await rm(path.join(root, 'escape'));
  });

  it('refuses a wrong password', async () => {
    const other = new Client(5_000);
    try {
      const err = await ftpError(other.access({ host: '127.0.0.1', port: ftp.port, user: USER, password: 'wrong' }));
      expect(err.code).toBe(530);
    } finally {
      other.close();
    }
  });

  it('refuses an unknown user', async () => {
    const other = new Client(5_000);
    try {
      const err = await ftpError(other.access({ host: '127.0.0.1', port: ftp.port, user: 'someone', password: PASSWORD }));
      expect(err.code).toBe(530);
    } finally {
      other.close();
    }
  });
});

describe('embedded FTP server lifecycle', () => {
  it('uses the passive port range it is given and stops listening on stop()', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'imv-ftp-'));
    const free = net.createServer();
    await new Promise<void>((resolve) => free.listen(0, '127.0.0.1', resolve));
    const low = (free.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => free.close(() => resolve()));
    const range: [number, number] = [low, Math.min(low + 3, 65535)];
    const ftp = await startEmbeddedFtp({ root, port: 0, user: 'u', password: 'p', pasvRange: range });
    const client = new Client(5_000);
    try {
      await client.access({ host: '127.0.0.1', port: ftp.port, user: 'u', password: 'p' });
      expect(await client.list()).toEqual([]);
      for (const command of ['EPSV', 'PASV']) {
        const reply = (await client.send(command)).message;
        const port =
          command === 'EPSV'
            ? Number(/\|\|\|(\d+)\|/.exec(reply)?.[1])
            : ((m) => (m ? Number(m[1]) * 256 + Number(m[2]) : NaN))(/127,0,0,1,(\d+),(\d+)/.exec(reply));
        expect(port).toBeGreaterThanOrEqual(range[0]);
        expect(port).toBeLessThanOrEqual(range[1]);
      }
    } finally {
      client.close();
      await ftp.stop();
      await ftp.stop(); // idempotent
    }
    const late = new Client(2_000);
    await expect(late.access({ host: '127.0.0.1', port: ftp.port, user: 'u', password: 'p' })).rejects.toThrow();
    late.close();
    await rm(root, { recursive: true, force: true });
  });

  it('rejects when the port is taken, and leaves nothing behind', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'imv-ftp-'));
    const first = await startEmbeddedFtp({ root, port: 0, user: 'u', password: 'p' });
    const sigterm = process.listenerCount('SIGTERM');
    try {
      await expect(startEmbeddedFtp({ root, port: first.port, user: 'u', password: 'p' })).rejects.toThrow(/EADDRINUSE/);
      expect(process.listenerCount('SIGTERM')).toBe(sigterm);
    } finally {
      await first.stop();
      await rm(root, { recursive: true, force: true });
    }
  });

  it('refuses to bind anything but loopback', async () => {
    await expect(startEmbeddedFtp({ root: tmpdir(), host: '0.0.0.0' as '127.0.0.1', port: 0, user: 'u', password: 'p' })).rejects.toThrow(/loopback/);
  });
});
