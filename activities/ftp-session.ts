/** FTP connections for activities: the tenant's access, a pooled session that Temporal's cancellation closes. */
import { Context } from '@temporalio/activity';
import type { Client } from 'basic-ftp';
import { ftpAccessOf, tenantOf, type FtpAccess } from '../config/config';
import { connect } from '../ftp/ftp';
import type { ActivityDeps } from './deps';

export function accessFor(deps: ActivityDeps, tenant: string): FtpAccess {
  return ftpAccessOf(tenantOf(deps.cfg, tenant), deps.env);
}

/**
 * Runs an FTP operation on a connection of the worker's pool (or a new one without a pool), closing
 * the connection when Temporal cancels the activity.
 */
export async function ftpSession<T>(deps: ActivityDeps, tenant: string, fn: (c: Client) => Promise<T>): Promise<T> {
  let signal: AbortSignal | undefined;
  try {
    signal = Context.current().cancellationSignal;
  } catch {
    signal = undefined; // called outside an activity (CLI)
  }
  if (deps.ftpPool) return deps.ftpPool.use(accessFor(deps, tenant), fn, signal);
  const client = await connect(accessFor(deps, tenant), { timeoutMs: deps.ftpTimeoutMs });
  const onAbort = () => client.close();
  signal?.addEventListener('abort', onAbort);
  try {
    return await fn(client);
  } finally {
    signal?.removeEventListener('abort', onAbort);
    client.close();
  }
}

/** A heartbeat with progress details; nothing outside an activity or in a local activity. */
export function heartbeatSafe(details: unknown): void {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return; // not inside an activity (CLI use)
  }
  // A local activity (a small file's step) has no heartbeats: its worker runs the workflow too.
  if (!ctx.info.isLocal) ctx.heartbeat(details);
}
