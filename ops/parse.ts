/** `imv-import parse FILE`: the reader alone, no database, no Temporal. */
import { openTransfer } from '../openimmo/reader';
import { isTransferError } from '../openimmo/errors';
import type { ProviderInfo, TransferHeader, TransferObject } from '../openimmo/types';

export interface ParsedTransfer {
  file: string;
  kind: 'xml' | 'zip';
  xmlEntry: string | null;
  header: TransferHeader | null;
  providers: ProviderInfo[];
  objects: TransferObject[];
}

export async function parseFile(file: string): Promise<ParsedTransfer> {
  const t = await openTransfer(file);
  const out: ParsedTransfer = { file, kind: t.kind, xmlEntry: t.xmlEntryName, header: null, providers: [], objects: [] };
  try {
    for await (const ev of t.events()) {
      if (ev.type === 'header') out.header = ev.header;
      else if (ev.type === 'provider') out.providers.push(ev.provider);
      else out.objects.push(ev.object);
    }
  } finally {
    await t.close();
  }
  return out;
}

export async function parseFileForCli(file: string, json: boolean): Promise<number> {
  let parsed: ParsedTransfer;
  try {
    parsed = await parseFile(file);
  } catch (e) {
    if (isTransferError(e)) {
      if (json) console.log(JSON.stringify({ file, error: { type: e.type, message: e.message, detail: e.detail ?? null } }, null, 2));
      else console.error(`${file}: ${e.type}: ${e.message}`);
      return 1;
    }
    throw e;
  }
  if (json) {
    console.log(JSON.stringify(parsed, null, 2));
  } else {
    const h = parsed.header;
    console.log(
      `${file}: ${parsed.kind}${parsed.xmlEntry ? ` (${parsed.xmlEntry})` : ''}, OpenImmo ${h?.version ?? '?'}, ${h?.umfang ?? '-'}, ${parsed.objects.length} objects`,
    );
    for (const o of parsed.objects) {
      console.log(
        `  #${o.position} id ${o.sourceId ?? '(none: would be rejected)'} ${o.action} user ${o.user ?? '(anbieter/default)'} ${o.estate.kind ?? '?'} ${o.estate.city ?? ''} — ${o.estate.title ?? ''}${o.warnings.length ? ` [${o.warnings.length} warnings]` : ''}`,
      );
    }
  }
  return 0;
}
