/**
 * Issue 19: the dev stack's embedded servers (ftp-srv, PGlite) are devDependencies, and the image installs
 * with `npm ci --omit=dev`. The built CLI runs here with them hidden as such an install has them (a
 * preload makes them fail to resolve, and records every attempt to load one):
 * - `worker` starts, polls and stops, and `status` shows its screen, without trying to load one of them;
 * - `dev` says in one line to run `npm ci` (no stack trace), and its attempt is recorded, which shows the
 *   record catches a load: a static import of dev/ in cli/main.ts would show up in the first two.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AppConfig } from '../../config/config';
import { cliEnv, runCli, startCli, writeCliConfig, type StartedCli } from '../support/cli';
import { createTestDatabase, testConfig, uniqueId } from '../support/harness';

/** The dev stack's packages (devDependencies), as a request names them. */
const DEV_PACKAGE = String.raw`^(ftp-srv|@electric-sql/pglite(-socket)?)(/|$)`;

/**
 * Preloaded into each CLI run (NODE_OPTIONS=--require): the dev stack's packages fail to resolve as after
 * `npm ci --omit=dev`, and every attempt to load one is appended to the file IMV_TEST_DEV_LOADS names.
 * require() goes through Module._resolveFilename, import() through the resolve hook (hooks.mjs).
 */
const PRELOAD = `'use strict';
const Module = require('node:module');
const fs = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  if (new RegExp(${JSON.stringify(DEV_PACKAGE)}).test(request)) {
    fs.appendFileSync(process.env.IMV_TEST_DEV_LOADS, 'require ' + request + '\\n');
    throw Object.assign(new Error("Cannot find module '" + request + "'"), { code: 'MODULE_NOT_FOUND' });
  }
  return resolveFilename.call(this, request, ...rest);
};
Module.register(pathToFileURL(path.join(__dirname, 'hooks.mjs')));
`;

const HOOKS = `import fs from 'node:fs';
export async function resolve(specifier, context, next) {
  if (new RegExp(${JSON.stringify(DEV_PACKAGE)}).test(specifier)) {
    fs.appendFileSync(process.env.IMV_TEST_DEV_LOADS, 'import ' + specifier + '\\n');
    throw Object.assign(new Error("Cannot find package '" + specifier + "'"), { code: 'ERR_MODULE_NOT_FOUND' });
  }
  return next(specifier, context);
}
`;

/** A hang shows as this, far above the seconds each run takes. */
const SAFETY_NET_MS = 90_000;

describe('the worker and the ops commands need no dev stack package', () => {
  const tenant = uniqueId('nodev');
  let dbHandle: { url: string; drop(): Promise<void> };
  let cfg: AppConfig;
  let configFile: string;
  let loadsFile: string;
  let preload: string;
  /** Folders the test makes (the config's, the preload's, dev's data folder): removed at the end. */
  const made: string[] = [];
  const started: StartedCli[] = [];

  beforeAll(async () => {
    expect(fs.existsSync(path.resolve(__dirname, '../../dist/cli/main.js')), 'run `npm run build` first (npm test does)').toBe(true);
    dbHandle = await createTestDatabase();
    cfg = testConfig({ databaseUrl: dbHandle.url, tenants: [{ id: tenant }] });
    configFile = writeCliConfig(cfg, 'imv-devdeps-');
    loadsFile = path.join(path.dirname(configFile), 'dev-package-loads.txt');
    const hooksDir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-devdeps-hooks-'));
    made.push(path.dirname(configFile), hooksDir);
    preload = path.join(hooksDir, 'preload.cjs');
    fs.writeFileSync(preload, PRELOAD);
    fs.writeFileSync(path.join(hooksDir, 'hooks.mjs'), HOOKS);
  });

  afterEach(() => {
    // A worker that did not stop must not outlive its test.
    for (const s of started.splice(0)) if (s.process.exitCode === null && s.process.signalCode === null) s.process.kill('SIGKILL');
  });

  afterAll(async () => {
    for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
    await dbHandle?.drop();
  });

  /** The CLI's environment: its config, the dev stack packages hidden, attempts to load them recorded. */
  const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
    fs.writeFileSync(loadsFile, '');
    return cliEnv(configFile, { NODE_OPTIONS: `--require ${preload}`, IMV_TEST_DEV_LOADS: loadsFile, ...extra });
  };
  /** The dev stack packages the run tried to load. */
  const attempts = (): string[] => fs.readFileSync(loadsFile, 'utf8').split('\n').filter(Boolean);

  it(
    '`worker` starts, polls and stops without them',
    async () => {
      const s = startCli(env({ LOG_LEVEL: 'info' }), ['worker', '--identity', uniqueId('nodev-worker')]);
      started.push(s);
      let output = '';
      await new Promise<void>((resolve, reject) => {
        const seen = (d: Buffer) => {
          output += d.toString('utf8');
          if (output.includes('"worker started"')) resolve();
        };
        s.process.stdout!.on('data', seen);
        s.process.stderr!.on('data', seen);
        s.process.on('exit', (code) => reject(new Error(`the worker exited (${code}) before it started:\n${output}`)));
      });
      s.process.kill('SIGTERM');
      const r = await s.exited;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout + r.stderr).toContain('"worker stopped"');
      expect(attempts()).toEqual([]);
    },
    SAFETY_NET_MS,
  );

  it(
    '`status` shows its screen without them',
    async () => {
      const r = await runCli(env(), ['status']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain(tenant);
      expect(attempts()).toEqual([]);
    },
    SAFETY_NET_MS,
  );

  it(
    '`dev` without them says in one line to run `npm ci`',
    async () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-devdeps-data-'));
      made.push(dataDir);
      const r = await runCli(env(), ['dev', '--data-dir', dataDir]);
      expect(r.code, r.stderr).toBe(1);
      const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
      expect(lines, r.stderr).toHaveLength(1);
      expect(lines[0]).toMatch(/^imv-import: `dev` needs the development packages, and (ftp-srv|@electric-sql\/pglite\S*) is not installed .*: run `npm ci`$/);
      expect(r.stderr + r.stdout).not.toMatch(/^\s+at /m);
      // The record sees a load: the empty records above are not for want of looking.
      expect(attempts().length).toBeGreaterThan(0);
      expect(fs.readdirSync(dataDir), 'dev started nothing').toEqual([]);
    },
    SAFETY_NET_MS,
  );
});
