/**
 * Workers on separate hosts that share no disk (issue 10), made of network namespaces
 * (test/multihost/hosts.ts): three worker hosts, each `imv-import worker` in its own namespace with its
 * own empty scratch folder, reaching Temporal, PostgreSQL and vsftpd only over its veth. The file store
 * is the PostgreSQL one, in the database they all reach.
 *
 * A file up to localStepsMaxBytes runs every step as a local activity on the worker that runs its
 * workflow; a bigger one (here a ZIP of 2,000 objects with pictures) runs its steps as regular
 * activities on whichever hosts take them, so its fetch, parse and attachment chunks may each run on a
 * different host: only the shared store makes that work. The batch is imported by whichever hosts are
 * up; one host's worker is SIGKILLed and another host is cut off the network while it runs. Every
 * picture is then read back through the CLI on a host that did not import it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { parseConfig, tenantOf, type AppConfig } from '../../config/config';
import { openDatabase, type Db } from '../../db/db';
import { PgFileStore } from '../../store/pg-store';
import { ensureSchedule } from '../../ops/schedule';
import { triggerBatch } from '../../ops/batches';
import { temporal } from '@temporalio/proto';
import { dbState, expectLedgerComplete, expectSameState } from '../support/db-state';
import { FAULT_HEARTBEAT_SECONDS } from '../support/harness';
import { waitFor } from '../support/wait';
import { FTP_PASSWORD } from '../support/vsftpd';
import { CLI, FTP_PASSWORD_ENV, namedNetns, netnsOf, startCluster, type Cluster, type Host } from './hosts';
import { inbox, uploadAll, sha256 as sha256Of, type InboxFile, type Picture } from './transfers';

const execFileAsync = promisify(execFile);

const HOSTS = 3;
const REF = 'mh-ref';
const DISTURBED = 'mh-disturbed';
const DATABASE = 'imv_multihost';

const tenants = [REF, DISTURBED].map((id) => ({
  id,
  users: ['mmustermann', 'skoch'],
  options: { minFileAgeSeconds: 0, stableCheckMs: 300, maxConcurrentFiles: 16, feedback: true },
}));
const workerOptions = { heartbeatTimeoutSeconds: FAULT_HEARTBEAT_SECONDS, maxConcurrentActivities: 8 };

const FINAL = ['imported', 'partial', 'duplicate', 'failed'];

/** Attachments of the tenant's estates, comparable across tenants. */
async function attachments(db: Db, tenant: string): Promise<{ estate: string; position: number; group: string; sha256: string | null; size: number | null }[]> {
  const rows = (await db('estate_attachments as a')
    .join('estates as e', 'e.id', 'a.estate_id')
    .where('e.tenant_id', tenant)
    .orderBy([{ column: 'e.source_id' }, { column: 'a.position' }])
    .select('e.source_id', 'a.position', 'a.group', 'a.sha256', 'a.size')) as {
    source_id: string;
    position: number;
    group: string;
    sha256: string | null;
    size: string | null;
  }[];
  return rows.map((r) => ({ estate: r.source_id, position: r.position, group: r.group, sha256: r.sha256, size: r.size == null ? null : Number(r.size) }));
}

async function finalRows(db: Db, tenant: string): Promise<number> {
  const r = await db('import_files').where({ tenant_id: tenant }).whereIn('status', FINAL).count<{ n: string }[]>('* as n');
  return Number(r[0]!.n);
}

/** Which worker identities took workflow or activity tasks of each file workflow of the tenant, and which completed its last workflow task. */
interface WorkflowHosts {
  file: string;
  hosts: string[];
  last: string;
  /** The first task another host took after `since` (ms since the epoch), and when. */
  pickedUp: { host: string; at: number } | null;
  /** Who held the workflow at `since`: the host that took its last workflow task before, while it was still open. */
  heldAt: string | null;
  /** Workflow tasks that timed out (a dead or cut-off host's, or its sticky queue's), and activity attempts retried after a heartbeat timeout. */
  workflowTaskTimeouts: number;
  heartbeatRetries: number;
}

