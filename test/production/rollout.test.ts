/**
 * The version rollout on the rehearsal server: the Temporal server at the version compose pins
 * (PostgreSQL, 4 shards, mTLS with client certificates), the same scenario as on the dev server
 * (test/support/rollout.ts): a batch runs on version 1, version 2 with an incompatible workflow
 * change is started and made current; v1's runs finish on v1, new ones run on v2, no workflow task
 * fails, and `imv-import status` shows both versions polling.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type Db } from '../../db/db';
import { temporalConnectOptions } from '../../config/temporal';
import { cliEnv } from '../support/cli';
import { createTestDatabase, testConfig, testEnv, uniqueId, uploadTo } from '../support/harness';
import { expectSafeRollout, runRollout, type RolloutResult } from '../support/rollout';
import { startTemporalCluster, type TemporalCluster } from './stack';

describe('Worker Versioning on the rehearsal server (mTLS, pinned version)', () => {
  const tenants: [string, string] = [uniqueId('proll-a'), uniqueId('proll-b')];
  let cluster: TemporalCluster;
  let dbHandle: { url: string; drop(): Promise<void> };
  let db: Db;
  let result: RolloutResult;

  beforeAll(async () => {
    cluster = await startTemporalCluster();
    dbHandle = await createTestDatabase('imv_proll');
    const base = testConfig({ databaseUrl: dbHandle.url, tenants: tenants.map((id) => ({ id })) });
    const cfg = { ...base, temporal: { ...base.temporal, address: cluster.address, namespace: 'default' } };
    db = await openDatabase(cfg, 2);
    const { IMV_CONFIG: _unused, ...env } = cliEnv('', cluster.clientEnv);
    result = await runRollout({
      cfg,
      tenants,
      connect: temporalConnectOptions({ address: cluster.address, file: {} }, cluster.clientEnv),
      upload: uploadTo,
      cliEnv: env,
      workerEnv: testEnv,
    });
  }, 600_000);

  afterAll(async () => {
    await db?.destroy();
    await dbHandle?.drop();
    await cluster?.destroy();
  });

  it('finishes v1 runs on v1, starts new ones on v2, fails no workflow task, and status shows both versions', () => {
    expectSafeRollout(result);
  });

  it('imports each file once (the ledger)', async () => {
    const rows = (await db('import_files').select('tenant_id', 'file_name', 'status')) as { tenant_id: string; file_name: string; status: string }[];
    expect(rows.filter((x) => x.status !== 'imported')).toEqual([]);
    expect(
      rows
        .filter((x) => x.tenant_id === tenants[0])
        .map((x) => x.file_name)
        .sort(),
    ).toEqual(['a-0.xml', 'a-1.xml', 'a-2.xml']);
    expect(
      rows
        .filter((x) => x.tenant_id === tenants[1])
        .map((x) => x.file_name)
        .sort(),
    ).toEqual(['b-0.xml', 'b-1.xml']);
  });
});
