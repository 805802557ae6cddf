/**
 * `imv-import import FILE… --wait`: upload local transfers into the tenant's inbox, run a batch
 * now through the schedule, follow it (a progress bar on a terminal), and report from the ledger.
 */
import fs from 'node:fs';
import path from 'node:path/posix';
import nodePath from 'node:path';
import type { Client } from '@temporalio/client';
import type { AppConfig } from '../config/config';
import { ftpAccessOf, tenantOf } from '../config/config';
import type { Db } from '../db/db';
import { withFtp } from '../ftp/ftp';
import { isFinalStatus } from '../common/statuses';
import { triggerBatch } from './batches';
import { followBatch } from './progress';
import { formatImports, listImports } from './ledger';

function ftpTime(d: Date): string {
  return d.toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

export async function uploadToInbox(cfg: AppConfig, tenant: string, files: string[]): Promise<string[]> {
  const t = tenantOf(cfg, tenant);
  const access = ftpAccessOf(t);
  const names: string[] = [];
  await withFtp(access, async (c) => {
    await c.ensureDir(access.baseDir);
    for (const f of files) {
      const name = nodePath.basename(f);
      // Upload under a dot-name the lister ignores, then rename: the inbox never shows half a file.
      const part = path.join(access.baseDir, `.${name}.part`);
      const final = path.join(access.baseDir, name);
      await c.uploadFrom(fs.createReadStream(f), part);
      await c.rename(part, final);
      // The file is complete: date it back past the "still uploading" age so this batch takes it.
      const past = ftpTime(new Date(Date.now() - (t.options.minFileAgeSeconds + 5) * 1000));
      try {
        await c.send(`MFMT ${past} ${final}`);
      } catch {
        try {
          await c.send(`MDTM ${past} ${final}`);
        } catch {
          /* server cannot set times: the batch waits for the minimum age instead */
        }
      }
      names.push(name);
    }
  });
  return names;
}

export async function importLocalFiles(cfg: AppConfig, client: Client, db: Db, tenant: string, files: string[], o: { wait: boolean }): Promise<number> {
  const since = new Date(Date.now() - 1000);
  const names = await uploadToInbox(cfg, tenant, files);
  console.log(`uploaded ${names.join(', ')} to the inbox of ${tenant}`);
  if (!o.wait) {
    const run = await triggerBatch(client, tenant);
    console.log(`${run.alreadyRunning ? 'a batch is already running' : 'started batch'} ${run.workflowId}`);
    return 0;
  }
  const deadline = Date.now() + (tenantOf(cfg, tenant).options.minFileAgeSeconds + 600) * 1000;
  let rows = await ledgerFor(db, tenant, names, since);
  while (!names.every((n) => rows.some((r) => r.file === n && isFinalStatus(r.status)))) {
    if (Date.now() > deadline) {
      console.error('gave up waiting: the files were not imported in time (see `imv-import imports` and the Temporal UI)');
      return 1;
    }
    const run = await triggerBatch(client, tenant);
    console.error(`${run.alreadyRunning ? 'following the running batch' : 'started batch'} ${run.workflowId}`);
    await followBatch(run, process.stderr, { label: tenant });
    rows = await ledgerFor(db, tenant, names, since);
    if (!names.every((n) => rows.some((r) => r.file === n && isFinalStatus(r.status)))) await new Promise((r) => setTimeout(r, 1000));
  }
  const mine = names.map((n) => rows.filter((r) => r.file === n).sort((a, b) => b.id - a.id)[0]);
  console.log(formatImports(mine, true));
  if (mine.some((r) => r.status === 'failed')) return 1;
  if (mine.some((r) => r.status === 'partial')) return 2;
  return 0;
}

async function ledgerFor(db: Db, tenant: string, names: string[], since: Date) {
  const rows = await listImports(db, { tenant, limit: 500, objects: true });
  return rows.filter((r) => names.includes(r.file) && new Date(r.startedAt) >= since);
}
