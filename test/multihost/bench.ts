/**
 * Throughput of small files on one worker host and on two (issue 10): the multi-host harness
 * (test/multihost/hosts.ts), each host's worker pinned to a core of its own with taskset (host-1 on
 * core 0; then host-2 on core 0 and host-3 on core 1, fresh hosts with empty stores). Temporal,
 * PostgreSQL, vsftpd and this process are not pinned: they share both cores with the workers, as on a
 * two-core machine that runs everything. Prints figures, asserts nothing.
 *
 *   npm run bench:multihost -- [--files 200] [--window 8]
 *
 * Root only (network namespaces). --window is the tenant's maxConcurrentFiles (default: the default, 8).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import { parseConfig, tenantOf } from '../../config/config';
import { openDatabase, type Db } from '../../db/db';
import { ensureSchedule } from '../../ops/schedule';
import { triggerBatch } from '../../ops/batches';
import { FTP_PASSWORD } from '../support/vsftpd';
import { FTP_PASSWORD_ENV, startCluster, type Cluster, type Host } from './hosts';
import { inbox, uploadAll } from './transfers';
import { cpuOf, machineBusySeconds } from '../../bench/proc';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

/** CPU seconds of processes whose pids `pids()` lists now. */
const sumCpu = (pids: number[]) => pids.reduce((n, p) => n + cpuOf(p), 0);

/** The run's PostgreSQL: its postmaster (found by the data folder in the run's folder) and its children. */
function postgresPids(runDir: string): number[] {
  const procs = fs
    .readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .map(Number);
  const ppid = (p: number) => {
    try {
      return Number(fs.readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
    } catch {
      return -1;
    }
  };
  const main = procs.find((p) => {
    try {
      return fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').includes(runDir) && fs.readFileSync(`/proc/${p}/comm`, 'utf8').trim() === 'postgres';
    } catch {
      return false;
    }
  });
  return main ? [main, ...procs.filter((p) => ppid(p) === main)] : [];
}

function namespacePids(ns: string): number[] {
  return execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number);
}

async function waitPolling(cluster: Cluster, connection: Connection, hosts: Host[]): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const wf = await cluster.pollers(connection, 'imv-import', 'workflow');
    if (hosts.every((h) => wf.includes(h.identity))) return;
    for (const h of hosts) if (h.worker!.child.exitCode !== null) throw new Error(`worker of ${h.identity} exited: ${h.worker!.log().slice(-2000)}`);
    if (Date.now() > deadline) throw new Error('workers not polling after 90 s');
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function main(): Promise<void> {
  const count = Number(arg('--files') ?? 200);
  const window = arg('--window') ? Number(arg('--window')) : undefined;
  const runs = [
    { tenant: 'one-host', hosts: [{ index: 0, cpu: 0 }] },
    { tenant: 'two-hosts', hosts: [1, 2].map((index) => ({ index, cpu: index - 1 })) },
  ];
  const cluster = await startCluster({ hosts: 3 });
  let db: Db | undefined;
  let connection: Connection | undefined;
  try {
    const tenants = runs.map((r) => ({
      id: r.tenant,
      users: ['mmustermann', 'skoch'],
      ftp: { url: cluster.ftpUrl(r.tenant), passwordEnv: FTP_PASSWORD_ENV },
      options: { minFileAgeSeconds: 0, stableCheckMs: 300, ...(window ? { maxConcurrentFiles: window } : {}) },
    }));
    const cfg = parseConfig(
      { tenants, temporal: { address: cluster.temporalAddress }, databaseUrl: cluster.pgUrl('imv_bench'), fileStoreDir: cluster.dir },
      { [FTP_PASSWORD_ENV]: FTP_PASSWORD },
    );
    db = await openDatabase(cfg, 2);
    connection = await Connection.connect({ address: cluster.temporalAddress });
    const client = new Client({ connection });
    const { files } = await inbox({ plain: count });
    console.log(
      `${count} one-object files (${Math.round(files.reduce((n, f) => n + f.content.length, 0) / count)} bytes each), maxConcurrentFiles ${window ?? 'default (8)'}, ${cluster.hosts.length} namespaces on ${fs.readFileSync('/proc/cpuinfo', 'utf8').match(/^processor/gm)?.length} cores`,
    );
    for (const r of runs) {
      await ensureSchedule(client, cfg, tenantOf(cfg, r.tenant));
      await uploadAll(cluster.serviceIp, cluster.ftp.port, r.tenant, files);
      const hosts = r.hosts.map((h) => ({ host: cluster.hosts[h.index]!, cpu: h.cpu }));
      for (const h of hosts) await cluster.startWorker(h.host, { tenants, databaseName: 'imv_bench' }, { cpu: h.cpu });
      await waitPolling(
        cluster,
        connection,
        hosts.map((h) => h.host),
      );
      // Worker CPU: the worker processes; machine: every core, including the other users of this machine.
      const workerCpu0 = hosts.map((h) => cpuOf(h.host.worker!.pid));
      const machine0 = machineBusySeconds();
      // Backends that exit during the run take their CPU with them: the PostgreSQL figure is a lower bound.
      const pg0 = postgresPids(cluster.dir);
      const pgCpu0 = sumCpu(pg0);
      const temporalCpu0 = sumCpu(namespacePids(cluster.temporalNs));
      const t0 = Date.now();
      const run = await triggerBatch(client, r.tenant);
      const summary = await run.result();
      const secs = (Date.now() - t0) / 1000;
      const machine = machineBusySeconds() - machine0;
      const pgCpu = sumCpu(postgresPids(cluster.dir)) - pgCpu0;
      const temporalCpu = sumCpu(namespacePids(cluster.temporalNs)) - temporalCpu0;
      const workerCpu = hosts.map((h, i) => cpuOf(h.host.worker!.pid) - workerCpu0[i]!);
      const ledger = (await db('import_files')
        .where({ tenant_id: r.tenant })
        .whereIn('status', ['imported', 'partial'])
        .first(db.raw('min(finished_at) AS first, max(finished_at) AS last, count(*) AS n'))) as {
        first: Date;
        last: Date;
        n: string;
      };
      const span = (ledger.last.getTime() - ledger.first.getTime()) / 1000;
      console.log(
        `${r.tenant}: ${hosts.map((h) => `${h.host.identity}@core${h.cpu}`).join(' + ')}: ${summary.imported} imported of ${summary.files} in ${secs.toFixed(1)} s ` +
          `(trigger to batch result) = ${(count / secs).toFixed(1)} files/s; first to last import ${span.toFixed(1)} s = ${((Number(ledger.n) - 1) / span).toFixed(1)} files/s; ` +
          `worker CPU ${workerCpu.map((c) => `${((100 * c) / secs).toFixed(0)}%`).join(' + ')} of a core, Temporal ${((100 * temporalCpu) / secs).toFixed(0)}%, PostgreSQL ≥ ${((100 * pgCpu) / secs).toFixed(0)}%, machine ${((100 * machine) / secs / 2).toFixed(0)}% of 2 cores busy (others' work included)`,
      );
      for (const h of hosts) await h.host.worker!.kill('SIGTERM');
    }
  } finally {
    await connection?.close().catch(() => undefined);
    await db?.destroy().catch(() => undefined);
    await cluster.destroy();
  }
}

main().catch((e: Error) => {
  console.error(e.stack ?? e);
  process.exit(1);
});
