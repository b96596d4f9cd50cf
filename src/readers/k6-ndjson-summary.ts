// The RunResult of a k6 NDJSON file, built from what the accumulator kept, and k6's thresholds evaluated on it.
import type { Histogram } from '../metrics/histogram.js';
import type { CustomMetric, EndpointResult, IntervalResult, RunResult, ToolThreshold } from '../model.js';
import { droppedIterations, k6CustomName } from './k6-summary-common.js';
import { statsFromHistogram } from './stats.js';
import type { ReadOptions } from './types.js';
import { MAX_PLAUSIBLE, emptyResult, finishRates, percentileKey, setMeta, setTimes } from './util.js';
import {
  MAX_CUSTOM_METRICS,
  MAX_ENDPOINTS,
  MAX_INTERVALS,
  OTHER_ENDPOINTS,
  type NdjsonAccumulator,
} from './k6-ndjson-accumulator.js';

// Thresholds: the NDJSON output lists each metric's threshold expressions but not k6's verdict, so they are
// evaluated here from the same data k6 would use.

const THRESHOLD_RE =
  /^\s*(avg|min|max|med|count|rate|value|p\(\s*(\d+(?:\.\d+)?)\s*\))\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$/;

function compare(a: number, op: string, b: number): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '==':
    case '===':
      return a === b;
    default:
      return a !== b;
  }
}

function evaluateThreshold(expr: string, stat: (agg: string, p?: number) => number | undefined): boolean | undefined {
  const m = THRESHOLD_RE.exec(expr);
  if (!m) return undefined;
  const agg = m[2] !== undefined ? 'p' : m[1]!;
  const actual = stat(agg, m[2] !== undefined ? Number(m[2]) : undefined);
  if (actual === undefined) return undefined;
  return compare(actual, m[3]!, Number(m[4]));
}

function trendStat(h: Histogram, agg: string, p?: number): number | undefined {
  if (h.count === 0) return undefined;
  switch (agg) {
    case 'avg':
      return h.sumUs / h.count / 1000;
    case 'min':
      return h.minUs / 1000;
    case 'max':
      return h.maxUs / 1000;
    case 'med':
      return h.interpolatedPercentileMs(50);
    case 'count':
      return h.count;
    case 'p':
      return p === undefined ? undefined : h.interpolatedPercentileMs(p);
    default:
      return undefined;
  }
}

function trendValues(
  h: Histogram | undefined,
  exact: { count: number; sum: number; min: number; max: number },
): Record<string, number> {
  const v: Record<string, number> = { count: exact.count };
  if (exact.count === 0) return v;
  v.min = exact.min;
  v.max = exact.max;
  v.avg = exact.sum / exact.count;
  if (h && h.count > 0) {
    for (const p of [50, 90, 95, 99, 99.9]) v[percentileKey(p)] = h.interpolatedPercentileMs(p)!;
  }
  return v;
}

