/**
 * Names we derive from a sender's file name: the archived copy in processed/ or failed/, its report,
 * the OpenImmo-Feedback document. The sender's name may be anything a server stores: 255 bytes,
 * quotes, control characters, bytes that are not UTF-8. A derived name must still be one a server
 * accepts and an FTP command can carry:
 * - at most 255 bytes (NAME_MAX on common file systems), suffixes included;
 * - no control characters (CR/LF would end the FTP command) and no `"` (some servers, among them
 *   ftp-srv, drop it from a command line), no `/` or `\`;
 * - never starting with `-` (servers may read it as a LIST flag): the import id comes first.
 * A name that had to be changed keeps its start and its extension and gets `~` + 10 hex digits of
 * the original name's sha256, so two long names with the same start still differ.
 */
import { createHash } from 'node:crypto';

export const MAX_NAME_BYTES = 255;

const REPORT_SUFFIX = '.report.txt';
const FEEDBACK_SUFFIX = '-feedback.xml';
// eslint-disable-next-line no-control-regex -- control characters are what is replaced
const UNSAFE = /[\u0000-\u001f\u007f-\u009f"/\\\u2028\u2029\uFFFD]/g;
const EXTENSION = /\.(xml|zip)$/i;

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** The longest prefix of `s` of at most `max` UTF-8 bytes, never cutting a character in two. */
export function truncateUtf8(s: string, max: number): string {
  if (bytes(s) <= max) return s;
  let out = '';
  let used = 0;
  for (const ch of s) {
    const n = bytes(ch);
    if (used + n > max) break;
    out += ch;
    used += n;
  }
  return out;
}

/**
 * `prefix + name + suffix` within `maxBytes`, with unsafe characters replaced. The extension
 * (.xml/.zip) survives shortening.
 */
export function boundedName(prefix: string, name: string, suffix = '', maxBytes = MAX_NAME_BYTES): string {
  const safe = name.replace(UNSAFE, '_');
  const whole = `${prefix}${safe}${suffix}`;
  if (safe === name && bytes(whole) <= maxBytes) return whole;
  const hash = `~${createHash('sha256').update(name, 'utf8').digest('hex').slice(0, 10)}`;
  const ext = EXTENSION.exec(safe)?.[0] ?? '';
  const stem = ext ? safe.slice(0, -ext.length) : safe;
  const room = maxBytes - bytes(prefix) - bytes(hash) - bytes(ext) - bytes(suffix);
  if (room < 0) throw new Error(`no room for a name with prefix ${prefix} and suffix ${suffix}`);
  return `${prefix}${truncateUtf8(stem, room)}${hash}${ext}${suffix}`;
}

export interface ArchiveNames {
  /** The file in processed/ or failed/: `<import id>-<name>`. */
  archived: string;
  /** Its report beside it: `<archived>.report.txt`. */
  report: string;
  /** In feedback/: `<import id>-<name without .xml/.zip>-feedback.xml`. */
  feedback: string;
}

export function archiveNames(importId: number, fileName: string): ArchiveNames {
  // The archived name leaves room for the report suffix, so the report sits beside it by name.
  const archived = boundedName(`${importId}-`, fileName, '', MAX_NAME_BYTES - bytes(REPORT_SUFFIX));
  const stem = fileName.replace(EXTENSION, '');
  return {
    archived,
    report: `${archived}${REPORT_SUFFIX}`,
    feedback: boundedName(`${importId}-`, stem, FEEDBACK_SUFFIX),
  };
}

/** A sender's name as readable ASCII for messages: non-printable characters as \xNN / \u{…}. */
export function printableName(name: string): string {
  // eslint-disable-next-line no-control-regex -- control characters are what is escaped
  return name.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
