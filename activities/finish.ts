/**
 * The end of a file's import: finishImport (archive on FTP, report, feedback, the ledger's final
 * state, staging cleared), its last resort abandonImport, and markImportError for a transient failure.
 */
import type { Client } from 'basic-ftp';
import type { FileOutcome, FinishOutcome, FinishResult, ObjectCounts } from '../common/messages';
import { emptyCounts } from '../common/messages';
import { archiveNames, printableName } from '../common/remote-names';
import { isFinalStatus } from '../common/statuses';
import { tenantOf } from '../config/config';
import { abandonImportRow, finishImportRow, markImportErrorRow, stagedCount } from '../db/ledger/finish';
import { objectOutcomesPage, objectsWithMessages, outcomeTally, type ObjectOutcome } from '../db/ledger/objects';
import { countColumns, countsOfRow, loadImport, type ImportRow } from '../db/ledger/row';
import { exists, ftpErrorText, inboxPath, isPermanentFtpError, moveFile, uploadBuffer, uploadStream } from '../ftp/ftp';
import type { ActivityDeps } from './deps';
import { buildFeedback, feedbackChunks } from './feedback';
import { accessFor, ftpSession } from './ftp-session';
import { renderReport } from './report';

/**
 * Objects finish reads at once. A smaller import (IMV's one-object file) is read in one query and
 * held; a bigger one is counted in SQL and its feedback streamed page by page (a 76,000-object
 * transfer held whole took the worker from ~260 to ~345 MB at its very end).
 */
export const FINISH_PAGE = 2000;

/** The import's objects as finish needs them: counted, the problems, and every object for the feedback. */
interface FinishObjects {
  tally: Map<string, number>;
  /** Objects with messages (the report, the feedback's error list). */
  problems: ObjectOutcome[];
  /** Every object in document order, page by page (one page for a small import). */
  pages(): AsyncIterable<ObjectOutcome[]>;
  /** All of them when they were read at once (a small import), else null. */
  all: ObjectOutcome[] | null;
}

async function finishObjects(deps: ActivityDeps, importId: number): Promise<FinishObjects> {
  const first = await objectOutcomesPage(deps.db, importId, -1, FINISH_PAGE);
  if (first.length < FINISH_PAGE) {
    const tally = new Map<string, number>();
    for (const o of first) tally.set(o.outcome, (tally.get(o.outcome) ?? 0) + 1);
    return {
      tally,
      problems: first.filter((o) => o.messages.length > 0),
      all: first,
      async *pages() {
        yield first;
      },
    };
  }
  return {
    tally: await outcomeTally(deps.db, importId),
    problems: await objectsWithMessages(deps.db, importId),
    all: null,
    async *pages() {
      let after = -1;
      for (;;) {
        const page = after < 0 ? first : await objectOutcomesPage(deps.db, importId, after, FINISH_PAGE);
        if (!page.length) return;
        yield page;
        if (page.length < FINISH_PAGE) return;
        after = page[page.length - 1].position;
      }
    },
  };
}

export async function finishImport(deps: ActivityDeps, { importId, outcome }: { importId: number; outcome: FinishOutcome }): Promise<FinishResult> {
  const { db } = deps;
  const row = await loadImport(db, importId);
  const objects = await finishObjects(deps, importId);
  const counts = await countsOf(deps, row, objects.tally);
  let status: FileOutcome;
  if (outcome.kind === 'failed') status = 'failed';
  else if (outcome.kind === 'duplicate') status = 'duplicate';
  else status = counts.rejected > 0 ? 'partial' : 'imported';

  const { archivedPath, notes } = await archive(deps, row, status, outcome, counts, objects);
  const before: string[] = Array.isArray(row.notes) ? row.notes : [];
  // The ledger's final state, and the staging rows removed, in one statement.
  await finishImportRow(db, importId, {
    status,
    ...countColumns(counts),
    error_type: outcome.kind === 'failed' ? outcome.errorType : null,
    error_message: outcome.kind === 'failed' ? outcome.message.slice(0, 2000) : null,
    duplicate_of: outcome.kind === 'duplicate' ? outcome.duplicateOf : null,
    archived_path: archivedPath,
    notes: JSON.stringify([...before, ...notes.filter((n) => !before.includes(n))]),
  });
  if (notes.length) deps.log.warn({ tenant: row.tenant_id, importId, status, notes: notes.length }, 'import finished with archive problems');
  deps.log.info({ tenant: row.tenant_id, importId, status, ...counts }, 'import finished');
  return { outcome: status, counts };
}

