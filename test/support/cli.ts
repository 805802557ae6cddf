/**
 * The built CLI as an operator runs it, for tests that spawn it: a configuration file of a test's
 * config, an environment that points only at that file, and a run that collects the output.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AppConfig } from '../../config/config';
import { testEnv } from './harness';

export const CLI_BIN = path.resolve(__dirname, '../../bin/imv-import.js');

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The config file's `temporal` section of a resolved config (address, namespace, task queue). */
export function temporalSection(cfg: AppConfig): Record<string, string> {
  const { address, namespace, taskQueue } = cfg.temporal;
  return { address, namespace, taskQueue };
}

/** Writes the config (tenants, Temporal, database, file store; a 5 s grace time) to a new temp folder; returns the file. */
export function writeCliConfig(cfg: AppConfig, prefix = 'imv-cli-', extra: Record<string, unknown> = { worker: { shutdownGraceSeconds: 5 } }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const file = path.join(dir, 'imv-import.json');
  fs.writeFileSync(
    file,
    JSON.stringify({ tenants: cfg.tenants, temporal: temporalSection(cfg), databaseUrl: cfg.databaseUrl, fileStore: cfg.fileStore, ...extra }),
  );
  return file;
}

/** The environment of a CLI run: the config file, and none of the variables that would override it (unless given). */
export function cliEnv(configFile: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...testEnv, IMV_CONFIG: configFile, LOG_LEVEL: 'warn', ...extra };
  for (const k of ['TEMPORAL_ADDRESS', 'DATABASE_URL', 'IMV_STUCK_AFTER', 'METRICS_HOST', 'METRICS_PORT', 'LOG_FORMAT']) if (!(k in extra)) delete env[k];
  return env;
}

/** Runs the CLI to its exit. */
export function runCli(env: NodeJS.ProcessEnv, args: string[]): Promise<CliRun> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => err.push(d));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

export interface StartedCli {
  process: ChildProcess;
  /** The process's exit ('exit' event) with what it wrote; signal is set when a signal ended it. */
  exited: Promise<CliRun & { signal: NodeJS.Signals | null }>;
}

/** Starts the CLI (e.g. `worker`) without waiting for it: the test signals it and awaits `exited`. */
export function startCli(env: NodeJS.ProcessEnv, args: string[]): StartedCli {
  const p = spawn(process.execPath, [CLI_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  p.stdout!.on('data', (d: Buffer) => out.push(d));
  p.stderr!.on('data', (d: Buffer) => err.push(d));
  const exited = new Promise<CliRun & { signal: NodeJS.Signals | null }>((resolve) =>
    p.on('exit', (code, signal) =>
      // 'exit' can come before the last output has been read: wait for the pipes to end.
      p.on('close', () => resolve({ code: code ?? -1, signal, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') })),
    ),
  );
  return { process: p, exited };
}
