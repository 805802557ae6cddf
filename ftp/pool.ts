/**
 * FTP connections reused within one worker process. Every activity used to open a connection and log
 * in (a TCP and, with FTPS, a TLS handshake, USER/PASS, TYPE …) for a few commands: with one object per
 * file that was most of a small file's fetch and archive time. The pool keeps a few logged-in
 * connections per account:
 * - at most the account's `maxConnections` (default 8) in use at once: a further operation waits,
 *   first come first served, for one to be released (FTP servers often limit connections per
 *   account, and a batch's small files run their steps side by side);
 * - at most `maxIdle` idle connections per account (the surplus is closed on release), each closed
 *   after `idleMs` unused;
 * - a connection idle for more than `checkAfterMs` answers a NOOP before it is handed out, so one the
 *   server dropped is replaced instead of failing the activity;
 * - a connection whose operation failed other than with a server reply (a timeout, a broken socket,
 *   a cancelled activity) is closed, never reused;
 * - `close()` (worker shutdown) closes all of them.
 *
 * Hand-written on purpose; the two well-kept pool libraries were weighed (test/ftp/pool.test.ts holds
 * what a replacement must keep):
 * - tarn 3.1 (knex's pool, already installed) keeps FIFO waiting, async validation and abortable waits,
 *   but it cannot destroy one resource that is in use: a connection whose operation broke would go back
 *   to the free list and stay there, closed, until the next acquire validates it away; it has no cap on
 *   idle connections (`maxIdle`), and every acquire times out (30 s by default): waiting behind a big
 *   transfer must not fail the activity. Each of these needs a workaround around the library, as much
 *   code as this class.
 * - generic-pool 3.9 (unreleased since 2022) has async validation and per-resource destroy, but a
 *   waiting acquire cannot be cancelled (only timed out): a cancelled activity would keep its place in
 *   the queue, and take and hand back a connection (perhaps logging in for it) when its turn came.
 */
import type { Client } from 'basic-ftp';
import { DEFAULT_FTP_CONNECTIONS, type FtpAccess } from '../config/config';
import { connect, ftpReplyCode, type FtpOptions } from './ftp';

export interface FtpPoolOptions extends FtpOptions {
  maxIdle?: number;
  idleMs?: number;
  checkAfterMs?: number;
}

interface Idle {
  client: Client;
  since: number;
  timer: NodeJS.Timeout;
}

/** One account's connections: the idle ones, how many are handed out, who waits for one. */
interface Account {
  idle: Idle[];
  inUse: number;
  waiting: (() => void)[];
}

export class FtpPool {
  readonly #accounts = new Map<string, Account>();
  readonly #maxIdle: number;
  readonly #idleMs: number;
  readonly #checkAfterMs: number;
  #closed = false;
  /** Logins performed (for tests and the benchmark). */
  logins = 0;

  constructor(private readonly opts: FtpPoolOptions = {}) {
    this.#maxIdle = opts.maxIdle ?? 8;
    this.#idleMs = opts.idleMs ?? 30_000;
    this.#checkAfterMs = opts.checkAfterMs ?? 2_000;
  }

  static key(a: FtpAccess): string {
    return JSON.stringify([a.host, a.port, a.user, a.secure, a.insecureTls ?? false]);
  }

  /** Runs `fn` on a logged-in connection of this account; `signal` aborts (closes) it. */
  async use<T>(access: FtpAccess, fn: (c: Client) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const key = FtpPool.key(access);
    const account = this.#account(key);
    await this.#slot(account, access.maxConnections ?? DEFAULT_FTP_CONNECTIONS, signal);
    let client: Client;
    try {
      client = await this.#acquire(account, access);
    } catch (err) {
      this.#free(account);
      throw err;
    }
    const onAbort = () => client.close();
    signal?.addEventListener('abort', onAbort);
    let reusable = true;
    try {
      return await fn(client);
    } catch (err) {
      // A server reply (550 for one name) leaves the session usable; anything else does not.
      if (ftpReplyCode(err) === null) reusable = false;
      throw err;
    } finally {
      signal?.removeEventListener('abort', onAbort);
      client.trackProgress();
      if (reusable && !signal?.aborted) this.#release(account, client);
      else client.close();
      this.#free(account);
    }
  }

  close(): void {
    this.#closed = true;
    for (const a of this.#accounts.values()) {
      for (const i of a.idle) this.#drop(i);
      a.idle = [];
    }
  }

  get idleCount(): number {
    let n = 0;
    for (const a of this.#accounts.values()) n += a.idle.length;
    return n;
  }

  /** Connections handed out now, over all accounts. */
  get inUseCount(): number {
    let n = 0;
    for (const a of this.#accounts.values()) n += a.inUse;
    return n;
  }

  #account(key: string): Account {
    let a = this.#accounts.get(key);
    if (!a) this.#accounts.set(key, (a = { idle: [], inUse: 0, waiting: [] }));
    return a;
  }

  /** Waits until the account has fewer than `max` connections in use, then counts one more. */
  async #slot(a: Account, max: number, signal?: AbortSignal): Promise<void> {
    if (a.inUse < max && a.waiting.length === 0) {
      a.inUse++;
      return;
    }
    signal?.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const turn = () => {
        signal?.removeEventListener('abort', onAbort);
        a.inUse++;
        resolve();
      };
      const onAbort = () => {
        a.waiting.splice(a.waiting.indexOf(turn), 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      a.waiting.push(turn);
    });
  }

  /** One connection fewer in use: the longest waiting operation gets its turn. */
  #free(a: Account): void {
    a.inUse--;
    a.waiting.shift()?.();
  }

  async #acquire(a: Account, access: FtpAccess): Promise<Client> {
    const list = a.idle;
    while (list.length) {
      const i = list.pop()!;
      clearTimeout(i.timer);
      if (i.client.closed) continue;
      if (Date.now() - i.since > this.#checkAfterMs) {
        try {
          await i.client.send('NOOP');
        } catch {
          i.client.close();
          continue;
        }
      }
      return i.client;
    }
    this.logins++;
    return connect(access, this.opts);
  }

  #release(a: Account, client: Client): void {
    if (this.#closed || client.closed || a.idle.length >= this.#maxIdle) {
      client.close();
      return;
    }
    const entry: Idle = { client, since: Date.now(), timer: setTimeout(() => this.#expire(a, entry), this.#idleMs) };
    entry.timer.unref();
    a.idle.push(entry);
  }

  #expire(a: Account, entry: Idle): void {
    const at = a.idle.indexOf(entry);
    if (at >= 0) a.idle.splice(at, 1);
    this.#drop(entry);
  }

  #drop(i: Idle): void {
    clearTimeout(i.timer);
    i.client.close();
  }
}
