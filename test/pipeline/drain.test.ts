/**
 * Graceful shutdown: a worker process stopped with SIGTERM in the middle of an import finishes its
 * in-flight activities within the grace time and exits 0; another worker carries the import on,
 * and nothing is left half-done.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { openDatabase, type Db } from '../../db/db';
import type { AppConfig } from '../../config/config';
import type { BatchSummary } from '../../common/messages';
import { generate } from '../../bench/reader';
import { createTestDatabase, temporalClient, testConfig, testEnv, uniqueId, uploadTo } from '../support/harness';

const bin = path.resolve(__dirname, '../../bin/imv-import.js');
const OBJECTS = 3000;

describe('SIGTERM drains a worker during an import', () => {
  const tenant = uniqueId('drain');
  let dbHandle: { url: string; drop(): Promise<void> };
  let cfg: AppConfig;
  let db: Db;
  let client: Client;
  let env: NodeJS.ProcessEnv;
  const procs: ChildProcess[] = [];

  const startWorkerProcess = (identity: string) => {
    const p = spawn(process.execPath, [bin, 'worker', '--identity', identity], { env, stdio: 'ignore' });
    procs.push(p);
    return { p, exit: new Promise<{ code: number | null; at: number }>((resolve) => p.on('exit', (code) => resolve({ code, at: Date.now() }))) };
  };

  beforeAll(async () => {
    expect(fs.existsSync(path.resolve(__dirname, '../../dist/cli/main.js')), 'run `npm run build` first (npm test does)').toBe(true);
    dbHandle = await createTestDatabase();
    cfg = testConfig({ databaseUrl: dbHandle.url, tenants: [{ id: tenant, options: { chunkSize: 100 } }], worker: { shutdownGraceSeconds: 10 } });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-drain-'));
    const configFile = path.join(dir, 'imv-import.json');
    fs.writeFileSync(
      configFile,
      JSON.stringify({ tenants: cfg.tenants, temporal: cfg.temporal, databaseUrl: cfg.databaseUrl, fileStore: cfg.fileStore, worker: cfg.worker }),
    );
    env = { ...process.env, ...testEnv, IMV_CONFIG: configFile, LOG_LEVEL: 'warn' };
    delete env.TEMPORAL_ADDRESS;
    delete env.DATABASE_URL;
    db = await openDatabase(cfg, 2);
    client = await temporalClient();
    const file = path.join(dir, 'big.xml');
    await generate(file, OBJECTS, 'utf-8');
    await uploadTo(tenant, 'big.xml', fs.readFileSync(file));
  });

  afterAll(async () => {
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
    await client?.connection.close();
    await db?.destroy();
    await dbHandle?.drop();
  });

  it('the stopped worker exits 0 within its grace time; the import completes exactly once', async () => {
    const a = startWorkerProcess('drain-a');
    const handle = await client.workflow.start('importBatch', {
      taskQueue: cfg.temporal.taskQueue,
      workflowId: uniqueId(`import-batch/${tenant}`),
      args: [{ tenant }],
    });
    // Wait until the file is in its upsert chunks, then stop worker A.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const staged = await db('import_objects').count<{ n: number }[]>('* as n');
      if (Number(staged[0].n) > 200) break;
      if (Date.now() > deadline) throw new Error('the import did not reach its upserts');
      await new Promise((r) => setTimeout(r, 100));
    }
    const b = startWorkerProcess('drain-b');
    const stoppedAt = Date.now();
    a.p.kill('SIGTERM');
    const exitA = await a.exit;
    expect(exitA.code).toBe(0);
    expect(exitA.at - stoppedAt).toBeLessThan(10_000 + 5_000);

    const summary = (await handle.result()) as BatchSummary;
    expect(summary.imported).toBe(1);
    // Every 50th generated object is a DELETE of an estate that does not exist: reported, nothing changes.
    expect(await db('estates').count('* as n').first()).toEqual({ n: OBJECTS - OBJECTS / 50 });
    expect(summary.objects).toMatchObject({ total: OBJECTS, created: OBJECTS - OBJECTS / 50, unchanged: OBJECTS / 50, rejected: 0 });
    const outcomes = await db('import_objects').select('outcome').count<{ outcome: string; n: number }[]>('* as n').groupBy('outcome').orderBy('outcome');
    expect(outcomes).toEqual([
      { outcome: 'created', n: OBJECTS - OBJECTS / 50 },
      { outcome: 'not-found', n: OBJECTS / 50 },
    ]);
    expect(Number((await db('import_objects').count('* as n').first())!.n)).toBe(OBJECTS);
    expect(await db('staged_objects').count('* as n').first()).toEqual({ n: 0 });
    const ledger = await db('import_files');
    expect(ledger).toHaveLength(1);
    expect(ledger[0].status).toBe('imported');
    b.p.kill('SIGTERM');
    expect((await b.exit).code).toBe(0);
  });
});
