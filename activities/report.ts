/** The plain-text report written beside a failed or partial file (failed/ or processed/). Ids and messages only. */
import type { FinishOutcome, ObjectCounts } from '../common/messages';
import { printableName } from '../common/remote-names';
import type { ImportRow } from '../db/ledger/row';

export function renderReport(
  row: ImportRow,
  status: string,
  outcome: FinishOutcome,
  counts: ObjectCounts,
  messages: { position: number; source_id: string | null; outcome: string; messages: string[] }[],
  notes: string[] = [],
): string {
  const lines = [
    `imv-import report`,
    `file:      ${printableName(row.file_name)}`,
    `import id: ${row.id}`,
    `tenant:    ${row.tenant_id}`,
    `sha256:    ${row.sha256 ?? '-'}`,
    `status:    ${status}`,
  ];
  if (outcome.kind === 'failed') lines.push(`error:     ${outcome.errorType}: ${outcome.message}`);
  lines.push(
    `objects:   ${counts.total} (created ${counts.created}, updated ${counts.updated}, unchanged ${counts.unchanged}, archived ${counts.archived}, stale ${counts.stale}, rejected ${counts.rejected})`,
  );
  for (const m of messages) {
    for (const text of m.messages) lines.push(`object #${m.position} (id ${m.source_id ?? 'none'}) ${m.outcome}: ${text}`);
  }
  for (const n of notes) lines.push(`note: ${n}`);
  lines.push('', `Replay after fixing the cause: imv-import replay ${row.id}`);
  return lines.join('\n') + '\n';
}
