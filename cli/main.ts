/**
 * imv-import: the ops CLI. Operations scripts rely on these commands and their exit codes:
 * 0 ok, 1 error or a failed file, 2 a file imported partially (some objects rejected).
 */
import { Command, Option } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { loadConfig, tenantOf, type AppConfig } from '../config/config';
import { explainTemporalConnectFailure, isTemporalAuthError, temporalConnectOptions, temporalRefusal } from '../config/temporal';
import { closeDb, openDatabase, type Db } from '../db/db';
import { logger } from '../common/logger';
import { describeSchedule, ensureGcSchedule, ensureSchedule, GC_SCHEDULE_ID, scheduleIdOf } from '../ops/schedule';
import { collectGarbage } from '../store/gc';
import { NotStoredError } from '../store/file-store';
import { createFileStore } from '../store/open-store';
import { pipeline } from 'node:stream/promises';
import { importLocalFiles } from '../ops/import-local';
import { followBatch } from '../ops/progress';
import { listImports, formatImports, IMPORT_STATUSES } from '../ops/ledger';
import { activateEstate, publishEstate, formatEstates, listEstatesPage, streamEstates, EstateRuleError, DEFAULT_ESTATE_PAGE, NO_ESTATES } from '../ops/estates';
import { findStuckImports } from '../db/stuck';
import { formatAge, formatStuckWarning, stuckAfterSeconds } from '../ops/stuck';
import { isDatabaseError, shortErrorMessage } from '../common/error-messages';
import { replayImports } from '../ops/replay';
import { parseFileForCli } from '../ops/parse';
import { triggerBatch } from '../ops/batches';
import { collectStatus, formatStatus } from '../ops/status';
import { formatTaskQueueVersions, setCurrentVersion, taskQueueVersions } from '../ops/deployment';
import { buildIdOf } from '../config/deployment';
import { runWorkerProcess } from '../workers/main';

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

/**
 * Set by the commands that run the Temporal SDK runtime (`worker`, `dev`): the process ends when the
 * command has ended, also after a failed start. The runtime's log forwarding would keep it alive, and a
 * supervisor must see a worker that cannot start exit with 1.
 */
let exitWhenDone = false;

function config(): AppConfig {
  return loadConfig();
}

/** Every command that takes --tenant refuses one that is not configured (checked before it runs). */
function checkTenant(cfg: AppConfig, tenant: string): string {
  if (cfg.tenants.some((t) => t.id === tenant)) return tenant;
  throw new CliError(
    `unknown tenant "${tenant}": the configured tenants are ${cfg.tenants.map((t) => t.id).join(', ')} (IMV_CONFIG=${process.env.IMV_CONFIG ?? '?'})`,
  );
}

function pickTenant(cfg: AppConfig, tenant?: string): string {
  if (tenant) return checkTenant(cfg, tenant);
  if (cfg.tenants.length === 1) return cfg.tenants[0].id;
  throw new CliError(`several tenants are configured (${cfg.tenants.map((t) => t.id).join(', ')}): pass --tenant`);
}

function tenantsFor(cfg: AppConfig, tenant?: string): string[] {
  return tenant ? [checkTenant(cfg, tenant)] : cfg.tenants.map((t) => t.id);
}

async function connectTemporal(cfg: AppConfig): Promise<Connection> {
  const options = temporalConnectOptions(cfg.temporal);
  try {
    return await Connection.connect(options);
  } catch (e) {
    throw new CliError(await explainTemporalConnectFailure(cfg.temporal, options, e));
  }
}

async function withClient<T>(cfg: AppConfig, fn: (c: Client) => Promise<T>): Promise<T> {
  const connection = await connectTemporal(cfg);
  try {
    return await fn(new Client({ connection, namespace: cfg.temporal.namespace }));
  } catch (e) {
    // A key that connects but may not do this (read-only, other namespace), or no key at all.
    if (isTemporalAuthError(e)) throw new CliError(temporalRefusal(cfg.temporal));
    throw e;
  } finally {
    await connection.close();
  }
}

