import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import { spawn } from 'node:child_process';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import { EMBEDDED_POSTGRES_POOL, isPortListening, isPostgresReachable, startEmbeddedPostgres, type EmbeddedPostgres } from '../../dev/embedded-postgres';

function connect(url: string): Knex {
  return knexFactory({ client: 'pg', connection: url, pool: { ...EMBEDDED_POSTGRES_POOL } });
}

interface EstateRow {
  tenant: string;
  source_id: string;
  external_number: string;
  status: string;
  data: { objektart?: string; zimmer?: number; titel?: string };
  version: number;
}

async function upsertEstates(db: Knex, rows: Array<Omit<EstateRow, 'version'> & { version?: number }>): Promise<void> {
  await db('estates')
    .insert(rows.map((r) => ({ ...r, data: JSON.stringify(r.data), version: r.version ?? 1 })))
    .onConflict(['tenant', 'source_id'])
    // status and external number are set on creation only (R3, R4)
    .merge(['data', 'version']);
}

describe('embedded PostgreSQL (PGlite over the wire protocol) with knex + pg', () => {
  let dataDir: string;
  let server: EmbeddedPostgres;
  let db: Knex;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'imv-pg-'));
    server = await startEmbeddedPostgres({ dataDir, port: 0 });
    db = connect(server.url);
  }, 60_000);

  afterAll(async () => {
    await db?.destroy();
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('serves on loopback with a password-less URL', () => {
    expect(server.url).toBe(`postgres://postgres@127.0.0.1:${server.port}/postgres`);
  });

  it('creates a table with a jsonb column, upserts with onConflict().merge(), reads back; survives a restart', async () => {
    await db.schema.createTable('estates', (t) => {
      t.increments('id');
      t.text('tenant').notNullable();
      t.text('source_id').notNullable();
      t.text('external_number').notNullable();
      t.text('status').notNullable();
      t.jsonb('data').notNullable();
      t.integer('version').notNullable();
      t.unique(['tenant', 'source_id']);
    });

    await upsertEstates(db, [
      { tenant: 'acme', source_id: '4711', external_number: 'IMVO-ID-4711', status: 'inaktiv', data: { objektart: 'wohnung', zimmer: 3 } },
      { tenant: 'acme', source_id: '4712', external_number: 'IMVO-ID-4712', status: 'inaktiv', data: { objektart: 'haus', titel: 'Größe „Villa“ – €' } },
    ]);
    // a user activated the estate and renumbered it; the re-import updates the data only
    await db('estates').where({ tenant: 'acme', source_id: '4711' }).update({ status: 'aktiv', external_number: 'W-1' });
    await upsertEstates(db, [
      { tenant: 'acme', source_id: '4711', external_number: 'IMVO-ID-4711', status: 'inaktiv', data: { objektart: 'wohnung', zimmer: 4 }, version: 2 },
    ]);

    const rows = await db<EstateRow>('estates').select('tenant', 'source_id', 'external_number', 'status', 'data', 'version').orderBy('source_id');
    expect(rows).toEqual([
      { tenant: 'acme', source_id: '4711', external_number: 'W-1', status: 'aktiv', data: { objektart: 'wohnung', zimmer: 4 }, version: 2 },
      {
        tenant: 'acme',
        source_id: '4712',
        external_number: 'IMVO-ID-4712',
        status: 'inaktiv',
        data: { objektart: 'haus', titel: 'Größe „Villa“ – €' },
        version: 1,
      },
    ]);
    const byJson = await db('estates').whereRaw(`data->>'objektart' = ?`, ['haus']).pluck('source_id');
    expect(byJson).toEqual(['4712']);

    // stop, start again on the same folder: the data is still there
    await db.destroy();
    await server.stop();
    server = await startEmbeddedPostgres({ dataDir, port: 0 });
    db = connect(server.url);
    const after = await db<EstateRow>('estates').select('source_id', 'status', 'data').orderBy('source_id');
    expect(after).toEqual([
      { source_id: '4711', status: 'aktiv', data: { objektart: 'wohnung', zimmer: 4 } },
      { source_id: '4712', status: 'inaktiv', data: { objektart: 'haus', titel: 'Größe „Villa“ – €' } },
    ]);
  }, 60_000);

  it('batches hundreds of rows per statement and keeps transactions atomic', async () => {
    await db.schema.createTable('staged', (t) => {
      t.text('import_id').notNullable();
      t.integer('position').notNullable();
      t.jsonb('payload').notNullable();
      t.primary(['import_id', 'position']);
    });
    const rows = Array.from({ length: 500 }, (_, i) => ({ import_id: 'imp-1', position: i, payload: JSON.stringify({ i, text: 'x'.repeat(900) }) }));
    await db('staged').insert(rows).onConflict(['import_id', 'position']).merge();
    await db('staged').insert(rows).onConflict(['import_id', 'position']).merge();
    expect(await db('staged').count({ n: '*' }).first()).toEqual({ n: '500' });

    await expect(
      db.transaction(async (trx) => {
        await trx('staged').where({ import_id: 'imp-1' }).delete();
        throw new Error('crash in the middle');
      }),
    ).rejects.toThrow('crash in the middle');
    expect(await db('staged').count({ n: '*' }).first()).toEqual({ n: '500' });
  }, 60_000);

  it('reports SQL errors with their PostgreSQL code', async () => {
    await expect(db.raw('select * from no_such_table')).rejects.toMatchObject({ code: '42P01' });
    // and the connection is still usable afterwards
    expect((await db.raw('select 1 as one')).rows).toEqual([{ one: 1 }]);
  });

  it('serves a second client (another process, e.g. the CLI) beside a pool of one', async () => {
    const other = new pg.Client({ connectionString: server.url });
    await other.connect();
    try {
      const [a, b] = await Promise.all([db.raw('select count(*)::int as n from estates'), other.query('select $1::text as t', ['from the CLI'])]);
      expect(a.rows).toEqual([{ n: 2 }]);
      expect(b.rows).toEqual([{ t: 'from the CLI' }]);
    } finally {
      await other.end();
    }
  });

  it('isPostgresReachable says yes for it, and isPortListening sees it', async () => {
    expect(await isPostgresReachable(server.url, 2000)).toBe(true);
    expect(await isPortListening('127.0.0.1', server.port, 1000)).toBe(true);
  });

  it('refuses a second start on the same folder while it runs', async () => {
    await expect(startEmbeddedPostgres({ dataDir, port: 0 })).rejects.toThrow(/already running/);
  });
});

