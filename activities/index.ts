import type { ActivityDeps } from './deps';
import { transferActivities } from './transfers';
import { applyActivities } from './apply';
import { attachmentActivities } from './attachments';
import { mirrorActivities } from './mirror';
import { keepAlive } from './alive';
import { storeActivities } from './store-gc';

export type { ActivityDeps } from './deps';

/** All activities, built from their dependencies (design.md §4). */
export function createActivities(deps: ActivityDeps) {
  // Upsert chunks and attachments heartbeat while they run (no natural progress points in one
  // transaction); fetch and parse heartbeat on their own progress.
  return {
    ...transferActivities(deps),
    ...keepAlive(applyActivities(deps)),
    ...keepAlive(attachmentActivities(deps)),
    ...mirrorActivities(deps),
    ...storeActivities(deps),
  };
}

export type Activities = ReturnType<typeof createActivities>;
