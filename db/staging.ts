/** Staged objects (staged_objects) of one chunk of positions [from, to): what the apply steps read and write. */
import type { Knex } from 'knex';
import type { ChunkInput } from '../common/messages';
import type { TransferObject } from '../openimmo/types';
import type { Db } from './db';

export interface StagedRow {
  position: number;
  source_id: string | null;
  payload: TransferObject;
  estate_id: number | null;
  outcome: string | null;
  messages: string[];
  address_ids: { id: number; role: string }[];
}

/** The chunk's staged objects in document order. */
export async function loadChunk(trx: Knex.Transaction, { importId, from, to }: ChunkInput): Promise<StagedRow[]> {
  return trx('staged_objects').where({ import_id: importId }).andWhere('position', '>=', from).andWhere('position', '<', to).orderBy('position');
}

/** The chunk's staged objects, each with its estate's user (the owner of new addresses). */
export async function loadChunkWithOwners(trx: Knex.Transaction, input: ChunkInput): Promise<(StagedRow & { user_name: string | null })[]> {
  return trx('staged_objects as s')
    .leftJoin('estates as e', 'e.id', 's.estate_id')
    .where('s.import_id', input.importId)
    .andWhere('s.position', '>=', input.from)
    .andWhere('s.position', '<', input.to)
    .orderBy('s.position')
    .select('s.*', 'e.user_name');
}

/** The address ids per staged position, in one statement (the links' source for the link step). */
export async function storeAddressIds(trx: Knex.Transaction, importId: number, links: Map<number, { id: number; role: string }[]>): Promise<void> {
  if (!links.size) return;
  const values = [...links.keys()].map(() => '(?::int, ?::jsonb)').join(', ');
  await trx.raw(
    `UPDATE staged_objects AS s SET address_ids = v.ids FROM (VALUES ${values}) AS v(position, ids) WHERE s.import_id = ? AND s.position = v.position`,
    [...[...links].flatMap(([pos, l]) => [pos, JSON.stringify(l)]), importId],
  );
}

/** One statement: the chunk's links, from the address ids the address step staged. Returns how many are new. */
export async function linkStagedContacts(db: Db, input: ChunkInput): Promise<number> {
  const r = await db.raw(
    `INSERT INTO estate_contacts (estate_id, address_id, role)
         SELECT s.estate_id, (a->>'id')::bigint, a->>'role'
           FROM staged_objects s CROSS JOIN LATERAL jsonb_array_elements(s.address_ids) a
          WHERE s.import_id = ? AND s.position >= ? AND s.position < ? AND s.estate_id IS NOT NULL
         ON CONFLICT (estate_id, address_id, role) DO NOTHING`,
    [input.importId, input.from, input.to],
  );
  return r.rowCount ?? 0;
}

/** The chunk's objects whose estate was created or updated, with their estates, in document order (the attachment step). */
export async function loadChunkForAttachments(
  db: Db,
  input: ChunkInput,
): Promise<{ position: number; estate_id: number | null; outcome: string | null; payload: TransferObject }[]> {
  return db('staged_objects')
    .where({ import_id: input.importId })
    .andWhere('position', '>=', input.from)
    .andWhere('position', '<', input.to)
    .whereIn('outcome', ['created', 'updated'])
    .whereNotNull('estate_id')
    .orderBy('position')
    .select('position', 'estate_id', 'outcome', 'payload');
}

/** The IMV ids of every object the import staged (the mirror's view of a full transfer). */
export async function stagedSourceIds(db: Db, importId: number): Promise<string[]> {
  return (await db('staged_objects').where({ import_id: importId }).whereNotNull('source_id').pluck('source_id')) as string[];
}
