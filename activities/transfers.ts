/**
 * Activities around a transfer file: list the inbox, open a ledger row, fetch into the file store,
 * parse into staging, and finish (archive on FTP, ledger, clean staging). Each is idempotent.
 */
import fs from 'node:fs';
import fsp from 'node:fs/promises';
import { Context, ApplicationFailure } from '@temporalio/activity';
import type { Client } from 'basic-ftp';
import type {
  BeginImportInput,
  BeginImportResult,
  FetchResult,
  FileOutcome,
  FinishOutcome,
  FinishResult,
  ListTransfersResult,
  ObjectCounts,
  ParseResult,
} from '../common/messages';
import { emptyCounts } from '../common/messages';
import { ftpAccessOf, tenantOf } from '../config/config';
import { connect, exists, ftpErrorText, inboxPath, isPermanentFtpError, listFinishedUploads, moveFile, uploadBuffer, uploadStream } from '../ftp/ftp';
import { fileWorkflowId } from '../common/file-ids';
import { archiveNames, printableName } from '../common/remote-names';
import { openTransfer } from '../openimmo/reader';
import { isTransferError } from '../openimmo/errors';
import { sha256OfFile } from '../store/file-store';
import type { ProviderInfo, TransferHeader } from '../openimmo/types';
import type { ActivityDeps } from './deps';
import { buildFeedback, objectOutcomes, type ObjectOutcome } from './feedback';
import { stageableObject } from './staging';

export interface ImportRow {
  id: number;
  tenant_id: string;
  remote_path: string;
  file_name: string;
  size: number;
  mtime: Date;
  sha256: string | null;
  status: string;
  workflow_id: string;
  replay_of: number | null;
  archived_path: string | null;
  meta: ImportMeta;
  objects_total: number;
  error_type: string | null;
  error_message: string | null;
  notes?: string[];
}

export interface ImportMeta {
  kind?: 'xml' | 'zip';
  xmlEntry?: string | null;
  header?: TransferHeader | null;
  providers?: ProviderInfo[];
}

const FINAL = new Set(['imported', 'partial', 'failed', 'duplicate']);
/** Staged JSON per apply chunk, so a chunk of huge objects stays within a worker's memory. */
const CHUNK_BYTES = 16 * 1024 * 1024;

