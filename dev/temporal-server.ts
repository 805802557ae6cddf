/**
 * The Temporal CLI's dev server (SQLite, embedded Web UI) as a real component for the main job
 * and the tests. The CLI is not on npm: scripts/install-temporal-cli.sh builds it once into a
 * cache outside the repo; nothing is downloaded at run time.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { freePort, waitForPort } from '../common/net';
import path from 'node:path';
import { searchAttributeTypes } from '../common/search-attributes';

const projectRoot = path.resolve(__dirname, '..', fs.existsSync(path.resolve(__dirname, '..', 'package.json')) ? '' : '..');

/** Path of the Temporal CLI, building it when missing ($TEMPORAL_CLI overrides). */
export function ensureTemporalCli(): string {
  const script = path.join(projectRoot, 'scripts', 'install-temporal-cli.sh');
  return execFileSync('bash', [script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

export function searchAttributeFlags(): string[] {
  return Object.entries(searchAttributeTypes).flatMap(([k, v]) => ['--search-attribute', `${k}=${v}`]);
}

export { freePort, waitForPort };

export interface DevServer {
  address: string;
  uiUrl: string | null;
  process: ChildProcess;
  stop(): Promise<void>;
}

export async function startTemporalDevServer(opts: {
  dbFile?: string;
  port?: number;
  uiPort?: number;
  headless?: boolean;
  logFile?: string;
}): Promise<DevServer> {
  const bin = ensureTemporalCli();
  const port = opts.port ?? (await freePort());
  const uiPort = opts.uiPort ?? (await freePort());
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn', ...searchAttributeFlags()];
  if (opts.dbFile) {
    fs.mkdirSync(path.dirname(opts.dbFile), { recursive: true });
    // WAL with synchronous=NORMAL: a commit is a write to the log, not three fsyncs (~4 ms each on this
    // disk). The dev server's state survives a crash of the process, not of the machine: fine for a dev
    // stack, and 1,000 files no longer wait on the disk (docs/design.md §6).
    args.push('--db-filename', opts.dbFile, '--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  }
  if (opts.headless) args.push('--headless');
  else args.push('--ui-port', String(uiPort));
  const out = opts.logFile ? fs.openSync(opts.logFile, 'a') : 'ignore';
  const child = spawn(bin, args, { stdio: ['ignore', out, out], detached: false });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([
      waitForPort(port),
      exited.then(() => {
        throw new Error(`temporal server start-dev exited early (see ${opts.logFile ?? 'its output'})`);
      }),
    ]);
  } catch (e) {
    child.kill('SIGKILL');
    throw e;
  }
  return {
    address: `127.0.0.1:${port}`,
    uiUrl: opts.headless ? null : `http://127.0.0.1:${uiPort}`,
    process: child,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
