/**
 * "Version 2" of the workflows for the rollout test (test/support/rollout.ts): ImportFile waits on a
 * timer before its first step — a new first command, incompatible with every v1 history (the
 * rollout test shows that a v1 history fails to replay here). Worker Versioning must keep v1 runs
 * away from this code.
 */
import { setWorkflowOptions, sleep } from '@temporalio/workflow';
import type { ImportFileInput, ImportFileResult } from '../../../common/messages';
import { importFile as v1 } from '../../../workflows/import-file';
import { versioningBehavior } from '../../../workflows/versioning';

export { importBatch, importBatchProgress } from '../../../workflows/import-batch';
export { importFileProgress } from '../../../workflows/import-file';
export { storeGc } from '../../../workflows/store-gc';

setWorkflowOptions(versioningBehavior('PINNED'), importFile);

export async function importFile(input: ImportFileInput): Promise<ImportFileResult> {
  await sleep(1);
  return v1(input);
}