export function transferActivities(deps: ActivityDeps) {
  const { db, cfg, store } = deps;

  async function loadImport(importId: number): Promise<ImportRow> {
    const row = await db('import_files').where({ id: importId }).first();
    if (!row) throw ApplicationFailure.nonRetryable(`import ${importId} does not exist`, 'UnknownImport');
    return row as ImportRow;
  }

  function accessFor(tenant: string) {
    return ftpAccessOf(tenantOf(cfg, tenant), deps.env);
  }

  /**
   * Runs an FTP operation on a connection of the worker's pool (or a new one without a pool), closing
   * the connection when Temporal cancels the activity.
   */
  async function ftpSession<T>(tenant: string, fn: (c: Client) => Promise<T>): Promise<T> {
    let signal: AbortSignal | undefined;
    try {
      signal = Context.current().cancellationSignal;
    } catch {
      signal = undefined; // called outside an activity (CLI)
    }
    if (deps.ftpPool) return deps.ftpPool.use(accessFor(tenant), fn, signal);
    const client = await connect(accessFor(tenant), { timeoutMs: deps.ftpTimeoutMs });
    const onAbort = () => client.close();
    signal?.addEventListener('abort', onAbort);
    try {
      return await fn(client);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      client.close();
    }
  }

  return {
    async listTransfers({ tenant }: { tenant: string }): Promise<ListTransfersResult> {
      const t = tenantOf(cfg, tenant);
      const access = accessFor(tenant);
      const listed = await ftpSession(tenant, (c) =>
        listFinishedUploads(c, access.baseDir, {
          minAgeMs: t.options.minFileAgeSeconds * 1000,
          stableCheckMs: t.options.stableCheckMs,
        }),
      );
      // A file whose import finished but that the server would not let us move (its name, its
      // permissions) is still in the inbox: its ledger row is final, so it is never imported again.
      const ids = listed.map((f) => fileWorkflowId(tenant, f));
      const finished = new Set<string>();
      for (let i = 0; i < ids.length; i += 1000) {
        const rows = (await db('import_files')
          .whereIn('workflow_id', ids.slice(i, i + 1000))
          .whereIn('status', [...FINAL])
          .pluck('workflow_id')) as string[];
        for (const id of rows) finished.add(id);
      }
      const files = listed.filter((_f, i) => !finished.has(ids[i]));
      const leftInInbox = listed.length - files.length;
      for (const f of files) if (f.note) deps.log.warn({ tenant, file: printableName(f.name), note: f.note }, 'inbox entry listed with fallbacks');
      if (leftInInbox) deps.log.warn({ tenant, files: leftInInbox }, 'finished imports whose files could not leave the inbox: not imported again');
      deps.log.info({ tenant, files: files.length }, 'listed inbox');
      return { files, maxConcurrentFiles: t.options.maxConcurrentFiles, ...(leftInInbox ? { leftInInbox } : {}) };
    },

    async beginImport(input: BeginImportInput): Promise<BeginImportResult> {
      const t = tenantOf(cfg, input.tenant);
      let values: Record<string, unknown>;
      if (input.replayOf != null) {
        const old = await loadImport(input.replayOf);
        if (old.tenant_id !== input.tenant) {
          throw ApplicationFailure.nonRetryable(`import ${old.id} belongs to tenant ${old.tenant_id}, not ${input.tenant}`, 'UnknownImport');
        }
        values = {
          tenant_id: input.tenant,
          remote_path: old.archived_path ?? old.remote_path,
          file_name: old.file_name,
          size: old.size,
          mtime: old.mtime,
          sha256: old.sha256,
          replay_of: old.id,
        };
      } else if (input.file) {
        values = {
          tenant_id: input.tenant,
          remote_path: inboxPath(accessFor(input.tenant), input.file.name),
          file_name: input.file.name,
          size: input.file.size,
          mtime: input.file.mtime,
          // The server would not size or date it: say so where the operator looks.
          ...(input.file.note ? { notes: JSON.stringify([`listed with fallbacks: ${input.file.note}`]) } : {}),
        };
      } else {
        throw ApplicationFailure.nonRetryable('beginImport needs a file or replayOf', 'BadInput');
      }
      const shape = {
        chunkSize: t.options.chunkSize,
        heartbeatTimeoutSeconds: cfg.worker.heartbeatTimeoutSeconds,
        localStepsMaxBytes: t.options.localStepsMaxBytes,
        mirror: t.options.mirror.enabled,
      };
      // One statement: a new row, or the workflow's row again (a retried begin, a new run) back to
      // importing. A final row is left as it is and read below (its import is not run again).
      const final = [...FINAL];
      const upserted = (await db('import_files')
        .insert({ ...values, workflow_id: input.workflowId, run_id: input.runId, status: 'importing' })
        .onConflict('workflow_id')
        .merge({
          status: 'importing',
          run_id: input.runId,
          attempts: db.raw('import_files.attempts + 1'),
          error_type: null,
          error_message: null,
          started_at: db.fn.now(),
          finished_at: null,
        })
        .whereNotIn('import_files.status', final)
        .returning(['id', 'file_name', 'size', db.raw('(xmax = 0) AS inserted')])) as { id: number; file_name: string; size: number; inserted: boolean }[];
      const row = upserted[0];
      if (!row) {
        const done = (await db('import_files').where({ workflow_id: input.workflowId }).first('id', 'file_name', 'size', 'status')) as Pick<
          ImportRow,
          'id' | 'file_name' | 'size' | 'status'
        >;
        return { importId: done.id, fileName: done.file_name, finished: done.status as FileOutcome, size: Number(done.size), ...shape };
      }
      if (row.inserted)
        deps.log.info({ tenant: input.tenant, importId: row.id, workflowId: input.workflowId, file: printableName(row.file_name) }, 'import started');
      return { importId: row.id, fileName: row.file_name, finished: null, size: Number(row.size), ...shape };
    },

    async fetchTransfer({ importId }: { importId: number }): Promise<FetchResult> {
      const row = await loadImport(importId);
      let sha256 = row.sha256;
      let size = row.size;
      if (!sha256 || !(await store.has(sha256))) {
        const tmp = await store.tempPath();
        try {
          await ftpSession(row.tenant_id, async (c) => {
            // basic-ftp reports every 500 ms whether bytes moved or not: beat only on progress, so a
            // stalled connection runs into the heartbeat timeout and the download is retried.
            let seen = 0;
            c.trackProgress((info) => {
              if (info.bytes > seen) heartbeatSafe({ bytes: (seen = info.bytes) });
            });
            try {
              await c.downloadTo(tmp, row.remote_path);
            } catch (err) {
              if (!isPermanentFtpError(err, c)) throw err;
              throw ApplicationFailure.nonRetryable(
                `${printableName(row.file_name)}: the FTP server refuses to send the file (${ftpErrorText(err)}); it stays on the server`,
                'Unreadable',
              );
            }
            c.trackProgress();
          });
          const hash = await sha256OfFile(tmp);
          sha256 = hash;
          size = (await fsp.stat(tmp)).size;
          await store.commit(tmp, hash);
        } finally {
          await fsp.rm(tmp, { force: true });
        }
      }
      // Whether this content was imported already is decided once, under a lock on (tenant, content),
      // and recorded together with the hash: of two copies fetched at the same time (one batch, two
      // names) exactly one is the original, even while it is still importing, and a retried fetch
      // gets the answer it got before. A replay is never a duplicate.
      const duplicateOf = await db.transaction(async (trx) => {
        await trx.raw("SELECT pg_advisory_xact_lock(hashtext('imv-import:content:' || ? || ':' || ?))", [row.tenant_id, sha256]);
        // After the lock (a statement of its own, so it sees what the lock's previous holder wrote):
        // a row that has this hash already keeps its answer; otherwise the original is looked up.
        const original =
          row.replay_of == null
            ? db.raw(
                `(SELECT o.id FROM import_files o WHERE o.tenant_id = ? AND o.sha256 = ? AND o.status IN ('imported', 'partial', 'importing') AND o.duplicate_of IS NULL AND o.id <> ? ORDER BY o.id LIMIT 1)`,
                [row.tenant_id, sha256, importId],
              )
            : null;
        const [updated] = (await trx('import_files')
          .where({ id: importId })
          .update({
            duplicate_of: trx.raw('CASE WHEN import_files.sha256 IS NOT DISTINCT FROM ? THEN import_files.duplicate_of ELSE ? END', [sha256, original]),
            sha256,
            size,
          })
          .returning(['duplicate_of'])) as { duplicate_of: number | null }[];
        return updated?.duplicate_of ?? null;
      });
      deps.log.info({ tenant: row.tenant_id, importId, sha256, size, duplicateOf }, 'fetched');
      return { sha256: sha256!, size, duplicateOf };
    },

    async parseTransfer({ importId }: { importId: number }): Promise<ParseResult> {
      // The ledger row, and what an earlier attempt staged removed, in one round trip.
      const loaded = await db.raw('WITH cleared AS (DELETE FROM staged_objects WHERE import_id = ?) SELECT * FROM import_files WHERE id = ?', [
        importId,
        importId,
      ]);
      const row = loaded.rows[0] as ImportRow | undefined;
      if (!row) throw ApplicationFailure.nonRetryable(`import ${importId} does not exist`, 'UnknownImport');
      if (!row.sha256) throw ApplicationFailure.nonRetryable(`import ${importId} was not fetched yet`, 'BadInput');
      const file = store.pathOf(row.sha256);
      const meta: ImportMeta = { providers: [], header: null };
      let objects = 0;
      let warnings = 0;
      const chunkSize = tenantOf(cfg, row.tenant_id).options.chunkSize;
      const chunkStarts: number[] = [];
      let chunkCount = 0;
      let chunkBytes = 0;
      let finalFlush: () => Promise<void> = async () => {};
      let opened;
      try {
        opened = await openTransfer(file);
        meta.kind = opened.kind;
        meta.xmlEntry = opened.xmlEntryName;
        // Staged in batches bounded by count and by bytes, so big objects never pile up in memory.
        let batch: Record<string, unknown>[] = [];
        let batchBytes = 0;
        const flush = async () => {
          if (batch.length) await db('staged_objects').insert(batch);
          batch = [];
          batchBytes = 0;
          heartbeatSafe({ objects });
        };
        // The last batch and the ledger's totals in one statement (a one-object file: one round trip).
        finalFlush = async () => {
          const done = { meta: JSON.stringify(meta), objects_total: objects, warnings };
          if (!batch.length) return void (await db('import_files').where({ id: importId }).update(done));
          const insert = db('staged_objects').insert(batch).toSQL();
          await db.raw(`WITH staged AS (${insert.sql}) UPDATE import_files SET meta = ?::jsonb, objects_total = ?, warnings = ? WHERE id = ?`, [
            ...insert.bindings,
            done.meta,
            done.objects_total,
            done.warnings,
            importId,
          ]);
          batch = [];
        };
        for await (const ev of opened.events()) {
          if (ev.type === 'header') meta.header = ev.header;
          else if (ev.type === 'provider') meta.providers!.push(ev.provider);
          else {
            objects++;
            warnings += ev.object.warnings.length;
            const payload = await stageableObject(ev.object, store);
            batch.push({ import_id: importId, position: ev.object.position, source_id: ev.object.sourceId, payload });
            batchBytes += payload.length;
            chunkBytes += payload.length;
            if (chunkStarts.length === 0 || chunkCount >= chunkSize || chunkBytes > CHUNK_BYTES) {
              chunkStarts.push(ev.object.position);
              chunkCount = 0;
              chunkBytes = payload.length;
            }
            chunkCount++;
            if (batch.length >= 200 || batchBytes >= 8 * 1024 * 1024) await flush();
          }
        }
        await finalFlush();
      } catch (e) {
        if (isTransferError(e)) {
          await db('staged_objects').where({ import_id: importId }).delete();
          throw ApplicationFailure.nonRetryable(`${row.file_name}: ${e.message}`, e.type, e.detail ?? {});
        }
        throw e;
      } finally {
        await opened?.close();
      }
      deps.log.info({ tenant: row.tenant_id, importId, objects, warnings, chunks: chunkStarts.length }, 'parsed');
      return { objects, warnings, chunkStarts, umfang: meta.header?.umfang ?? null };
    },

    async finishImport({ importId, outcome }: { importId: number; outcome: FinishOutcome }): Promise<FinishResult> {
      const row = await loadImport(importId);
      const objects = await objectOutcomes(db, importId);
      const counts = await countsOf(importId, row, objects);
      let status: FileOutcome;
      if (outcome.kind === 'failed') status = 'failed';
      else if (outcome.kind === 'duplicate') status = 'duplicate';
      else status = counts.rejected > 0 ? 'partial' : 'imported';

      const access = accessFor(row.tenant_id);
      const folder = status === 'failed' ? 'failed' : 'processed';
      const names = archiveNames(importId, row.file_name);
      const dest = inboxPath(access, folder, names.archived);
      const messages = objects.filter((o) => o.messages.length > 0);
      // What the server refuses for good (a name it cannot move, a folder it will not write) is
      // noted and the import still ends here, in a final state: the ledger is never left importing.
      // A broken connection is thrown and retried as before.
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
      await ftpSession(row.tenant_id, async (c) => {
        if (row.remote_path !== dest) {
          const moved = await permanent(
            c,
            `not moved to ${folder}/: the server refused; the file stays at ${printableName(row.remote_path)} and is not imported again`,
            async () => {
              try {
                await moveFile(c, row.remote_path, dest);
              } catch (err) {
                // The original vanished from the server (replay of a removed file): put our copy back.
                const vanished = isPermanentFtpError(err, c) && !(await exists(c, row.remote_path)) && !(await exists(c, dest));
                if (!vanished || !row.sha256 || !(await store.has(row.sha256))) throw err;
                await uploadStream(c, dest, fs.createReadStream(store.pathOf(row.sha256)));
              }
            },
          );
          if (!moved) archivedPath = row.archived_path ?? null;
        }
        if (status === 'failed' || status === 'partial') {
          const reportPath = inboxPath(access, folder, names.report);
          await permanent(c, 'report not written: the server refused', () =>
            uploadBuffer(c, reportPath, renderReport(row, status, outcome, counts, messages, notes)),
          );
        }
        if (tenantOf(cfg, row.tenant_id).options.feedback && status !== 'duplicate') {
          const xml = buildFeedback(row, status, outcome.kind === 'failed' ? outcome : null, objects);
          await permanent(c, 'feedback not written: the server refused', () => uploadBuffer(c, inboxPath(access, 'feedback', names.feedback), xml));
        }
      });
      const before: string[] = Array.isArray(row.notes) ? row.notes : [];
      // The ledger's final state, and the staging rows removed, in one statement.
      const final = db('import_files')
        .where({ id: importId })
        .update({
          status,
          ...countColumns(counts),
          error_type: outcome.kind === 'failed' ? outcome.errorType : null,
          error_message: outcome.kind === 'failed' ? outcome.message.slice(0, 2000) : null,
          duplicate_of: outcome.kind === 'duplicate' ? outcome.duplicateOf : null,
          archived_path: archivedPath,
          notes: JSON.stringify([...before, ...notes.filter((n) => !before.includes(n))]),
          finished_at: db.fn.now(),
        })
        .toSQL();
      await db.raw(`WITH cleared AS (DELETE FROM staged_objects WHERE import_id = ?) ${final.sql}`, [importId, ...final.bindings]);
      if (notes.length) deps.log.warn({ tenant: row.tenant_id, importId, status, notes: notes.length }, 'import finished with archive problems');
      deps.log.info({ tenant: row.tenant_id, importId, status, ...counts }, 'import finished');
      return { outcome: status, counts };
    },

    /**
     * The last resort when finishImport itself cannot finish (a refused ledger write, a bug): the
     * row still gets a final status and the error, so it never stays `importing`. One statement,
     * nothing on FTP. A row that is final already keeps its state.
     */
    async abandonImport({ importId, errorType, message }: { importId: number; errorType: string; message: string }): Promise<{ outcome: FileOutcome }> {
      const updated = await db('import_files')
        .where({ id: importId })
        .whereNotIn('status', [...FINAL])
        .update({
          status: 'failed',
          error_type: errorType,
          error_message: `finishing the import failed: ${message}`.slice(0, 2000),
          notes: db.raw('notes || ?::jsonb', [
            JSON.stringify(['the import could not be finished normally (archive, report or ledger): see the error; replay it after fixing the cause']),
          ]),
          finished_at: db.fn.now(),
        });
      const row = await db('import_files').where({ id: importId }).first('status', 'tenant_id');
      deps.log.warn({ tenant: row?.tenant_id, importId, updated }, 'import abandoned after finishing failed');
      return { outcome: (row?.status ?? 'failed') as FileOutcome };
    },

    /** A transient failure outlived its retries: the file stays in the inbox for the next batch. */
    async markImportError({ importId, message }: { importId: number; message: string }): Promise<void> {
      await db('import_files')
        .where({ id: importId })
        .whereNotIn('status', [...FINAL])
        .update({ status: 'error', error_type: 'Transient', error_message: message.slice(0, 2000), finished_at: db.fn.now() });
    },
  };

  async function countsOf(importId: number, row: ImportRow, objects: ObjectOutcome[]): Promise<ObjectCounts> {
    // A finished import whose staging is gone (finishImport run again): its counts are in the ledger.
    const staged = FINAL.has(row.status) ? await db('staged_objects').where({ import_id: importId }).count<{ count: number }[]>('* as count') : null;
    if (staged && Number(staged[0].count) === 0) {
      const r = row as unknown as Record<string, number>;
      return {
        total: r.objects_total,
        created: r.created,
        updated: r.updated,
        unchanged: r.unchanged,
        archived: r.archived,
        stale: r.stale,
        rejected: r.rejected,
      };
    }
    const c = emptyCounts();
    c.total = row.objects_total;
    for (const o of objects) {
      if (o.outcome === 'created') c.created++;
      else if (o.outcome === 'updated') c.updated++;
      // A DELETE for an estate we never had changes nothing: reported (message, feedback), not rejected.
      else if (o.outcome === 'unchanged' || o.outcome === 'not-found') c.unchanged++;
      else if (o.outcome === 'archived') c.archived++;
      else if (o.outcome === 'stale') c.stale++;
      else if (o.outcome === 'rejected') c.rejected++;
    }
    return c;
  }
}

