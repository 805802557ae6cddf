/**
 * StoreGc: the file store's garbage collection as one heartbeating activity, started by the
 * `imv-import:store-gc` schedule (ops/schedule.ts). Any worker may run it: the store is the one the
 * worker is configured with (the shared PostgreSQL store, or the directory it mounts).
 */
import { proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities';
import type { GcResult } from '../store/gc';

const { collectStoreGarbage } = proxyActivities<Activities>({
  startToCloseTimeout: '6h',
  heartbeatTimeout: '5m',
  retry: { maximumAttempts: 3, initialInterval: '1m' },
});

export async function storeGc(input: { dryRun?: boolean } = {}): Promise<GcResult> {
  return collectStoreGarbage({ dryRun: input.dryRun });
}
