/**
 * Fault-injection helpers (test/faults): generated IMV-shaped transfers big enough to interrupt,
 * worker processes that can be SIGKILLed, a pausable and throttling FTP proxy, a private PostgreSQL
 * instance to restart, slow uploads and uploads held open until the test releases them, and a
 * normalized snapshot of everything an import writes so that a disturbed run can be compared with
 * an undisturbed one.
 */
import { inject, expect } from 'vitest';
import { spawn, execFile, execFileSync, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { Client as FtpClient } from 'basic-ftp';
import knexFactory from 'knex';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { AppConfig } from '../../config/config';
import type { BatchSummary } from '../../common/messages';
import { freePort, waitForPort } from '../../dev/temporal-server';
import { openDatabase, type Db } from '../../db/db';
import { createTestDatabase, startWorker, temporalClient, testConfig, testEnv, uniqueId, workflowBundle, type TestTenant } from './harness';
import { FTP_PASSWORD, FTP_USER } from './vsftpd';
import { transferOf, type ImvObject } from '../../bench/transfers';

// ---------------------------------------------------------------------------------------------
// Generated transfers
// ---------------------------------------------------------------------------------------------

export interface GenOptions {
  /** IMV object id of position 0; positions get firstId + position. */
  firstId: number;
  count: number;
  /** uebertragung/@timestamp */
  timestamp?: string;
  /** verwaltung_techn/stand_vom */
  stand?: string;
  /** Every n-th object names an onOffice user the tenant does not have (rejected: the file is partial). */
  unknownUserEvery?: number;
  /** Every n-th object is a DELETE of the object 10 positions earlier (often in an earlier chunk). */
  deleteEvery?: number;
  /** Every n-th object is a CHANGE of the object 7 positions earlier, with another price. */
  changeEvery?: number;
  /** Objects share this many contacts (onOffice's de-duplication merges them into one address). */
  contacts?: number;
  /** Filler text per object (bytes), to make the file slower to transfer. */
  padding?: number;
}

/** Position p of a generated transfer, planned (the template is bench/transfers' imvObject). */
function planned(o: GenOptions, p: number): ImvObject {
  const every = (n: number | undefined) => !!n && p >= 10 && p % n === n - 1;
  let id = o.firstId + p;
  let action: ImvObject['action'];
  if (every(o.deleteEvery)) {
    id = o.firstId + p - 10;
    action = 'DELETE';
  } else if (every(o.changeEvery)) {
    id = o.firstId + p - 7;
    action = 'CHANGE';
  }
  return {
    id,
    // The estate's data follows its id: a CHANGE differs from the original in price and title only.
    n: id - o.firstId,
    owner: o.firstId + (p % (o.contacts ?? Math.max(1, Math.ceil(o.count / 3)))),
    action,
    user: every(o.unknownUserEvery) ? 'nicht.angelegt' : id % 2 ? 'skoch' : 'mmustermann',
    stand: o.stand,
    withoutPersonNumber: p % 7 === 3,
    withoutMobile: p % 5 !== 0,
    padding: o.padding,
  };
}

/** An IMV-shaped OpenImmo transfer with `count` objects (deterministic for the same options). */
export function generateTransfer(o: GenOptions): Buffer {
  return transferOf(
    Array.from({ length: o.count }, (_, p) => planned(o, p)),
    { timestamp: o.timestamp },
  );
}

// ---------------------------------------------------------------------------------------------
// Waiting
// ---------------------------------------------------------------------------------------------

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls `probe` until it returns a truthy value; errors count as "not yet" (a database restarting). */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T> | T,
  timeoutMs = 60_000,
  everyMs = 50,
): Promise<Exclude<T, null | undefined | false | 0 | ''>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v as Exclude<T, null | undefined | false | 0 | ''>;
    } catch (e) {
      lastError = e;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}`);
    await sleep(everyMs);
  }
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

/** Test timings: a dead worker's activity is retried after `heartbeatTimeoutSeconds`. */
export const FAULT_HEARTBEAT_SECONDS = 4;

/**
 * A test config (harness.testConfig) whose tenants may use another FTP server (a private vsftpd or
 * a proxy), with short heartbeat timeouts so that a killed worker's activity is retried quickly.
 */
export function faultConfig(opts: { databaseUrl: string; tenants: TestTenant[]; ftpPort?: number; worker?: Record<string, unknown> }): AppConfig {
  const cfg = testConfig({
    databaseUrl: opts.databaseUrl,
    tenants: opts.tenants,
    worker: { heartbeatTimeoutSeconds: FAULT_HEARTBEAT_SECONDS, ...(opts.worker ?? {}) },
  });
  if (opts.ftpPort) for (const t of cfg.tenants) t.ftp.url = `ftp://${FTP_USER}@127.0.0.1:${opts.ftpPort}/${t.id}`;
  return cfg;
}

