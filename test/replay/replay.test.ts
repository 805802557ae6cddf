/**
 * Replay safety of workflow code. Golden histories of real batch, file and replay runs are checked
 * in (test/replay/histories) and replayed against the current workflow code; a deliberately
 * incompatible change is shown to be caught. Fresh histories of this run are replayed as well.
 * UPDATE_GOLDEN_HISTORIES=1 rewrites the checked-in files from this run (after a reviewed,
 * compatible change, or when adding a new scenario — never to paper over a determinism error).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { historyFromJSON, historyToJSON } from '@temporalio/common/lib/proto-utils';
import type { temporal } from '@temporalio/proto';
import { bundleWorkflowCode, Worker } from '@temporalio/worker';
import type { BatchSummary, ImportFileResult } from '../../common/messages';
import { startReplay } from '../../ops/replay';
import { fixturesDir, uniqueId, uploadTo, usePipeline, workflowBundle } from '../support/harness';

type History = temporal.api.history.v1.IHistory;
const goldenDir = path.join(__dirname, 'histories');
/**
 * The workflow shape this code writes (its newest patch). Golden files without a prefix are the
 * first shape (regular activities only; file-abandoned is that shape with the finish-last-resort
 * patch); `local-steps-*` have the local-steps patch; `skip-idle-attachments-*` also leave out the
 * attachments step of a chunk the estates step reports idle. A new patch gets a new prefix here.
 * `finished-ledger-counts-file-finished-earlier` is a run whose begin found its ledger row final
 * (test/faults/worker-kill-finished.test.ts): the only place that patch is recorded;
 * `skip-idle-attachments-file-finished-earlier` is such a run before it (zero counts returned).
 */
const CURRENT_SHAPE = 'skip-idle-attachments';
const SHAPES = ['', 'local-steps-', `${CURRENT_SHAPE}-`];
const silent = { log() {}, info() {}, warn() {}, error() {}, debug() {}, trace() {} } as never;

async function replayAll(histories: { workflowId: string; history: History }[], bundle?: Awaited<ReturnType<typeof workflowBundle>>) {
  const results = [];
  for await (const r of Worker.runReplayHistories({ workflowBundle: bundle ?? (await workflowBundle()), replayName: 'golden' }, histories)) results.push(r);
  return results;
}

function loadGolden(): { name: string; workflowId: string; history: History }[] {
  return fs
    .readdirSync(goldenDir)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => ({
      name: f.replace(/\.json$/, ''),
      workflowId: f.replace(/\.json$/, ''),
      history: historyFromJSON(JSON.parse(fs.readFileSync(path.join(goldenDir, f), 'utf8'))),
    }));
}

describe('replay safety of workflow code', () => {
  const tenant = uniqueId('golden');
  const ctx = usePipeline({ tenants: [{ id: tenant }], identities: ['golden-worker'], poolMax: 2 });
  const fresh: { name: string; workflowId: string; history: History }[] = [];

  beforeAll(async () => {
    const { cfg, db, client } = ctx;
    const transfers = path.join(fixturesDir, 'transfers');
    await uploadTo(tenant, 'change-then-delete-1301.xml', fs.readFileSync(path.join(transfers, 'change-then-delete-1301.xml')));
    await uploadTo(tenant, 'voll-only-1302-referenz.xml', fs.readFileSync(path.join(transfers, 'voll-only-1302-referenz.xml')));
    await uploadTo(tenant, 'truncated.xml', '<?xml version="1.0"?><openimmo><anbieter><immobilie>');
    const batchId = `import-batch/${tenant}`;
    const summary: BatchSummary = await client.workflow.execute('importBatch', { taskQueue: cfg.temporal.taskQueue, workflowId: batchId, args: [{ tenant }] });
    expect(summary.files).toBe(3);
    const replayed = summary.results.find((r) => r.name === 'change-then-delete-1301.xml')!;
    const { handle } = await startReplay(cfg, client, db, replayed.importId!);
    const r = (await handle.result()) as ImportFileResult;
    expect(r.outcome).toBe('imported');
    // The file store's garbage collection (a dry run: nothing is removed).
    const gcId = uniqueId('store-gc');
    await client.workflow.execute('storeGc', { taskQueue: cfg.temporal.taskQueue, workflowId: gcId, args: [{ dryRun: true }] });
    const named: [string, string][] = [
      ['batch', batchId],
      ...summary.results.map((x): [string, string] => [`file-${x.outcome}-${x.name.replace(/\.xml$/, '')}`, x.workflowId]),
      ['replay', handle.workflowId],
      ['store-gc', gcId],
    ];
    for (const [name, id] of named) fresh.push({ name, workflowId: id, history: await client.workflow.getHandle(id).fetchHistory() });
    // Histories of older shapes stay: runs of those shapes may still be open somewhere.
    if (process.env.UPDATE_GOLDEN_HISTORIES) {
      for (const h of fresh) fs.writeFileSync(path.join(goldenDir, `${CURRENT_SHAPE}-${h.name}.json`), historyToJSON(h.history as never));
    }
  });

  it('the checked-in golden histories of every shape (batch, imported, failed, abandoned, replay, store gc) replay against the current code', async () => {
    const golden = loadGolden();
    const names = golden.map((g) => g.name);
    for (const shape of SHAPES) {
      for (const name of ['batch', 'file-failed-truncated', 'file-imported-change-then-delete-1301', 'replay']) expect(names).toContain(`${shape}${name}`);
    }
    // The store-gc workflow is as old as the current shape.
    expect(names).toContain(`${CURRENT_SHAPE}-store-gc`);
    // file-abandoned comes from test/pipeline/last-resort.test.ts (the finish-last-resort patch).
    expect(names).toContain('file-abandoned');
    // finished-ledger-counts comes from test/faults/worker-kill-finished.test.ts (a begin that found its row final).
    expect(names).toContain('finished-ledger-counts-file-finished-earlier');
    expect(names).toContain('skip-idle-attachments-file-finished-earlier');
    expect(golden.some((g) => g.name.startsWith('file-failed'))).toBe(true);
    const results = await replayAll(golden);
    expect(results.map((r) => [r.workflowId, r.error?.message ?? null])).toEqual(golden.map((g) => [g.workflowId, null]));
  });

  it("this run's histories replay too", async () => {
    const results = await replayAll(fresh);
    expect(results.filter((r) => r.error).map((r) => `${r.workflowId}: ${r.error?.message}`)).toEqual([]);
  });

  it('a deliberately incompatible workflow change is caught as a determinism violation', async () => {
    const bundle = await bundleWorkflowCode({ workflowsPath: path.join(__dirname, 'incompatible', 'index.ts'), logger: silent });
    const files = loadGolden().filter((g) => /(^|-)file-/.test(g.name));
    const results = await replayAll(files, bundle);
    expect(results).toHaveLength(files.length);
    for (const r of results) {
      expect(r.error?.name).toBe('DeterminismViolationError');
      expect(r.error?.message).toContain('Nondeterminism');
    }
  });
});
