/**
 * Issue 11: the alert rules (deploy/prometheus/alerts.yml) and the Grafana dashboard
 * (deploy/grafana/dashboards/imv-import.json) query only metrics a real worker exports. A worker with
 * its metrics endpoint imports a good file and a broken one on the test stack (Temporal, PostgreSQL,
 * vsftpd), its periodic database check runs, and one scrape of its /metrics must carry every metric
 * name parsed from the rules' and the dashboard's PromQL. The inbox gauges carry what the batch listed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import { ensureSchedule } from '../../ops/schedule';
import { triggerBatch } from '../../ops/batches';
import { startStuckImportsWatch, startTelemetry } from '../../workers/main';
import { fixturesDir, quietLog, uniqueId, uploadTo, usePipeline, type RunningWorker } from '../support/harness';
import { parsePrometheus, valueOf } from './support';
import { dashboardExpressions, metricNamesOf, readRules, recordedNames } from './promql-names';

describe('metrics used by the alert rules and the dashboard', () => {
  const tenant = uniqueId('names');
  // The worker starts once the telemetry (the runtime with its exporter) is installed.
  const ctx = usePipeline({ tenants: [{ id: tenant, options: { schedule: { intervalMinutes: 20 } } }], identities: [] });
  let telemetry: Awaited<ReturnType<typeof startTelemetry>>;
  let worker: RunningWorker;

  beforeAll(async () => {
    delete process.env.METRICS_HOST;
    telemetry = await startTelemetry(ctx.cfg, { port: 0, log: quietLog, sdkLogLevel: 'ERROR' });
    worker = await ctx.startWorker('worker-metric-names');
    await ensureSchedule(ctx.client, ctx.cfg, ctx.cfg.tenants[0]);
  });

  afterAll(async () => {
    await telemetry?.close();
  });

  it('exist on the /metrics of a worker that imported a batch', async () => {
    await uploadTo(tenant, 'full-object.xml', fs.readFileSync(path.join(fixturesDir, 'openimmo', 'full-object.xml')));
    await uploadTo(tenant, 'broken.xml', '<?xml version="1.0"?><openimmo><anbieter><immobilie><geo>');
    const startedAt = Date.now() / 1000;
    const summary = await triggerBatch(ctx.client, tenant).then((r) => r.result());
    expect(summary).toMatchObject({ files: 2, failed: 1 });
    const watch = startStuckImportsWatch(ctx.cfg, worker.handle.db, { log: quietLog, env: {} });
    try {
      await watch.check();
    } finally {
      watch.stop();
    }

    const res = await fetch(telemetry.metrics!.url);
    expect(res.status).toBe(200);
    const samples = parsePrometheus(await res.text());
    const exported = new Set(samples.map((s) => s.name));

    const rules = readRules();
    const fromRules = rules.groups.flatMap((g) => g.rules.flatMap((r) => metricNamesOf(r.expr)));
    const fromDashboard = dashboardExpressions().flatMap(metricNamesOf);
    const recorded = recordedNames(rules);
    const used = [...new Set([...fromRules, ...fromDashboard])].filter((n) => !recorded.has(n)).sort();
    // The parse found the rules' and the dashboard's names (not an empty list that passes anything).
    expect(fromRules).toContain('imv_import_inbox_listed_timestamp_seconds');
    expect(fromDashboard).toContain('temporal_worker_task_slots_available');
    expect(used.length).toBeGreaterThan(10);
    expect(used.filter((n) => !exported.has(n))).toEqual([]);

    // The inbox gauges say what the batch saw: two waiting files, listed during this test, the tenant's interval.
    const listed = valueOf(samples, 'imv_import_inbox_listed_timestamp_seconds', { tenant })!;
    expect(listed).toBeGreaterThanOrEqual(Math.floor(startedAt) - 5);
    expect(listed).toBeLessThanOrEqual(Date.now() / 1000 + 5);
    expect(valueOf(samples, 'imv_import_inbox_files', { tenant })).toBe(2);
    expect(valueOf(samples, 'imv_import_inbox_oldest_file_age_seconds', { tenant })).toBeGreaterThanOrEqual(0);
    expect(valueOf(samples, 'imv_import_schedule_interval_seconds', { tenant })).toBe(1200);
    expect(valueOf(samples, 'imv_import_files_total', { tenant, outcome: 'failed' })).toBe(1);
    expect(valueOf(samples, 'imv_import_files_total', { tenant, outcome: 'error' })).toBe(0);
    expect(valueOf(samples, 'imv_import_activity_retries_total', { activity_type: 'fetchTransfer' })).toBe(0);
    expect(samples.some((s) => s.name === 'temporal_num_pollers' && s.labels.poller_type === 'activity_task' && s.value > 0)).toBe(true);
  });
});
