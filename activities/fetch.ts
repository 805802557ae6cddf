/** fetchTransfer: the file from FTP into the file store (unless the store has it), and the duplicate decision. */
import fsp from 'node:fs/promises';
import { permanentFailure } from '../common/error-types';
import type { FetchResult } from '../common/messages';
import { printableName } from '../common/remote-names';
import { recordFetched } from '../db/ledger/fetch';
import { loadImport, type ImportRow } from '../db/ledger/row';
import { ftpErrorText, isPermanentFtpError } from '../ftp/ftp';
import { sha256OfFile } from '../store/file-store';
import type { ActivityDeps } from './deps';
import { ftpSession, heartbeatSafe } from './ftp-session';

export async function fetchTransfer(deps: ActivityDeps, { importId }: { importId: number }): Promise<FetchResult> {
  const row = await loadImport(deps.db, importId);
  let sha256 = row.sha256;
  let size = row.size;
  if (!sha256 || !(await deps.store.has(sha256))) ({ sha256, size } = await download(deps, row));
  const duplicateOf = await recordFetched(deps.db, row, sha256, size);
  deps.log.info({ tenant: row.tenant_id, importId, sha256, size, duplicateOf }, 'fetched');
  return { sha256: sha256!, size, duplicateOf };
}

/** Downloads the row's file into the file store: its hash and size. */
async function download(deps: ActivityDeps, row: ImportRow): Promise<{ sha256: string; size: number }> {
  const { store } = deps;
  const tmp = await store.tempPath();
  try {
    await ftpSession(deps, row.tenant_id, async (c) => {
      // basic-ftp reports every 500 ms whether bytes moved or not: beat only on progress, so a
      // stalled connection runs into the heartbeat timeout and the download is retried.
      let seen = 0;
      c.trackProgress((info) => {
        if (info.bytes > seen) heartbeatSafe({ bytes: (seen = info.bytes) });
      });
      try {
        await c.downloadTo(tmp, row.remote_path);
      } catch (err) {
        if (!isPermanentFtpError(err, c)) throw err;
        throw permanentFailure(
          `${printableName(row.file_name)}: the FTP server refuses to send the file (${ftpErrorText(err)}); it stays on the server`,
          'Unreadable',
        );
      }
      c.trackProgress();
    });
    const hash = await sha256OfFile(tmp);
    const size = (await fsp.stat(tmp)).size;
    await store.commit(tmp, hash);
    return { sha256: hash, size };
  } finally {
    await fsp.rm(tmp, { force: true });
  }
}
