/** Batches and workflows as the tests drive and inspect them: start, await, find the file's workflow, its activities. */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { AppConfig } from '../../config/config';
import type { BatchSummary } from '../../common/messages';
import type { Db } from '../../db/db';
import { uniqueId } from './harness';
import { waitFor } from './wait';

/** Starts an import batch for `tenant` directly (not through a schedule), with its own id. */
export async function startBatch(client: Client, cfg: AppConfig, tenant: string, id = uniqueId(`import-batch/${tenant}`)): Promise<WorkflowHandle> {
  return client.workflow.start('importBatch', { taskQueue: cfg.temporal.taskQueue, workflowId: id, args: [{ tenant }] });
}

export async function batchResult(h: WorkflowHandle): Promise<BatchSummary> {
  return (await h.result()) as BatchSummary;
}

/** The file workflow that imports `name` (the batch's child), once it has started. */
export async function fileWorkflow(
  client: Client,
  db: Db,
  tenant: string,
  name: string,
  timeoutMs = 60_000,
): Promise<{ handle: WorkflowHandle; importId: number }> {
  const row = await waitFor(
    `ledger row of ${name}`,
    () => db('import_files').where({ tenant_id: tenant, file_name: name }).first('id', 'workflow_id'),
    timeoutMs,
  );
  return { handle: client.workflow.getHandle(row.workflow_id), importId: row.id };
}

/** The activity a worker is running for the workflow now (a started pending activity), or null. */
export interface RunningActivity {
  type: string;
  id: string;
  attempt: number;
  /** Its first argument, from the history (e.g. a chunk's { importId, from, to }). */
  input: Record<string, unknown> | null;
}

export async function runningActivity(h: WorkflowHandle, withInput = false): Promise<RunningActivity | null> {
  const d = await h.describe();
  // PENDING_ACTIVITY_STATE_STARTED = 2: a worker has it (scheduled ones wait for a poller or a retry).
  const p = d.raw.pendingActivities?.find((a) => Number(a.state) === 2);
  if (!p) return null;
  const id = p.activityId ?? '?';
  let input: Record<string, unknown> | null = null;
  if (withInput) {
    const history = await h.fetchHistory();
    const scheduled = history.events?.find((e) => e.activityTaskScheduledEventAttributes?.activityId === id)?.activityTaskScheduledEventAttributes;
    const data = scheduled?.input?.payloads?.[0]?.data;
    if (data) input = JSON.parse(Buffer.from(data).toString('utf8'));
  }
  return { type: p.activityType?.name ?? '?', id, attempt: p.attempt ?? 1, input };
}

/** Attempts of every activity that completed in a workflow's history, by type: [attempt, last failure]. */
export async function activityAttempts(h: WorkflowHandle): Promise<{ type: string; attempt: number; lastFailure: string | null }[]> {
  const history = await h.fetchHistory();
  const scheduled = new Map<string, string>();
  const out: { type: string; attempt: number; lastFailure: string | null }[] = [];
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) scheduled.set(String(e.eventId), s.activityType?.name ?? '?');
    const st = e.activityTaskStartedEventAttributes;
    if (st) out.push({ type: scheduled.get(String(st.scheduledEventId)) ?? '?', attempt: st.attempt ?? 1, lastFailure: st.lastFailure?.message ?? null });
  }
  return out;
}