/** Runs fn for each tenant (the one named, else every configured one), in order, on one Temporal connection. */
async function forEachTenant(tenant: string | undefined, fn: (c: Client, id: string, cfg: AppConfig) => Promise<void>): Promise<void> {
  const cfg = config();
  await withClient(cfg, async (c) => {
    for (const id of tenantsFor(cfg, tenant)) await fn(c, id, cfg);
  });
}

async function withDb<T>(cfg: AppConfig, fn: (db: Db) => Promise<T>): Promise<T> {
  const db = await openDatabase(cfg, 2);
  try {
    return await fn(db);
  } finally {
    await closeDb(db);
  }
}

const tenantOption = () => new Option('-t, --tenant <tenant>', 'tenant id (default: the only configured tenant)');

const integerOption =
  (name: string, min: number) =>
  (v: string): number => {
    const n = Number(v);
    if (!/^\d+$/.test(v.trim()) || !Number.isSafeInteger(n) || n < min)
      throw new CliError(`${name} needs a whole number of at least ${min}, not ${JSON.stringify(v)}`);
    return n;
  };

/** Writes with backpressure: a million estates as JSON lines must not pile up in memory. */
async function write(text: string): Promise<void> {
  if (!process.stdout.write(text)) await new Promise<void>((resolve) => process.stdout.once('drain', () => resolve()));
}

export function buildProgram(): Command {
  const program = new Command('imv-import')
    .description('Imports IMV online OpenImmo transfers from FTP into the CRM database, orchestrated by Temporal')
    .showHelpAfterError();

  // Before any command that was given --tenant: an unknown tenant is an error, never "nothing found".
  program.hook('preAction', (_program, command) => {
    const tenant = command.opts().tenant as string | undefined;
    if (tenant !== undefined) checkTenant(config(), tenant);
  });

  addWorkerCommand(program);
  addStatusCommand(program);
  addDeploymentCommands(program);
  addScheduleCommands(program);
  addImportCommands(program);
  addEstateCommands(program);
  addSetupCommands(program);
  addStoreCommands(program);

  return program;
}

/** `worker`. */
function addWorkerCommand(program: Command): void {
  program
    .command('worker')
    .description('run a worker (start several for scale-out; SIGTERM drains within the grace time)')
    .option('--identity <name>', 'worker identity shown in the Temporal UI')
    .action(async (o: { identity?: string }) => {
      exitWhenDone = true;
      await runWorkerProcess(config(), { identity: o.identity });
    });
}

/** `status`: the health of each tenant on one screen. */
function addStatusCommand(program: Command): void {
  program
    .command('status')
    .description(
      'one screen per tenant: schedule, last batch, files waiting in the inbox, failed/partial imports of the last 24 h with replay commands, estates imported today, workers polling',
    )
    .addOption(tenantOption())
    .option('--json', 'machine-readable output')
    .action(async (o: { tenant?: string; json?: boolean }) => {
      const cfg = config();
      const tenants = tenantsFor(cfg, o.tenant);
      // Temporal and the database each on their own: what one of them cannot say, the other still does.
      const [temporal, db] = await Promise.allSettled([connectTemporal(cfg), openDatabase(cfg, 2)]);
      try {
        const report = await collectStatus(
          cfg,
          {
            temporal:
              temporal.status === 'fulfilled' ? new Client({ connection: temporal.value, namespace: cfg.temporal.namespace }) : sourceError(temporal.reason),
            db: db.status === 'fulfilled' ? db.value : sourceError(db.reason, 'cannot reach the database: '),
          },
          { tenants },
        );
        console.log(o.json ? JSON.stringify(report, null, 2) : formatStatus(report));
        // The screen is shown either way; without Temporal or the database nothing is imported.
        if (temporal.status === 'rejected' || db.status === 'rejected') process.exitCode = 1;
      } finally {
        if (temporal.status === 'fulfilled') await temporal.value.close();
        if (db.status === 'fulfilled') await closeDb(db.value);
      }
    });
}

