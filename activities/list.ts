/** listTransfers: the tenant's finished uploads that are not imported yet. */
import type { ListTransfersResult } from '../common/messages';
import { fileWorkflowId } from '../common/file-ids';
import { printableName } from '../common/remote-names';
import { tenantOf } from '../config/config';
import { finishedWorkflowIds } from '../db/ledger/list';
import { recordInboxListing } from '../db/inbox';
import { listFinishedUploads } from '../ftp/ftp';
import type { ActivityDeps } from './deps';
import { accessFor, ftpSession } from './ftp-session';

export async function listTransfers(deps: ActivityDeps, { tenant }: { tenant: string }): Promise<ListTransfersResult> {
  const t = tenantOf(deps.cfg, tenant);
  const access = accessFor(deps, tenant);
  const listed = await ftpSession(deps, tenant, (c) =>
    listFinishedUploads(c, access.baseDir, {
      minAgeMs: t.options.minFileAgeSeconds * 1000,
      stableCheckMs: t.options.stableCheckMs,
    }),
  );
  // A file whose import finished but that the server would not let us move (its name, its
  // permissions) is still in the inbox: its ledger row is final, so it is never imported again.
  const ids = listed.map((f) => fileWorkflowId(tenant, f));
  const finished = await finishedWorkflowIds(deps.db, ids);
  const files = listed.filter((_f, i) => !finished.has(ids[i]));
  const leftInInbox = listed.length - files.length;
  for (const f of files) if (f.note) deps.log.warn({ tenant, file: printableName(f.name), note: f.note }, 'inbox entry listed with fallbacks');
  if (leftInInbox) deps.log.warn({ tenant, files: leftInInbox }, 'finished imports whose files could not leave the inbox: not imported again');
  deps.log.info({ tenant, files: files.length }, 'listed inbox');
  // For the workers' inbox gauges and `imv-import status` (files are sorted oldest first).
  await recordInboxListing(deps.db, tenant, { files: files.length, oldestMtime: files[0]?.mtime ?? null });
  return { files, maxConcurrentFiles: t.options.maxConcurrentFiles, ...(leftInInbox ? { leftInInbox } : {}) };
}
