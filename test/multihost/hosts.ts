/**
 * Separate worker hosts on one machine, made of Linux network namespaces (issue 10, part 3).
 *
 * Topology of one run (`<id>` = `imvmh<pid>`, unique per test process; B = a free 10.213.B.0/24):
 *
 *   root namespace: the test process, PostgreSQL and vsftpd, on the bridge <id>b = 10.213.B.1/24
 *     <id>b ─┬─ <id>t  ═ veth ═ eth0 10.213.B.2   netns <id>-t  Temporal dev server
 *            ├─ <id>h1 ═ veth ═ eth0 10.213.B.11  netns <id>-1  worker host-1
 *            ├─ <id>h2 ═ veth ═ eth0 10.213.B.12  netns <id>-2  worker host-2
 *            └─ …
 *
 * The bridge is the hosts' LAN (a switch; the kernel has the bridge module, not the dummy one); the
 * host-side end of every veth is a port of it in the root namespace. A host's namespace has its own
 * loopback, its eth0 and no route but the LAN's: a worker there reaches Temporal, PostgreSQL and FTP
 * over its veth or not at all. Each host has its own folder (config, empty file store, log); no path is
 * shared between hosts. Cutting a host off is `ip link set <id>hN down` (its TCP connections hang, as on
 * a pulled cable); SIGKILL is a crashed pod.
 *
 * Temporal runs in a namespace of its own: the CLI's dev server (v1.5.1, devserver/server.go) binds
 * its internal services to `--ip` but dials them at 127.0.0.1 (static hosts), so with `--ip` set to a
 * LAN address schedules and history calls fail ("dial tcp 127.0.0.1:…: connection refused"). Inside its
 * own namespace it runs with `--ip 0.0.0.0`, which there means only that namespace's loopback and eth0.
 *
 * PostgreSQL: the run starts its own cluster (initdb into the run's folder, listening on the bridge
 * address and a unix socket in the folder) rather than a TCP forwarder to the machine's server on
 * 127.0.0.1:5432. Reasons: the server then sees the hosts' real addresses (pg_stat_activity shows each
 * worker coming from its namespace); no byte of worker traffic passes through the test process's event
 * loop (the PostgreSQL file store will stream whole transfers through it, and throughput figures must
 * not be the forwarder's); a cut-off host's hung connections load only this cluster, not the server the
 * other test files share; and the run does not depend on the machine's server being up at all.
 *
 * Clean-up: `destroy()` in afterAll, plus synchronous clean-up on process exit and SIGINT/SIGTERM/
 * SIGHUP; at start, leftovers of earlier runs whose process is gone (namespaces and the processes in
 * them, links, servers recorded in their run folder) are removed. Runs of live processes are never touched.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { ensureTemporalCli, searchAttributeFlags, waitForPort } from '../../dev/temporal-server';
import { FTP_PASSWORD, FTP_USER, startVsftpd, type Vsftpd } from '../support/vsftpd';
import { freePortOn } from '../support/net';

const { DescribeTaskQueueMode, TaskQueueType } = temporal.api.enums.v1;

export const PREFIX = 'imvmh';
const RUN_DIR_PREFIX = path.join(os.tmpdir(), `${PREFIX}-run-`);
const projectRoot = path.resolve(__dirname, '..', '..');
export const CLI = path.join(projectRoot, 'bin', 'imv-import.js');

// ---------------------------------------------------------------------------------------------
// Shell helpers
// ---------------------------------------------------------------------------------------------

function run(cmd: string, args: string[], opts: { quiet?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    if (opts.quiet) return '';
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(err.stderr || err.message).trim()}`);
  }
}

const ip = (...args: string[]) => run('ip', args);
const ipQuiet = (...args: string[]) => run('ip', args, { quiet: true });

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function cmdlineOf(pid: number): string[] {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

function killPid(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(pid, signal);
  } catch {
    /* gone */
  }
}

/** The network namespace a process is in, as `dev:inode` of its nsfs file. */
export function netnsOf(pid: number | 'self'): string {
  const st = fs.statSync(`/proc/${pid}/ns/net`);
  return `${st.dev}:${st.ino}`;
}

/** The identity of a named namespace (`ip netns add` bind-mounts it under /run/netns). */
export function namedNetns(ns: string): string {
  const st = fs.statSync(`/run/netns/${ns}`);
  return `${st.dev}:${st.ino}`;
}

