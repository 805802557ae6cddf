/**
 * What a database's schema is, as plain data that two databases can be compared by (and a fixture can
 * hold): every table, sequence and index of the public schema, with each column's type, default and
 * nullability in column order, each constraint's definition and each index's. Names of things
 * PostgreSQL generates (nothing here is named by a random value) are part of it, so a renamed index
 * or constraint shows up as a difference.
 */
import type { Knex } from 'knex';

export interface SchemaSnapshot {
  tables: Record<
    string,
    {
      columns: { name: string; type: string; notNull: boolean; default: string | null }[];
      constraints: Record<string, string>;
      indexes: Record<string, string>;
    }
  >;
  sequences: Record<string, { type: string; start: string; increment: string; ownedBy: string | null }>;
}

export async function schemaSnapshot(db: Knex): Promise<SchemaSnapshot> {
  const columns = await rows<{ table: string; name: string; type: string; not_null: boolean; default: string | null }>(
    db,
    `SELECT c.relname AS table, a.attname AS name, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull AS not_null,
            pg_get_expr(d.adbin, d.adrelid) AS default
       FROM pg_attribute a
       JOIN pg_class c ON c.oid = a.attrelid
       JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
      WHERE n.nspname = 'public' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY c.relname, a.attnum`,
  );
  const constraints = await rows<{ table: string; name: string; def: string }>(
    db,
    `SELECT c.relname AS table, k.conname AS name, pg_get_constraintdef(k.oid) AS def
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = 'public' ORDER BY c.relname, k.conname`,
  );
  const indexes = await rows<{ table: string; name: string; def: string }>(
    db,
    `SELECT tablename AS table, indexname AS name, indexdef AS def FROM pg_indexes WHERE schemaname = 'public' ORDER BY tablename, indexname`,
  );
  const sequences = await rows<{ name: string; type: string; start: string; increment: string; owned_by: string | null }>(
    db,
    `SELECT s.sequencename AS name, s.data_type::text AS type, s.start_value::text AS start, s.increment_by::text AS increment,
            (SELECT t.relname || '.' || a.attname
               FROM pg_depend dep JOIN pg_class t ON t.oid = dep.refobjid
               JOIN pg_attribute a ON a.attrelid = dep.refobjid AND a.attnum = dep.refobjsubid
              WHERE dep.objid = (quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename))::regclass AND dep.deptype IN ('a', 'i')) AS owned_by
       FROM pg_sequences s WHERE s.schemaname = 'public' ORDER BY s.sequencename`,
  );
  const snap: SchemaSnapshot = { tables: {}, sequences: {} };
  const table = (name: string) => (snap.tables[name] ??= { columns: [], constraints: {}, indexes: {} });
  for (const c of columns) table(c.table).columns.push({ name: c.name, type: c.type, notNull: c.not_null, default: c.default });
  for (const c of constraints) table(c.table).constraints[c.name] = c.def;
  for (const i of indexes) table(i.table).indexes[i.name] = i.def;
  for (const s of sequences) snap.sequences[s.name] = { type: s.type, start: s.start, increment: s.increment, ownedBy: s.owned_by };
  return snap;
}

/** The rows of knex's migrations table, in the order they ran: name and batch (their times differ by run). */
export async function migrationRows(db: Knex): Promise<{ name: string; batch: number }[]> {
  return db('knex_migrations').orderBy('id').select('name', 'batch');
}

async function rows<T>(db: Knex, sql: string): Promise<T[]> {
  return (await db.raw(sql)).rows as T[];
}
