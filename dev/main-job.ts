/**
 * `imv-import dev`: the main job on embedded defaults, for a first look and for demos. Starts the
 * Temporal dev server with its Web UI, a database (DATABASE_URL, else the local PostgreSQL on
 * 127.0.0.1:5432, else an embedded one), an FTP inbox on loopback seeded with the demo transfers
 * this project ships, a worker, the tenant's schedule, and runs a first import through it.
 *
 * Its console is for a person: the links and commands, a live status of each batch, the ledger and the
 * summary, and warnings and errors. Everything else is logged to files in the data directory:
 * logs/worker.log (the worker's JSON lines, at LOG_LEVEL) and logs/temporal.log (the dev server).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Runtime } from '@temporalio/worker';
import { parseConfig, type AppConfig } from '../config/config';
import { logger, logToFile } from '../common/logger';
import { describeSchedule, ensureSchedule } from '../ops/schedule';
import { runOf, triggerBatch } from '../ops/batches';
import { followBatch } from '../ops/progress';
import type { BatchSummary } from '../common/messages';
import { formatImports, listImports } from '../ops/ledger';
import { startStuckImportsWatch, startTelemetry } from '../workers/main';
import { createImportWorker } from '../workers/worker';
import { withoutPassword } from '../db/db';
import { startTemporalDevServer, freePort, type DevServer } from './temporal-server';
import { startEmbeddedFtp } from './embedded-ftp';
import { isPortListening, isPostgresReachable, startEmbeddedPostgres } from './embedded-postgres';

export const DEV_TENANT = 'demo';
export const DEV_FTP_USER = 'imv';
/** A throwaway password for the loopback-only demo inbox (real tenants read theirs from the environment). */
export const DEV_FTP_PASSWORD = 'imv-demo';

const projectRoot = path.resolve(__dirname, '..', fs.existsSync(path.resolve(__dirname, '..', 'package.json')) ? '' : '..');
export const demoTransfersDir = path.join(projectRoot, 'demo', 'transfers');

async function portOr(preferred: number): Promise<number> {
  return (await isPortListening('127.0.0.1', preferred)) ? freePort() : preferred;
}

/** An error the CLI prints as its message alone (no stack), exit code 1. */
function devError(message: string): Error {
  return Object.assign(new Error(message), { exitCode: 1 });
}

/**
 * TEMPORAL_ADDRESS is set: something must answer there as a Temporal frontend (a TCP check first,
 * which fails at once on a closed port, then a real client connection).
 */
export async function checkTemporalAnswers(address: string): Promise<void> {
  const advice = (what: string) =>
    devError(
      `TEMPORAL_ADDRESS=${address} is set but ${what}: unset it (unset TEMPORAL_ADDRESS) to let \`imv-import dev\` start its own Temporal server, ` +
        `or start the server at that address first (e.g. the \`imv-import dev\` whose banner printed it)`,
    );
  const m = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address.trim());
  if (!m) throw advice('it is not host:port');
  const [, host, port] = m;
  if (!(await isPortListening(host, Number(port)))) throw advice('nothing answers there');
  try {
    const connection = await Connection.connect({ address, connectTimeout: 5000 });
    await connection.close();
  } catch (e) {
    logger.debug({ err: { message: (e as Error).message } }, 'Temporal connection failed');
    throw advice('no Temporal server answers there');
  }
}

const say = (s: string) => process.stdout.write(s + '\n');

