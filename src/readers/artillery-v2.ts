// Artillery 2 JSON report (`artillery run --output report.json`): `aggregate` plus one `intermediate` entry per
// reporting period, each with counters, rates, summaries (and histograms holding the same statistics). The
// report holds summaries, not raw latencies, so percentiles are Artillery's own and cannot be merged exactly.
import type {
  CustomMetric,
  EndpointResult,
  ErrorKind,
  IntervalEndpoint,
  IntervalResult,
  LatencyStats,
  RunResult,
  ServedFigures,
} from '../model.js';
import {
  addStatus,
  addTransportError,
  ARTILLERY_PERIOD_MS,
  artilleryReader,
  artilleryReport,
  artilleryV1Markers,
  nonHttpErrorsNote,
  periodResult,
  setCounts,
  setGenerator,
  type ArtilleryCounts,
} from './artillery-common.js';
import { combineLatency } from './stats.js';
import type { JsonResultReader, ReadOptions } from './types.js';
import {
  addCount,
  counterMetric,
  finishRates,
  isObj,
  looksLikeJsonObject,
  nonNeg,
  num,
  numericEntries,
  obj,
  rateMetric,
  setMeta,
  setTimes,
  statusIsError,
  transportErrorKind,
  type Obj,
} from './util.js';

export { artilleryV1Markers };

const EP = 'plugins.metrics-by-endpoint.';
const EP_LATENCY = `${EP}response_time.`;
// artillery-plugin-expect with `reportFailuresAsErrors`: one `errors.` counter per request whose expectations failed,
// keyed by its URL (or its name with `useOnlyRequestNames`). Artillery then fails the virtual user, and
// metrics-by-endpoint never sees that response: the endpoint rows leave it out unless it is added back here.
const EXPECT_ERROR = 'errors.Failed expectations for request ';
const EXPECT_FAILED = 'plugins.expect.failed';

interface Period {
  counters: Map<string, number>;
  summaries: Map<string, Record<string, number>>;
  rates: Map<string, number>;
  periodStart?: number;
  first?: number;
  last?: number;
}

/**
 * Early 2.0 development builds prefixed metric names (`engine.http.requests`, `core.vusers.created.total`);
 * release builds dropped the prefixes. Both map to the release names.
 */
function canon(name: string): string {
  let n = name;
  if (n.startsWith('engine.')) n = n.slice('engine.'.length);
  else if (n.startsWith('core.')) n = n.slice('core.'.length);
  if (n === 'vusers.created.total') n = 'vusers.created';
  return n;
}

function isSketch(o: Obj): boolean {
  return isObj(o.store) || isObj(o.mapping);
}

function parsePeriod(o: Obj): Period {
  const counters = new Map<string, number>();
  for (const [k, v] of numericEntries(o.counters)) {
    if (v < 0) continue; // Artillery counters only count up; a negative one is not data
    counters.set(canon(k), (counters.get(canon(k)) ?? 0) + v);
  }
  const rates = new Map<string, number>();
  for (const [k, v] of numericEntries(o.rates)) rates.set(canon(k), v);
  const summaries = new Map<string, Record<string, number>>();
  const sums = obj(o.summaries) ?? {};
  const hists = obj(o.histograms) ?? {};
  for (const key of new Set([...Object.keys(sums), ...Object.keys(hists)])) {
    const values: Record<string, number> = {};
    for (const [k, v] of numericEntries(sums[key])) values[k] = v;
    const h = obj(hists[key]);
    if (h && isSketch(h)) {
      // Early builds stored raw DDSketch objects here: their exact sum and count give the mean the summary lacks.
      const count = nonNeg(h.count);
      const sum = num(h.sum);
      if (values.count === undefined && count !== undefined) values.count = count;
      if (values.mean === undefined && count && sum !== undefined) values.mean = sum / count;
      if (values.min === undefined && num(h.min) !== undefined) values.min = num(h.min)!;
      if (values.max === undefined && num(h.max) !== undefined) values.max = num(h.max)!;
    } else if (h && Object.keys(values).length === 0) {
      for (const [k, v] of numericEntries(h)) values[k] = v;
    }
    if (Object.keys(values).length > 0) summaries.set(canon(key), values);
  }
  return {
    counters,
    summaries,
    rates,
    periodStart: num(o.period),
    first: num(o.firstMetricAt) ?? num(o.firstCounterAt) ?? num(o.firstHistogramAt),
    last: num(o.lastMetricAt) ?? num(o.lastCounterAt) ?? num(o.lastHistogramAt),
  };
}

