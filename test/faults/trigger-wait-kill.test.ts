/**
 * Issue 17, defect 1: `imv-import schedule trigger --wait` (the built CLI, as an operator runs it)
 * while the only worker is SIGKILLed in the middle of the batch and a fresh one takes over. The
 * progress queries the command sends meanwhile find no worker to answer them (the server holds each
 * for 30 s). The command used to send one every second regardless; the pile-up is refused
 * (RESOURCE_EXHAUSTED) and retried by the client, and when the batch ended and the command closed its
 * connection a retry still due died of an uncaught `Channel has been shut down` with exit 1. It must
 * print the summary and exit 0.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import type { BatchSummary } from '../../common/messages';
import { describeSchedule } from '../../ops/schedule';
import { cliEnv, runCli, writeCliConfig } from '../support/cli';
import { expectLedgerComplete } from '../support/db-state';
import { ftpAt, sharedFtpPort } from '../support/ftp';
import { generateTransfer } from '../support/generated-transfers';
import { uniqueId, usePipeline } from '../support/harness';
import { waitFor } from '../support/wait';

const FILES = 60;

describe('schedule trigger --wait while the worker is SIGKILLed', () => {
  const tenant = uniqueId('trigkill');
  // Worker processes, started (and killed) by the test; the CLI goes through the tenant's schedule.
  const ctx = usePipeline({ tenants: [{ id: tenant }], faults: true, identities: [], schedules: true, poolMax: 2 });
  const names = Array.from({ length: FILES }, (_, i) => `imv-${String(i).padStart(3, '0')}.xml`);

  beforeAll(async () => {
    expect(fs.existsSync(path.resolve(__dirname, '../../dist/cli/main.js')), 'run `npm run build` first (npm test does)').toBe(true);
    await ftpAt(sharedFtpPort(), async (c) => {
      await c.ensureDir(`/${tenant}`);
      for (const [i, name] of names.entries())
        await c.uploadFrom(Readable.from([generateTransfer({ firstId: 300_000 + i * 10, count: 1 })]), `/${tenant}/${name}`);
    });
  });

  it('prints the summary and exits 0', async () => {
    const { cfg, db, client } = ctx;
    const fresh = () => ctx.spawnWorker(`${tenant}-w${ctx.processes.length + 1}`);
    const first = await fresh();
    const env = cliEnv(writeCliConfig(cfg, 'imv-trigger-kill-'));
    const cli = runCli(env, ['schedule', 'trigger', '--wait', '--tenant', tenant]);

    // Late in the batch, so that it ends soon after a fresh worker takes over, while the queries
    // that found no worker are still being retried: two thirds of the files imported, not all.
    const finished = async () => Number((await db('import_files').where({ tenant_id: tenant, status: 'imported' }).count<{ n: number }[]>('* as n'))[0].n);
    const before = await waitFor('two thirds of the files imported', async () => (await finished()) >= (FILES * 2) / 3 && (await finished()), 180_000);
    await first.kill('SIGKILL');
    expect(before).toBeLessThan(FILES);

    // No worker now: a progress query to the batch, like those the command keeps asking, finds
    // nobody to answer it (it fails at its deadline or earlier). Only then does a fresh worker start.
    const batchId = await waitFor('the batch', async () => (await describeSchedule(client, tenant)).info.runningActions[0]?.workflow.workflowId);
    const batch = client.workflow.getHandle(batchId);
    await waitFor('a progress query nobody answers', () =>
      client
        .withDeadline(Date.now() + 5000, () => batch.query('progress'))
        .then(
          () => false,
          () => true,
        ),
    );

    await fresh();
    const r = await cli;
    expect(r.stderr).not.toContain('Channel has been shut down');
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))) as BatchSummary;
    expect(summary).toMatchObject({ files: FILES, imported: FILES, failed: 0 });
    await expectLedgerComplete(db, tenant, names);
  }, 300_000);
});
