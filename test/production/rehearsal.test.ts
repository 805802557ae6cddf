/**
 * The production rehearsal: what docker-compose.yml does, on real servers built here, over mTLS.
 * The Temporal server at the version compose pins (PostgreSQL persistence, SQL visibility, four
 * history shards, client certificates required) is configured by compose's own server.env; its
 * schema is set up by deploy/temporal/setup-schema.sh and the namespace and search attributes by
 * deploy/temporal/init.sh. Then, as compose does: `migrate`, two `worker` processes and `schedule
 * ensure`, each the built CLI with Temporal's environment configuration (TEMPORAL_ADDRESS,
 * TEMPORAL_TLS_*). A batch of one-object files, ZIPs with pictures and a 2,000-object ZIP runs
 * through a server restart in its middle.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { Client, Connection } from '@temporalio/client';
import type { Db } from '../../db/db';
import { CLI_BIN, cliEnv, runCli, writeCliConfig } from '../support/cli';
import { createTestDatabase, testConfig, uniqueId } from '../support/harness';
import { expectLedgerComplete } from '../support/db-state';
import { quietDb } from '../support/database';
import { waitFor } from '../support/wait';
import { inbox, uploadAll, type InboxFile, type Picture } from '../multihost/transfers';
import { startTemporalCluster, type TemporalCluster } from './stack';
import { temporalConnectOptions } from '../../config/temporal';

interface CliWorker {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** `imv-import worker` as compose runs it; resolves once it polls (its "worker started" line). */
async function startCliWorker(env: NodeJS.ProcessEnv): Promise<CliWorker> {
  const child = spawn(process.execPath, [CLI_BIN, 'worker'], { env: { ...env, LOG_LEVEL: 'info', METRICS_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    const on = (d: Buffer) => {
      out += d.toString();
      if (out.includes('worker started')) resolve();
    };
    child.stdout!.on('data', on);
    child.stderr!.on('data', on);
    void exited.then((code) => reject(new Error(`worker exited with ${code} before it started: ${out.slice(-2000)}`)));
  });
  return { child, output: () => out, exited };
}

const final = ['imported', 'partial', 'duplicate', 'failed'];

describe('production rehearsal: mTLS cluster at the pinned version, compose order, a batch through a server restart', () => {
  let cluster: TemporalCluster;
  let database: { url: string; drop(): Promise<void> };
  let db: Db;
  let env: NodeJS.ProcessEnv;
  let client: Client;
  let connection: Connection;
  const workers: CliWorker[] = [];
  const tenant = uniqueId('prod');
  let files: InboxFile[];
  let pictures: Picture[];
  let objects: number;

  beforeAll(async () => {
    cluster = await startTemporalCluster();
    database = await createTestDatabase('imv_prod');
    db = quietDb(database.url);
    const cfg = testConfig({ databaseUrl: database.url, tenants: [{ id: tenant }], fileStore: 'postgres' });
    // The config file names no Temporal address: Temporal's environment configuration does.
    const file = writeCliConfig({ ...cfg, temporal: { ...cfg.temporal, address: '127.0.0.1:1' } }, 'imv-prod-', { worker: { shutdownGraceSeconds: 5 } });
    env = cliEnv(file, cluster.clientEnv);
    connection = await Connection.connect(temporalConnectOptions({ address: cluster.address, file: {} }, cluster.clientEnv));
    client = new Client({ connection, namespace: 'default' });
    ({ files, pictures, objects } = await inbox({ plain: 12, zips: 2, big: { objects: 2000, pictureEvery: 250 } }));
  }, 600_000);

  afterAll(async () => {
    for (const w of workers) {
      if (w.child.exitCode === null) w.child.kill('SIGTERM');
      await w.exited;
    }
    await connection?.close();
    await db?.destroy();
    await database?.drop();
    await cluster?.destroy();
  });

  it('refuses a client without a certificate, or with one of another CA, in one line naming the address', async () => {
    const noCert = { ...env };
    delete noCert.TEMPORAL_TLS_CLIENT_CERT_PATH;
    delete noCert.TEMPORAL_TLS_CLIENT_KEY_PATH;
    // Three clients at once: each waits for its connection to fail.
    const [refused, rogue, wrongCa] = await Promise.all([
      runCli(noCert, ['schedule', 'describe']),
      runCli({ ...env, TEMPORAL_TLS_CLIENT_CERT_PATH: cluster.certs.rogueCert, TEMPORAL_TLS_CLIENT_KEY_PATH: cluster.certs.rogueKey }, [
        'schedule',
        'describe',
      ]),
      runCli({ ...env, TEMPORAL_TLS_SERVER_CA_CERT_PATH: cluster.certs.rogueCa }, ['schedule', 'describe']),
    ]);
    for (const r of [refused, rogue, wrongCa]) {
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`cannot connect to Temporal at ${cluster.address}`);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
    expect(wrongCa.stderr).toMatch(/certificate is not signed by the trusted CA/);
  });

  it('migrate, two workers, schedule ensure; every file imported exactly once through a server restart; the UI filters on SQL visibility', async () => {
    const migrate = await runCli(env, ['migrate']);
    expect(migrate.stderr).toBe('');
    expect(migrate.code).toBe(0);
    workers.push(await startCliWorker(env), await startCliWorker(env));
    const ensure = await runCli(env, ['schedule', 'ensure']);
    expect(ensure.code, ensure.stderr).toBe(0);

    await uploadAll('127.0.0.1', inject('ftpPort'), tenant, files);
    const trigger = await runCli(env, ['schedule', 'trigger', '--tenant', tenant]);
    expect(trigger.code, trigger.stderr).toBe(0);

    // The server goes down (SIGTERM) while the batch runs: some files imported, others not yet.
    const finishedRows = async () =>
      Number((await db('import_files').where({ tenant_id: tenant }).whereIn('status', final).count<{ n: number }[]>('* as n'))[0].n);
    const before = await waitFor('a few files imported before the restart', async () => ((await finishedRows()) >= 3 ? true : null), 300_000, 250);
    expect(before).toBe(true);
    const atStop = await finishedRows();
    await cluster.stop();
    await cluster.start();
    expect(atStop).toBeLessThan(files.length);

    await waitFor('every file in a final state', async () => ((await finishedRows()) >= files.length ? true : null), 600_000, 250);
    await expectLedgerComplete(
      db,
      tenant,
      files.map((f) => f.name),
    );
    const statuses = (await db('import_files').where({ tenant_id: tenant }).select('file_name', 'status')) as { file_name: string; status: string }[];
    expect(statuses.filter((r) => r.status !== 'imported')).toEqual([]);
    expect(Number((await db('estates').where({ tenant_id: tenant }).count<{ n: number }[]>('* as n'))[0].n)).toBe(objects);
    const stored = (await db('estate_attachments as a')
      .join('estates as e', 'e.id', 'a.estate_id')
      .where('e.tenant_id', tenant)
      .whereNotNull('a.sha256')
      .pluck('a.sha256')) as string[];
    expect(stored.sort()).toEqual(pictures.map((p) => p.sha256).sort());

    // The UI's list filters, on SQL visibility: every file workflow of the tenant, and no failed one.
    const count = async (query: string) => (await client.workflow.count(query)).count;
    const imported = `WorkflowType = 'importFile' AND ImportTenant = '${tenant}' AND ImportOutcome = 'imported'`;
    await waitFor('visibility shows every imported file', async () => ((await count(imported)) >= files.length ? true : null), 60_000, 250);
    expect(await count(imported)).toBe(files.length);
    expect(await count(`ImportTenant = '${tenant}' AND ImportOutcome = 'failed'`)).toBe(0);
    // The batch sets its outcome only after its last file workflow has ended, so the ledger being final does not
    // mean visibility has it yet: wait for it as for the files.
    const batchDone = `WorkflowType = 'importBatch' AND ImportTenant = '${tenant}' AND ImportOutcome = 'imported'`;
    await waitFor('visibility shows the finished batch', async () => ((await count(batchDone)) >= 1 ? true : null), 60_000, 250);
    expect(await count(batchDone)).toBe(1);
    expect(await count(`ImportTenant = 'not-${tenant}'`)).toBe(0);
    // Both workers are still up: the restart did not kill them.
    for (const w of workers) expect(w.child.exitCode).toBeNull();
  });
});
