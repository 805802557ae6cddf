/**
 * ImportFile: one transfer file through fetch → parse → upsert estates / addresses / links →
 * archive. Deterministic orchestration only; all I/O is in activities. Inputs and results carry
 * ids and counts, never object content or personal data.
 */
import {
  ActivityFailure,
  type ActivityOptions,
  ApplicationFailure,
  defineQuery,
  type LocalActivityOptions,
  patched,
  proxyActivities,
  proxyLocalActivities,
  type RetryPolicy,
  setCurrentDetails,
  setHandler,
  setWorkflowOptions,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { FileOutcome, FinishOutcome, FinishResult, ImportFileInput, ImportFileResult, ObjectCounts } from '../common/messages';
import { isPermanentErrorType, PERMANENT_ERROR_TYPES } from '../common/error-types';
import { emptyCounts } from '../common/messages';
import { ImportObjects, ImportOutcome } from '../common/search-attributes';
import { versioningBehavior } from './versioning';

/** Errors that no retry can fix (common/error-types.ts): the file goes to failed/ and the workflow fails with this type. */
export { PERMANENT_ERROR_TYPES };

/**
 * Marker of the last resort: when finishImport fails for good, abandonImport still gives the ledger
 * row a final status. Histories from before it fail the workflow at that point, as they did.
 */
export const FINISH_LAST_RESORT = 'finish-last-resort';

// Typed, so its durations are checked as Temporal's Duration (with @types/ms installed, a plain string is not one).
const retry: RetryPolicy = {
  initialInterval: '2s',
  backoffCoefficient: 2,
  maximumInterval: '1m',
  maximumAttempts: 8,
  nonRetryableErrorTypes: PERMANENT_ERROR_TYPES,
};

const QUICK: ActivityOptions = { startToCloseTimeout: '2m', retry };
const TRANSFER: ActivityOptions = { startToCloseTimeout: '30m', heartbeatTimeout: '1m', retry };
/** One chunk is one transaction of a few hundred rows: seconds, not minutes. */
const APPLY: ActivityOptions = { startToCloseTimeout: '1m', retry };
const ATTACH: ActivityOptions = { startToCloseTimeout: '10m', retry };

/** Activities with a one-line summary for the UI's event history (ids and counts only). */
const acts = (options: ActivityOptions, summary: string) => proxyActivities<Activities>({ ...options, summary });

/**
 * Marker of the shape with local steps: begin is a local activity; a small file (up to the tenant's
 * localStepsMaxBytes) runs every step as a local activity on the worker that runs its workflow, the
 * same steps with the same retries, without a round trip through the server each; the mirror step
 * runs only when mirror mode is on and the transfer is full. Histories from before keep their shape.
 */
export const LOCAL_STEPS = 'local-steps';
/**
 * Marker of the shape that leaves out the attachments step of a chunk when the estates step
 * reports nothing for it to do (new estates without pictures: IMV's usual one-object file).
 * Histories from before run the step for every chunk, as they did.
 */
export const SKIP_IDLE_ATTACHMENTS = 'skip-idle-attachments';
/**
 * Marker of the shape whose result, when begin finds the ledger row final already, carries the
 * row's counts (and its ImportObjects search attribute the row's total). Histories from before
 * returned zero counts there.
 */
export const FINISHED_LEDGER_COUNTS = 'finished-ledger-counts';
/** Small files only: seconds of work at most, retried on the worker (then with timers). */
const LOCAL: LocalActivityOptions = { startToCloseTimeout: '2m', localRetryThreshold: '10s', retry };
const local = (options: LocalActivityOptions, summary: string) => proxyLocalActivities<Activities>({ ...options, summary });

/**
 * The long activities with the deployment's heartbeat timeout (beginImport reports it), so that the
 * activity of a crashed worker is retried after seconds, not after its start-to-close timeout.
 * Histories from before the setting have no value: their options stay as they were (options are
 * not part of replay's determinism check anyway).
 */
const withHeartbeat = (options: ActivityOptions, seconds: number | undefined): ActivityOptions =>
  seconds ? { ...options, heartbeatTimeout: `${seconds}s` } : options;

export interface ImportFileProgress {
  importId: number | null;
  step: string;
  objectsTotal: number;
  objectsDone: number;
  outcome: FileOutcome | null;
}

export const importFileProgress = defineQuery<ImportFileProgress>('progress');

/**
 * Worker Versioning (docs/design.md §7): PINNED. A file's run is minutes at most, so it always
 * finishes on the build it started on and never meets new code mid-run: a v2 that reorders its
 * steps never replays a v1 history. A child of a pinned batch starts on the batch's version; a
 * replay (`imv-import replay`) or a new batch's child starts on the current one.
 */
setWorkflowOptions(versioningBehavior('PINNED'), importFile);

export async function importFile(input: ImportFileInput): Promise<ImportFileResult> {
  const info = workflowInfo();
  const progress: ImportFileProgress = { importId: null, step: 'starting', objectsTotal: 0, objectsDone: 0, outcome: null };
  setHandler(importFileProgress, () => progress);
  const step = (name: string) => {
    progress.step = name;
    setCurrentDetails(`**${name}** — objects ${progress.objectsDone}/${progress.objectsTotal}`);
  };

  const fast = patched(LOCAL_STEPS);
  const skipIdle = patched(SKIP_IDLE_ATTACHMENTS);
  step('begin');
  const beginSummary = input.replayOf != null ? `replay of import ${input.replayOf}` : `open ledger row for ${input.file?.name}`;
  const begun = await (fast ? local(LOCAL, beginSummary) : acts(QUICK, beginSummary)).beginImport({
    tenant: input.tenant,
    file: input.file,
    replayOf: input.replayOf,
    workflowId: info.workflowId,
    runId: info.runId,
  });
  progress.importId = begun.importId;
  const hb = (options: ActivityOptions) => withHeartbeat(options, begun.heartbeatTimeoutSeconds);
  const size = input.file?.size ?? begun.size;
  const small = fast && !!begun.localStepsMaxBytes && size !== undefined && size <= begun.localStepsMaxBytes;
  /** A step: a local activity for a small file, else a regular one with these options. */
  const run: Step = (options, summary) => (small ? local(LOCAL, summary) : acts(options, summary));
  const result = (outcome: FileOutcome, counts: ObjectCounts): ImportFileResult => {
    progress.outcome = outcome;
    upsertSearchAttributes([
      { key: ImportOutcome, value: outcome },
      { key: ImportObjects, value: counts.total },
    ]);
    step(`done: ${outcome}`);
    return { importId: begun.importId, outcome, fileName: begun.fileName, counts };
  };
  if (begun.finished) {
    // The import finished in an earlier attempt of this workflow task (a worker died before the
    // server heard of it): its result is the ledger's. Histories from before returned no counts.
    return result(begun.finished, patched(FINISHED_LEDGER_COUNTS) ? (begun.counts ?? emptyCounts()) : emptyCounts());
  }

  const finish = (summary: string, outcome: FinishOutcome) => finishOrAbandon(run, begun.importId, summary, outcome);

  try {
    step('fetch');
    const fetched = await run(hb(TRANSFER), `download ${begun.fileName} into the file store`).fetchTransfer({ importId: begun.importId });
    if (fetched.duplicateOf !== null) {
      step('archive');
      const fin = await finish(`duplicate of import ${fetched.duplicateOf}: move to processed/`, { kind: 'duplicate', duplicateOf: fetched.duplicateOf });
      return result(fin.outcome, fin.counts);
    }

    step('parse');
    const parsed = await run(hb(TRANSFER), `parse ${begun.fileName} (${fetched.size} bytes) into staging`).parseTransfer({ importId: begun.importId });
    progress.objectsTotal = parsed.objects;

    const starts: number[] = parsed.chunkStarts ?? [];
    if (!parsed.chunkStarts) for (let p = 0; p < parsed.objects; p += begun.chunkSize) starts.push(p);
    for (let i = 0; i < starts.length; i++) {
      const chunk = { importId: begun.importId, from: starts[i], to: starts[i + 1] ?? parsed.objects };
      const range = `objects ${chunk.from + 1}–${chunk.to} of ${parsed.objects}`;
      step('upsert estates');
      const estates = await run(hb(APPLY), `estates, ${range}`).upsertEstates(chunk);
      step('upsert addresses');
      await run(hb(APPLY), `addresses, ${range}`).upsertAddresses(chunk);
      step('link contacts');
      await run(hb(APPLY), `contact links, ${range}`).linkContacts(chunk);
      if (!skipIdle || estates.attachments !== false) {
        step('store attachments');
        await run(hb(ATTACH), `attachments, ${range}`).storeAttachments(chunk);
      }
      progress.objectsDone = chunk.to;
    }
    // The mirror acts only with mirror mode on and a full transfer: otherwise there is nothing to run.
    if (!fast || ((begun.mirror ?? true) && (parsed.umfang === undefined || parsed.umfang === 'VOLL'))) {
      step('mirror');
      await run(QUICK, 'full-transfer mirror (only when enabled and umfang=VOLL)').mirrorFullTransfer({ importId: begun.importId });
    }

    step('archive');
    const fin = await finish(`move ${begun.fileName} to processed/, ledger, feedback`, { kind: 'completed' });
    return result(fin.outcome, fin.counts);
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : err;
    if (cause instanceof ApplicationFailure && isPermanentErrorType(cause.type)) {
      step('archive (failed)');
      await finish(`move ${begun.fileName} to failed/ with its report`, { kind: 'failed', errorType: cause.type, message: cause.message });
      result('failed', emptyCounts());
      throw ApplicationFailure.nonRetryable(cause.message, cause.type);
    }
    // Transient and out of retries: the file stays in the inbox and the next batch tries again.
    await run(QUICK, 'record the transient error; the file stays in the inbox').markImportError({
      importId: begun.importId,
      message: cause instanceof Error ? cause.message : String(cause),
    });
    progress.outcome = 'error';
    upsertSearchAttributes([{ key: ImportOutcome, value: 'error' }]);
    throw err;
  }
}

/** A step's activities: local for a small file, else regular ones (see importFile's run). */
type Step = (options: ActivityOptions, summary: string) => ReturnType<typeof acts>;

/** finishImport, and if it fails for good, the last resort that closes the ledger row. */
async function finishOrAbandon(run: Step, importId: number, summary: string, outcome: FinishOutcome): Promise<FinishResult> {
  try {
    return await run(QUICK, summary).finishImport({ importId, outcome });
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : err;
    const permanent = cause instanceof ApplicationFailure && (cause.nonRetryable || isPermanentErrorType(cause.type));
    if (!permanent || !patched(FINISH_LAST_RESORT)) throw err;
    const type = (cause as ApplicationFailure).type ?? 'FinishFailed';
    const abandoned = await run(QUICK, 'last resort: close the ledger row with the error').abandonImport({
      importId,
      errorType: type,
      message: (cause as ApplicationFailure).message,
    });
    return { outcome: abandoned.outcome, counts: emptyCounts() };
  }
}
