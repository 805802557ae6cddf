/**
 * End-to-end benchmark: one IMV-shaped transfer of N objects (default 10,000, ~26 MB) through the
 * real pipeline — Temporal dev server, FTP, a worker, PostgreSQL — and the time of each step, from
 * the worker's step histogram, and the same files through a bare in-process importer (bench/bare.ts)
 * as the baseline of the same run. Prints figures; asserts nothing (targets live here, not in tests).
 *
 *   npm run build && node dist/bench/pipeline.js [objects] [--files K] [--chunk N] [--window W]
 *
 * Uses DATABASE_URL's server (default the local one on 127.0.0.1:5432) with a fresh database.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import pg from 'pg';
import pino from 'pino';
import { parseConfig } from '../config/config';
import { createImportWorker } from '../workers/worker';
import { installRuntime } from '../workers/main';
import { appMetrics } from '../workers/metrics';
import { startTemporalDevServer, freePort } from '../dev/temporal-server';
import { startEmbeddedFtp } from '../dev/embedded-ftp';
import type { BatchSummary } from '../common/messages';
import { generate } from './reader';
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
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${dbName}`);
  const dbUrl = Object.assign(new URL(base), { pathname: `/${dbName}` }).toString();
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
  const cfg = parseConfig(
    {
      tenants: [{ id: 'bench', ftp: { url: `${ftp.url}bench`, passwordEnv: 'BENCH_FTP' }, users: ['mmustermann', 'skoch'], options: { minFileAgeSeconds: 0, stableCheckMs: 0, ...(chunkSize ? { chunkSize } : {}), ...(window ? { maxConcurrentFiles: window } : {}) } }],
      temporal: { address: temporal.address, taskQueue: 'bench' },
      databaseUrl: dbUrl,
      fileStoreDir: path.join(dir, 'store'),
    },
    { BENCH_FTP: 'bench' },
  );
  process.env.BENCH_FTP = 'bench';

  // Baseline first, in its own database: the project's reader and upserts without Temporal and FTP.
  const bareDb = `${dbName}_bare`;
  await admin.query(`CREATE DATABASE ${bareDb}`);
  const bare = await runBare(
    { ...cfg, databaseUrl: Object.assign(new URL(base), { pathname: `/${bareDb}` }).toString(), fileStoreDir: path.join(dir, 'bare-store') },
    'bench',
    bareDir,
  );
  installRuntime(cfg);
  const worker = await createImportWorker(cfg, { env: { BENCH_FTP: 'bench' }, log: pino({ level: process.env.LOG_LEVEL ?? 'warn' }) });
  const running = worker.run();
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  let peakRss = 0;
  const sampler = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 200);

  const t0 = Date.now();
  const summary: BatchSummary = await client.workflow.execute('importBatch', { taskQueue: 'bench', workflowId: `bench-${Date.now()}`, args: [{ tenant: 'bench' }] });
  const secs = (Date.now() - t0) / 1000;
  clearInterval(sampler);

  // Time spent inside each step (local and regular activities alike), from the worker's histogram.
  const steps = new Map<string, { sum: number; count: number }>();
  const hist = await appMetrics().activityDuration.get();
  for (const v of hist.values) {
    const type = String(v.labels.activity_type);
    const cur = steps.get(type) ?? { sum: 0, count: 0 };
    if (v.metricName?.endsWith('_sum')) cur.sum += v.value;
    else if (v.metricName?.endsWith('_count')) cur.count += v.value;
    steps.set(type, cur);
  }
  let historyEvents = 0;
  for (const r of summary.results.slice(0, 1)) historyEvents = (await client.workflow.getHandle(r.workflowId).fetchHistory()).events?.length ?? 0;
  console.log(`pipeline: ${files} file(s), ${summary.objects.total} objects, ${(bytes / 1024 / 1024).toFixed(1)} MB in ${secs.toFixed(1)} s`);
  console.log(`  ${Math.round(summary.objects.total / secs)} objects/s end to end; created ${summary.objects.created}, rejected ${summary.objects.rejected}`);
  console.log(
    `baseline (bare importer, same reader and upserts, no Temporal, no FTP): ${bare.files} file(s), ${bare.objects} objects in ${bare.seconds.toFixed(1)} s, created ${bare.created}`,
  );
  console.log(`  pipeline throughput = ${((100 * bare.seconds) / secs).toFixed(0)}% of the baseline (pipeline ${secs.toFixed(1)} s / baseline ${bare.seconds.toFixed(1)} s = ${(secs / bare.seconds).toFixed(1)}×)`);
  console.log(`  time inside each step (summed over files): ${[...steps].map(([k, v]) => `${k} ${v.sum.toFixed(1)} s (${v.count})`).join(', ')}`);
  console.log(`  history of the first file workflow: ${historyEvents} events`);
  console.log(`  worker process peak RSS ${(peakRss / 1024 / 1024).toFixed(0)} MB (worker, FTP server and client share the process)`);

  worker.shutdown();
  await running;
  await connection.close();
  await ftp.stop();
  await temporal.stop();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.query(`DROP DATABASE IF EXISTS ${bareDb} WITH (FORCE)`);
  await admin.end();
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
