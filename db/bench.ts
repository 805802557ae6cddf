/**
 * What the benchmarks (bench/) do to the database beyond what the pipeline does: throwaway
 * databases, the bare baseline's shortcuts past the ledger's activities, and the figures they read.
 */
import pg from 'pg';
import type { Db } from './db';

const quoted = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** The URL of database `name` on the server `adminUrl` points to (every query parameter kept). */
export function databaseUrlFor(adminUrl: string, name: string): string {
  return Object.assign(new URL(adminUrl), { pathname: `/${name}` }).toString();
}

async function asAdmin(adminUrl: string, sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/** Creates database `name` (it must not exist) on the server of `adminUrl`; returns its URL. */
export async function createScratchDatabase(adminUrl: string, name: string): Promise<string> {
  await asAdmin(adminUrl, `CREATE DATABASE ${quoted(name)}`);
  return databaseUrlFor(adminUrl, name);
}

/** Drops database `name`, if it exists, with any connections still open to it. */
export async function dropScratchDatabase(adminUrl: string, name: string): Promise<void> {
  await asAdmin(adminUrl, `DROP DATABASE IF EXISTS ${quoted(name)} WITH (FORCE)`);
}

/** Records the import's content hash and size (the baseline's fetch, without the duplicate check). */
export async function setImportContent(db: Db, importId: number, sha256: string, size: number): Promise<void> {
  await db('import_files').where({ id: importId }).update({ sha256, size });
}

/** Marks the import imported now and removes its staged objects (the baseline's finish, two statements). */
export async function finishBareImport(db: Db, importId: number): Promise<void> {
  await db('import_files').where({ id: importId }).update({ status: 'imported', finished_at: db.fn.now() });
  await db('staged_objects').where({ import_id: importId }).delete();
}

/** How many estates the tenant has. */
export async function tenantEstateCount(db: Db, tenant: string): Promise<number> {
  return Number((await db('estates').where({ tenant_id: tenant }).count<{ n: number }[]>('* as n'))[0]!.n);
}

/** When the first and the last imported (or partial) file finished; null when none has. */
export async function importedTimeSpan(db: Db): Promise<{ first: Date | null; last: Date | null }> {
  const r = await db.raw("SELECT min(finished_at) AS first, max(finished_at) AS last FROM import_files WHERE status IN ('imported', 'partial')");
  return r.rows[0] as { first: Date | null; last: Date | null };
}