describe('embedded PostgreSQL lock and probes', () => {
  it('refuses a folder locked by another live process, takes over a stale lock', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'imv-pg-lock-'));
    try {
      // pid 1 is always alive (and never us under vitest's workers)
      await writeFile(path.join(dataDir, 'imv-embedded.lock'), '1\n');
      await expect(startEmbeddedPostgres({ dataDir, port: 0 })).rejects.toThrow(/in use by process 1/);

      await writeFile(path.join(dataDir, 'imv-embedded.lock'), '2147483646\n'); // no such process
      const server = await startEmbeddedPostgres({ dataDir, port: 0 });
      expect(await readFile(path.join(dataDir, 'imv-embedded.lock'), 'utf8')).toBe(`${process.pid}\n`);
      await server.stop();
      await server.stop(); // idempotent
      await expect(readFile(path.join(dataDir, 'imv-embedded.lock'), 'utf8')).rejects.toThrow();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('recovers a folder whose process was killed (kill -9) while writing, taking over its lock', async () => {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'imv-pg-crash-'));
    try {
      // A plain-JS child that opens the folder the way startEmbeddedPostgres does, commits, then hangs.
      const child = spawn(
        process.execPath,
        [
          '-e',
          `const { PGlite } = require('@electric-sql/pglite');
           const fs = require('fs');
           const dir = process.argv[1];
           fs.writeFileSync(dir + '/imv-embedded.lock', process.pid + '\\n', { flag: 'wx' });
           PGlite.create({ dataDir: dir }).then(async (db) => {
             await db.exec("create table t (id int primary key, v text); insert into t values (1, 'committed');");
             process.stdout.write('ready\\n');
             setInterval(() => undefined, 1000);
           });`,
          dataDir,
        ],
        { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] },
      );
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
        child.once('exit', (code) => reject(new Error(`child exited early (${code})`)));
      });
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;

      const server = await startEmbeddedPostgres({ dataDir, port: 0 });
      const db = connect(server.url);
      try {
        expect(await db('t').select('id', 'v')).toEqual([{ id: 1, v: 'committed' }]);
      } finally {
        await db.destroy();
        await server.stop();
      }
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  }, 60_000);

  it('isPostgresReachable says no, promptly, for nothing listening and for a non-PostgreSQL listener', async () => {
    const silent = net.createServer(() => undefined); // accepts and never answers
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const silentPort = (silent.address() as net.AddressInfo).port;
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    try {
      const t0 = Date.now();
      expect(await isPostgresReachable(`postgres://u:secret@127.0.0.1:${closedPort}/x`, 1000)).toBe(false);
      expect(await isPostgresReachable(`postgres://u:secret@127.0.0.1:${silentPort}/x`, 1000)).toBe(false);
      expect(Date.now() - t0).toBeLessThan(4000);
      expect(await isPortListening('127.0.0.1', closedPort, 500)).toBe(false);
      expect(await isPortListening('127.0.0.1', silentPort, 500)).toBe(true);
    } finally {
      silent.close();
    }
  });
});
