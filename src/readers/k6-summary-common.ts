// What k6's end-of-test summaries have in common (`--summary-export`, handleSummary() JSON and the
// machine-readable summary of k6 >= 1.5): per-metric aggregates, threshold results and checks, but no raw
// samples and no timestamps. Each format is first turned into a K6Summary, and one builder makes the RunResult.
import type { CustomMetric, EndpointResult, LatencyStats, RunResult, ToolThreshold } from '../model.js';
import type { ReadOptions } from './types.js';
import {
  emptyResult,
  finishRates,
  latencyFromValues,
  nonNeg,
  percentileKey,
  setMeta,
  setTimes,
  statusIsError,
  statusKind,
  addCount,
} from './util.js';

export type K6MetricType = 'counter' | 'gauge' | 'rate' | 'trend';

export interface K6Metric {
  type: K6MetricType;
  /**
   * Normalised values. trend: count?, min, max, avg, p50, p90, p95, p99, p999, p<N>; counter: count, rate (/s);
   * gauge: value, min, max; rate: rate (0-1), count (samples that were true / non-zero), total.
   */
  values: Record<string, number>;
}

export interface K6Check {
  name: string;
  /** Group path, `::group::subgroup` ('' for the root group). */
  group: string;
  passes: number;
  fails: number;
}

export interface K6Summary {
  metrics: Map<string, K6Metric>;
  thresholds: ToolThreshold[];
  checks: K6Check[];
  durationMs?: number;
  /** End of the run when the file records it; otherwise the file's modification time is used. */
  endMs?: number;
  version?: string;
  /** Notes specific to the source format. */
  notes: string[];
}

// k6's own metrics; anything else in a summary is a custom metric of the script.
const K6_BUILTINS = new Set([
  'vus',
  'vus_max',
  'iterations',
  'iteration_duration',
  'dropped_iterations',
  'data_sent',
  'data_received',
  'checks',
  'checks_total',
  'checks_succeeded',
  'checks_failed',
  'group_duration',
  'http_reqs',
  'http_req_duration',
  'http_req_blocked',
  'http_req_connecting',
  'http_req_tls_handshaking',
  'http_req_sending',
  'http_req_waiting',
  'http_req_receiving',
  'http_req_failed',
]);

/** k6 dropped arrivals (no free VU when one was due): the load asked for was not sent, so the run is invalid. */
export function droppedIterations(dropped: number): NonNullable<RunResult['generator']> {
  return {
    arrivalsDropped: dropped,
    valid: false,
    invalidReasons: [
      `k6 dropped ${dropped} iteration${dropped === 1 ? '' : 's'} (dropped_iterations: no free VU when an arrival was due): the load asked for was not sent.`,
    ],
  };
}

export function isK6Builtin(name: string): boolean {
  const base = baseName(name);
  return K6_BUILTINS.has(base) || /^(ws|grpc|browser|webvital|experimental)_/.test(base);
}

export function baseName(metric: string): string {
  const i = metric.indexOf('{');
  return i === -1 ? metric : metric.slice(0, i);
}

/** The name under which a k6 metric appears in customMetrics. */
export function k6CustomName(metric: string): string {
  if (metric === 'checks') return 'checks';
  return isK6Builtin(metric) ? `k6.${metric}` : metric;
}

/** `p(95)` -> 95. */
export function parsePercentileStat(k: string): number | undefined {
  const m = /^p\((\d+(?:\.\d+)?)\)$/.exec(k);
  if (!m) return undefined;
  const p = Number(m[1]);
  return p >= 0 && p <= 100 ? p : undefined;
}

/** k6 trend stat names (`avg`, `med`, `p(99.9)`) to the names used throughout (avg, p50, p999). */
export function normaliseTrendValues(raw: Array<[string, number]>): Record<string, number> {
  const v: Record<string, number> = {};
  for (const [k, x] of raw) {
    if (k === 'med') v.p50 = x;
    else if (k === 'avg' || k === 'min' || k === 'max' || k === 'count') v[k] = x;
    else {
      const p = parsePercentileStat(k);
      if (p !== undefined) v[percentileKey(p)] = x;
    }
  }
  if (v.p50 === undefined) {
    // Some scripts ask for p(50) instead of med; they are the same statistic in k6.
    const p50 = raw.find(([k]) => parsePercentileStat(k) === 50);
    if (p50) v.p50 = p50[1];
  }
  return v;
}

