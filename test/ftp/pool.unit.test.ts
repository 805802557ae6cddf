/**
 * The worker's FTP connection pool against a real FTP server (the embedded ftp-srv): connections are
 * reused, a connection the server dropped is replaced instead of failing the operation, one whose
 * operation broke is never reused, a server reply (550) leaves it usable, and close() ends them all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmbeddedFtp, type EmbeddedFtp } from '../../dev/embedded-ftp';
import { FtpPool } from '../../ftp/pool';
import type { FtpAccess } from '../../config/config';

describe('FtpPool', () => {
  let root: string;
  let ftp: EmbeddedFtp;
  let access: FtpAccess;

  beforeAll(async () => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-pool-'));
    fs.writeFileSync(path.join(root, 'a.xml'), 'a');
    ftp = await startEmbeddedFtp({ root, port: 0, user: 'pool', password: 'pool-secret' });
    access = { host: '127.0.0.1', port: ftp.port, user: 'pool', password: 'pool-secret', secure: false, insecureTls: false, baseDir: '/' } as FtpAccess;
  });

  afterAll(async () => {
    await ftp?.stop();
  });

  it('reuses one logged-in connection for operations one after another', async () => {
    const pool = new FtpPool();
    try {
      for (let i = 0; i < 5; i++) expect(await pool.use(access, (c) => c.size('/a.xml'))).toBe(1);
      expect(pool.logins).toBe(1);
      expect(pool.idleCount).toBe(1);
    } finally {
      pool.close();
    }
    expect(pool.idleCount).toBe(0);
  });

  it('opens more connections for operations at the same time, keeps at most maxIdle', async () => {
    const pool = new FtpPool({ maxIdle: 2 });
    try {
      const sizes = await Promise.all([1, 2, 3, 4].map(() => pool.use(access, (c) => c.size('/a.xml'))));
      expect(sizes).toEqual([1, 1, 1, 1]);
      expect(pool.logins).toBe(4);
      expect(pool.idleCount).toBe(2);
    } finally {
      pool.close();
    }
  });

  it("holds at most the account's maxConnections at once; the others wait their turn, first come first served", async () => {
    const pool = new FtpPool();
    const capped = { ...access, maxConnections: 2 };
    let open = 0;
    let most = 0;
    const order: number[] = [];
    try {
      const sizes = await Promise.all(
        [0, 1, 2, 3, 4, 5].map((i) =>
          pool.use(capped, async (c) => {
            most = Math.max(most, ++open);
            order.push(i);
            try {
              return await c.size('/a.xml');
            } finally {
              open--;
            }
          }),
        ),
      );
      expect(sizes).toEqual([1, 1, 1, 1, 1, 1]);
      expect(most, 'connections in use at once').toBe(2);
      expect(pool.logins, 'the two connections are reused by the waiting operations').toBe(2);
      expect(order).toEqual([0, 1, 2, 3, 4, 5]);
      expect(pool.inUseCount).toBe(0);
    } finally {
      pool.close();
    }
  });

  it('an operation cancelled while it waits for a connection gives up its turn', async () => {
    const pool = new FtpPool();
    const capped = { ...access, maxConnections: 1 };
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    try {
      const first = pool.use(capped, async (c) => {
        await held;
        return c.size('/a.xml');
      });
      const abort = new AbortController();
      const cancelled = pool.use(capped, (c) => c.size('/a.xml'), abort.signal);
      const third = pool.use(capped, (c) => c.size('/a.xml'));
      abort.abort(new Error('activity cancelled'));
      await expect(cancelled).rejects.toThrow('activity cancelled');
      release();
      expect(await first).toBe(1);
      expect(await third).toBe(1);
      expect(pool.inUseCount).toBe(0);
      expect(pool.logins).toBe(1);
    } finally {
      pool.close();
    }
  });

  it('a server reply (550) keeps the connection; a broken operation drops it', async () => {
    const pool = new FtpPool();
    try {
      await expect(pool.use(access, (c) => c.size('/missing.xml'))).rejects.toMatchObject({ code: 550 });
      expect(pool.idleCount).toBe(1);
      await expect(
        pool.use(access, async (c) => {
          c.close();
          return c.size('/a.xml');
        }),
      ).rejects.toThrow();
      expect(pool.idleCount).toBe(0);
      expect(await pool.use(access, (c) => c.size('/a.xml'))).toBe(1);
      expect(pool.logins).toBe(2);
    } finally {
      pool.close();
    }
  });

  it('a connection the server dropped while idle is replaced (NOOP check), not handed out', async () => {
    const pool = new FtpPool({ checkAfterMs: 0 });
    try {
      await pool.use(access, (c) => c.size('/a.xml'));
      // The server goes away and comes back on the same port: the idle connection is dead.
      await ftp.stop();
      ftp = await startEmbeddedFtp({ root, port: access.port, user: 'pool', password: 'pool-secret' });
      expect(await pool.use(access, (c) => c.size('/a.xml'))).toBe(1);
      expect(pool.logins).toBe(2);
    } finally {
      pool.close();
    }
  });
});
