/**
 * API keys, checked by the Temporal server's own authorization: its default JWT claim mapper and
 * authorizer, reading the keys' signing key from a JWKS this test serves on loopback. The frontend
 * speaks TLS (server certificate only, as Temporal Cloud does for API keys); the key travels as
 * `authorization: Bearer …`. A worker and the CLI with a key that may write the namespace work;
 * without a key, with a key signed by someone else, or with a read-only key they are refused in
 * one short line that never shows the key.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { spawn } from 'node:child_process';
import { exportJWK, generateKeyPair, SignJWT, type KeyLike } from 'jose';
import type { Db } from '../../db/db';
import { CLI_BIN, cliEnv, runCli, writeCliConfig } from '../support/cli';
import { createTestDatabase, testConfig, uniqueId } from '../support/harness';
import { upload } from '../support/ftp';
import { generateTransfer } from '../support/generated-transfers';
import { quietDb } from '../support/database';
import { startTemporalCluster, type TemporalCluster } from './stack';

async function signer() {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const kid = uniqueId('key');
  const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' };
  const sign = (permissions: string[], key: KeyLike = privateKey) =>
    new SignJWT({ permissions }).setProtectedHeader({ alg: 'RS256', kid, typ: 'JWT' }).setSubject('imv-import').setIssuedAt().setExpirationTime('2h').sign(key);
  return { jwk, sign, privateKey };
}

/** A worker process; resolves with its exit code and output, or 'started' once it polls. */
function runWorker(env: NodeJS.ProcessEnv): {
  started: Promise<'started' | number>;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
  output(): string;
} {
  const child = spawn(process.execPath, [CLI_BIN, 'worker'], { env: { ...env, LOG_LEVEL: 'info', METRICS_PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const started = new Promise<'started' | number>((resolve) => {
    const on = (d: Buffer) => {
      out += d.toString();
      if (out.includes('worker started')) resolve('started');
    };
    child.stdout.on('data', on);
    child.stderr.on('data', on);
    void exited.then((code) => resolve(code ?? -1));
  });
  return {
    started,
    exited,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      return exited;
    },
  };
}

describe('API keys on a cluster with the server’s JWT authorizer', () => {
  let cluster: TemporalCluster;
  let jwks: http.Server;
  let database: { url: string; drop(): Promise<void> };
  let db: Db;
  let base: NodeJS.ProcessEnv;
  const keys: Record<string, string> = {};
  const tenant = uniqueId('apikey');

  beforeAll(async () => {
    const s = await signer();
    const stranger = await signer();
    jwks = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [s.jwk] }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
    keys.admin = await s.sign(['temporal-system:admin', 'default:admin']);
    keys.writer = await s.sign(['default:write']);
    keys.reader = await s.sign(['default:read']);
    // Same kid and claims, another signer: the server cannot verify it.
    keys.forged = await new SignJWT({ permissions: ['default:write'] })
      .setProtectedHeader({ alg: 'RS256', kid: s.jwk.kid, typ: 'JWT' })
      .setExpirationTime('2h')
      .sign(stranger.privateKey);
    cluster = await startTemporalCluster({
      extraEnv: {
        TEMPORAL_AUTH_AUTHORIZER: 'default',
        TEMPORAL_AUTH_CLAIM_MAPPER: 'default',
        TEMPORAL_JWT_KEY_SOURCE1: jwksUrl,
        // The server's own services reach the frontend past the authorizer.
        USE_INTERNAL_FRONTEND: 'true',
        // Keys instead of client certificates (the frontend still speaks TLS).
        TEMPORAL_TLS_REQUIRE_CLIENT_AUTH: 'false',
      },
      services: ['frontend', 'internal-frontend', 'history', 'matching', 'worker'],
      initEnv: (c) => ({
        TEMPORAL_ADDRESS: c.TEMPORAL_ADDRESS,
        TEMPORAL_TLS_SERVER_CA_CERT_PATH: c.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
        TEMPORAL_TLS_SERVER_NAME: 'temporal',
        TEMPORAL_API_KEY: keys.admin,
      }),
    });
    database = await createTestDatabase('imv_apikey');
    db = quietDb(database.url);
    const cfg = testConfig({ databaseUrl: database.url, tenants: [{ id: tenant }] });
    const file = writeCliConfig(cfg, 'imv-apikey-', { worker: { shutdownGraceSeconds: 5 } });
    base = cliEnv(file, {
      TEMPORAL_ADDRESS: cluster.address,
      TEMPORAL_NAMESPACE: 'default',
      TEMPORAL_TLS_SERVER_CA_CERT_PATH: cluster.certs.ca,
      TEMPORAL_TLS_SERVER_NAME: 'temporal',
    });
    expect((await runCli(base, ['migrate'])).code).toBe(0);
  }, 600_000);

  afterAll(async () => {
    await db?.destroy();
    await database?.drop();
    await cluster?.destroy();
    jwks?.close();
  });

  it('a worker and the CLI with a key that may write the namespace import a file', async () => {
    const env = { ...base, TEMPORAL_API_KEY: keys.writer };
    const worker = runWorker(env);
    try {
      expect(await worker.started, worker.output()).toBe('started');
      const ensure = await runCli(env, ['schedule', 'ensure']);
      expect(ensure.code, ensure.stderr).toBe(0);
      await upload(inject('ftpPort'), tenant, 'key-1.xml', generateTransfer({ firstId: 71_000, count: 3 }));
      const run = await runCli(env, ['schedule', 'trigger', '--tenant', tenant, '--wait']);
      expect(run.code, run.stderr).toBe(0);
      const rows = (await db('import_files').where({ tenant_id: tenant }).select('file_name', 'status')) as { file_name: string; status: string }[];
      expect(rows).toEqual([{ file_name: 'key-1.xml', status: 'imported' }]);
    } finally {
      await worker.stop();
    }
    expect(worker.output()).not.toContain(keys.writer);
  });

  it.each([
    ['no key', undefined, /refused the request: the server requires authorization/],
    ['a key signed by someone else', 'forged', /the API key was refused/],
    ['a read-only key', 'reader', /refused the request: the API key was refused for this request/],
  ])('%s: the CLI and the worker are refused in one short line that never shows the key', async (_what, which, expected) => {
    const env = { ...base };
    if (which) env.TEMPORAL_API_KEY = keys[which];
    else env.TEMPORAL_TLS = 'true';
    const cli = await runCli(env, ['schedule', 'ensure']);
    expect(cli.code).toBe(1);
    expect(cli.stderr.trim().split('\n'), cli.stderr).toHaveLength(1);
    expect(cli.stderr).toMatch(expected);
    expect(cli.stderr).not.toMatch(/\n\s+at /);
    if (which) expect(cli.stderr + cli.stdout).not.toContain(keys[which]);

    // Refused when it describes the namespace, or at its first poll: either way it exits 1.
    const worker = runWorker(env);
    const outcome = await worker.exited;
    expect(outcome, worker.output()).toBe(1);
    expect(worker.output()).toMatch(expected);
    if (which) expect(worker.output()).not.toContain(keys[which]);
  });
});