export async function runDevStack(o: { dataDir: string; exitAfterImport: boolean }): Promise<number> {
  const dataDir = path.resolve(o.dataDir);
  fs.mkdirSync(dataDir, { recursive: true });
  const logs = devLogs(dataDir);
  const stops: (() => Promise<void>)[] = [];
  const { temporal, address } = await devTemporal(dataDir, logs.temporal, stops);
  const { databaseUrl, poolMax } = await devDatabase(dataDir, stops);
  const { ftp, inbox } = await devInbox(dataDir, stops);

  const raw = {
    tenants: [
      {
        id: DEV_TENANT,
        name: 'Demo Immobilien GmbH',
        ftp: { url: `ftp://${DEV_FTP_USER}@127.0.0.1:${ftp.port}/${DEV_TENANT}`, passwordEnv: 'IMV_FTP_PASSWORD_DEMO' },
        users: ['mmustermann', 'skoch'],
        options: { minFileAgeSeconds: 5, stableCheckMs: 1000 },
      },
    ],
    temporal: { address },
    databaseUrl,
    databasePoolMax: poolMax,
    fileStore: { kind: 'fs', dir: path.join(dataDir, 'store') },
  };
  const configFile = path.join(dataDir, 'imv-import.json');
  fs.writeFileSync(configFile, JSON.stringify(raw, null, 2) + '\n');
  const cfg: AppConfig = parseConfig(raw, { ...process.env, TEMPORAL_ADDRESS: address, DATABASE_URL: databaseUrl });

  // METRICS_PORT serves /metrics here too (the app's and the SDK's metrics on one port).
  const telemetry = await startTelemetry(cfg);
  stops.push(() => telemetry.close());
  const worker = await createImportWorker(cfg).catch(async (e: unknown) => {
    // The database refused (DATABASE_URL): stop what was started, or its servers and the SDK runtime keep the process alive.
    for (const s of stops.reverse()) await s().catch(() => undefined);
    await Runtime._instance?.shutdown();
    throw e;
  });
  const running = worker.run();
  // As `imv-import worker` does: stuck imports in the log, the database's gauges on /metrics.
  const watch = startStuckImportsWatch(cfg, worker.db);
  const connection = await Connection.connect({ address });
  const client = new Client({ connection });
  await ensureSchedule(client, cfg, cfg.tenants[0]);

  printBanner({ temporal, address, databaseUrl, ftpUrl: ftp.url, inbox, configFile, metricsUrl: telemetry.metrics?.url, logs });

  const run = await triggerBatch(client, DEV_TENANT);
  say(`first import: batch ${run.workflowId}`);
  const summary = await followBatch(run, process.stdout, { label: 'first import' });
  const db = worker.db;
  const rows = await listImports(db, { tenant: DEV_TENANT, limit: 20, objects: true });
  say(formatImports(rows, true));
  say(batchSummaryLine(summary));

  const shutdown = async () => {
    // The check at start has run (also when the first import was quicker than the database).
    await watch.ready;
    watch.stop();
    worker.shutdown();
    await running.catch(() => undefined);
    await connection.close();
    for (const s of stops.reverse()) await s().catch((e) => logger.warn({ err: String(e) }, 'stop failed'));
  };
  if (o.exitAfterImport) {
    await shutdown();
    return summary.files > 0 ? 0 : 1;
  }
  say('\nrunning: the schedule imports every 30 minutes; drop OpenImmo files into the inbox folder or use `imv-import import`. Ctrl-C stops.');
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await watchBatches(client, run.workflowId, stopped);
  await shutdown();
  return 0;
}

export function batchSummaryLine(summary: BatchSummary): string {
  return (
    `batch summary: ${summary.files} files — imported ${summary.imported}, partial ${summary.partial}, failed ${summary.failed}, duplicate ${summary.duplicate}; ` +
    `objects created ${summary.objects.created}, updated ${summary.objects.updated}, rejected ${summary.objects.rejected}`
  );
}

/** Where the dev stack logs: the worker's JSON lines and the Temporal server's output; the console gets warnings and errors. */
function devLogs(dataDir: string): { dir: string; worker: string; temporal: string } {
  const dir = path.join(dataDir, 'logs');
  const l = { dir, worker: path.join(dir, 'worker.log'), temporal: path.join(dir, 'temporal.log') };
  logToFile(l.worker, { consoleLevel: 'warn' });
  return l;
}

/**
 * Until \`stopped\`: each batch the schedule (or \`imv-import schedule trigger\` in another shell) starts
 * gets a live status line, then its summary. A look at the schedule every few seconds.
 */
async function watchBatches(client: Client, firstBatch: string, stopped: Promise<void>): Promise<void> {
  const seen = new Set([firstBatch]);
  let stop = false;
  void stopped.then(() => (stop = true));
  while (!stop) {
    await Promise.race([stopped, new Promise((r) => setTimeout(r, 3000))]);
    if (stop) break;
    try {
      const d = await describeSchedule(client, DEV_TENANT);
      for (const a of d.info.runningActions) {
        if (seen.has(a.workflow.workflowId)) continue;
        seen.add(a.workflow.workflowId);
        say(`batch ${a.workflow.workflowId}`);
        const run = runOf(client, a.workflow.workflowId, a.workflow.firstExecutionRunId);
        say(batchSummaryLine(await followBatch(run, process.stdout, { label: 'batch', until: stopped, everyMs: 2000 })));
      }
    } catch (e) {
      if (!stop) logger.warn({ err: { message: (e as Error).message } }, "could not follow the schedule's batches");
    }
  }
}

/**
 * The Temporal server: the one TEMPORAL_ADDRESS names, else a dev server of its own. The banner
 * tells other shells to export TEMPORAL_ADDRESS; in the shell that runs `dev` again it means "use
 * that server", so say plainly when nothing answers there instead of a raw gRPC error.
 */
