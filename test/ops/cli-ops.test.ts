/**
 * Issue 7, what ops see through the built CLI (child processes, real PostgreSQL):
 * - `estates` on more estates than PostgreSQL's 65,535 bind parameters: pages (--limit, --after)
 *   and streams (--all, JSON lines), related rows read per chunk;
 * - a database error prints its code and PostgreSQL's short message, never the SQL statement (that
 *   is in the debug log only).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AppConfig } from '../../config/config';
import { openDatabase, type Db } from '../../db/db';
import { freePort } from '../../common/net';
import { createTestDatabase, testConfig, testEnv, uniqueId } from '../support/harness';
import { MAX_MESSAGE_CHARS, shortErrorMessage } from '../../ops/errors';

const bin = path.resolve(__dirname, '../../bin/imv-import.js');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function writeConfig(cfg: AppConfig): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-cli-ops-'));
  const file = path.join(dir, 'imv-import.json');
  fs.writeFileSync(
    file,
    JSON.stringify({ tenants: cfg.tenants, temporal: cfg.temporal, databaseUrl: cfg.databaseUrl, fileStoreDir: cfg.fileStoreDir, worker: { shutdownGraceSeconds: 5 } }),
  );
  return file;
}

function cliEnv(configFile: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...testEnv, IMV_CONFIG: configFile, LOG_LEVEL: 'warn', ...extra };
  for (const k of ['TEMPORAL_ADDRESS', 'DATABASE_URL', 'IMV_STUCK_AFTER', 'METRICS_HOST', 'METRICS_PORT']) if (!(k in extra)) delete env[k];
  return env;
}

function run(env: NodeJS.ProcessEnv, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [bin, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    p.stdout.on('data', (d: Buffer) => out.push(d));
    p.stderr.on('data', (d: Buffer) => err.push(d));
    p.on('close', (code) => resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}

const ids = (rows: { id: number }[]) => rows.map((r) => r.id);

describe('estates on more estates than PostgreSQL has bind parameters', () => {
  const tenant = uniqueId('paging');
  const N = 70_000;
  let dbHandle: { url: string; drop(): Promise<void> };
  let db: Db;
  let env: NodeJS.ProcessEnv;
  let allIds: number[];
  let withAttachment: Set<number>;

  beforeAll(async () => {
    expect(fs.existsSync(path.resolve(__dirname, '../../dist/cli/main.js')), 'run `npm run build` first (npm test does)').toBe(true);
    dbHandle = await createTestDatabase();
    const cfg = testConfig({ databaseUrl: dbHandle.url, tenants: [{ id: tenant }] });
    db = await openDatabase(cfg, 2);
    // One statement each, no per-row round trips: 70,000 estates (every 10th aktiv), one owner linked
    // to all of them, an attachment on every 7th.
    await db.raw(
      `INSERT INTO estates (tenant_id, source, source_id, external_number, status, user_name, warning_note, title, city, fields, data, content_hash)
       SELECT ?, 'IMV', g::text, 'IMVO-ID-' || g, CASE WHEN g % 10 = 0 THEN 'aktiv' ELSE 'inaktiv' END, 'mmustermann', 'IMV Import',
              'Objekt ' || g, 'Köln', jsonb_build_object('rooms', g % 7), '{}'::jsonb, md5(g::text)
       FROM generate_series(1, ?) g`,
      [tenant, N],
    );
    const [address] = await db('addresses').insert({ tenant_id: tenant, last_name: 'Muster', contact_origin: 'IMV', status: 'Aktiv' }).returning('id');
    await db.raw(`INSERT INTO estate_contacts (estate_id, address_id, role) SELECT id, ?, 'ansprechpartner' FROM estates WHERE tenant_id = ?`, [address.id, tenant]);
    await db.raw(`INSERT INTO estate_attachments (estate_id, position, "group", title, url) SELECT id, 0, 'TITELBILD', 'Bild', 'https://example.org/' || id FROM estates WHERE tenant_id = ? AND id % 7 = 0`, [tenant]);
    allIds = (await db('estates').where({ tenant_id: tenant }).orderBy('id').pluck('id')) as number[];
    withAttachment = new Set(allIds.filter((id) => id % 7 === 0));
    expect(allIds.length).toBe(N);
    env = cliEnv(writeConfig(cfg));
  });

  afterAll(async () => {
    await db?.destroy();
    await dbHandle?.drop();
  });

  it('--json gives the first page (1,000 by default) and names the cursor of the next one', async () => {
    const r = await run(env, ['estates', '--status', 'all', '--json']);
    expect(r.code, r.stderr.slice(0, 2000)).toBe(0);
    const page = JSON.parse(r.stdout);
    expect(ids(page)).toEqual(allIds.slice(0, 1000));
    expect(page.every((e: { contacts: unknown[] }) => e.contacts.length === 1)).toBe(true);
    expect(page.filter((e: { attachments: unknown[] }) => e.attachments.length === 1).map((e: { id: number }) => e.id)).toEqual(allIds.slice(0, 1000).filter((id) => withAttachment.has(id)));
    expect(r.stderr).toContain(`--after ${allIds[999]}`);
    expect(r.stderr.length).toBeLessThan(500);
  });

  it('--limit and --after page through all of them: every estate once, in id order, the last page without a cursor', async () => {
    const seen: number[] = [];
    let after: number | undefined;
    let pages = 0;
    for (;;) {
      const r = await run(env, ['estates', '--status', 'all', '--json', '--limit', '20000', ...(after !== undefined ? ['--after', String(after)] : [])]);
      expect(r.code, r.stderr.slice(0, 2000)).toBe(0);
      const page = JSON.parse(r.stdout) as { id: number; contacts: unknown[] }[];
      pages++;
      seen.push(...ids(page));
      expect(page.every((e) => e.contacts.length === 1)).toBe(true);
      const m = /--after (\d+)/.exec(r.stderr);
      if (!m) {
        expect(page.length).toBe(N - 3 * 20000);
        break;
      }
      expect(page).toHaveLength(20000);
      after = Number(m[1]);
      expect(after).toBe(page[page.length - 1].id);
      expect(pages).toBeLessThan(4);
    }
    expect(pages).toBe(3 + 1);
    expect(seen).toEqual(allIds);
  });

  it('--all --json streams every estate as one JSON line, related rows included', async () => {
    const r = await run(env, ['estates', '--status', 'all', '--json', '--all']);
    expect(r.code, r.stderr.slice(0, 2000)).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(N);
    const rows = lines.map((l) => JSON.parse(l) as { id: number; tenant: string; contacts: { role: string }[]; attachments: { url: string }[] });
    expect(ids(rows)).toEqual(allIds);
    expect(rows.every((e) => e.tenant === tenant && e.contacts.length === 1 && e.contacts[0].role === 'ansprechpartner')).toBe(true);
    expect(rows.filter((e) => e.attachments.length === 1).map((e) => e.id)).toEqual([...withAttachment]);
    expect(r.stderr).toBe('');
  });

  it('the status filter pages the same way; the table lists ids and the cursor', async () => {
    const aktiv = (await db('estates').where({ tenant_id: tenant, status: 'aktiv' }).orderBy('id').pluck('id')) as number[];
    expect(aktiv.length).toBe(N / 10);
    const r = await run(env, ['estates', '--limit', '50']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(50);
    expect(lines.map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual(aktiv.slice(0, 50));
    expect(lines[0]).toContain(' aktiv ');
    expect(r.stderr).toContain(`--after ${aktiv[49]}`);
    const rest = await run(env, ['estates', '--after', String(aktiv[aktiv.length - 3])]);
    expect(rest.stdout.trimEnd().split('\n').map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual(aktiv.slice(-2));
    expect(rest.stderr).toBe('');
  });

  it('refuses a bad --limit or --after, and --all with --limit', async () => {
    for (const args of [['--limit', '0'], ['--limit', 'ten'], ['--after', '-5'], ['--all', '--limit', '10']]) {
      const r = await run(env, ['estates', '--status', 'all', ...args]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.stderr).toMatch(/^imv-import: .*(--limit|--after|--all)/);
      expect(r.stdout).toBe('');
    }
  });
});

describe('short error messages', () => {
  const tenant = uniqueId('errors');

  it('a database error prints its code and message, not the SQL statement; the debug log keeps the statement', async () => {
    const other = await createTestDatabase();
    try {
      const otherCfg = testConfig({ databaseUrl: other.url, tenants: [{ id: tenant }] });
      const otherDb = await openDatabase(otherCfg, 1);
      await otherDb.raw('ALTER TABLE import_files RENAME TO import_files_moved');
      await otherDb.destroy();
      const file = writeConfig(otherCfg);

      const r = await run(cliEnv(file), ['imports']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^imv-import: database error 42P01: relation "import_files" does not exist \(LOG_LEVEL=debug shows the details\)\n$/);
      expect(r.stderr.toLowerCase()).not.toContain('select');
      expect(r.stdout).toBe('');

      const debug = await run(cliEnv(file, { LOG_LEVEL: 'debug' }), ['imports']);
      expect(debug.code).toBe(1);
      const failed = debug.stdout
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as { msg: string; err?: { message: string; code: string } })
        .find((x) => x.msg === 'command failed');
      expect(failed?.err?.code).toBe('42P01');
      expect(failed?.err?.message).toMatch(/^select .* from "import_files"/);
    } finally {
      await other.drop();
    }
  });

  it('other errors print one short line: a database nobody answers for, a huge message, a statement-prefixed one', async () => {
    const port = await freePort();
    const broken = testConfig({ databaseUrl: `postgres://postgres@127.0.0.1:${port}/imv_nowhere`, tenants: [{ id: tenant }] });
    const r = await run(cliEnv(writeConfig(broken)), ['imports']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^imv-import: connect ECONNREFUSED 127\\.0\\.0\\.1:${port} \\(LOG_LEVEL=debug shows the details\\)\n$`));

    // What knex made of the 65,536-id IN list (1.6 MB of SQL before the server's message).
    const sql = `select * from "estate_attachments" where "estate_id" in (${Array.from({ length: 65536 }, (_, i) => i + 1).join(', ')})`;
    const knexError = Object.assign(new Error(`${sql} - bind message supplies 0 parameters, but prepared statement "" requires 65536`), { code: '08P01', severity: 'ERROR' });
    expect(shortErrorMessage(knexError)).toBe('database error 08P01: bind message supplies 0 parameters, but prepared statement "" requires 65536');
    const huge = shortErrorMessage(new Error('x'.repeat(100_000)));
    expect(huge.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
    expect(shortErrorMessage(new Error(`${sql} - Timeout acquiring a connection`))).toBe('Timeout acquiring a connection');
    expect(shortErrorMessage(new AggregateError([new Error('connect ECONNREFUSED ::1:5432'), new Error('connect ECONNREFUSED 127.0.0.1:5432')], ''))).toBe(
      'connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432',
    );
  });
});
