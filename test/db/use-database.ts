/**
 * For the tests of db/ modules: one fresh database per test file, migrated with the project's
 * migrations, with these tenants; closed and dropped after the file. And the ledger and estate rows
 * those tests start from, with every NOT NULL column filled.
 */
import { afterAll, beforeAll } from 'vitest';
import { createDb, migrate, type Db } from '../../db/db';
import { createTestDatabase } from '../support/harness';

/** `ctx.db` is the file's database (set in beforeAll); `ctx.url` its URL. */
export function useMigratedDatabase(tenants: string[] = []): { db: Db; url: string } {
  const ctx = {} as { db: Db; url: string };
  let dbh: Awaited<ReturnType<typeof createTestDatabase>> | undefined;
  beforeAll(async () => {
    dbh = await createTestDatabase();
    ctx.url = dbh.url;
    ctx.db = createDb(dbh.url, 4);
    await migrate(ctx.db);
    for (const id of tenants) await ctx.db('tenants').insert({ id, name: id });
  });
  afterAll(async () => {
    await ctx.db?.destroy();
    await dbh?.drop();
  });
  return ctx;
}

export const hoursAgo = (h: number) => new Date(Date.now() - h * 3600_000);

let imports = 0;

/** An import_files row (status `imported` unless `values` say otherwise); returns its id. */
export async function anImport(db: Db, tenant: string, values: Record<string, unknown> = {}): Promise<number> {
  const n = ++imports;
  const [row] = (await db('import_files')
    .insert({
      tenant_id: tenant,
      remote_path: `/${tenant}/f${n}.xml`,
      file_name: `f${n}.xml`,
      size: 10,
      mtime: hoursAgo(1),
      status: 'imported',
      workflow_id: `import-file/${tenant}/f${n}-${process.pid}`,
      ...values,
    })
    .returning('id')) as { id: number }[];
  return row!.id;
}

let estates = 0;

/** An IMV estate row (status `inaktiv` unless `values` say otherwise); returns its id. */
export async function anEstate(db: Db, tenant: string, values: Record<string, unknown> = {}): Promise<number> {
  const n = ++estates;
  const [row] = (await db('estates')
    .insert({
      tenant_id: tenant,
      source: 'IMV',
      source_id: `s${n}`,
      external_number: `IMVO-ID-s${n}`,
      user_name: 'skoch',
      warning_note: 'IMV Import',
      data: '{}',
      content_hash: `h${n}`,
      ...values,
    })
    .returning('id')) as { id: number }[];
  return row!.id;
}
