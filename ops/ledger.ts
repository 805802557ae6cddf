/** The import ledger as ops see it (`imv-import imports`). */
import type { Db } from '../db/db';
import { DEFAULT_STUCK_AFTER_SECONDS } from '../db/stuck';
import { importObjectRows, importRows } from '../db/ops-imports';
import { countsOfRow } from '../db/ledger/row';

export interface ImportView {
  id: number;
  tenant: string;
  file: string;
  status: string;
  startedAt: string;
  finishedAt: string | null;
  sha256: string | null;
  size: number;
  counts: { total: number; created: number; updated: number; unchanged: number; archived: number; stale: number; rejected: number };
  error: { type: string; message: string } | null;
  workflowId: string;
  runId: string | null;
  replayOf: number | null;
  duplicateOf: number | null;
  archivedPath: string | null;
  /** File-level notes that are not errors (mirror refused or applied …). */
  notes: string[];
  objects?: { position: number; sourceId: string | null; action: string | null; outcome: string; messages: string[] }[];
}

/** Statuses of the ledger, plus `stuck`: `importing` for longer than the stuck limit (db/stuck.ts). */
export const IMPORT_STATUSES = ['importing', 'imported', 'partial', 'failed', 'duplicate', 'error', 'stuck'] as const;

export async function listImports(
  db: Db,
  o: { tenant?: string; status?: string; limit?: number; objects?: boolean; ids?: number[]; stuckAfterSeconds?: number },
): Promise<ImportView[]> {
  const rows = await importRows(db, {
    tenant: o.tenant,
    status: o.status,
    limit: o.limit,
    ids: o.ids,
    stuckAfterSeconds: o.status === 'stuck' ? (o.stuckAfterSeconds ?? DEFAULT_STUCK_AFTER_SECONDS) : undefined,
  });
  const views: ImportView[] = rows.map((r) => ({
    id: r.id,
    tenant: r.tenant_id,
    file: r.file_name,
    status: r.status,
    startedAt: new Date(r.started_at).toISOString(),
    finishedAt: r.finished_at ? new Date(r.finished_at).toISOString() : null,
    sha256: r.sha256,
    size: r.size,
    counts: countsOfRow(r as unknown as Record<string, unknown>),
    error: r.error_type ? { type: r.error_type, message: r.error_message as string } : null,
    workflowId: r.workflow_id,
    runId: r.run_id,
    replayOf: r.replay_of,
    duplicateOf: r.duplicate_of,
    archivedPath: r.archived_path,
    notes: r.notes ?? [],
  }));
  if (o.objects && views.length) {
    // Per chunk of imports: no statement carries more ids than that (PostgreSQL's bind-parameter limit).
    for (let i = 0; i < views.length; i += 1000) {
      const chunk = views.slice(i, i + 1000);
      const byImport = new Map<number, NonNullable<ImportView['objects']>>();
      for (const v of chunk) byImport.set(v.id, (v.objects = []));
      const objs = await importObjectRows(
        db,
        chunk.map((v) => v.id),
      );
      for (const x of objs)
        byImport.get(x.import_id)!.push({ position: x.position, sourceId: x.source_id, action: x.action, outcome: x.outcome, messages: x.messages });
    }
  }
  return views;
}

export function formatImports(rows: ImportView[], withObjects: boolean): string {
  if (!rows.length) return 'no imports yet';
  const head = ['ID', 'STARTED', 'TENANT', 'FILE', 'STATUS', 'OBJ', 'NEW', 'UPD', 'SAME', 'ARCH', 'STALE', 'REJ', 'WORKFLOW / MESSAGE'];
  const lines = rows.map((r) => [
    String(r.id),
    r.startedAt.replace('T', ' ').slice(0, 19),
    r.tenant,
    r.file,
    r.status + (r.replayOf ? ` (replay of ${r.replayOf})` : '') + (r.duplicateOf ? ` (of ${r.duplicateOf})` : ''),
    String(r.counts.total),
    String(r.counts.created),
    String(r.counts.updated),
    String(r.counts.unchanged),
    String(r.counts.archived),
    String(r.counts.stale),
    String(r.counts.rejected),
    r.error ? `${r.error.type}: ${r.error.message}` : r.workflowId,
  ]);
  const widths = head.map((h, i) => Math.min(48, Math.max(h.length, ...lines.map((l) => l[i].length))));
  const fmt = (cols: string[]) => cols.map((c, i) => (i === cols.length - 1 ? c : c.slice(0, widths[i]).padEnd(widths[i]))).join('  ');
  const out = [fmt(head), ...lines.map(fmt)];
  for (const r of rows) for (const n of r.notes) out.push(`  #${r.id} note: ${n}`);
  if (withObjects) {
    for (const r of rows) {
      for (const o of r.objects ?? []) {
        out.push(`  #${r.id}/${o.position} ${o.sourceId ?? '(no id)'} ${o.action ?? ''} ${o.outcome}${o.messages.length ? ': ' + o.messages.join('; ') : ''}`);
      }
    }
  }
  return out.join('\n');
}
