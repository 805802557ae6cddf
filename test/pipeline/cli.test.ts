/**
 * The ops CLI as operations scripts use it: the built `imv-import` binary in child processes,
 * against the real Temporal dev server, PostgreSQL and vsftpd, with a worker started by
 * `imv-import worker` and stopped with SIGTERM.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cliEnv, writeCliConfig } from '../support/cli';
import { createTestDatabase, fixturesDir, testConfig, uniqueId } from '../support/harness';

const bin = path.resolve(__dirname, '../../bin/imv-import.js');
const transfer = (f: string) => path.join(fixturesDir, 'transfers', f);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

describe('imv-import CLI', () => {
  const tenant = uniqueId('cli');
  let env: NodeJS.ProcessEnv;
  let dbHandle: { url: string; drop(): Promise<void> };
  let worker: ChildProcess;
  let workerExit: Promise<number | null>;
  let tmp: string;

  const cli = (args: string[]): Promise<Run> =>
    new Promise((resolve) => {
      const p = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stderr += d));
      p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    });

  beforeAll(async () => {
    expect(fs.existsSync(path.resolve(__dirname, '../../dist/cli/main.js')), 'run `npm run build` first (npm test does)').toBe(true);
    dbHandle = await createTestDatabase();
    const cfg = testConfig({ databaseUrl: dbHandle.url, tenants: [{ id: tenant, options: { minFileAgeSeconds: 30 } }] });
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-cli-'));
    env = cliEnv(writeCliConfig(cfg, 'imv-cli-config-'));
    worker = spawn(process.execPath, [bin, 'worker', '--identity', 'cli-test-worker'], { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let workerErr = '';
    worker.stderr!.on('data', (d) => (workerErr += d));
    workerExit = new Promise((resolve) => worker.on('exit', (code) => resolve(code)));
    void workerExit.then((code) => {
      if (code !== 0 && code !== null) console.error(`worker exited with ${code}: ${workerErr}`);
    });
  });

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGKILL');
      await workerExit;
    }
    await dbHandle?.drop();
  });

  it('schedule ensure | describe | pause | unpause', async () => {
    const ensure = await cli(['schedule', 'ensure']);
    expect(ensure.code, ensure.stderr).toBe(0);
    expect(ensure.stdout).toContain(`imv-import:${tenant}: created`);
    // The file store's garbage collection: one schedule for all tenants.
    expect(ensure.stdout).toMatch(/imv-import:store-gc: (created|updated)/);
    expect((await cli(['schedule', 'ensure', '--tenant', tenant])).stdout).toContain('updated');

    const d = JSON.parse((await cli(['schedule', 'describe', '--json'])).stdout);
    expect(d[0]).toMatchObject({ scheduleId: `imv-import:${tenant}`, paused: false, every: '30m', overlap: 'SKIP' });

    expect((await cli(['schedule', 'pause', '--note', 'maintenance'])).code).toBe(0);
    const paused = JSON.parse((await cli(['schedule', 'describe', '--json'])).stdout);
    expect(paused[0]).toMatchObject({ paused: true, note: 'maintenance' });
    expect((await cli(['schedule', 'unpause'])).code).toBe(0);
    expect(JSON.parse((await cli(['schedule', 'describe', '--json'])).stdout)[0].paused).toBe(false);
  });

  it('every command that takes --tenant refuses an unknown tenant: exit 1, the configured tenants named', async () => {
    const commands = [
      ['imports'],
      ['imports', '--json'],
      ['estates', '--status', 'all', '--json'],
      ['replay', '1'],
      ['replay', '--failed'],
      ['import', transfer('imv-flat-1001.xml')],
      ['schedule', 'ensure'],
      ['schedule', 'trigger'],
      ['schedule', 'pause'],
      ['schedule', 'unpause'],
      ['schedule', 'describe'],
      ['estate', 'activate', 'IMVO-ID-1001'],
      ['estate', 'publish', 'IMVO-ID-1001'],
    ];
    for (const c of commands) {
      const r = await cli([...c, '--tenant', 'nope']);
      expect(r.code, c.join(' ')).toBe(1);
      expect(r.stderr, c.join(' ')).toBe(`imv-import: unknown tenant "nope": the configured tenants are ${tenant} (IMV_CONFIG=${env.IMV_CONFIG})\n`);
      expect(r.stdout, c.join(' ')).toBe('');
    }
  });

  it('parse FILE --json prints the normalized transfer without database or Temporal', async () => {
    const r = await cli(['parse', transfer('imv-latin1-house-1002-flat-1003.xml'), '--json']);
    expect(r.code, r.stderr).toBe(0);
    const t = JSON.parse(r.stdout);
    expect(t.objects.map((o: { sourceId: string }) => o.sourceId)).toEqual(['1002', '1003']);
    expect(t.objects[0].estate.city).toBe('Görlitz');
    expect(t.header.version).toBe('1.2.7');
    const bad = await cli(['parse', path.join(tmp, 'missing.xml')]);
    expect(bad.code).not.toBe(0);
  });

  it('import FILE... --wait uploads, runs a batch through the schedule and prints the summary', async () => {
    const r = await cli(['import', transfer('imv-flat-1001.xml'), transfer('imv-office-1004-with-pictures.zip'), '--wait']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('imv-flat-1001.xml');
    expect(r.stdout).toMatch(/imv-office-1004-with-pictures\.zip\s+imported/);

    const imports = JSON.parse((await cli(['imports', '--json'])).stdout);
    expect(imports).toHaveLength(2);
    for (const i of imports) {
      expect(i).toMatchObject({ tenant, status: 'imported' });
      expect(i.workflowId).toMatch(new RegExp(`^import-file/${tenant}/`));
      expect(i.counts.created).toBe(1);
    }
    expect((await cli(['imports'])).stdout).toContain('imv-flat-1001.xml');
  });

  it('estates hides inactive estates by default (R12); --status all --json shows them with their contacts', async () => {
    expect(JSON.parse((await cli(['estates', '--json'])).stdout)).toEqual([]);
    const all = JSON.parse((await cli(['estates', '--status', 'all', '--json'])).stdout);
    expect(all).toHaveLength(2);
    const e = all.find((x: { externalNumber: string }) => x.externalNumber === 'IMVO-ID-1001');
    expect(e).toMatchObject({ status: 'inaktiv', user: 'mmustermann', city: 'Mönchengladbach', archived: false, warning: 'IMV Import' });
    expect(e.title).toContain('3-Zimmer-Wohnung');
    expect(e.contacts).toEqual([{ role: 'ansprechpartner', lastName: 'Wüstefeld', firstName: 'Henrike', company: null, origin: 'IMV', status: 'Aktiv' }]);
    expect(JSON.parse((await cli(['estates', '--status', 'inaktiv', '--json'])).stdout)).toHaveLength(2);
    const office = all.find((x: { externalNumber: string }) => x.externalNumber === 'IMVO-ID-1004');
    expect(office.fields).toMatchObject({ kind: 'buero_praxen', officeArea: 240, purchasePrice: 980000 });
    expect(
      office.attachments.map((a: { position: number; group: string; title: string; sha256: string }) => [
        a.position,
        a.group,
        a.title,
        /^[0-9a-f]{64}$/.test(a.sha256),
      ]),
    ).toEqual([
      [0, 'TITELBILD', 'Außenansicht', true],
      [1, 'GRUNDRISS', 'Grundriss 3. OG', true],
    ]);
  });

  it('estate publish refuses an inaktiv estate (R11); activate then publish works', async () => {
    const refused = await cli(['estate', 'publish', 'IMVO-ID-1001']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('IMVO-ID-1001 is inaktiv');
    expect((await cli(['estate', 'activate', 'IMVO-ID-1001'])).code).toBe(0);
    const ok = await cli(['estate', 'publish', 'IMVO-ID-1001']);
    expect(ok.code, ok.stderr).toBe(0);
    const active = JSON.parse((await cli(['estates', '--json'])).stdout);
    expect(active.map((x: { externalNumber: string; published: boolean }) => [x.externalNumber, x.published])).toEqual([['IMVO-ID-1001', true]]);
    expect((await cli(['estate', 'publish', 'IMVO-ID-9999'])).stderr).toContain('no estate with external number IMVO-ID-9999');
  });

  it('a failed file makes import --wait exit 1; replay runs it again and reports', async () => {
    const broken = path.join(tmp, 'broken.xml');
    fs.writeFileSync(broken, '<?xml version="1.0"?><openimmo><anbieter><immobilie>');
    const r = await cli(['import', broken, '--wait']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('MalformedXml');
    const failed = JSON.parse((await cli(['imports', '--json', '--status', 'failed'])).stdout);
    expect(failed).toHaveLength(1);
    const again = await cli(['replay', String(failed[0].id)]);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain('failed again');
    const all = await cli(['replay', '--failed', '--tenant', tenant, '--since', new Date(Date.now() - 3600_000).toISOString()]);
    expect(all.stdout).toMatch(/replaying import \d+/);
    const ledger = JSON.parse((await cli(['imports', '--json'])).stdout);
    expect(ledger.filter((i: { replayOf: number | null }) => i.replayOf === failed[0].id).length).toBeGreaterThanOrEqual(2);
  });

  it('store gc --dry-run counts the store and removes nothing; the retention must be a whole number of days', async () => {
    const r = await cli(['store', 'gc', '--dry-run', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    // The transfers imported above, all imported just now.
    expect(out).toMatchObject({ store: 'fs', retentionDays: 90, dryRun: true, removed: 0 });
    expect(out.examined).toBeGreaterThanOrEqual(3);
    expect(out.recent).toBe(out.examined);
    const bad = await cli(['store', 'gc', '--retention-days', '0']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('--retention-days needs a whole number of at least 1');
  });

  it('schedule trigger starts a batch; the worker drains on SIGTERM and exits 0', async () => {
    const t = await cli(['schedule', 'trigger', '--wait']);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toMatch(/started import-batch\//);
    expect(JSON.parse(t.stdout.slice(t.stdout.indexOf('{')))).toMatchObject({ tenant, files: 0 });
    worker.kill('SIGTERM');
    expect(await workerExit).toBe(0);
  });
});
