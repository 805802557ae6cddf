import type { ActivityDeps } from './deps';
import { transferActivities } from './transfers';
import { applyActivities } from './apply';
import { attachmentActivities } from './attachments';
import { mirrorActivities } from './mirror';

export type { ActivityDeps } from './deps';

/** All activities, built from their dependencies (design.md §4). */
export function createActivities(deps: ActivityDeps) {
  return { ...transferActivities(deps), ...applyActivities(deps), ...attachmentActivities(deps), ...mirrorActivities(deps) };
}

export type Activities = ReturnType<typeof createActivities>;