const TIMEOUT_HEARTBEAT = temporal.api.enums.v1.TimeoutType.TIMEOUT_TYPE_HEARTBEAT;
const ms = (t: { seconds?: unknown; nanos?: number | null } | null | undefined) => (t ? Number(t.seconds) * 1000 + (t.nanos ?? 0) / 1e6 : 0);

async function workflowHosts(client: Client, db: Db, tenant: string, since?: { host: string; at: number }): Promise<WorkflowHosts[]> {
  const rows = (await db('import_files').where({ tenant_id: tenant }).whereNull('replay_of').select('file_name', 'workflow_id')) as {
    file_name: string;
    workflow_id: string;
  }[];
  // The histories are fetched side by side (one request each); the answer keeps the ledger's order.
  return Promise.all(
    rows.map(async (r): Promise<WorkflowHosts> => {
      const history = await client.workflow.getHandle(r.workflow_id).fetchHistory();
      const events = history.events ?? [];
      // A task taken by a host that died or was cut off shows as started (then timed out), never completed.
      const identityOf = (e: (typeof events)[number]) =>
        e.workflowTaskStartedEventAttributes?.identity ?? e.workflowTaskCompletedEventAttributes?.identity ?? e.activityTaskStartedEventAttributes?.identity;
      const took = events.map(identityOf).filter((x): x is string => !!x);
      const completed = events.map((e) => e.workflowTaskCompletedEventAttributes?.identity).filter((x): x is string => !!x);
      const after = since ? events.find((e) => ms(e.eventTime) > since.at && !!identityOf(e) && identityOf(e) !== since.host) : undefined;
      const before = since ? events.filter((e) => ms(e.eventTime) < since.at) : [];
      // The host that took its last workflow task before: one in flight (a small file's local steps run inside
      // it) or, when it completed, the one whose sticky queue gets the next.
      const lastBefore = before.map((e) => e.workflowTaskStartedEventAttributes?.identity).filter((x): x is string => !!x);
      const open = since !== undefined && ms(events[events.length - 1]?.eventTime) > since.at;
      return {
        file: r.file_name,
        hosts: [...new Set(took)].sort(),
        last: completed[completed.length - 1] ?? '?',
        pickedUp: after ? { host: identityOf(after)!, at: ms(after.eventTime) } : null,
        heldAt: open ? (lastBefore[lastBefore.length - 1] ?? null) : null,
        workflowTaskTimeouts: events.filter((e) => e.workflowTaskTimedOutEventAttributes).length,
        heartbeatRetries: events.filter((e) => e.activityTaskStartedEventAttributes?.lastFailure?.timeoutFailureInfo?.timeoutType === TIMEOUT_HEARTBEAT).length,
      };
    }),
  );
}

