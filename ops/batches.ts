/**
 * Running a batch now, through the schedule (overlap SKIP), and finding the run it started.
 */
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { BatchSummary } from '../common/messages';
import { describeSchedule, triggerNow } from './schedule';

export interface BatchRun {
  workflowId: string;
  runId: string;
  handle: WorkflowHandle;
  result(): Promise<BatchSummary>;
}

function actionsOf(d: Awaited<ReturnType<typeof describeSchedule>>) {
  const running = d.info.runningActions.map((a) => ({ workflowId: a.workflow.workflowId, runId: a.workflow.firstExecutionRunId, at: null as Date | null }));
  const recent = d.info.recentActions
    .filter((a) => a.action.type === 'startWorkflow')
    .map((a) => ({ workflowId: a.action.workflow.workflowId, runId: a.action.workflow.firstExecutionRunId, at: a.takenAt }));
  return { running, recent };
}

/**
 * Triggers the tenant's schedule and returns the batch that will pick up what is in the inbox
 * now: the one the trigger started, or (SKIP) the one already running.
 */
export async function triggerBatch(client: Client, tenant: string, timeoutMs = 30_000): Promise<BatchRun & { alreadyRunning: boolean }> {
  const before = await describeSchedule(client, tenant);
  const known = new Set(actionsOf(before).recent.map((a) => a.runId));
  const wasRunning = actionsOf(before).running;
  await triggerNow(client, tenant);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const d = await describeSchedule(client, tenant);
    const { running, recent } = actionsOf(d);
    const fresh = recent.find((a) => !known.has(a.runId));
    if (fresh) return { ...runOf(client, fresh.workflowId, fresh.runId), alreadyRunning: false };
    if (wasRunning.length && Date.now() > deadline - timeoutMs + 3000) {
      // The trigger was skipped (overlap SKIP): the running batch is the one to watch.
      const r = running[0] ?? wasRunning[0];
      return { ...runOf(client, r.workflowId, r.runId), alreadyRunning: true };
    }
    if (Date.now() > deadline) throw new Error(`schedule for ${tenant} did not start a batch within ${timeoutMs} ms (paused?)`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export function runOf(client: Client, workflowId: string, runId: string): BatchRun {
  // Without a run id the handle follows the continue-as-new chain to the final result.
  const handle = client.workflow.getHandle(workflowId, undefined, { firstExecutionRunId: runId });
  return { workflowId, runId, handle, result: () => handle.result() as Promise<BatchSummary> };
}
