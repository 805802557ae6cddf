/**
 * Mirror mode (per tenant, off by default): a full transfer (umfang VOLL) lists every estate of
 * its provider, so the provider's estates missing from it are archived. It refuses to act on an
 * empty transfer or when it would archive more than the configured share, and says so in the
 * ledger's notes. Without mirror mode a full transfer deletes nothing (onOffice's default).
 */
import type { ActivityDeps } from './deps';
import { tenantOf } from '../config/config';
import { inTransaction } from '../db/db';
import { archiveEstates, lockTenant, providerEstatesMissing } from '../db/estates';
import { loadImport, setImportNotes, type ImportMeta } from '../db/ledger/row';
import { stagedSourceIds } from '../db/staging';

export interface MirrorResult {
  archived: number;
  refused: string | null;
}

export function mirrorActivities(deps: ActivityDeps) {
  const { db, cfg } = deps;
  return {
    async mirrorFullTransfer({ importId }: { importId: number }): Promise<MirrorResult> {
      const imp = await loadImport(db, importId);
      const t = tenantOf(cfg, imp.tenant_id);
      const meta: ImportMeta = imp.meta ?? {};
      if (!t.options.mirror.enabled || meta.header?.umfang !== 'VOLL') return { archived: 0, refused: null };
      // Inside the transaction below it must use that transaction's connection (a pool of one, embedded).
      const note = async (text: string, q: typeof db = db) => {
        const notes: string[] = imp.notes ?? [];
        if (!notes.includes(text)) await setImportNotes(q, importId, [...notes, text]);
      };
      const providers = (meta.providers ?? []).map((p) => p.openimmoAnid || p.anbieternr).filter((p): p is string => !!p);
      if (!providers.length) {
        const msg = 'mirror refused: the full transfer names no provider (openimmo_anid/anbieternr), so its scope is unknown';
        await note(msg);
        return { archived: 0, refused: msg };
      }
      const present = await stagedSourceIds(db, importId);
      if (!present.length) {
        const msg = 'mirror refused: the full transfer holds no objects (an empty VOLL transfer never archives anything)';
        await note(msg);
        return { archived: 0, refused: msg };
      }
      return inTransaction(db, async (trx) => {
        await lockTenant(trx, imp.tenant_id);
        const { total, missing } = await providerEstatesMissing(trx, imp.tenant_id, providers, present);
        if (!missing.length) return { archived: 0, refused: null };
        const share = missing.length / Math.max(total, 1);
        if (share > t.options.mirror.maxArchiveShare) {
          const msg = `mirror refused: the full transfer would archive ${missing.length} of ${total} estates (${Math.round(share * 100)}%), more than the allowed ${Math.round(t.options.mirror.maxArchiveShare * 100)}%`;
          await note(msg, trx);
          return { archived: 0, refused: msg };
        }
        await archiveEstates(trx, missing, importId);
        await note(`mirror: archived ${missing.length} estates missing from the full transfer`, trx);
        return { archived: missing.length, refused: null };
      });
    },
  };
}
