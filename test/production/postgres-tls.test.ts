/**
 * PostgreSQL over TLS for every process, against a server of the test's own that accepts TLS only
 * (test/support/tls-postgres.ts): the built CLI's `migrate`, `worker`, `import --wait` through the
 * pipeline with the PostgreSQL file store, `status`, `imports`, `store get` and `store gc`, all with
 * `sslmode=verify-full&sslrootcert=<CA>`; and the same processes refused, with one short line naming
 * the database's address and the cause, when the CA or the host name is wrong. The server refuses a
 * client without TLS, so a run that works proves TLS was used.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { CLI_BIN, cliEnv, runCli, writeCliConfig, type CliRun } from '../support/cli';
import { testConfig, uniqueId } from '../support/harness';
import { CERT_USER, startTlsPostgres, type TlsPostgres } from '../support/tls-postgres';
import { zipOf } from '../support/zip';
import type { AppConfig } from '../../config/config';

const DB = 'imv_tls';
const png = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('tls-picture')]);
const transfer = `<?xml version="1.0" encoding="UTF-8"?>
<openimmo>
  <uebertragung art="OFFLINE" umfang="TEIL" modus="CHANGE" version="1.2.7" sendersoftware="imv-import tests" timestamp="2026-12-01T10:00:00Z"/>
  <anbieter><anbieternr>IMV</anbieternr><openimmo_anid>IMVONLINE</openimmo_anid>
    <immobilie>
      <objektkategorie><nutzungsart WOHNEN="1"/><vermarktungsart KAUF="1"/><objektart><wohnung/></objektart></objektkategorie>
      <geo><plz>24103</plz><ort>Kiel</ort></geo>
      <anhaenge><anhang location="EXTERN" gruppe="TITELBILD"><anhangtitel>Titel</anhangtitel><format>png</format><daten><pfad>bilder/titel.png</pfad></daten></anhang></anhaenge>
      <verwaltung_techn><objektnr_extern>tls-1</objektnr_extern><stand_vom>2026-12-01</stand_vom></verwaltung_techn>
      <user_defined_simplefield feldname="onoffice_benutzer">skoch</user_defined_simplefield>
    </immobilie>
  </anbieter>
</openimmo>`;

/** One line on stderr, `imv-import: cannot connect to PostgreSQL at <host:port> …: <cause>`, no stack, no password. */
function expectRefused(r: CliRun, address: string, cause: RegExp, password: string): void {
  expect(r.code, r.stdout + r.stderr).toBe(1);
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^imv-import: cannot connect to PostgreSQL at ${address.replace(/\./g, '\\.')}\\b`));
  expect(lines[0]).toMatch(cause);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  expect(r.stderr).not.toContain(password);
}

describe('PostgreSQL over TLS (sslmode=verify-full) for every process', () => {
  const tenant = uniqueId('pgtls');
  let server: TlsPostgres;
  let cfg: AppConfig;
  let env: NodeJS.ProcessEnv;
  let worker: ChildProcess | undefined;
  let workerExit: Promise<number | null> | undefined;
  let tmp: string;

  /** The CLI with the test's config, its databaseUrl replaced by this one. */
  const envWith = (databaseUrl: string, extra: NodeJS.ProcessEnv = {}) => cliEnv(writeCliConfig({ ...cfg, databaseUrl }, 'imv-pg-tls-cfg-'), extra);

  beforeAll(async () => {
    expect(fs.existsSync(path.resolve(__dirname, '../../dist/cli/main.js')), 'run `npm run build` first (npm test does)').toBe(true);
    server = await startTlsPostgres();
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-pg-tls-'));
    cfg = testConfig({ databaseUrl: server.url(DB, { sslmode: 'verify-full', sslrootcert: server.caFile }), tenants: [{ id: tenant }], fileStore: 'postgres' });
    env = cliEnv(writeCliConfig(cfg, 'imv-pg-tls-cfg-'));
  });

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      worker.kill('SIGKILL');
      await workerExit;
    }
    await server?.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  it('the server refuses a client without TLS', async () => {
    const plain = new pg.Client({ connectionString: server.url('postgres') });
    const err = await plain.connect().then(
      () => null,
      (e: Error & { code?: string }) => e,
    );
    await plain.end().catch(() => undefined);
    expect(err?.code).toBe('28000');
    expect(err?.message).toMatch(/pg_hba\.conf rejects connection .*no encryption/);
    // The CLI says so in one line, naming the server.
    expectRefused(await runCli(envWith(server.url(DB)), ['migrate']), `127.0.0.1:${server.port}`, /no encryption/, server.password);
  });

  it('migrate, worker, schedule ensure, import through the pipeline, status, imports, store get and gc work over verify-full', async () => {
    const migrate = await runCli(env, ['migrate']);
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.stdout).toContain('database is up to date');

    worker = spawn(process.execPath, [CLI_BIN, 'worker', '--identity', 'pg-tls-worker'], {
      env: { ...env, LOG_LEVEL: 'info' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let workerOut = '';
    let workerErr = '';
    worker.stderr!.on('data', (d: Buffer) => (workerErr += d.toString()));
    workerExit = new Promise((resolve) => worker!.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      worker!.stdout!.on('data', (d: Buffer) => {
        workerOut += d.toString();
        if (workerOut.includes('"worker started"')) resolve();
      });
      void workerExit!.then((code) => reject(new Error(`worker exited with ${code} before it started: ${workerErr}${workerOut}`)));
    });

    expect((await runCli(env, ['schedule', 'ensure', '--tenant', tenant])).code).toBe(0);
    const zip = path.join(tmp, 'tls-objekt.zip');
    fs.writeFileSync(
      zip,
      await zipOf([
        { name: 'tls-objekt.xml', data: transfer },
        { name: 'bilder/titel.png', data: png },
      ]),
    );
    const imp = await runCli(env, ['import', zip, '--tenant', tenant, '--wait']);
    expect(imp.code, imp.stdout + imp.stderr).toBe(0);
    expect(imp.stdout).toMatch(/tls-objekt\.zip\s+imported/);

    const imports = await runCli(env, ['imports', '--tenant', tenant, '--json']);
    expect(imports.code, imports.stderr).toBe(0);
    expect(JSON.parse(imports.stdout)).toMatchObject([{ tenant, status: 'imported', counts: { created: 1 } }]);

    const status = await runCli(env, ['status', '--tenant', tenant, '--json']);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.stringify(JSON.parse(status.stdout))).toContain(tenant);

    // The picture is in the PostgreSQL file store, read back over TLS.
    const out = path.join(tmp, 'titel.png');
    const get = await runCli(env, ['store', 'get', createHash('sha256').update(png).digest('hex'), '-o', out]);
    expect(get.code, get.stderr).toBe(0);
    expect(fs.readFileSync(out).equals(png)).toBe(true);
    const gc = await runCli(env, ['store', 'gc', '--dry-run', '--json']);
    expect(gc.code, gc.stderr).toBe(0);
    expect(JSON.parse(gc.stdout)).toMatchObject({ store: 'postgres', dryRun: true });

    // Every connection the worker holds is encrypted (the server would refuse any other, and says so).
    const admin = new pg.Client({ connectionString: server.url('postgres', { sslmode: 'verify-full', sslrootcert: server.caFile }) });
    await admin.connect();
    const r = await admin.query<{ ssl: boolean; n: number }>(
      `SELECT s.ssl, count(*)::int AS n FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.datname = $1 GROUP BY s.ssl`,
      [DB],
    );
    await admin.end();
    expect(r.rows).toEqual([{ ssl: true, n: expect.any(Number) }]);

    worker.kill('SIGTERM');
    expect(await workerExit, workerErr).toBe(0);
  });

  it('a client certificate (sslcert, sslkey) logs in where pg_hba.conf asks for one', async () => {
    const url = server.url(
      DB,
      { sslmode: 'verify-full', sslrootcert: server.caFile, sslcert: server.clientCertFile, sslkey: server.clientKeyFile },
      { user: CERT_USER, password: null },
    );
    const r = await runCli(envWith(url), ['imports', '--tenant', tenant, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toHaveLength(1);
    // Without the certificate the same role is refused.
    const without = server.url(DB, { sslmode: 'verify-full', sslrootcert: server.caFile }, { user: CERT_USER, password: null });
    expectRefused(await runCli(envWith(without), ['imports', '--tenant', tenant]), `127.0.0.1:${server.port}`, /certificate/, server.password);
  });

  it('a wrong CA is refused by every process that opens the database: one short line, exit 1', async () => {
    const wrongCa = envWith(server.url(DB, { sslmode: 'verify-full', sslrootcert: server.wrongCaFile }));
    const address = `127.0.0.1:${server.port}`;
    for (const args of [['migrate'], ['worker'], ['imports', '--tenant', tenant], ['store', 'gc', '--dry-run']])
      expectRefused(await runCli(wrongCa, args), address, /not signed by a CA in sslrootcert/, server.password);
    // The same through DATABASE_URL, which wins over the config file.
    expectRefused(
      await runCli(cliEnv(env.IMV_CONFIG!, { DATABASE_URL: server.url(DB, { sslmode: 'verify-full', sslrootcert: server.wrongCaFile }) }), ['migrate']),
      address,
      /not signed by a CA in sslrootcert/,
      server.password,
    );
  });

  it('the dev job given DATABASE_URL with a wrong CA ends with the same line (its FTP server and the SDK runtime stopped)', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-pg-tls-dev-'));
    const devEnv = cliEnv(env.IMV_CONFIG!, {
      DATABASE_URL: server.url(DB, { sslmode: 'verify-full', sslrootcert: server.wrongCaFile }),
      // The suite's Temporal server: the dev job checks it and starts none of its own.
      TEMPORAL_ADDRESS: inject('temporalAddress'),
    });
    expectRefused(
      await runCli(devEnv, ['dev', '--data-dir', dataDir, '--exit-after-import']),
      `127.0.0.1:${server.port}`,
      /not signed by a CA in sslrootcert/,
      server.password,
    );
  });

  it('a host name the certificate does not name is refused', async () => {
    const other = envWith(server.url(DB, { sslmode: 'verify-full', sslrootcert: server.caFile }, { host: '127.0.0.2' }));
    for (const args of [['migrate'], ['worker']])
      expectRefused(await runCli(other, args), `127.0.0.2:${server.port}`, /127\.0\.0\.2 is not in the cert's list/, server.password);
  });

  it('a CA file that cannot be read is named', async () => {
    const missing = path.join(tmp, 'no-such-ca.pem');
    const r = await runCli(envWith(server.url(DB, { sslmode: 'verify-full', sslrootcert: missing })), ['migrate']);
    expectRefused(r, `127.0.0.1:${server.port}`, new RegExp(`no such file.*${missing.replace(/\./g, '\\.')}`), server.password);
  });
});
