/**
 * Attachments (anhaenge): inline base64, files inside the ZIP, or http(s) links. Content goes to
 * the content-addressed store (same bytes → same stored file, so an update never duplicates an
 * unchanged picture); the estate's attachment set is replaced as a whole, title picture first.
 * A missing file is a warning on that object, never an error; so is a picture whose ZIP entry breaks
 * a ZIP rule as it is inflated (see readZipPicture). When the step has work, and in which order a set is
 * written: domain/attachment-step.ts.
 */
import type { ChunkInput, ChunkResult } from '../common/messages';
import { isTransferError } from '../openimmo/errors';
import { openTransfer, type OpenedTransfer, type TransferAttachments } from '../openimmo/reader';
import { needsAttachmentStep, orderAttachments } from '../domain/attachment-step';
import { replaceAttachmentSets } from '../db/attachments';
import { importSha256 } from '../db/ledger/row';
import { loadChunkForAttachments } from '../db/staging';
import type { ActivityDeps } from './deps';
import type { LocalCopy } from '../store/file-store';
import { openStored } from './staging';

/**
 * A picture inside the ZIP: its bytes, or why it is skipped. An entry that breaks a ZIP rule only as
 * it is inflated (more or fewer bytes than its header declares, beyond a limit, damaged data) is
 * skipped: the estate's data is good, that picture is not, and no retry changes its bytes. Anything
 * else (the system, the store) is thrown and retried.
 */
export async function readZipPicture(attachments: TransferAttachments, entry: string): Promise<{ bytes: Buffer } | { skipped: string }> {
  try {
    return { bytes: await attachments.read(entry) };
  } catch (e) {
    if (isTransferError(e)) return { skipped: e.message };
    throw e;
  }
}

export function attachmentActivities(deps: ActivityDeps) {
  const { db, store } = deps;
  return {
    async storeAttachments(input: ChunkInput): Promise<ChunkResult> {
      const rows = await loadChunkForAttachments(db, input);
      // Only the last object per estate in this chunk decides its set (document order).
      const last = new Map<number, (typeof rows)[number]>();
      for (const r of rows) if (r.payload.action !== 'DELETE') last.set(r.estate_id!, r);
      if (!last.size) return { done: 0 };

      let opened: OpenedTransfer | null = null;
      let local: LocalCopy | null = null;
      const needsZip = [...last.values()].some((r) => r.payload.attachments.some((a) => a.source.kind === 'path'));
      const imp = needsZip ? await importSha256(db, input.importId) : null;
      if (needsZip && imp?.sha256) {
        local = await openStored(store, imp.sha256, `import ${input.importId}`);
        opened = await openTransfer(local.path).catch(async (e: unknown) => {
          await local?.release();
          throw e;
        });
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
              const picture = await readZipPicture(opened.attachments, entry);
              if ('skipped' in picture) {
                warnings.push(`${label}: file "${src.path}" is skipped: ${picture.skipped}`);
                continue;
              }
              const { sha256, size } = await store.putBuffer(picture.bytes);
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
        if (!records.length && !warningsAt.size && !needsAttachmentStep([...last.values()])) return { done: last.size };
        // One transaction per chunk: the estates' attachment sets are replaced together.
        await replaceAttachmentSets(db, input.importId, [...last.keys()], records, warningsAt);
        const done = last.size;
        return { done };
      } finally {
        await opened?.close();
        await local?.release();
      }
    },
  };
}