/** A source `status` could not open, as its parts' error (one line, as the other commands print it). */
function sourceError(e: unknown, prefix = ''): { error: string } {
  logger.debug({ err: { message: (e as Error)?.message, stack: (e as Error)?.stack } }, 'status: source unavailable');
  return { error: e instanceof CliError ? e.message : `${prefix}${shortErrorMessage(e)}` };
}

/** `deployment describe|set-current`: Worker Versioning (ops/deployment.ts). */
function addDeploymentCommands(program: Command): void {
  const deployment = program.command('deployment').description("the workers' versions (Worker Versioning): which poll, which is current, which are drained");
  deployment
    .command('describe')
    .description('the versions polling the task queue, the current one, and which are draining (keep their workers) or drained (may stop)')
    .option('--json', 'machine-readable output')
    .action(async (o: { json?: boolean }) => {
      const cfg = config();
      const v = await withClient(cfg, (c) => taskQueueVersions(c, cfg.temporal.namespace, cfg.temporal.taskQueue, cfg.worker.deployment.name ?? null));
      console.log(o.json ? JSON.stringify(v, null, 2) : formatTaskQueueVersions(v).join('\n'));
    });
  deployment
    .command('set-current')
    .description('make a version current: new workflows start on it, pinned ones finish on theirs (waits for its workers to poll)')
    .argument('[buildId]', "the version's build id (default: this installation's, IMV_BUILD_ID or <package version>+<git revision>)")
    .option('--name <deployment>', 'the deployment (default: worker.deployment.name, IMV_DEPLOYMENT_NAME)')
    .option('--if-none', 'only when the deployment has no current version yet (a first deploy)')
    .option('--wait <seconds>', 'how long to wait for its workers to poll', integerOption('--wait', 0), 60)
    .action(async (buildIdArg: string | undefined, o: { name?: string; ifNone?: boolean; wait: number }) => {
      const cfg = config();
      const deploymentName = o.name ?? cfg.worker.deployment.name;
      if (!deploymentName) throw new CliError('no deployment name: pass --name, or set IMV_DEPLOYMENT_NAME (worker.deployment.name)');
      const buildId = buildIdArg ?? buildIdOf(cfg.worker.deployment);
      if (!buildId) throw new CliError('no build id: name it, or set IMV_BUILD_ID (or IMV_GIT_REVISION)');
      const r = await withClient(cfg, (c) =>
        setCurrentVersion(c, {
          namespace: cfg.temporal.namespace,
          taskQueue: cfg.temporal.taskQueue,
          deploymentName,
          buildId,
          ifNone: o.ifNone,
          waitMs: o.wait * 1000,
        }),
      );
      console.log(
        r.changed
          ? `${deploymentName}: ${r.buildId} is current (was ${r.previous ?? 'unversioned'}); workflows pinned to ${r.previous ?? 'older versions'} finish there`
          : `${deploymentName}: ${r.buildId} is current already`,
      );
    });
}

