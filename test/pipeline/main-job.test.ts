/**
 * The README's main job (`imv-import dev`) on embedded defaults: it starts its own Temporal dev
 * server with the UI, the embedded FTP inbox seeded with the shipped demo transfers, a worker and
 * the schedule, and runs a first import. Here it uses a fresh database and exits after the import.
 */
import { describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { useDatabase } from '../support/harness';
import { CLI_BIN } from '../support/cli';
import { parseConfig } from '../../config/config';
import { openDatabase } from '../../db/db';
import { DEV_TENANT } from '../../dev/main-job';

/** A ledger row of the dev tenant left in status importing three hours ago (its workflow long gone). */
async function stuckImport(databaseUrl: string): Promise<number> {
  const cfg = parseConfig({ tenants: [{ id: DEV_TENANT, ftp: { url: 'ftp://imv@127.0.0.1/demo' } }], databaseUrl }, {});
  const db = await openDatabase(cfg, 1);
  try {
    const [r] = await db('import_files')
      .insert({
        tenant_id: DEV_TENANT,
        remote_path: `/${DEV_TENANT}/lost.xml`,
        file_name: 'lost.xml',
        size: 100,
        mtime: new Date(),
        status: 'importing',
        workflow_id: `import-file/${DEV_TENANT}/lost/lost.xml/100`,
        started_at: db.raw(`now() - interval '3 hours'`),
      })
      .returning('id');
    return r.id as number;
  } finally {
    await db.destroy();
  }
}

describe('main job: imv-import dev', () => {
  // `imv-import dev` brings its own Temporal, FTP and worker: only the database is the test's.
  const database = useDatabase({ prefix: 'imv_dev', migrated: false });

  const runDev = (dataDir: string, env: NodeJS.ProcessEnv) =>
    new Promise<{ code: number | null; out: string }>((resolve) => {
      const p = spawn(process.execPath, [CLI_BIN, 'dev', '--data-dir', dataDir, '--exit-after-import'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (out += d));
      p.on('close', (code) => resolve({ code, out }));
    });

  it('imports the demo transfers through the schedule and prints the UI link and the summary; its worker warns of stuck imports', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-dev-'));
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'warn', LOG_FORMAT: 'json' };
    delete env.TEMPORAL_ADDRESS;
    delete env.IMV_STUCK_AFTER;
    const stuckId = await stuckImport(database.url);
    const r = await runDev(dataDir, env);
    expect(r.code, r.out).toBe(0);
    // The in-process worker's stuck-imports check, as \`imv-import worker\` runs it (a warning on the console).
    const warning = r.out
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { component?: string; importIds?: number[] })
      .find((x) => x.component === 'stuck-imports');
    expect(warning, r.out).toMatchObject({ importIds: [stuckId], stuckAfterSeconds: 7200 });
    expect(r.out).toMatch(/Temporal Web UI: +http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows/);
    expect(r.out).toContain('batch summary: 4 files — imported 2, partial 1, failed 1');
    expect(r.out).toContain('unknown onOffice user "jdoe"');
    // The failed demo file is in failed/ with its report; the others in processed/.
    const ftp = path.join(dataDir, 'ftp', 'demo');
    expect(fs.readdirSync(path.join(ftp, 'failed')).some((f) => f.endsWith('demo-broken-truncated.xml.report.txt'))).toBe(true);
    expect(fs.readdirSync(path.join(ftp, 'processed')).filter((f) => f.endsWith('.xml'))).toHaveLength(3);
  });

  it('runs on the embedded PostgreSQL (PGlite, one connection) when no database server is to be used', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-dev-embedded-'));
    const env: NodeJS.ProcessEnv = { ...process.env, IMV_DEV_EMBEDDED_DB: '1', LOG_LEVEL: 'warn' };
    delete env.TEMPORAL_ADDRESS;
    delete env.DATABASE_URL;
    const r = await runDev(dataDir, env);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('starting the embedded one (PGlite)');
    expect(r.out).toMatch(/database: +postgres:\/\/postgres@127\.0\.0\.1:\d+\/postgres/);
    expect(r.out).toContain('batch summary: 4 files — imported 2, partial 1, failed 1');
    expect(fs.existsSync(path.join(dataDir, 'pgdata'))).toBe(true);
  });
});
