/** collectStoreGarbage: the file store's garbage collection (store/gc.ts), run by the store-gc schedule. */
import type { GcResult } from '../store/gc';
import { collectGarbage } from '../store/gc';
import type { ActivityDeps } from './deps';
import { heartbeatSafe } from './ftp-session';

export function storeActivities(deps: ActivityDeps) {
  return {
    async collectStoreGarbage(input: { dryRun?: boolean } = {}): Promise<GcResult> {
      const { retentionDays } = deps.cfg.fileStore;
      const result = await collectGarbage(deps.db, deps.store, { retentionDays, dryRun: input.dryRun, onProgress: (examined) => heartbeatSafe({ examined }) });
      deps.log.info({ store: deps.store.kind, retentionDays, ...result }, 'file store garbage collected');
      return result;
    },
  };
}
