/**
 * Short, human-sized error messages for the CLI and ops logs. knex prefixes a database error's
 * message with the whole SQL statement (a 65,535-id IN list is 1.6 MB); ops need the PostgreSQL
 * error code and its own message. The full detail belongs in the debug log only.
 */

import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure } from '@temporalio/common';

export const MAX_MESSAGE_CHARS = 300;

interface PgLikeError extends Error {
  code?: unknown;
  severity?: unknown;
  errors?: unknown;
}

/** A PostgreSQL server error (pg's DatabaseError, also when knex has rewritten its message). */
export function isDatabaseError(e: unknown): e is PgLikeError & { code: string } {
  const err = e as PgLikeError;
  return !!err && typeof err === 'object' && typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code) && typeof err.severity === 'string';
}

function truncate(s: string, max = MAX_MESSAGE_CHARS): string {
  const one = s.replace(/\s+/g, ' ').trim();
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/**
 * PostgreSQL's own message without the statement knex put in front of it (`<sql> - <message>`).
 * The statement may itself contain " - ", so the message is what follows the last one.
 */
export function databaseMessage(e: PgLikeError): string {
  const msg = String(e.message ?? '');
  const i = msg.lastIndexOf(' - ');
  return i >= 0 ? msg.slice(i + 3) : msg;
}

/**
 * A failed workflow says only "Workflow execution failed": what failed is at the end of its cause
 * chain (an activity and its error). Named here: "workflow failed: activity listTransfers: …".
 */
function workflowFailure(e: WorkflowFailedError): string {
  let cause: unknown = e.cause;
  let activity: string | null = null;
  let last: Error | null = null;
  for (let depth = 0; cause instanceof Error && depth < 10; depth++) {
    if (cause instanceof ActivityFailure) activity = cause.activityType;
    else last = cause;
    cause = (cause as { cause?: unknown }).cause;
  }
  return `workflow failed${activity ? `: activity ${activity}` : ''}: ${last ? shortErrorMessage(last) : e.message}`;
}

/** One line, at most a few hundred characters, never a SQL statement. */
export function shortErrorMessage(e: unknown): string {
  if (e instanceof WorkflowFailedError) return truncate(workflowFailure(e));
  if (isDatabaseError(e)) return truncate(`database error ${e.code}: ${databaseMessage(e)}`);
  const err = e as PgLikeError & { code?: unknown };
  let msg = err && typeof err === 'object' ? String(err.message ?? '') : String(e);
  // Node's AggregateError (e.g. ECONNREFUSED on ::1 and 127.0.0.1) has an empty message.
  if (!msg && Array.isArray(err?.errors))
    msg = (err.errors as Error[])
      .map((x) => x?.message)
      .filter(Boolean)
      .join('; ');
  if (!msg && typeof err?.code === 'string') msg = err.code;
  if (!msg) msg = err?.name ?? 'unknown error';
  // Any other knex error carries the statement the same way: keep what follows it.
  if (/^\s*(select|insert|update|delete|with|create|alter|drop)\s/i.test(msg) && msg.includes(' - ')) msg = msg.slice(msg.lastIndexOf(' - ') + 3);
  return truncate(msg);
}