// ---------------------------------------------------------------------------------------------
// FTP
// ---------------------------------------------------------------------------------------------

export async function ftpAt<T>(port: number, fn: (c: FtpClient) => Promise<T>): Promise<T> {
  const c = new FtpClient(15_000);
  await c.access({ host: '127.0.0.1', port, user: FTP_USER, password: FTP_PASSWORD });
  try {
    return await fn(c);
  } finally {
    c.close();
  }
}

export const sharedFtpPort = (): number => inject('ftpPort');

export async function upload(port: number, tenant: string, name: string, content: Buffer): Promise<void> {
  await ftpAt(port, async (c) => {
    await c.ensureDir(`/${tenant}`);
    await c.uploadFrom(Readable.from([content]), `/${tenant}/${name}`);
  });
}

/**
 * Uploads `content` in `parts` pieces, `delayMs` apart, so the file grows on the server for
 * parts × delayMs: what a sender on a slow line looks like to the lister. The upload ends after
 * that wall-clock time whatever the test is doing: a test that needs the file to be still growing
 * at some point (after a batch, say) must use `uploadUntilReleased` instead.
 */
export async function uploadSlowly(port: number, tenant: string, name: string, content: Buffer, o: { parts: number; delayMs: number }): Promise<void> {
  const size = Math.ceil(content.length / o.parts);
  async function* pieces() {
    for (let i = 0; i < content.length; i += size) {
      if (i > 0) await sleep(o.delayMs);
      yield content.subarray(i, i + size);
    }
  }
  await ftpAt(port, async (c) => {
    await c.ensureDir(`/${tenant}`);
    await c.uploadFrom(Readable.from(pieces()), `/${tenant}/${name}`);
  });
}

export interface HeldUpload {
  /** Resolves when the whole file is on the server (the upload finished); rejects if it failed. */
  done: Promise<void>;
  /** Bytes handed to the data connection so far. */
  sent(): number;
  /** Sends the rest of the content at once and completes the upload. Idempotent. */
  release(): void;
}

/**
 * An upload that keeps growing until the test releases it: `pieceBytes` every `everyMs` (by
 * default 256 bytes every 100 ms, 2.5 KB/s: a 2.5 MB transfer would take 16 minutes), then, once
 * `release()` is called, the rest at once. Unlike `uploadSlowly` nothing depends on how long the
 * test's other steps take: the file is incomplete, and changes between any two listings a second
 * or so apart, for as long as the test wants. The trickle never sends the last piece on its own;
 * if it gets there before `release()`, the upload fails (`done` rejects) rather than looking
 * finished. `done` has a handler attached, so a test that fails before awaiting it does not also
 * report an unhandled rejection; call `release()` in a `finally` so that the connection ends.
 */
