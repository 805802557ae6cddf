/**
 * Prometheus metrics of a worker process, served on ONE port (`metricsPort` / METRICS_PORT):
 * the application's counters and histograms (prom-client, fed by the activity interceptor) and,
 * appended to the same scrape, the Temporal SDK's runtime metrics, whose exporter listens on an
 * internal loopback port only. Labels are tenant ids, outcomes and activity types: never file
 * contents, names of people or anything else a transfer carries.
 *
 * The alert rules (deploy/prometheus/alerts.yml) and the Grafana dashboard use these names; a test
 * (test/ops/metric-names.test.ts) fails when one they query is not served. Gauges read from the
 * database (stuck imports, the inbox state) are set by the worker's periodic check (workers/main.ts).
 *
 * The endpoint has no authentication: it listens on 127.0.0.1 unless METRICS_HOST opens it on purpose
 * (0.0.0.0 in a container network where Prometheus scrapes it).
 */
import type { AddressInfo } from 'node:net';
import { freePort } from '../common/net';
import http from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Logger } from '../common/logger';
import type { TenantConfig } from '../config/config';

export const OBJECT_OUTCOMES = ['created', 'updated', 'unchanged', 'archived', 'stale', 'rejected'] as const;

export interface AppMetrics {
  registry: Registry;
  /** Files finished, by tenant and outcome (imported, partial, failed, duplicate, error). */
  files: Counter<'tenant' | 'outcome'>;
  /** Objects applied, by tenant and outcome (created, updated, unchanged, archived, stale, rejected). */
  objects: Counter<'tenant' | 'outcome'>;
  /** From the ledger row's start (beginImport) to the end of finishImport, by tenant and outcome. */
  fileDuration: Histogram<'tenant' | 'outcome'>;
  /** Every activity attempt, by type and outcome (completed, failed, cancelled). */
  activityDuration: Histogram<'activity_type' | 'outcome'>;
  /** Failed activity attempts, by type and error type (the ApplicationFailure type or error class). */
  activityFailures: Counter<'activity_type' | 'error_type'>;
  /** Ledger rows in status importing for longer than the stuck limit, by tenant (set by the worker's periodic check). */
  stuckImports: Gauge<'tenant'>;
  /** Activity attempts after the first (a retry started), by type. */
  activityRetries: Counter<'activity_type'>;
  /** When a batch last listed the tenant's inbox (before the first listing: since when the tenant is watched), Unix seconds. */
  inboxListed: Gauge<'tenant'>;
  /** Finished uploads waiting in the inbox at the last listing. */
  inboxFiles: Gauge<'tenant'>;
  /** How long the oldest of them had been waiting when it was listed, seconds. */
  inboxOldestWait: Gauge<'tenant'>;
  /** The tenant's schedule interval from the configuration, seconds: alert rules measure "two intervals" with it. */
  scheduleInterval: Gauge<'tenant'>;
}

/** File outcomes as the interceptor counts them (finishImport's and markImportError's). */
export const FILE_OUTCOMES = ['imported', 'partial', 'failed', 'duplicate', 'error'] as const;

export function createAppMetrics(registry = new Registry(), o: { defaultMetrics?: boolean } = {}): AppMetrics {
  if (o.defaultMetrics ?? true) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,
    files: new Counter({
      name: 'imv_import_files_total',
      help: 'Transfer files finished, by tenant and outcome (imported, partial, failed, duplicate, error)',
      labelNames: ['tenant', 'outcome'],
      registers,
    }),
    objects: new Counter({
      name: 'imv_import_objects_total',
      help: 'Objects of imported files, by tenant and outcome (created, updated, unchanged, archived, stale, rejected)',
      labelNames: ['tenant', 'outcome'],
      registers,
    }),
    fileDuration: new Histogram({
      name: 'imv_import_file_duration_seconds',
      help: 'Duration of a file import, from opening its ledger row to its archive on FTP, by tenant and outcome',
      labelNames: ['tenant', 'outcome'],
      buckets: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600],
      registers,
    }),
    activityDuration: new Histogram({
      name: 'imv_import_activity_duration_seconds',
      help: 'Duration of one activity attempt, by activity type and outcome (completed, failed, cancelled)',
      labelNames: ['activity_type', 'outcome'],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800],
      registers,
    }),
    activityFailures: new Counter({
      name: 'imv_import_activity_failures_total',
      help: 'Failed activity attempts, by activity type and error type',
      labelNames: ['activity_type', 'error_type'],
      registers,
    }),
    stuckImports: new Gauge({
      name: 'imv_import_stuck_imports',
      help: 'Imports stuck in status importing for longer than the limit (IMV_STUCK_AFTER, default 2h), by tenant; checked at worker start and every 5 minutes',
      labelNames: ['tenant'],
      registers,
    }),
    activityRetries: new Counter({
      name: 'imv_import_activity_retries_total',
      help: 'Activity attempts after the first (retries started), by activity type',
      labelNames: ['activity_type'],
      registers,
    }),
    inboxListed: new Gauge({
      name: 'imv_import_inbox_listed_timestamp_seconds',
      help: "When a batch last listed the tenant's inbox (before its first listing: since when the tenant is watched), Unix time; from the database, checked with the stuck imports",
      labelNames: ['tenant'],
      registers,
    }),
    inboxFiles: new Gauge({
      name: 'imv_import_inbox_files',
      help: "Finished uploads waiting in the tenant's inbox at its last listing",
      labelNames: ['tenant'],
      registers,
    }),
    inboxOldestWait: new Gauge({
      name: 'imv_import_inbox_oldest_file_age_seconds',
      help: "How long the oldest finished upload in the tenant's inbox had been waiting at its last listing, seconds",
      labelNames: ['tenant'],
      registers,
    }),
    scheduleInterval: new Gauge({
      name: 'imv_import_schedule_interval_seconds',
      help: "The tenant's import schedule interval from the configuration, seconds",
      labelNames: ['tenant'],
      registers,
    }),
  };
}

