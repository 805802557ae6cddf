/**
 * Prometheus metrics on one port: a worker with a metrics endpoint imports a good IMV transfer and a
 * malformed file; one scrape of /metrics shows the SDK's runtime metrics (temporal_*) and the
 * app's counters (files, objects, durations, activity failures) with the values of that import.
 * The endpoint listens on 127.0.0.1 unless METRICS_HOST opens it; the stuck-imports gauge is set by
 * the worker's periodic check.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import type { AppConfig } from '../../config/config';
import { triggerBatch } from '../../ops/batches';
import { Registry } from 'prom-client';
import { startStuckImportsWatch, startTelemetry } from '../../workers/main';
import { metricsHostOf, startMetricsServer } from '../../workers/metrics';
import { fixturesDir, quietLog, uniqueId, uploadTo, usePipeline, type RunningWorker } from '../support/harness';
import { captureLog, parsePrometheus, valueOf, type Sample } from './support';

describe('worker metrics endpoint', () => {
  const tenant = uniqueId('metrics');
  // No worker from the harness: the runtime (with the SDK's exporter on loopback) must be installed before one.
  const pipeline = usePipeline({ tenants: [{ id: tenant }], identities: [], schedules: true });
  let cfg: AppConfig;
  let telemetry: Awaited<ReturnType<typeof startTelemetry>>;
  let worker: RunningWorker;
  let client: Client;

  beforeAll(async () => {
    ({ cfg, client } = pipeline);
    // No host given and METRICS_HOST unset: the default must be loopback (the endpoint has no authentication).
    delete process.env.METRICS_HOST;
    telemetry = await startTelemetry(cfg, { port: 0, log: quietLog, sdkLogLevel: 'ERROR' });
    worker = await pipeline.startWorker('worker-metrics');
  });

  afterAll(async () => {
    await telemetry?.close();
  });

  async function scrape(): Promise<{ text: string; samples: Sample[] }> {
    const res = await fetch(telemetry.metrics!.url);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    return { text, samples: parsePrometheus(text) };
  }

  it('listens on 127.0.0.1 by default and shows the real host in its URL; METRICS_HOST opens it on purpose', async () => {
    expect(telemetry.metrics!.host).toBe('127.0.0.1');
    expect(telemetry.metrics!.url).toBe(`http://127.0.0.1:${telemetry.metrics!.port}/metrics`);

    expect(metricsHostOf({})).toBe('127.0.0.1');
    expect(metricsHostOf({ METRICS_HOST: '0.0.0.0' })).toBe('0.0.0.0');
    const plain = await startMetricsServer({ port: 0, registry: new Registry() });
    const open = await startMetricsServer({ port: 0, host: metricsHostOf({ METRICS_HOST: '0.0.0.0' }), registry: new Registry() });
    try {
      expect(plain.host).toBe('127.0.0.1');
      expect(open.host).toBe('0.0.0.0');
      expect(open.url).toBe(`http://0.0.0.0:${open.port}/metrics`);
      expect((await fetch(`http://127.0.0.1:${open.port}/healthz`)).status).toBe(200);
    } finally {
      await plain.close();
      await open.close();
    }
  });

  it('serves the SDK runtime metrics and the import counters on one port', async () => {
    expect(telemetry.metrics).not.toBeNull();
    await uploadTo(tenant, 'imv-flat-1001.xml', fs.readFileSync(path.join(fixturesDir, 'transfers', 'imv-flat-1001.xml')));
    await uploadTo(tenant, 'broken.xml', '<?xml version="1.0"?><openimmo><anbieter><immobilie><geo>');
    const run = await triggerBatch(client, tenant);
    const summary = await run.result();
    expect(summary).toMatchObject({ files: 2, imported: 1, failed: 1 });

    const { text, samples } = await scrape();

    // The SDK's own metrics, appended from its internal exporter.
    const sdkNames = new Set(samples.filter((s) => s.name.startsWith('temporal_')).map((s) => s.name));
    expect(sdkNames.size).toBeGreaterThan(5);
    expect([...sdkNames].some((n) => n.startsWith('temporal_activity_execution_latency'))).toBe(true);
    expect([...sdkNames].some((n) => n.startsWith('temporal_workflow_completed'))).toBe(true);
    expect(samples.some((s) => s.name.startsWith('temporal_') && s.labels.task_queue === cfg.temporal.taskQueue)).toBe(true);
    // … and prom-client's process metrics, once each (no duplicate families from the two sources).
    expect(valueOf(samples, 'process_cpu_user_seconds_total')).toBeGreaterThan(0);
    const families = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
    expect(families.length).toBe(new Set(families).size);

    // Files by tenant and outcome.
    expect(valueOf(samples, 'imv_import_files_total', { tenant, outcome: 'imported' })).toBe(1);
    expect(valueOf(samples, 'imv_import_files_total', { tenant, outcome: 'failed' })).toBe(1);
    expect(valueOf(samples, 'imv_import_files_total', { tenant, outcome: 'partial' })).toBeUndefined();

    // Objects by tenant and outcome: the transfer carries one new estate.
    expect(valueOf(samples, 'imv_import_objects_total', { tenant, outcome: 'created' })).toBe(1);
    for (const outcome of ['updated', 'unchanged', 'archived', 'stale', 'rejected']) {
      expect(valueOf(samples, 'imv_import_objects_total', { tenant, outcome })).toBe(0);
    }

    // File import duration, one observation per file.
    expect(valueOf(samples, 'imv_import_file_duration_seconds_count', { tenant, outcome: 'imported' })).toBe(1);
    expect(valueOf(samples, 'imv_import_file_duration_seconds_count', { tenant, outcome: 'failed' })).toBe(1);
    expect(valueOf(samples, 'imv_import_file_duration_seconds_sum', { tenant, outcome: 'imported' })).toBeGreaterThan(0);

    // Activity durations and failures by type.
    const act = (activity_type: string, outcome: string) => valueOf(samples, 'imv_import_activity_duration_seconds_count', { activity_type, outcome });
    expect(act('listTransfers', 'completed')).toBe(1);
    expect(act('beginImport', 'completed')).toBe(2);
    expect(act('fetchTransfer', 'completed')).toBe(2);
    expect(act('parseTransfer', 'completed')).toBe(1);
    expect(act('parseTransfer', 'failed')).toBe(1);
    expect(act('upsertEstates', 'completed')).toBe(1);
    expect(act('finishImport', 'completed')).toBe(2);
    expect(valueOf(samples, 'imv_import_activity_failures_total', { activity_type: 'parseTransfer', error_type: 'MalformedXml' })).toBe(1);
    expect(samples.filter((s) => s.name === 'imv_import_activity_failures_total').reduce((n, s) => n + s.value, 0)).toBe(1);

    // Labels are ids and outcomes only: no file names, no paths.
    const appLabels = samples.filter((s) => s.name.startsWith('imv_import_')).flatMap((s) => Object.values(s.labels));
    expect(appLabels.some((v) => v.includes('.xml') || v.includes('/'))).toBe(false);

    // Other paths are not the metrics.
    const other = await fetch(telemetry.metrics!.url.replace('/metrics', '/'));
    expect(other.status).toBe(404);
  });
  it('imv_import_stuck_imports{tenant}: the check of the worker counts imports importing beyond the limit and logs their ids', async () => {
    const db = worker.handle.db;
    const insert = async (file: string, ago: string) =>
      (
        await db('import_files')
          .insert({
            tenant_id: tenant,
            remote_path: `/${tenant}/${file}`,
            file_name: file,
            size: 1,
            mtime: new Date(),
            status: 'importing',
            workflow_id: uniqueId(`import-file/${tenant}/x/${file}`),
            started_at: db.raw(`now() - interval '${ago}'`),
          })
          .returning('id')
      )[0].id as number;
    const stuck = await insert('hangs.xml', '3 hours');
    await insert('young.xml', '5 minutes');
    const captured = captureLog('debug');
    const watch = startStuckImportsWatch(cfg, db, { log: captured.log, env: {} });
    try {
      await watch.ready; // the check at start
      expect((await watch.check()).map((r) => r.id)).toEqual([stuck]);
      const { samples } = await scrape();
      expect(valueOf(samples, 'imv_import_stuck_imports', { tenant })).toBe(1);
      const warnings = captured.records().filter((r) => r.level === 40 && r.component === 'stuck-imports');
      expect(warnings).toHaveLength(2);
      expect(warnings[0]).toMatchObject({ stuckImports: 1, importIds: [stuck], stuckAfterSeconds: 7200 });

      // The limit from the config file (worker.stuckAfter), unless IMV_STUCK_AFTER is set.
      for (const [stuckAfter, env, expected] of [
        ['4h', {}, []],
        ['4h', { IMV_STUCK_AFTER: '1h' }, [stuck]],
      ] as const) {
        const other = startStuckImportsWatch({ ...cfg, worker: { ...cfg.worker, stuckAfter } }, db, { log: quietLog, env });
        try {
          await other.ready;
          expect((await other.check()).map((r) => r.id)).toEqual(expected);
        } finally {
          other.stop();
        }
      }

      // Once it is finished, the next check sets the gauge back to 0 and says nothing.
      await db('import_files').where({ id: stuck }).update({ status: 'failed', finished_at: db.fn.now() });
      const before = captured.records().length;
      expect(await watch.check()).toEqual([]);
      expect(valueOf((await scrape()).samples, 'imv_import_stuck_imports', { tenant })).toBe(0);
      expect(captured.records().length).toBe(before);
    } finally {
      watch.stop();
    }
  });
});