// ---------------------------------------------------------------------------------------------
// Can this machine make hosts at all?
// ---------------------------------------------------------------------------------------------

/**
 * Throws a clear error when namespaces cannot be made here (not root, no iproute2, no CAP_SYS_ADMIN /
 * CAP_NET_ADMIN, no veth). The multi-host test fails loudly on such a machine; it never skips.
 */
export function requireNamespaces(): void {
  const hint =
    'The multi-host test (test/multihost) builds worker hosts from Linux network namespaces and veth pairs; it needs root ' +
    '(CAP_SYS_ADMIN and CAP_NET_ADMIN) and iproute2 (apt-get install iproute2). In a container, run it privileged or with --cap-add NET_ADMIN,SYS_ADMIN.';
  if (process.platform !== 'linux') throw new Error(`${hint} This is ${process.platform}, not Linux.`);
  if (process.getuid?.() !== 0) throw new Error(`${hint} This process runs as uid ${process.getuid?.()}, not root.`);
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    throw new Error(`${hint} The ip command (iproute2) is missing.`);
  }
  const probe = `${PREFIX}${process.pid}-probe`;
  try {
    ip('netns', 'add', probe);
    ip('link', 'add', `${PREFIX}${process.pid}p`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', probe);
  } catch (e) {
    throw new Error(`${hint} ${(e as Error).message}`);
  } finally {
    ipQuiet('link', 'del', `${PREFIX}${process.pid}p`);
    ipQuiet('netns', 'del', probe);
  }
}

// ---------------------------------------------------------------------------------------------
// Leftovers of crashed runs
// ---------------------------------------------------------------------------------------------

interface RunRecord {
  pid: number;
  /** Processes started in the root namespace, with a string their command line must contain. */
  processes: { pid: number; mark: string }[];
  pgData: string | null;
  pgBin: string | null;
}

function ownerPidOf(name: string): number | null {
  const m = new RegExp(`^${PREFIX}(\\d+)`).exec(name);
  return m ? Number(m[1]) : null;
}

/** Kills the processes inside a namespace (by id) and removes it. */
function removeNamespace(ns: string): void {
  for (const pid of ipQuiet('netns', 'pids', ns).split(/\s+/).filter(Boolean)) killPid(Number(pid));
  ipQuiet('netns', 'del', ns);
}

function stopRecorded(rec: RunRecord): void {
  for (const p of rec.processes) if (cmdlineOf(p.pid).some((a) => a.includes(p.mark))) killPid(p.pid);
  if (rec.pgData && rec.pgBin && fs.existsSync(path.join(rec.pgData, 'postmaster.pid'))) {
    run('runuser', ['-u', 'postgres', '--', path.join(rec.pgBin, 'pg_ctl'), '-D', rec.pgData, '-m', 'immediate', '-w', 'stop'], { quiet: true });
  }
}

/** Removes namespaces, links, servers and folders of earlier runs whose test process is gone. */
export function removeLeftovers(): string[] {
  const removed: string[] = [];
  for (const dir of fs.readdirSync(os.tmpdir()).map((d) => path.join(os.tmpdir(), d))) {
    if (!dir.startsWith(RUN_DIR_PREFIX)) continue;
    const pid = Number(path.basename(dir).slice(path.basename(RUN_DIR_PREFIX).length).split('-')[0]);
    if (!pid || alive(pid)) continue;
    try {
      stopRecorded(JSON.parse(fs.readFileSync(path.join(dir, 'run.json'), 'utf8')) as RunRecord);
    } catch {
      /* no record: nothing was started */
    }
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
  }
  for (const line of ipQuiet('netns', 'list').split('\n')) {
    const ns = line.split(' ')[0];
    const pid = ns ? ownerPidOf(ns) : null;
    if (ns && pid && !alive(pid)) {
      removeNamespace(ns);
      removed.push(`netns ${ns}`);
    }
  }
  for (const line of ipQuiet('-o', 'link', 'show').split('\n')) {
    const name = /^\d+:\s+([^:@]+)/.exec(line)?.[1];
    const pid = name ? ownerPidOf(name) : null;
    if (name && pid && !alive(pid)) {
      ipQuiet('link', 'del', name);
      removed.push(`link ${name}`);
    }
  }
  return removed;
}

// ---------------------------------------------------------------------------------------------
// The network
// ---------------------------------------------------------------------------------------------