export function uploadUntilReleased(
  port: number,
  tenant: string,
  name: string,
  content: Buffer,
  o: { pieceBytes?: number; everyMs?: number } = {},
): HeldUpload {
  const pieceBytes = o.pieceBytes ?? 256;
  const everyMs = o.everyMs ?? 100;
  let release!: () => void;
  let released = false;
  const gate = new Promise<void>((r) => (release = r));
  let at = 0;
  async function* pieces() {
    while (!released) {
      if (at + pieceBytes >= content.length) {
        throw new Error(`uploadUntilReleased: ${name} trickled up to its last piece (${at} of ${content.length} bytes) and was never released`);
      }
      const piece = content.subarray(at, at + pieceBytes);
      at += piece.length;
      yield piece;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([gate, new Promise<void>((r) => (timer = setTimeout(r, everyMs)))]);
      clearTimeout(timer);
    }
    const rest = content.subarray(at);
    at = content.length;
    yield rest;
  }
  const done = ftpAt(port, async (c) => {
    await c.ensureDir(`/${tenant}`);
    await c.uploadFrom(Readable.from(pieces()), `/${tenant}/${name}`);
  });
  done.catch(() => undefined);
  return {
    done,
    sent: () => at,
    release() {
      released = true;
      release();
    },
  };
}

export async function listDir(port: number, dir: string): Promise<string[]> {
  return ftpAt(port, async (c) => {
    try {
      return (await c.list(dir))
        .filter((f) => f.isFile)
        .map((f) => f.name)
        .sort();
    } catch {
      return [];
    }
  });
}

/** Bytes in the file store's temp folder: > 0 while a download is under way. */
export function downloadingBytes(storeDir: string): number {
  const dir = path.join(storeDir, 'tmp');
  let n = 0;
  try {
    for (const f of fs.readdirSync(dir)) {
      try {
        n += fs.statSync(path.join(dir, f)).size;
      } catch {
        /* renamed into place meanwhile */
      }
    }
  } catch {
    /* no download yet */
  }
  return n;
}

/**
 * A TCP proxy in front of an FTP server (control connection, and passive data connections by
 * rewriting EPSV/PASV answers), which can throttle downloads and freeze every connection it has
 * open: a server or network that stalls without closing anything. New connections are not frozen.
 */
export class FtpProxy {
  port = 0;
  /** Bytes per second from the server to the client on data connections (0 = unlimited). */
  bytesPerSecond = 0;
  private server: net.Server | null = null;
  private readonly conns = new Set<{ client: net.Socket; upstream: net.Socket; frozen: boolean }>();
  private readonly listeners = new Set<net.Server>();

  constructor(private readonly upstreamPort: number) {}

  async start(): Promise<this> {
    this.server = net.createServer((client) => this.control(client));
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  /** Freezes all open connections (no byte moves either way, nothing is closed). */
  freeze(): number {
    let n = 0;
    for (const c of this.conns) {
      if (c.frozen) continue;
      c.frozen = true;
      c.client.pause();
      c.upstream.pause();
      n++;
    }
    return n;
  }

  async stop(): Promise<void> {
    for (const c of this.conns) {
      c.client.destroy();
      c.upstream.destroy();
    }
    for (const l of this.listeners) l.close();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }

  private pair(client: net.Socket, upstream: net.Socket) {
    const c = { client, upstream, frozen: false };
    this.conns.add(c);
    const end = () => {
      this.conns.delete(c);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    return c;
  }

  private control(client: net.Socket) {
    const upstream = net.connect(this.upstreamPort, '127.0.0.1');
    const c = this.pair(client, upstream);
    client.on('data', (d) => upstream.write(d));
    let buf = '';
    upstream.on('data', (d) => {
      buf += d.toString('latin1');
      let i: number;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i + 1);
        buf = buf.slice(i + 1);
        void this.rewrite(line).then((out) => {
          if (!c.frozen) client.write(Buffer.from(out, 'latin1'));
        });
      }
    });
  }

  /** Answers naming a data port are sent only once our own listener for that port is up. */
  private pending: Promise<unknown> = Promise.resolve();
  private rewrite(line: string): Promise<string> {
    const next = this.pending.then(async () => {
      const epsv = /^229 (.*)\(\|\|\|(\d+)\|\)/.exec(line);
      if (epsv) return `229 ${epsv[1]}(|||${await this.dataListener(Number(epsv[2]))}|)\r\n`;
      const pasv = /^227 (.*)\((\d+),(\d+),(\d+),(\d+),(\d+),(\d+)\)/.exec(line);
      if (pasv) {
        const port = await this.dataListener(Number(pasv[6]) * 256 + Number(pasv[7]));
        return `227 ${pasv[1]}(127,0,0,1,${port >> 8},${port & 255})\r\n`;
      }
      return line;
    });
    this.pending = next;
    return next;
  }

