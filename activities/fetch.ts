/** fetchTransfer: the file from FTP into the file store (unless the store has it), and the duplicate decision. */
import { PassThrough, Writable } from 'node:stream';
import type { Client } from 'basic-ftp';
import { permanentFailure } from '../common/error-types';
import type { FetchResult } from '../common/messages';
import { printableName } from '../common/remote-names';
import { recordFetched } from '../db/ledger/fetch';
import { loadImport, type ImportRow } from '../db/ledger/row';
import { ftpErrorText, isPermanentFtpError } from '../ftp/ftp';
import type { Stored } from '../store/file-store';
import type { ActivityDeps } from './deps';
import { ftpSession, heartbeatSafe } from './ftp-session';

export async function fetchTransfer(deps: ActivityDeps, { importId }: { importId: number }): Promise<FetchResult> {
  const row = await loadImport(deps.db, importId);
  let sha256 = row.sha256;
  let size = row.size;
  // touch: a garbage collection running meanwhile keeps what this import is about to read.
  if (!sha256 || !(await deps.store.touch(sha256))) ({ sha256, size } = await download(deps, row));
  const duplicateOf = await recordFetched(deps.db, row, sha256, size);
  deps.log.info({ tenant: row.tenant_id, importId, sha256, size, duplicateOf }, 'fetched');
  return { sha256: sha256!, size, duplicateOf };
}

/** Downloads the row's file into the file store, streamed (nothing of it waits in memory or on a local disk): its hash and size. */
async function download(deps: ActivityDeps, row: ImportRow): Promise<Stored> {
  return ftpSession(deps, row.tenant_id, async (c) => {
    // basic-ftp reports every 500 ms whether bytes moved or not: beat only on progress, so a
    // stalled connection runs into the heartbeat timeout and the download is retried.
    let seen = 0;
    c.trackProgress((info) => {
      if (info.bytes > seen) heartbeatSafe({ bytes: (seen = info.bytes) });
    });
    // basic-ftp ends its destination even when the transfer fails: the store reads from a stream
    // of its own that ends only when the download succeeded, so a broken download is never stored.
    const feed = new PassThrough();
    const sink = sinkInto(feed);
    const stored = deps.store.put(feed);
    // A store that fails (the database) stops a download still running; the download's failure is
    // awaited below. The sink's errors reach basic-ftp's pipeline while the data flows; before (a 550
    // on RETR) and after it nobody else listens, and an unheard 'error' would crash the worker.
    let downloading = true;
    sink.on('error', () => undefined);
    feed.on('error', () => undefined); // the store's reading of it reports them (stored rejects)
    stored.catch((e: Error) => {
      if (downloading) sink.destroy(e);
    });
    try {
      await c.downloadTo(sink, row.remote_path);
      downloading = false;
      feed.end();
    } catch (err) {
      downloading = false;
      feed.destroy(err as Error);
      await stored.catch(() => undefined);
      throw await downloadFailure(deps, c, row, err);
    } finally {
      c.trackProgress();
    }
    return stored;
  });
}

/** A writable for basic-ftp that passes bytes on (with backpressure) and ignores its end(). */
function sinkInto(feed: PassThrough): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      if (feed.write(chunk)) cb();
      else feed.once('drain', () => cb());
    },
    final(cb) {
      cb();
    },
  });
}

/** What a failed download becomes: a permanent failure when the server refuses the file for good, else the error (retried). */
async function downloadFailure(deps: ActivityDeps, c: Client, row: ImportRow, err: unknown): Promise<unknown> {
  if (!isPermanentFtpError(err, c)) return err;
  const refused = `the FTP server refuses to send the file (${ftpErrorText(err)})`;
  if (row.replay_of != null && row.sha256) {
    // A replay reads the file store first; only a transfer garbage collection removed comes here.
    const { retentionDays } = deps.cfg.fileStore;
    return permanentFailure(
      `${printableName(row.file_name)}: import ${row.replay_of} cannot be replayed: its transfer (sha256 ${row.sha256}) is no longer in the file store, ` +
        `which keeps transfers for ${retentionDays} days after their last import (fileStore.retentionDays), and ${refused} at ${printableName(row.remote_path)}`,
      'Unreadable',
    );
  }
  return permanentFailure(`${printableName(row.file_name)}: ${refused}; it stays on the server`, 'Unreadable');
}
