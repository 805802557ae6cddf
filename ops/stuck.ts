/**
 * Stuck imports as ops see them: the limit (flag, else IMV_STUCK_AFTER, else the config file's
 * worker.stuckAfter, else 2 hours), the warning
 * block `imv-import imports` prints, and the worker's periodic check (a log line and the
 * `imv_import_stuck_imports{tenant}` gauge). The query itself is in db/stuck.ts.
 */
import type { Db } from '../db/db';
import type { Logger } from '../common/logger';
import { shortErrorMessage } from '../common/error-messages';
import { durationSeconds } from '../common/duration';
import { DEFAULT_STUCK_AFTER_SECONDS, countStuckImports, findStuckImports, type StuckImport } from '../db/stuck';

export { DEFAULT_STUCK_AFTER_SECONDS };

/** How often a worker checks, unless IMV_STUCK_CHECK_INTERVAL says otherwise. */
export const DEFAULT_STUCK_CHECK_INTERVAL_SECONDS = 5 * 60;

/** `90s`, `45m`, `2h`, `1d`; a bare number is minutes. Returns seconds. */
export function parseDuration(text: string): number {
  const seconds = durationSeconds(text);
  if (seconds === null) throw Object.assign(new Error(`not a duration: ${JSON.stringify(text)} (e.g. 90m, 2h, 1d)`), { exitCode: 1 });
  if (!(seconds > 0)) throw Object.assign(new Error(`a duration must be positive: ${JSON.stringify(text)}`), { exitCode: 1 });
  return seconds;
}

/**
 * The stuck limit in seconds: the flag, else IMV_STUCK_AFTER, else the config file's `worker.stuckAfter`
 * (checked when the config is read), else two hours.
 */
export function stuckAfterSeconds(flag?: string, env: NodeJS.ProcessEnv = process.env, configured?: string): number {
  if (flag !== undefined) return parseDuration(flag);
  if (env.IMV_STUCK_AFTER) return parseDuration(env.IMV_STUCK_AFTER);
  if (configured !== undefined) return parseDuration(configured);
  return DEFAULT_STUCK_AFTER_SECONDS;
}

export function stuckCheckIntervalSeconds(env: NodeJS.ProcessEnv = process.env): number {
  return env.IMV_STUCK_CHECK_INTERVAL ? parseDuration(env.IMV_STUCK_CHECK_INTERVAL) : DEFAULT_STUCK_CHECK_INTERVAL_SECONDS;
}

/** `3d 4h`, `2h 5m`, `12m`, `40s`. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) return h ? `${d}d ${h}h` : `${d}d`;
  if (h) return m ? `${h}h ${m}m` : `${h}h`;
  if (m) return `${m}m`;
  return `${s}s`;
}

/** The warning block of `imv-import imports`: ids, files, how long, and what to do. Empty when nothing is stuck. */
export function formatStuckWarning(rows: StuckImport[], limitSeconds: number): string {
  if (!rows.length) return '';
  const out = [
    `WARNING: ${rows.length} import${rows.length === 1 ? ' is' : 's are'} stuck in status "importing" for more than ${formatAge(limitSeconds)}:`,
    ...rows.map(
      (r) =>
        `  #${r.id}  ${r.tenant}  ${r.file}  importing for ${formatAge(r.ageSeconds)} (since ${r.startedAt.replace('T', ' ').slice(0, 19)}Z)  ${r.workflowId}`,
    ),
    '  Look at their workflows in the Temporal UI. Once a workflow is no longer running, run the file again:',
    `    imv-import replay ${rows.map((r) => r.id).join(' ')}`,
  ];
  return out.join('\n');
}

export interface StuckGauge {
  set(labels: { tenant: string }, value: number): void;
}

export interface StuckImportsWatch {
  /** Settles when the first check (started at once) is done, whatever its outcome. */
  ready: Promise<void>;
  /** One check now: the gauge per tenant, and a warning when any import is stuck. */
  check(): Promise<StuckImport[]>;
  stop(): void;
}

/**
 * The worker's watch: checks at once and then every `intervalSeconds`; sets the gauge for every
 * configured tenant (0 when nothing is stuck) and logs a warning naming the stuck import ids. A failed
 * check (database down) is logged and retried at the next tick; it never stops the worker.
 */
export function watchStuckImports(o: {
  db: Db;
  tenants: string[];
  stuckAfterSeconds: number;
  intervalSeconds: number;
  gauge: StuckGauge;
  log: Logger;
  /** More gauges from the database, set at the same times (the inbox gauges: workers/main.ts). */
  alsoCheck?: () => Promise<void>;
}): StuckImportsWatch {
  let stopped = false;
  const check = async (): Promise<StuckImport[]> => {
    await o.alsoCheck?.();
    const counts = await countStuckImports(o.db, { stuckAfterSeconds: o.stuckAfterSeconds, tenants: o.tenants });
    for (const [tenant, n] of counts) o.gauge.set({ tenant }, n);
    const total = [...counts.values()].reduce((a, b) => a + b, 0);
    if (!total) return [];
    // Ids, tenants, file names and ages only: a ledger row carries nothing personal.
    const rows = await findStuckImports(o.db, { stuckAfterSeconds: o.stuckAfterSeconds, tenants: o.tenants, limit: 50 });
    o.log.warn(
      {
        stuckImports: total,
        stuckAfterSeconds: o.stuckAfterSeconds,
        importIds: rows.map((r) => r.id),
        imports: rows.map((r) => ({ id: r.id, tenant: r.tenant, file: r.file, ageSeconds: r.ageSeconds, workflowId: r.workflowId })),
      },
      `${total} import(s) stuck in status importing for more than ${formatAge(o.stuckAfterSeconds)}: see imv-import imports --status stuck, then imv-import replay <id>`,
    );
    return rows;
  };
  const tick = () =>
    check().catch((e) => {
      if (!stopped) o.log.warn({ err: shortErrorMessage(e) }, 'stuck-imports check failed; trying again at the next interval');
      return [];
    });
  const ready = tick().then(() => undefined);
  const timer = setInterval(() => void tick(), o.intervalSeconds * 1000);
  timer.unref();
  return {
    ready,
    check,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