function latencyOf(s: Record<string, number> | undefined): LatencyStats {
  if (!s) return { count: 0 };
  const count = nonNeg(s.count) ?? 0;
  if (count === 0) return { count: 0 };
  const out: LatencyStats = { count };
  const put = (k: keyof LatencyStats, v: number | undefined) => {
    if (v !== undefined && v >= 0) out[k] = v;
  };
  put('min', s.min);
  put('mean', s.mean);
  put('p50', s.p50 ?? s.median);
  put('p90', s.p90);
  put('p95', s.p95);
  put('p99', s.p99);
  put('p999', s.p999);
  put('max', s.max);
  return out;
}

function trendValues(s: Record<string, number>): Record<string, number> {
  const v: Record<string, number> = {};
  for (const [k, x] of Object.entries(s)) {
    if (k === 'mean') v.avg = x;
    else if (k === 'median') v.p50 ??= x;
    else v[k] = x;
  }
  return v;
}

interface Figures extends ArtilleryCounts {
  latency: LatencyStats;
  httpPresent: boolean;
  /** Requests whose expectations failed (reportFailuresAsErrors), by the request's URL or name. */
  expectFailed: Map<string, number>;
  /** The successful responses, when Artillery's `http.response_time.2xx` is exactly them (see servedOf). */
  served?: ServedFigures;
}

/**
 * Artillery 2 keeps a latency summary per status class (`http.response_time.2xx`). It is the successful responses'
 * exactly when every response that was no error is a 2xx and no 2xx became an error by a failed expectation;
 * otherwise (3xx, 4xx not counted as errors, failed checks) it cannot be told, and latency is judged on all.
 */
function servedOf(
  p: Period,
  statusCodes: Record<string, number>,
  failedChecks: number,
  opts: ReadOptions,
): ServedFigures | undefined {
  if (failedChecks > 0) return undefined;
  let ok = 0;
  for (const [code, n] of Object.entries(statusCodes)) {
    if (statusIsError(Number(code), opts)) continue;
    if (!/^2\d\d$/.test(code)) return undefined;
    ok += n;
  }
  const summary = p.summaries.get('http.response_time.2xx');
  if (ok > 0 && !summary) return undefined;
  return { requests: ok, latency: ok > 0 ? latencyOf(summary) : { count: 0 } };
}

function expectFailures(p: Period): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of p.counters)
    if (k.startsWith(EXPECT_ERROR) && v > 0)
      out.set(k.slice(EXPECT_ERROR.length), (out.get(k.slice(EXPECT_ERROR.length)) ?? 0) + v);
  return out;
}

/**
 * Status codes of the responses metrics-by-endpoint recorded; undefined when the plugin is off. The responses it
 * missed (those whose expectations failed) are the run's codes minus these.
 */
function endpointCodes(p: Period): Map<string, number> | undefined {
  let any = false;
  const out = new Map<string, number>();
  for (const [k, v] of p.counters) {
    if (!k.startsWith(EP) || k.startsWith(EP_LATENCY)) continue;
    any = true;
    const m = /\.codes\.(\d{3})$/.exec(k);
    if (m) out.set(m[1]!, (out.get(m[1]!) ?? 0) + v);
  }
  return any ? out : undefined;
}

