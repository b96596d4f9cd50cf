// Reads a target's metric off a RunResult: a built-in metric as the catalogue (metrics/catalogue.ts) reads it, an
// endpoint's, an infrastructure metric's, or a tool's own. Undefined means "not measured": the gate never substitutes 0.
import type { EndpointResult, InfraMetric, RunResult } from '../model.js';
import {
  matchEndpoints,
  noEndpointNote,
  parseSelectorMetric,
  type EndpointMetric,
  type Selector,
} from './selectors.js';
import { DEFAULT_INFRA_STAT, INFRA_STATS, isInfraName, OF_MAX_SUFFIX, type InfraStat } from './targets.js';
import { builtinMetric, responsesOf, servedCount } from '../metrics/catalogue.js';

export function metricValue(run: RunResult, metric: string): number | undefined {
  const sel = parseSelectorMetric(metric);
  if (sel) return endpointValue(run, sel.base, sel.selector);
  const builtin = builtinMetric(metric);
  if (builtin) return builtin.value(run);
  const ref = infraRef(metric);
  const infra = ref && findInfra(run, ref.name);
  if (infra) return infraValue(infra, ref!);
  // `stat(name)` and `% of max` only mean infrastructure metrics; a bare name may still be a tool's metric.
  if (ref?.explicit) return undefined;
  return customMetricValue(run, metric);
}

const LATENCY_STATS = ['p50', 'p90', 'p95', 'p99', 'p999', 'max', 'min', 'mean'] as const;
const SERVED_METRICS = new Set<string>([...LATENCY_STATS, 'throughput']);

/** Why a latency or throughput target was not measured: no response was a success. */
function servedNotMeasuredReason(run: RunResult, metric: string): string | undefined {
  if (!SERVED_METRICS.has(metric) || !(run.requests > 0) || servedCount(run) > 0) return undefined;
  return `no successful response: all ${run.requests} requests were errors`;
}

interface InfraRef {
  name: string;
  stat: InfraStat;
  ofMax: boolean;
  /** Written with a statistic or `% of max`, so it can only mean an infrastructure metric. */
  explicit: boolean;
}

/** `mean(memory)` -> {memory, mean}; `db_connections%max` -> {db_connections, max, ofMax}; `cpu` -> {cpu, max}. */
export function infraRef(metric: string): InfraRef | undefined {
  let rest = metric;
  const ofMax = rest.endsWith(OF_MAX_SUFFIX);
  if (ofMax) rest = rest.slice(0, -OF_MAX_SUFFIX.length);
  const call = /^([a-z0-9]+)\((.+)\)$/.exec(rest);
  if (call && (INFRA_STATS as readonly string[]).includes(call[1]!)) {
    return { name: call[2]!, stat: call[1] as InfraStat, ofMax, explicit: true };
  }
  if (/[()]/.test(rest)) return undefined;
  return { name: rest, stat: DEFAULT_INFRA_STAT, ofMax, explicit: ofMax };
}

export function findInfra(run: RunResult, name: string): InfraMetric | undefined {
  const key = name.toLowerCase();
  return run.infra?.find((m) => m.name.toLowerCase() === key);
}

function infraValue(m: InfraMetric, ref: InfraRef): number | undefined {
  if (m.unavailable) return undefined;
  const v = m.stats[ref.stat];
  if (v === undefined || !Number.isFinite(v)) return undefined;
  if (!ref.ofMax) return v;
  return m.limit !== undefined && m.limit > 0 ? (v / m.limit) * 100 : undefined;
}

/**
 * Why an infrastructure target was not measured, for the verdict's reasons and the report: the source's
 * `unavailable` text, a missing `% of max` limit, or a metric no source reported. Undefined for other metrics.
 */
export function infraNotMeasuredReason(run: RunResult, metric: string): string | undefined {
  const ref = infraRef(metric);
  if (!ref) return undefined;
  const m = findInfra(run, ref.name);
  if (!m) {
    return ref.explicit || isInfraName(ref.name) ? `no configured source reports "${ref.name}"` : undefined;
  }
  if (m.unavailable) return m.unavailable;
  if (m.stats[ref.stat] === undefined) return `no ${ref.stat} for ${m.name}: no samples in the run window`;
  if (ref.ofMax && !(m.limit !== undefined && m.limit > 0)) return `${m.name} has no known maximum to compare with`;
  return undefined;
}

/**
 * A per-endpoint figure. Counts add up over every row the selector matches; a latency statistic needs exactly one
 * row (percentiles of several rows cannot be combined from their summaries). A k6 summary whose sub-metric
 * `http_req_duration{name:bid}` made no endpoint row (no request count beside it) still answers for latency.
 */
