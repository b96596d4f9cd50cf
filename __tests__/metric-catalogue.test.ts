// One metric catalogue (src/metrics/catalogue.ts) read by targets, regression rules, guards and the report: a name
// or alias that one of them accepts, the others accept too, and they read the same value.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { entryFromRun } from '../src/baseline/entry.js';
import { compareWithBaseline, parseRegressionRule, parseRegressionRules } from '../src/gate/regression.js';
import { metricValue } from '../src/gate/metrics.js';
import { ENDPOINT_METRICS, type EndpointMetric } from '../src/gate/selectors.js';
import { parseTarget } from '../src/gate/targets.js';
import {
  METRIC_CATALOGUE,
  REGRESSION_METRICS,
  UNIT_OF_KIND,
  builtinMetric,
  type MetricDefinition,
  type RegressionMetric,
} from '../src/metrics/catalogue.js';
import type { RunResult } from '../src/model.js';
import { GUARD_METRICS, parseGuard, type GuardMetric } from '../src/phases/guards.js';
import { isBuiltinMetric, metricLabel } from '../src/report/common.js';
import { syntheticRun } from './helpers/github-data-stub.js';

const catalogue = METRIC_CATALOGUE as readonly MetricDefinition[];

// Compile-time: the scope types are the catalogue's, not `string` and not `never`.
const endpointOk: EndpointMetric = 'p99';
// @ts-expect-error throughput has no per-endpoint value
const endpointBad: EndpointMetric = 'throughput';
const guardOk: GuardMetric = 'throughput';
// @ts-expect-error requests are not watched per interval
const guardBad: GuardMetric = 'requests';
const ruleOk: RegressionMetric = 'p999';
// @ts-expect-error a regression rule cannot name vus
const ruleBad: RegressionMetric = 'vus';
void [endpointOk, endpointBad, guardOk, guardBad, ruleOk, ruleBad];

