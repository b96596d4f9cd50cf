// Regression rules: what the user writes (`p99: +10% and +20ms`, `error_rate: off`), read into a tolerance per
// metric and laid over the defaults. How a change is judged against them is in regression.ts.
import { UserError } from '../errors.js';
import { builtinMetric, metricBySpelling, REGRESSION_METRICS, type RegressionMetric } from '../metrics/catalogue.js';

export { REGRESSION_METRICS, type RegressionMetric };

export interface RegressionRule {
  metric: RegressionMetric;
  /** Which way is better: latency and errors go down, throughput up. */
  better: 'lower' | 'higher';
  /** Worsening allowed, in percent of the baseline (always positive here). Absent: no relative condition. */
  relativePercent?: number;
  /**
   * Worsening allowed in the metric's unit: ms, percentage points, requests/s (positive), as the user wrote it.
   * Absent: latency and the error rate get a floor derived from the measurement (regression-floor.ts).
   */
  absolute?: number;
  unit: 'ms' | 'pp' | '/s';
  /** The rule as written, for messages. */
  source: string;
}

/**
 * Applied unless the user sets a rule for the metric (or turns it `off`). p95/p99: +10 %, the error rate: +50 %
 * of the baseline's rate, throughput: -10 %. None of them names an absolute floor, so each gets one derived from the
 * measurement (regression-floor.ts: twice the history's spread, or the two runs' sampling noise without a
 * history); a rule that writes one (`p99: +10% and +20ms`) keeps it as written. p50, p90, max and mean have no
 * default rule: the tail and the errors are what users feel.
 */
export const DEFAULT_REGRESSION_RULES: readonly string[] = [
  'p95: +10%',
  'p99: +10%',
  'error_rate: +50%',
  'throughput: -10%',
];

const ALLOWED_UNITS: Record<RegressionRule['unit'], string> = {
  ms: '+N% and/or +Nms (or +Ns), e.g. "p99: +10% and +20ms"',
  pp: '+N% of the baseline and/or +Npp (percentage points), e.g. "error_rate: +50%" or "error_rate: +0.2pp"',
  '/s': '-N% and/or -N/s, e.g. "throughput: -10%"',
};

const RULE = /^\s*(?<metric>[A-Za-z_][\w().-]*)\s*:\s*(?<body>.*?)\s*$/;
const PART = /^(?<sign>[+-])?\s*(?<num>\d+(?:\.\d+)?)\s*(?<unit>%|pp|ms|s|\/s|rps)$/i;

export function parseRegressionRule(
  text: string,
  where = 'regression rules',
): RegressionRule | { metric: RegressionMetric; off: true } {
  const line = text.trim();
  const fail = (why: string, allowed?: string): UserError =>
    new UserError(`${where}: cannot read regression rule "${line}": ${why}${allowed ? `; allowed: ${allowed}` : ''}`);
  const m = RULE.exec(line);
  if (!m?.groups)
    throw fail(
      'expected "<metric>: <change> [and <change>]"',
      'e.g. "p99: +10% and +20ms", "error_rate: +0.2pp", "throughput: -10%"',
    );
  const raw = m.groups.metric!.toLowerCase();
  // The catalogue's names and aliases, the same as a target's (`med`, `p99.9`, `http_req_failed`, `request_rate`).
  const def = metricBySpelling(raw);
  const metric = def?.regression ? (def.name as RegressionMetric) : undefined;
  if (!metric) throw fail(`unknown metric "${m.groups.metric}"`, REGRESSION_METRICS.join(', '));
  const body = m.groups.body!;
  if (/^(off|none|ignore|false)$/i.test(body)) return { metric, off: true };
  if (body === '') throw fail('no change given', ALLOWED_UNITS[unitOf(metric)]);

  const better = builtinMetric(metric)!.regression!.better;
  const unit = unitOf(metric);
  const rule: RegressionRule = { metric, better, unit, source: line };
  const parts = body
    .split(/\s+and\s+|\s*&\s*/i)
    .map((p) => p.trim())
    .filter(Boolean);
  for (const part of parts) {
    const pm = PART.exec(part);
    if (!pm?.groups) throw fail(`cannot read "${part}"`, ALLOWED_UNITS[unit]);
    const sign = pm.groups.sign;
    const num = Number(pm.groups.num);
    const u = pm.groups.unit!.toLowerCase();
    const worse = better === 'lower' ? '+' : '-';
    if (sign !== undefined && sign !== worse) {
      throw fail(
        better === 'lower'
          ? `${metric} regresses when it goes up, so the change is written with "+" (got "${part}")`
          : `throughput regresses when it drops, so the change is written with "-" (got "${part}")`,
        ALLOWED_UNITS[unit],
      );
    }
    if (u === '%') {
      if (rule.relativePercent !== undefined) throw fail(`two relative changes ("${part}")`, ALLOWED_UNITS[unit]);
      rule.relativePercent = num;
      continue;
    }
    const absolute = absoluteValue(metric, u, num);
    if (absolute === undefined) throw fail(`unit "${pm.groups.unit}" does not fit ${metric}`, ALLOWED_UNITS[unit]);
    if (rule.absolute !== undefined) throw fail(`two absolute changes ("${part}")`, ALLOWED_UNITS[unit]);
    rule.absolute = absolute;
  }
  // 0.01 % -> 0.02 % is +100 %: a relative change of a rate near zero says nothing on its own, so a rule without
  // an absolute part gets a floor from the counts' sampling noise (regression-floor.ts), never none.
  return rule;
}

function unitOf(metric: RegressionMetric): RegressionRule['unit'] {
  return builtinMetric(metric)!.regression!.unit;
}

function absoluteValue(metric: RegressionMetric, unit: string, num: number): number | undefined {
  switch (unitOf(metric)) {
    case 'ms':
      return unit === 'ms' ? num : unit === 's' ? num * 1000 : undefined;
    case 'pp':
      return unit === 'pp' ? num : undefined;
    case '/s':
      return unit === '/s' || unit === 'rps' ? num : undefined;
  }
}

/**
 * Rules from an input (one per line or `;`-separated) or a YAML list, laid over the defaults: a metric the user
 * names replaces its default, `metric: off` removes it, and the others keep their default.
 */
export function parseRegressionRules(
  input: string | readonly string[] | undefined,
  where = 'regression rules',
  withDefaults = true,
): RegressionRule[] {
  const lines = (typeof input === 'string' ? input.split(/[\n;]/) : (input ?? []))
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const byMetric = new Map<RegressionMetric, RegressionRule | null>();
  if (withDefaults) {
    for (const d of DEFAULT_REGRESSION_RULES) {
      const r = parseRegressionRule(d, 'default rules');
      if (!('off' in r)) byMetric.set(r.metric, r);
    }
  }
  const seen = new Set<RegressionMetric>();
  for (const line of lines) {
    const r = parseRegressionRule(line, where);
    if (seen.has(r.metric))
      throw new UserError(
        `${where}: ${r.metric} has more than one rule ("${line}"); write both changes in one rule joined by "and"`,
      );
    seen.add(r.metric);
    byMetric.set(r.metric, 'off' in r ? null : r);
  }
  return REGRESSION_METRICS.flatMap((m) => {
    const r = byMetric.get(m);
    return r ? [r] : [];
  });
}
