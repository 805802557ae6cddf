/**
 * `imv-import status`: one screen per tenant that says whether imports are healthy and what to do
 * if not. It gathers, each part on its own (a part that cannot be read says why; the others still show):
 * - the schedule (paused or not, next run) and the last batch with its outcome (Temporal);
 * - the finished uploads waiting in the inbox now (one FTP listing, the same code the batches use)
 *   and when a batch last listed it (the ledger database);
 * - failed, partial and error imports of the last 24 hours not yet replayed, with their replay commands;
 * - the estates imported today (created, updated, archived: distinct IMV ids, from the ledger's objects);
 * - the workers polling the task queue (Temporal's description of the task queue, once for all tenants).
 * It prints ids, file names, counts and the ledger's messages: what `imv-import imports` shows, nothing more.
 * Temporal and the database are sources of their own: when one cannot be reached, the parts read
 * from it say so and the parts read from the other still show.
 */
import { ScheduleNotFoundError, type Client } from '@temporalio/client';
import type { AppConfig, TenantConfig } from '../config/config';
import { ftpAccessOf } from '../config/config';
import type { Db } from '../db/db';
import type { BatchSummary, ObjectCounts } from '../common/messages';
import { fileWorkflowId } from '../common/file-ids';
import { printableName } from '../common/remote-names';
import { finishedWorkflowIds } from '../db/ledger/list';
import { inboxStates } from '../db/inbox';
import { estateOutcomesSince, unreplayedProblemImports } from '../db/ops-status';
import { listFinishedUploads, withFtp } from '../ftp/ftp';
import { describeSchedule, scheduleIdOf } from './schedule';
import { shortErrorMessage } from '../common/error-messages';
import { formatAge } from './stuck';
import { formatVersionsForStatus, taskQueueVersions, type TaskQueueVersions } from './deployment';

/** temporal.api.enums.v1.TaskQueueType: WORKFLOW = 1, ACTIVITY = 2; TaskQueueKind NORMAL = 1. */
const TASK_QUEUE_TYPE = { workflow: 1, activity: 2 } as const;
const TASK_QUEUE_KIND_NORMAL = 1;

type Part<T> = T | { error: string };

export interface Poller {
  identity: string;
  lastAccessTime: string | null;
  ratePerSecond: number;
}

export interface ScheduleState {
  scheduleId: string;
  paused: boolean;
  note: string | null;
  every: string;
  nextRun: string | null;
}

export interface LastBatch {
  workflowId: string;
  status: string;
  startedAt: string | null;
  closedAt: string | null;
  /** Counts of a completed batch (no per-file list). */
  summary: { files: number; imported: number; partial: number; failed: number; duplicate: number; skipped: number; objects: ObjectCounts } | null;
}

export interface InboxNow {
  /** Finished uploads not imported yet, oldest first. */
  waiting: { name: string; size: number; mtime: string; waitingSeconds: number }[];
  /** Transfers younger than the tenant's minimum file age (possibly still uploading). */
  uploading: number;
  /** Files whose import finished but which the server would not let us move out (never imported again). */
  leftAfterImport: number;
}

export interface ProblemImport {
  id: number;
  file: string;
  status: string;
  startedAt: string;
  error: { type: string; message: string } | null;
  /** Objects of the file that were rejected (a partial file's reason; `imports --objects` says why). */
  rejectedObjects: number;
  replay: string;
}

export interface Problems {
  since: string;
  imports: ProblemImport[];
  replayAll: string | null;
}

export interface EstatesToday {
  since: string;
  created: number;
  updated: number;
  archived: number;
}

export interface TenantStatus {
  tenant: string;
  schedule: Part<ScheduleState>;
  lastBatch: Part<LastBatch | null>;
  inbox: Part<InboxNow>;
  /** When a batch last listed the inbox (null: never). */
  lastListedAt: Part<string | null>;
  problems: Part<Problems>;
  estatesToday: Part<EstatesToday>;
}

export interface StatusReport {
  generatedAt: string;
  namespace: string;
  taskQueue: string;
  workers: Part<{ workflowPollers: Poller[]; activityPollers: Poller[] }>;
  /** Worker Versioning: the versions polling, current, draining or drained (ops/deployment.ts). */
  versions?: Part<TaskQueueVersions>;
  tenants: TenantStatus[];
}

async function part<T>(fn: () => Promise<T>): Promise<Part<T>> {
  try {
    return await fn();
  } catch (e) {
    return { error: shortErrorMessage(e) };
  }
}

