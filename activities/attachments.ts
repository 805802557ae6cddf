/**
 * Attachments (anhaenge): inline base64, files inside the ZIP, or http(s) links. Content goes to
 * the content-addressed store (same bytes → same stored file, so an update never duplicates an
 * unchanged picture); the estate's attachment set is replaced as a whole, title picture first.
 * A missing file is a warning on that object, never an error.
 */
import type { Knex } from 'knex';
import type { ChunkInput, ChunkResult } from '../common/messages';
import { openTransfer, type OpenedTransfer } from '../openimmo/reader';
import type { AttachmentRef, TransferObject } from '../openimmo/types';
import type { ActivityDeps } from './deps';

/** TITELBILD first, then document order (a stable sort keeps the rest as sent). */
export function orderAttachments(list: AttachmentRef[]): AttachmentRef[] {
  return [...list].sort((a, b) => Number(b.group === 'TITELBILD') - Number(a.group === 'TITELBILD') || a.position - b.position);
}

export function attachmentActivities(deps: ActivityDeps) {
  const { db, store } = deps;
  return {
    async storeAttachments(input: ChunkInput): Promise<ChunkResult> {
      const rows: { position: number; estate_id: number | null; outcome: string | null; payload: TransferObject }[] = await db('staged_objects')
        .where({ import_id: input.importId })
        .andWhere('position', '>=', input.from)
        .andWhere('position', '<', input.to)
        .whereIn('outcome', ['created', 'updated'])
        .whereNotNull('estate_id')
        .orderBy('position')
        .select('position', 'estate_id', 'outcome', 'payload');
      // Only the last object per estate in this chunk decides its set (document order).
      const last = new Map<number, (typeof rows)[number]>();
      for (const r of rows) if (r.payload.action !== 'DELETE') last.set(r.estate_id!, r);
      if (!last.size) return { done: 0 };

      let opened: OpenedTransfer | null = null;
      const needsZip = [...last.values()].some((r) => r.payload.attachments.some((a) => a.source.kind === 'path'));
      const imp = needsZip ? await db('import_files').where({ id: input.importId }).first('sha256') : null;
      if (needsZip && imp?.sha256) {
        opened = await openTransfer(store.pathOf(imp.sha256));
        if (opened.kind !== 'zip') {
          await opened.close();
          opened = null;
        }
      }
      try {
        const records: Record<string, unknown>[] = [];
        const warningsAt = new Map<number, string[]>();
        for (const [estateId, r] of last) {
          const warnings: string[] = [];
          let pos = 0;
          for (const a of orderAttachments(r.payload.attachments)) {
            const label = `object ${r.payload.sourceId}: anhang ${a.position + 1}${a.title ? ` "${a.title}"` : ''}`;
            const base = { estate_id: estateId, position: pos, group: a.group, title: a.title, format: a.format };
            const src = a.source;
            if (src.kind === 'url') {
              records.push({ ...base, url: src.url });
            } else if (src.kind === 'stored') {
              records.push({ ...base, sha256: src.sha256, size: src.size });
            } else if (src.kind === 'inline') {
              const buf = Buffer.from(src.base64.replace(/\s+/g, ''), 'base64');
              if (!buf.length) {
                warnings.push(`${label}: anhanginhalt is empty or not base64`);
                continue;
              }
              const { sha256, size } = await store.putBuffer(buf);
              records.push({ ...base, sha256, size });
            } else if (src.kind === 'path') {
              const entry = (src as { entry?: string }).entry ?? opened?.attachments?.resolve(src.path) ?? null;
              if (!entry || !opened?.attachments) {
                // The reader already warned about a path it could not resolve; say it once.
                if (!r.payload.warnings.some((w) => w.includes(src.path))) warnings.push(`${label}: file "${src.path}" is not in the transfer`);
                continue;
              }
              const { sha256, size } = await store.putBuffer(await opened.attachments.read(entry));
              records.push({ ...base, sha256, size, file_name: src.path });
            } else {
              warnings.push(`${label}: no content (neither anhanginhalt nor daten/pfad)`);
              continue;
            }
            pos++;
          }
          if (warnings.length) warningsAt.set(r.position, warnings);
        }
        // New estates without attachments have no set to replace: nothing to write (IMV's usual one-object file).
        if (!records.length && !warningsAt.size && [...last.values()].every((r) => r.outcome === 'created')) return { done: last.size };
        // One transaction per chunk: the estates' attachment sets are replaced together.
        await db.transaction(async (trx: Knex.Transaction) => {
          await trx('estate_attachments')
            .whereIn('estate_id', [...last.keys()])
            .delete();
          for (let i = 0; i < records.length; i += 500) await trx('estate_attachments').insert(records.slice(i, i + 500));
          for (const [position, warnings] of warningsAt) {
            // Idempotent: the same warnings are not appended twice on a retry.
            const obj = await trx('import_objects').where({ import_id: input.importId, position }).first('messages');
            const have: string[] = obj?.messages ?? [];
            const add = warnings.filter((w) => !have.includes(w));
            if (add.length)
              await trx('import_objects')
                .where({ import_id: input.importId, position })
                .update({ messages: JSON.stringify([...have, ...add]) });
          }
        });
        const done = last.size;
        return { done };
      } finally {
        await opened?.close();
      }
    },
  };
}
