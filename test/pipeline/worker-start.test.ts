/**
 * `imv-import worker` when it cannot start: every start-up failure ends the process with exit code 1
 * (a supervisor restarts it or notices) and one short line on stderr naming the cause, no stack
 * trace; a SIGTERM while it is still starting ends it too. The worker runs as a process (the built
 * CLI), and each test waits for its 'exit' event: a worker that keeps running fails the test at the
 * test's timeout (the safety net), never at a deadline of its own.
 *
 * The suite's PostgreSQL trusts every login on 127.0.0.1, so a wrong password cannot be refused here:
 * a role that does not exist (28000) is the refused login, a port where nothing listens the database
 * that is down.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AppConfig } from '../../config/config';
import { freePort } from '../../dev/temporal-server';
import { cliEnv, startCli, writeCliConfig, type StartedCli } from '../support/cli';
import { uniqueId, usePipeline } from '../support/harness';

/** Generous: a worker that cannot start exits within seconds; one that hangs fails here. */
const SAFETY_NET_MS = 60_000;

describe('imv-import worker: start-up failures exit 1', () => {
  // The workers under test are processes of the built CLI, started by each test.
  const ctx = usePipeline({ tenants: [{ id: uniqueId('start') }], identities: [] });
  let cfg: AppConfig;
  const started: StartedCli[] = [];
  const servers: net.Server[] = [];

  beforeAll(async () => {
    expect(fs.existsSync(path.resolve(__dirname, '../../dist/cli/main.js')), 'run `npm run build` first (npm test does)').toBe(true);
    cfg = ctx.cfg;
  });

  afterEach(async () => {
    // A worker that did not exit (the failure being tested) must not outlive its test.
    for (const s of started.splice(0)) if (s.process.exitCode === null && s.process.signalCode === null) s.process.kill('SIGKILL');
    for (const s of servers.splice(0)) s.close();
  });

  const worker = (configFile: string, extraEnv: NodeJS.ProcessEnv = {}): StartedCli => {
    const s = startCli(cliEnv(configFile, extraEnv), ['worker', '--identity', uniqueId('start-worker')]);
    started.push(s);
    return s;
  };

  /** Exit code 1 and exactly one line on stderr, `imv-import: …` matching `cause`, no stack frames. */
  const expectOneLineFailure = async (s: StartedCli, cause: RegExp) => {
    const r = await s.exited;
    expect(r.signal, r.stderr).toBeNull();
    expect(r.code, r.stderr).toBe(1);
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines, r.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^imv-import: /);
    expect(lines[0]).toMatch(cause);
    expect(r.stderr + r.stdout).not.toMatch(/^\s+at /m);
    return lines[0];
  };

  const withConfig = (c: AppConfig, extra?: Record<string, unknown>) => writeCliConfig(c, 'imv-start-', { worker: { shutdownGraceSeconds: 5 }, ...extra });

  it(
    'the database does not answer (nothing listens on its port)',
    async () => {
      const port = await freePort();
      const line = await expectOneLineFailure(
        worker(withConfig({ ...cfg, databaseUrl: `postgres://postgres@127.0.0.1:${port}/imv_nowhere` })),
        new RegExp(`cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port} .*ECONNREFUSED`),
      );
      expect(line).toContain('DATABASE_URL');
    },
    SAFETY_NET_MS,
  );

  it(
    'the database refuses the login (28000, as a wrong password is 28P01); the line never shows the password',
    async () => {
      const u = new URL(cfg.databaseUrl);
      u.username = 'imv_no_such_role';
      u.password = 'not-the-password';
      const line = await expectOneLineFailure(
        worker(withConfig({ ...cfg, databaseUrl: u.toString() })),
        /database error 28000: role "imv_no_such_role" does not exist/,
      );
      expect(line).not.toContain('not-the-password');
    },
    SAFETY_NET_MS,
  );

  it(
    'Temporal is unreachable',
    async () => {
      const port = await freePort();
      await expectOneLineFailure(
        worker(withConfig({ ...cfg, temporal: { ...cfg.temporal, address: `127.0.0.1:${port}` } })),
        new RegExp(
          `cannot connect to Temporal at 127\\.0\\.0\\.1:${port} \\(without TLS\\): connection refused \\(is the server running, and is the address right\\?\\)$`,
        ),
      );
    },
    SAFETY_NET_MS,
  );

  it(
    'the metrics port is in use',
    async () => {
      const taken = net.createServer();
      servers.push(taken);
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
      const port = (taken.address() as net.AddressInfo).port;
      await expectOneLineFailure(
        worker(withConfig(cfg), { METRICS_PORT: String(port) }),
        new RegExp(`cannot serve /metrics on 127\\.0\\.0\\.1:${port} .*: the port is in use$`),
      );
    },
    SAFETY_NET_MS,
  );

  it(
    'the config file is not valid (not JSON; a value of the wrong kind)',
    async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-start-bad-'));
      const notJson = path.join(dir, 'not-json.json');
      fs.writeFileSync(notJson, '{"tenants": [');
      const wrongKind = path.join(dir, 'wrong-kind.json');
      fs.writeFileSync(wrongKind, JSON.stringify({ tenants: [], worker: { maxConcurrentActivities: 'many' } }));
      const [a, b] = [worker(notJson), worker(wrongKind)];
      expect(await expectOneLineFailure(a, /cannot read configuration .*not-json\.json/)).toBeTruthy();
      const line = await expectOneLineFailure(b, /wrong-kind\.json: invalid configuration: /);
      expect(line).toContain('worker.maxConcurrentActivities');
    },
    SAFETY_NET_MS,
  );

  it(
    'a SIGTERM while it is still starting (its database has not answered yet) ends it',
    async () => {
      // A "database" that accepts the connection and never answers: start-up waits there.
      const accepted = new Promise<void>((resolve) => {
        const silent = net.createServer(() => resolve());
        servers.push(silent);
        silent.listen(0, '127.0.0.1');
      });
      const silent = servers[servers.length - 1];
      await new Promise<void>((resolve) => (silent.listening ? resolve() : silent.once('listening', () => resolve())));
      const port = (silent.address() as net.AddressInfo).port;
      const s = worker(withConfig({ ...cfg, databaseUrl: `postgres://postgres@127.0.0.1:${port}/imv_silent` }), { LOG_LEVEL: 'info' });
      await accepted;
      s.process.kill('SIGTERM');
      const r = await s.exited;
      expect(r.signal, r.stderr).toBeNull();
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toBe('');
      const records = r.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg?: string; signal?: string });
      expect(records.find((x) => x.msg === 'worker stopped during start-up')).toMatchObject({ signal: 'SIGTERM' });
      expect(records.some((x) => x.msg === 'worker started')).toBe(false);
    },
    SAFETY_NET_MS,
  );
});