export const isError = <T>(p: Part<T>): p is { error: string } => typeof p === 'object' && p !== null && 'error' in p;

/**
 * Where status reads from, each either connected or why not (`{ error }`). The database handle
 * (knex's instance) is a function, so it is never taken for an error.
 */
export interface StatusSources {
  temporal: Part<Client>;
  db: Db | { error: string };
}

/** Each Temporal part's reads end within this (a server that accepts but does not answer). */
const TEMPORAL_DEADLINE_MS = 20_000;

/** `fn` with Temporal's client, or the reason Temporal cannot be read, as the part's error. */
function fromTemporal<T>(temporal: Part<Client>, fn: (c: Client) => Promise<T>): Promise<Part<T>> {
  if (isError(temporal)) return Promise.resolve(temporal);
  return part(() => temporal.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, () => fn(temporal)));
}

/** `fn` with the database, or the reason it cannot be read, as the part's error. */
function fromDb<T>(db: StatusSources['db'], fn: (db: Db) => Promise<T>): Promise<Part<T>> {
  if (isError(db)) return Promise.resolve(db);
  return part(() => fn(db));
}

const iso = (t: Date | null | undefined) => (t ? t.toISOString() : null);

/** The pollers Temporal has seen on the task queue recently (workflow and activity tasks). */
export async function taskQueuePollers(
  client: Client,
  namespace: string,
  taskQueue: string,
): Promise<{ workflowPollers: Poller[]; activityPollers: Poller[] }> {
  const of = async (taskQueueType: number): Promise<Poller[]> => {
    const r = await client.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue, kind: TASK_QUEUE_KIND_NORMAL }, taskQueueType });
    return (r.pollers ?? [])
      .map((p) => ({
        identity: p.identity ?? '',
        lastAccessTime: p.lastAccessTime?.seconds != null ? new Date(Number(p.lastAccessTime.seconds) * 1000).toISOString() : null,
        ratePerSecond: p.ratePerSecond ?? 0,
      }))
      .sort((a, b) => a.identity.localeCompare(b.identity));
  };
  return { workflowPollers: await of(TASK_QUEUE_TYPE.workflow), activityPollers: await of(TASK_QUEUE_TYPE.activity) };
}

async function scheduleState(temporal: Part<Client>, tenant: string): Promise<{ schedule: Part<ScheduleState>; lastBatch: Part<LastBatch | null> }> {
  if (isError(temporal)) return { schedule: temporal, lastBatch: temporal };
  const client = temporal;
  let d;
  try {
    d = await client.withDeadline(Date.now() + TEMPORAL_DEADLINE_MS, () => describeSchedule(client, tenant));
  } catch (e) {
    const error = e instanceof ScheduleNotFoundError ? `no schedule ${scheduleIdOf(tenant)}: run imv-import schedule ensure` : shortErrorMessage(e);
    return { schedule: { error }, lastBatch: { error } };
  }
  const interval = d.spec.intervals?.[0]?.every;
  const schedule: ScheduleState = {
    scheduleId: d.scheduleId,
    paused: d.state.paused,
    note: d.state.note ?? null,
    every: typeof interval === 'number' ? `${interval / 60000}m` : String(interval ?? ''),
    nextRun: d.state.paused ? null : iso(d.info.nextActionTimes[0]),
  };
  const recent = d.info.recentActions.filter((a) => a.action.type === 'startWorkflow').map((a) => a.action.workflow.workflowId);
  const workflowId = d.info.runningActions[0]?.workflow.workflowId ?? recent[recent.length - 1];
  return { schedule, lastBatch: workflowId ? await fromTemporal(client, (c) => lastBatch(c, workflowId)) : null };
}

async function lastBatch(client: Client, workflowId: string): Promise<LastBatch> {
  // Without a run id: the latest run of the batch (it may have continued as new).
  const handle = client.workflow.getHandle(workflowId);
  const desc = await handle.describe();
  const status = desc.status.name;
  let summary: LastBatch['summary'] = null;
  if (status === 'COMPLETED') {
    const s = (await handle.result()) as BatchSummary;
    summary = { files: s.files, imported: s.imported, partial: s.partial, failed: s.failed, duplicate: s.duplicate, skipped: s.skipped, objects: s.objects };
  }
  return { workflowId, status, startedAt: iso(desc.startTime), closedAt: iso(desc.closeTime), summary };
}