function countColumns(c: ObjectCounts) {
  return { objects_total: c.total, created: c.created, updated: c.updated, unchanged: c.unchanged, archived: c.archived, stale: c.stale, rejected: c.rejected };
}

function renderReport(
  row: ImportRow,
  status: string,
  outcome: FinishOutcome,
  counts: ObjectCounts,
  messages: { position: number; source_id: string | null; outcome: string; messages: string[] }[],
  notes: string[] = [],
): string {
  const lines = [
    `imv-import report`,
    `file:      ${printableName(row.file_name)}`,
    `import id: ${row.id}`,
    `tenant:    ${row.tenant_id}`,
    `sha256:    ${row.sha256 ?? '-'}`,
    `status:    ${status}`,
  ];
  if (outcome.kind === 'failed') lines.push(`error:     ${outcome.errorType}: ${outcome.message}`);
  lines.push(
    `objects:   ${counts.total} (created ${counts.created}, updated ${counts.updated}, unchanged ${counts.unchanged}, archived ${counts.archived}, stale ${counts.stale}, rejected ${counts.rejected})`,
  );
  for (const m of messages) {
    for (const text of m.messages) lines.push(`object #${m.position} (id ${m.source_id ?? 'none'}) ${m.outcome}: ${text}`);
  }
  for (const n of notes) lines.push(`note: ${n}`);
  lines.push('', `Replay after fixing the cause: imv-import replay ${row.id}`);
  return lines.join('\n') + '\n';
}

function heartbeatSafe(details: unknown): void {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return; // not inside an activity (CLI use)
  }
  // A local activity (a small file's step) has no heartbeats: its worker runs the workflow too.
  if (!ctx.info.isLocal) ctx.heartbeat(details);
}
