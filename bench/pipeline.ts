/**
 * End-to-end benchmark: one IMV-shaped transfer of N objects (default 10,000, ~26 MB), or N objects
 * in K files, through the real pipeline — Temporal dev server, the embedded FTP server, a worker
 * process (`imv-import worker`), PostgreSQL — with the tenant's default options, started as an
 * operator does: the tenant's schedule, one trigger, wait for the batch. Prints the time, the time
 * inside each step (the worker's /metrics), the worker's memory, and the same files through a bare
 * in-process importer (bench/bare.ts) as the baseline of the same run. Asserts nothing (targets live
 * here, not in tests).
 *
 *   npm run build && node dist/bench/pipeline.js [objects] [--files K] [--chunk N] [--window W]
 *
 * Uses DATABASE_URL's server (default the local one on 127.0.0.1:5432) with a fresh database.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { closeDb, createDb } from '../db/db';
import { createScratchDatabase, dropScratchDatabase, importedTimeSpan } from '../db/bench';
import { parseConfig } from '../config/config';
import { spawn } from 'node:child_process';
import { tenantOf } from '../config/config';
import { ensureSchedule } from '../ops/schedule';
import { triggerBatch } from '../ops/batches';
import { startTemporalDevServer, freePort } from '../dev/temporal-server';
import { startEmbeddedFtp } from '../dev/embedded-ftp';
import type { BatchSummary } from '../common/messages';
import { generate } from './reader';
import { cpuOf, cpuOfCommand, machineBusySeconds, rssOf } from './proc';
import { runBare } from './bare';

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const objects = Number(args.find((a) => /^\d+$/.test(a)) ?? 10_000);
  const filesIdx = args.indexOf('--files');
  const files = filesIdx >= 0 ? Number(args[filesIdx + 1]) : 1;
  const chunkIdx = args.indexOf('--chunk');
  const chunkSize = chunkIdx >= 0 ? Number(args[chunkIdx + 1]) : undefined;
  const windowIdx = args.indexOf('--window');
  const window = windowIdx >= 0 ? Number(args[windowIdx + 1]) : undefined;
  const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `imv_bench_${Date.now()}`;
  const dbUrl = await createScratchDatabase(base, dbName);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-bench-pipeline-'));
  const inbox = path.join(dir, 'ftp', 'bench');
  fs.mkdirSync(inbox, { recursive: true });
  const perFile = Math.ceil(objects / files);
  for (let f = 0; f < files; f++) {
    const file = path.join(inbox, `bench-${String(f).padStart(4, '0')}.xml`);
    await generate(file, perFile, 'utf-8');
    let xml = fs.readFileSync(file, 'utf8');
    // Distinct ids per file: rewrite the generated ids with a file prefix.
    if (f > 0) xml = xml.replace(/<objektnr_extern>(\d+)<\/objektnr_extern>/g, `<objektnr_extern>F${f}-$1</objektnr_extern>`);
    // The generator's object 0 is a DELETE: in the many-files mode every file would delete an
    // unknown estate and create nothing. One object per file is a new estate, as IMV sends it.
    if (perFile === 1) xml = xml.replace(' aktionart="DELETE"', '');
    fs.writeFileSync(file, xml);
    const past = new Date(Date.now() - 3600_000);
    fs.utimesSync(file, past, past);
  }
  const bytes = fs.readdirSync(inbox).reduce((n, f) => n + fs.statSync(path.join(inbox, f)).size, 0);
  // The same files for the baseline (the pipeline moves its copies to processed/).
  const bareDir = path.join(dir, 'bare-input');
  fs.cpSync(inbox, bareDir, { recursive: true });

  const temporal = await startTemporalDevServer({ headless: true, logFile: path.join(dir, 'temporal.log') });
  const ftp = await startEmbeddedFtp({ root: path.join(dir, 'ftp'), port: await freePort(), user: 'bench', password: 'bench' });
  // The tenant's default options (minimum age, stability check, window), unless the command line says otherwise.
  const options = { ...(chunkSize ? { chunkSize } : {}), ...(window ? { maxConcurrentFiles: window } : {}) };
  const metricsPort = await freePort();
  const rawCfg = {
    tenants: [{ id: 'bench', ftp: { url: `${ftp.url}bench`, passwordEnv: 'BENCH_FTP' }, users: ['mmustermann', 'skoch'], options }],
    temporal: { address: temporal.address, taskQueue: 'bench' },
    databaseUrl: dbUrl,
    fileStore: { dir: path.join(dir, 'store') },
    metricsPort,
  };
  process.env.BENCH_FTP = 'bench';
  const cfg = parseConfig(rawCfg, { BENCH_FTP: 'bench' });
  const cfgFile = path.join(dir, 'config.json');
  fs.writeFileSync(cfgFile, JSON.stringify(rawCfg));

  // Baseline first, in its own database: the project's reader and upserts without Temporal and FTP.
  const bareDb = `${dbName}_bare`;
  const bareUrl = await createScratchDatabase(base, bareDb);
  const bare = await runBare(
    {
      ...cfg,
      databaseUrl: bareUrl,
      fileStore: { ...cfg.fileStore, dir: path.join(dir, 'bare-store') },
    },
    'bench',
    bareDir,
  );

  // The worker in a process of its own, as deployed (`imv-import worker`), so its memory is its own.
  // The node flags of the Docker image's entrypoint, or BENCH_WORKER_NODE_ARGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof").
  const nodeArgs = (process.env.BENCH_WORKER_NODE_ARGS ?? '--max-semi-space-size=4 --heap-growing-percent=50').split(' ').filter(Boolean);
  const worker = spawn(process.execPath, [...nodeArgs, path.join(__dirname, '..', '..', 'bin', 'imv-import.js'), 'worker', '--identity', 'bench-worker'], {
    env: {
      ...process.env,
      DATABASE_URL: dbUrl,
      IMV_CONFIG: cfgFile,
      BENCH_FTP: 'bench',
      LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
      METRICS_PORT: String(metricsPort),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const exited = new Promise<void>((r) => worker.once('exit', () => r()));
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  await waitForPoller(client, 'bench');
  const idleRss = rssOf(worker.pid!);
  const rss: number[] = [];
  const sampler = setInterval(() => rss.push(rssOf(worker.pid!)), 200);

  // What an operator does: the tenant's schedule, one trigger, wait for the batch (`schedule trigger --wait`).
  await ensureSchedule(client, cfg, tenantOf(cfg, 'bench'));
  const cpu0 = { worker: cpuOf(worker.pid!), temporal: cpuOf(temporal.process.pid!), postgres: cpuOfCommand('postgres'), all: machineBusySeconds() };
  const t0 = Date.now();
  const run = await triggerBatch(client, 'bench');
  const summary: BatchSummary = await run.result();
  const secs = (Date.now() - t0) / 1000;
  clearInterval(sampler);
  // When the ledger says the first and the last file were imported (same clock: this machine).
  const pipeDb = createDb(dbUrl, 1);
  const ledger = await importedTimeSpan(pipeDb);
  await closeDb(pipeDb);
  const sinceTrigger = (d: Date | null) => (d ? `${((d.getTime() - t0) / 1000).toFixed(2)} s` : '-');
  const cpu = {
    worker: cpuOf(worker.pid!) - cpu0.worker,
    temporal: cpuOf(temporal.process.pid!) - cpu0.temporal,
    postgres: cpuOfCommand('postgres') - cpu0.postgres,
    all: machineBusySeconds() - cpu0.all,
  };

  // Time spent inside each step (local and regular activities alike), from the worker's /metrics.
  const steps = new Map<string, { sum: number; count: number }>();
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  for (const m of text.matchAll(/^imv_import_activity_duration_seconds_(sum|count)\{([^}]*)\} (\S+)$/gm)) {
    const type = /activity_type="([^"]+)"/.exec(m[2])?.[1] ?? '?';
    const cur = steps.get(type) ?? { sum: 0, count: 0 };
    if (m[1] === 'sum') cur.sum += Number(m[3]);
    else cur.count += Number(m[3]);
    steps.set(type, cur);
  }
  let historyEvents = 0;
  for (const r of summary.results.slice(0, 1)) historyEvents = (await client.workflow.getHandle(r.workflowId).fetchHistory()).events?.length ?? 0;
  // The batch's own workflow tasks (its first run): how often it woke up per file it started.
  const batchEvents = (await client.workflow.getHandle(run.workflowId, run.runId).fetchHistory()).events ?? [];
  const batchTasks = batchEvents.filter((e) => e.workflowTaskCompletedEventAttributes).length;
  const batchChildren = batchEvents.filter((e) => e.startChildWorkflowExecutionInitiatedEventAttributes).length;
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(0)} MB`;
  const sorted = [...rss].sort((a, b) => a - b);
  console.log(
    `pipeline: ${files} file(s), ${summary.objects.total} objects, ${(bytes / 1024 / 1024).toFixed(1)} MB in ${secs.toFixed(1)} s (schedule trigger to batch result)`,
  );
  console.log(`  trigger to imported: first file ${sinceTrigger(ledger.first)}, last file ${sinceTrigger(ledger.last)}`);
  console.log(
    `  ${(files / secs).toFixed(1)} files/s, ${Math.round(summary.objects.total / secs)} objects/s end to end; created ${summary.objects.created}, rejected ${summary.objects.rejected}`,
  );
  console.log(
    `baseline (bare importer, same reader and upserts, no Temporal, no FTP): ${bare.files} file(s), ${bare.objects} objects in ${bare.seconds.toFixed(1)} s, created ${bare.created}`,
  );
  console.log(
    `  pipeline throughput = ${((100 * bare.seconds) / secs).toFixed(0)}% of the baseline (pipeline ${secs.toFixed(1)} s / baseline ${bare.seconds.toFixed(1)} s = ${(secs / bare.seconds).toFixed(1)}×)`,
  );
  console.log(`  time inside each step (summed over files): ${[...steps].map(([k, v]) => `${k} ${v.sum.toFixed(1)} s (${v.count})`).join(', ')}`);
  const msPerFile = (x: number) => `${((1000 * x) / files).toFixed(0)} ms`;
  console.log(
    `  CPU per file: worker ${msPerFile(cpu.worker)}, Temporal server ${msPerFile(cpu.temporal)}, PostgreSQL ${msPerFile(cpu.postgres)}, machine ${msPerFile(cpu.all)} (of ${msPerFile(2 * secs)} available on 2 cores)`,
  );
  console.log(`  history of the first file workflow: ${historyEvents} events`);
  console.log(
    `  batch workflow (first run): ${batchTasks} workflow tasks for ${batchChildren} files, ${(batchTasks / Math.max(1, batchChildren)).toFixed(2)} per file; ${batchEvents.length} events`,
  );
  console.log(
    `  worker process RSS: idle ${mb(idleRss)}, during the run median ${mb(sorted[Math.floor(sorted.length / 2)] ?? 0)}, peak ${mb(sorted[sorted.length - 1] ?? 0)}`,
  );

  worker.kill('SIGTERM');
  await exited;
  await connection.close();
  await ftp.stop();
  await temporal.stop();
  await dropScratchDatabase(base, dbName);
  await dropScratchDatabase(base, bareDb);
  fs.rmSync(dir, { recursive: true, force: true });
}

/** Waits until a worker polls the task queue's workflow tasks. */
async function waitForPoller(client: Client, taskQueue: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    const d = await client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType: 1 });
    if ((d.pollers ?? []).length > 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no worker polls task queue ${taskQueue} after 60 s`);
}

main().catch((e) => {
  console.error(e);
  // The dev server and FTP server would keep the process alive.
  process.exit(1);
});