/** The inbox now: one listing (no second look: the minimum age decides what counts as finished). */
async function inboxNow(db: StatusSources['db'], t: TenantConfig, now: number): Promise<InboxNow> {
  // The ledger says which listed files were imported already: without it the listing means nothing.
  if (isError(db)) throw new Error(db.error);
  const access = ftpAccessOf(t);
  const all = await withFtp(access, (c) => listFinishedUploads(c, access.baseDir, { minAgeMs: 0, stableCheckMs: 0 }), { timeoutMs: 15_000 });
  const finished = await finishedWorkflowIds(
    db,
    all.map((f) => fileWorkflowId(t.id, f)),
  );
  const notImported = all.filter((f) => !finished.has(fileWorkflowId(t.id, f)));
  const minAgeMs = t.options.minFileAgeSeconds * 1000;
  const waiting = notImported.filter((f) => Date.parse(f.mtime) <= now - minAgeMs);
  return {
    waiting: waiting.map((f) => ({
      name: printableName(f.name),
      size: f.size,
      mtime: f.mtime,
      waitingSeconds: Math.max(0, Math.floor((now - Date.parse(f.mtime)) / 1000)),
    })),
    uploading: notImported.length - waiting.length,
    leftAfterImport: all.length - notImported.length,
  };
}

/** Failed, partial and error imports since `since` that no later replay imported. */
async function problemImports(db: Db, tenant: string, since: Date): Promise<ProblemImport[]> {
  const rows = await unreplayedProblemImports(db, tenant, since);
  return rows.map((r) => ({
    id: r.id,
    file: r.file_name,
    status: r.status,
    startedAt: new Date(r.started_at).toISOString(),
    error: r.error_type ? { type: r.error_type, message: String(r.error_message ?? '').slice(0, 300) } : null,
    rejectedObjects: Number(r.rejected ?? 0),
    replay: `imv-import replay ${r.id}`,
  }));
}

/** Local midnight of `now` (the operator's day). */
export function startOfDay(now: Date): Date {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate());
}

export async function collectStatus(cfg: AppConfig, sources: StatusSources, o: { tenants: string[]; now?: Date }): Promise<StatusReport> {
  const { temporal, db } = sources;
  const now = o.now ?? new Date();
  const since24h = new Date(now.getTime() - 24 * 3600_000);
  const today = startOfDay(now);
  const listed = await fromDb(db, async (d) => new Map((await inboxStates(d, o.tenants)).map((s) => [s.tenant, s.listedAt])));
  const tenants: TenantStatus[] = [];
  for (const id of o.tenants) {
    const t = cfg.tenants.find((x) => x.id === id)!;
    const { schedule, lastBatch } = await scheduleState(temporal, id);
    tenants.push({
      tenant: id,
      schedule,
      lastBatch,
      inbox: await part(() => inboxNow(db, t, now.getTime())),
      lastListedAt: isError(listed) ? listed : (listed.get(id) ?? null),
      problems: await fromDb(db, async (d) => {
        const imports = await problemImports(d, id, since24h);
        const replayAll = imports.some((p) => p.status === 'failed') ? `imv-import replay --failed --tenant ${id} --since ${since24h.toISOString()}` : null;
        return { since: since24h.toISOString(), imports, replayAll };
      }),
      estatesToday: await fromDb(db, async (d) => ({ since: today.toISOString(), ...(await estateOutcomesSince(d, id, today)) })),
    });
  }
  return {
    generatedAt: now.toISOString(),
    namespace: cfg.temporal.namespace,
    taskQueue: cfg.temporal.taskQueue,
    workers: await fromTemporal(temporal, (c) => taskQueuePollers(c, cfg.temporal.namespace, cfg.temporal.taskQueue)),
    versions: await fromTemporal(temporal, (c) => taskQueueVersions(c, cfg.temporal.namespace, cfg.temporal.taskQueue, cfg.worker.deployment.name ?? null)),
    tenants,
  };
}

const when = (isoTime: string | null, now: number) =>
  isoTime
    ? `${isoTime.replace('T', ' ').slice(0, 19)}Z (${Date.parse(isoTime) > now ? 'in ' : ''}${formatAge(Math.abs(now - Date.parse(isoTime)) / 1000)}${Date.parse(isoTime) > now ? '' : ' ago'})`
    : '-';