  private async dataListener(upstreamPort: number): Promise<number> {
    const l = net.createServer((client) => {
      l.close();
      this.listeners.delete(l);
      const upstream = net.connect(upstreamPort, '127.0.0.1');
      const c = this.pair(client, upstream);
      client.on('data', (d) => upstream.write(d));
      client.on('end', () => upstream.end());
      upstream.on('end', () => client.end());
      upstream.on('data', (d) => {
        if (c.frozen) return;
        client.write(d);
        if (this.bytesPerSecond > 0) {
          upstream.pause();
          setTimeout(
            () => {
              if (!c.frozen) upstream.resume();
            },
            (d.length / this.bytesPerSecond) * 1000,
          );
        }
      });
    });
    this.listeners.add(l);
    await new Promise<void>((r) => l.listen(0, '127.0.0.1', r));
    return (l.address() as net.AddressInfo).port;
  }
}

/**
 * A plain TCP proxy (e.g. between a worker and the Temporal server) that can freeze: from then on no
 * byte moves either way, on the connections it has open and on new ones, and nothing is closed: the
 * worker goes on with what it can do alone, and the server hears nothing of it.
 */
export class TcpProxy {
  port = 0;
  private frozen = false;
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();

  constructor(
    private readonly upstreamHost: string,
    private readonly upstreamPort: number,
  ) {}

  async start(): Promise<this> {
    this.server = net.createServer((client) => {
      const upstream = net.connect(this.upstreamPort, this.upstreamHost);
      for (const [from, to] of [
        [client, upstream],
        [upstream, client],
      ]) {
        this.sockets.add(from);
        if (this.frozen) from.pause();
        from.on('data', (d) => to.write(d));
        from.on('end', () => to.end());
        from.on('error', () => to.destroy());
        from.on('close', () => {
          this.sockets.delete(from);
          to.destroy();
        });
      }
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
    return this;
  }

  freeze(): void {
    this.frozen = true;
    for (const s of this.sockets) s.pause();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

// ---------------------------------------------------------------------------------------------
// Worker processes
// ---------------------------------------------------------------------------------------------

const workerEntry = path.resolve(__dirname, 'fault-worker.ts');
let bundlePath: Promise<string> | null = null;

/** The workflow bundle, built once per test file and written where worker processes can load it. */
function bundleFile(): Promise<string> {
  bundlePath ??= workflowBundle().then((b) => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'imv-bundle-')), 'workflows.js');
    fs.writeFileSync(file, b.code);
    return file;
  });
  return bundlePath;
}