export function buildResult(acc: NdjsonAccumulator, path: string, opts: ReadOptions, notes: string[]): RunResult {
  const r = emptyResult(path, opts, 'k6');
  const hasPoints = Number.isFinite(acc.minTime);
  const start = hasPoints ? acc.minTime : 0;
  const end = hasPoints ? acc.maxTime : 0;
  setTimes(r, start, end);
  if (!hasPoints) notes.push('The file has no data points.');

  r.requests = acc.requests;
  r.errors = acc.errors;
  r.errorsByKind = acc.errorsByKind;
  r.statusCodes = Object.fromEntries(acc.statusCodes);
  r.latency = statsFromHistogram(acc.latency, 'interpolated');
  if (acc.latency.count > 0) r.histogram = acc.latency.toJSON();

  const endpoints: EndpointResult[] = [];
  for (const [name, e] of acc.endpoints) {
    if (e.requests === 0 && e.hist.count === 0) continue;
    const ep: EndpointResult = {
      name,
      requests: e.requests,
      errors: e.errors,
      latency: statsFromHistogram(e.hist, 'interpolated'),
      statusCodes: Object.fromEntries(e.statusCodes),
    };
    if (e.hist.count > 0) ep.histogram = e.hist.toJSON();
    endpoints.push(ep);
  }
  r.endpoints = endpoints.sort((a, b) => b.requests - a.requests || a.name.localeCompare(b.name));

  // Intervals aligned to wall-clock multiples of the width (like Artillery's periods, so files from several
  // instances line up); the first and last are clipped to the run. Empty intervals inside the run are kept.
  const keys = [...acc.intervals.keys()].sort((a, b) => a - b);
  const intervals: IntervalResult[] = [];
  if (keys.length > 0) {
    const first = keys[0]!;
    const last = keys[keys.length - 1]!;
    const dense = last - first < MAX_INTERVALS;
    const all = dense ? Array.from({ length: last - first + 1 }, (_, i) => first + i) : keys;
    for (const k of all) {
      const a = acc.intervals.get(k);
      const s = Math.max(k * acc.intervalMs, start);
      const e = Math.max(s, Math.min((k + 1) * acc.intervalMs, end));
      const h = a ? (a.packed ?? a.hist?.toJSON()) : undefined;
      const iv: IntervalResult = {
        startMs: s - start,
        durationMs: e - s,
        requests: a?.requests ?? 0,
        errors: a?.errors ?? 0,
        latency: h ? statsFromHistogram(h, 'interpolated') : { count: 0 },
      };
      if (h && h.count > 0) iv.histogram = h;
      if (a?.vus !== undefined) iv.concurrency = a.vus;
      intervals.push(iv);
    }
  }
  r.intervals = intervals;
  r.intervalMs = acc.intervalMs;
  if (acc.intervalsCapped)
    notes.push(
      `The points span more than ${MAX_INTERVALS} intervals; later intervals were dropped from the time series.`,
    );

  const durS = r.durationMs / 1000;
  const custom: Record<string, CustomMetric> = {};
  const trendHistograms = new Map<string, Histogram>();
  const trendOutOfRange = new Set<string>();
  if (acc.requests > 0 || acc.types.has('http_reqs')) {
    custom['k6.http_reqs'] = {
      type: 'counter',
      values: durS > 0 ? { count: acc.requests, rate: acc.requests / durS } : { count: acc.requests },
    };
  }
  if (acc.latency.count > 0) {
    custom['k6.http_req_duration'] = {
      type: 'trend',
      values: trendValues(acc.latency, {
        count: acc.latency.count,
        sum: acc.latency.sumUs / 1000,
        min: acc.latency.minUs / 1000,
        max: acc.latency.maxUs / 1000,
      }),
    };
    trendHistograms.set('k6.http_req_duration', acc.latency);
  }
  if (acc.failedTotal > 0) {
    custom['k6.http_req_failed'] = {
      type: 'rate',
      values: { rate: acc.failedTrues / acc.failedTotal, count: acc.failedTrues, total: acc.failedTotal },
    };
  }
  if (acc.checksTotal > 0) {
    custom.checks = {
      type: 'rate',
      values: { rate: acc.checksPass / acc.checksTotal, count: acc.checksPass, total: acc.checksTotal },
    };
    for (const [name, [p, f]] of acc.checksByName)
      custom[`checks{check:${name}}`] = { type: 'rate', values: { rate: p / (p + f), count: p, total: p + f } };
    for (const [group, [p, f]] of acc.checksByGroup)
      custom[`checks{group:${group}}`] = { type: 'rate', values: { rate: p / (p + f), count: p, total: p + f } };
  }
  for (const [name, count] of acc.counters) {
    custom[k6CustomName(name)] = { type: 'counter', values: durS > 0 ? { count, rate: count / durS } : { count } };
  }
  for (const [name, g] of acc.gauges)
    custom[k6CustomName(name)] = { type: 'gauge', values: { value: g.value, min: g.min, max: g.max } };
  for (const [name, [trues, total]] of acc.rates) {
    custom[k6CustomName(name)] = { type: 'rate', values: { rate: total ? trues / total : 0, count: trues, total } };
  }
  for (const [name, tr] of acc.trends) {
    const key = k6CustomName(name);
    custom[key] = { type: 'trend', values: trendValues(tr.outOfRange ? undefined : tr.hist, tr) };
    if (tr.outOfRange) trendOutOfRange.add(key);
    else trendHistograms.set(key, tr.hist);
  }
  r.customMetrics = custom;
  if (trendOutOfRange.size > 0) {
    notes.push(
      `Percentiles of ${[...trendOutOfRange].join(', ')} are not given: the values are negative or too large for the histogram (count, min, max and avg are exact).`,
    );
  }
  if (acc.implausible > 0)
    notes.push(
      `${acc.implausible} point${acc.implausible === 1 ? '' : 's'} with values beyond ${MAX_PLAUSIBLE} were ignored as not data.`,
    );
  if (acc.customCapped) notes.push(`More than ${MAX_CUSTOM_METRICS} metrics: the rest were ignored.`);
  if (acc.endpointsCapped) {
    notes.push(
      `More than ${MAX_ENDPOINTS} distinct request names (k6 names a request by its URL unless the script sets a name tag): the rest are grouped as "${OTHER_ENDPOINTS}".`,
    );
  }
  if (acc.undefinedPoints.size > 0) {
    const names = [...acc.undefinedPoints.keys()];
    notes.push(
      `Points of ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''} came without a Metric definition line (type unknown) and were ignored.`,
    );
  }

  const vusMax = acc.gauges.get('vus')?.max ?? acc.gauges.get('vus_max')?.max;
  if (vusMax !== undefined) r.vus = { max: vusMax };

  const dropped = acc.counters.get('dropped_iterations') ?? 0;
  if (dropped > 0) r.generator = droppedIterations(dropped);

  r.toolThresholds = thresholds(acc, durS, notes);
  r.notes = notes;
  // Without a status a request cannot be classified; k6's own failure count is the same definition only when
  // 4xx count as errors.
  let errorsKnown = true;
  if (acc.withoutStatus > 0) {
    if (opts.count4xxAsErrors && acc.failedTotal > 0 && acc.withoutStatus === acc.requests) {
      r.errors = acc.failedTrues;
      notes.push(
        "The requests carry no status tag (k6's systemTags leave it out): errors are k6's http_req_failed count, the same definition with 4xx counted as errors.",
      );
    } else {
      errorsKnown = false;
      notes.push(
        `${acc.withoutStatus} request${acc.withoutStatus === 1 ? ' has' : 's have'} no status tag (k6's systemTags leave it out), so the error rate is not measured; k6's own failure rate is customMetrics "k6.http_req_failed".`,
      );
    }
  }
  finishRates(r, { errorsKnown });
  setMeta(r, { percentileMethod: 'interpolated', trendHistograms, trendOutOfRange });
  return r;
}

