/**
 * Pure pieces behind "poison files fail alone": values made storable by PostgreSQL, names derived
 * from a sender's file name bounded and safe, the listing's time fallback and a listing that one
 * odd name cannot break.
 */
import { describe, expect, it } from 'vitest';
import { NUL_SYMBOL, pgSafe, pgSafeText } from '../../common/pg-safe';
import { archiveNames, boundedName, MAX_NAME_BYTES, printableName, truncateUtf8 } from '../../common/remote-names';
import { listTime, tolerantParseList } from '../../ftp/ftp';
import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, RetryState } from '@temporalio/common';
import { shortErrorMessage } from '../../common/error-messages';
import { asPermanentDataError } from '../../workers/interceptors';

describe('pgSafe', () => {
  it('replaces NUL and lone surrogates, leaves everything else as it is', () => {
    expect(pgSafeText('bilder/x.png\u0000../x')).toBe(`bilder/x.png${NUL_SYMBOL}../x`);
    expect(pgSafeText('a\uD800b')).toBe('a\uFFFDb');
    expect(pgSafeText('a\uDC00b')).toBe('a\uFFFDb');
    expect(pgSafeText('👍 Köln €')).toBe('👍 Köln €');
    const plain = 'nothing to do';
    expect(pgSafeText(plain)).toBe(plain);
  });

  it('escaped NULs in JSON text become ␀, an escaped backslash before u0000 is left alone', () => {
    const json = JSON.stringify({ name: 'a\u0000b', path: 'C:\\u0000' });
    const safe = pgSafeText(json);
    expect(JSON.parse(safe)).toEqual({ name: `a${NUL_SYMBOL}b`, path: 'C:\\u0000' });
    expect(pgSafeText('"\\u0000\\u0000"')).toBe('"\\u2400\\u2400"');
  });

  it('reaches into arrays and plain objects, not into buffers or dates', () => {
    const buf = Buffer.from([0, 1]);
    const date = new Date(0);
    expect(pgSafe(['x\u0000', { k: 'y\u0000', n: 1, b: buf, d: date }])).toEqual([`x${NUL_SYMBOL}`, { k: `y${NUL_SYMBOL}`, n: 1, b: buf, d: date }]);
    const untouched = { a: ['b'] };
    expect(pgSafe(untouched)).toBe(untouched);
  });
});

describe('names derived from a sender file name', () => {
  const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

  it('an ordinary name is kept as it is', () => {
    expect(archiveNames(42, 'imv-123.xml')).toEqual({ archived: '42-imv-123.xml', report: '42-imv-123.xml.report.txt', feedback: '42-imv-123-feedback.xml' });
  });

  it('long names stay within 255 bytes, keep their start and extension, and differ by a hash', () => {
    for (const len of [240, 252, 255]) {
      const a = archiveNames(123456, `${'ä'.repeat(len)}.xml`);
      for (const n of Object.values(a)) expect(bytes(n)).toBeLessThanOrEqual(MAX_NAME_BYTES);
      expect(a.archived).toMatch(/^123456-ä+~[0-9a-f]{10}\.xml$/);
      expect(a.report).toBe(`${a.archived}.report.txt`);
    }
    const one = archiveNames(1, `${'x'.repeat(250)}a.xml`).archived;
    const two = archiveNames(1, `${'x'.repeat(250)}b.xml`).archived;
    expect(one).not.toBe(two);
  });

  it('control characters, quotes and slashes are replaced, and the hash says the name was changed', () => {
    const n = boundedName('7-', 'a"b\r\nc/d\\e\u0000.xml');
    expect(n).toMatch(/^7-a_b__c_d_e_~[0-9a-f]{10}\.xml$/);
  });

  it('never cuts a character in two', () => {
    expect(truncateUtf8('a👍b', 3)).toBe('a');
    expect(truncateUtf8('a👍b', 5)).toBe('a👍');
  });

  it('printable names show control characters as escapes', () => {
    expect(printableName('a\nb\u0000c.xml')).toBe('a\\x0ab\\x00c.xml');
  });
});

describe('the listing', () => {
  it('takes a time from an ls line when MDTM is refused', () => {
    const now = Date.UTC(2026, 11, 1, 12, 0);
    expect(listTime('Nov 27 08:12', now)?.toISOString()).toBe('2026-11-27T08:12:00.000Z');
    expect(listTime('Dec 24 08:12', now)?.toISOString()).toBe('2025-12-24T08:12:00.000Z');
    expect(listTime('Nov 27  2024', now)?.toISOString()).toBe('2024-11-27T00:00:00.000Z');
    expect(listTime('yesterday', now)).toBeNull();
  });

  it('a name with a line break cannot break the listing of the others', () => {
    const raw = [
      '-rw-r--r--    1 1000     1000          120 Nov 27 08:12 good-1.xml',
      '-rw-r--r--    1 1000     1000          130 Nov 27 08:13 evil',
      'name.xml',
      '-rw-r--r--    1 1000     1000          140 Nov 27 08:14 good-2.xml',
      '-rw-r--r--    1 1000     1000          150 Nov 27 08:15 tail-first',
      ' x.xml',
    ].join('\r\n');
    expect(tolerantParseList(raw).map((f) => [f.name, f.size])).toEqual([
      ['good-1.xml', 120],
      ['evil', 130],
      ['good-2.xml', 140],
      ['tail-first', 150],
    ]);
    expect(() => tolerantParseList('what\nis this')).toThrow(/unrecognised directory listing/);
    expect(tolerantParseList('total 0\r\n')).toEqual([]);
  });
});

describe('CLI messages for a failed workflow', () => {
  it('name the activity and its error, not just "Workflow execution failed"', () => {
    const app = ApplicationFailure.create({ message: "Can't parse response to command 'SIZE x.xml' as a numerical value: 213 File status", type: 'Error' });
    const act = new ActivityFailure('Activity task failed', 'listTransfers', '1', RetryState.MAXIMUM_ATTEMPTS_REACHED, 'w', app);
    const wf = new WorkflowFailedError('Workflow execution failed', act, RetryState.NON_RETRYABLE_FAILURE);
    expect(shortErrorMessage(wf)).toBe(
      "workflow failed: activity listTransfers: Can't parse response to command 'SIZE x.xml' as a numerical value: 213 File status",
    );
  });
});

describe('a PostgreSQL data exception in an activity', () => {
  it('becomes a non-retryable DataError with a short message, never the SQL; other errors stay as they are', () => {
    const pgError = Object.assign(new Error('insert into "import_files" ("x") values ($1) - invalid byte sequence for encoding "UTF8": 0x00'), {
      code: '22021',
      severity: 'ERROR',
    });
    const converted = asPermanentDataError(pgError);
    expect(converted?.type).toBe('DataError');
    expect(converted?.nonRetryable).toBe(true);
    expect(converted?.message).toBe('PostgreSQL refused a value (SQLSTATE 22021): invalid byte sequence for encoding "UTF8": 0x00');
    expect(asPermanentDataError(Object.assign(new Error('deadlock detected'), { code: '40P01', severity: 'ERROR' }))).toBeNull();
    expect(asPermanentDataError(new Error('socket hang up'))).toBeNull();
  });
});
