/**
 * Issue 17, defect 6: `imv-import status` as a process, when one of its sources fails. It must exit
 * (with the code the README gives) and show every part it could read:
 * - a wrong FTP password: the login is refused (530) and the screen says so; the process used to
 *   keep the refused FTP connection open and never exit;
 * - Temporal not reachable: the schedule, last batch and workers say so, the inbox, problems and
 *   today's estates still show (it used to print one line and nothing else);
 * - the database not reachable (nothing listens, or a listener that never answers, which pg would
 *   wait on forever): the ledger's parts say so, the schedule and workers still show.
 * Each run is awaited to its exit event. A hang shows as the test's timeout (60 s, a safety net far
 * above the seconds each run takes: the wrong password costs vsftpd's 1 s delay, Temporal's absence
 * the client's 10 s connect timeout, the silent database the 20 s connect timeout); the measured
 * times are checked against it too.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { freePort } from '../../common/net';
import { cliEnv, runCli, writeCliConfig, type CliRun } from '../support/cli';
import { uniqueId, uploadTo, usePipeline } from '../support/harness';

const HANG_SAFETY_NET_MS = 60_000;
const demo = path.resolve(__dirname, '../../demo/transfers');

/** The CLI run and how long it took to exit. */
async function timedRun(env: NodeJS.ProcessEnv, args: string[]): Promise<CliRun & { seconds: number }> {
  const t0 = Date.now();
  const r = await runCli(env, args);
  return { ...r, seconds: (Date.now() - t0) / 1000 };
}

describe('imv-import status when a source fails', () => {
  const good = uniqueId('good');
  const locked = uniqueId('locked');
  // The CLI under test runs as processes; no worker.
  const ctx = usePipeline({ tenants: [{ id: good }, { id: locked }], identities: [], poolMax: 2 });

  beforeAll(async () => {
    expect(fs.existsSync(path.resolve(__dirname, '../../dist/cli/main.js')), 'run `npm run build` first (npm test does)').toBe(true);
    // "locked" logs in with a password of its own, which the test sets wrong.
    ctx.cfg.tenants.find((t) => t.id === locked)!.ftp.passwordEnv = 'IMV_TEST_WRONG_FTP_PASSWORD';
    await uploadTo(good, 'waiting-1.xml', fs.readFileSync(path.join(demo, 'demo-2001-etagenwohnung.xml')));
  });

  it(
    'a wrong FTP password: says the login was refused, shows the rest, and exits',
    async () => {
      const env = cliEnv(writeCliConfig(ctx.cfg, 'imv-status-ftp-', {}), { IMV_TEST_WRONG_FTP_PASSWORD: 'not-the-password' });
      const r = await timedRun(env, ['status']);
      expect(r.seconds).toBeLessThan(HANG_SAFETY_NET_MS / 1000);
      expect(r.code, r.stderr).toBe(0);
      const [, goodBlock, lockedBlock] = r.stdout.split(/\n\n/);
      expect(goodBlock).toContain(`tenant ${good}`);
      expect(goodBlock).toMatch(/inbox\s+1 file waiting/);
      expect(lockedBlock).toContain(`tenant ${locked}`);
      expect(lockedBlock).toMatch(/inbox\s+cannot list: 530 /);
      expect(lockedBlock).toMatch(/problems\s+no failed or partial imports/);
      expect(r.stdout).toMatch(/workers\s+0 polling activity tasks/);
      expect(r.stdout + r.stderr).not.toContain('not-the-password');
    },
    HANG_SAFETY_NET_MS,
  );

  it(
    'Temporal not reachable: its parts say so, the inbox and the ledger still show, exit 1',
    async () => {
      const nowhere = `127.0.0.1:${await freePort()}`;
      const env = cliEnv(writeCliConfig({ ...ctx.cfg, temporal: { ...ctx.cfg.temporal, address: nowhere } }, 'imv-status-temporal-', {}));
      const r = await timedRun(env, ['status', '--tenant', good]);
      expect(r.seconds).toBeLessThan(HANG_SAFETY_NET_MS / 1000);
      expect(r.code).toBe(1);
      const text = r.stdout;
      expect(text).toMatch(new RegExp(`workers\\s+cannot describe task queue ${ctx.cfg.temporal.taskQueue}: cannot connect to Temporal at ${nowhere}`));
      expect(text).toContain(`tenant ${good}`);
      expect(text).toMatch(new RegExp(`schedule\\s+cannot connect to Temporal at ${nowhere}`));
      expect(text).toMatch(new RegExp(`last batch\\s+cannot connect to Temporal at ${nowhere}`));
      expect(text).toMatch(/inbox\s+1 file waiting/);
      expect(text).toContain('waiting-1.xml');
      expect(text).toMatch(/problems\s+no failed or partial imports in the last 24 h/);
      expect(text).toMatch(/today\s+estates created 0, updated 0, archived 0/);
    },
    HANG_SAFETY_NET_MS,
  );

  it(
    'the database not reachable: the ledger parts say so, the Temporal parts still show, exit 1 (--json)',
    async () => {
      const closed = await freePort();
      const url = new URL(ctx.cfg.databaseUrl);
      url.port = String(closed);
      const env = cliEnv(writeCliConfig({ ...ctx.cfg, databaseUrl: url.toString() }, 'imv-status-db-', {}));
      const r = await timedRun(env, ['status', '--json', '--tenant', good]);
      expect(r.seconds).toBeLessThan(HANG_SAFETY_NET_MS / 1000);
      expect(r.code).toBe(1);
      const report = JSON.parse(r.stdout);
      expect(report.workers).toEqual({ workflowPollers: [], activityPollers: [] });
      const t = report.tenants[0];
      expect(t.schedule.error).toContain('schedule ensure');
      for (const p of [t.inbox, t.problems, t.estatesToday, t.lastListedAt]) expect(p.error).toMatch(/^cannot reach the database: .*ECONNREFUSED/);
    },
    HANG_SAFETY_NET_MS,
  );

  it(
    'a database that accepts connections and never answers: the same, after the connect timeout',
    async () => {
      const held: net.Socket[] = [];
      const silent = net.createServer((c) => void held.push(c));
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      try {
        const url = new URL(ctx.cfg.databaseUrl);
        url.port = String((silent.address() as net.AddressInfo).port);
        const env = cliEnv(writeCliConfig({ ...ctx.cfg, databaseUrl: url.toString() }, 'imv-status-silent-db-', {}));
        const r = await timedRun(env, ['status', '--tenant', good]);
        expect(r.seconds).toBeLessThan(HANG_SAFETY_NET_MS / 1000);
        expect(r.code).toBe(1);
        expect(held.length).toBeGreaterThan(0);
        expect(r.stdout).toMatch(/schedule\s+no schedule .*schedule ensure/);
        expect(r.stdout).toMatch(/problems\s+cannot read the ledger: cannot reach the database: /);
      } finally {
        for (const c of held) c.destroy();
        await new Promise((resolve) => silent.close(resolve));
      }
    },
    HANG_SAFETY_NET_MS,
  );
});
