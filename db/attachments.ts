/** Estates' attachment sets (estate_attachments) and the per-object warnings the attachment step adds. */
import type { Knex } from 'knex';
import type { Db } from './db';

/**
 * One transaction per chunk: these estates' attachment sets are replaced together (delete, insert
 * in batches of 500), and each object's warnings are appended to its ledger messages once.
 */
export async function replaceAttachmentSets(
  db: Db,
  importId: number,
  estateIds: number[],
  records: Record<string, unknown>[],
  warningsAt: Map<number, string[]>,
): Promise<void> {
  await db.transaction(async (trx: Knex.Transaction) => {
    await trx('estate_attachments').whereIn('estate_id', estateIds).delete();
    for (let i = 0; i < records.length; i += 500) await trx('estate_attachments').insert(records.slice(i, i + 500));
    for (const [position, warnings] of warningsAt) {
      // Idempotent: the same warnings are not appended twice on a retry.
      const obj = await trx('import_objects').where({ import_id: importId, position }).first('messages');
      const have: string[] = obj?.messages ?? [];
      const add = warnings.filter((w) => !have.includes(w));
      if (add.length)
        await trx('import_objects')
          .where({ import_id: importId, position })
          .update({ messages: JSON.stringify([...have, ...add]) });
    }
  });
}
