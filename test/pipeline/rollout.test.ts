/**
 * Safe deploys with Worker Versioning, on the suite's dev server (Temporal CLI 1.5.1, server 1.29.1:
 * worker deployments are on by default, no dynamic config needed). The scenario itself
 * (test/support/rollout.ts) takes the connection, so the production rehearsal runs it again on its
 * mTLS server, and `expectSafeRollout` there holds the assertions both make.
 */
import { beforeAll, describe, expect, it, inject } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { cliEnv } from '../support/cli';
import { testEnv, uniqueId, uploadTo, usePipeline } from '../support/harness';
import { expectSafeRollout, runRollout, type RolloutResult } from '../support/rollout';

describe('Worker Versioning: a rollout of incompatible workflow code', () => {
  const tenants: [string, string] = [uniqueId('roll-a'), uniqueId('roll-b')];
  // The scenario starts its own workers (two versions).
  const ctx = usePipeline({ tenants: tenants.map((id) => ({ id })), identities: [], poolMax: 2 });
  let result: RolloutResult;

  beforeAll(async () => {
    expect(fs.existsSync(path.resolve(__dirname, '../../dist/cli/main.js')), 'run `npm run build` first (npm test does)').toBe(true);
    const { IMV_CONFIG: _unused, ...env } = cliEnv('');
    result = await runRollout({
      cfg: ctx.cfg,
      tenants,
      connect: { address: inject('temporalAddress') },
      upload: uploadTo,
      cliEnv: env,
      workerEnv: testEnv,
    });
  });

  it('finishes v1 runs on v1, starts new ones on v2, fails no workflow task, and status shows both versions', () => {
    expectSafeRollout(result);
  });

  it('imports each file once (the ledger)', async () => {
    const rows = await ctx.db('import_files').select('tenant_id', 'file_name', 'status');
    expect(
      rows
        .filter((x) => x.tenant_id === tenants[0] && x.status === 'imported')
        .map((x) => x.file_name)
        .sort(),
    ).toEqual(['a-0.xml', 'a-1.xml', 'a-2.xml']);
    expect(
      rows
        .filter((x) => x.tenant_id === tenants[1] && x.status === 'imported')
        .map((x) => x.file_name)
        .sort(),
    ).toEqual(['b-0.xml', 'b-1.xml']);
    expect(rows).toHaveLength(5);
  });
});