function thresholds(acc: NdjsonAccumulator, durS: number, notes: string[]): ToolThreshold[] {
  const out: ToolThreshold[] = [];
  const skipped: string[] = [];
  for (const [metric, exprs] of acc.thresholdDefs) {
    const stat = (agg: string, p?: number): number | undefined => {
      if (metric === 'http_req_duration') return trendStat(acc.latency, agg, p);
      if (metric === 'http_req_failed')
        return agg === 'rate' && acc.failedTotal > 0 ? acc.failedTrues / acc.failedTotal : undefined;
      if (metric === 'checks')
        return agg === 'rate' && acc.checksTotal > 0 ? acc.checksPass / acc.checksTotal : undefined;
      if (metric === 'http_reqs')
        return agg === 'count' ? acc.requests : agg === 'rate' && durS > 0 ? acc.requests / durS : undefined;
      switch (acc.types.get(metric)) {
        case 'trend': {
          const tr = acc.trends.get(metric);
          if (!tr || tr.count === 0) return undefined;
          if (agg === 'avg') return tr.sum / tr.count;
          if (agg === 'min') return tr.min;
          if (agg === 'max') return tr.max;
          if (agg === 'count') return tr.count;
          return tr.outOfRange ? undefined : trendStat(tr.hist, agg, p);
        }
        case 'counter': {
          const c = acc.counters.get(metric) ?? 0;
          return agg === 'count' ? c : agg === 'rate' && durS > 0 ? c / durS : undefined;
        }
        case 'rate': {
          const r = acc.rates.get(metric);
          return agg === 'rate' && r && r[1] > 0 ? r[0] / r[1] : undefined;
        }
        case 'gauge': {
          const g = acc.gauges.get(metric);
          return !g ? undefined : agg === 'value' ? g.value : agg === 'min' ? g.min : agg === 'max' ? g.max : undefined;
        }
        case undefined:
          return undefined;
      }
    };
    for (const expression of exprs) {
      const ok = evaluateThreshold(expression, stat);
      if (ok === undefined) skipped.push(`${metric}: ${expression}`);
      else out.push({ metric, expression, ok });
    }
  }
  if (out.length > 0) {
    notes.push(
      "k6 thresholds were evaluated by perf-gate from the points (the NDJSON output records the expressions, not k6's verdict); percentiles agree with k6 to within 0.1 %.",
    );
  }
  if (skipped.length > 0)
    notes.push(
      `Thresholds not evaluated (no data or unsupported expression): ${skipped.slice(0, 5).join('; ')}${skipped.length > 5 ? '; ...' : ''}.`,
    );
  return out;
}