async function devTemporal(dataDir: string, logFile: string, stops: (() => Promise<void>)[]): Promise<{ temporal: DevServer | null; address: string }> {
  const address = process.env.TEMPORAL_ADDRESS;
  if (address) {
    await checkTemporalAnswers(address);
    return { temporal: null, address };
  }
  say('starting the Temporal dev server (Web UI included) …');
  const temporal = await startTemporalDevServer({
    dbFile: path.join(dataDir, 'temporal.sqlite'),
    port: await portOr(7233),
    uiPort: await portOr(8233),
    logFile,
  });
  stops.push(() => temporal.stop());
  return { temporal, address: temporal.address };
}

/** The database: DATABASE_URL, else the local PostgreSQL on 127.0.0.1:5432, else an embedded one (one connection). */
async function devDatabase(dataDir: string, stops: (() => Promise<void>)[]): Promise<{ databaseUrl: string; poolMax?: number }> {
  if (process.env.DATABASE_URL) return { databaseUrl: process.env.DATABASE_URL };
  // IMV_DEV_EMBEDDED_DB=1 takes the embedded database even where a local server runs.
  if (!process.env.IMV_DEV_EMBEDDED_DB && (await isPostgresReachable('postgres://postgres@127.0.0.1:5432/postgres'))) {
    return { databaseUrl: 'postgres://postgres@127.0.0.1:5432/imv_import_dev' };
  }
  say(
    process.env.IMV_DEV_EMBEDDED_DB
      ? 'IMV_DEV_EMBEDDED_DB set: starting the embedded one (PGlite) …'
      : 'no PostgreSQL on 127.0.0.1:5432: starting the embedded one (PGlite) …',
  );
  const pg = await startEmbeddedPostgres({ dataDir: path.join(dataDir, 'pgdata'), port: await portOr(5433) });
  stops.push(() => pg.stop());
  return { databaseUrl: pg.url, poolMax: 1 };
}

/** The FTP inbox on loopback, seeded once with the demo transfers. */
async function devInbox(dataDir: string, stops: (() => Promise<void>)[]) {
  const ftpRoot = path.join(dataDir, 'ftp');
  const inbox = path.join(ftpRoot, DEV_TENANT);
  fs.mkdirSync(inbox, { recursive: true });
  const seededMark = path.join(dataDir, '.demo-seeded');
  if (!fs.existsSync(seededMark)) {
    const past = new Date(Date.now() - 10 * 60_000);
    for (const f of fs.readdirSync(demoTransfersDir).sort()) {
      fs.copyFileSync(path.join(demoTransfersDir, f), path.join(inbox, f));
      fs.utimesSync(path.join(inbox, f), past, past);
    }
    fs.writeFileSync(seededMark, new Date().toISOString());
  }
  const ftp = await startEmbeddedFtp({ root: ftpRoot, port: await portOr(2121), user: DEV_FTP_USER, password: DEV_FTP_PASSWORD });
  stops.push(() => ftp.stop());
  process.env.IMV_FTP_PASSWORD_DEMO = DEV_FTP_PASSWORD;
  return { ftp, inbox };
}

/** Where to look: the UI with its searches, metrics, database, inbox, and the CLI line for another shell. */
function printBanner(b: {
  temporal: DevServer | null;
  address: string;
  databaseUrl: string;
  ftpUrl: string;
  inbox: string;
  configFile: string;
  metricsUrl?: string;
  logs: { dir: string; worker: string; temporal: string };
}): void {
  say('');
  say(`Temporal Web UI:  ${b.temporal?.uiUrl ?? '(external server: see your UI)'}/namespaces/default/workflows`);
  say(`  batches:        ImportTenant="${DEV_TENANT}" AND WorkflowType="importBatch"`);
  say(`  failed files:   ImportTenant="${DEV_TENANT}" AND WorkflowType="importFile" AND ImportOutcome="failed"`);
  say(`  schedule:       ${b.temporal?.uiUrl ?? ''}/namespaces/default/schedules/imv-import:${DEV_TENANT}`);
  if (b.metricsUrl) say(`metrics:          ${b.metricsUrl}`);
  say(`database:         ${withoutPassword(b.databaseUrl)}`);
  say(`FTP inbox:        ${b.ftpUrl}${DEV_TENANT} (folder ${b.inbox})`);
  say(`logs:             ${b.logs.worker}${b.temporal ? `, ${b.logs.temporal}` : ''} (the console shows warnings and errors)`);
  say(
    `CLI in another shell: IMV_CONFIG=${b.configFile} IMV_FTP_PASSWORD_DEMO=${DEV_FTP_PASSWORD} TEMPORAL_ADDRESS=${b.address} node bin/imv-import.js imports`,
  );
  say('');
}
