/**
 * Issue 11, the monitoring wiring of docker-compose.yml, checked without a Docker engine: Prometheus
 * gets the folder with its config and the alert rules, scrapes the worker service on the port the
 * workers serve metrics on (listening beyond loopback), Grafana's provisioning points at the mounted
 * dashboard folder and at the Prometheus service, and every panel of the dashboard uses the
 * provisioned datasource.
 */
import { describe, expect, it } from 'vitest';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { dashboardFile } from './promql-names';

const root = path.resolve(__dirname, '../..');
const yaml = (rel: string) => YAML.parse(fs.readFileSync(path.join(root, rel), 'utf8')) as Record<string, unknown>;

interface Service {
  image?: string;
  command?: string[];
  volumes?: string[];
  environment?: Record<string, string>;
  expose?: string[];
  ports?: string[];
}

const compose = yaml('docker-compose.yml') as { services: Record<string, Service>; volumes: Record<string, unknown> };
/** host path (relative to the repo) → container path, for the bind mounts of a service. */
const binds = (s: Service) =>
  new Map(
    (s.volumes ?? [])
      .filter((v) => v.startsWith('./'))
      .map((v) => {
        const [host, target] = v.split(':');
        return [path.normalize(host), target] as const;
      }),
  );

describe('monitoring in docker-compose.yml', () => {
  it('Prometheus loads prometheus.yml and the rules beside it, and scrapes every worker on its metrics port', () => {
    const p = compose.services.prometheus;
    expect(p.image).toMatch(/^prom\/prometheus:/);
    const target = binds(p).get('deploy/prometheus');
    expect(target).toBe('/etc/prometheus');
    expect(p.command).toContain(`--config.file=${target}/prometheus.yml`);
    const cfg = yaml('deploy/prometheus/prometheus.yml') as {
      rule_files: string[];
      scrape_configs: { job_name: string; dns_sd_configs?: { names: string[]; port: number }[] }[];
    };
    for (const f of cfg.rule_files) expect(fs.existsSync(path.join(root, 'deploy/prometheus', f)), f).toBe(true);
    const job = cfg.scrape_configs.find((j) => j.job_name === 'imv-import-worker')!;
    const [sd] = job.dns_sd_configs!;
    const worker = compose.services[sd.names[0]];
    expect(worker, `service ${sd.names[0]}`).toBeDefined();
    expect(worker.environment?.METRICS_PORT).toBe(String(sd.port));
    expect(worker.environment?.METRICS_HOST).toBe('0.0.0.0');
    expect(worker.expose).toContain(String(sd.port));
    expect(p.ports?.every((x) => x.startsWith('127.0.0.1:'))).toBe(true);
  });

  it('Grafana provisions the Prometheus datasource and the dashboard folder it mounts; every panel uses that datasource', () => {
    const g = compose.services.grafana;
    expect(g.image).toMatch(/^grafana\/grafana:/);
    const mounts = binds(g);
    expect(mounts.get('deploy/grafana/provisioning')).toBe('/etc/grafana/provisioning');
    const provider = (yaml('deploy/grafana/provisioning/dashboards/imv-import.yml') as { providers: { options: { path: string } }[] }).providers[0];
    expect(mounts.get('deploy/grafana/dashboards')).toBe(provider.options.path);
    expect(g.environment?.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH).toBe(`${provider.options.path}/${path.basename(dashboardFile)}`);
    expect(g.environment?.GF_SECURITY_ADMIN_PASSWORD).toBe('${GRAFANA_ADMIN_PASSWORD:-}');

    const [ds] = (yaml('deploy/grafana/provisioning/datasources/prometheus.yml') as { datasources: { uid: string; type: string; url: string }[] }).datasources;
    expect(ds.type).toBe('prometheus');
    const url = new URL(ds.url);
    expect(compose.services[url.hostname]).toBe(compose.services.prometheus);
    expect(compose.services.prometheus.ports?.some((x) => x.endsWith(`:${url.port}`))).toBe(true);

    const dashboard = JSON.parse(fs.readFileSync(dashboardFile, 'utf8')) as {
      uid: string;
      panels: { type: string; datasource?: { uid: string }; targets?: { datasource?: { uid: string } }[] }[];
    };
    const queried = dashboard.panels.filter((p) => p.type !== 'row');
    expect(queried.length).toBeGreaterThan(10);
    for (const p of queried) {
      expect(p.datasource?.uid).toBe(ds.uid);
      for (const t of p.targets ?? []) expect(t.datasource?.uid).toBe(ds.uid);
    }
    expect(compose.volumes).toHaveProperty('grafanadata');
    expect(compose.volumes).toHaveProperty('promdata');
  });
});
