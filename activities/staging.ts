/**
 * Preparing a parsed object for the staging table. Inline attachments (base64 `anhanginhalt`) go
 * to the content-addressed store right away and the object keeps only their hash — in the
 * attachment list and in the lossless JSON (the `anhanginhalt` element keeps `sha256`/`bytes`
 * attributes instead of the text). Staged rows, apply chunks and the estate's `data` stay small
 * however large the pictures are; nothing is lost, the bytes are in the store.
 */
import { createHash } from 'node:crypto';
import { NotStoredError, type FileStore, type LocalCopy } from '../store/file-store';
import type { TransferObject, XmlElement, XmlNode } from '../openimmo/types';

export const STORED_ATTR = 'imv-import-sha256';

function base64Key(text: string): string {
  return text.replace(/\s+/g, '');
}

/** Moves inline attachment content into the store; returns the object as JSON text for staging. */
export async function stageableObject(o: TransferObject, store: FileStore): Promise<string> {
  const stored = new Map<string, { sha256: string; size: number }>();
  const put = async (b64: string) => {
    const key = base64Key(b64);
    let hit = stored.get(key);
    if (!hit) {
      const buf = Buffer.from(key, 'base64');
      hit = buf.length ? await store.putBuffer(buf) : { sha256: createHash('sha256').digest('hex'), size: 0 };
      stored.set(key, hit);
    }
    return hit;
  };
  for (const a of o.attachments) {
    if (a.source.kind === 'inline') {
      const { sha256, size } = await put(a.source.base64);
      a.source = size ? { kind: 'stored', sha256, size } : { kind: 'none' };
    }
  }
  const walk = async (el: XmlElement): Promise<void> => {
    if (el.name === 'anhanginhalt' && el.children?.length) {
      const text = el.children.filter((c): c is string => typeof c === 'string').join('');
      if (base64Key(text)) {
        const { sha256, size } = await put(text);
        el.attrs = { ...(el.attrs ?? {}), [STORED_ATTR]: sha256, 'imv-import-bytes': String(size) };
        el.children = [];
      }
      return;
    }
    for (const c of el.children ?? ([] as XmlNode[])) if (typeof c !== 'string') await walk(c);
  };
  await walk(o.raw);
  return JSON.stringify(o);
}

/**
 * The fetched transfer as a local file for the reader (a ZIP needs random access): the `fs` store's
 * own file, or the `postgres` store's copy in this host's scratch folder. Content the store no longer
 * has is an error that names it.
 */
export async function openStored(store: FileStore, sha256: string, what: string): Promise<LocalCopy> {
  try {
    return await store.openLocal(sha256);
  } catch (e) {
    if (e instanceof NotStoredError) throw new Error(`${what}: the fetched transfer (sha256 ${sha256}) is not in the ${store.kind} file store`);
    throw e;
  }
}
