/**
 * What an import leaves behind, comparable across databases and tenants: a disturbed run's final
 * database is compared with an undisturbed one's, and the ledger is checked complete.
 */
import { expect } from 'vitest';
import type { Db } from '../../db/db';

/** Columns that differ between two correct runs: ids, times, and the file's upload time. */
const VOLATILE = new Set([
  'id',
  'tenant_id',
  'created_at',
  'updated_at',
  'archived_at',
  'source_file_time',
  'last_import_id',
  'estate_id',
  'address_id',
  'import_id',
]);

function strip(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(row).sort()) if (!VOLATILE.has(k)) out[k] = row[k];
  return out;
}

const sorted = <T>(rows: T[]) => rows.map((r) => JSON.stringify(r)).sort();

export interface DbState {
  estates: string[];
  addresses: string[];
  links: string[];
  objects: string[];
  ledger: string[];
}

/**
 * Everything the imports of `tenant` wrote, without ids and times: estates (by IMV id), addresses,
 * estate–address links (by IMV id and address content), per-object outcomes (by file name and
 * position) and the final ledger rows (by file name).
 */
export async function dbState(db: Db, tenant: string): Promise<DbState> {
  const estates = (await db('estates').where({ tenant_id: tenant }).select('*')) as Record<string, unknown>[];
  const addresses = (await db('addresses').where({ tenant_id: tenant }).select('*')) as Record<string, unknown>[];
  const addressKey = new Map(addresses.map((a) => [a.id as number, JSON.stringify(strip(a))]));
  const sourceOf = new Map(estates.map((e) => [e.id as number, e.source_id as string]));
  const links = (await db('estate_contacts as l').join('estates as e', 'e.id', 'l.estate_id').where('e.tenant_id', tenant).select('l.*')) as Record<
    string,
    unknown
  >[];
  const files = (await db('import_files').where({ tenant_id: tenant }).select('*')) as Record<string, unknown>[];
  const fileName = new Map(files.map((f) => [f.id as number, f.file_name as string]));
  const objects = (await db('import_objects as o').join('import_files as f', 'f.id', 'o.import_id').where('f.tenant_id', tenant).select('o.*')) as Record<
    string,
    unknown
  >[];
  const ids = (s: unknown) =>
    JSON.stringify(s)
      .replace(/import \d+/g, 'import #')
      .split(tenant)
      .join('<tenant>');
  return {
    estates: sorted(estates.map((e) => strip(e))),
    addresses: sorted(addresses.map((a) => strip(a))),
    links: sorted(links.map((l) => ({ estate: sourceOf.get(l.estate_id as number), address: addressKey.get(l.address_id as number), role: l.role }))),
    objects: sorted(
      objects.map((o) => ({
        ...strip(o),
        file: fileName.get(o.import_id as number),
        estate: o.estate_id == null ? null : (sourceOf.get(o.estate_id as number) ?? '?'),
        messages: ids(o.messages),
      })),
    ),
    ledger: sorted(
      files.map((f) => ({
        file: f.file_name,
        status: f.status,
        sha256: f.sha256,
        size: f.size,
        objects_total: f.objects_total,
        counts: [f.created, f.updated, f.unchanged, f.archived, f.stale, f.rejected, f.warnings],
        error_type: f.error_type,
        duplicate_of: f.duplicate_of == null ? null : fileName.get(f.duplicate_of as number),
        archived: f.archived_path == null ? null : String(f.archived_path).replace(/^.*\/(processed|failed)\/\d+-/, '$1/'),
      })),
    ),
  };
}

/** The final database of a disturbed run equals the undisturbed one, table by table. */
export function expectSameState(actual: DbState, expected: DbState): void {
  // Counts first: a failure message with the numbers is readable; the full diff follows.
  expect({ estates: actual.estates.length, addresses: actual.addresses.length, links: actual.links.length, objects: actual.objects.length }).toEqual({
    estates: expected.estates.length,
    addresses: expected.addresses.length,
    links: expected.links.length,
    objects: expected.objects.length,
  });
  expect(actual.ledger).toEqual(expected.ledger);
  expect(actual.estates).toEqual(expected.estates);
  expect(actual.addresses).toEqual(expected.addresses);
  expect(actual.links).toEqual(expected.links);
  expect(actual.objects).toEqual(expected.objects);
}

/**
 * The ledger is complete: every file has exactly one row, in a final state, no staged objects are
 * left, and no estate or link exists twice.
 */
export async function expectLedgerComplete(db: Db, tenant: string, files: string[]): Promise<void> {
  const rows = (await db('import_files').where({ tenant_id: tenant }).whereNull('replay_of').select('file_name', 'status')) as {
    file_name: string;
    status: string;
  }[];
  expect(rows.map((r) => r.file_name).sort()).toEqual([...files].sort());
  for (const r of rows) expect(['imported', 'partial', 'duplicate', 'failed'], `${r.file_name}: ${r.status}`).toContain(r.status);
  const staged = await db('staged_objects as s').join('import_files as f', 'f.id', 's.import_id').where('f.tenant_id', tenant).count<{ n: number }[]>('* as n');
  expect(Number(staged[0].n)).toBe(0);
  const dupEstates = await db('estates').where({ tenant_id: tenant }).groupBy('source_id').havingRaw('count(*) > 1').select('source_id');
  expect(dupEstates).toEqual([]);
  const dupLinks = await db('estate_contacts as l')
    .join('estates as e', 'e.id', 'l.estate_id')
    .where('e.tenant_id', tenant)
    .groupBy('l.estate_id', 'l.address_id', 'l.role')
    .havingRaw('count(*) > 1')
    .select('l.estate_id');
  expect(dupLinks).toEqual([]);
}
