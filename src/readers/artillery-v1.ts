// Artillery 1 JSON report (`artillery run -o report.json`): `aggregate` with latency (min, max, median, p95,
// p99), rps, codes and errors, and one `intermediate` entry per 10 s report. Intermediate entries also carry
// the raw latencies of that period (nanoseconds, or [timestamp, id, ns, status] in 2018 builds), which allows
// an exact histogram: the merge step uses it, and the percentiles Artillery did not report come from it.
import { Histogram } from '../metrics/histogram.js';
import type { CustomMetric, ErrorKind, IntervalResult, LatencyStats, RunResult } from '../model.js';
import type { JsonResultReader, ReadOptions } from './types.js';
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
import {
  counterMetric,
  finishRates,
  isObj,
  looksLikeJsonObject,
  nonNeg,
  numericEntries,
  obj,
  parseTime,
  rateMetric,
  setMeta,
  setTimes,
  type Obj,
} from './util.js';

function latencyOf(o: unknown, count: number): LatencyStats {
  const l = obj(o);
  if (!l || count === 0) return { count: 0 };
  const out: LatencyStats = { count };
  const put = (k: keyof LatencyStats, v: unknown) => {
    const n = nonNeg(v);
    if (n !== undefined) out[k] = n;
  };
  put('min', l.min);
  put('p50', l.median);
  put('p95', l.p95);
  put('p99', l.p99);
  put('max', l.max);
  return out;
}

interface Figures extends ArtilleryCounts {
  responses: number;
  otherErrors: Array<[string, number]>;
}

function figures(o: Obj, opts: ReadOptions): Figures {
  const statusCodes: Record<string, number> = {};
  const errorsByKind: Partial<Record<ErrorKind, number>> = {};
  let errors = 0;
  for (const [code, n] of numericEntries(o.codes)) {
    if (!Number.isInteger(Number(code)) || n < 0) continue;
    errors += addStatus(statusCodes, errorsByKind, code, n, opts);
  }
  let transport = 0;
  const otherErrors: Array<[string, number]> = [];
  for (const [key, n] of numericEntries(o.errors)) {
    if (n < 0) continue;
    if (addTransportError(errorsByKind, key, n)) transport += n;
    else otherErrors.push([key, n]);
  }
  const responses = nonNeg(o.requestsCompleted) ?? Object.values(statusCodes).reduce((a, b) => a + b, 0);
  // requestsCompleted counts responses; requests that ended in a network error are counted under `errors`.
  const requests = responses + transport;
  return {
    requests,
    responses,
    errors: Math.min(errors + transport, requests),
    errorsByKind,
    statusCodes,
    otherErrors,
  };
}

/** Raw latencies of one intermediate entry in ms, or undefined when the entry has none. */
function rawLatencies(o: Obj): number[] | undefined {
  if (!Array.isArray(o.latencies)) return undefined;
  const out: number[] = [];
  for (const x of o.latencies) {
    const ns = Array.isArray(x) ? nonNeg(x[2]) : nonNeg(x);
    if (ns !== undefined) out.push(ns / 1e6);
  }
  return out;
}

