/**
 * Replay: an earlier or failed import runs again through the whole pipeline under a new workflow
 * id; the ledger records the new outcome beside the old one (replay_of). Staleness keeps an old
 * file from overwriting newer data.
 */
import type { Client } from '@temporalio/client';
import { WorkflowIdReusePolicy, WorkflowNotFoundError } from '@temporalio/client';
import type { AppConfig } from '../config/config';
import type { Db } from '../db/db';
import { fileSearchAttributes } from '../common/search-attributes';
import { DEFAULT_STUCK_AFTER_SECONDS, findStuckImports } from '../db/stuck';
import { failedImportIdsToReplay, importById } from '../db/ops-imports';
import { formatAge } from './stuck';
import { followFiles } from './progress';

const refuse = (message: string) => Object.assign(new Error(message), { exitCode: 1 });

async function workflowStillRunning(client: Client, workflowId: string): Promise<boolean> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  } catch (e) {
    if (e instanceof WorkflowNotFoundError) return false;
    throw e;
  }
}

/**
 * Starts a replay of one import. `tenant`: the import must belong to it. An import still in status
 * `importing` is replayed only when it is stuck (older than `stuckAfterSeconds`) and its workflow no
 * longer runs: otherwise the same file would be imported twice at once.
 */
export async function startReplay(cfg: AppConfig, client: Client, db: Db, importId: number, o: { tenant?: string; stuckAfterSeconds?: number } = {}) {
  const row = await importById(db, importId);
  if (!row) throw refuse(`no import with id ${importId}`);
  if (o.tenant && row.tenant_id !== o.tenant) throw refuse(`import ${importId} belongs to tenant ${row.tenant_id}, not ${o.tenant}`);
  if (row.status === 'importing') {
    const stuckAfter = o.stuckAfterSeconds ?? DEFAULT_STUCK_AFTER_SECONDS;
    const [stuck] = await findStuckImports(db, { stuckAfterSeconds: stuckAfter, ids: [importId] });
    if (!stuck) throw refuse(`import ${importId} is still running (${row.workflow_id}); it counts as stuck after ${formatAge(stuckAfter)} in status importing`);
    if (await workflowStillRunning(client, row.workflow_id)) {
      throw refuse(
        `import ${importId} has been importing for ${formatAge(stuck.ageSeconds)} and its workflow ${row.workflow_id} is still running: ` +
          `look at it in the Temporal UI; if it hangs, terminate it (temporal workflow terminate --workflow-id '${row.workflow_id}') and replay again`,
      );
    }
  }
  // Millisecond time plus a short random part: two replays of one import never collide.
  const stamp = new Date().toISOString().replace(/[-:]/g, '') + '-' + Math.random().toString(36).slice(2, 6);
  const workflowId = `import-replay/${row.tenant_id}/${stamp}/${row.file_name}/of-${importId}`;
  const handle = await client.workflow.start('importFile', {
    taskQueue: cfg.temporal.taskQueue,
    workflowId,
    args: [{ tenant: row.tenant_id, replayOf: importId }],
    workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
    typedSearchAttributes: fileSearchAttributes(row.tenant_id, row.file_name),
    staticSummary: `Replay of import ${importId}: ${row.file_name} for tenant ${row.tenant_id}`,
  });
  return { handle, workflowId, importId };
}

export async function replayImports(
  cfg: AppConfig,
  client: Client,
  db: Db,
  o: { ids: number[]; tenant?: string; failed?: { tenant: string; since?: string; until?: string }; wait: boolean; stuckAfterSeconds?: number },
): Promise<number> {
  const ids = [...o.ids];
  if (o.failed) {
    const { tenant, since, until } = o.failed;
    ids.push(...(await failedImportIdsToReplay(db, { tenant, since: since ? new Date(since) : undefined, until: until ? new Date(until) : undefined })));
  }
  if (!ids.length) {
    console.log('nothing to replay');
    return 0;
  }
  let code = 0;
  const started = [];
  for (const id of ids) {
    const s = await startReplay(cfg, client, db, id, { tenant: o.tenant, stuckAfterSeconds: o.stuckAfterSeconds });
    console.log(`replaying import ${id} as ${s.workflowId}`);
    started.push(s);
  }
  if (!o.wait) return 0;
  const settled = await followFiles(
    started.map((s) => ({ label: `import ${s.importId}`, handle: s.handle })),
    process.stderr,
  );
  started.forEach((s, i) => {
    const r = settled[i];
    if (r.status === 'fulfilled') {
      const { counts: n, outcome } = r.value;
      console.log(
        `import ${s.importId} → new import ${r.value.importId}: ${outcome} (${n.total} objects: ${n.created} created, ${n.updated} updated, ${n.unchanged} unchanged, ${n.stale} stale, ${n.rejected} rejected)`,
      );
      if (outcome === 'partial' && code === 0) code = 2;
    } else {
      const e = r.reason as Error & { cause?: Error };
      console.log(`import ${s.importId}: failed again: ${e.cause?.message ?? e.message}`);
      code = 1;
    }
  });
  return code;
}
