/**
 * The metric names the deployed alert rules and the Grafana dashboard query, read from the files
 * themselves: every PromQL expression is parsed with Prometheus' own grammar (@prometheus-io/lezer-promql)
 * and the names of its vector selectors are collected. Grafana's variables are replaced by values
 * of their kind before parsing.
 */
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import YAML from 'yaml';

// The package ships CommonJS too, but its types are ESM-only: TypeScript refuses a plain import here.
type LezerPromql = typeof import('@prometheus-io/lezer-promql', { with: { 'resolution-mode': 'import' } });
const { parser } = createRequire(__filename)('@prometheus-io/lezer-promql') as LezerPromql;

export const rulesFile = path.resolve(__dirname, '../../deploy/prometheus/alerts.yml');
export const rulesTestFile = path.resolve(__dirname, '../../deploy/prometheus/alerts.test.yml');
export const dashboardFile = path.resolve(__dirname, '../../deploy/grafana/dashboards/imv-import.json');

/** Grafana's interval variables become a duration, the others a label value. */
function withoutGrafanaVariables(expr: string): string {
  return expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m').replace(/\$\{?([a-zA-Z_]\w*)\}?/g, 'x');
}

/** The metric names of one PromQL expression; throws when it does not parse. */
export function metricNamesOf(expr: string): string[] {
  const text = withoutGrafanaVariables(expr);
  const names = new Set<string>();
  const errors: number[] = [];
  parser.parse(text).iterate({
    enter(node) {
      if (node.type.isError) errors.push(node.from);
      if (node.name === 'Identifier' && node.node.parent?.name === 'VectorSelector') names.add(text.slice(node.from, node.to));
      // {__name__="…"} selects by name too.
      if (node.name === 'UnquotedLabelMatcher') {
        const m = /^__name__\s*=\s*"([^"]+)"$/.exec(text.slice(node.from, node.to));
        if (m) names.add(m[1]);
      }
    },
  });
  if (errors.length) throw new Error(`PromQL does not parse at ${errors[0]}: ${text}`);
  return [...names];
}

export interface RuleFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string; for?: string; labels?: Record<string, string> }[] }[];
}

export function readRules(file = rulesFile): RuleFile {
  return YAML.parse(fs.readFileSync(file, 'utf8')) as RuleFile;
}

/** Every `expr` of the dashboard's panels (rows and nested panels included) and of its templating queries. */
export function dashboardExpressions(file = dashboardFile): string[] {
  const d = JSON.parse(fs.readFileSync(file, 'utf8')) as {
    panels?: unknown[];
    templating?: { list?: { query?: unknown; definition?: string }[] };
  };
  const out: string[] = [];
  const visit = (p: { targets?: { expr?: string }[]; panels?: unknown[] }) => {
    for (const t of p.targets ?? []) if (t.expr) out.push(t.expr);
    for (const q of p.panels ?? []) visit(q as never);
  };
  for (const p of d.panels ?? []) visit(p as never);
  for (const v of d.templating?.list ?? []) {
    // label_values(metric, label): the metric must exist too.
    const q = typeof v.query === 'string' ? v.query : ((v.query as { query?: string } | undefined)?.query ?? '');
    const m = /label_values\(\s*([a-zA-Z_:][\w:]*)/.exec(q);
    if (m) out.push(m[1]);
  }
  return out;
}

/** Names a query may use that no exporter serves: recording rules' outputs and Prometheus' own series. */
export function recordedNames(rules: RuleFile): Set<string> {
  return new Set(rules.groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [r.record] : []))));
}
