/**
 * Activities around a transfer file: list the inbox, open a ledger row, fetch into the file store,
 * parse into staging, and finish (archive on FTP, ledger, clean staging). Each is idempotent and
 * lives in its own module; workflows call them by these names (replay safety: never rename one).
 */
import type { BeginImportInput, FinishOutcome } from '../common/messages';
import { beginImport } from './begin';
import type { ActivityDeps } from './deps';
import { fetchTransfer } from './fetch';
import { abandonImport, finishImport, markImportError } from './finish';
import { listTransfers } from './list';
import { parseTransfer } from './parse';

export function transferActivities(deps: ActivityDeps) {
  return {
    listTransfers: (input: { tenant: string }) => listTransfers(deps, input),
    beginImport: (input: BeginImportInput) => beginImport(deps, input),
    fetchTransfer: (input: { importId: number }) => fetchTransfer(deps, input),
    parseTransfer: (input: { importId: number }) => parseTransfer(deps, input),
    finishImport: (input: { importId: number; outcome: FinishOutcome }) => finishImport(deps, input),
    abandonImport: (input: { importId: number; errorType: string; message: string }) => abandonImport(deps, input),
    markImportError: (input: { importId: number; message: string }) => markImportError(deps, input),
  };
}
