/** The undisturbed run a fault test compares its disturbed run with. */
import { expect } from 'vitest';
import { dbState, type DbState } from './db-state';
import { sharedFtpPort, upload } from './ftp';
import { openPipeline, uniqueId } from './harness';

export interface TransferFile {
  name: string;
  content: Buffer;
}

/**
 * The undisturbed run: `files` imported by one batch (or `batches`, one after the other) into a
 * fresh database, with an in-process worker and nothing injected. Returns the normalized state to
 * compare a disturbed run with. Files of one batch run concurrently: give them disjoint objects.
 */
export async function referenceRun(files: TransferFile[] | TransferFile[][], tenantOptions: Record<string, unknown> = {}): Promise<DbState> {
  const batches = (Array.isArray(files[0]) ? files : [files]) as TransferFile[][];
  const tenant = uniqueId('ref');
  const p = await openPipeline({ tenants: [{ id: tenant, options: tenantOptions }], faults: true, identities: [`${tenant}-worker`], poolMax: 2 });
  try {
    for (const batch of batches) {
      for (const f of batch) await upload(sharedFtpPort(), tenant, f.name, f.content);
      const summary = await p.batch(tenant);
      expect(summary.files).toBe(batch.length);
    }
    return await dbState(p.db, tenant);
  } finally {
    await p.close();
  }
}