/**
 * On FTP: the file moved to processed/ or failed/, the report beside it, the feedback. What the
 * server refuses for good (a name it cannot move, a folder it will not write) is noted and the
 * import still ends, in a final state: the ledger is never left importing. A broken connection is
 * thrown and retried as before.
 */
async function archive(
  deps: ActivityDeps,
  row: ImportRow,
  status: FileOutcome,
  outcome: FinishOutcome,
  counts: ObjectCounts,
  objects: FinishObjects,
): Promise<{ archivedPath: string | null; notes: string[] }> {
  const access = accessFor(deps, row.tenant_id);
  const folder = status === 'failed' ? 'failed' : 'processed';
  const names = archiveNames(row.id, row.file_name);
  const dest = inboxPath(access, folder, names.archived);
  const messages = objects.problems;
  const notes: string[] = [];
  let archivedPath: string | null = dest;
  const permanent = async (c: Client, what: string, fn: () => Promise<unknown>) => {
    try {
      await fn();
    } catch (err) {
      if (!isPermanentFtpError(err, c)) throw err;
      notes.push(`${what} (${ftpErrorText(err)})`);
      return false;
    }
    return true;
  };
  await ftpSession(deps, row.tenant_id, async (c) => {
    if (row.remote_path !== dest) {
      const moved = await permanent(
        c,
        `not moved to ${folder}/: the server refused; the file stays at ${printableName(row.remote_path)} and is not imported again`,
        () => moveOrRestore(deps, c, row, dest),
      );
      if (!moved) archivedPath = row.archived_path ?? null;
    }
    if (status === 'failed' || status === 'partial') {
      const reportPath = inboxPath(access, folder, names.report);
      await permanent(c, 'report not written: the server refused', () =>
        uploadBuffer(c, reportPath, renderReport(row, status, outcome, counts, messages, notes)),
      );
    }
    if (tenantOf(deps.cfg, row.tenant_id).options.feedback && status !== 'duplicate') {
      const fileError = outcome.kind === 'failed' ? outcome : null;
      // A small import's document at once; a big one's streamed from the ledger's pages.
      const xml = objects.all
        ? buildFeedback(row, status, fileError, objects.all)
        : () => feedbackChunks(row, status, fileError, objects.pages(), objects.problems);
      await permanent(c, 'feedback not written: the server refused', () => uploadBuffer(c, inboxPath(access, 'feedback', names.feedback), xml));
    }
  });
  return { archivedPath, notes };
}

/** Moves the file to dest; when the original vanished from the server (replay of a removed file), puts our copy there. */
async function moveOrRestore(deps: ActivityDeps, c: Client, row: ImportRow, dest: string): Promise<void> {
  try {
    await moveFile(c, row.remote_path, dest);
  } catch (err) {
    const vanished = isPermanentFtpError(err, c) && !(await exists(c, row.remote_path)) && !(await exists(c, dest));
    if (!vanished || !row.sha256 || !(await deps.store.has(row.sha256))) throw err;
    await uploadStream(c, dest, await deps.store.get(row.sha256));
  }
}

async function countsOf(deps: ActivityDeps, row: ImportRow, tally: Map<string, number>): Promise<ObjectCounts> {
  // A finished import whose staging is gone (finishImport run again): its counts are in the ledger.
  if (isFinalStatus(row.status) && (await stagedCount(deps.db, row.id)) === 0) return countsOfRow(row as unknown as Record<string, unknown>);
  const c = emptyCounts();
  c.total = row.objects_total;
  const n = (outcome: string) => tally.get(outcome) ?? 0;
  c.created = n('created');
  c.updated = n('updated');
  // A DELETE for an estate we never had changes nothing: reported (message, feedback), not rejected.
  c.unchanged = n('unchanged') + n('not-found');
  c.archived = n('archived');
  c.stale = n('stale');
  c.rejected = n('rejected');
  return c;
}

/**
 * The last resort when finishImport itself cannot finish (a refused ledger write, a bug): the
 * row still gets a final status and the error, so it never stays `importing`. One statement,
 * nothing on FTP. A row that is final already keeps its state.
 */
export async function abandonImport(
  deps: ActivityDeps,
  { importId, errorType, message }: { importId: number; errorType: string; message: string },
): Promise<{ outcome: FileOutcome }> {
  const { updated, row } = await abandonImportRow(deps.db, importId, errorType, message);
  deps.log.warn({ tenant: row?.tenant_id, importId, updated }, 'import abandoned after finishing failed');
  return { outcome: (row?.status ?? 'failed') as FileOutcome };
}

/** A transient failure outlived its retries: the file stays in the inbox for the next batch. */
export async function markImportError(deps: ActivityDeps, { importId, message }: { importId: number; message: string }): Promise<void> {
  await markImportErrorRow(deps.db, importId, message);
}