describe('the metric catalogue', () => {
  it('makes the aliases targets accept work in regression rules too (med, http_req_failed, request_rate, p99.9)', () => {
    expect(parseRegressionRule('med: +10% and +5ms')).toMatchObject({ metric: 'p50', better: 'lower', unit: 'ms' });
    expect(parseRegressionRule('http_req_failed: +0.5pp')).toMatchObject({
      metric: 'error_rate',
      unit: 'pp',
      absolute: 0.5,
    });
    expect(parseRegressionRule('request_rate: -10%')).toMatchObject({
      metric: 'throughput',
      better: 'higher',
      relativePercent: 10,
    });
    expect(parseRegressionRule('p99.9: +10% and +20ms')).toMatchObject({
      metric: 'p999',
      relativePercent: 10,
      absolute: 20,
    });
    expect(parseRegressionRule('p(99.9): off')).toEqual({ metric: 'p999', off: true });
    // The same spellings as targets, naming the same metric.
    expect(parseTarget('med < 100ms').metric).toBe('p50');
    expect(parseTarget('http_req_failed < 1%').metric).toBe('error_rate');
    expect(parseTarget('request_rate > 10/s').metric).toBe('throughput');
    expect(parseTarget('p99.9 < 1s').metric).toBe('p999');
  });

  it('accepts every name and alias of a regression metric in a rule, and refuses the metrics a rule cannot judge', () => {
    for (const m of catalogue) {
      for (const spelling of [m.name, ...m.aliases]) {
        const rule = `${spelling}: ${m.regression?.unit === 'pp' ? '+1pp' : m.regression?.better === 'higher' ? '-10%' : '+10%'}`;
        if (m.regression) expect(parseRegressionRule(rule).metric, rule).toBe(m.name);
        else
          expect(() => parseRegressionRule(rule), rule).toThrow(
            /unknown metric .*; allowed: p50, p90, p95, p99, max, mean, error_rate, throughput, p999/,
          );
      }
    }
    expect(REGRESSION_METRICS).toEqual(['p50', 'p90', 'p95', 'p99', 'max', 'mean', 'error_rate', 'throughput', 'p999']);
  });

  it('judges a p99.9 regression rule on the stored p999 of the baseline', () => {
    const base = syntheticRun({ seed: 1 });
    const entry = entryFromRun(base, {
      environment: 'production',
      git: { owner: 'a', repo: 'b', eventName: 'push', branch: 'main', sha: 'abc' },
      id: 'r1',
    });
    expect(entry.metrics.p999).toBe(base.latency.p999);
    const rules = parseRegressionRules(['p99.9: +10% and +20ms'], 'test', false);
    const opts = { environment: 'production', source: 'file:h.json', branch: 'main' } as const;
    const slower = compareWithBaseline(syntheticRun({ seed: 2, scale: 2 }), [entry], rules, opts);
    expect(slower.regressions).toEqual([expect.objectContaining({ metric: 'p999', status: 'regressed' })]);
    const same = compareWithBaseline(syntheticRun({ seed: 3 }), [entry], rules, opts);
    expect(same.regressions[0]).toMatchObject({ metric: 'p999' });
    expect(same.regressions[0]!.status).not.toBe('regressed');
  });

  it('lets a guard watch exactly what a target can read per interval: a guard is a target plus `for`', () => {
    for (const m of catalogue) {
      const line = `${m.name} > 1${m.kind === 'percent' ? '%' : ''} for 30s`;
      if (m.scopes.includes('interval')) expect(parseGuard(line).metric, line).toBe(m.name);
      else expect(() => parseGuard(line), line).toThrow(/not measured per interval/);
    }
    expect(parseGuard('http_req_failed > 5% for 30s')).toMatchObject({ metric: 'error_rate', forMs: 30_000 });
    expect(GUARD_METRICS).toEqual(catalogue.filter((m) => m.scopes.includes('interval')).map((m) => m.name));
    expect([...ENDPOINT_METRICS].sort()).toEqual(
      catalogue
        .filter((m) => m.scopes.includes('endpoint'))
        .map((m) => m.name)
        .sort(),
    );
  });

  it('reads every built-in metric off a run the way the gate does, and names it in the report', () => {
    const run: RunResult = { ...syntheticRun({ seed: 4, errors: 20 }), vus: { max: 12 } } as RunResult;
    for (const m of catalogue) {
      expect(metricValue(run, m.name), m.name).toBe(m.value(run));
      expect(isBuiltinMetric(m.name), m.name).toBe(m.label !== undefined);
      expect(metricLabel(m.name)).toBe(m.label ?? m.name);
    }
    expect(metricValue(run, 'p99')).toBe(run.latency.p99);
    expect(metricValue(run, 'error_rate')).toBe(run.errorRate);
    expect(metricValue(run, 'vus')).toBe(12);
    expect(builtinMetric('median')).toBeUndefined();
  });
});

describe('docs/targets.md', () => {
  it('lists every built-in metric with every name the catalogue accepts it by, its kind and where it can be used', () => {
    const SCOPE: Record<string, string> = {
      run: 'target',
      endpoint: 'target per endpoint',
      interval: 'abort guard',
      'interval-endpoint': 'guard per endpoint',
    };
    const rows = catalogue.map(
      (m) =>
        `| \`${m.name}\` | ${m.aliases.map((a) => `\`${a}\``).join(', ') || '—'} | ${m.kind === 'count' ? 'count' : `${m.kind}, ${UNIT_OF_KIND[m.kind]}`} | ` +
        `${m.scopes.map((s) => SCOPE[s]).join(', ')} | ${m.regression ? 'yes' : 'no'} |`,
    );
    const table = [
      '| metric | also accepted as | kind, unit | usable in | regression rule |',
      '| --- | --- | --- | --- | --- |',
      ...rows,
    ].join('\n');
    const doc = readFileSync(join(import.meta.dirname, '..', 'docs', 'targets.md'), 'utf8');
    expect(doc).toContain(table);
  });
});
