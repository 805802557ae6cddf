/**
 * A batch's small files run their FTP steps side by side (local activities, which the worker's
 * activity slots do not bound). An FTP server that limits connections per account refuses the one
 * too many with 421; the worker's pool holds at most the tenant's ftp.maxConnections at once, so a
 * batch wider than that limit imports every file without one refused connection or retried step.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@temporalio/client';
import { openDatabase, type Db } from '../../db/db';
import type { AppConfig } from '../../config/config';
import { createTestDatabase, startWorker, temporalClient, uniqueId, type RunningWorker } from '../support/harness';
import { startVsftpd, type Vsftpd } from '../support/vsftpd';
import { batchResult, faultConfig, generateTransfer, startBatch, upload } from '../support/faults';
import { captureLog, type CapturedLog } from '../ops/support';

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
  let ftp: Vsftpd;
  let dbh: { url: string; drop(): Promise<void> };
  let cfg: AppConfig;
  let db: Db;
  let worker: RunningWorker;
  let client: Client;
  let captured: CapturedLog;
  const tenant = uniqueId('ftpcap');

  beforeAll(async () => {
    ftp = await startVsftpd({ maxPerIp: LIMIT });
    dbh = await createTestDatabase();
    cfg = faultConfig({ databaseUrl: dbh.url, tenants: [{ id: tenant, options: { maxConcurrentFiles: FILES } }], ftpPort: ftp.port });
    cfg.tenants[0].ftp.maxConnections = LIMIT;
    db = await openDatabase(cfg, 2);
    captured = captureLog('info');
    worker = await startWorker(cfg, `${tenant}-worker`, { log: captured.log });
    client = await temporalClient();
  });

  afterAll(async () => {
    await worker?.stop();
    await client?.connection.close();
    await db?.destroy();
    await dbh?.drop();
    await ftp?.stop();
  });

  it(`a batch of ${FILES} small files through a server that takes ${LIMIT} connections: all imported, nothing refused or retried`, async () => {
    for (let i = 0; i < FILES; i++) {
      await upload(ftp.port, tenant, `cap-${i}.xml`, generateTransfer({ firstId: 710_000 + i * 10, count: 1 }));
    }
    const summary = await batchResult(await startBatch(client, cfg, tenant));
    expect(summary.files).toBe(FILES);
    expect(summary.imported).toBe(FILES);

    const activities = captured.records().filter((r) => typeof r.activityType === 'string');
    const failed = activities.filter((r) => r.outcome !== 'completed');
    expect(failed.map((r) => `${r.activityType}: ${r.error}`)).toEqual([]);
    expect(activities.filter((r) => r.activityType === 'fetchTransfer' && r.attempt === 1)).toHaveLength(FILES);
    // More FTP steps wanted a connection at once than the server takes (their intervals include the wait).
    const ftpSteps = activities.filter((r) => r.activityType === 'fetchTransfer' || r.activityType === 'finishImport');
    expect(mostAtOnce(ftpSteps.map((r) => [Number(r.time) - Number(r.durationMs), Number(r.time)]))).toBeGreaterThan(LIMIT);
    expect(await db('import_files').where({ tenant_id: tenant, status: 'imported' }).count('* as n').first()).toEqual({ n: FILES });
  });
});