export interface WorkerProcess {
  child: ChildProcess;
  identity: string;
  /** Resolves when the worker polls its task queue. */
  ready: Promise<void>;
  exited: Promise<number | null>;
  /** The process's stderr so far (worker logs are silenced; errors end up here). */
  stderr(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/**
 * `createImportWorker` in a separate process (test/support/fault-worker.ts, run with tsx), so that it can be killed with SIGKILL like a crashed or OOM-killed pod.
 */
export async function spawnWorker(cfg: AppConfig, identity = uniqueId('worker')): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', workerEntry], {
    env: {
      ...process.env,
      ...testEnv,
      IMV_FAULT_WORKER: JSON.stringify({ cfg, identity, bundle: await bundleFile(), ftpTimeoutMs: 30_000 }),
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let err = '';
  child.stderr!.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const ready = new Promise<void>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('ready')) resolve();
    });
    void exited.then((code) => reject(new Error(`worker ${identity} exited with ${code} before it was ready: ${err}`)));
  });
  ready.catch(() => undefined);
  return {
    child,
    identity,
    ready,
    exited,
    stderr: () => err,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// A private PostgreSQL instance
// ---------------------------------------------------------------------------------------------

/** The PostgreSQL server binaries (Debian layout, newest version), or TEST_PG_BIN. */
const PG_BIN =
  process.env.TEST_PG_BIN ??
  (() => {
    try {
      const versions = fs.readdirSync('/usr/lib/postgresql').filter((v) => fs.existsSync(`/usr/lib/postgresql/${v}/bin/initdb`));
      versions.sort((a, b) => Number(b) - Number(a));
      return versions.length ? `/usr/lib/postgresql/${versions[0]}/bin` : '';
    } catch {
      return '';
    }
  })();
export const hasPostgresServerBinaries = !!PG_BIN && fs.existsSync(path.join(PG_BIN, 'initdb'));
const execFileAsync = promisify(execFile);

export interface PrivatePostgres {
  port: number;
  url(database: string): string;
  /** Kills the server the hard way (`pg_ctl stop -m immediate`: crash recovery on the next start). */
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * A PostgreSQL server of its own (initdb into a temp folder, a free port), so that a test can
 * restart it without disturbing the test files that share the machine's server. Run as the
 * `postgres` user when the tests run as root (initdb refuses root).
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-pg-'));
  const data = path.join(dir, 'data');
  const asPg = process.getuid?.() === 0;
  if (asPg) execFileSync('chown', ['postgres:postgres', dir]);
  const run = async (bin: string, args: string[]) => {
    const cmd = path.join(PG_BIN, bin);
    await execFileAsync(asPg ? 'runuser' : cmd, asPg ? ['-u', 'postgres', '--', cmd, ...args] : args, { cwd: dir });
  };
  await run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-N', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=60`;
  const pg: PrivatePostgres = {
    port,
    url: (db) => `postgres://postgres@127.0.0.1:${port}/${db}`,
    stop: () => run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']),
    start: () => run('pg_ctl', ['-D', data, '-o', opts, '-l', path.join(dir, 'log'), '-w', '-t', '30', 'start']),
    async destroy() {
      await pg.stop().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  await pg.start();
  await waitForPort(port, '127.0.0.1', 10_000);
  return pg;
}

/** A small pool that does not log the connection errors a database outage causes (polling in tests). */
export function quietDb(url: string): Db {
  const silent = { warn() {}, error() {}, debug() {}, deprecate() {} };
  return knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 2 }, acquireConnectionTimeout: 5_000, log: silent });
}

// ---------------------------------------------------------------------------------------------
// What an import leaves behind, comparable across databases and tenants
// ---------------------------------------------------------------------------------------------

/** Columns that differ between two correct runs: ids, times, and the file's upload time. */
const VOLATILE = new Set([
  'id',
  'tenant_id',
  'created_at',
  'updated_at',
  'archived_at',
  'source_file_time',
  'last_import_id',
  'estate_id',
  'address_id',
  'import_id',
]);

function strip(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(row).sort()) if (!VOLATILE.has(k)) out[k] = row[k];
  return out;
}

const sorted = <T>(rows: T[]) => rows.map((r) => JSON.stringify(r)).sort();

export interface DbState {
  estates: string[];
  addresses: string[];
  links: string[];
  objects: string[];
  ledger: string[];
}

/**
 * Everything the imports of `tenant` wrote, without ids and times: estates (by IMV id), addresses,
 * estate–address links (by IMV id and address content), per-object outcomes (by file name and
 * position) and the final ledger rows (by file name).
 */
