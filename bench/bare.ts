/**
 * The benchmark's baseline: a bare single-process importer over the same files, with the project's
 * own reader and set-based upserts (the activity functions, called directly one after another), but
 * without Temporal and without FTP: each file is read from the local folder into the file store, and
 * the ledger row is finished with one UPDATE. What the pipeline takes beyond this is orchestration
 * and transport.
 */
import fs from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import type { AppConfig } from '../config/config';
import { closeDb, openDatabase } from '../db/db';
import { finishBareImport, setImportContent, tenantEstateCount } from '../db/bench';
import { FsFileStore } from '../store/fs-store';
import { applyActivities } from '../activities/apply';
import { attachmentActivities } from '../activities/attachments';
import { transferActivities } from '../activities/transfers';

export interface BareResult {
  seconds: number;
  files: number;
  objects: number;
  created: number;
}

export async function runBare(cfg: AppConfig, tenant: string, dir: string): Promise<BareResult> {
  const db = await openDatabase(cfg, 4);
  const store = new FsFileStore(cfg.fileStore.dir);
  const deps = { cfg, db, store, log: pino({ level: 'warn' }) };
  const transfers = transferActivities(deps);
  const apply = applyActivities(deps);
  const attachments = attachmentActivities(deps);
  const names = fs
    .readdirSync(dir)
    .filter((n) => /\.(xml|zip)$/i.test(n))
    .sort();
  let objects = 0;
  const t0 = performance.now();
  try {
    for (const name of names) {
      const file = path.join(dir, name);
      const stat = fs.statSync(file);
      const begun = await transfers.beginImport({
        tenant,
        file: { name, size: stat.size, mtime: stat.mtime.toISOString() },
        workflowId: `bare/${tenant}/${name}`,
        runId: 'bare',
      });
      const { sha256, size } = await store.put(fs.createReadStream(file));
      await setImportContent(db, begun.importId, sha256, size);
      const parsed = await transfers.parseTransfer({ importId: begun.importId });
      const starts = parsed.chunkStarts ?? [0];
      for (let i = 0; i < starts.length; i++) {
        const chunk = { importId: begun.importId, from: starts[i]!, to: starts[i + 1] ?? parsed.objects };
        await apply.upsertEstates(chunk);
        await apply.upsertAddresses(chunk);
        await apply.linkContacts(chunk);
        await attachments.storeAttachments(chunk);
      }
      await finishBareImport(db, begun.importId);
      objects += parsed.objects;
    }
    const seconds = (performance.now() - t0) / 1000;
    const created = await tenantEstateCount(db, tenant);
    return { seconds, files: names.length, objects, created };
  } finally {
    await closeDb(db);
  }
}
