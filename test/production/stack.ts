/**
 * The production rehearsal's Temporal cluster: the server and temporal-sql-tool at the version
 * docker-compose.yml pins (scripts/install-temporal-server.sh builds them with `go install` once),
 * configured by deploy/temporal/server.env — the file compose's `temporal` service reads — with
 * only the "where" changed: database host and names, ports, and the folder of the certificates.
 * The schema is set up by deploy/temporal/setup-schema.sh and the namespace and search attributes
 * registered by deploy/temporal/init.sh, the scripts compose runs. Certificates are made here with
 * openssl. Nothing here skips: a server that cannot be built or started fails the test.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import { promisify } from 'node:util';
import { PG_ADMIN_URL } from '../support/harness';
import { adminQuery } from '../support/database';

const root = path.resolve(__dirname, '../..');
export const SERVER_ENV_FILE = path.join(root, 'deploy/temporal/server.env');
/** Where compose mounts the certificates; the rehearsal puts its own folder in its place. */
const COMPOSE_TLS_DIR = '/etc/temporal/tls/';
const COMPOSE_DYNAMIC_CONFIG = '/etc/temporal/config/dynamicconfig/imv-import.yaml';

/** The server binaries, built once (fails loudly when Go cannot build them). */
export function temporalServerDir(): string {
  const out = execFileSync('bash', [path.join(root, 'scripts/install-temporal-server.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const dir = out.trim().split('\n').pop()!;
  for (const f of ['temporal-server', 'temporal-sql-tool']) if (!fs.existsSync(path.join(dir, f))) throw new Error(`${f} is missing in ${dir}`);
  return dir;
}

/** The Temporal CLI (scripts/install-temporal-cli.sh), which init.sh runs. */
function temporalCliDir(): string {
  return path.dirname(execFileSync('bash', [path.join(root, 'scripts/install-temporal-cli.sh')], { encoding: 'utf8' }).trim());
}

/** deploy/temporal/server.env as a map (KEY=value lines; comments and blanks skipped). */
export function readServerEnv(file = SERVER_ENV_FILE): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  return env;
}

export interface Certificates {
  dir: string;
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** A client certificate from another CA: the server must refuse it. */
  rogueCert: string;
  rogueKey: string;
  rogueCa: string;
}

/**
 * The certificates, made by deploy/temporal/make-certs.sh (the script operators use): a CA, the
 * server's certificate, a client certificate; and the same from a second, rogue CA.
 */
export function makeCertificates(dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-temporal-tls-'))): Certificates {
  const script = path.join(root, 'deploy/temporal/make-certs.sh');
  execFileSync('sh', [script, dir], { env: { ...process.env, DAYS: '2' }, stdio: 'ignore' });
  const rogue = path.join(dir, 'rogue');
  execFileSync('sh', [script, rogue], { env: { ...process.env, DAYS: '2', CA_NAME: 'rogue CA' }, stdio: 'ignore' });
  const p = (f: string) => path.join(dir, f);
  return {
    dir,
    ca: p('ca.pem'),
    serverCert: p('server.pem'),
    serverKey: p('server.key'),
    clientCert: p('client.pem'),
    clientKey: p('client.key'),
    rogueCert: p('rogue/client.pem'),
    rogueKey: p('rogue/client.key'),
    rogueCa: p('rogue/ca.pem'),
  };
}

export interface TemporalCluster {
  address: string;
  certs: Certificates;
  /** The environment an mTLS client of this cluster needs (Temporal's environment configuration). */
  clientEnv: Record<string, string>;
  /** The server's own environment (server.env with the rehearsal's "where"). */
  serverEnv: Record<string, string>;
  databases: string[];
  logFile: string;
  /** SIGTERM, and wait until the process has exited. */
  stop(): Promise<void>;
  /** Starts the server again on the same databases and ports; resolves when it answers over mTLS. */
  start(): Promise<void>;
  /** Stops the server and drops its databases. */
  destroy(): Promise<void>;
}

/**
 * A free loopback port below 32768: Temporal stores membership ports in a smallint column, so the
 * kernel's ephemeral ports (32768 and up) make the server fail at start.
 */
async function freeLowPort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) {
      taken.add(port);
      return port;
    }
  }
}

