/**
 * Workflow and activity inputs/results. Only ids, paths, hashes and counts: nothing personal and
 * nothing large goes through Temporal history (design.md §4, R10). Versioned by shape: add optional
 * fields, never repurpose one.
 */

/** A finished upload in the tenant's inbox, as listed. */
export interface RemoteFile {
  /** File name in the inbox folder (no directories). */
  name: string;
  size: number;
  /** Exact modification time (MDTM), ISO-8601 UTC. */
  mtime: string;
  /**
   * Set when the server would not size or date this entry (SIZE/MDTM refused): what was used
   * instead. Absent in older histories.
   */
  note?: string;
}

export interface ImportBatchInput {
  tenant: string;
  /** Carried over continue-as-new. */
  carried?: BatchSummary;
  /** Files this batch already tried and that failed (not retried within the same batch). */
  attempted?: string[];
  /** Files per run before continue-as-new (default FILES_PER_RUN; smaller in tests). */
  filesPerRun?: number;
}

export interface ImportFileInput {
  tenant: string;
  /** A new file from the inbox … */
  file?: RemoteFile;
  /** … or an earlier import to run again (replay). */
  replayOf?: number;
}

export type FileOutcome = 'imported' | 'partial' | 'failed' | 'duplicate' | 'in-progress-elsewhere' | 'error';

export interface ObjectCounts {
  total: number;
  created: number;
  updated: number;
  unchanged: number;
  archived: number;
  stale: number;
  rejected: number;
}

export interface ImportFileResult {
  importId: number;
  outcome: FileOutcome;
  fileName: string;
  counts: ObjectCounts;
}

export interface BatchSummary {
  tenant: string;
  files: number;
  imported: number;
  partial: number;
  failed: number;
  duplicate: number;
  skipped: number;
  objects: ObjectCounts;
  /** Per file: name, outcome, import id (ids only). */
  results: { name: string; outcome: FileOutcome; importId: number | null; workflowId: string }[];
  runs: number;
}

export interface ListTransfersResult {
  files: RemoteFile[];
  maxConcurrentFiles: number;
  /** Files still in the inbox whose import already finished (the server refused to move them). */
  leftInInbox?: number;
}

export interface BeginImportInput {
  tenant: string;
  file?: RemoteFile;
  replayOf?: number;
  workflowId: string;
  runId: string;
}

export interface BeginImportResult {
  importId: number;
  fileName: string;
  /** Set when this workflow already finished this import (a re-run of a completed workflow task). */
  finished: FileOutcome | null;
  /** With `finished`: the object counts the ledger row ended with. Absent in older histories. */
  counts?: ObjectCounts;
  chunkSize: number;
  /** Heartbeat timeout for the long activities (config worker.heartbeatTimeoutSeconds); absent in old histories. */
  heartbeatTimeoutSeconds?: number;
  /** The file's size as known when it began (listing, or the ledger for a replay). */
  size?: number;
  /** Files up to this size run their steps as local activities (tenant option localStepsMaxBytes). */
  localStepsMaxBytes?: number;
  /** Mirror mode enabled for the tenant: without it the mirror step has nothing to do. */
  mirror?: boolean;
}

export interface FetchResult {
  sha256: string;
  size: number;
  /** The same content was already imported for this tenant: that import's id. */
  duplicateOf: number | null;
}

export interface ParseResult {
  objects: number;
  warnings: number;
  /**
   * First position of each apply chunk: at most the tenant's chunkSize objects and about 16 MB of
   * staged JSON each. Absent in histories written before it existed (then: fixed-size chunks).
   */
  chunkStarts?: number[];
  /** The transfer's umfang (VOLL/TEIL): the mirror step only acts on a full transfer. */
  umfang?: string | null;
}

export interface ChunkInput {
  importId: number;
  /** Positions [from, to) of staged objects. */
  from: number;
  to: number;
}

export interface ChunkResult {
  done: number;
  /** upsertEstates only: whether the attachments step has work in this chunk (see needsAttachmentStep). Absent before. */
  attachments?: boolean;
}

export type FinishOutcome = { kind: 'completed' } | { kind: 'duplicate'; duplicateOf: number } | { kind: 'failed'; errorType: string; message: string };

export interface FinishResult {
  outcome: FileOutcome;
  counts: ObjectCounts;
}

export const emptyCounts = (): ObjectCounts => ({
  total: 0,
  created: 0,
  updated: 0,
  unchanged: 0,
  archived: 0,
  stale: 0,
  rejected: 0,
});
