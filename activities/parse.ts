/** parseTransfer: the fetched file through the reader into staging, in chunks for the apply steps. */
import { permanentFailure } from '../common/error-types';
import type { ParseResult } from '../common/messages';
import { tenantOf } from '../config/config';
import { clearStaging, loadImportClearingStaging, stageLastBatch, stageObjects, type StagedInsert } from '../db/ledger/parse';
import type { ImportMeta } from '../db/ledger/row';
import type { Db } from '../db/db';
import { isTransferError } from '../openimmo/errors';
import { openTransfer } from '../openimmo/reader';
import type { TransferObject } from '../openimmo/types';
import type { ActivityDeps } from './deps';
import { heartbeatSafe } from './ftp-session';
import { openStored, stageableObject } from './staging';

/** Staged JSON per apply chunk, so a chunk of huge objects stays within a worker's memory. */
const CHUNK_BYTES = 16 * 1024 * 1024;

export async function parseTransfer(deps: ActivityDeps, { importId }: { importId: number }): Promise<ParseResult> {
  const { db, cfg, store } = deps;
  // The ledger row, and what an earlier attempt staged removed, in one round trip.
  const row = await loadImportClearingStaging(db, importId);
  if (!row.sha256) throw permanentFailure(`import ${importId} was not fetched yet`, 'BadInput');
  const done = row.meta?.chunkStarts;
  if (done) {
    // Parsed before, and maybe applied since: a worker that took over the workflow runs the step again.
    deps.log.info({ tenant: row.tenant_id, importId, objects: row.objects_total }, 'parsed already: staging kept');
    return { objects: row.objects_total, warnings: row.warnings ?? 0, chunkStarts: done, umfang: row.meta.header?.umfang ?? null };
  }
  const meta: ImportMeta = { providers: [], header: null };
  const stager = new Stager(db, importId, tenantOf(cfg, row.tenant_id).options.chunkSize);
  let opened;
  const local = await openStored(store, row.sha256, row.file_name);
  try {
    opened = await openTransfer(local.path);
    meta.kind = opened.kind;
    meta.xmlEntry = opened.xmlEntryName;
    for await (const ev of opened.events()) {
      if (ev.type === 'header') meta.header = ev.header;
      else if (ev.type === 'provider') meta.providers!.push(ev.provider);
      else await stager.add(ev.object, await stageableObject(ev.object, store));
    }
    await stager.finish(meta);
  } catch (e) {
    if (isTransferError(e)) {
      await clearStaging(db, importId);
      throw permanentFailure(`${row.file_name}: ${e.message}`, e.type, e.detail ?? {});
    }
    throw e;
  } finally {
    await opened?.close();
    await local.release();
  }
  const { objects, warnings, chunkStarts } = stager;
  deps.log.info({ tenant: row.tenant_id, importId, objects, warnings, chunks: chunkStarts.length }, 'parsed');
  return { objects, warnings, chunkStarts, umfang: meta.header?.umfang ?? null };
}

/**
 * Stages objects in batches bounded by count and by bytes, so big objects never pile up in memory,
 * and marks where each apply chunk starts (bounded by the tenant's chunk size and by bytes).
 */
class Stager {
  objects = 0;
  warnings = 0;
  readonly chunkStarts: number[] = [];
  private chunkCount = 0;
  private chunkBytes = 0;
  private batch: StagedInsert[] = [];
  private batchBytes = 0;

  constructor(
    private readonly db: Db,
    private readonly importId: number,
    private readonly chunkSize: number,
  ) {}

  async add(o: TransferObject, payload: string): Promise<void> {
    this.objects++;
    this.warnings += o.warnings.length;
    this.batch.push({ import_id: this.importId, position: o.position, source_id: o.sourceId, payload });
    this.batchBytes += payload.length;
    this.chunkBytes += payload.length;
    if (this.chunkStarts.length === 0 || this.chunkCount >= this.chunkSize || this.chunkBytes > CHUNK_BYTES) {
      this.chunkStarts.push(o.position);
      this.chunkCount = 0;
      this.chunkBytes = payload.length;
    }
    this.chunkCount++;
    if (this.batch.length >= 200 || this.batchBytes >= 8 * 1024 * 1024) await this.flush();
  }

  private async flush(): Promise<void> {
    if (this.batch.length) await stageObjects(this.db, this.batch);
    this.batch = [];
    this.batchBytes = 0;
    heartbeatSafe({ objects: this.objects });
  }

  /** The last batch and the ledger's totals in one statement (a one-object file: one round trip). */
  async finish(meta: ImportMeta): Promise<void> {
    meta.chunkStarts = this.chunkStarts;
    await stageLastBatch(this.db, this.importId, this.batch, { meta, objects: this.objects, warnings: this.warnings });
    this.batch = [];
  }
}