export interface Host {
  /** 1-based. */
  index: number;
  /** Worker identity, `host-N`. */
  identity: string;
  ns: string;
  /** The veth end in the root namespace, a port of the LAN bridge (cut it to take the host off the network). */
  veth: string;
  /** The host's address on the LAN (its eth0). */
  hostIp: string;
  /** The host's own folder: config, file store scratch, log. Nothing in it is shared. */
  dir: string;
  /** The PostgreSQL file store's scratch folder of this host (local copies of ZIPs being read). */
  storeDir: string;
  worker: HostWorker | null;
}

/** A /24 in 10.213.0.0/16 that no address of this machine is in yet. */
function freeBlock(): number {
  const used = ipQuiet('-4', '-o', 'addr', 'show');
  const start = process.pid % 250;
  for (let k = 0; k < 250; k++) {
    const b = (start + k) % 250;
    if (!used.includes(` 10.213.${b}.`)) return b;
  }
  throw new Error('no free 10.213.x.0/24 block for the multi-host test');
}

// ---------------------------------------------------------------------------------------------
// Workers
// ---------------------------------------------------------------------------------------------

export interface HostWorker {
  child: ChildProcess;
  pid: number;
  exited: Promise<number | null>;
  log(): string;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface WorkerConfig {
  tenants: unknown[];
  worker?: Record<string, unknown>;
  databaseName: string;
  /** The file store: postgres by default (hosts share no disk); the host's folder is its scratch. */
  fileStore?: 'fs' | 'postgres';
}

// ---------------------------------------------------------------------------------------------
// The cluster
// ---------------------------------------------------------------------------------------------

const PG_BIN = (() => {
  try {
    const versions = fs.readdirSync('/usr/lib/postgresql').filter((v) => fs.existsSync(`/usr/lib/postgresql/${v}/bin/initdb`));
    versions.sort((a, b) => Number(b) - Number(a));
    return versions.length ? `/usr/lib/postgresql/${versions[0]}/bin` : null;
  } catch {
    return null;
  }
})();

export interface Cluster {
  id: string;
  dir: string;
  /** The root namespace's address on the LAN: PostgreSQL and FTP listen here, the test process connects from here. */
  serviceIp: string;
  /** The Temporal server's namespace and address on the LAN. */
  temporalNs: string;
  temporalIp: string;
  hosts: Host[];
  temporalAddress: string;
  pgPort: number;
  pgUrl(database: string): string;
  ftp: Vsftpd;
  ftpUrl(tenant: string): string;
  /** Writes the host's config and starts `imv-import worker --identity host-N` inside its namespace. */
  startWorker(host: Host, cfg: WorkerConfig, o?: { cpu?: number; env?: Record<string, string>; nodeArgs?: string[] }): Promise<HostWorker>;
  /** Takes the host off the network (its veth down): its connections hang, nothing is closed. */
  cutOff(host: Host): void;
  reconnect(host: Host): void;
  isCutOff(host: Host): boolean;
  /** Identities polling a task queue (workflow or activity tasks), as Temporal sees them. */
  pollers(connection: Connection, taskQueue: string, kind: 'workflow' | 'activity'): Promise<string[]>;
  destroy(): Promise<void>;
}

export const FTP_PASSWORD_ENV = 'IMV_TEST_FTP_PASSWORD';

export async function startCluster(o: { hosts: number }): Promise<Cluster> {
  requireNamespaces();
  removeLeftovers();
  if (!fs.existsSync(path.join(projectRoot, 'dist', 'cli', 'main.js')))
    throw new Error('the multi-host test runs the built CLI (bin/imv-import.js): run `npm run build` first (`npm test` does)');
  if (!PG_BIN) throw new Error('the multi-host test starts its own PostgreSQL cluster: no initdb under /usr/lib/postgresql/*/bin');

  const id = `${PREFIX}${process.pid}`;
  const dir = fs.mkdtempSync(`${RUN_DIR_PREFIX}${process.pid}-`);
  fs.chmodSync(dir, 0o755);
  const record: RunRecord = { pid: process.pid, processes: [], pgData: null, pgBin: PG_BIN };
  const save = () => fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify(record));
  save();

  const block = freeBlock();
  const lan = (n: number) => `10.213.${block}.${n}`;
  const serviceIp = lan(1);
  const temporalIp = lan(2);
  const bridge = `${id}b`;
  const temporalNs = `${id}-t`;
  const namespaces: string[] = [];
  const hosts: Host[] = [];
  const links: string[] = [];
  const children = new Set<ChildProcess>();
  let vsftpd: Vsftpd | null = null;
  let destroyed = false;

