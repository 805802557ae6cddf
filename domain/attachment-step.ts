/** The attachments step's rules: when a chunk gives it work, and in which order an estate's set is written. */
import type { AttachmentRef, TransferObject } from '../openimmo/types';

/** TITELBILD first, then document order (a stable sort keeps the rest as sent). */
export function orderAttachments(list: AttachmentRef[]): AttachmentRef[] {
  return [...list].sort((a, b) => Number(b.group === 'TITELBILD') - Number(a.group === 'TITELBILD') || a.position - b.position);
}

/**
 * Whether the attachments step has work for a chunk, from the estates step's outcomes: a new estate
 * with pictures gets its set, an updated one has its set replaced (emptied when it sent none). New
 * estates without pictures (IMV's usual one-object file) and everything not applied need nothing.
 * The estates step reports it, so the workflow can leave the step out; the step itself uses it too.
 */
export function needsAttachmentStep(rows: { outcome: string | null; payload: Pick<TransferObject, 'action' | 'attachments'> }[]): boolean {
  return rows.some((r) => r.payload.action !== 'DELETE' && (r.outcome === 'updated' || (r.outcome === 'created' && r.payload.attachments.length > 0)));
}
