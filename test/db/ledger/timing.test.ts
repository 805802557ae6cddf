/** db/ledger/timing.ts against real PostgreSQL: what the workers' metrics read about a finished import. */
import { describe, expect, it } from 'vitest';
import { importTenantAndAge } from '../../../db/ledger/timing';
import { anImport, hoursAgo, useMigratedDatabase } from '../../support/database';

describe('db/ledger/timing', () => {
  const ctx = useMigratedDatabase(['timing']);

  it('importTenantAndAge gives the tenant and the seconds since the import started, undefined for an unknown id', async () => {
    const id = await anImport(ctx.db, 'timing', { started_at: hoursAgo(1) });
    const r = await importTenantAndAge(ctx.db, id);
    expect(r?.tenant).toBe('timing');
    expect(r!.seconds).toBeGreaterThanOrEqual(3600);
    expect(r!.seconds).toBeLessThan(3600 + 120);
    expect(await importTenantAndAge(ctx.db, id + 1000)).toBeUndefined();
  });
});
