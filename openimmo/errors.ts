/**
 * Typed, permanent errors of the reader. `type` is stable: it becomes the Temporal
 * ApplicationFailure type, the ledger's error type and the failed/ report's heading.
 */
export type TransferErrorType =
  | 'MalformedXml' // not well-formed XML (truncated, garbage, undefined entity, DTD …)
  | 'NotOpenImmo' // well-formed XML but not an <openimmo> transfer
  | 'EncodingError' // bytes invalid for the declared/detected encoding, or an unsupported encoding
  | 'ZipRejected' // ZIP rules broken: no/several XML, traversal, absolute path, symlink, bomb limits
  | 'TooLarge'; // a limit of the reader was exceeded (object size, field length, file size)

export class TransferError extends Error {
  override readonly name = 'TransferError';
  constructor(
    readonly type: TransferErrorType,
    message: string,
    /** Optional detail: line/column, zip entry, limit that was hit. No personal data. */
    readonly detail?: Record<string, string | number>,
  ) {
    super(message);
  }
}

export function isTransferError(e: unknown): e is TransferError {
  return e instanceof TransferError || (e instanceof Error && e.name === 'TransferError' && 'type' in e);
}
