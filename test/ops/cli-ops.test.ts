/**
 * Issue 7, what ops see through the built CLI (child processes, real PostgreSQL and Temporal):
 * - `estates` on more estates than PostgreSQL's 65,535 bind parameters: pages (--limit, --after)
 *   and streams (--all, JSON lines), related rows read per chunk;
 * - a database error prints its code and PostgreSQL's short message, never the SQL statement (that
 *   is in the debug log only);
 * - stuck imports (status importing beyond the limit): `imports` warns, `--status stuck` lists them,
 *   `replay` takes a stuck one only when its workflow no longer runs;
 * - the worker process reports stuck imports in its log and as imv_import_stuck_imports{tenant}, on a
 *   metrics endpoint that listens on 127.0.0.1 by default.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { openDatabase, type Db } from '../../db/db';
import { freePort } from '../../common/net';
import { createTestDatabase, testConfig, uniqueId, usePipeline } from '../support/harness';
import { cliEnv, runCli, writeCliConfig } from '../support/cli';
import { parsePrometheus, valueOf } from './support';
import { MAX_MESSAGE_CHARS, shortErrorMessage } from '../../common/error-messages';

const bin = path.resolve(__dirname, '../../bin/imv-import.js');

const ids = (rows: { id: number }[]) => rows.map((r) => r.id);

describe('estates on more estates than PostgreSQL has bind parameters', () => {
  const tenant = uniqueId('paging');
  const N = 70_000;
  const ctx = usePipeline({ tenants: [{ id: tenant }], identities: [], poolMax: 2 });
  let db: Db;
  let env: NodeJS.ProcessEnv;
  let allIds: number[];
  let withAttachment: Set<number>;

  beforeAll(async () => {
    expect(fs.existsSync(path.resolve(__dirname, '../../dist/cli/main.js')), 'run `npm run build` first (npm test does)').toBe(true);
    db = ctx.db;
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
    await db.raw(`INSERT INTO estate_contacts (estate_id, address_id, role) SELECT id, ?, 'ansprechpartner' FROM estates WHERE tenant_id = ?`, [
      address.id,
      tenant,
    ]);
    await db.raw(
      `INSERT INTO estate_attachments (estate_id, position, "group", title, url) SELECT id, 0, 'TITELBILD', 'Bild', 'https://example.org/' || id FROM estates WHERE tenant_id = ? AND id % 7 = 0`,
      [tenant],
    );
    allIds = (await db('estates').where({ tenant_id: tenant }).orderBy('id').pluck('id')) as number[];
    withAttachment = new Set(allIds.filter((id) => id % 7 === 0));
    expect(allIds.length).toBe(N);
    env = cliEnv(writeCliConfig(ctx.cfg));
  });

  it('--json gives the first page (1,000 by default) and names the cursor of the next one', async () => {
    const r = await runCli(env, ['estates', '--status', 'all', '--json']);
    expect(r.code, r.stderr.slice(0, 2000)).toBe(0);
    const page = JSON.parse(r.stdout);
    expect(ids(page)).toEqual(allIds.slice(0, 1000));
    expect(page.every((e: { contacts: unknown[] }) => e.contacts.length === 1)).toBe(true);
    expect(page.filter((e: { attachments: unknown[] }) => e.attachments.length === 1).map((e: { id: number }) => e.id)).toEqual(
      allIds.slice(0, 1000).filter((id) => withAttachment.has(id)),
    );
    expect(r.stderr).toContain(`--after ${allIds[999]}`);
    expect(r.stderr.length).toBeLessThan(500);
  });

  it('--limit and --after page through all of them: every estate once, in id order, the last page without a cursor', async () => {
    const seen: number[] = [];
    let after: number | undefined;
    let pages = 0;
    for (;;) {
      const r = await runCli(env, ['estates', '--status', 'all', '--json', '--limit', '20000', ...(after !== undefined ? ['--after', String(after)] : [])]);
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
    const r = await runCli(env, ['estates', '--status', 'all', '--json', '--all']);
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
    const r = await runCli(env, ['estates', '--limit', '50']);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(50);
    expect(lines.map((l) => Number(l.trim().split(/\s+/)[0]))).toEqual(aktiv.slice(0, 50));
    expect(lines[0]).toContain(' aktiv ');
    expect(r.stderr).toContain(`--after ${aktiv[49]}`);
    const rest = await runCli(env, ['estates', '--after', String(aktiv[aktiv.length - 3])]);
    expect(
      rest.stdout
        .trimEnd()
        .split('\n')
        .map((l) => Number(l.trim().split(/\s+/)[0])),
    ).toEqual(aktiv.slice(-2));
    expect(rest.stderr).toBe('');
  });

  it('refuses a bad --limit or --after, and --all with --limit', async () => {
    for (const args of [
      ['--limit', '0'],
      ['--limit', 'ten'],
      ['--after', '-5'],
      ['--all', '--limit', '10'],
    ]) {
      const r = await runCli(env, ['estates', '--status', 'all', ...args]);
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
      const file = writeCliConfig(otherCfg);

      const r = await runCli(cliEnv(file), ['imports']);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^imv-import: database error 42P01: relation "import_files" does not exist \(LOG_LEVEL=debug shows the details\)\n$/);
      expect(r.stderr.toLowerCase()).not.toContain('select');
      expect(r.stdout).toBe('');

      const debug = await runCli(cliEnv(file, { LOG_LEVEL: 'debug' }), ['imports']);
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
    const r = await runCli(cliEnv(writeCliConfig(broken)), ['imports']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      new RegExp(
        `^imv-import: cannot connect to PostgreSQL at 127\\.0\\.0\\.1:${port} \\(databaseUrl in IMV_CONFIG, or DATABASE_URL\\): connect ECONNREFUSED 127\\.0\\.0\\.1:${port}\n$`,
      ),
    );

    // What knex made of the 65,536-id IN list (1.6 MB of SQL before the server's message).
    const sql = `select * from "estate_attachments" where "estate_id" in (${Array.from({ length: 65536 }, (_, i) => i + 1).join(', ')})`;
    const knexError = Object.assign(new Error(`${sql} - bind message supplies 0 parameters, but prepared statement "" requires 65536`), {
      code: '08P01',
      severity: 'ERROR',
    });
    expect(shortErrorMessage(knexError)).toBe('database error 08P01: bind message supplies 0 parameters, but prepared statement "" requires 65536');
    const huge = shortErrorMessage(new Error('x'.repeat(100_000)));
    expect(huge.length).toBeLessThanOrEqual(MAX_MESSAGE_CHARS);
    expect(shortErrorMessage(new Error(`${sql} - Timeout acquiring a connection`))).toBe('Timeout acquiring a connection');
    expect(shortErrorMessage(new AggregateError([new Error('connect ECONNREFUSED ::1:5432'), new Error('connect ECONNREFUSED 127.0.0.1:5432')], ''))).toBe(
      'connect ECONNREFUSED ::1:5432; connect ECONNREFUSED 127.0.0.1:5432',
    );
  });
});

describe('stuck imports', () => {
  const a = uniqueId('ops-a');
  const b = uniqueId('ops-b');
  // The CLI under test runs as processes; no worker.
  const ctx = usePipeline({ tenants: [{ id: a }, { id: b }], identities: [], poolMax: 2 });
  let configFile: string;
  const row = { stuckA: 0, freshA: 0, doneA: 0, stuckB: 0, runningB: 0 };

  beforeAll(async () => {
    expect(fs.existsSync(path.resolve(__dirname, '../../dist/cli/main.js')), 'run `npm run build` first (npm test does)').toBe(true);
    const { db } = ctx;
    const ledger = async (tenant: string, file: string, status: string, startedAgo: string) => {
      const [r] = await db('import_files')
        .insert({
          tenant_id: tenant,
          remote_path: `/${tenant}/${file}`,
          file_name: file,
          size: 100,
          mtime: new Date(),
          status,
          workflow_id: `import-file/${tenant}/${uniqueId('t')}/${file}/100`,
          started_at: db.raw(`now() - interval '${startedAgo}'`),
          finished_at: status === 'importing' ? null : db.fn.now(),
        })
        .returning('id');
      return r.id as number;
    };
    row.doneA = await ledger(a, 'done.xml', 'imported', '5 hours');
    row.stuckA = await ledger(a, 'hangs-a.xml', 'importing', '3 hours');
    row.freshA = await ledger(a, 'fresh-a.xml', 'importing', '10 minutes');
    row.stuckB = await ledger(b, 'hangs-b.zip', 'importing', '1 day');
    row.runningB = await ledger(b, 'still-running-b.xml', 'importing', '4 hours');
    configFile = writeCliConfig(ctx.cfg);
  });

  it('imports warns about imports stuck in status importing (ids, files, how long, the replay command)', async () => {
    const r = await runCli(cliEnv(configFile), ['imports']);
    expect(r.code, r.stderr).toBe(0);
    const warning = r.stdout.slice(r.stdout.indexOf('WARNING'));
    expect(warning).toMatch(/^WARNING: 3 imports are stuck in status "importing" for more than 2h:/);
    expect(warning).toMatch(new RegExp(`#${row.stuckA}\\s+${a}\\s+hangs-a\\.xml\\s+importing for 3h( \\d+m)? `));
    expect(warning).toMatch(new RegExp(`#${row.stuckB}\\s+${b}\\s+hangs-b\\.zip\\s+importing for 1d `));
    expect(warning).toMatch(new RegExp(`#${row.runningB}\\s+${b}\\s+still-running-b\\.xml\\s+importing for 4h( \\d+m)? `));
    expect(warning).not.toContain('fresh-a.xml');
    // oldest first
    expect(warning).toContain(`imv-import replay ${row.stuckB} ${row.runningB} ${row.stuckA}`);

    const onlyA = await runCli(cliEnv(configFile), ['imports', '--tenant', a]);
    expect(onlyA.stdout).toContain('WARNING: 1 import is stuck');
    expect(onlyA.stdout).toContain(`imv-import replay ${row.stuckA}\n`);

    // --json keeps stdout JSON; the warning goes to stderr.
    const json = await runCli(cliEnv(configFile), ['imports', '--json']);
    expect(json.code).toBe(0);
    expect(ids(JSON.parse(json.stdout)).sort((x, y) => x - y)).toEqual([row.doneA, row.stuckA, row.freshA, row.stuckB, row.runningB]);
    expect(json.stderr).toContain('WARNING: 3 imports are stuck');
  });

  it('imports --status stuck lists them; the limit comes from --stuck-after, IMV_STUCK_AFTER or worker.stuckAfter in the config file', async () => {
    const stuck = await runCli(cliEnv(configFile), ['imports', '--status', 'stuck', '--json']);
    expect(stuck.code, stuck.stderr).toBe(0);
    const rows = JSON.parse(stuck.stdout) as { id: number; status: string; file: string }[];
    expect(ids(rows)).toEqual([row.stuckA, row.runningB, row.stuckB].sort((x, y) => y - x));
    expect(rows.every((x) => x.status === 'importing')).toBe(true);

    const wider = JSON.parse((await runCli(cliEnv(configFile), ['imports', '--status', 'stuck', '--json', '--stuck-after', '5m'])).stdout);
    expect(ids(wider)).toContain(row.freshA);
    const env = cliEnv(configFile, { IMV_STUCK_AFTER: '5h' });
    const narrow = JSON.parse((await runCli(env, ['imports', '--status', 'stuck', '--json'])).stdout);
    expect(ids(narrow)).toEqual([row.stuckB]);
    // The config file's worker.stuckAfter, below the environment and the flag.
    const configured = writeCliConfig(ctx.cfg, 'imv-cli-stuck-', { worker: { shutdownGraceSeconds: 5, stuckAfter: '5h' } });
    expect(ids(JSON.parse((await runCli(cliEnv(configured), ['imports', '--status', 'stuck', '--json'])).stdout))).toEqual([row.stuckB]);
    const envWins = JSON.parse((await runCli(cliEnv(configured, { IMV_STUCK_AFTER: '5m' }), ['imports', '--status', 'stuck', '--json'])).stdout);
    expect(ids(envWins)).toContain(row.freshA);
    const flagWins = JSON.parse(
      (await runCli(cliEnv(configured, { IMV_STUCK_AFTER: '5m' }), ['imports', '--status', 'stuck', '--json', '--stuck-after', '2h'])).stdout,
    );
    expect(ids(flagWins)).toEqual([row.stuckA, row.runningB, row.stuckB].sort((x, y) => y - x));

    const none = await runCli(cliEnv(configFile), ['imports', '--status', 'stuck', '--tenant', a, '--stuck-after', '2d']);
    expect(none.stdout.trim()).toBe('no stuck imports (none importing for more than 2d)');
    const bad = await runCli(cliEnv(configFile), ['imports', '--stuck-after', 'soon']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('not a duration');
  });

  it('replay takes a stuck import only once its workflow no longer runs', async () => {
    const env = cliEnv(configFile);
    const fresh = await runCli(env, ['replay', String(row.freshA), '--no-wait']);
    expect(fresh.code).toBe(1);
    expect(fresh.stderr).toMatch(/import \d+ is still running .*counts as stuck after 2h in status importing/);

    // A workflow with the stuck row's id that still runs (its task queue has no worker).
    const wfId = (await ctx.db('import_files').where({ id: row.runningB }).first('workflow_id')).workflow_id as string;
    const running = await ctx.client.workflow.start('importFile', { taskQueue: uniqueId('no-worker'), workflowId: wfId, args: [{ tenant: b }] });
    try {
      const refused = await runCli(env, ['replay', String(row.runningB), '--no-wait']);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`its workflow ${wfId} is still running`);
      expect(refused.stderr).toContain('temporal workflow terminate');
    } finally {
      await running.terminate('test done');
    }

    // The wrong tenant is refused, the right one replays (started without waiting; no worker runs it).
    const wrong = await runCli(env, ['replay', String(row.stuckA), '--tenant', b, '--no-wait']);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toContain(`import ${row.stuckA} belongs to tenant ${a}, not ${b}`);
    const ok = await runCli(env, ['replay', String(row.stuckA), '--tenant', a, '--no-wait']);
    expect(ok.code, ok.stderr).toBe(0);
    const m = /replaying import \d+ as (\S+)/.exec(ok.stdout);
    expect(m).not.toBeNull();
    await ctx.client.workflow.getHandle(m![1]).terminate('test done');
  });

  it('the worker process logs the stuck imports and exports imv_import_stuck_imports{tenant}; /metrics listens on 127.0.0.1', async () => {
    const port = await freePort();
    const env = cliEnv(configFile, { METRICS_PORT: String(port), LOG_LEVEL: 'info', TEMPORAL_TASK_QUEUE: uniqueId('tq-stuck') });
    const worker = spawn(process.execPath, [bin, 'worker', '--identity', 'stuck-watch'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const exit = new Promise<number | null>((resolve) => worker.on('exit', (code) => resolve(code)));
    let out = '';
    const records: Record<string, unknown>[] = [];
    const stuckLogged = new Promise<Record<string, unknown>>((resolve, reject) => {
      worker.stdout!.on('data', (d: Buffer) => {
        out += d.toString('utf8');
        const lines = out.split('\n');
        out = lines.pop()!;
        for (const l of lines) {
          if (!l.startsWith('{')) continue;
          const rec = JSON.parse(l) as Record<string, unknown>;
          records.push(rec);
          if (rec.component === 'stuck-imports' && rec.level === 40) resolve(rec);
        }
      });
      void exit.then((code) => reject(new Error(`worker exited with ${code}`)));
    });
    try {
      const warning = await stuckLogged;
      expect(warning.stuckImports).toBe(3);
      // oldest first
      expect(warning.importIds).toEqual([row.stuckB, row.runningB, row.stuckA]);
      expect(String(warning.msg)).toContain('imv-import imports --status stuck');
      const started = records.find((x) => x.msg === 'worker started');
      expect(started?.metricsUrl).toBe(`http://127.0.0.1:${port}/metrics`);

      const samples = parsePrometheus(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
      expect(valueOf(samples, 'imv_import_stuck_imports', { tenant: b })).toBe(2);
      expect(valueOf(samples, 'imv_import_stuck_imports', { tenant: a })).toBe(1);
    } finally {
      worker.kill('SIGTERM');
      expect(await exit).toBe(0);
    }
  });
});
