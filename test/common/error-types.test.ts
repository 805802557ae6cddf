/** The permanent failure types (common/error-types.ts): the reader's and the pipeline's, in the order workflows have always used. */
import { describe, expect, it } from 'vitest';
import { isPermanentErrorType, PERMANENT_ERROR_TYPES, permanentFailure } from '../../common/error-types';
import { TransferError, type TransferErrorType } from '../../openimmo/errors';

describe('permanent error types', () => {
  it('are the list the workflows retried by before it moved here, in the same order', () => {
    expect(PERMANENT_ERROR_TYPES).toEqual([
      'MalformedXml',
      'NotOpenImmo',
      'EncodingError',
      'ZipRejected',
      'TooLarge',
      'UnknownImport',
      'BadInput',
      'Unreadable',
      'DataError',
    ]);
  });

  it("hold every type of the reader's errors", () => {
    const reader: TransferErrorType[] = ['MalformedXml', 'NotOpenImmo', 'EncodingError', 'ZipRejected', 'TooLarge'];
    for (const t of reader) expect(isPermanentErrorType(new TransferError(t, 'x').type)).toBe(true);
  });

  it('anything else is retried', () => {
    for (const t of [undefined, null, '', 'Transient', 'Error', 'malformedxml']) expect(isPermanentErrorType(t)).toBe(false);
  });

  it('permanentFailure is non-retryable, with its type and details', () => {
    const f = permanentFailure('m', 'BadInput', { line: 3 });
    expect([f.nonRetryable, f.type, f.message, f.details]).toEqual([true, 'BadInput', 'm', [{ line: 3 }]]);
    expect(permanentFailure('m', 'DataError').details).toEqual([]);
  });
});
