/**
 * Issue 11, alert rules (deploy/prometheus/alerts.yml): promtool (Debian's prometheus package,
 * installed by scripts/install-test-deps.sh) checks them and runs their unit tests
 * (deploy/prometheus/alerts.test.yml). Every alert has a case where it fires and one where it stays
 * quiet, and a rule weakened on purpose makes the unit tests fail: they can catch a wrong rule.
 * That the metrics the rules use exist on a real worker is test/ops/metric-names.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { metricNamesOf, readRules, rulesFile, rulesTestFile } from './promql-names';

const PROMTOOL = process.env.PROMTOOL_PATH ?? 'promtool';

function promtool(...args: string[]): { code: number; out: string } {
  const r = spawnSync(PROMTOOL, args, { encoding: 'utf8' });
  if (r.error) throw new Error(`${PROMTOOL} not runnable (${r.error.message}): run scripts/install-test-deps.sh (apt-get install prometheus)`);
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

interface RuleTests {
  rule_files: string[];
  tests: { alert_rule_test?: { alertname: string; exp_alerts?: unknown[] }[] }[];
}

const alertNames = () => readRules().groups.flatMap((g) => g.rules.flatMap((r) => (r.alert ? [r.alert] : [])));

describe('Prometheus alert rules', () => {
  it('cover what ops must hear about, on metrics the rules parse to', () => {
    expect(alertNames().sort()).toEqual(
      [
        'ImvImportActivityRetriesClimbing',
        'ImvImportFilesFailed',
        'ImvImportFilesPartial',
        'ImvImportInboxBacklog',
        'ImvImportNoSuccessfulBatch',
        'ImvImportNoWorkerPolling',
        'ImvImportStuckImports',
      ].sort(),
    );
    for (const g of readRules().groups) for (const r of g.rules) expect(metricNamesOf(r.expr).length, r.alert).toBeGreaterThan(0);
    expect(() => metricNamesOf('sum by (tenant) (rate(x[5m]')).toThrow(/does not parse/);
  });

  it('pass promtool check rules, and the Prometheus config of docker-compose.yml loads them', () => {
    const r = promtool('check', 'rules', rulesFile);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`SUCCESS: ${alertNames().length} rules found`);
    const c = promtool('check', 'config', path.join(path.dirname(rulesFile), 'prometheus.yml'));
    expect(c.code, c.out).toBe(0);
    expect(c.out).toContain('SUCCESS: 1 rule files found');
    expect(c.out).toContain(`SUCCESS: ${alertNames().length} rules found`);
  });

  it('pass their unit tests (promtool test rules), in which every alert fires once and stays quiet once', () => {
    const tests = YAML.parse(fs.readFileSync(rulesTestFile, 'utf8')) as RuleTests;
    const cases = tests.tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const name of alertNames()) {
      expect(
        cases.some((c) => c.alertname === name && (c.exp_alerts ?? []).length > 0),
        `${name} fires in a case`,
      ).toBe(true);
      expect(
        cases.some((c) => c.alertname === name && (c.exp_alerts ?? []).length === 0),
        `${name} stays quiet in a case`,
      ).toBe(true);
    }
    const r = promtool('test', 'rules', rulesTestFile);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('SUCCESS');
  });

  it('fail their unit tests when a rule is weakened (the tests can catch a wrong rule)', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'imv-alerts-'));
    try {
      const rules = fs.readFileSync(rulesFile, 'utf8');
      const weakened = rules.replace(
        'increase(imv_import_files_total{outcome=~"failed|error"}[1h])) > 0',
        'increase(imv_import_files_total{outcome="error"}[1h])) > 0',
      );
      expect(weakened).not.toBe(rules);
      fs.writeFileSync(path.join(dir, path.basename(rulesFile)), weakened);
      fs.copyFileSync(rulesTestFile, path.join(dir, path.basename(rulesTestFile)));
      const r = promtool('test', 'rules', path.join(dir, path.basename(rulesTestFile)));
      expect(r.code).not.toBe(0);
      expect(r.out).toContain('FAILED');
      expect(r.out).toContain('alertname: ImvImportFilesFailed');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
