/**
 * A small file's steps are local activities, recorded in the history only when the workflow task
 * completes. A worker that dies after the estate step committed leaves a history that does not show
 * it: the worker that takes the workflow over runs parse and the apply steps again. Those re-runs
 * must find the work done — the object stays `created` in the ledger, not `unchanged` — which the
 * multi-host test saw go wrong. Here the steps are called in that order against PostgreSQL.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FsFileStore } from '../../store/fs-store';
import { transferActivities } from '../../activities/transfers';
import { applyActivities } from '../../activities/apply';
import { attachmentActivities } from '../../activities/attachments';
import { generate } from '../../bench/transfers';
import { quietLog, testEnv, uniqueId, usePipeline } from '../support/harness';

describe('a small file whose steps run again on the worker that took it over', () => {
  const tenant = uniqueId('takeover');
  // The activities are called by the test: no worker.
  const ctx = usePipeline({ tenants: [{ id: tenant }], identities: [], poolMax: 2 });
  let dir: string;
  const activityDeps = () => ({ cfg: ctx.cfg, db: ctx.db, store: new FsFileStore(ctx.cfg.fileStore.dir), log: quietLog, env: testEnv });

  beforeAll(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-takeover-'));
  });

  it('parse keeps the staging of a completed parse, and the object stays created', async () => {
    const deps = activityDeps();
    const db = deps.db;
    const transfers = transferActivities(deps);
    const apply = applyActivities(deps);
    const attach = attachmentActivities(deps);
    const file = path.join(dir, 'imv-takeover.xml');
    await generate(file, 1, 'utf-8');
    fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace(' aktionart="DELETE"', ''));
    const stat = fs.statSync(file);
    const begun = await transfers.beginImport({
      tenant,
      file: { name: 'imv-takeover.xml', size: stat.size, mtime: stat.mtime.toISOString() },
      workflowId: `import-file/${tenant}/takeover`,
      runId: 'first-host',
    });
    const { sha256, size } = await deps.store.put(fs.createReadStream(file));
    await db('import_files').where({ id: begun.importId }).update({ sha256, size });

    // The first host: parse, the estate step commits, then the host dies.
    const first = await transfers.parseTransfer({ importId: begun.importId });
    const chunk = { importId: begun.importId, from: 0, to: first.objects };
    await apply.upsertEstates(chunk);

    // The second host runs everything since the last recorded step (begin) again.
    const again = await transfers.parseTransfer({ importId: begun.importId });
    expect(again).toEqual(first);
    await apply.upsertEstates(chunk);
    await apply.upsertAddresses(chunk);
    await apply.linkContacts(chunk);
    await attach.storeAttachments(chunk);
    const outcomes = (await db('import_objects').where({ import_id: begun.importId }).pluck('outcome')) as string[];
    expect(outcomes).toEqual(['created']);
    const estates = await db('estates').where({ tenant_id: tenant }).count<{ n: string }[]>('* as n');
    expect(Number(estates[0]!.n)).toBe(1);
  });

  it('a parse that did not complete is staged anew', async () => {
    const deps = activityDeps();
    const db = deps.db;
    const transfers = transferActivities(deps);
    const file = path.join(dir, 'imv-takeover-2.xml');
    await generate(file, 3, 'utf-8');
    const stat = fs.statSync(file);
    const begun = await transfers.beginImport({
      tenant,
      file: { name: 'imv-takeover-2.xml', size: stat.size, mtime: stat.mtime.toISOString() },
      workflowId: `import-file/${tenant}/takeover-2`,
      runId: 'first-host',
    });
    const { sha256, size } = await deps.store.put(fs.createReadStream(file));
    await db('import_files').where({ id: begun.importId }).update({ sha256, size });
    // What a host that died mid-parse left: one staged row, no chunk starts in the ledger.
    await db('staged_objects').insert({ import_id: begun.importId, position: 0, source_id: 'half', payload: JSON.stringify({ half: true }) });
    const parsed = await transfers.parseTransfer({ importId: begun.importId });
    expect(parsed.objects).toBe(3);
    const staged = (await db('staged_objects').where({ import_id: begun.importId }).orderBy('position').pluck('source_id')) as string[];
    expect(staged).toHaveLength(3);
    expect(staged).not.toContain('half');
  });
});
