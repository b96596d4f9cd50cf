// Artillery 1 JSON report (`artillery run -o report.json`): `aggregate` with latency (min, max, median, p95,
// p99), rps, codes and errors, and one `intermediate` entry per 10 s report. Intermediate entries also carry
// the raw latencies of that period (nanoseconds, or [timestamp, id, ns, status] in 2018 builds), which allows
// an exact histogram: the merge step uses it, and the percentiles Artillery did not report come from it.
import { UserError } from '../../config/types.js';
import { Histogram } from '../../metrics/histogram.js';
import type { CustomMetric, ErrorKind, IntervalResult, LatencyStats, RunResult } from '../../model.js';
import type { JsonResultReader, ReadOptions } from './types.js';
import { artilleryV1Markers } from './artillery-v2.js';
import {
  addCount,
  counterMetric,
  emptyResult,
  finishRates,
  isObj,
  looksLikeJsonObject,
  nonNeg,
  numericEntries,
  obj,
  parseTime,
  rateMetric,
  readJsonFile,
  setMeta,
  setTimes,
  statusIsError,
  statusKind,
  transportErrorKind,
  type Obj,
} from './util.js';

const REPORT_INTERVAL_MS = 10_000; // Artillery 1 emitted its intermediate stats every 10 s

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

interface Figures {
  requests: number;
  responses: number;
  errors: number;
  errorsByKind: Partial<Record<ErrorKind, number>>;
  statusCodes: Record<string, number>;
  otherErrors: Array<[string, number]>;
}

function figures(o: Obj, opts: ReadOptions): Figures {
  const statusCodes: Record<string, number> = {};
  const errorsByKind: Partial<Record<ErrorKind, number>> = {};
  let errors = 0;
  for (const [code, n] of numericEntries(o.codes)) {
    const status = Number(code);
    if (!Number.isInteger(status) || n < 0) continue;
    statusCodes[code] = (statusCodes[code] ?? 0) + n;
    const kind = statusKind(status);
    if (kind) addCount(errorsByKind, kind, n);
    if (statusIsError(status, opts)) errors += n;
  }
  let transport = 0;
  const otherErrors: Array<[string, number]> = [];
  for (const [key, n] of numericEntries(o.errors)) {
    if (n < 0) continue;
    const kind = transportErrorKind(key);
    if (kind) {
      addCount(errorsByKind, kind, n);
      transport += n;
    } else otherErrors.push([key, n]);
  }
  const responses = nonNeg(o.requestsCompleted) ?? Object.values(statusCodes).reduce((a, b) => a + b, 0);
  // requestsCompleted counts responses; requests that ended in a network error are counted under `errors`.
  const requests = responses + transport;
  return { requests, responses, errors: Math.min(errors + transport, requests), errorsByKind, statusCodes, otherErrors };
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
  const root = obj(doc);
  const agg = root ? obj(root.aggregate) : undefined;
  if (!root || !agg) throw new UserError(`Results file ${path} is not an Artillery 1 report: it has no "aggregate" object`);
  const r = emptyResult(path, opts, 'artillery');
  r.tool = { name: 'artillery', version: '1' };
  const inter = Array.isArray(root.intermediate) ? root.intermediate.filter(isObj) : [];

  const f = figures(agg, opts);
  r.requests = f.requests;
  r.errors = f.errors;
  r.errorsByKind = f.errorsByKind;
  r.statusCodes = f.statusCodes;
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
    if (filled.length) r.notes.push(`${filled.join(', ')} computed from the raw latencies in the report (Artillery 1 reports only min, median, p95, p99 and max).`);
  }

  // Timing: the aggregate timestamp is the end; rps.count / rps.mean is Artillery's own run length.
  const end = parseTime(agg.timestamp) ?? parseTime(inter[inter.length - 1]?.timestamp);
  const rps = obj(agg.rps);
  const rpsCount = nonNeg(rps?.count);
  const rpsMean = nonNeg(rps?.mean);
  const firstTs = parseTime(inter[0]?.timestamp);
  let durationMs: number | undefined = rpsCount && rpsMean ? (rpsCount / rpsMean) * 1000 : undefined;
  if (durationMs === undefined && end !== undefined && firstTs !== undefined) durationMs = end - firstTs + REPORT_INTERVAL_MS;
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
      const iv: IntervalResult = {
        startMs: s - runStart,
        durationMs: e - s,
        requests: pf.requests,
        errors: pf.errors,
        latency: latencyOf(o.latency, pf.responses),
      };
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
  if (intervals.length > 0) r.intervalMs = REPORT_INTERVAL_MS;

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

  if (avoided > 0) {
    r.generator = {
      arrivalsScheduled: (created ?? 0) + avoided,
      arrivalsStarted: created,
      arrivalsDropped: avoided,
      valid: false,
      invalidReasons: [
        `Artillery skipped ${avoided} scenario${avoided === 1 ? '' : 's'} (scenariosAvoided, the maxVusers cap was reached): the load asked for was not sent.`,
      ],
    };
  } else if (created !== undefined) {
    r.generator.arrivalsStarted = created;
  }
  if (f.otherErrors.length > 0) {
    const total = f.otherErrors.reduce((a, [, n]) => a + n, 0);
    r.notes.push(`${total} error${total === 1 ? '' : 's'} that are not HTTP request errors are not in the error rate; they are in customMetrics as artillery.errors.*.`);
  }

  finishRates(r, { errorsKnown: true, throughputRps: rpsMean !== undefined && rpsCount === r.requests ? rpsMean : undefined });
  setMeta(r, { percentileMethod: 'nearest', timesEstimated });
  return r;
}

export const artilleryV1Reader: JsonResultReader = {
  format: 'artillery-v1',
  detect(head: string): boolean {
    return looksLikeJsonObject(head) && /"aggregate"\s*:\s*\{/.test(head) && artilleryV1Markers.test(head);
  },
  async read(path: string, opts: ReadOptions): Promise<RunResult> {
    const { doc } = await readJsonFile(path);
    return fromDocument(doc, path, opts);
  },
  fromDocument,
};