function formatWorkers(r: StatusReport, now: number): string[] {
  if (isError(r.workers)) return [`workers     cannot describe task queue ${r.taskQueue}: ${r.workers.error}`];
  const w = r.workers;
  const out = [
    `workers     ${w.activityPollers.length} polling activity tasks, ${w.workflowPollers.length} polling workflow tasks on task queue ${r.taskQueue}` +
      (w.activityPollers.length ? '' : '  — NO WORKER: start `imv-import worker`'),
  ];
  const ids = [...new Set([...w.workflowPollers, ...w.activityPollers].map((p) => p.identity))];
  for (const id of ids) {
    const last = [...w.workflowPollers, ...w.activityPollers].filter((p) => p.identity === id).map((p) => p.lastAccessTime ?? '');
    out.push(`              ${id}  last poll ${when(last.sort().at(-1) || null, now)}`);
  }
  return out;
}

function formatBatch(b: TenantStatus['lastBatch'], now: number): string {
  if (isError(b)) return `last batch  ${b.error}`;
  if (!b) return 'last batch  none yet';
  const s = b.summary;
  const counts = s
    ? `: ${s.files} files — imported ${s.imported}, partial ${s.partial}, failed ${s.failed}, duplicate ${s.duplicate}; objects created ${s.objects.created}, updated ${s.objects.updated}, rejected ${s.objects.rejected}`
    : '';
  return `last batch  ${b.status}${b.status === 'RUNNING' ? ` since ${when(b.startedAt, now)}` : ` ${when(b.closedAt ?? b.startedAt, now)}`}${counts}  ${b.workflowId}`;
}

function formatInbox(t: TenantStatus, now: number): string[] {
  const listed = isError(t.lastListedAt) ? 'last listed by a batch: unknown' : `last listed by a batch ${when(t.lastListedAt, now)}`;
  if (isError(t.inbox)) return [`inbox       cannot list: ${t.inbox.error}; ${listed}`];
  const i = t.inbox;
  const oldest = i.waiting[0];
  const out = [
    `inbox       ${i.waiting.length} file${i.waiting.length === 1 ? '' : 's'} waiting${oldest ? ` (oldest ${formatAge(oldest.waitingSeconds)})` : ''}` +
      `${i.uploading ? `, ${i.uploading} younger than the minimum age` : ''}${i.leftAfterImport ? `, ${i.leftAfterImport} imported but not movable` : ''}; ${listed}`,
  ];
  for (const f of i.waiting.slice(0, 20)) out.push(`              ${f.name}  ${f.size} bytes  waiting ${formatAge(f.waitingSeconds)}`);
  if (i.waiting.length > 20) out.push(`              … and ${i.waiting.length - 20} more`);
  return out;
}

function formatProblems(t: TenantStatus): string[] {
  const p = t.problems;
  if (isError(p)) return [`problems    cannot read the ledger: ${p.error}`];
  if (!p.imports.length) return ['problems    no failed or partial imports in the last 24 h'];
  const out = [`problems    ${p.imports.length} failed or partial import${p.imports.length === 1 ? '' : 's'} in the last 24 h (not replayed since):`];
  for (const x of p.imports)
    out.push(
      `              #${x.id}  ${x.status}  ${x.file}` +
        (x.error ? `  ${x.error.type}: ${x.error.message.slice(0, 120)}` : '') +
        (x.rejectedObjects ? `  ${x.rejectedObjects} object${x.rejectedObjects === 1 ? '' : 's'} rejected (imv-import imports --objects)` : '') +
        `  →  ${x.replay}`,
    );
  if (p.replayAll) out.push(`              all failed ones at once: ${p.replayAll}`);
  return out;
}

/** The screen: the workers once, then one block per tenant. */
export function formatStatus(r: StatusReport): string {
  const now = Date.parse(r.generatedAt);
  const out = [
    `imv-import status  ${r.generatedAt.replace('T', ' ').slice(0, 19)}Z  namespace ${r.namespace}`,
    ...formatWorkers(r, now),
    ...(r.versions ? formatVersionsForStatus(r.versions) : []),
  ];
  for (const t of r.tenants) {
    out.push('', `── tenant ${t.tenant} ──`);
    const s = t.schedule;
    out.push(
      isError(s)
        ? `schedule    ${s.error}`
        : `schedule    ${s.scheduleId}  ${s.paused ? `PAUSED${s.note ? ` (${s.note})` : ''}` : 'active'}  every ${s.every}  next run ${s.paused ? '- (paused)' : when(s.nextRun, now)}`,
    );
    out.push(formatBatch(t.lastBatch, now), ...formatInbox(t, now), ...formatProblems(t));
    const e = t.estatesToday;
    out.push(
      isError(e)
        ? `today       cannot read the ledger: ${e.error}`
        : `today       estates created ${e.created}, updated ${e.updated}, archived ${e.archived} (since ${when(e.since, now)})`,
    );
  }
  return out.join('\n');
}