function tagValue(metric: string, tag: string): string | undefined {
  const m = /^[^{]+\{(.*)\}$/.exec(metric);
  if (!m) return undefined;
  // A single-tag submetric such as http_req_duration{name:/api}; a tag value may itself contain ':' or ','.
  const body = m[1]!;
  const prefix = `${tag}:`;
  return body.startsWith(prefix) ? body.slice(prefix.length) : undefined;
}

export function buildFromK6Summary(s: K6Summary, path: string, opts: ReadOptions, fileMtimeMs: number): RunResult {
  const r = emptyResult(path, opts, 'k6');
  if (s.version) r.tool = { name: 'k6', version: s.version };
  const m = s.metrics;
  const httpReqs = m.get('http_reqs');
  const failed = m.get('http_req_failed');
  const duration = m.get('http_req_duration');

  const durationMs = s.durationMs ?? derivedDurationMs(m);
  const timesEstimated = s.endMs === undefined;
  const end = s.endMs ?? fileMtimeMs;
  setTimes(r, end - (durationMs ?? 0), end);
  if (timesEstimated) {
    r.notes.push(
      durationMs !== undefined
        ? 'k6 summaries record no timestamps: the end time is the file modification time.'
        : 'k6 summaries record no timestamps and this one no run length: start, end and duration are unknown.',
    );
  }

  // Requests: http_reqs, else one http_req_failed sample per request, else the trend's count.
  const requests =
    (httpReqs?.type === 'counter' ? nonNeg(httpReqs.values.count) : undefined) ??
    (failed?.type === 'rate' ? nonNeg(failed.values.total) : undefined) ??
    (duration?.type === 'trend' ? nonNeg(duration.values.count) : undefined) ??
    0;
  r.requests = requests;
  if (!httpReqs && requests === 0) r.notes.push('The summary has no http_reqs metric: no HTTP requests were recorded.');

  if (duration?.type === 'trend')
    r.latency = latencyFromValues(duration.values, nonNeg(duration.values.count) ?? requests);

  // Status codes, where the script asked for per-status submetrics (http_reqs{status:200} and the like).
  let statusTotal = 0;
  for (const [name, metric] of m) {
    if (baseName(name) !== 'http_reqs' || metric.type !== 'counter') continue;
    const status = tagValue(name, 'status');
    if (status === undefined || !/^\d{1,3}$/.test(status)) continue;
    const n = nonNeg(metric.values.count) ?? 0;
    r.statusCodes[status] = n;
    statusTotal += n;
  }

  // Errors under perf-gate's definition need the status of each failed request; a summary rarely has it.
  const failedCount = failed?.type === 'rate' ? nonNeg(failed.values.count) : undefined;
  let errorsKnown = false;
  if (statusTotal > 0 && statusTotal === requests) {
    for (const [code, n] of Object.entries(r.statusCodes)) {
      const status = Number(code);
      const kind = status === 0 ? 'other' : statusKind(status);
      if (kind) addCount(r.errorsByKind, kind, n);
      if (status === 0 || statusIsError(status, opts)) r.errors += n;
    }
    errorsKnown = true;
  } else if (failedCount === 0) {
    // Nothing failed, so neither 5xx nor transport errors happened (k6 fails every response outside 200-399).
    errorsKnown = true;
  } else if (failedCount !== undefined && opts.count4xxAsErrors) {
    r.errors = failedCount;
    errorsKnown = true;
    r.notes.push(
      `The error rate is k6's http_req_failed (${failedCount} failed of ${requests}): with 4xx counted as errors (the default) that is perf-gate's definition too, provided the script kept k6's default expected statuses (200-399).`,
    );
  } else if (failedCount !== undefined) {
    r.errors = failedCount;
    r.notes.push(
      `k6 reports ${failedCount} failed request${failedCount === 1 ? '' : 's'} (http_req_failed, which counts 4xx too) but its summary does not say how many were 5xx or network errors, so with \`http.count-4xx-as-errors: false\` the error rate is not measured. k6's own failure rate is customMetrics "k6.http_req_failed"; count 4xx as errors (the default), or give perf-gate the \`k6 --out json\` file, to measure it.`,
    );
  } else if (requests > 0) {
    r.notes.push('The summary has no http_req_failed metric (k6 before v0.31): the error rate is not measured.');
  }

  // k6's own advice for latency targets: http_req_duration{expected_response:true}, the responses that did not fail.
  // They are perf-gate's successful responses when k6's failures are its errors (the error count came from them).
  const expected = m.get('http_req_duration{expected_response:true}');
  if (expected?.type === 'trend' && failedCount !== undefined && r.errors === failedCount) {
    const ok = nonNeg(expected.values.count) ?? Math.max(0, requests - failedCount);
    r.served = { requests: ok, latency: ok > 0 ? latencyFromValues(expected.values, ok) : { count: 0 } };
  }

  // Custom metrics: every metric, k6's own under a `k6.` prefix (checks stays `checks`), the script's by name.
  const custom: Record<string, CustomMetric> = {};
  for (const [name, metric] of m) {
    custom[k6CustomName(name)] = { type: metric.type, values: { ...metric.values } };
  }
  addChecks(custom, s.checks, m.get('checks'));
  r.customMetrics = custom;

  r.endpoints = endpointsFrom(m, opts);

  const vus = m.get('vus');
  const vusMax = m.get('vus_max');
  const maxVus = nonNeg(vus?.values.max) ?? nonNeg(vusMax?.values.max);
  if (maxVus !== undefined) r.vus = { max: maxVus };

  const dropped = nonNeg(m.get('dropped_iterations')?.values.count) ?? 0;
  if (dropped > 0) r.generator = droppedIterations(dropped);

  r.toolThresholds = s.thresholds;
  r.notes.push(...s.notes);

  const trendStats = duration?.type === 'trend' ? duration.values : undefined;
  if (trendStats && requests > 0) {
    const missing = (['p50', 'p90', 'p95', 'p99'] as const).filter((k) => trendStats[k] === undefined);
    if (missing.length) {
      r.notes.push(
        `This k6 summary has no ${missing.map((k) => (k === 'p50' ? 'median' : k)).join(', ')} for http_req_duration (summaryTrendStats did not ask for ${missing.length === 1 ? 'it' : 'them'}), so ${missing.length === 1 ? 'it is' : 'they are'} not measured.`,
      );
    }
  }

  const rate = httpReqs?.type === 'counter' ? nonNeg(httpReqs.values.rate) : undefined;
  finishRates(r, { errorsKnown, throughputRps: rate });
  setMeta(r, { percentileMethod: 'interpolated', timesEstimated });
  return r;
}

/** Run length from any counter: k6 computes `rate` as count over the test run duration. */
function derivedDurationMs(m: Map<string, K6Metric>): number | undefined {
  const order = ['http_reqs', 'iterations', 'data_sent', 'data_received'];
  const candidates = [...order.map((n) => m.get(n)), ...m.values()];
  for (const c of candidates) {
    if (c?.type !== 'counter') continue;
    const count = nonNeg(c.values.count);
    const rate = nonNeg(c.values.rate);
    if (count && rate) return (count / rate) * 1000;
  }
  return undefined;
}

function addChecks(custom: Record<string, CustomMetric>, checks: K6Check[], checksMetric: K6Metric | undefined): void {
  if (!checksMetric && checks.length > 0) {
    const passes = checks.reduce((a, c) => a + c.passes, 0);
    const total = passes + checks.reduce((a, c) => a + c.fails, 0);
    custom.checks = { type: 'rate', values: { rate: total ? passes / total : 0, count: passes, total } };
  }
  // Per check and per group, named like k6 submetrics so a target can say `checks{check:status is 200}`.
  const byName = new Map<string, [number, number]>();
  const byGroup = new Map<string, [number, number]>();
  for (const c of checks) {
    const a = byName.get(c.name) ?? [0, 0];
    byName.set(c.name, [a[0] + c.passes, a[1] + c.fails]);
    if (c.group) {
      const g = byGroup.get(c.group) ?? [0, 0];
      byGroup.set(c.group, [g[0] + c.passes, g[1] + c.fails]);
    }
  }
  const put = (key: string, [p, f]: [number, number]) => {
    const total = p + f;
    custom[key] = { type: 'rate', values: { rate: total ? p / total : 0, count: p, total } };
  };
  for (const [name, pf] of byName) put(`checks{check:${name}}`, pf);
  for (const [group, pf] of byGroup) put(`checks{group:${group}}`, pf);
}

function endpointsFrom(m: Map<string, K6Metric>, opts: ReadOptions): EndpointResult[] {
  const out: EndpointResult[] = [];
  for (const [name, metric] of m) {
    if (baseName(name) !== 'http_req_duration' || metric.type !== 'trend') continue;
    const ep = tagValue(name, 'name');
    if (ep === undefined) continue;
    const reqs = m.get(`http_reqs{name:${ep}}`);
    const requests = nonNeg(reqs?.values.count) ?? nonNeg(metric.values.count);
    // Without a request count an endpoint row would be misleading; the latency stays in customMetrics.
    if (requests === undefined) continue;
    const failed = m.get(`http_req_failed{name:${ep}}`);
    const failedCount = nonNeg(failed?.values.count);
    const latency: LatencyStats = latencyFromValues(metric.values, nonNeg(metric.values.count) ?? requests);
    out.push({
      name: ep,
      requests,
      // Same caveat as the run's errors: only exact when nothing failed or 4xx count as errors.
      errors: failedCount !== undefined && (failedCount === 0 || opts.count4xxAsErrors) ? failedCount : 0,
      latency,
      statusCodes: {},
    });
  }
  return out;
}

/** Rate values from k6's legacy passes/fails, where `passes` counts samples that were true (non-zero). */
export function legacyRateValues(
  passes: number | undefined,
  fails: number | undefined,
  rate: number | undefined,
): Record<string, number> {
  const p = passes ?? 0;
  const total = p + (fails ?? 0);
  // `passes / total` rather than the stored rate: k6 0.29 summary exports wrote value 0 beside 126 passes.
  return { rate: total > 0 ? p / total : (rate ?? 0), count: p, total };
}
