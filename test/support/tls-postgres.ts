/**
 * A PostgreSQL server of a test's own that speaks TLS only: initdb in a temp folder (as the `postgres`
 * OS user when the test runs as root, which PostgreSQL refuses), a CA and certificates made with
 * openssl, `ssl = on`, and a pg_hba.conf that rejects every connection without TLS (`hostnossl …
 * reject`). It listens on 127.0.0.1 and 127.0.0.2 with one free port; the server certificate names
 * 127.0.0.1 and localhost only, so 127.0.0.2 is the same server under a name the certificate does not
 * cover. A client certificate (CN `imv_cert`, signed by the CA) logs in as the role `imv_cert`.
 *
 * Missing binaries are an error, never a skip: PG_BIN names their folder (default PostgreSQL 15's).
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { freePortOn } from './net';

const run = promisify(execFile);

export const PG_BIN = process.env.PG_BIN ?? '/usr/lib/postgresql/15/bin';
export const CERT_USER = 'imv_cert';

export interface TlsPostgres {
  port: number;
  password: string;
  /** The CA that signed the server's and the client's certificates. */
  caFile: string;
  /** A CA that signed nothing here. */
  wrongCaFile: string;
  clientCertFile: string;
  clientKeyFile: string;
  /** postgres://postgres:<password>@<host>:<port>/<database>?<params>. */
  url(database: string, params?: Record<string, string>, o?: { host?: string; user?: string; password?: string | null }): string;
  stop(): Promise<void>;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir });
}

/** A CA and a leaf certificate it signs (EC keys: quick to make). */
async function makeCa(dir: string, name: string): Promise<void> {
  await openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.pem`,
    '-days',
    '2',
    '-subj',
    `/CN=${name}`,
  ]);
}

async function makeLeaf(dir: string, name: string, cn: string, ext: string): Promise<void> {
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
  await openssl(dir, [
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.csr`,
    '-subj',
    `/CN=${cn}`,
  ]);
  await openssl(dir, [
    'x509',
    '-req',
    '-in',
    `${name}.csr`,
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    `${name}.crt`,
    '-days',
    '2',
    '-extfile',
    `${name}.ext`,
  ]);
}

/** Runs a PostgreSQL binary as the `postgres` OS user when this process is root. */
function asPostgres(bin: string, args: string[], cwd: string): Promise<unknown> {
  const exe = path.join(PG_BIN, bin);
  return process.getuid?.() === 0 ? run('runuser', ['-u', 'postgres', '--', exe, ...args], { cwd }) : run(exe, args, { cwd });
}

function checkBinaries(): void {
  const missing = ['initdb', 'pg_ctl', 'postgres'].filter((b) => !fs.existsSync(path.join(PG_BIN, b)));
  if (missing.length) throw new Error(`PostgreSQL binaries missing in ${PG_BIN} (${missing.join(', ')}): install PostgreSQL 15 or set PG_BIN`);
}

function writeConfig(data: string, port: number): void {
  fs.appendFileSync(
    path.join(data, 'postgresql.conf'),
    [
      `listen_addresses = '127.0.0.1,127.0.0.2'`,
      `port = ${port}`,
      `unix_socket_directories = '${data}'`,
      `ssl = on`,
      `ssl_cert_file = 'server.crt'`,
      `ssl_key_file = 'server.key'`,
      `ssl_ca_file = 'ca.pem'`,
      `fsync = off`,
      `max_connections = 60`,
      '',
    ].join('\n'),
  );
  fs.writeFileSync(
    path.join(data, 'pg_hba.conf'),
    [
      'local all all trust',
      'hostnossl all all 0.0.0.0/0 reject',
      `hostssl all ${CERT_USER} 127.0.0.0/8 cert`,
      'hostssl all all 127.0.0.0/8 scram-sha-256',
      '',
    ].join('\n'),
  );
}

export async function startTlsPostgres(): Promise<TlsPostgres> {
  checkBinaries();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-pg-tls-'));
  const data = path.join(dir, 'data');
  const password = `pw-${randomBytes(9).toString('hex')}`;
  await makeCa(dir, 'ca');
  await makeCa(dir, 'wrong-ca');
  await makeLeaf(dir, 'server', '127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  await makeLeaf(dir, 'client', CERT_USER, 'extendedKeyUsage=clientAuth\n');
  fs.writeFileSync(path.join(dir, 'pwfile'), `${password}\n`);
  if (process.getuid?.() === 0) await run('chown', ['-R', 'postgres:', dir]);
  await asPostgres(
    'initdb',
    ['-D', data, '-U', 'postgres', `--pwfile=${path.join(dir, 'pwfile')}`, '-E', 'UTF8', '--locale=C', '--auth-local=trust', '--auth-host=scram-sha-256'],
    dir,
  );
  for (const f of ['server.crt', 'server.key', 'ca.pem']) fs.copyFileSync(path.join(dir, f), path.join(data, f));
  fs.chmodSync(path.join(data, 'server.key'), 0o600);
  if (process.getuid?.() === 0) await run('chown', ['-R', 'postgres:', data]);
  const port = await freePortOn('127.0.0.1');
  writeConfig(data, port);
  await asPostgres('pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-t', '120', 'start'], dir);

  const url: TlsPostgres['url'] = (database, params = {}, o = {}) => {
    const u = new URL(`postgres://${o.host ?? '127.0.0.1'}:${port}/${database}`);
    u.username = o.user ?? 'postgres';
    if (o.password !== null) u.password = o.password ?? password;
    for (const [k, v] of Object.entries(params)) u.searchParams.set(k, v);
    return u.toString();
  };
  // The role of the client certificate: a superuser, so it may migrate like the owner.
  const admin = new pg.Client({ connectionString: url('postgres', { sslmode: 'verify-full', sslrootcert: path.join(dir, 'ca.pem') }) });
  await admin.connect();
  await admin.query(`CREATE ROLE ${CERT_USER} LOGIN SUPERUSER`);
  await admin.end();

  return {
    port,
    password,
    caFile: path.join(dir, 'ca.pem'),
    wrongCaFile: path.join(dir, 'wrong-ca.pem'),
    clientCertFile: path.join(dir, 'client.crt'),
    clientKeyFile: path.join(dir, 'client.key'),
    url,
    async stop() {
      await asPostgres('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '120', 'stop'], dir);
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
