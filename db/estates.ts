/** Estates of the IMV source: what the estate step reads under lock and writes once per chunk. */
import type { Knex } from 'knex';
import { externalNumberOf, SOURCE_IMV, type StoredEstate } from '../domain/estate';
import type { PlannedEstate } from '../domain/plan-chunk';

/** The tenant's IMV estates with these source ids, locked for the chunk's transaction. */
export async function lockStoredEstates(trx: Knex.Transaction, tenant: string, sourceIds: string[]): Promise<(StoredEstate & { source_id: string })[]> {
  return trx('estates')
    .where({ tenant_id: tenant, source: SOURCE_IMV })
    .whereIn('source_id', sourceIds)
    .forUpdate()
    .select('id', 'source_id', 'status', 'archived', 'reference', 'content_hash', 'source_stand', 'source_timestamp', 'source_file_time');
}

/**
 * Inserts these estates or, on conflict, changes only the `updatable` columns and updated_at:
 * never status (R3) nor external_number (R4). Returns the ids by source id.
 */
export async function upsertEstateRows(
  trx: Knex.Transaction,
  rows: Record<string, unknown>[],
  updatable: string[],
): Promise<{ id: number; source_id: string }[]> {
  return trx('estates')
    .insert(rows)
    .onConflict(['tenant_id', 'source', 'source_id'])
    .merge([...updatable, 'updated_at'])
    .returning(['id', 'source_id']);
}

/** Archives these estates (a DELETE of an estate whose data this chunk did not change). */
export async function archiveEstates(trx: Knex.Transaction, ids: number[], importId: number): Promise<void> {
  await trx('estates').whereIn('id', ids).update({ archived: true, archived_at: trx.fn.now(), last_import_id: importId, updated_at: trx.fn.now() });
}

/** The per-tenant advisory lock that serializes the apply steps and the mirror of one tenant's files. */
export async function lockTenant(trx: Knex.Transaction, tenant: string): Promise<void> {
  await trx.raw("SELECT pg_advisory_xact_lock(hashtext('imv-import:' || ?))", [tenant]);
}

/** Of the tenant's IMV estates of these providers not archived yet: how many, and the ids of those whose source id is not in `present`. */
export async function providerEstatesMissing(
  trx: Knex.Transaction,
  tenant: string,
  providers: string[],
  present: string[],
): Promise<{ total: number; missing: number[] }> {
  const scope = trx('estates').where({ tenant_id: tenant, source: SOURCE_IMV, archived: false }).whereIn('provider_id', providers);
  const total = Number((await scope.clone().count<{ n: number }[]>('* as n'))[0].n);
  const missing = (await scope.clone().whereNotIn('source_id', present).pluck('id')) as number[];
  return { total, missing };
}

/**
 * Writes the planned estates: the ones with data in one upsert, the ones only archived in one
 * update. Returns every estate id the chunk knows, by source id (stored before, or written now).
 */
export async function writePlannedEstates(
  trx: Knex.Transaction,
  tenant: string,
  importId: number,
  planned: Map<string, PlannedEstate>,
  storedIds: Map<string, number>,
): Promise<Map<string, number>> {
  const estateIds = new Map(storedIds);
  const withData = [...planned.entries()].filter(([, f]) => f.columns);
  if (withData.length) {
    const insertRows = withData.map(([sid, f]) => ({
      tenant_id: tenant,
      source: SOURCE_IMV,
      source_id: sid,
      external_number: externalNumberOf(sid),
      status: 'inaktiv',
      ...f.columns!,
      fields: JSON.stringify(f.columns!.fields),
      data: JSON.stringify(f.columns!.data),
      archived: f.archived,
      archived_at: f.archived ? trx.fn.now() : null,
      reference: f.reference,
      updated_at: trx.fn.now(),
    }));
    // On conflict only data columns change: never status (R3) nor external_number (R4).
    const updatable = Object.keys(withData[0][1].columns!).concat(['archived', 'archived_at', 'reference']);
    for (const r of await upsertEstateRows(trx, insertRows, updatable)) estateIds.set(r.source_id, r.id);
  }
  const archiveOnly = [...planned.entries()].filter(([, f]) => !f.columns && f.archived).map(([sid]) => estateIds.get(sid)!);
  if (archiveOnly.length) await archiveEstates(trx, archiveOnly, importId);
  return estateIds;
}