export async function dbState(db: Db, tenant: string): Promise<DbState> {
  const estates = (await db('estates').where({ tenant_id: tenant }).select('*')) as Record<string, unknown>[];
  const addresses = (await db('addresses').where({ tenant_id: tenant }).select('*')) as Record<string, unknown>[];
  const addressKey = new Map(addresses.map((a) => [a.id as number, JSON.stringify(strip(a))]));
  const sourceOf = new Map(estates.map((e) => [e.id as number, e.source_id as string]));
  const links = (await db('estate_contacts as l').join('estates as e', 'e.id', 'l.estate_id').where('e.tenant_id', tenant).select('l.*')) as Record<
    string,
    unknown
  >[];
  const files = (await db('import_files').where({ tenant_id: tenant }).select('*')) as Record<string, unknown>[];
  const fileName = new Map(files.map((f) => [f.id as number, f.file_name as string]));
  const objects = (await db('import_objects as o').join('import_files as f', 'f.id', 'o.import_id').where('f.tenant_id', tenant).select('o.*')) as Record<
    string,
    unknown
  >[];
  const ids = (s: unknown) =>
    JSON.stringify(s)
      .replace(/import \d+/g, 'import #')
      .split(tenant)
      .join('<tenant>');
  return {
    estates: sorted(estates.map((e) => strip(e))),
    addresses: sorted(addresses.map((a) => strip(a))),
    links: sorted(links.map((l) => ({ estate: sourceOf.get(l.estate_id as number), address: addressKey.get(l.address_id as number), role: l.role }))),
    objects: sorted(
      objects.map((o) => ({
        ...strip(o),
        file: fileName.get(o.import_id as number),
        estate: o.estate_id == null ? null : (sourceOf.get(o.estate_id as number) ?? '?'),
        messages: ids(o.messages),
      })),
    ),
    ledger: sorted(
      files.map((f) => ({
        file: f.file_name,
        status: f.status,
        sha256: f.sha256,
        size: f.size,
        objects_total: f.objects_total,
        counts: [f.created, f.updated, f.unchanged, f.archived, f.stale, f.rejected, f.warnings],
        error_type: f.error_type,
        duplicate_of: f.duplicate_of == null ? null : fileName.get(f.duplicate_of as number),
        archived: f.archived_path == null ? null : String(f.archived_path).replace(/^.*\/(processed|failed)\/\d+-/, '$1/'),
      })),
    ),
  };
}

/** The final database of a disturbed run equals the undisturbed one, table by table. */
export function expectSameState(actual: DbState, expected: DbState): void {
  // Counts first: a failure message with the numbers is readable; the full diff follows.
  expect({ estates: actual.estates.length, addresses: actual.addresses.length, links: actual.links.length, objects: actual.objects.length }).toEqual({
    estates: expected.estates.length,
    addresses: expected.addresses.length,
    links: expected.links.length,
    objects: expected.objects.length,
  });
  expect(actual.ledger).toEqual(expected.ledger);
  expect(actual.estates).toEqual(expected.estates);
  expect(actual.addresses).toEqual(expected.addresses);
  expect(actual.links).toEqual(expected.links);
  expect(actual.objects).toEqual(expected.objects);
}

/**
 * The ledger is complete: every file has exactly one row, in a final state, no staged objects are
 * left, and no estate or link exists twice.
 */
export async function expectLedgerComplete(db: Db, tenant: string, files: string[]): Promise<void> {
  const rows = (await db('import_files').where({ tenant_id: tenant }).whereNull('replay_of').select('file_name', 'status')) as {
    file_name: string;
    status: string;
  }[];
  expect(rows.map((r) => r.file_name).sort()).toEqual([...files].sort());
  for (const r of rows) expect(['imported', 'partial', 'duplicate', 'failed'], `${r.file_name}: ${r.status}`).toContain(r.status);
  const staged = await db('staged_objects as s').join('import_files as f', 'f.id', 's.import_id').where('f.tenant_id', tenant).count<{ n: number }[]>('* as n');
  expect(Number(staged[0].n)).toBe(0);
  const dupEstates = await db('estates').where({ tenant_id: tenant }).groupBy('source_id').havingRaw('count(*) > 1').select('source_id');
  expect(dupEstates).toEqual([]);
  const dupLinks = await db('estate_contacts as l')
    .join('estates as e', 'e.id', 'l.estate_id')
    .where('e.tenant_id', tenant)
    .groupBy('l.estate_id', 'l.address_id', 'l.role')
    .havingRaw('count(*) > 1')
    .select('l.estate_id');
  expect(dupLinks).toEqual([]);
}

// ---------------------------------------------------------------------------------------------
// Batches and workflows
// ---------------------------------------------------------------------------------------------

/** Starts an import batch for `tenant` directly (not through a schedule), with its own id. */
export async function startBatch(client: Client, cfg: AppConfig, tenant: string, id = uniqueId(`import-batch/${tenant}`)): Promise<WorkflowHandle> {
  return client.workflow.start('importBatch', { taskQueue: cfg.temporal.taskQueue, workflowId: id, args: [{ tenant }] });
}

