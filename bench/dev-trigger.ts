/**
 * The everyday workload as an operator meets it: `imv-import dev` (embedded stack, default settings),
 * K one-object files waiting in its inbox, and one `imv-import schedule trigger --wait`, timed from
 * the command's start to its exit. Prints the time and the files per second; asserts nothing.
 *
 *   npm run build && node dist/bench/dev-trigger.js [files]      (default 1,000)
 *
 * Runs in a fresh data directory, with DATABASE_URL set to a database of its own on the local
 * PostgreSQL (not the dev stack's `imv_import_dev`); both are removed at the end.
 */
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { databaseUrlFor, dropScratchDatabase } from '../db/bench';
import { generate } from './transfers';
import { DEV_TENANT } from '../dev/main-job';

const BIN = path.join(__dirname, '..', '..', 'bin', 'imv-import.js');

async function main(): Promise<void> {
  const files = Number(process.argv[2] ?? 1000);
  const base = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const dbName = `imv_bench_dev_${Date.now()}`;
  const dbUrl = databaseUrlFor(base, dbName);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-bench-dev-'));
  const env = { ...process.env, DATABASE_URL: dbUrl, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' };

  // The dev stack, until its first import (the demo transfers) is done.
  const dev = spawn(process.execPath, [BIN, 'dev', '--data-dir', dataDir], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const exited = new Promise<void>((r) => dev.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    dev.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (/batch summary:/.test(out)) resolve();
    });
    dev.once('exit', (code) => reject(new Error(`imv-import dev exited (${code}) before its first import:\n${out}`)));
  });
  const cli = /CLI in another shell: (.*) node bin\/imv-import\.js imports/.exec(out)?.[1];
  if (!cli) throw new Error(`no CLI line in the dev output:\n${out}`);
  const cliEnv: Record<string, string> = { ...env };
  for (const kv of cli.trim().split(/\s+/)) {
    const [k, ...v] = kv.split('=');
    cliEnv[k!] = v.join('=');
  }

  // K one-object files that waited in the inbox (dated an hour back, past the minimum age).
  const inbox = path.join(dataDir, 'ftp', DEV_TENANT);
  const past = new Date(Date.now() - 3600_000);
  for (let f = 0; f < files; f++) {
    const file = path.join(inbox, `imv-${String(f).padStart(5, '0')}.xml`);
    await generate(file, 1, 'utf-8');
    const xml = fs
      .readFileSync(file, 'utf8')
      .replace(/<objektnr_extern>(\d+)<\/objektnr_extern>/g, `<objektnr_extern>D${f}-$1</objektnr_extern>`)
      .replace(' aktionart="DELETE"', '');
    fs.writeFileSync(file, xml);
    fs.utimesSync(file, past, past);
  }

  const t0 = performance.now();
  const r = spawnSync(process.execPath, [BIN, 'schedule', 'trigger', '--tenant', DEV_TENANT, '--wait'], {
    env: cliEnv,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const secs = (performance.now() - t0) / 1000;
  const summary = /batch summary[^\n]*|imported \d+[^\n]*/.exec(r.stdout)?.[0] ?? r.stdout.trim().split('\n').slice(-3).join(' | ');
  console.log(
    `imv-import dev, ${files} one-object files waiting, one \`schedule trigger --wait\`: ${secs.toFixed(1)} s (${(files / secs).toFixed(1)} files/s), exit ${r.status}`,
  );
  console.log(`  ${summary}`);
  if (r.status !== 0) console.log(r.stderr);

  dev.kill('SIGINT');
  await exited;
  await dropScratchDatabase(base, dbName);
  fs.rmSync(dataDir, { recursive: true, force: true });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
