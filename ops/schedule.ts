/**
 * One Temporal Schedule per tenant (R1): every 30 minutes, overlap SKIP, an explicit catch-up
 * window. "Run now" goes through the schedule with SKIP, never around it.
 */
import { Client, ScheduleNotFoundError, ScheduleOverlapPolicy, type ScheduleOptions, type ScheduleDescription } from '@temporalio/client';
import type { AppConfig, TenantConfig } from '../config/config';
import { ImportTenant } from '../common/search-attributes';

export const scheduleIdOf = (tenant: string) => `imv-import:${tenant}`;
export const batchWorkflowIdOf = (tenant: string) => `import-batch/${tenant}`;

function scheduleOptions(cfg: AppConfig, t: TenantConfig): ScheduleOptions {
  const s = t.options.schedule;
  return {
    scheduleId: scheduleIdOf(t.id),
    spec: { intervals: [{ every: `${s.intervalMinutes}m` }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'importBatch',
      workflowId: batchWorkflowIdOf(t.id),
      taskQueue: cfg.temporal.taskQueue,
      args: [{ tenant: t.id }],
      typedSearchAttributes: [{ key: ImportTenant, value: t.id }],
      staticSummary: `Import batch for tenant ${t.id}: everything waiting in its IMV inbox`,
      workflowExecutionTimeout: '6h',
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: `${s.catchupWindowMinutes}m`, pauseOnFailure: false },
    state: { paused: s.paused, note: s.paused ? 'paused by configuration' : undefined },
    memo: { tenant: t.id },
  };
}

/** Creates the tenant's schedule, or brings an existing one in line with the configuration. */
export async function ensureSchedule(client: Client, cfg: AppConfig, t: TenantConfig): Promise<'created' | 'updated'> {
  return createOrUpdate(client, scheduleOptions(cfg, t));
}

/** Creates the schedule, or brings an existing one's spec, action and policies in line (a concurrent create counts as existing). */
async function createOrUpdate(client: Client, opts: ScheduleOptions): Promise<'created' | 'updated'> {
  const handle = client.schedule.getHandle(opts.scheduleId);
  try {
    await handle.describe();
  } catch (e) {
    if (!(e instanceof ScheduleNotFoundError)) throw e;
    try {
      await client.schedule.create(opts);
      return 'created';
    } catch (err) {
      if ((err as Error).name !== 'ScheduleAlreadyRunning') throw err;
    }
  }
  await handle.update((prev) => ({ ...prev, spec: opts.spec, action: opts.action, policies: { ...prev.policies, ...opts.policies } }) as never);
  return 'updated';
}

export async function triggerNow(client: Client, tenant: string): Promise<void> {
  await client.schedule.getHandle(scheduleIdOf(tenant)).trigger(ScheduleOverlapPolicy.SKIP);
}

export async function describeSchedule(client: Client, tenant: string): Promise<ScheduleDescription> {
  return client.schedule.getHandle(scheduleIdOf(tenant)).describe();
}

export const GC_SCHEDULE_ID = 'imv-import:store-gc';

/**
 * The file store's garbage collection every `fileStore.gcIntervalHours` (default daily), overlap SKIP;
 * with 0 hours there is none (an existing one is deleted). Returns what happened.
 */
export async function ensureGcSchedule(client: Client, cfg: AppConfig): Promise<'created' | 'updated' | 'deleted' | 'none'> {
  const hours = cfg.fileStore.gcIntervalHours;
  const handle = client.schedule.getHandle(GC_SCHEDULE_ID);
  if (!hours) {
    try {
      await handle.delete();
      return 'deleted';
    } catch (e) {
      if (e instanceof ScheduleNotFoundError) return 'none';
      throw e;
    }
  }
  const opts: ScheduleOptions = {
    scheduleId: GC_SCHEDULE_ID,
    spec: { intervals: [{ every: `${hours}h` }] },
    action: {
      type: 'startWorkflow',
      workflowType: 'storeGc',
      workflowId: 'store-gc',
      taskQueue: cfg.temporal.taskQueue,
      args: [{}],
      staticSummary: `File store garbage collection: transfers older than ${cfg.fileStore.retentionDays} days no import needs, content no estate has`,
      workflowExecutionTimeout: '12h',
    },
    policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1h', pauseOnFailure: false },
  };
  return createOrUpdate(client, opts);
}
