/**
 * The failure types no retry can fix, in one place: the reader's types (openimmo/errors.ts) and the
 * pipeline's own. A file that fails with one goes to failed/ with its report, and the workflow fails
 * with that type; activities retry every other failure. Workflow code imports this module: pure
 * code only (no Node built-ins, no I/O).
 */
import { ApplicationFailure } from '@temporalio/common';
import type { TransferErrorType } from '../openimmo/errors';

/**
 * The reader's types, each once: a Record, so that the compiler asks for a type the reader gains
 * (and refuses one it no longer has).
 */
const READER_ERROR_TYPES: Record<TransferErrorType, true> = {
  MalformedXml: true,
  NotOpenImmo: true,
  EncodingError: true,
  ZipRejected: true,
  TooLarge: true,
};

/** The pipeline's own permanent failure types. */
export const PIPELINE_ERROR_TYPES = [
  // An import id the ledger does not have (or a replay of another tenant's import).
  'UnknownImport',
  // An activity's input no retry can make valid (a begin without file or replayOf, a parse before the fetch).
  'BadInput',
  // The FTP server refuses to send the file (5xx on RETR): it stays on the server.
  'Unreadable',
  // PostgreSQL refused a value (SQLSTATE class 22): the same statement would be refused again.
  'DataError',
] as const;

export type PermanentErrorType = TransferErrorType | (typeof PIPELINE_ERROR_TYPES)[number];

/**
 * Every permanent type, the reader's first, in the order the workflows' retry policies have always
 * listed them (nonRetryableErrorTypes).
 */
export const PERMANENT_ERROR_TYPES: PermanentErrorType[] = [...(Object.keys(READER_ERROR_TYPES) as TransferErrorType[]), ...PIPELINE_ERROR_TYPES];

export function isPermanentErrorType(type: string | null | undefined): type is PermanentErrorType {
  return type != null && (PERMANENT_ERROR_TYPES as string[]).includes(type);
}

/** A non-retryable failure of a permanent type (an activity's way to say: no retry can fix this). */
export function permanentFailure(message: string, type: PermanentErrorType, details?: unknown): ApplicationFailure {
  return details === undefined ? ApplicationFailure.nonRetryable(message, type) : ApplicationFailure.nonRetryable(message, type, details);
}