function figures(p: Period, opts: ReadOptions): Figures {
  const statusCodes: Record<string, number> = {};
  const errorsByKind: Partial<Record<ErrorKind, number>> = {};
  let httpPresent = false;
  let codesTotal = 0;
  let errors = 0;
  let transport = 0;
  for (const [k, v] of p.counters) {
    if (k.startsWith('http.')) httpPresent = true;
    const m = /^http\.codes\.(\d{3})$/.exec(k);
    if (m) {
      codesTotal += v;
      errors += addStatus(statusCodes, errorsByKind, m[1]!, v, opts);
    }
  }
  if (p.summaries.has('http.response_time')) httpPresent = true;
  if (httpPresent) {
    for (const [k, v] of p.counters) {
      if (k.startsWith('errors.') && addTransportError(errorsByKind, k.slice('errors.'.length), v)) transport += v;
    }
  }
  errors += transport;
  // A response whose expectations failed is an error of kind `check`, unless its status already made it one: the
  // statuses of those responses are what metrics-by-endpoint did not record. Without that plugin they cannot be
  // told apart, and the overlap is taken as large as it can be (the error count is then a lower bound, noted).
  const expectFailed = expectFailures(p);
  const failedChecks = [...expectFailed.values()].reduce((a, v) => a + v, 0);
  if (failedChecks > 0) {
    const recorded = endpointCodes(p);
    let alreadyErrors = 0;
    if (recorded) {
      for (const [code, n] of Object.entries(statusCodes)) {
        if (statusIsError(Number(code), opts)) alreadyErrors += Math.max(0, n - (recorded.get(code) ?? 0));
      }
    } else {
      alreadyErrors = Math.min(failedChecks, errors - transport);
    }
    const checks = Math.max(0, failedChecks - Math.min(alreadyErrors, failedChecks));
    if (checks > 0) addCount(errorsByKind, 'check', checks);
    errors += checks;
  }
  // http.requests counts requests sent; a request that got a response and then timed out while its body was
  // read is counted both as a response and as ETIMEDOUT, so responses + errors can exceed it.
  const requests = p.counters.get('http.requests') ?? (p.counters.get('http.responses') ?? codesTotal) + transport;
  return {
    requests,
    errors: Math.min(errors, requests),
    errorsByKind,
    statusCodes,
    latency: latencyOf(p.summaries.get('http.response_time')),
    httpPresent,
    expectFailed,
    ...optionalServed(httpPresent ? servedOf(p, statusCodes, failedChecks, opts) : undefined),
  };
}

function optionalServed(served: ServedFigures | undefined): { served?: ServedFigures } {
  return served ? { served } : {};
}

function endpoints(p: Period, opts: ReadOptions): EndpointResult[] {
  const byName = new Map<string, EndpointResult>();
  const get = (name: string): EndpointResult => {
    let e = byName.get(name);
    if (!e) {
      e = { name, requests: 0, errors: 0, latency: { count: 0 }, statusCodes: {} };
      byName.set(name, e);
    }
    return e;
  };
  for (const [k, s] of p.summaries) {
    if (k.startsWith(EP_LATENCY)) get(k.slice(EP_LATENCY.length)).latency = latencyOf(s);
  }
  const known = [...byName.keys()].sort((a, b) => b.length - a.length);
  for (const [k, v] of p.counters) {
    if (!k.startsWith(EP) || k.startsWith(EP_LATENCY)) continue;
    const rest = k.slice(EP.length);
    const code = /^(.*)\.codes\.(\d{3})$/.exec(rest);
    if (code) {
      const e = get(code[1]!);
      const status = Number(code[2]);
      e.statusCodes[code[2]!] = (e.statusCodes[code[2]!] ?? 0) + v;
      e.requests += v;
      if (statusIsError(status, opts)) e.errors += v;
      continue;
    }
    // Endpoint names may contain dots; prefer a name already known from the latency summaries.
    const name =
      known.find((n) => rest.startsWith(`${n}.errors.`)) ??
      (rest.includes('.errors.') ? rest.slice(0, rest.lastIndexOf('.errors.')) : undefined);
    if (name === undefined) continue;
    const errKey = rest.slice(name.length + '.errors.'.length);
    const e = get(name);
    e.requests += v;
    if (transportErrorKind(errKey)) e.errors += v;
    else if (errKey === 'FailedExpectationError') {
      e.errors += v;
      addCount((e.errorsByKind ??= {}), 'check', v);
    }
  }
  // Responses whose expectations failed went past metrics-by-endpoint (see EXPECT_ERROR): back onto their endpoint,
  // found by request name or URL path, as errors of kind `check`, so that the rows add up to the run.
  // (A plugin version that counts them itself, as `<endpoint>.errors.FailedExpectationError`, needs nothing added.)
  const countedByPlugin = [...p.counters.keys()].some(
    (k) => k.startsWith(EP) && k.endsWith('.errors.FailedExpectationError'),
  );
  if ((byName.size > 0 || opts.artilleryNamedEndpoints) && !countedByPlugin) {
    for (const [request, n] of expectFailures(p)) {
      const path = urlPath(request);
      const name =
        [...byName.keys()].find(
          (k) =>
            k === request ||
            k === path ||
            k.endsWith(` (${request})`) ||
            (path !== undefined && k.startsWith(`${path} (`)),
        ) ??
        path ??
        request;
      const e = get(name);
      e.requests += n;
      e.errors += n;
      addCount((e.errorsByKind ??= {}), 'check', n);
      e.checkFailures ??= {};
      e.checkFailures['failed expectations'] = (e.checkFailures['failed expectations'] ?? 0) + n;
    }
  }
  return [...byName.values()].filter((e) => e.requests > 0 || e.latency.count > 0);
}

