import type { ActivityDeps } from './deps';
import { transferActivities } from './transfers';
import { applyActivities } from './apply';

export type { ActivityDeps } from './deps';

/** All activities, built from their dependencies (design.md §4). */
export function createActivities(deps: ActivityDeps) {
  return { ...transferActivities(deps), ...applyActivities(deps) };
}

export type Activities = ReturnType<typeof createActivities>;