/** `schedule ensure|trigger|pause|unpause|describe`. */
function addScheduleCommands(program: Command): void {
  const schedule = program.command('schedule').description("manage the tenants' 30-minute import schedules (R1)");
  schedule
    .command('ensure')
    .description('create or update the schedule of each tenant (idempotent)')
    .addOption(tenantOption())
    .action(async (o: { tenant?: string }) => {
      await forEachTenant(o.tenant, async (c, id, cfg) => console.log(`${scheduleIdOf(id)}: ${await ensureSchedule(c, cfg, tenantOf(cfg, id))}`));
      // The file store's garbage collection is one schedule for all tenants.
      if (!o.tenant) await withClient(config(), async (c) => console.log(`${GC_SCHEDULE_ID}: ${await ensureGcSchedule(c, config())}`));
    });
  schedule
    .command('trigger')
    .description('run a batch now, through the schedule (overlap SKIP: nothing happens while one runs)')
    .addOption(tenantOption())
    .option('--wait', 'follow the batch (a progress bar on a terminal, a line every few seconds otherwise) and print its summary as JSON')
    .action((o: { tenant?: string; wait?: boolean }) =>
      forEachTenant(o.tenant, async (c, id) => {
        const run = await triggerBatch(c, id);
        console.log(`${id}: ${run.alreadyRunning ? 'a batch is already running' : 'started'} ${run.workflowId} (run ${run.runId})`);
        if (o.wait) {
          const summary = await followBatch(run, process.stderr, { label: id });
          console.log(JSON.stringify(summary, null, 2));
        }
      }),
    );
  for (const [name, desc] of [
    ['pause', 'pause the schedule'],
    ['unpause', 'resume the schedule'],
  ] as const) {
    schedule
      .command(name)
      .description(desc)
      .addOption(tenantOption())
      .option('--note <text>', 'why (shown in the UI)')
      .action((o: { tenant?: string; note?: string }) =>
        forEachTenant(o.tenant, async (c, id) => {
          const h = c.schedule.getHandle(scheduleIdOf(id));
          if (name === 'pause') await h.pause(o.note ?? 'paused with imv-import');
          else await h.unpause(o.note ?? 'unpaused with imv-import');
          console.log(`${scheduleIdOf(id)}: ${name}d`);
        }),
      );
  }
  schedule
    .command('describe')
    .description('show schedule state, next runs and recent batches')
    .addOption(tenantOption())
    .option('--json', 'machine-readable output')
    .action(async (o: { tenant?: string; json?: boolean }) => {
      const out: ReturnType<typeof scheduleView>[] = [];
      await forEachTenant(o.tenant, async (c, id) => void out.push(scheduleView(id, await describeSchedule(c, id))));
      if (o.json) console.log(JSON.stringify(out, null, 2));
      else
        for (const s of out)
          console.log(
            `${s.scheduleId}  ${s.paused ? 'PAUSED' : 'active'}  every ${s.every}  overlap ${s.overlap}  next ${s.nextRuns[0] ?? '-'}  running ${s.running.length}  recent ${s.recent.length}`,
          );
    });
}

