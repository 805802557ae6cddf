/**
 * Applying staged objects to the CRM tables, one chunk of positions per activity and one
 * transaction per chunk. A per-tenant advisory lock serializes the apply steps of concurrent files
 * of one tenant, so staleness checks and address de-duplication never race; fetch and parse stay
 * parallel. A chunk whose results were committed is recognized and not applied twice.
 */
import { ApplicationFailure } from '@temporalio/activity';
import type { Knex } from 'knex';
import type { ChunkInput, ChunkResult } from '../common/messages';
import { tenantOf } from '../config/config';
import { contactWarnings } from '../domain/contact';
import { unknownUserMessage } from '../domain/users';
import { externalNumberOf, planEstate, SOURCE_IMV, type ApplyContext, type EstateColumns, type StoredEstate } from '../domain/estate';
import type { TransferObject } from '../openimmo/types';
import { upsertChunkAddresses } from './addresses';
import type { ActivityDeps } from './deps';
import type { ImportMeta, ImportRow } from './transfers';

interface StagedRow {
  position: number;
  source_id: string | null;
  payload: TransferObject;
  estate_id: number | null;
  outcome: string | null;
  messages: string[];
  address_ids: { id: number; role: string }[];
}

const APPLIED = new Set(['created', 'updated', 'unchanged']);

