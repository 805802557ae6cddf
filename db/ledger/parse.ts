/** What parsing writes: staged objects in batches, and the ledger's totals with the last batch. */
import type { Db } from '../db';
import { unknownImport, type ImportMeta, type ImportRow } from './row';

/**
 * The ledger row, and what an earlier attempt staged removed, in one round trip — unless that parse
 * completed (its chunk starts are in the ledger): then the staging, with the outcomes the apply steps
 * wrote into it since, stays as it is.
 */
export async function loadImportClearingStaging(db: Db, importId: number): Promise<ImportRow> {
  const loaded = await db.raw(
    `WITH cleared AS (
       DELETE FROM staged_objects WHERE import_id = ? AND NOT EXISTS (SELECT 1 FROM import_files WHERE id = ? AND meta -> 'chunkStarts' IS NOT NULL)
     )
     SELECT * FROM import_files WHERE id = ?`,
    [importId, importId, importId],
  );
  const row = loaded.rows[0] as ImportRow | undefined;
  if (!row) throw unknownImport(importId);
  return row;
}

export interface StagedInsert {
  import_id: number;
  position: number;
  source_id: string | null;
  payload: string;
}

/** One batch of staged objects (one statement). */
export async function stageObjects(db: Db, batch: StagedInsert[]): Promise<void> {
  await db('staged_objects').insert(batch);
}

/** The last batch and the ledger's totals in one statement (a one-object file: one round trip). */
export async function stageLastBatch(
  db: Db,
  importId: number,
  batch: StagedInsert[],
  totals: { meta: ImportMeta; objects: number; warnings: number },
): Promise<void> {
  const done = { meta: JSON.stringify(totals.meta), objects_total: totals.objects, warnings: totals.warnings };
  if (!batch.length) return void (await db('import_files').where({ id: importId }).update(done));
  const insert = db('staged_objects').insert(batch).toSQL();
  await db.raw(`WITH staged AS (${insert.sql}) UPDATE import_files SET meta = ?::jsonb, objects_total = ?, warnings = ? WHERE id = ?`, [
    ...insert.bindings,
    done.meta,
    done.objects_total,
    done.warnings,
    importId,
  ]);
}

/** Removes what an import staged (a file the reader rejected). */
export async function clearStaging(db: Db, importId: number): Promise<void> {
  await db('staged_objects').where({ import_id: importId }).delete();
}
