/**
 * What a person sees on a terminal (issue 11): the CLI and `imv-import dev` run in a real
 * pseudo-terminal (tmux), and the test reads the screen. On a terminal a batch shows a progress bar,
 * log lines are short human-readable lines, and no JSON log line reaches the screen; the dev stack's
 * logs are in files under its data directory.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cliEnv, writeCliConfig } from '../support/cli';
import { uniqueId, usePipeline, useDatabase } from '../support/harness';
import { generateTransfer } from '../support/generated-transfers';
import { openTerminal, type Terminal } from '../support/tmux';

const root = path.resolve(__dirname, '../..');
const bin = path.join(root, 'bin/imv-import.js');
const jsonLog = /\{"level"/;

function run(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d) => (stdout += d));
    p.stderr.on('data', (d) => (stderr += d));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the CLI on a terminal', () => {
  const tenant = uniqueId('tty');
  // The worker is a process of the built CLI.
  const ctx = usePipeline({ tenants: [{ id: tenant, options: { minFileAgeSeconds: 30 } }], identities: [], poolMax: 2 });
  let env: NodeJS.ProcessEnv;
  let worker: ChildProcess;
  let tmp: string;
  const terminals: Terminal[] = [];

  beforeAll(async () => {
    expect(fs.existsSync(path.join(root, 'dist/cli/main.js')), 'run `npm run build` first (npm test does)').toBe(true);
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-tty-cli-'));
    env = cliEnv(writeCliConfig(ctx.cfg, 'imv-tty-config-'), { LOG_LEVEL: 'info' });
    worker = spawn(process.execPath, [bin, 'worker'], { env, stdio: 'ignore' });
    const ensured = await run(['schedule', 'ensure'], env);
    expect(ensured.code, ensured.stderr).toBe(0);
  });

  afterAll(async () => {
    for (const t of terminals) t.close();
    if (worker && worker.exitCode === null) {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.kill('SIGKILL');
      await exited;
    }
  });

  const transfers = (first: number, n: number) =>
    Array.from({ length: n }, (_, i) => {
      const f = path.join(tmp, `tty-${first + i}.xml`);
      fs.writeFileSync(f, generateTransfer({ firstId: first + i, count: 1 }));
      return f;
    });

  it('import --wait draws a progress bar (files 5/5) and no JSON log line', async () => {
    const t = openTerminal([process.execPath, bin, 'import', ...transfers(7100, 5), '--wait'], { env, cwd: root });
    terminals.push(t);
    const screen = await t.waitForLine(/^EXIT=\d+$/);
    expect(screen, screen.join('\n')).toContain('EXIT=0');
    // The bar's last state: its label, the bar itself, and the figures.
    const bar = screen.find((l) => /files 5\/5/.test(l));
    expect(bar, screen.join('\n')).toMatch(new RegExp(`^${tenant} \\[█+\\] files 5/5 \\| objects 5 \\| [\\d.]+ files/s \\| elapsed \\d+s \\| ETA 0s`));
    expect(screen.filter((l) => /\btty-71\d\d\.xml +imported\b/.test(l))).toHaveLength(5);
    expect(screen.filter((l) => jsonLog.test(l))).toEqual([]);
  });

  it('replay and schedule trigger --wait draw their bars too: objects of each replayed file, files of the batch', async () => {
    const imported = JSON.parse((await run(['imports', '--json'], env)).stdout) as { id: number; file: string }[];
    const ids = imported.filter((i) => /^tty-710[01]\.xml$/.test(i.file)).map((i) => i.id);
    expect(ids).toHaveLength(2);
    const replay = openTerminal([process.execPath, bin, 'replay', ...ids.map(String)], { env, cwd: root });
    terminals.push(replay);
    const screen = await replay.waitForLine(/^EXIT=\d+$/);
    expect(screen, screen.join('\n')).toContain('EXIT=0');
    for (const id of ids)
      expect(
        screen.some((l) => new RegExp(`^import ${id} \\[█+\\] objects 1/1 \\| .* \\| done: imported$`).test(l)),
        screen.join('\n'),
      ).toBe(true);
    expect(screen.filter((l) => jsonLog.test(l))).toEqual([]);

    const trigger = openTerminal([process.execPath, bin, 'schedule', 'trigger', '--wait'], { env, cwd: root });
    terminals.push(trigger);
    const after = await trigger.waitForLine(/^EXIT=\d+$/);
    expect(after, after.join('\n')).toContain('EXIT=0');
    // Nothing waits in the inbox: the batch ends with a known total of 0.
    expect(
      after.some((l) => new RegExp(`^${tenant} \\[░+\\] files 0/0 \\|`).test(l)),
      after.join('\n'),
    ).toBe(true);
  });

  it('without a terminal the same command prints plain progress lines, no bar and no escape codes', async () => {
    const r = await run(['import', ...transfers(7200, 3), '--wait'], env);
    expect(r.code, r.stderr).toBe(0);
    const progress = r.stderr.split('\n').filter((l) => l.startsWith(`${tenant}: files `));
    expect(progress.length).toBeGreaterThanOrEqual(1);
    expect(progress.at(-1)).toMatch(/: files 3\/3 \| objects 3 \|/);
    expect(r.stderr).not.toContain('█');
    expect(r.stderr).not.toContain('\u001b[');
  });
});

describe('imv-import dev on a terminal', () => {
  const database = useDatabase({ prefix: 'imv_dev_tty', migrated: false });
  let t: Terminal | undefined;
  afterAll(() => {
    t?.close();
  });

  it('shows the links, a live status, the ledger and the summary, warnings as short lines, and keeps the JSON logs in files', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-dev-tty-'));
    const env: NodeJS.ProcessEnv = { ...process.env, DATABASE_URL: database.url, LOG_LEVEL: 'info' };
    delete env.TEMPORAL_ADDRESS;
    delete env.LOG_FORMAT;
    t = openTerminal([process.execPath, bin, 'dev', '--data-dir', dataDir, '--exit-after-import'], { env, cwd: root });
    const screen = await t.waitForLine(/^EXIT=\d+$/);
    const text = screen.join('\n');
    expect(screen, text).toContain('EXIT=0');
    expect(text).toMatch(/Temporal Web UI: +http:\/\/127\.0\.0\.1:\d+\/namespaces\/default\/workflows/);
    expect(text).toContain(`logs:             ${path.join(dataDir, 'logs', 'worker.log')}, ${path.join(dataDir, 'logs', 'temporal.log')}`);
    expect(screen.find((l) => l.startsWith('first import ['))).toMatch(/^first import \[█+\] files 4\/4 \| objects \d+ \|/);
    expect(text).toContain('batch summary: 4 files — imported 2, partial 1, failed 1');
    // The truncated demo file's failure is a warning: one short line, not a JSON record.
    expect(screen.filter((l) => /WARN: \[activity\] activity parseTransfer failed .*errorType=MalformedXml/.test(l))).toHaveLength(1);
    expect(screen.filter((l) => l.includes('{"'))).toEqual([]);
    expect(screen.filter((l) => / INFO: /.test(l))).toEqual([]);

    // Everything else is in the files: the worker's JSON lines (at LOG_LEVEL) and the Temporal server's output.
    const records = fs
      .readFileSync(path.join(dataDir, 'logs', 'worker.log'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { level: number; msg: string; component?: string });
    expect(records.filter((r) => /^activity \w+ completed$/.test(r.msg)).length).toBeGreaterThan(20);
    expect(records.some((r) => r.level === 40 && r.msg === 'activity parseTransfer failed')).toBe(true);
    expect(fs.existsSync(path.join(dataDir, 'logs', 'temporal.log'))).toBe(true);
  });
});