/** `import`, `imports` (the ledger), `replay`, `parse`. */
function addImportCommands(program: Command): void {
  program
    .command('import')
    .description("put local transfer files into the tenant's FTP inbox and run a batch now")
    .argument('<files...>', 'OpenImmo .xml or .zip files')
    .addOption(tenantOption())
    .option('--wait', 'show progress, print the summary; exit 1 when a file failed, 2 when one was partial')
    .action(async (files: string[], o: { tenant?: string; wait?: boolean }) => {
      const cfg = config();
      const tenant = pickTenant(cfg, o.tenant);
      for (const f of files) if (!fs.existsSync(f)) throw new CliError(`no such file: ${f}`);
      const code = await withClient(cfg, (c) => withDb(cfg, (db) => importLocalFiles(cfg, c, db, tenant, files, { wait: !!o.wait })));
      process.exitCode = code;
    });

  program
    .command('imports')
    .description('the ledger: recent imports with status, counts, messages and workflow ids')
    .addOption(tenantOption())
    .option('--json', 'machine-readable output')
    .addOption(
      new Option('--status <status>', 'only imports with this status; stuck = importing for longer than the stuck limit').choices([...IMPORT_STATUSES]),
    )
    .option('-n, --limit <n>', 'how many', integerOption('--limit', 1), 20)
    .option('--objects', 'include per-object outcomes')
    .option(
      '--stuck-after <duration>',
      'an import still importing after this long is stuck (e.g. 90m, 2h; default IMV_STUCK_AFTER, else worker.stuckAfter in the config, else 2h)',
    )
    .action(async (o: { tenant?: string; json?: boolean; status?: string; limit: number; objects?: boolean; stuckAfter?: string }) => {
      const cfg = config();
      const stuckAfter = stuckAfterSeconds(o.stuckAfter, process.env, cfg.worker.stuckAfter);
      const { rows, stuck } = await withDb(cfg, async (db) => ({
        rows: await listImports(db, { tenant: o.tenant, status: o.status, limit: o.limit, objects: o.objects || o.json, stuckAfterSeconds: stuckAfter }),
        stuck: await findStuckImports(db, { stuckAfterSeconds: stuckAfter, tenants: tenantsFor(cfg, o.tenant) }),
      }));
      if (o.json) console.log(JSON.stringify(rows, null, 2));
      else if (o.status === 'stuck' && !rows.length) console.log(`no stuck imports (none importing for more than ${formatAge(stuckAfter)})`);
      else console.log(formatImports(rows, !!o.objects));
      // Stuck imports are shown whatever the filter: nothing else would ever show them. With --json
      // stdout stays JSON and the warning goes to stderr.
      const warning = formatStuckWarning(stuck, stuckAfter);
      if (warning) (o.json ? console.error : console.log)(`${o.json ? '' : '\n'}${warning}`);
    });

  program
    .command('replay')
    .description('run an earlier or failed import again through the whole pipeline (never overwrites newer data)')
    .argument('[importIds...]', 'ledger ids (see `imports`)')
    .addOption(tenantOption())
    .option('--failed', 'replay all failed imports of the tenant (with --since/--until)')
    .option('--since <time>', 'ISO time: imports started at or after')
    .option('--until <time>', 'ISO time: imports started before')
    .option('--wait', 'follow the replays (a progress bar on a terminal) and print their outcomes (the default)')
    .option('--no-wait', 'start the replays and return')
    .option(
      '--stuck-after <duration>',
      'an import still importing after this long is stuck and may be replayed once its workflow no longer runs (default IMV_STUCK_AFTER, else worker.stuckAfter in the config, else 2h)',
    )
    .action(async (ids: string[], o: { tenant?: string; failed?: boolean; since?: string; until?: string; wait?: boolean; stuckAfter?: string }) => {
      const cfg = config();
      if (!ids.length && !o.failed) throw new CliError('name import ids, or use --failed --tenant T [--since] [--until]');
      const code = await withClient(cfg, (c) =>
        withDb(cfg, (db) =>
          replayImports(cfg, c, db, {
            ids: ids.map((x) => {
              const n = Number(x);
              if (!Number.isInteger(n)) throw new CliError(`not an import id: ${x}`);
              return n;
            }),
            tenant: o.tenant,
            failed: o.failed ? { tenant: pickTenant(cfg, o.tenant), since: o.since, until: o.until } : undefined,
            wait: o.wait !== false,
            stuckAfterSeconds: stuckAfterSeconds(o.stuckAfter, process.env, cfg.worker.stuckAfter),
          }),
        ),
      );
      process.exitCode = code;
    });

  program
    .command('parse')
    .description('read a transfer without database or Temporal and print the normalized objects')
    .argument('<file>', 'OpenImmo .xml or .zip')
    .option('--json', 'print the whole normalized transfer as JSON')
    .action(async (file: string, o: { json?: boolean }) => {
      process.exitCode = await parseFileForCli(file, !!o.json);
    });
}