async function fromDocument(doc: unknown, path: string, opts: ReadOptions): Promise<RunResult> {
  const { root, aggregate: agg, r } = artilleryReport(doc, path, opts, '1');
  const inter = Array.isArray(root.intermediate) ? root.intermediate.filter(isObj) : [];

  const f = figures(agg, opts);
  setCounts(r, f);
  r.latency = latencyOf(agg.latency, f.responses);

  // Raw latencies make an exact histogram, but only when every period kept them (the counts must add up).
  const hist = new Histogram(64);
  let rawComplete = inter.length > 0;
  for (const o of inter) {
    const lat = rawLatencies(o);
    if (!lat) {
      rawComplete = false;
      break;
    }
    for (const ms of lat) hist.recordMs(ms);
  }
  if (rawComplete && hist.count === f.responses && hist.count > 0) {
    r.histogram = hist.toJSON();
    const exact = hist.stats();
    const filled: string[] = [];
    for (const k of ['mean', 'p90', 'p999'] as const) {
      if (r.latency[k] === undefined && exact[k] !== undefined) {
        r.latency[k] = exact[k];
        filled.push(k === 'p999' ? 'p99.9' : k);
      }
    }
    if (filled.length)
      r.notes.push(
        `${filled.join(', ')} computed from the raw latencies in the report (Artillery 1 reports only min, median, p95, p99 and max).`,
      );
  }

  // Timing: the aggregate timestamp is the end; rps.count / rps.mean is Artillery's own run length.
  const end = parseTime(agg.timestamp) ?? parseTime(inter[inter.length - 1]?.timestamp);
  const rps = obj(agg.rps);
  const rpsCount = nonNeg(rps?.count);
  const rpsMean = nonNeg(rps?.mean);
  const firstTs = parseTime(inter[0]?.timestamp);
  let durationMs: number | undefined = rpsCount && rpsMean ? (rpsCount / rpsMean) * 1000 : undefined;
  if (durationMs === undefined && end !== undefined && firstTs !== undefined)
    durationMs = end - firstTs + ARTILLERY_PERIOD_MS;
  let timesEstimated = false;
  if (end === undefined) {
    timesEstimated = true;
    setTimes(r, 0, durationMs ?? 0);
    r.notes.push('The report records no timestamps: start and end times are unknown.');
  } else {
    setTimes(r, end - (durationMs ?? 0), end);
  }
  const runStart = Date.parse(r.startedAt);
  const runEnd = Date.parse(r.endedAt);

  // Intervals end at each intermediate timestamp and start at the previous one (the first at the run start).
  const intervals: IntervalResult[] = [];
  let prevEnd = runStart;
  let maxConcurrency: number | undefined;
  if (!timesEstimated) {
    for (const o of inter) {
      const t = parseTime(o.timestamp);
      if (t === undefined) continue;
      const e = Math.min(Math.max(t, prevEnd), runEnd);
      const s = Math.min(prevEnd, e);
      const pf = figures(o, opts);
      const iv = periodResult(s - runStart, e - s, pf, latencyOf(o.latency, pf.responses));
      const lat = rawLatencies(o);
      if (lat && lat.length === pf.responses && lat.length > 0) {
        const h = new Histogram(64);
        for (const ms of lat) h.recordMs(ms);
        iv.histogram = h.toJSON();
      }
      const conc = nonNeg(o.concurrency);
      if (conc !== undefined) {
        iv.concurrency = conc;
        // Concurrency is sampled at each report; zero at every sample says nothing about the peak.
        if (conc > 0) maxConcurrency = Math.max(maxConcurrency ?? 0, conc);
      }
      const created = nonNeg(o.scenariosCreated);
      if (created !== undefined) iv.arrivalsStarted = created;
      intervals.push(iv);
      prevEnd = e;
    }
  }
  r.intervals = intervals;
  if (intervals.length > 0) r.intervalMs = ARTILLERY_PERIOD_MS;

  const created = nonNeg(agg.scenariosCreated);
  const completed = nonNeg(agg.scenariosCompleted);
  if (created !== undefined || maxConcurrency !== undefined) {
    r.vus = {};
    if (created !== undefined) r.vus.created = created;
    if (maxConcurrency !== undefined) r.vus.max = maxConcurrency;
  }

  const custom: Record<string, CustomMetric> = {};
  if (created !== undefined) {
    custom['artillery.vusers.created'] = counterMetric(created, r.durationMs);
    // Artillery 1 has no failed counter: a scenario that was created and did not complete failed.
    if (completed !== undefined) {
      custom['artillery.vusers.completed'] = counterMetric(completed, r.durationMs);
      custom['artillery.vusers.failed'] = rateMetric(Math.max(0, created - completed), created);
    }
  }
  const avoided = nonNeg(agg.scenariosAvoided) ?? 0;
  if (agg.scenariosAvoided !== undefined) custom['artillery.vusers.skipped'] = counterMetric(avoided, r.durationMs);
  for (const [k, n] of numericEntries(agg.errors)) custom[`artillery.errors.${k}`] = counterMetric(n, r.durationMs);
  for (const [k, n] of numericEntries(agg.counters)) custom[k] = counterMetric(n, r.durationMs);
  const customStats = obj(agg.customStats) ?? {};
  for (const [k, v] of Object.entries(customStats)) {
    const values: Record<string, number> = {};
    for (const [sk, sv] of numericEntries(v)) values[sk === 'median' ? 'p50' : sk] = sv;
    if (Object.keys(values).length) custom[k] = { type: 'trend', values };
  }
  r.customMetrics = custom;

  setGenerator(r, created, avoided, 'scenariosAvoided', 'scenario');
  const otherErrors = nonHttpErrorsNote(f.otherErrors, { names: false });
  if (otherErrors) r.notes.push(otherErrors);

  finishRates(r, {
    errorsKnown: true,
    throughputRps: rpsMean !== undefined && rpsCount === r.requests ? rpsMean : undefined,
  });
  setMeta(r, { percentileMethod: 'nearest', timesEstimated });
  return r;
}

export const artilleryV1Reader: JsonResultReader = artilleryReader(
  'artillery-v1',
  (head) => looksLikeJsonObject(head) && /"aggregate"\s*:\s*\{/.test(head) && artilleryV1Markers.test(head),
  fromDocument,
);
