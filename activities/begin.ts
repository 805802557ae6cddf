/** beginImport: the file's ledger row, new, again (a retried begin, a new run), or final already. */
import { permanentFailure } from '../common/error-types';
import type { BeginImportInput, BeginImportResult, FileOutcome } from '../common/messages';
import { printableName } from '../common/remote-names';
import { tenantOf } from '../config/config';
import { finalImportOf, upsertImport } from '../db/ledger/begin';
import { loadImport } from '../db/ledger/row';
import { inboxPath } from '../ftp/ftp';
import type { ActivityDeps } from './deps';
import { accessFor } from './ftp-session';

export async function beginImport(deps: ActivityDeps, input: BeginImportInput): Promise<BeginImportResult> {
  const { cfg, db } = deps;
  const t = tenantOf(cfg, input.tenant);
  const values = await ledgerValues(deps, input);
  const shape = {
    chunkSize: t.options.chunkSize,
    heartbeatTimeoutSeconds: cfg.worker.heartbeatTimeoutSeconds,
    localStepsMaxBytes: t.options.localStepsMaxBytes,
    mirror: t.options.mirror.enabled,
  };
  // A final row is left as it is and read here (its import is not run again): its outcome and the
  // counts it ended with are the workflow's result.
  const row = await upsertImport(db, values, input.workflowId, input.runId);
  if (!row) {
    const done = await finalImportOf(db, input.workflowId);
    return { importId: done.id, fileName: done.file_name, finished: done.status as FileOutcome, counts: done.counts, size: Number(done.size), ...shape };
  }
  if (row.inserted)
    deps.log.info({ tenant: input.tenant, importId: row.id, workflowId: input.workflowId, file: printableName(row.file_name) }, 'import started');
  return { importId: row.id, fileName: row.file_name, finished: null, size: Number(row.size), ...shape };
}

/** The new row's columns: the inbox file's, or (a replay) the earlier import's. */
async function ledgerValues(deps: ActivityDeps, input: BeginImportInput): Promise<Record<string, unknown>> {
  if (input.replayOf != null) {
    const old = await loadImport(deps.db, input.replayOf);
    if (old.tenant_id !== input.tenant) {
      throw permanentFailure(`import ${old.id} belongs to tenant ${old.tenant_id}, not ${input.tenant}`, 'UnknownImport');
    }
    return {
      tenant_id: input.tenant,
      remote_path: old.archived_path ?? old.remote_path,
      file_name: old.file_name,
      size: old.size,
      mtime: old.mtime,
      sha256: old.sha256,
      replay_of: old.id,
    };
  }
  if (input.file) {
    return {
      tenant_id: input.tenant,
      remote_path: inboxPath(accessFor(deps, input.tenant), input.file.name),
      file_name: input.file.name,
      size: input.file.size,
      mtime: input.file.mtime,
      // The server would not size or date it: say so where the operator looks.
      ...(input.file.note ? { notes: JSON.stringify([`listed with fallbacks: ${input.file.note}`]) } : {}),
    };
  }
  throw permanentFailure('beginImport needs a file or replayOf', 'BadInput');
}
