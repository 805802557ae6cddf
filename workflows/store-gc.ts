/**
 * StoreGc: the file store's garbage collection as one heartbeating activity, started by the
 * `imv-import:store-gc` schedule (ops/schedule.ts). Any worker may run it: the store is the one the
 * worker is configured with (the shared PostgreSQL store, or the directory it mounts).
 */
import { proxyActivities, setWorkflowOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { GcResult } from '../store/gc';
import { versioningBehavior } from './versioning';

const { collectStoreGarbage } = proxyActivities<Activities>({
  startToCloseTimeout: '6h',
  heartbeatTimeout: '5m',
  retry: { maximumAttempts: 3, initialInterval: '1m' },
});

/**
 * Worker Versioning (docs/design.md §7): PINNED, like the others. Its code is one activity, but an
 * AUTO_UPGRADE run would replay its history on whatever build is current; pinned, it finishes on its
 * own build (the old workers stay up until their version is drained), and the next firing of the
 * schedule starts on the current one.
 */
setWorkflowOptions(versioningBehavior('PINNED'), storeGc);

export async function storeGc(input: { dryRun?: boolean } = {}): Promise<GcResult> {
  return collectStoreGarbage({ dryRun: input.dryRun });
}