export function applyActivities(deps: ActivityDeps) {
  const { db, cfg } = deps;

  async function loadChunk(trx: Knex.Transaction, { importId, from, to }: ChunkInput): Promise<StagedRow[]> {
    return trx('staged_objects').where({ import_id: importId }).andWhere('position', '>=', from).andWhere('position', '<', to).orderBy('position');
  }

  /**
   * The ledger row, the tenant's lock and its active users in one round trip. The lock is taken
   * before anything this chunk reads to decide: the row and the users (what this statement read
   * before the lock was granted) do not change while a file is applied.
   */
  async function lockedImport(trx: Knex.Transaction, importId: number): Promise<{ imp: ImportRow; users: Set<string> }> {
    const r = await trx.raw(
      `SELECT i.*, pg_advisory_xact_lock(hashtext('imv-import:' || i.tenant_id)) AS locked,
              ARRAY(SELECT u.user_name FROM users u WHERE u.tenant_id = i.tenant_id AND u.active) AS active_users
         FROM import_files i WHERE i.id = ?`,
      [importId],
    );
    const row = r.rows[0] as (ImportRow & { active_users: string[] }) | undefined;
    if (!row) throw ApplicationFailure.nonRetryable(`import ${importId} does not exist`, 'UnknownImport');
    return { imp: row, users: new Set(row.active_users) };
  }

  return {
    async upsertEstates(input: ChunkInput): Promise<ChunkResult> {
      return db.transaction(async (trx) => {
        const { imp, users } = await lockedImport(trx, input.importId);
        const rows = await loadChunk(trx, input);
        if (rows.length === 0 || rows.every((r) => r.outcome !== null)) return { done: rows.length };
        const tenant = tenantOf(cfg, imp.tenant_id);
        const meta: ImportMeta = imp.meta ?? {};
        const ids = [...new Set(rows.map((r) => r.source_id).filter((x): x is string => !!x))];
        const stored = new Map<string, StoredEstate & { source_id: string }>();
        if (ids.length) {
          const existing = await trx('estates')
            .where({ tenant_id: imp.tenant_id, source: SOURCE_IMV })
            .whereIn('source_id', ids)
            .forUpdate()
            .select('id', 'source_id', 'status', 'archived', 'reference', 'content_hash', 'source_stand', 'source_timestamp', 'source_file_time');
          for (const e of existing) stored.set(e.source_id, e);
        }

        // Plan in document order against an in-memory view, then write each estate's final state once.
        interface Final {
          columns: EstateColumns | null;
          archived: boolean;
          reference: boolean;
          isNew: boolean;
        }
        const finals = new Map<string, Final>();
        const results: { position: number; sourceId: string | null; action: string; outcome: string; messages: string[] }[] = [];
        for (const r of rows) {
          const o = r.payload;
          const messages = [...o.warnings];
          const fail = (msg: string) =>
            results.push({ position: r.position, sourceId: o.sourceId, action: o.action, outcome: 'rejected', messages: [...messages, msg] });
          if (!o.sourceId) {
            fail(`object #${o.position}: no IMV object id (verwaltung_techn/objektnr_extern and openimmo_obid are missing, empty or unusable)`);
            continue;
          }
          const provider = meta.providers?.find((p) => p.index === o.providerIndex);
          const user = o.user ?? provider?.user ?? tenant.defaultUser;
          if (!user) {
            fail(
              `object ${o.sourceId}: no onOffice user named (user_defined_simplefield feldname="${tenant.options.userField}") and tenant ${tenant.id} has no default user`,
            );
            continue;
          }
          if (!users.has(user)) {
            fail(unknownUserMessage(o.sourceId, user, tenant.id, imp.id));
            continue;
          }
          const ctx: ApplyContext = {
            tenant: imp.tenant_id,
            user,
            importId: imp.id,
            transferTimestamp: meta.header?.timestamp ?? null,
            fileTime: new Date(imp.mtime).toISOString(),
            provider: provider?.openimmoAnid || provider?.anbieternr || null,
          };
          const current = stored.get(o.sourceId) ?? null;
          const plan = planEstate(o, current, ctx);
          const prev = finals.get(o.sourceId);
          switch (plan.outcome) {
            case 'created':
            case 'updated':
              finals.set(o.sourceId, { columns: plan.columns, archived: false, reference: plan.reference, isNew: prev?.isNew ?? !current });
              stored.set(o.sourceId, {
                id: current?.id ?? -1,
                source_id: o.sourceId,
                status: current?.status ?? 'inaktiv',
                archived: false,
                reference: plan.reference,
                content_hash: plan.columns.content_hash,
                source_stand: plan.columns.source_stand,
                source_timestamp: plan.columns.source_timestamp,
                source_file_time: plan.columns.source_file_time,
              });
              break;
            case 'archived':
              finals.set(o.sourceId, { columns: prev?.columns ?? null, archived: true, reference: current!.reference, isNew: prev?.isNew ?? false });
              stored.set(o.sourceId, { ...current!, archived: true });
              break;
            case 'stale':
            case 'not-found':
              messages.push(plan.message);
              break;
            case 'unchanged':
              break;
          }
          // The address step imports this object's contacts: say here which of them it cannot.
          if (APPLIED.has(plan.outcome)) messages.push(...contactWarnings(o));
          results.push({ position: r.position, sourceId: o.sourceId, action: o.action, outcome: plan.outcome, messages });
        }

        const estateIds = new Map<string, number>();
        for (const [sid, s] of stored) if (s.id > 0) estateIds.set(sid, s.id);
        const withData = [...finals.entries()].filter(([, f]) => f.columns);
        if (withData.length) {
          const insertRows = withData.map(([sid, f]) => ({
            tenant_id: imp.tenant_id,
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
          const returned: { id: number; source_id: string }[] = await trx('estates')
            .insert(insertRows)
            .onConflict(['tenant_id', 'source', 'source_id'])
            .merge([...updatable, 'updated_at'])
            .returning(['id', 'source_id']);
          for (const r of returned) estateIds.set(r.source_id, r.id);
        }
        const archiveOnly = [...finals.entries()].filter(([, f]) => !f.columns && f.archived).map(([sid]) => estateIds.get(sid)!);
        if (archiveOnly.length) {
          await trx('estates')
            .whereIn('id', archiveOnly)
            .update({ archived: true, archived_at: trx.fn.now(), last_import_id: imp.id, updated_at: trx.fn.now() });
        }

        await writeOutcomes(
          trx,
          input.importId,
          results.map((r) => ({ ...r, estateId: r.sourceId ? (estateIds.get(r.sourceId) ?? null) : null })),
        );
        return { done: rows.length };
      });
    },

    async upsertAddresses(input: ChunkInput): Promise<ChunkResult> {
      return db.transaction(async (trx) => {
        const { imp } = await lockedImport(trx, input.importId);
        // Each object with its estate's user (the owner of new addresses).
        const chunk: (StagedRow & { user_name: string | null })[] = await trx('staged_objects as s')
          .leftJoin('estates as e', 'e.id', 's.estate_id')
          .where('s.import_id', input.importId)
          .andWhere('s.position', '>=', input.from)
          .andWhere('s.position', '<', input.to)
          .orderBy('s.position')
          .select('s.*', 'e.user_name');
        const rows = chunk.filter(
          // address_ids set: applied by an earlier attempt of this chunk (same transaction as the links' source)
          (r) => r.outcome && APPLIED.has(r.outcome) && r.payload.action !== 'DELETE' && r.address_ids.length === 0,
        );
        if (!rows.length) return { done: 0 };
        const users = new Map<number, string>();
        for (const r of rows) if (r.estate_id != null && r.user_name != null) users.set(r.estate_id, r.user_name);
        const links = await upsertChunkAddresses(trx, imp.tenant_id, rows, users);
        if (links.size) {
          const values = [...links.keys()].map(() => '(?::int, ?::jsonb)').join(', ');
          await trx.raw(
            `UPDATE staged_objects AS s SET address_ids = v.ids FROM (VALUES ${values}) AS v(position, ids) WHERE s.import_id = ? AND s.position = v.position`,
            [...[...links].flatMap(([pos, l]) => [pos, JSON.stringify(l)]), input.importId],
          );
        }
        return { done: links.size };
      });
    },

    async linkContacts(input: ChunkInput): Promise<ChunkResult> {
      // One statement: the chunk's links, from the address ids the address step staged.
      const r = await db.raw(
        `INSERT INTO estate_contacts (estate_id, address_id, role)
         SELECT s.estate_id, (a->>'id')::bigint, a->>'role'
           FROM staged_objects s CROSS JOIN LATERAL jsonb_array_elements(s.address_ids) a
          WHERE s.import_id = ? AND s.position >= ? AND s.position < ? AND s.estate_id IS NOT NULL
         ON CONFLICT (estate_id, address_id, role) DO NOTHING`,
        [input.importId, input.from, input.to],
      );
      return { done: r.rowCount ?? 0 };
    },
  };
}

async function writeOutcomes(
  trx: Knex.Transaction,
  importId: number,
  results: { position: number; sourceId: string | null; action: string; outcome: string; messages: string[]; estateId: number | null }[],
): Promise<void> {
  if (!results.length) return;
  // One statement, one JSON document: the objects' outcomes, in the import's ledger and in staging.
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
