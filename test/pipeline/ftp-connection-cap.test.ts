/**
 * A batch's small files run their FTP steps side by side (local activities, which the worker's
 * activity slots do not bound). An FTP server that limits connections per account refuses the one
 * too many with 421; the worker's pool holds at most the tenant's ftp.maxConnections at once, so a
 * batch wider than that limit imports every file without one refused connection or retried step.
 */
import { describe, expect, it } from 'vitest';
import { upload } from '../support/ftp';
import { generateTransfer } from '../support/generated-transfers';
import { uniqueId, usePipeline } from '../support/harness';
import { captureLog } from '../ops/support';

const LIMIT = 2;

/** The most intervals [start, end) that overlap at one moment. */
function mostAtOnce(intervals: [number, number][]): number {
  const edges = intervals.flatMap(([a, b]): [number, number][] => [
    [a, 1],
    [b, -1],
  ]);
  edges.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let open = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (open += d));
  return most;
}
const FILES = 12;

describe('FTP connections per account', () => {
  const tenant = uniqueId('ftpcap');
  const captured = captureLog('info');
  const ctx = usePipeline({
    tenants: [{ id: tenant, options: { maxConcurrentFiles: FILES }, maxConnections: LIMIT }],
    ftp: { vsftpd: { maxPerIp: LIMIT } },
    faults: true,
    identities: [`${tenant}-worker`],
    workerOptions: { log: captured.log },
    poolMax: 2,
  });

  it(`a batch of ${FILES} small files through a server that takes ${LIMIT} connections: all imported, nothing refused or retried`, async () => {
    for (let i = 0; i < FILES; i++) {
      await upload(ctx.ftp().port, tenant, `cap-${i}.xml`, generateTransfer({ firstId: 710_000 + i * 10, count: 1 }));
    }
    const summary = await ctx.batch(tenant);
    expect(summary.files).toBe(FILES);
    expect(summary.imported).toBe(FILES);

    const activities = captured.records().filter((r) => typeof r.activityType === 'string');
    const failed = activities.filter((r) => r.outcome !== 'completed');
    expect(failed.map((r) => `${r.activityType}: ${r.error}`)).toEqual([]);
    expect(activities.filter((r) => r.activityType === 'fetchTransfer' && r.attempt === 1)).toHaveLength(FILES);
    // More FTP steps wanted a connection at once than the server takes (their intervals include the wait).
    const ftpSteps = activities.filter((r) => r.activityType === 'fetchTransfer' || r.activityType === 'finishImport');
    expect(mostAtOnce(ftpSteps.map((r) => [Number(r.time) - Number(r.durationMs), Number(r.time)]))).toBeGreaterThan(LIMIT);
    expect(await ctx.db('import_files').where({ tenant_id: tenant, status: 'imported' }).count('* as n').first()).toEqual({ n: FILES });
  });
});
