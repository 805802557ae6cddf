/**
 * ImportBatch: everything waiting in one tenant's inbox. Lists finished uploads (oldest first) and
 * runs one ImportFile child per file in a bounded sliding window. A child's id is derived from the
 * file (tenant, name, mtime, size), so two overlapping batches never import the same file twice:
 * the second start is rejected and recorded as "in progress elsewhere". One failed file never
 * stops the others. The batch continues-as-new before its history grows large.
 */
import {
  ApplicationFailure,
  ChildWorkflowFailure,
  makeContinueAsNewFunc,
  defineQuery,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  setWorkflowOptions,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  WorkflowIdReusePolicy,
} from '@temporalio/workflow';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Activities } from '../activities';
import type { BatchSummary, FileOutcome, ImportBatchInput, ImportFileInput, ImportFileResult, RemoteFile } from '../common/messages';
import { emptyCounts } from '../common/messages';
import { fileSearchAttributes, ImportObjects, ImportOutcome } from '../common/search-attributes';
import { importFile } from './import-file';
import { versioningBehavior } from './versioning';
import { fileWorkflowId } from '../common/file-ids';

export { fileWorkflowId };

const { listTransfers } = proxyActivities<Activities>({
  startToCloseTimeout: '5m',
  retry: { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 6 },
});

/** Files per run before continue-as-new (each file costs ~10 events in this history). */
export const FILES_PER_RUN = 500;

export const importBatchProgress = defineQuery<BatchSummary & { pending: number; running: number }>('progress');

/**
 * Worker Versioning (docs/design.md §7): PINNED. A batch run lives as long as its files, and a
 * change of the batch's code (the window, what it records) must never replay its history, so the
 * run ends on the build it started on. Its ImportFile children start on that same version (a pinned
 * parent's children on its task queue inherit the version), so a batch and its files are one
 * build's code. New batches (each schedule firing is a new workflow) start on the current version;
 * a run that continues as new moves to it as well (AUTO_UPGRADE below), and hands over early when
 * the server says the target version changed, so a long backlog does not keep an old build busy.
 */
setWorkflowOptions(versioningBehavior('PINNED'), importBatch);

