/**
 * Heartbeats while a step runs that has no natural progress points (one transaction per chunk):
 * with a heartbeat timeout on its proxy, the chunk of a crashed worker is retried after that
 * timeout instead of its start-to-close timeout. Outside an activity (CLI, tests) it just runs.
 */
import { Context } from '@temporalio/activity';

export async function whileAlive<T>(fn: () => Promise<T>): Promise<T> {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return fn();
  }
  const timeoutMs = ctx.info.heartbeatTimeoutMs;
  if (!timeoutMs) return fn();
  ctx.heartbeat();
  // The SDK throttles heartbeats to the server (to 80 % of the timeout): beating often is cheap.
  const timer = setInterval(() => ctx.heartbeat(), Math.max(250, Math.min(10_000, timeoutMs / 4)));
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/** The same activities, each run under {@link whileAlive}. */
export function keepAlive<T extends Record<string, (...args: never[]) => Promise<unknown>>>(activities: T): T {
  const out: Record<string, unknown> = {};
  for (const [name, fn] of Object.entries(activities)) {
    // Named like the original: the worker registers activities under their property names.
    out[name] = (...args: unknown[]) => whileAlive(() => (fn as (...a: unknown[]) => Promise<unknown>)(...args));
  }
  return out as T;
}
