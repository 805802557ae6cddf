/**
 * Database faults: a PostgreSQL server of the test's own, to stop hard and start again.
 */
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, waitForPort } from '../../dev/temporal-server';

/** The PostgreSQL server binaries (Debian layout, newest version), or TEST_PG_BIN. */
const PG_BIN =
  process.env.TEST_PG_BIN ??
  (() => {
    try {
      const versions = fs.readdirSync('/usr/lib/postgresql').filter((v) => fs.existsSync(`/usr/lib/postgresql/${v}/bin/initdb`));
      versions.sort((a, b) => Number(b) - Number(a));
      return versions.length ? `/usr/lib/postgresql/${versions[0]}/bin` : '';
    } catch {
      return '';
    }
  })();
export const hasPostgresServerBinaries = !!PG_BIN && fs.existsSync(path.join(PG_BIN, 'initdb'));
const execFileAsync = promisify(execFile);

export interface PrivatePostgres {
  port: number;
  url(database: string): string;
  /** Kills the server the hard way (`pg_ctl stop -m immediate`: crash recovery on the next start). */
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/**
 * A PostgreSQL server of its own (initdb into a temp folder, a free port), so that a test can
 * restart it without disturbing the test files that share the machine's server. Run as the
 * `postgres` user when the tests run as root (initdb refuses root).
 */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  if (!hasPostgresServerBinaries)
    throw new Error(`PostgreSQL server binaries (initdb, pg_ctl) not found in ${PG_BIN || '/usr/lib/postgresql/*/bin'} (TEST_PG_BIN)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-pg-'));
  const data = path.join(dir, 'data');
  const asPg = process.getuid?.() === 0;
  if (asPg) execFileSync('chown', ['postgres:postgres', dir]);
  const run = async (bin: string, args: string[]) => {
    const cmd = path.join(PG_BIN, bin);
    await execFileAsync(asPg ? 'runuser' : cmd, asPg ? ['-u', 'postgres', '--', cmd, ...args] : args, { cwd: dir });
  };
  await run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-N', '-E', 'UTF8', '--locale=C']);
  const port = await freePort();
  const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=60`;
  const pg: PrivatePostgres = {
    port,
    url: (db) => `postgres://postgres@127.0.0.1:${port}/${db}`,
    stop: () => run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']),
    start: () => run('pg_ctl', ['-D', data, '-o', opts, '-l', path.join(dir, 'log'), '-w', '-t', '30', 'start']),
    async destroy() {
      await pg.stop().catch(() => undefined);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  await pg.start();
  await waitForPort(port, '127.0.0.1', 10_000);
  return pg;
}
