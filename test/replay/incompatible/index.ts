/**
 * A deliberately incompatible ImportFile for the replay test: it reads the ledger row before
 * opening it (a new first activity), the kind of change that must be guarded by `patched()`.
 * The replay test proves that golden histories catch it.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../../../activities';
import type { ImportFileInput, ImportFileResult } from '../../../common/messages';
import { importFile as original } from '../../../workflows/import-file';

export { importBatch } from '../../../workflows/import-batch';

const { markImportError } = proxyActivities<Activities>({ startToCloseTimeout: '1m' });

export async function importFile(input: ImportFileInput): Promise<ImportFileResult> {
  await markImportError({ importId: -1, message: 'an activity the recorded histories never scheduled' });
  return original(input);
}
