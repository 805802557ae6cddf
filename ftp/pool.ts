/**
 * FTP connections reused within one worker process. Every activity used to open a connection and log
 * in (a TCP and, with FTPS, a TLS handshake, USER/PASS, TYPE …) for a few commands: with one object per
 * file that was most of a small file's fetch and archive time. The pool keeps a few logged-in
 * connections per account:
 * - at most `maxIdle` idle connections per account (more in use at once is fine; the surplus is
 *   closed on release), each closed after `idleMs` unused;
 * - a connection idle for more than `checkAfterMs` answers a NOOP before it is handed out, so one the
 *   server dropped is replaced instead of failing the activity;
 * - a connection whose operation failed other than with a server reply (a timeout, a broken socket,
 *   a cancelled activity) is closed, never reused;
 * - `close()` (worker shutdown) closes all of them.
 */
import type { Client } from 'basic-ftp';
import type { FtpAccess } from '../config/config';
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

export class FtpPool {
  readonly #idle = new Map<string, Idle[]>();
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
    const client = await this.#acquire(key, access);
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
      if (reusable && !signal?.aborted) this.#release(key, client);
      else client.close();
    }
  }

  close(): void {
    this.#closed = true;
    for (const list of this.#idle.values()) for (const i of list) this.#drop(i);
    this.#idle.clear();
  }

  get idleCount(): number {
    let n = 0;
    for (const list of this.#idle.values()) n += list.length;
    return n;
  }

  async #acquire(key: string, access: FtpAccess): Promise<Client> {
    const list = this.#idle.get(key) ?? [];
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

  #release(key: string, client: Client): void {
    if (this.#closed || client.closed) {
      client.close();
      return;
    }
    const list = this.#idle.get(key) ?? [];
    if (list.length >= this.#maxIdle) {
      client.close();
      return;
    }
    const entry: Idle = { client, since: Date.now(), timer: setTimeout(() => this.#expire(key, entry), this.#idleMs) };
    entry.timer.unref();
    list.push(entry);
    this.#idle.set(key, list);
  }

  #expire(key: string, entry: Idle): void {
    const list = this.#idle.get(key);
    const at = list?.indexOf(entry) ?? -1;
    if (list && at >= 0) list.splice(at, 1);
    this.#drop(entry);
  }

  #drop(i: Idle): void {
    clearTimeout(i.timer);
    i.client.close();
  }
}