function urlPath(text: string): string | undefined {
  if (!/^https?:\/\//i.test(text)) return undefined;
  try {
    const u = new URL(text);
    return decodeURIComponent(u.pathname + u.search);
  } catch {
    return undefined;
  }
}

/** Failed expectations by type (`expect statusCode`): plugins.expect.failed.<type>. */
function checkFailuresOf(p: Period): Record<string, number> | undefined {
  const out: Record<string, number> = {};
  for (const [k, v] of p.counters) {
    if (k.startsWith(`${EXPECT_FAILED}.`) && v > 0) out[`expect ${k.slice(EXPECT_FAILED.length + 1)}`] = v;
  }
  return Object.keys(out).length ? out : undefined;
}

/** A period's metrics-by-endpoint figures, for abort guards with an endpoint selector; undefined without the plugin. */
function intervalEndpoints(p: Period, opts: ReadOptions): Record<string, IntervalEndpoint> | undefined {
  const rows = endpoints(p, opts);
  if (rows.length === 0) return undefined;
  const out: Record<string, IntervalEndpoint> = {};
  for (const e of rows) out[e.name] = { requests: e.requests, errors: e.errors, latency: e.latency };
  return out;
}

/** Periods with the same start (several workers reporting separately) are combined before use. */
function combinePeriods(ps: Period[]): Period {
  if (ps.length === 1) return ps[0]!;
  const out: Period = { counters: new Map(), summaries: new Map(), rates: new Map(), periodStart: ps[0]!.periodStart };
  for (const p of ps) {
    for (const [k, v] of p.counters) out.counters.set(k, (out.counters.get(k) ?? 0) + v);
    for (const [k, v] of p.rates) out.rates.set(k, (out.rates.get(k) ?? 0) + v);
    if (p.first !== undefined) out.first = Math.min(out.first ?? p.first, p.first);
    if (p.last !== undefined) out.last = Math.max(out.last ?? p.last, p.last);
  }
  const keys = new Set(ps.flatMap((p) => [...p.summaries.keys()]));
  for (const k of keys) {
    const parts = ps.map((p) => latencyOf(p.summaries.get(k)));
    const { stats } = combineLatency(parts);
    out.summaries.set(k, { ...stats });
  }
  return out;
}

function inferPeriodMs(starts: number[]): number {
  let best = Infinity;
  const sorted = [...new Set(starts)].sort((a, b) => a - b);
  for (let i = 1; i < sorted.length; i++) best = Math.min(best, sorted[i]! - sorted[i - 1]!);
  return Number.isFinite(best) && best >= 1000 ? best : ARTILLERY_PERIOD_MS;
}

function customMetrics(p: Period, durationMs: number): Record<string, CustomMetric> {
  const out: Record<string, CustomMetric> = {};
  const created = p.counters.get('vusers.created');
  const failed = p.counters.get('vusers.failed');
  if (failed !== undefined || created !== undefined) {
    // Artillery's own "error rate" (the ensure plugin's maxErrorRate) is this share of failed virtual users.
    out['artillery.vusers.failed'] = rateMetric(failed ?? 0, created ?? 0);
  }
  for (const [k, v] of p.counters) {
    if (k === 'vusers.failed' || k === 'http.requests' || k === 'http.responses' || /^http\.codes\.\d{3}$/.test(k))
      continue;
    if (k.startsWith(EP)) continue;
    const builtin = k.startsWith('vusers.') || k.startsWith('http.') || k.startsWith('errors.');
    out[builtin ? `artillery.${k}` : k] = counterMetric(v, durationMs);
  }
  for (const [k, s] of p.summaries) {
    if (k === 'http.response_time' || k.startsWith(EP_LATENCY)) continue;
    const builtin = k.startsWith('vusers.') || k.startsWith('http.');
    out[builtin ? `artillery.${k}` : k] = { type: 'trend', values: trendValues(s) };
  }
  for (const [k, v] of p.rates) {
    const builtin = k.startsWith('http.') || k.startsWith('vusers.');
    const name = builtin ? `artillery.${k}` : k;
    // Artillery rates are events per second; a custom counter of the same name keeps its count.
    if (!out[name]) out[name] = { type: 'gauge', values: { value: v } };
  }
  return out;
}

async function fromDocument(doc: unknown, path: string, opts: ReadOptions): Promise<RunResult> {
  const { root, aggregate, r } = artilleryReport(doc, path, opts, '2');
  const agg = parsePeriod(aggregate);

  const inter = Array.isArray(root.intermediate) ? root.intermediate.filter(isObj).map(parsePeriod) : [];
  const starts = inter.map((p) => p.periodStart).filter((x): x is number => x !== undefined);
  const periodMs = inferPeriodMs(starts);

  let start = agg.first ?? minOf(inter.map((p) => p.first ?? p.periodStart));
  let end =
    agg.last ?? maxOf(inter.map((p) => p.last ?? (p.periodStart !== undefined ? p.periodStart + periodMs : undefined)));
  let timesEstimated = false;
  if (start === undefined || end === undefined) {
    timesEstimated = true;
    start = end = 0;
    r.notes.push('The report records no timestamps, so the run duration and throughput are unknown.');
  }
  setTimes(r, start, end);

  const f = figures(agg, opts);
  setCounts(r, f);
  r.latency = f.latency;
  if (f.served) r.served = f.served;
  r.endpoints = endpoints(agg, opts);
  r.customMetrics = customMetrics(agg, r.durationMs);
  const created = agg.counters.get('vusers.created');
  if (created !== undefined) r.vus = { created };

  setGenerator(r, created, agg.counters.get('vusers.skipped') ?? 0, 'vusers.skipped', 'virtual user');

  if (!f.httpPresent) {
    r.notes.push(
      created
        ? 'The report has no HTTP metrics (another engine, or every virtual user failed before sending a request): requests, latency and error rate are not measured.'
        : 'The report has no HTTP metrics: requests, latency and error rate are not measured.',
    );
  }
  const checkFailures = checkFailuresOf(agg);
  if (checkFailures) r.checkFailures = checkFailures;
  const expectFailedTotal = agg.counters.get(EXPECT_FAILED) ?? 0;
  const failedRequests = [...f.expectFailed.values()].reduce((a, v) => a + v, 0);
  if (failedRequests > 0) {
    r.notes.push(
      `${failedRequests} request${failedRequests === 1 ? '' : 's'} failed ${failedRequests === 1 ? 'its' : 'their'} expectations (artillery-plugin-expect, reportFailuresAsErrors): ` +
        `errors of kind "check", added to their endpoints' rows${endpointCodes(agg) ? '' : '; without metrics-by-endpoint the ones that also had an error status cannot be told apart, so the error count is a lower bound'}.`,
    );
  } else if (expectFailedTotal > 0) {
    r.notes.push(
      `${expectFailedTotal} expectation${expectFailedTotal === 1 ? '' : 's'} failed (plugins.expect.failed) without failing ${expectFailedTotal === 1 ? 'its request' : 'their requests'} (the expect plugin's reportFailuresAsErrors is off), ` +
        `so they are not in the error rate; Artillery exits with code 21 for them, and a target such as "plugins.expect.failed == 0" gates on them in a results file.`,
    );
  }
  const scriptErrors = [...agg.counters]
    .filter(
      ([k]) =>
        k.startsWith('errors.') && !k.startsWith(EXPECT_ERROR) && (!f.httpPresent || !transportErrorKind(k.slice(7))),
    )
    .map(([k, v]): [string, number] => [k.slice(7), v]);
  const scriptErrorsNote = nonHttpErrorsNote(scriptErrors, { names: true });
  if (scriptErrorsNote) r.notes.push(scriptErrorsNote);

  // Time series: one interval per reporting period, clipped to the run.
  const byStart = new Map<number, Period[]>();
  for (const p of inter) {
    const ps = p.periodStart ?? (p.first !== undefined ? Math.floor(p.first / periodMs) * periodMs : undefined);
    if (ps === undefined) continue;
    const list = byStart.get(ps) ?? [];
    list.push(p);
    byStart.set(ps, list);
  }
  const intervals: IntervalResult[] = [];
  if (!timesEstimated) {
    for (const [ps, list] of [...byStart].sort((a, b) => a[0] - b[0])) {
      const p = combinePeriods(list);
      const s = Math.max(ps, start);
      const e = Math.max(s, Math.min(ps + periodMs, end));
      const pf = figures(p, opts);
      const iv = withPeriodDetail(periodResult(s - start, e - s, pf, pf.latency), p, opts);
      if (f.served && pf.served && iv.errors > 0) iv.served = pf.served;
      intervals.push(iv);
    }
  }
  r.intervals = intervals;
  if (intervals.length > 0) r.intervalMs = periodMs;

  finishRates(r, { errorsKnown: f.httpPresent });
  setMeta(r, { percentileMethod: 'nearest', timesEstimated });
  return r;
}

function minOf(xs: Array<number | undefined>): number | undefined {
  const v = xs.filter((x): x is number => x !== undefined);
  return v.length ? Math.min(...v) : undefined;
}

function maxOf(xs: Array<number | undefined>): number | undefined {
  const v = xs.filter((x): x is number => x !== undefined);
  return v.length ? Math.max(...v) : undefined;
}

/**
 * One reporting period (an intermediate of Artillery's report, or one read from its console summaries) as an
 * interval `startMs` into the run, with the same error and latency rules as the whole report.
 */
export function periodInterval(period: unknown, startMs: number, opts: ReadOptions): IntervalResult {
  const p = parsePeriod(obj(period) ?? {});
  const f = figures(p, opts);
  const durationMs =
    p.first !== undefined && p.last !== undefined ? Math.max(0, p.last - p.first) : ARTILLERY_PERIOD_MS;
  return withPeriodDetail(periodResult(startMs, durationMs, f, f.latency), p, opts);
}

/** The arrivals and (with metrics-by-endpoint) the endpoint figures of a period, added to its interval. */
function withPeriodDetail(iv: IntervalResult, p: Period, opts: ReadOptions): IntervalResult {
  const vc = p.counters.get('vusers.created');
  if (vc !== undefined) iv.arrivalsStarted = vc;
  const eps = intervalEndpoints(p, opts);
  if (eps) iv.endpoints = eps;
  return iv;
}

export const artilleryV2Reader: JsonResultReader = artilleryReader(
  'artillery-v2',
  (head) =>
    looksLikeJsonObject(head) &&
    /"aggregate"\s*:\s*\{/.test(head) &&
    !artilleryV1Markers.test(head) &&
    /"(counters|summaries|histograms|rates|firstCounterAt|firstMetricAt|lastCounterAt|period)"\s*:/.test(head),
  fromDocument,
);
