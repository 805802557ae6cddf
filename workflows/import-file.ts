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
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { FileOutcome, ImportFileInput, ImportFileResult, ObjectCounts } from '../common/messages';
import { ImportObjects, ImportOutcome } from '../common/search-attributes';

/** Errors that no retry can fix: the file goes to failed/ and the workflow fails with this type. */
export const PERMANENT_ERROR_TYPES = ['MalformedXml', 'NotOpenImmo', 'EncodingError', 'ZipRejected', 'TooLarge', 'UnknownImport', 'BadInput'];

const retry = { initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '1m', maximumAttempts: 8, nonRetryableErrorTypes: PERMANENT_ERROR_TYPES };

const QUICK: ActivityOptions = { startToCloseTimeout: '2m', retry };
const TRANSFER: ActivityOptions = { startToCloseTimeout: '30m', heartbeatTimeout: '1m', retry };
/** One chunk is one transaction of a few hundred rows: seconds, not minutes. */
const APPLY: ActivityOptions = { startToCloseTimeout: '1m', retry };
const ATTACH: ActivityOptions = { startToCloseTimeout: '10m', retry };

/** Activities with a one-line summary for the UI's event history (ids and counts only). */
const acts = (options: ActivityOptions, summary: string) => proxyActivities<Activities>({ ...options, summary });

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

export async function importFile(input: ImportFileInput): Promise<ImportFileResult> {
  const info = workflowInfo();
  const progress: ImportFileProgress = { importId: null, step: 'starting', objectsTotal: 0, objectsDone: 0, outcome: null };
  setHandler(importFileProgress, () => progress);
  const step = (name: string) => {
    progress.step = name;
    setCurrentDetails(`**${name}** — objects ${progress.objectsDone}/${progress.objectsTotal}`);
  };

  step('begin');
  const begun = await acts(QUICK, input.replayOf != null ? `replay of import ${input.replayOf}` : `open ledger row for ${input.file?.name}`).beginImport({
    tenant: input.tenant,
    file: input.file,
    replayOf: input.replayOf,
    workflowId: info.workflowId,
    runId: info.runId,
  });
  progress.importId = begun.importId;
  const hb = (options: ActivityOptions) => withHeartbeat(options, begun.heartbeatTimeoutSeconds);
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
    return result(begun.finished, { total: 0, created: 0, updated: 0, unchanged: 0, archived: 0, stale: 0, rejected: 0 });
  }

  try {
    step('fetch');
    const fetched = await acts(hb(TRANSFER), `download ${begun.fileName} into the file store`).fetchTransfer({ importId: begun.importId });
    if (fetched.duplicateOf !== null) {
      step('archive');
      const fin = await acts(QUICK, `duplicate of import ${fetched.duplicateOf}: move to processed/`).finishImport({
        importId: begun.importId,
        outcome: { kind: 'duplicate', duplicateOf: fetched.duplicateOf },
      });
      return result(fin.outcome, fin.counts);
    }

    step('parse');
    const parsed = await acts(hb(TRANSFER), `parse ${begun.fileName} (${fetched.size} bytes) into staging`).parseTransfer({ importId: begun.importId });
    progress.objectsTotal = parsed.objects;

    const starts: number[] = parsed.chunkStarts ?? [];
    if (!parsed.chunkStarts) for (let p = 0; p < parsed.objects; p += begun.chunkSize) starts.push(p);
    for (let i = 0; i < starts.length; i++) {
      const chunk = { importId: begun.importId, from: starts[i], to: starts[i + 1] ?? parsed.objects };
      const range = `objects ${chunk.from + 1}–${chunk.to} of ${parsed.objects}`;
      step('upsert estates');
      await acts(hb(APPLY), `estates, ${range}`).upsertEstates(chunk);
      step('upsert addresses');
      await acts(hb(APPLY), `addresses, ${range}`).upsertAddresses(chunk);
      step('link contacts');
      await acts(hb(APPLY), `contact links, ${range}`).linkContacts(chunk);
      step('store attachments');
      await acts(hb(ATTACH), `attachments, ${range}`).storeAttachments(chunk);
      progress.objectsDone = chunk.to;
    }
    step('mirror');
    await acts(QUICK, 'full-transfer mirror (only when enabled and umfang=VOLL)').mirrorFullTransfer({ importId: begun.importId });

    step('archive');
    const fin = await acts(QUICK, `move ${begun.fileName} to processed/, ledger, feedback`).finishImport({ importId: begun.importId, outcome: { kind: 'completed' } });
    return result(fin.outcome, fin.counts);
  } catch (err) {
    const cause = err instanceof ActivityFailure ? err.cause : err;
    if (cause instanceof ApplicationFailure && cause.type && PERMANENT_ERROR_TYPES.includes(cause.type)) {
      step('archive (failed)');
      await acts(QUICK, `move ${begun.fileName} to failed/ with its report`).finishImport({
        importId: begun.importId,
        outcome: { kind: 'failed', errorType: cause.type, message: cause.message },
      });
      result('failed', { total: 0, created: 0, updated: 0, unchanged: 0, archived: 0, stale: 0, rejected: 0 });
      throw ApplicationFailure.nonRetryable(cause.message, cause.type);
    }
    // Transient and out of retries: the file stays in the inbox and the next batch tries again.
    await acts(QUICK, 'record the transient error; the file stays in the inbox').markImportError({ importId: begun.importId, message: cause instanceof Error ? cause.message : String(cause) });
    progress.outcome = 'error';
    upsertSearchAttributes([{ key: ImportOutcome, value: 'error' }]);
    throw err;
  }
}