/** `estates` and `estate activate|publish`. */
function addEstateCommands(program: Command): void {
  program
    .command('estates')
    .description('list estates; like the CRM, inactive ones only with --status inaktiv|all (R12)')
    .addOption(tenantOption())
    .addOption(new Option('--status <status>', 'which estates').choices(['aktiv', 'inaktiv', 'all']).default('aktiv'))
    .option('--json', 'machine-readable output (a JSON array; with --all one estate per line)')
    .option('--limit <n>', `estates per page (default ${DEFAULT_ESTATE_PAGE})`, integerOption('--limit', 1))
    .option('--after <id>', 'the page after this estate id (the last id of the previous page)', integerOption('--after', 0))
    .option('--all', 'every estate, streamed page by page (with --json: JSON lines, one estate per line)')
    .action(async (o: { tenant?: string; status: 'aktiv' | 'inaktiv' | 'all'; json?: boolean; limit?: number; after?: number; all?: boolean }) => {
      const cfg = config();
      if (o.all && o.limit !== undefined) throw new CliError('--all lists every estate: leave out --limit');
      const filter = { tenant: o.tenant, status: o.status, after: o.after };
      await withDb(cfg, async (db) => {
        if (o.all) {
          let n = 0;
          for await (const chunk of streamEstates(db, filter)) {
            n += chunk.length;
            await write((o.json ? chunk.map((r) => JSON.stringify(r)) : formatEstates(chunk).split('\n')).join('\n') + '\n');
          }
          if (!n && !o.json) console.log(o.after !== undefined ? `no estates after id ${o.after}` : NO_ESTATES);
          return;
        }
        const page = await listEstatesPage(db, { ...filter, limit: o.limit ?? DEFAULT_ESTATE_PAGE });
        if (o.json) await write(JSON.stringify(page.rows, null, 2) + '\n');
        else console.log(!page.rows.length && o.after !== undefined ? `no estates after id ${o.after}` : formatEstates(page.rows));
        if (page.next !== null) {
          const again = ['imv-import estates', ...(o.tenant ? ['--tenant', o.tenant] : []), '--status', o.status, ...(o.json ? ['--json'] : [])].join(' ');
          console.error(`imv-import: ${page.rows.length} estates shown, more follow: next page ${again} --after ${page.next}; all at once ${again} --all`);
        }
      });
    });

  const estate = program.command('estate').description('act on one estate by its external number');
  for (const [name, description, act, done] of [
    ['activate', 'set the status to aktiv (needed before publishing)', activateEstate, 'aktiv'],
    ['publish', 'mark for portal marketing; refused for an inaktiv estate (R11)', publishEstate, 'published'],
  ] as const) {
    estate
      .command(name)
      .argument('<externalNumber>')
      .addOption(tenantOption())
      .description(description)
      .action(async (ext: string, o: { tenant?: string }) => {
        const cfg = config();
        const tenant = pickTenant(cfg, o.tenant);
        await withDb(cfg, (db) => act(db, tenant, ext));
        console.log(`${ext}: ${done}`);
      });
  }
}

/** `migrate` and `dev`. */
function addSetupCommands(program: Command): void {
  program
    .command('migrate')
    .description('create the database if needed and run the schema migrations')
    .action(async () => {
      const cfg = config();
      await withDb(cfg, async () => undefined);
      console.log('database is up to date');
    });

  program
    .command('dev')
    .description('the main job on embedded defaults: Temporal dev server + UI, database, local FTP inbox with demo transfers, worker, schedule, a first import')
    .option('--data-dir <dir>', 'where the dev stack keeps its state', path.resolve('.data/dev'))
    .option('--exit-after-import', 'stop after the first import (smoke test)')
    .action(async (o: { dataDir: string; exitAfterImport?: boolean }) => {
      exitWhenDone = true;
      const { runDevStack } = await loadDevStack();
      process.exitCode = await runDevStack({ dataDir: o.dataDir, exitAfterImport: !!o.exitAfterImport });
    });
}

/** The packages of the dev stack's embedded servers: devDependencies, absent after `npm ci --omit=dev` (the image). */
const DEV_STACK_PACKAGES = ['ftp-srv', '@electric-sql/pglite', '@electric-sql/pglite-socket'];

/**
 * The dev stack, loaded only for `dev` (never import dev/ statically here: the worker and the ops commands
 * must run where its packages are not installed, and test/cli/dev-deps.test.ts checks that they do).
 */
async function loadDevStack(): Promise<typeof import('../dev/main-job.js')> {
  try {
    return await import('../dev/main-job.js');
  } catch (e) {
    const err = e as { code?: unknown; message?: unknown };
    const missing =
      (err?.code === 'MODULE_NOT_FOUND' || err?.code === 'ERR_MODULE_NOT_FOUND') && DEV_STACK_PACKAGES.find((p) => String(err.message).includes(`'${p}'`));
    if (missing) throw new CliError(`\`dev\` needs the development packages, and ${missing} is not installed (an install with --omit=dev): run \`npm ci\``);
    throw e;
  }
}