export async function batchResult(h: WorkflowHandle): Promise<BatchSummary> {
  return (await h.result()) as BatchSummary;
}

/** The file workflow that imports `name` (the batch's child), once it has started. */
export async function fileWorkflow(
  client: Client,
  db: Db,
  tenant: string,
  name: string,
  timeoutMs = 60_000,
): Promise<{ handle: WorkflowHandle; importId: number }> {
  const row = await waitFor(
    `ledger row of ${name}`,
    () => db('import_files').where({ tenant_id: tenant, file_name: name }).first('id', 'workflow_id'),
    timeoutMs,
  );
  return { handle: client.workflow.getHandle(row.workflow_id), importId: row.id };
}

/** The activity a worker is running for the workflow now (a started pending activity), or null. */
export interface RunningActivity {
  type: string;
  id: string;
  attempt: number;
  /** Its first argument, from the history (e.g. a chunk's { importId, from, to }). */
  input: Record<string, unknown> | null;
}

export async function runningActivity(h: WorkflowHandle, withInput = false): Promise<RunningActivity | null> {
  const d = await h.describe();
  // PENDING_ACTIVITY_STATE_STARTED = 2: a worker has it (scheduled ones wait for a poller or a retry).
  const p = d.raw.pendingActivities?.find((a) => Number(a.state) === 2);
  if (!p) return null;
  const id = p.activityId ?? '?';
  let input: Record<string, unknown> | null = null;
  if (withInput) {
    const history = await h.fetchHistory();
    const scheduled = history.events?.find((e) => e.activityTaskScheduledEventAttributes?.activityId === id)?.activityTaskScheduledEventAttributes;
    const data = scheduled?.input?.payloads?.[0]?.data;
    if (data) input = JSON.parse(Buffer.from(data).toString('utf8'));
  }
  return { type: p.activityType?.name ?? '?', id, attempt: p.attempt ?? 1, input };
}

export interface TransferFile {
  name: string;
  content: Buffer;
}

/**
 * The undisturbed run: `files` imported by one batch (or `batches`, one after the other) into a
 * fresh database, with an in-process worker and nothing injected. Returns the normalized state to
 * compare a disturbed run with. Files of one batch run concurrently: give them disjoint objects.
 */
export async function referenceRun(files: TransferFile[] | TransferFile[][], tenantOptions: Record<string, unknown> = {}): Promise<DbState> {
  const batches = (Array.isArray(files[0]) ? files : [files]) as TransferFile[][];
  const tenant = uniqueId('ref');
  const dbh = await createTestDatabase('imv_ref');
  const cfg = faultConfig({ databaseUrl: dbh.url, tenants: [{ id: tenant, options: tenantOptions }] });
  const db = await openDatabase(cfg, 2);
  const worker = await startWorker(cfg, `${tenant}-worker`);
  const client = await temporalClient();
  try {
    for (const batch of batches) {
      for (const f of batch) await upload(sharedFtpPort(), tenant, f.name, f.content);
      const summary = await batchResult(await startBatch(client, cfg, tenant));
      expect(summary.files).toBe(batch.length);
    }
    return await dbState(db, tenant);
  } finally {
    await worker.stop();
    await client.connection.close();
    await db.destroy();
    await dbh.drop();
  }
}

/** Attempts of every activity that completed in a workflow's history, by type: [attempt, last failure]. */
export async function activityAttempts(h: WorkflowHandle): Promise<{ type: string; attempt: number; lastFailure: string | null }[]> {
  const history = await h.fetchHistory();
  const scheduled = new Map<string, string>();
  const out: { type: string; attempt: number; lastFailure: string | null }[] = [];
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '?');
    const st = e.activityTaskStartedEventAttributes;
    if (st) out.push({ type: scheduled.get(String(st.scheduledEventId)) ?? '?', attempt: st.attempt ?? 1, lastFailure: st.lastFailure?.message ?? null });
  }
  return out;
}