const execFileAsync = promisify(execFile);

/** The server's fatal line, if any, else the end of its log. */
function lastLines(logFile: string): string {
  const lines = fs.readFileSync(logFile, 'utf8').trim().split('\n');
  const fatal = lines.reverse().find((l) => l.includes('"level":"fatal"'));
  const line = fatal ?? lines[0] ?? '';
  const msg = /"msg":"([^"]*)".*?"error":"([^"]*)"/.exec(line);
  return msg ? `${msg[1]}: ${msg[2]} (log: ${logFile})` : `${line.slice(0, 300)} (log: ${logFile})`;
}

function runScript(script: string, env: Record<string, string>, log: string): void {
  try {
    execFileSync('sh', [path.join(root, 'deploy/temporal', script)], { env, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (e) {
    const err = e as { stdout?: string; stderr?: string; message: string };
    fs.appendFileSync(log, `${script}:\n${err.stdout ?? ''}${err.stderr ?? ''}`);
    throw new Error(`deploy/temporal/${script} failed: ${(err.stderr || err.message).trim().split('\n').slice(-3).join(' | ')}`);
  }
}

/**
 * A Temporal cluster as production runs it: PostgreSQL persistence and SQL visibility on the
 * machine's PostgreSQL (databases of its own), four history shards, frontend mTLS with client
 * authentication required. `extraEnv` adds server settings (e.g. the JWT authorizer).
 */
export async function startTemporalCluster(
  o: {
    extraEnv?: Record<string, string>;
    certs?: Certificates;
    /** The services the process runs (default: the server's own default, as in the image). */
    services?: string[];
    /** How init.sh authenticates, instead of the client certificate (e.g. an admin API key). */
    initEnv?: (clientEnv: Record<string, string>) => Record<string, string>;
  } = {},
): Promise<TemporalCluster> {
  const bin = temporalServerDir();
  const cliDir = temporalCliDir();
  const certs = o.certs ?? makeCertificates();
  const suffix = randomBytes(4).toString('hex');
  const dbName = `temporal_reh_${suffix}`;
  const visName = `temporal_vis_reh_${suffix}`;
  const pgUrl = new URL(PG_ADMIN_URL);
  const logFile = path.join(certs.dir, 'temporal-server.log');
  const basePath = process.env.PATH ?? '/usr/bin:/bin';

  // Where Temporal's databases are, for the schema script and the server alike.
  const database = {
    POSTGRES_SEEDS: pgUrl.hostname,
    DB_PORT: pgUrl.port || '5432',
    POSTGRES_USER: decodeURIComponent(pgUrl.username) || 'postgres',
    DBNAME: dbName,
    VISIBILITY_DBNAME: visName,
  };
  // The machine's PostgreSQL trusts loopback; the script and the server insist on a password, as in compose.
  const password = 'unused-with-trust-auth';
  // The schema, by the script compose runs in admin-tools.
  runScript(
    'setup-schema.sh',
    { PATH: `${bin}:${basePath}`, ...database, SQL_PASSWORD: password, SCHEMA_ROOT: path.join(bin, 'schema/postgresql/v12') },
    logFile,
  );

  const taken = new Set<number>();
  const ports: number[] = [];
  for (let i = 0; i < 12; i++) ports.push(await freeLowPort(taken));
  const fromFile = readServerEnv();
  const where = (v: string) => v.split(COMPOSE_TLS_DIR).join(`${certs.dir}/`);
  const serverEnv: Record<string, string> = {
    ...Object.fromEntries(Object.entries(fromFile).map(([k, v]) => [k, where(v)])),
    ...database,
    POSTGRES_PWD: password,
    BIND_ON_IP: '127.0.0.1',
    TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1',
    DYNAMIC_CONFIG_FILE_PATH: path.join(root, 'deploy/temporal/dynamicconfig', path.basename(COMPOSE_DYNAMIC_CONFIG)),
    FRONTEND_GRPC_PORT: String(ports[0]),
    FRONTEND_MEMBERSHIP_PORT: String(ports[1]),
    FRONTEND_HTTP_PORT: String(ports[2]),
    HISTORY_GRPC_PORT: String(ports[3]),
    HISTORY_MEMBERSHIP_PORT: String(ports[4]),
    MATCHING_GRPC_PORT: String(ports[5]),
    MATCHING_MEMBERSHIP_PORT: String(ports[6]),
    WORKER_GRPC_PORT: String(ports[7]),
    WORKER_MEMBERSHIP_PORT: String(ports[8]),
    // Used only with USE_INTERNAL_FRONTEND (the server's own services behind the JWT authorizer).
    INTERNAL_FRONTEND_GRPC_PORT: String(ports[9]),
    INTERNAL_FRONTEND_MEMBERSHIP_PORT: String(ports[10]),
    INTERNAL_FRONTEND_HTTP_PORT: String(ports[11]),
    ...(o.extraEnv ?? {}),
  };
  const address = `127.0.0.1:${ports[0]}`;
  const clientEnv = {
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: 'default',
    TEMPORAL_TLS_CLIENT_CERT_PATH: certs.clientCert,
    TEMPORAL_TLS_CLIENT_KEY_PATH: certs.clientKey,
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: certs.ca,
    TEMPORAL_TLS_SERVER_NAME: 'temporal',
  };

  let child: ChildProcess | null = null;
  let exited: Promise<void> = Promise.resolve();
  const start = async () => {
    const log = fs.openSync(logFile, 'a');
    child = spawn(path.join(bin, 'temporal-server'), ['start', ...(o.services ?? []).flatMap((x) => ['--service', x])], {
      env: { PATH: basePath, HOME: os.homedir(), ...serverEnv },
      stdio: ['ignore', log, log],
    });
    fs.closeSync(log);
    const c = child;
    exited = new Promise<void>((r) => c.once('exit', () => r()));
    // init.sh waits until the cluster is healthy over mTLS, then registers what is missing; a server
    // that exits meanwhile fails the start at once.
    const initEnv = o.initEnv ? o.initEnv(clientEnv) : clientEnv;
    const init = execFileAsync('sh', [path.join(root, 'deploy/temporal/init.sh')], {
      env: { PATH: `${cliDir}:${basePath}`, HOME: os.homedir(), NAMESPACE_RETENTION: '24h', ...initEnv },
    }).catch((e: { stdout?: string; stderr?: string; message: string }) => {
      fs.appendFileSync(logFile, `init.sh:\n${e.stdout ?? ''}${e.stderr ?? ''}`);
      throw new Error(`deploy/temporal/init.sh failed: ${(e.stderr || e.message).trim().split('\n').slice(-3).join(' | ')}`);
    });
    const died = exited.then(() => {
      throw new Error(`the Temporal server exited at start: ${lastLines(logFile)}`);
    });
    died.catch(() => undefined);
    try {
      await Promise.race([init, died]);
    } catch (e) {
      // A server that started but never became usable is stopped, not left running.
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
      await exited;
      throw e;
    }
  };
  const stop = async () => {
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  try {
    await start();
  } catch (e) {
    for (const db of [dbName, visName]) await adminQuery(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`).catch(() => undefined);
    throw e;
  }
  return {
    address,
    certs,
    clientEnv,
    serverEnv,
    databases: [dbName, visName],
    logFile,
    stop,
    start,
    async destroy() {
      await stop();
      for (const db of [dbName, visName]) await adminQuery(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    },
  };
}