export async function importBatch(input: ImportBatchInput): Promise<BatchSummary> {
  const summary: BatchSummary = input.carried ?? emptySummary(input.tenant);
  summary.runs++;
  const attempted = new Set(input.attempted ?? []);
  let pending = 0;
  let running = 0;
  setHandler(importBatchProgress, () => ({ ...summary, pending, running }));
  const details = () =>
    setCurrentDetails(
      `tenant **${input.tenant}** — files done ${summary.files}, running ${running}, waiting ${pending}; imported ${summary.imported}, partial ${summary.partial}, failed ${summary.failed}, duplicate ${summary.duplicate}`,
    );

  const listed = await listTransfers({ tenant: input.tenant });
  const files = listed.files.filter((f) => !attempted.has(fileWorkflowId(input.tenant, f)));
  const thisRun = files.slice(0, input.filesPerRun ?? FILES_PER_RUN);
  pending = thisRun.length;
  details();

  const record = (f: RemoteFile, workflowId: string, outcome: FileOutcome, r: ImportFileResult | null) => {
    recordFile(summary, f, workflowId, outcome, r);
    attempted.add(workflowId);
  };

  const runOne = async (f: RemoteFile): Promise<void> => {
    const workflowId = fileWorkflowId(input.tenant, f);
    let handle;
    try {
      handle = await startChild(importFile, childOptions(input.tenant, f, workflowId));
    } catch (e) {
      if (e instanceof WorkflowExecutionAlreadyStartedError) {
        record(f, workflowId, 'in-progress-elsewhere', null);
        return;
      }
      throw e;
    }
    running++;
    details();
    try {
      const r = await handle.result();
      record(f, workflowId, r.outcome, r);
    } catch (e) {
      if (e instanceof ChildWorkflowFailure) {
        const type = e.cause instanceof ApplicationFailure ? e.cause.type : null;
        record(f, workflowId, type ? 'failed' : 'error', null);
      } else {
        throw e;
      }
    } finally {
      running--;
      details();
    }
  };

  // Sliding window: at most maxConcurrentFiles children at once, started oldest first.
  const window = Math.max(1, listed.maxConcurrentFiles);
  const inFlight = new Set<Promise<void>>();
  for (const f of thisRun) {
    pending--;
    const p: Promise<void> = runOne(f).finally(() => inFlight.delete(p));
    inFlight.add(p);
    if (inFlight.size >= window) await Promise.race(inFlight);
    if (handOver()) break;
  }
  await Promise.all(inFlight);

  const more = files.length > thisRun.length || handOver();
  upsertSearchAttributes([
    { key: ImportOutcome, value: summary.failed > 0 ? 'failed' : summary.partial > 0 ? 'partial' : 'imported' },
    { key: ImportObjects, value: summary.objects.total },
  ]);
  if (more) {
    // Only failed files are remembered (so they are not retried in a loop within this batch):
    // successful ones have left the inbox.
    const failedIds = summary.results
      .filter((r) => r.outcome === 'failed' || r.outcome === 'error' || r.outcome === 'in-progress-elsewhere')
      .map((r) => r.workflowId);
    // The next run starts on the task queue's current version (without versioning: as before);
    // this one, pinned, would otherwise hand its version on to it.
    await makeContinueAsNewFunc<typeof importBatch>({ initialVersioningBehavior: 'AUTO_UPGRADE' })({
      tenant: input.tenant,
      carried: summary,
      attempted: failedIds,
      filesPerRun: input.filesPerRun,
    });
  }
  details();
  return summary;
}

/**
 * Time to continue as new: the history grew large, or (a pinned run of a versioned worker) a newer
 * version became the target. Both flags come from the history, so replay sees the same answer.
 */
function handOver(): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.targetWorkerDeploymentVersionChanged;
}

function emptySummary(tenant: string): BatchSummary {
  return { tenant, files: 0, imported: 0, partial: 0, failed: 0, duplicate: 0, skipped: 0, objects: emptyCounts(), results: [], runs: 0 };
}

/** Counts one file's outcome (and its objects) into the batch's summary. */
function recordFile(summary: BatchSummary, f: RemoteFile, workflowId: string, outcome: FileOutcome, r: ImportFileResult | null): void {
  summary.files++;
  if (outcome === 'imported') summary.imported++;
  else if (outcome === 'partial') summary.partial++;
  else if (outcome === 'failed' || outcome === 'error') summary.failed++;
  else if (outcome === 'duplicate') summary.duplicate++;
  else summary.skipped++;
  if (r) for (const k of Object.keys(summary.objects) as (keyof typeof summary.objects)[]) summary.objects[k] += r.counts[k];
  // Keep the per-file list bounded: it travels through continue-as-new.
  if (summary.results.length < 1000) summary.results.push({ name: f.name, outcome, importId: r?.importId ?? null, workflowId });
}

/** The file's child workflow: its id, input, search attributes and what the UI shows of it. */
function childOptions(tenant: string, f: RemoteFile, workflowId: string) {
  return {
    workflowId,
    args: [{ tenant, file: f }] as [ImportFileInput],
    // A completed file is never imported again under the same id; a failed one may be retried.
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    typedSearchAttributes: fileSearchAttributes(tenant, f.name),
    staticSummary: `Import ${f.name} (${f.size} bytes) for tenant ${tenant}`,
    // Markdown: the UI renders details as markdown.
    staticDetails: [
      `- **tenant** ${tenant}`,
      `- **file** ${f.name}`,
      `- **size** ${f.size} bytes`,
      `- **uploaded** ${f.mtime}`,
      `- **batch** ${workflowInfo().workflowId}`,
    ].join('\n'),
  };
}