/**
 * Creates every tenant's file-outcome series at 0, so the first failed file after a worker starts is
 * an increase Prometheus can see (a series that appears at 1 has no increase to `increase()`), and
 * sets each tenant's schedule interval.
 */
export function initTenantSeries(m: AppMetrics, tenants: TenantConfig[]): void {
  for (const t of tenants) {
    for (const outcome of FILE_OUTCOMES) m.files.inc({ tenant: t.id, outcome }, 0);
    m.scheduleInterval.set({ tenant: t.id }, t.options.schedule.intervalMinutes * 60);
  }
}

let shared: AppMetrics | null = null;
/** The process's metrics: one registry per process, shared by all workers in it. */
export function appMetrics(): AppMetrics {
  shared ??= createAppMetrics();
  return shared;
}

/** A free TCP port on loopback (for the SDK's internal exporter). */
export const freeLoopbackPort = freePort;

export const DEFAULT_METRICS_HOST = '127.0.0.1';

/** Where the endpoint listens: METRICS_HOST, else loopback only (it has no authentication). */
export function metricsHostOf(env: NodeJS.ProcessEnv = process.env): string {
  return env.METRICS_HOST?.trim() || DEFAULT_METRICS_HOST;
}

export interface MetricsServer {
  /** The address it listens on, as bound (0.0.0.0 = every interface). */
  host: string;
  port: number;
  /** http://<host>:<port>/metrics with the real host. */
  url: string;
  close(): Promise<void>;
}

export interface MetricsServerOptions {
  /** 0 picks a free port (tests). */
  port: number;
  /** Default 127.0.0.1 (see metricsHostOf). */
  host?: string;
  registry?: Registry;
  /** The SDK's internal Prometheus exporter (`http://127.0.0.1:<port>/metrics`), appended to each scrape. */
  sdkMetricsUrl?: string | null;
  log?: Logger;
}

async function scrapeSdk(url: string): Promise<string> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`SDK metrics exporter answered ${res.status}`);
  return res.text();
}

/** The one `/metrics` endpoint: the app's registry, then the SDK's exposition. */
export async function renderMetrics(registry: Registry, sdkMetricsUrl?: string | null, log?: Logger): Promise<string> {
  const app = await registry.metrics();
  if (!sdkMetricsUrl) return app;
  let sdk: string;
  try {
    sdk = await scrapeSdk(sdkMetricsUrl);
  } catch (e) {
    // The app's metrics are still worth a scrape; the gap shows up as missing temporal_* series.
    log?.warn({ err: (e as Error).message }, 'SDK metrics exporter not reachable');
    return app;
  }
  return `${app.replace(/\n*$/, '\n')}${sdk}`;
}

export async function startMetricsServer(o: MetricsServerOptions): Promise<MetricsServer> {
  const registry = o.registry ?? appMetrics().registry;
  const host = o.host ?? DEFAULT_METRICS_HOST;
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405).end();
      return;
    }
    if (path === '/healthz') {
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('see /metrics\n');
      return;
    }
    renderMetrics(registry, o.sdkMetricsUrl, o.log).then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(req.method === 'HEAD' ? undefined : body),
      (e) => {
        o.log?.error({ err: (e as Error).message }, 'metrics scrape failed');
        res.writeHead(500, { 'content-type': 'text/plain' }).end('metrics unavailable\n');
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const port = bound.port;
  return {
    host: bound.address,
    port,
    url: `http://${bound.address.includes(':') ? `[${bound.address}]` : bound.address}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