/** `store gc`. */
function addStoreCommands(program: Command): void {
  const store = program.command('store').description('the file store of fetched transfers and attachments');
  addStoreGetCommand(store);
  store
    .command('gc')
    .description('remove transfers no import within the retention needs and content no estate has (also run by the store-gc schedule)')
    .option('--dry-run', 'count what would be removed, remove nothing')
    .option('--retention-days <days>', 'keep transfers of imports this recent (default fileStore.retentionDays, 90)', integerOption('--retention-days', 1))
    .option('--json', 'machine-readable output')
    .action(async (o: { dryRun?: boolean; retentionDays?: number; json?: boolean }) => {
      const cfg = config();
      const retentionDays = o.retentionDays ?? cfg.fileStore.retentionDays;
      const r = await withDb(cfg, (db) => collectGarbage(db, createFileStore(cfg, db), { retentionDays, dryRun: o.dryRun }));
      if (o.json) console.log(JSON.stringify({ store: cfg.fileStore.kind, retentionDays, dryRun: !!o.dryRun, ...r }));
      else
        console.log(
          `${cfg.fileStore.kind} file store: ${r.examined} stored, ${r.removed} ${o.dryRun ? 'would be removed' : 'removed'} (${formatBytes(r.removedBytes)}), ` +
            `${r.referenced} kept for imports of the last ${retentionDays} days or estates' attachments, ${r.recent} kept as recent`,
        );
    });
}

/** `store get`: content by hash, to stdout or a file (e.g. from a host that did not import it). */
function addStoreGetCommand(store: Command): void {
  store
    .command('get')
    .description('write stored content (a transfer or an attachment) by its sha256')
    .argument('<sha256>')
    .option('-o, --out <file>', 'write to this file instead of stdout')
    .action(async (sha256: string, o: { out?: string }) => {
      if (!/^[0-9a-f]{64}$/.test(sha256)) throw new CliError(`not a sha256: ${sha256}`);
      const cfg = config();
      await withDb(cfg, async (db) => {
        const stream = await createFileStore(cfg, db)
          .get(sha256)
          .catch((e: unknown) => {
            throw e instanceof NotStoredError ? new CliError(`the ${cfg.fileStore.kind} file store has no content ${sha256}`) : e;
          });
        await pipeline(stream, o.out ? fs.createWriteStream(o.out) : process.stdout);
      });
    });
}

function formatBytes(n: number): string {
  return n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} bytes`;
}

/** One schedule as `schedule describe` shows it. */
function scheduleView(tenant: string, d: Awaited<ReturnType<typeof describeSchedule>>) {
  const interval = d.spec.intervals?.[0]?.every;
  return {
    scheduleId: d.scheduleId,
    tenant,
    paused: d.state.paused,
    note: d.state.note ?? null,
    every: typeof interval === 'number' ? `${interval / 60000}m` : String(interval ?? ''),
    overlap: d.policies.overlap,
    catchupWindowMs: d.policies.catchupWindow,
    nextRuns: d.info.nextActionTimes.slice(0, 3).map((t) => t.toISOString()),
    running: d.info.runningActions.map((a) => a.workflow.workflowId),
    recent: d.info.recentActions
      .slice(-5)
      .map((a) => ({ at: a.takenAt.toISOString(), workflowId: a.action.type === 'startWorkflow' ? a.action.workflow.workflowId : null })),
  };
}

export async function main(argv = process.argv): Promise<void> {
  try {
    await buildProgram().parseAsync(argv);
  } catch (e) {
    const err = e as Error & { exitCode?: number };
    // The whole error (a database error's message starts with its SQL statement) goes to the debug
    // log only (LOG_LEVEL=debug); the terminal gets one short line.
    logger.debug({ err: { message: err?.message, stack: err?.stack, code: (err as { code?: unknown })?.code } }, 'command failed');
    // Errors that carry an exit code are the user's to fix (unknown import id, a rule): a message, no stack.
    if (
      !isDatabaseError(err) &&
      (err instanceof CliError || err instanceof EstateRuleError || err?.name === 'ConfigError' || typeof err?.exitCode === 'number')
    ) {
      console.error(`imv-import: ${err.message}`);
      process.exitCode = err.exitCode ?? 1;
    } else {
      console.error(`imv-import: ${shortErrorMessage(err)} (LOG_LEVEL=debug shows the details)`);
      process.exitCode = 1;
    }
  }
  if (exitWhenDone) process.exit();
}

if (require.main === module) {
  void main();
}
