/**
 * The content-addressed file store: fetched transfers and attachments, by sha256. Fetch, parse and
 * the attachment step must all see the same store. Two kinds:
 * - `fs`: a directory (store/fs-store.ts); one host, or a volume every worker mounts. The default,
 *   and what `imv-import dev` uses.
 * - `postgres`: chunked blobs in the database every worker already shares (store/pg-store.ts), so
 *   workers on several machines share no disk.
 * Both are written streaming (a 200 MB transfer never sits in memory), never show a half-written
 * blob, and store the same content once. This module is the interface both implement; store/open-store.ts
 * opens the one the configuration names.
 */
import type { Readable } from 'node:stream';

export interface Stored {
  sha256: string;
  size: number;
}

export interface StoredBlob extends Stored {
  /** When the content was last stored or touched: garbage collection keeps anything more recent than its grace period. */
  usedAt: Date;
}

/** A local file with a blob's content, for readers that need random access (ZIP); release it when done. */
export interface LocalCopy {
  path: string;
  release(): Promise<void>;
}

export type FileStoreKind = 'fs' | 'postgres';

export interface FileStore {
  readonly kind: FileStoreKind;
  /** Stores a stream as it arrives: its sha256 and size. Storing content that is there already changes nothing. */
  put(source: AsyncIterable<Buffer> | Readable): Promise<Stored>;
  putBuffer(buf: Buffer): Promise<Stored>;
  /** The content as a stream; a `NotStoredError` when the store does not have it. */
  get(sha256: string): Promise<Readable>;
  has(sha256: string): Promise<boolean>;
  /** Whether the store has it, and if so marks it used now (so a collection running meanwhile keeps it). */
  touch(sha256: string): Promise<boolean>;
  /** Its size in bytes, or null when not stored. */
  size(sha256: string): Promise<number | null>;
  /** Removes it unless it was used after `unusedSince` (when given): whether it was removed. */
  remove(sha256: string, unusedSince?: Date): Promise<boolean>;
  /** Every stored blob, in no particular order (for garbage collection). */
  list(): AsyncIterable<StoredBlob>;
  openLocal(sha256: string): Promise<LocalCopy>;
  /** Start-up housekeeping: temp files and local copies an interrupted process left behind. */
  cleanTemp(maxAgeMs?: number): Promise<number>;
  /** This process is done with the store: its local copies go (the database pool is the caller's). */
  close(): Promise<void>;
}

export class NotStoredError extends Error {
  override readonly name = 'NotStoredError';
  constructor(readonly sha256: string) {
    super(`the file store has no content ${sha256}`);
  }
}

export function assertSha256(sha256: string): string {
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a sha256: ${sha256}`);
  return sha256;
}