describe('workers on separate hosts (network namespaces) with no shared disk', () => {
  let cluster: Cluster;
  let cfg: AppConfig;
  let db: Db;
  let connection: Connection;
  let client: Client;
  let files: InboxFile[];
  let pictures: Picture[];
  let objects: number;

  beforeAll(async () => {
    cluster = await startCluster({ hosts: HOSTS });
    const raw = {
      tenants: tenants.map((t) => ({ ...t, ftp: { url: cluster.ftpUrl(t.id), passwordEnv: FTP_PASSWORD_ENV } })),
      worker: workerOptions,
    };
    // The test process's own view: the same servers, reached over the service address.
    cfg = parseConfig(
      {
        ...raw,
        temporal: { address: cluster.temporalAddress, taskQueue: 'imv-import' },
        databaseUrl: cluster.pgUrl(DATABASE),
        fileStore: { kind: 'postgres', dir: path.join(cluster.dir, 'test-scratch') },
      },
      { [FTP_PASSWORD_ENV]: FTP_PASSWORD },
    );
    db = await openDatabase(cfg, 4); // creates and migrates the database before any worker starts
    connection = await Connection.connect({ address: cluster.temporalAddress });
    client = new Client({ connection });
    for (const t of cfg.tenants) await ensureSchedule(client, cfg, tenantOf(cfg, t.id));
    ({ files, pictures, objects } = await inbox({ plain: 28, zips: 4, big: { objects: 2000, pictureEvery: 100 } }));
    // All small (local activities on one host) but the big one (regular activities, any host).
    for (const f of files) expect(f.content.length > 256 * 1024, f.name).toBe(f.name === 'mh-big.zip');
    for (const h of cluster.hosts) await cluster.startWorker(h, { tenants: raw.tenants, worker: workerOptions, databaseName: DATABASE });
    const all = cluster.hosts.map((h) => h.identity);
    await waitFor(
      'every host polling workflow and activity tasks',
      async () => {
        for (const h of cluster.hosts)
          if (h.worker!.child.exitCode !== null) throw new Error(`worker of ${h.identity} exited: ${h.worker!.log().slice(-2000)}`);
        const [wf, act] = await Promise.all([cluster.pollers(connection, 'imv-import', 'workflow'), cluster.pollers(connection, 'imv-import', 'activity')]);
        return all.every((id) => wf.includes(id) && act.includes(id));
      },
      90_000,
      250,
    );
  });

  afterAll(async () => {
    await connection?.close().catch(() => undefined);
    await db?.destroy().catch(() => undefined);
    await cluster?.destroy();
  });

  it('each worker runs inside its own namespace and reaches the servers over its veth only', async () => {
    const mine = netnsOf('self');
    const seen = new Set<string>();
    for (const h of cluster.hosts) {
      const ns = netnsOf(h.worker!.pid);
      expect(ns, `${h.identity}'s worker is in the test's network namespace`).not.toBe(mine);
      expect(ns, `${h.identity}'s worker is not in ${h.ns}`).toBe(namedNetns(h.ns));
      seen.add(ns);
      // Its namespace has loopback and its veth, and one route: the test's LAN, no default route.
      const routes = fs.readFileSync(`/proc/${h.worker!.pid}/net/route`, 'utf8').trim().split('\n').slice(1);
      expect(routes.map((r) => r.split('\t').slice(0, 3))).toEqual([['eth0', lanHex(cluster.serviceIp), '00000000']]);
    }
    expect(seen.size).toBe(HOSTS);
  });

  it('a batch runs across the hosts, and one host killed plus another cut off changes nothing in the result', async () => {
    const names = files.map((f) => f.name);

    // The undisturbed run, on the same three hosts.
    await uploadAll(cluster.serviceIp, cluster.ftp.port, REF, files);
    let t0 = Date.now();
    const ref = await triggerBatch(client, REF);
    const refSummary = await ref.result();
    const refSeconds = ((Date.now() - t0) / 1000).toFixed(1);
    expect(refSummary.files).toBe(files.length);
    await expectLedgerComplete(db, REF, names);
    const expected = await dbState(db, REF);
    const refHosts = await workflowHosts(client, db, REF);
    // PostgreSQL saw each worker come from its host's address (pools keep connections for 30 s; the
    // test itself comes from the service address). PostgreSQL sees each worker coming from its host's address
    const clients = (await db.raw(`SELECT DISTINCT host(client_addr) AS a FROM pg_stat_activity WHERE datname = ?`, [DATABASE])).rows.map(
      (r: { a: string | null }) => r.a,
    );
    for (const h of cluster.hosts) expect(clients).toContain(h.hostIp);
    expect(
      clients.every((a: string | null) => a === cluster.serviceIp || cluster.hosts.some((h) => h.hostIp === a)),
      JSON.stringify(clients),
    ).toBe(true);

    expect(new Set(refHosts.map((w) => w.last)).size, 'files of the undisturbed run ran on one host only').toBeGreaterThanOrEqual(2);

    // The disturbed run: host-1's worker SIGKILLed and host-2 cut off once files are being imported.
    const [killed, cut, survivor] = cluster.hosts as [Host, Host, Host];
    await uploadAll(cluster.serviceIp, cluster.ftp.port, DISTURBED, files);
    t0 = Date.now();
    const batch = await triggerBatch(client, DISTURBED);
    await waitFor('the first files imported', async () => (await finalRows(db, DISTURBED)) >= 5, 60_000);
    const atFault = await finalRows(db, DISTURBED);
    const killedAt = Date.now();
    await killed.worker!.kill('SIGKILL');
    cluster.cutOff(cut);
    const cutAt = Date.now();
    let progressed = false;
    try {
      // Off the network until the survivor has imported 10 more files, or for at most 20 s: the cut
      // host's connections hang meanwhile, and a transaction it left open holds the tenant's apply
      // lock, so the survivor may well wait for the cut host to come back (PostgreSQL cannot tell a
      // slow client from a gone one until TCP gives up).
      progressed = await waitFor(
        'progress without the killed and the cut host',
        async () => (await finalRows(db, DISTURBED)) >= Math.min(files.length, atFault + 10),
        20_000,
      )
        .then(() => true)
        .catch(() => false);
    } finally {
      cluster.reconnect(cut);
    }
    const cutSeconds = ((Date.now() - cutAt) / 1000).toFixed(1);
    const summary = await batch.result();
    const disturbedSeconds = ((Date.now() - t0) / 1000).toFixed(1);
    expect(summary.files).toBe(files.length);
    expect(cut.worker!.child.exitCode, `the cut-off host's worker died: ${cut.worker!.log().slice(-2000)}`).toBeNull();
    expect(survivor.worker!.child.exitCode).toBeNull();

    // Every file imported exactly once: one final ledger row each, the same outcome as undisturbed.
    await expectLedgerComplete(db, DISTURBED, names);
    const estates = await db('estates').where({ tenant_id: DISTURBED }).count<{ n: string }[]>('* as n');
    expect(Number(estates[0]!.n)).toBe(objects);
    const actual = await dbState(db, DISTURBED);
    const hostsOf = await workflowHosts(client, db, DISTURBED, { host: killed.identity, at: killedAt });
    // A small file's steps are local activities, recorded only when the workflow task completes: the host
    // that takes a workflow over runs them again, and they find their work done (parse keeps a completed
    // parse's staging), so the ledger is the undisturbed run's, outcomes included.
    expectSameState(actual, expected);
    expect(await attachments(db, DISTURBED)).toEqual(await attachments(db, REF));

    // Who ran what: only the hosts; the killed host's unfinished files were finished by another host.
    const identities = cluster.hosts.map((h) => h.identity);
    for (const w of hostsOf) for (const id of w.hosts) expect(identities, w.file).toContain(id);
    const takenOver = hostsOf.filter((w) => w.hosts.includes(killed.identity) && w.last !== killed.identity);
    // The killed host's work was picked up by another host through Temporal's timeouts: each open file whose
    // workflow it held at the kill shows a workflow task that timed out (its sticky queue's or the dead
    // task's), and a later task taken by another host; activities it ran are retried after their heartbeat
    // timeout (counted in the log line).
    const held = hostsOf.filter((w) => w.heldAt === killed.identity);
    expect(held.length, `no open file was held by ${killed.identity} at the kill`).toBeGreaterThan(0);
    for (const w of held) {
      expect(w.workflowTaskTimeouts, `${w.file}: taken over without a timed-out workflow task`).toBeGreaterThan(0);
      expect(w.pickedUp?.host, `${w.file}: no other host took a task after the kill`).toMatch(/^host-/);
      expect(w.pickedUp?.host).not.toBe(killed.identity);
      expect(w.last).not.toBe(killed.identity);
    }
    const pickups = held.map((w) => ((w.pickedUp!.at - killedAt) / 1000).toFixed(1));
    console.log(
      `multihost: ${files.length} files; undisturbed run finished per host ${JSON.stringify(countBy(refHosts.map((w) => w.last)))}; ` +
        `disturbed run ${JSON.stringify(countBy(hostsOf.map((w) => w.last)))}, ${takenOver.length} files taken over from the killed ${killed.identity} (${held.length} held at the kill, picked up ${pickups.join(', ')} s after it; heartbeat timeout ${FAULT_HEARTBEAT_SECONDS} s, ${hostsOf.reduce((n, w) => n + w.heartbeatRetries, 0)} activities retried after it); ` +
        `batches took ${refSeconds} s undisturbed, ${disturbedSeconds} s disturbed ` +
        `(faults after ${atFault} files imported; ${cut.identity} cut off for ${cutSeconds} s, ${progressed ? 'while the others imported 10 more' : 'the others did not import 10 more meanwhile'})`,
    );

    // Every picture is in the shared store and on no host's disk (a host's folder holds at most local
    // copies of ZIPs being read).
    const stored = await attachments(db, DISTURBED);
    expect(stored.filter((a) => a.sha256).length).toBe(pictures.length);
    const store = new PgFileStore(db, path.join(cluster.dir, 'test-scratch'));
    const onHostDisks = new Set(cluster.hosts.flatMap((h) => walk(h.storeDir)).map((f) => path.basename(f)));
    for (const p of pictures) {
      expect(stored.map((a) => a.sha256)).toContain(p.sha256);
      expect(onHostDisks.has(p.sha256), `picture ${p.name} is on a host's disk`).toBe(false);
      const parts: Buffer[] = [];
      for await (const b of await store.get(p.sha256)) parts.push(b as Buffer);
      expect(Buffer.concat(parts).equals(p.data), p.name).toBe(true);
    }
    // And readable on a host that took no task of its file: `imv-import store get` in that host's namespace,
    // one picture of each file with pictures (the others of a file are read by the same host's same code).
    const touched = new Map(hostsOf.map((w) => [w.file, w.hosts]));
    const fileOf = (p: Picture) => files.find((f) => f.content.includes(Buffer.from(p.name)))!.name;
    // The reads run side by side: each is a CLI process of its own in its host's namespace.
    const firstOfEachFile = [...new Map(pictures.map((p) => [fileOf(p), p] as const).reverse()).values()];
    expect(firstOfEachFile.length).toBe(files.filter((f) => f.name.endsWith('.zip')).length);
    const reads = firstOfEachFile.map(async (p) => {
      const took = touched.get(fileOf(p)) ?? [];
      const reader = cluster.hosts.find((h) => !took.includes(h.identity)) ?? cluster.hosts.find((h) => h.identity !== took[took.length - 1])!;
      const { stdout } = await execFileAsync('ip', ['netns', 'exec', reader.ns, process.execPath, CLI, 'store', 'get', p.sha256], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: reader.dir, IMV_CONFIG: path.join(reader.dir, 'config.json'), LOG_LEVEL: 'warn' },
        encoding: 'buffer',
        maxBuffer: 16 * 1024 * 1024,
      });
      expect(sha256Of(stdout), `${p.name} read on ${reader.identity}`).toBe(p.sha256);
      return !took.includes(reader.identity);
    });
    const elsewhere = (await Promise.all(reads)).filter(Boolean).length;
    console.log(
      `multihost: ${pictures.length} pictures in the PostgreSQL store; ${elsewhere} read back on a host that took no task of their file; ` +
        `mh-big.zip's tasks ran on ${JSON.stringify(touched.get('mh-big.zip'))}`,
    );
    expect(elsewhere).toBeGreaterThanOrEqual(1);
  }, 300_000);
});

/** A /24's network as /proc/net/route writes it (little-endian hex). */
function lanHex(ip: string): string {
  const [a, b, c] = ip.split('.').map(Number);
  return [0, c!, b!, a!].map((x) => x.toString(16).padStart(2, '0').toUpperCase()).join('');
}

function walk(dir: string): string[] {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}