  /** Everything, synchronously: also what runs from an exit or signal handler. */
  const destroySync = () => {
    if (destroyed) return;
    destroyed = true;
    for (const ns of namespaces) removeNamespace(ns);
    for (const c of children) if (c.pid && c.exitCode === null && c.signalCode === null) killPid(c.pid);
    stopRecorded(record);
    for (const l of links) ipQuiet('link', 'del', l);
    if (vsftpd) void vsftpd.stop().catch(() => undefined);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const onExit = () => destroySync();
  const onSignal = (signal: NodeJS.Signals) => {
    destroySync();
    process.off(signal, onSignal);
    process.kill(process.pid, signal);
  };
  process.on('exit', onExit);
  for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, onSignal);

  try {
    // The LAN: a bridge in the root namespace, whose address is where PostgreSQL and FTP listen.
    ip('link', 'add', bridge, 'type', 'bridge');
    links.push(bridge);
    ip('addr', 'add', `${serviceIp}/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    /** A namespace plugged into the LAN by a veth whose root end (`port`) is a bridge port. */
    const plug = (ns: string, port: string, address: string) => {
      ip('netns', 'add', ns);
      namespaces.push(ns);
      ip('link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
      links.push(port);
      ip('link', 'set', port, 'master', bridge);
      ip('link', 'set', port, 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
    };
    plug(temporalNs, `${id}t`, temporalIp);
    for (let i = 1; i <= o.hosts; i++) {
      const hostDir = path.join(dir, `host-${i}`);
      fs.mkdirSync(path.join(hostDir, 'store'), { recursive: true });
      const host: Host = {
        index: i,
        identity: `host-${i}`,
        ns: `${id}-${i}`,
        veth: `${id}h${i}`,
        hostIp: lan(10 + i),
        dir: hostDir,
        storeDir: path.join(hostDir, 'store'),
        worker: null,
      };
      plug(host.ns, host.veth, host.hostIp);
      hosts.push(host);
    }

    // PostgreSQL: a cluster of the run's own, on the service address (and a unix socket in its folder).
    const pgDir = path.join(dir, 'pg');
    fs.mkdirSync(pgDir);
    execFileSync('chown', ['postgres:postgres', pgDir]);
    const pgData = path.join(pgDir, 'data');
    const asPostgres = (bin: string, args: string[]) => run('runuser', ['-u', 'postgres', '--', path.join(PG_BIN, bin), ...args]);
    asPostgres('initdb', ['-D', pgData, '-A', 'trust', '-U', 'postgres', '-N', '-E', 'UTF8', '--locale=C']);
    // Trust, from the run's LAN only (the test process connects from the bridge address).
    fs.appendFileSync(path.join(pgData, 'pg_hba.conf'), `host all all ${lan(0)}/24 trust\n`);
    const pgPort = await freePortOn(serviceIp);
    record.pgData = pgData;
    save();
    const pgOpts = `-p ${pgPort} -k ${pgDir} -c listen_addresses=${serviceIp} -c fsync=off -c full_page_writes=off -c synchronous_commit=off -c max_connections=200`;
    asPostgres('pg_ctl', ['-D', pgData, '-o', pgOpts, '-l', path.join(pgDir, 'log'), '-w', '-t', '30', 'start']);
    await waitForPort(pgPort, serviceIp, 15_000);

    // Temporal: the dev server in its namespace (in memory, headless; see the top of this file for --ip).
    const temporalPort = 7233;
    const temporalLog = fs.openSync(path.join(dir, 'temporal.log'), 'a');
    const temporalArgs = [
      'server',
      'start-dev',
      '--ip',
      '0.0.0.0',
      '--port',
      String(temporalPort),
      '--headless',
      '--log-level',
      'error',
      ...searchAttributeFlags(),
    ];
    const temporalServer = spawn('ip', ['netns', 'exec', temporalNs, ensureTemporalCli(), ...temporalArgs], { stdio: ['ignore', temporalLog, temporalLog] });
    fs.closeSync(temporalLog);
    children.add(temporalServer);
    await waitForPort(temporalPort, temporalIp, 60_000);
    const temporalAddress = `${temporalIp}:${temporalPort}`;

    // FTP: vsftpd on the service address; PASV announces it.
    vsftpd = await startVsftpd({ host: serviceIp, root: path.join(dir, 'ftp') });
    const ftp = vsftpd;
    const ftpPid = ftp.pid();
    if (ftpPid) record.processes.push({ pid: ftpPid, mark: `vsftpd-${ftp.port}.conf` });
    save();

    const pgUrl = (database: string) => `postgres://postgres@${serviceIp}:${pgPort}/${database}`;

    const cluster: Cluster = {
      id,
      dir,
      serviceIp,
      temporalNs,
      temporalIp,
      hosts,
      temporalAddress,
      pgPort,
      pgUrl,
      ftp,
      ftpUrl: (tenant) => `ftp://${FTP_USER}@${serviceIp}:${ftp.port}/${tenant}`,

      async startWorker(host, cfg, wo = {}) {
        if (host.worker && host.worker.child.exitCode === null && host.worker.child.signalCode === null)
          throw new Error(`${host.identity} already runs a worker`);
        const configFile = path.join(host.dir, 'config.json');
        fs.writeFileSync(
          configFile,
          JSON.stringify(
            {
              tenants: cfg.tenants,
              temporal: { address: temporalAddress, taskQueue: 'imv-import' },
              databaseUrl: pgUrl(cfg.databaseName),
              fileStore: { kind: cfg.fileStore ?? 'postgres', dir: host.storeDir },
              worker: { shutdownGraceSeconds: 1, ...(cfg.worker ?? {}) },
            },
            null,
            2,
          ),
        );
        const logFile = path.join(host.dir, 'worker.log');
        const out = fs.openSync(logFile, 'a');
        // The node flags of the Docker image's entrypoint, as deployed.
        const nodeArgs = wo.nodeArgs ?? ['--max-semi-space-size=4', '--heap-growing-percent=50'];
        const cmd = [
          ...(wo.cpu !== undefined ? ['taskset', '-c', String(wo.cpu)] : []),
          process.execPath,
          ...nodeArgs,
          CLI,
          'worker',
          '--identity',
          host.identity,
        ];
        // `ip netns exec` execs the command in place: the child's pid is the worker's.
        const child = spawn('ip', ['netns', 'exec', host.ns, ...cmd], {
          cwd: host.dir,
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: host.dir,
            IMV_CONFIG: configFile,
            IMV_FILE_STORE: host.storeDir,
            [FTP_PASSWORD_ENV]: FTP_PASSWORD,
            LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
            ...(wo.env ?? {}),
          },
          stdio: ['ignore', out, out],
        });
        fs.closeSync(out);
        children.add(child);
        const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
        const w: HostWorker = {
          child,
          pid: child.pid!,
          exited,
          log: () => fs.readFileSync(logFile, 'utf8'),
          async kill(signal: NodeJS.Signals = 'SIGKILL') {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            await exited;
          },
        };
        host.worker = w;
        return w;
      },

      cutOff(host) {
        ip('link', 'set', host.veth, 'down');
      },
      reconnect(host) {
        ip('link', 'set', host.veth, 'up');
      },
      isCutOff(host) {
        return !/[<,]UP[,>]/.test(ip('-o', 'link', 'show', host.veth));
      },

      async pollers(connection, taskQueue, kind) {
        // ENHANCED mode (deprecated, still served by the dev server) asks every partition of the task queue
        // (the server makes 4): the default mode answers from the root partition only, where a worker whose
        // one normal workflow poll waits on another partition shows only when that long poll ends (~60 s).
        const type = kind === 'workflow' ? TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW : TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY;
        const r = await connection.workflowService.describeTaskQueue({
          namespace: 'default',
          taskQueue: { name: taskQueue },
          apiMode: DescribeTaskQueueMode.DESCRIBE_TASK_QUEUE_MODE_ENHANCED,
          taskQueueTypes: [type],
          reportPollers: true,
        });
        const pollers = Object.values(r.versionsInfo ?? {}).flatMap((v) => v.typesInfo?.[type]?.pollers ?? []);
        return [...new Set(pollers.map((p) => p.identity ?? ''))].sort();
      },

      async destroy() {
        process.off('exit', onExit);
        for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, onSignal);
        for (const h of hosts) if (h.worker) await h.worker.kill().catch(() => undefined);
        const stopping = vsftpd?.stop().catch(() => undefined);
        vsftpd = null;
        destroySync();
        await stopping;
      },
    };
    return cluster;
  } catch (e) {
    destroySync();
    process.off('exit', onExit);
    for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.off(s, onSignal);
    throw e;
  }
}
