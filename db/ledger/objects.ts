/** The ledger's objects (import_objects): the outcome of each object of an import. */
import type { Knex } from 'knex';

/** One object of the import as the ledger has it (import_objects with its estate's number). */
export interface ObjectOutcome {
  position: number;
  source_id: string | null;
  outcome: string;
  messages: string[];
  external_number: string | null;
}

/** The import's objects in document order, with their estates' numbers: one query. */
export async function objectOutcomes(db: Knex, importId: number): Promise<ObjectOutcome[]> {
  return db('import_objects as o')
    .leftJoin('estates as e', 'e.id', 'o.estate_id')
    .where('o.import_id', importId)
    .orderBy('o.position')
    .select('o.position', 'o.source_id', 'o.outcome', 'o.messages', 'e.external_number');
}

/**
 * One page of the import's objects after a position (keyset paging in document order): finish
 * reads a big import's objects page by page, so they never sit in memory all at once.
 */
export async function objectOutcomesPage(db: Knex, importId: number, afterPosition: number, limit: number): Promise<ObjectOutcome[]> {
  return db('import_objects as o')
    .leftJoin('estates as e', 'e.id', 'o.estate_id')
    .where('o.import_id', importId)
    .andWhere('o.position', '>', afterPosition)
    .orderBy('o.position')
    .limit(limit)
    .select('o.position', 'o.source_id', 'o.outcome', 'o.messages', 'e.external_number');
}

/** The objects that carry messages (the report's and the feedback's problems), in document order. */
export async function objectsWithMessages(db: Knex, importId: number): Promise<ObjectOutcome[]> {
  return db('import_objects as o')
    .leftJoin('estates as e', 'e.id', 'o.estate_id')
    .where('o.import_id', importId)
    .andWhereRaw("o.messages <> '[]'::jsonb")
    .orderBy('o.position')
    .select('o.position', 'o.source_id', 'o.outcome', 'o.messages', 'e.external_number');
}

/** How many objects of the import ended in each outcome: one aggregate. */
export async function outcomeTally(db: Knex, importId: number): Promise<Map<string, number>> {
  const rows: { outcome: string; n: string | number }[] = await db('import_objects')
    .where({ import_id: importId })
    .groupBy('outcome')
    .select('outcome', db.raw('count(*) as n'));
  return new Map(rows.map((r) => [r.outcome, Number(r.n)]));
}

/** What the estate step decided for one object. */
export interface ObjectResult {
  position: number;
  sourceId: string | null;
  action: string;
  outcome: string;
  messages: string[];
  estateId: number | null;
}

/** One statement, one JSON document: the objects' outcomes, in the import's ledger and in staging. */
export async function writeOutcomes(trx: Knex.Transaction, importId: number, results: ObjectResult[]): Promise<void> {
  if (!results.length) return;
  const doc = JSON.stringify(
    results.map((r) => ({ position: r.position, source_id: r.sourceId, action: r.action, outcome: r.outcome, estate_id: r.estateId, messages: r.messages })),
  );
  await trx.raw(
    `WITH v AS (
       SELECT * FROM jsonb_to_recordset(?::jsonb) AS v(position int, source_id text, action text, outcome text, estate_id bigint, messages jsonb)
     ), ledger AS (
       INSERT INTO import_objects (import_id, position, source_id, action, outcome, estate_id, messages)
       SELECT ?, position, source_id, action, outcome, estate_id, messages FROM v
       ON CONFLICT (import_id, position) DO UPDATE
         SET source_id = EXCLUDED.source_id, action = EXCLUDED.action, outcome = EXCLUDED.outcome, estate_id = EXCLUDED.estate_id, messages = EXCLUDED.messages
     )
     UPDATE staged_objects AS s SET estate_id = v.estate_id, outcome = v.outcome, messages = v.messages
       FROM v WHERE s.import_id = ? AND s.position = v.position`,
    [doc, importId, importId],
  );
}
