/** The import ledger's row (import_files) and reading it by id. */
import type { ApplicationFailure } from '@temporalio/common';
import { permanentFailure } from '../../common/error-types';
import type { ObjectCounts } from '../../common/messages';
import type { ProviderInfo, TransferHeader } from '../../openimmo/types';
import type { Knex } from 'knex';
import type { Db } from '../db';

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
  warnings?: number;
  error_type: string | null;
  error_message: string | null;
  notes?: string[];
}

/** What parsing learned about the file (import_files.meta). */
export interface ImportMeta {
  kind?: 'xml' | 'zip';
  xmlEntry?: string | null;
  header?: TransferHeader | null;
  providers?: ProviderInfo[];
  /**
   * Where each apply chunk starts: written with the last staged batch, so it marks a parse that
   * completed. A parse run again after that (a worker that took over a small file's workflow runs its
   * local steps again from the last one Temporal recorded) keeps the staging and its outcomes.
   */
  chunkStarts?: number[];
}

/** The failure for an import id the ledger does not have: no retry can make it appear. */
export function unknownImport(importId: number): ApplicationFailure {
  return permanentFailure(`import ${importId} does not exist`, 'UnknownImport');
}

/** The ledger row of an import (one query); an unknown id fails for good (UnknownImport). */
export async function loadImport(db: Db, importId: number): Promise<ImportRow> {
  const row = await db('import_files').where({ id: importId }).first();
  if (!row) throw unknownImport(importId);
  return row as ImportRow;
}

/** The object counts the ledger row holds (its count columns), as one ObjectCounts. */
export function countsOfRow(r: Record<string, unknown>): ObjectCounts {
  const n = r as Record<string, number>;
  return {
    total: n.objects_total,
    created: n.created,
    updated: n.updated,
    unchanged: n.unchanged,
    archived: n.archived,
    stale: n.stale,
    rejected: n.rejected,
  };
}

/** The ledger row's count columns for these counts. */
export function countColumns(c: ObjectCounts) {
  return { objects_total: c.total, created: c.created, updated: c.updated, unchanged: c.unchanged, archived: c.archived, stale: c.stale, rejected: c.rejected };
}

/** The content hash of an import's file (null before the fetch); undefined for an unknown id. */
export async function importSha256(db: Db, importId: number): Promise<{ sha256: string | null } | undefined> {
  return db('import_files').where({ id: importId }).first('sha256');
}

/** Replaces the ledger row's notes (a JSON list). */
export async function setImportNotes(db: Knex, importId: number, notes: string[]): Promise<void> {
  await db('import_files')
    .where({ id: importId })
    .update({ notes: JSON.stringify(notes) });
}
