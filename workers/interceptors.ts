/**
 * Observability of activities without touching them: an inbound interceptor times every attempt,
 * counts its outcome, writes one structured log line, and turns finishImport's result into the
 * file and object counters. It reads only known id fields of the arguments (`tenant`, `importId`):
 * arguments are never logged as such, so a future argument carrying personal data cannot leak here.
 */
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import type { Context } from '@temporalio/activity';
import type { ActivityInboundCallsInterceptor, ActivityInterceptorsFactory } from '@temporalio/worker';
import { permanentFailure } from '../common/error-types';
import type { FinishResult, ObjectCounts } from '../common/messages';
import type { Db } from '../db/db';
import { importTenantAndAge } from '../db/ledger/timing';
import type { Logger } from '../common/logger';
import { OBJECT_OUTCOMES, type AppMetrics } from './metrics';
import { databaseMessage, isDatabaseError } from '../common/error-messages';

const TENANT_ID = /^[a-z0-9][a-z0-9_-]{0,62}$/;

/** The tenant from a workflow id of ours: import-file/<t>/…, import-replay/<t>/…, import-batch/<t>[-<time>]. */
export function tenantOfWorkflowId(workflowId: string | undefined): string | undefined {
  if (!workflowId) return undefined;
  const file = /^import-(?:file|replay)\/([^/]+)\//.exec(workflowId);
  if (file) return file[1];
  const batch = /^import-batch\/(.+?)(?:-\d{4}-\d{2}-\d{2}T[^/]*)?$/.exec(workflowId);
  return batch?.[1];
}

function idFields(arg: unknown): { tenant?: string; importId?: number } {
  if (arg === null || typeof arg !== 'object') return {};
  const a = arg as Record<string, unknown>;
  return {
    tenant: typeof a.tenant === 'string' && TENANT_ID.test(a.tenant) ? a.tenant : undefined,
    importId: typeof a.importId === 'number' && Number.isSafeInteger(a.importId) ? a.importId : undefined,
  };
}

function errorTypeOf(e: unknown): string {
  if (e instanceof ApplicationFailure) return e.type ?? 'ApplicationFailure';
  if (e instanceof Error) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(code)) return code;
    return e.name || 'Error';
  }
  return 'unknown';
}

/**
 * PostgreSQL's "data exception" (SQLSTATE class 22: a value it refuses, an out-of-range number) is
 * deterministic: the same statement is refused on every retry. It becomes a non-retryable
 * `DataError` with a short message; knex's message would carry the whole SQL statement.
 */
export function asPermanentDataError(e: unknown): ApplicationFailure | null {
  if (!isDatabaseError(e) || !e.code.startsWith('22')) return null;
  return permanentFailure(`PostgreSQL refused a value (SQLSTATE ${e.code}): ${databaseMessage(e).slice(0, 300)}`, 'DataError');
}

function isCancellation(e: unknown): boolean {
  return e instanceof CancelledFailure || (e instanceof Error && e.name === 'AbortError');
}

export interface ActivityObservabilityOptions {
  metrics: AppMetrics;
  log: Logger;
  /** The ledger, to find a finished import's tenant and start time (one primary-key read). */
  db?: Db;
}

async function ledgerFacts(db: Db | undefined, importId: number | undefined): Promise<{ tenant?: string; seconds?: number }> {
  if (!db || importId === undefined) return {};
  try {
    return (await importTenantAndAge(db, importId)) ?? {};
  } catch {
    return {};
  }
}

class ObservingInbound implements ActivityInboundCallsInterceptor {
  constructor(
    private readonly ctx: Context,
    private readonly o: ActivityObservabilityOptions,
  ) {}

  async execute(
    input: Parameters<NonNullable<ActivityInboundCallsInterceptor['execute']>>[0],
    next: Parameters<NonNullable<ActivityInboundCallsInterceptor['execute']>>[1],
  ): Promise<unknown> {
    const info = this.ctx.info;
    const activityType = info.activityType;
    const workflowId = info.workflowExecution?.workflowId;
    const ids = idFields(input.args[0]);
    const fields: Record<string, unknown> = {
      activityType,
      activityId: info.activityId,
      attempt: info.attempt,
      workflowId,
      workflowType: info.workflowType,
      runId: info.workflowExecution?.runId,
      tenant: ids.tenant ?? tenantOfWorkflowId(workflowId),
      importId: ids.importId,
    };
    if (info.attempt > 1) this.o.metrics.activityRetries.inc({ activity_type: activityType });
    const started = process.hrtime.bigint();
    const elapsed = () => Number(process.hrtime.bigint() - started) / 1e9;
    try {
      const result = await next(input);
      const seconds = elapsed();
      this.o.metrics.activityDuration.observe({ activity_type: activityType, outcome: 'completed' }, seconds);
      if (activityType === 'beginImport') fields.importId ??= idFields(result).importId;
      if (activityType === 'finishImport') await this.recordFile(fields, result as FinishResult);
      else if (activityType === 'markImportError') await this.recordFile(fields, { outcome: 'error', counts: null });
      this.o.log.info({ ...fields, durationMs: Math.round(seconds * 1000), outcome: 'completed' }, `activity ${activityType} completed`);
      return result;
    } catch (caught) {
      const e = asPermanentDataError(caught) ?? caught;
      const seconds = elapsed();
      const cancelled = isCancellation(e);
      const outcome = cancelled ? 'cancelled' : 'failed';
      const errorType = errorTypeOf(e);
      this.o.metrics.activityDuration.observe({ activity_type: activityType, outcome }, seconds);
      if (!cancelled) this.o.metrics.activityFailures.inc({ activity_type: activityType, error_type: errorType });
      const message = e instanceof Error ? e.message.slice(0, 500) : undefined;
      this.o.log.warn(
        {
          ...fields,
          durationMs: Math.round(seconds * 1000),
          outcome,
          errorType,
          error: message,
          nonRetryable: e instanceof ApplicationFailure ? e.nonRetryable : undefined,
        },
        `activity ${activityType} ${outcome}`,
      );
      throw e;
    }
  }

  private async recordFile(fields: Record<string, unknown>, r: { outcome: string; counts: ObjectCounts | null }): Promise<void> {
    const facts = await ledgerFacts(this.o.db, fields.importId as number | undefined);
    const tenant = facts.tenant ?? (fields.tenant as string | undefined) ?? 'unknown';
    fields.tenant = tenant;
    fields.fileOutcome = r.outcome;
    const m = this.o.metrics;
    m.files.inc({ tenant, outcome: r.outcome });
    if (facts.seconds !== undefined && Number.isFinite(facts.seconds)) m.fileDuration.observe({ tenant, outcome: r.outcome }, facts.seconds);
    if (r.counts) {
      for (const k of OBJECT_OUTCOMES) {
        const n = r.counts[k];
        // inc(0) still creates the series, so every outcome of an active tenant is visible.
        if (typeof n === 'number' && n >= 0) m.objects.inc({ tenant, outcome: k }, n);
      }
      fields.objects = r.counts.total;
    }
  }
}

/** Register in `interceptors: { activity: [activityObservability(…)] }`. */
export function activityObservability(o: ActivityObservabilityOptions): ActivityInterceptorsFactory {
  return (ctx) => ({ inbound: new ObservingInbound(ctx, o) });
}
