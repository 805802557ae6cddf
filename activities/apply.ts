/**
 * Applying staged objects to the CRM tables, one chunk of positions per activity and one
 * transaction per chunk. A per-tenant advisory lock serializes the apply steps of concurrent files
 * of one tenant, so staleness checks and address de-duplication never race; fetch and parse stay
 * parallel. A chunk whose results were committed is recognized and not applied twice. What each
 * object does is decided by domain/plan-chunk.ts; here is only the reading and writing.
 */
import type { ChunkInput, ChunkResult } from '../common/messages';
import { tenantOf } from '../config/config';
import { APPLIED_OUTCOMES, planChunk } from '../domain/plan-chunk';
import { needsAttachmentStep } from '../domain/attachment-step';
import type { StoredEstate } from '../domain/estate';
import { inTransaction } from '../db/db';
import { lockStoredEstates, writePlannedEstates } from '../db/estates';
import { lockedImport } from '../db/ledger/apply';
import { writeOutcomes } from '../db/ledger/objects';
import type { ImportMeta } from '../db/ledger/row';
import { linkStagedContacts, loadChunk, loadChunkWithOwners, storeAddressIds } from '../db/staging';
import { upsertChunkAddresses } from './addresses';
import type { ActivityDeps } from './deps';

export function applyActivities(deps: ActivityDeps) {
  const { db, cfg } = deps;
  return {
    async upsertEstates(input: ChunkInput): Promise<ChunkResult> {
      return inTransaction(db, async (trx) => {
        const { imp, users } = await lockedImport(trx, input.importId);
        const rows = await loadChunk(trx, input);
        // Applied by an earlier attempt (committed, then the result was lost): report the same.
        if (rows.length === 0 || rows.every((r) => r.outcome !== null)) return { done: rows.length, attachments: needsAttachmentStep(rows) };
        const tenant = tenantOf(cfg, imp.tenant_id);
        const meta: ImportMeta = imp.meta ?? {};
        const ids = [...new Set(rows.map((r) => r.source_id).filter((x): x is string => !!x))];
        const stored = new Map<string, StoredEstate>();
        if (ids.length) for (const e of await lockStoredEstates(trx, imp.tenant_id, ids)) stored.set(e.source_id, e);

        // Plan in document order against an in-memory view, then write each estate's final state once.
        const plan = planChunk(rows, stored, {
          tenant: imp.tenant_id,
          defaultUser: tenant.defaultUser,
          userField: tenant.options.userField,
          users,
          importId: imp.id,
          fileTime: new Date(imp.mtime).toISOString(),
          header: meta.header,
          providers: meta.providers,
        });
        const estateIds = await writePlannedEstates(trx, imp.tenant_id, imp.id, plan.estates, plan.storedIds);
        await writeOutcomes(
          trx,
          input.importId,
          plan.objects.map((r) => ({ ...r, estateId: r.sourceId ? (estateIds.get(r.sourceId) ?? null) : null })),
        );
        const outcomes = new Map(plan.objects.map((o) => [o.position, o.outcome]));
        return { done: rows.length, attachments: needsAttachmentStep(rows.map((r) => ({ ...r, outcome: outcomes.get(r.position) ?? null }))) };
      });
    },

    async upsertAddresses(input: ChunkInput): Promise<ChunkResult> {
      return inTransaction(db, async (trx) => {
        const { imp } = await lockedImport(trx, input.importId);
        // Each object with its estate's user (the owner of new addresses).
        const chunk = await loadChunkWithOwners(trx, input);
        const rows = chunk.filter(
          // address_ids set: applied by an earlier attempt of this chunk (same transaction as the links' source)
          (r) => r.outcome && APPLIED_OUTCOMES.has(r.outcome) && r.payload.action !== 'DELETE' && r.address_ids.length === 0,
        );
        if (!rows.length) return { done: 0 };
        const users = new Map<number, string>();
        for (const r of rows) if (r.estate_id != null && r.user_name != null) users.set(r.estate_id, r.user_name);
        const links = await upsertChunkAddresses(trx, imp.tenant_id, rows, users);
        await storeAddressIds(trx, input.importId, links);
        return { done: links.size };
      });
    },

    async linkContacts(input: ChunkInput): Promise<ChunkResult> {
      return { done: await linkStagedContacts(db, input) };
    },
  };
}