export function endpointValue(run: RunResult, base: EndpointMetric, sel: Selector): number | undefined {
  const rows = matchEndpoints(run.endpoints, sel.endpoint);
  if (rows.length === 0) return k6SubMetricValue(run, base, sel.endpoint);
  const sum = (f: (e: EndpointResult) => number) => rows.reduce((n, e) => n + f(e), 0);
  switch (base) {
    case 'requests':
      return sum((e) => e.requests);
    case 'errors':
      return sum((e) => e.errors);
    case 'error_rate': {
      const requests = sum((e) => e.requests);
      return requests > 0 ? (sum((e) => e.errors) / requests) * 100 : undefined;
    }
    case 'responses': {
      let total = 0;
      for (const e of rows) {
        const v = responsesOf(e.statusCodes, sel.status, e.requests);
        if (v === undefined) return undefined;
        total += v;
      }
      return total;
    }
    default:
      // Latency of an endpoint none of whose requests succeeded is not measured (its refusals were fast, not it).
      if (rows.length === 1 && rows[0]!.requests > 0 && servedCount(rows[0]!) === 0) return undefined;
      return rows.length === 1 ? rows[0]!.latency[base] : undefined;
  }
}

function k6SubMetricValue(run: RunResult, base: EndpointMetric, endpoint: string): number | undefined {
  const key = (m: string) => `k6.${m}{name:${endpoint}}`;
  switch (base) {
    case 'requests':
      return run.customMetrics[key('http_reqs')]?.values.count;
    case 'error_rate': {
      const r = run.customMetrics[key('http_req_failed')]?.values.rate;
      return r === undefined ? undefined : r * 100;
    }
    case 'errors':
    case 'responses':
      return undefined;
    default: {
      const v = run.customMetrics[key('http_req_duration')]?.values;
      return base === 'mean' ? v?.avg : v?.[base];
    }
  }
}

/** Why a per-endpoint metric was not measured: no endpoint matched (naming those there are), or several did. */
export function endpointNotMeasuredReason(run: RunResult, metric: string): string | undefined {
  const sel = parseSelectorMetric(metric);
  if (!sel) return undefined;
  const rows = matchEndpoints(run.endpoints, sel.selector.endpoint);
  if (rows.length === 0) {
    return k6SubMetricValue(run, sel.base, sel.selector.endpoint) === undefined
      ? noEndpointNote(run, sel.selector.endpoint)
      : undefined;
  }
  if (
    rows.length === 1 &&
    rows[0]!.requests > 0 &&
    servedCount(rows[0]!) === 0 &&
    !['requests', 'errors', 'error_rate', 'responses'].includes(sel.base)
  ) {
    return `no successful response on "${rows[0]!.name}": all ${rows[0]!.requests} requests were errors`;
  }
  if (rows.length > 1 && !['requests', 'errors', 'error_rate', 'responses'].includes(sel.base)) {
    return `"${sel.selector.endpoint}" matches ${rows.length} endpoints (${rows.map((e) => `"${e.name}"`).join(', ')}); name one of them for a latency figure`;
  }
  if (sel.base === 'responses') return `no status codes recorded for "${sel.selector.endpoint}"`;
  return undefined;
}

/** Why any target metric was not measured, when there is something to say. */
export function notMeasuredReason(run: RunResult, metric: string): string | undefined {
  return (
    servedNotMeasuredReason(run, metric) ??
    endpointNotMeasuredReason(run, metric) ??
    infraNotMeasuredReason(run, metric)
  );
}

/**
 * `name` picks the metric's main value: a counter's count (`plugins.expect.failed < 10` compares the 371 that
 * failed, not failures per second), a rate's percentage, a gauge's value, a trend's mean. `name.stat` (e.g.
 * `checkout_time.p95`, `plugins.expect.failed.rate`) picks one of its values.
 */
function customMetricValue(run: RunResult, metric: string): number | undefined {
  // Own keys only: a target named `constructor` or `toString` is an unknown metric, not Object's.
  const direct = Object.hasOwn(run.customMetrics, metric) ? run.customMetrics[metric] : undefined;
  if (direct) {
    const order = direct.type === 'counter' ? ['count', 'value', 'rate', 'avg'] : ['value', 'rate', 'count', 'avg'];
    for (const key of order) {
      const v = direct.values[key];
      if (v !== undefined) return key === 'rate' && direct.type === 'rate' ? v * 100 : v;
    }
    return undefined;
  }
  const dot = metric.lastIndexOf('.');
  if (dot > 0) {
    const name = metric.slice(0, dot);
    const m = Object.hasOwn(run.customMetrics, name) ? run.customMetrics[name] : undefined;
    const stat = metric.slice(dot + 1);
    const own = (k: string): number | undefined => (m && Object.hasOwn(m.values, k) ? m.values[k] : undefined);
    const v = own(stat) ?? own(stat.replace(/^p(\d+)$/, 'p($1)'));
    if (v !== undefined) return v;
  }
  return undefined;
}
