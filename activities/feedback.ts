/**
 * OpenImmo-Feedback (format 1.2.5) written to the tenant's FTP feedback/ folder after each file,
 * so the sending side can show which objects arrived. Per object: its ids and import status; per
 * error: object id, number and text. Only ids, statuses and messages: no contact data.
 */
import type { ObjectOutcome } from '../db/ledger/objects';
import type { ImportRow } from '../db/ledger/row';
import { printableName } from '../common/remote-names';

// Characters XML 1.0 cannot carry at all (a sender's file name or a message may hold them).
// eslint-disable-next-line no-control-regex -- control characters are what is replaced
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
const esc = (s: string) => s.replace(NOT_XML, '\uFFFD').replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const el = (name: string, value: string | number | null | undefined) =>
  value === null || value === undefined || value === '' ? `<${name}/>` : `<${name}>${esc(String(value))}</${name}>`;

/** Error numbers in the feedback: stable per kind of problem. */
export const FEEDBACK_ERROR_NUMBERS: Record<string, number> = {
  rejected: 100,
  'not-found': 101,
  stale: 102,
  file: 200,
};

type FileError = { errorType: string; message: string } | null;

/**
 * The feedback document for objects held in memory (a small import): the same text as
 * feedbackChunks over one page.
 */
export function buildFeedback(row: ImportRow, status: string, fileError: FileError, objects: ObjectOutcome[]): string {
  const problems = objects.filter((o) => o.messages.length > 0);
  return [feedbackHead(row), ...objects.map((o) => objekt(row, o)), feedbackTail(row, status, fileError, problems)].join('\n') + '\n';
}

/**
 * The feedback document in pieces, for a big import whose objects are read page by page: the
 * text is streamed to the server, never built whole in memory. `problems` are the objects with
 * messages (the error list that follows the objects).
 */
export async function* feedbackChunks(
  row: ImportRow,
  status: string,
  fileError: FileError,
  pages: AsyncIterable<ObjectOutcome[]>,
  problems: ObjectOutcome[],
): AsyncGenerator<string> {
  yield feedbackHead(row) + '\n';
  for await (const page of pages) if (page.length) yield page.map((o) => objekt(row, o)).join('\n') + '\n';
  yield feedbackTail(row, status, fileError, problems) + '\n';
}

function feedbackHead(row: ImportRow): string {
  const provider = row.meta.providers?.[0];
  const now = new Date();
  const datum = `${String(now.getUTCDate()).padStart(2, '0')}.${String(now.getUTCMonth() + 1).padStart(2, '0')}.${now.getUTCFullYear()}`;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<openimmo_feedback>',
    el('version', '1.2.5'),
    '<sender>',
    el('name', 'imv-import'),
    el('openimmo_anid', provider?.openimmoAnid ?? null),
    el('datum', datum),
    el('makler_id', row.tenant_id),
    '</sender>',
  ].join('\n');
}

function objekt(row: ImportRow, o: ObjectOutcome): string {
  return [
    '<objekt>',
    el('anbieter_id', row.meta.providers?.[0]?.anbieternr ?? null),
    el('oobj_id', o.source_id ?? `position-${o.position}`),
    el('zusatz_refnr', o.external_number),
    `<user_defined_simplefield feldname="imv_import_status">${esc(o.outcome)}</user_defined_simplefield>`,
    `<user_defined_simplefield feldname="imv_import_datei">${esc(printableName(row.file_name))}</user_defined_simplefield>`,
    '</objekt>',
  ].join('\n');
}

function feedbackTail(row: ImportRow, status: string, fileError: FileError, problems: ObjectOutcome[]): string {
  const out: string[] = [];
  const errors: string[] = [];
  if (fileError) {
    errors.push(
      `<fehler>${el('objekt_id', null)}${el('fehlernr', FEEDBACK_ERROR_NUMBERS.file)}${el('text', `${printableName(row.file_name)}: ${fileError.errorType}: ${fileError.message}`)}</fehler>`,
    );
  }
  for (const o of problems) {
    const nr = FEEDBACK_ERROR_NUMBERS[o.outcome];
    if (nr === undefined) continue;
    for (const m of o.messages)
      errors.push(`<fehler>${el('objekt_id', o.source_id ?? `position-${o.position}`)}${el('fehlernr', nr)}${el('text', m)}</fehler>`);
  }
  if (errors.length) out.push('<fehlerliste>', ...errors, '</fehlerliste>');
  out.push(`<user_defined_simplefield feldname="imv_import_dateistatus">${esc(status)}</user_defined_simplefield>`);
  out.push('</openimmo_feedback>');
  return out.join('\n');
}
