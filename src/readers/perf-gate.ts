// perf-gate's own results.json (`{"schemaVersion": 1, "run": {...}, "verdict": {...}}`): the shards of a sharded
// run, or any earlier run judged again. The file is our own shape, but it arrives as a downloaded artifact, so it
// is checked like any untrusted input before a figure of it is used: a malformed histogram would otherwise merge
// into exact-looking percentiles.
import { bucketIndex } from '../metrics/histogram.js';
import {
  blankRunResult,
  ENGINES,
  RESULTS_SCHEMA_VERSION,
  type CustomMetric,
  type EndpointResult,
  type EngineName,
  type IntervalEndpoint,
  type IntervalResult,
  type LatencyStats,
  type RunResult,
  type ServedFigures,
  type ShardInfo,
  type Stage,
} from '../model.js';
import type { JsonResultReader, ReadOptions } from './types.js';
import { displayPath, isObj, looksLikeJsonObject, nonNeg, num, obj, readJsonFile, setMeta, type Obj } from './util.js';
import { UserError } from '../errors.js';
import type { SerializedHistogram } from '../model.js';

/** Highest bucket a histogram of this layout can have: latencies are clamped to 2^31 - 1 µs. */
const TOP_BUCKET = bucketIndex(2 ** 31 - 1);

function bad(path: string, where: string, what: string): UserError {
  return new UserError(`Results file ${path} is not a valid perf-gate results.json: ${where} ${what}`);
}

function checkHistogram(v: unknown, path: string, where: string): void {
  if (v === undefined) return;
  const h = obj(v);
  if (!h || h.layout !== 'loglinear-us-1024')
    throw bad(path, where, 'is not a histogram of layout "loglinear-us-1024"');
  const count = nonNeg(h.count);
  if (count === undefined || !Number.isInteger(count)) throw bad(path, `${where}.count`, 'is not a whole number');
  for (const k of ['minUs', 'maxUs', 'sumUs'] as const)
    if (nonNeg(h[k]) === undefined) throw bad(path, `${where}.${k}`, 'is not a number of microseconds');
  if (!Array.isArray(h.buckets)) throw bad(path, `${where}.buckets`, 'is not a list');
  let total = 0;
  let last = -1;
  for (const b of h.buckets as unknown[]) {
    const [i, c] = Array.isArray(b) ? (b as unknown[]) : [];
    if (
      typeof i !== 'number' ||
      !Number.isInteger(i) ||
      i <= last ||
      i > TOP_BUCKET ||
      typeof c !== 'number' ||
      !Number.isInteger(c) ||
      c <= 0
    ) {
      throw bad(path, `${where}.buckets`, `holds ${JSON.stringify(b)}; expected ascending [bucket, count] pairs`);
    }
    last = i;
    total += c;
  }
  if (total !== count) throw bad(path, `${where}.buckets`, `add up to ${total}, but count is ${count}`);
}

function checkCounts(o: Obj, path: string, where: string): void {
  for (const k of ['requests', 'errors'] as const) {
    const n = nonNeg(o[k]);
    if (n === undefined || !Number.isInteger(n))
      throw bad(path, `${where}.${k}`, `is ${JSON.stringify(o[k])}; expected a whole number`);
  }
  if (!isObj(o.latency) || nonNeg(o.latency.count) === undefined) throw bad(path, `${where}.latency`, 'has no count');
}

function checkShard(v: unknown, path: string): ShardInfo | undefined {
  if (v === undefined) return undefined;
  const s = obj(v);
  const index = nonNeg(s?.index);
  const count = nonNeg(s?.count);
  if (
    !s ||
    index === undefined ||
    count === undefined ||
    !Number.isInteger(index) ||
    !Number.isInteger(count) ||
    index < 1 ||
    index > count ||
    typeof s.shapeKey !== 'string'
  ) {
    throw bad(path, 'run.shard', `is ${JSON.stringify(v)}; expected {index, count, shapeKey} with 1 <= index <= count`);
  }
  return {
    index,
    count,
    shapeKey: s.shapeKey,
    ...(typeof s.commit === 'string' ? { commit: s.commit } : {}),
    ...(typeof s.workflowRun === 'string' ? { workflowRun: s.workflowRun } : {}),
  };
}

function toRun(doc: unknown, path: string): RunResult {
  const root = obj(doc);
  if (!root) throw bad(path, 'the document', 'is not a JSON object');
  if (root.schemaVersion !== RESULTS_SCHEMA_VERSION) {
    throw new UserError(
      `Results file ${path} has schemaVersion ${JSON.stringify(root.schemaVersion)}; this perf-gate reads results.json of schemaVersion ${RESULTS_SCHEMA_VERSION}. Use the same perf-gate version for the shards and the merge.`,
    );
  }
  const run = obj(root.run);
  if (!run) throw bad(path, '"run"', 'is missing');
  if (typeof run.engine !== 'string' || typeof run.phase !== 'string') throw bad(path, 'run', 'has no engine or phase');
  for (const k of ['startedAt', 'endedAt'] as const) {
    if (typeof run[k] !== 'string' || Number.isNaN(Date.parse(run[k])))
      throw bad(path, `run.${k}`, `is ${JSON.stringify(run[k])}; expected an ISO time`);
  }
  checkCounts(run, path, 'run');
  checkHistogram(run.histogram, path, 'run.histogram');
  if (!Array.isArray(run.endpoints) || !Array.isArray(run.intervals))
    throw bad(path, 'run', 'has no endpoints or intervals list');
  for (const [i, e] of (run.endpoints as unknown[]).entries()) {
    const o = obj(e);
    if (!o || typeof o.name !== 'string') throw bad(path, `run.endpoints[${i}]`, 'has no name');
    checkCounts(o, path, `run.endpoints[${i}]`);
    checkHistogram(o.histogram, path, `run.endpoints[${i}].histogram`);
  }
  for (const [i, iv] of (run.intervals as unknown[]).entries()) {
    const o = obj(iv);
    if (!o || nonNeg(o.startMs) === undefined || nonNeg(o.durationMs) === undefined)
      throw bad(path, `run.intervals[${i}]`, 'has no startMs or durationMs');
    checkCounts(o, path, `run.intervals[${i}]`);
    checkHistogram(o.histogram, path, `run.intervals[${i}].histogram`);
    for (const [name, e] of Object.entries(obj(o.endpoints) ?? {})) {
      checkHistogram(obj(e)?.histogram, path, `run.intervals[${i}].endpoints["${name}"].histogram`);
    }
  }
  checkServed(run.served, path, 'run.served');
  for (const [i, iv] of (run.intervals as unknown[]).entries())
    checkServed(obj(iv)?.served, path, `run.intervals[${i}].served`);
  const gen = obj(run.generator);
  if (!gen || typeof gen.valid !== 'boolean' || !Array.isArray(gen.invalidReasons))
    throw bad(path, 'run.generator', 'is missing');
  const shard = checkShard(run.shard, path);

  // Built field by field from what was checked: nothing of the file reaches the merge unexamined.
  const endedAt = run.endedAt as string;
  const startedAt = run.startedAt as string;
  const out = blankRunResult({
    engine: ENGINES.includes(run.engine as EngineName) ? (run.engine as EngineName) : 'results',
    phase: run.phase as string,
    startedAt,
    endedAt,
    durationMs: nonNeg(run.durationMs) ?? Math.max(0, Date.parse(endedAt) - Date.parse(startedAt)),
  });
  out.sourceFiles = [displayPath(path)];
  out.requests = run.requests as number;
  out.errors = run.errors as number;
  out.errorsByKind = counts(run.errorsByKind, path, 'run.errorsByKind');
  out.statusCodes = counts(run.statusCodes, path, 'run.statusCodes');
  out.latency = latency(run.latency);
  if (run.histogram !== undefined) out.histogram = run.histogram as SerializedHistogram;
  const served = servedOf(run.served);
  if (served) out.served = served;
  const errorRate = nonNeg(run.errorRate);
  if (errorRate !== undefined && errorRate <= 100) out.errorRate = errorRate;
  const throughput = nonNeg(run.throughputRps);
  if (throughput !== undefined) out.throughputRps = throughput;
  if (typeof run.target === 'string') out.target = run.target;
  const tool = obj(run.tool);
  if (tool && typeof tool.name === 'string')
    out.tool = { name: tool.name, ...(typeof tool.version === 'string' ? { version: tool.version } : {}) };
  const vus = obj(run.vus);
  if (vus) out.vus = definedNumbers({ created: nonNeg(vus.created), max: nonNeg(vus.max) });
  out.endpoints = (run.endpoints as Obj[]).map((e, i) => {
    const at = `run.endpoints[${i}]`;
    const ep: EndpointResult = {
      name: e.name as string,
      requests: e.requests as number,
      errors: e.errors as number,
      latency: latency(e.latency),
      statusCodes: counts(e.statusCodes, path, `${at}.statusCodes`),
    };
    if (e.histogram !== undefined) ep.histogram = e.histogram as SerializedHistogram;
    if (e.errorsByKind !== undefined) ep.errorsByKind = counts(e.errorsByKind, path, `${at}.errorsByKind`);
    if (e.checkFailures !== undefined) ep.checkFailures = counts(e.checkFailures, path, `${at}.checkFailures`);
    checkConsistent(ep, path, at);
    return ep;
  });
  out.intervals = (run.intervals as Obj[]).map((o, i) => {
    const at = `run.intervals[${i}]`;
    const iv: IntervalResult = {
      startMs: o.startMs as number,
      durationMs: o.durationMs as number,
      requests: o.requests as number,
      errors: o.errors as number,
      latency: latency(o.latency),
    };
    Object.assign(
      iv,
      definedNumbers({
        targetRate: nonNeg(o.targetRate),
        arrivalsStarted: nonNeg(o.arrivalsStarted),
        concurrency: nonNeg(o.concurrency),
      }),
    );
    if (o.histogram !== undefined) iv.histogram = o.histogram as SerializedHistogram;
    const ivServed = servedOf(o.served);
    if (ivServed) iv.served = ivServed;
    const eps = obj(o.endpoints);
    if (eps) {
      iv.endpoints = {};
      for (const [name, v] of Object.entries(eps)) {
        const e = obj(v);
        const ew = `${at}.endpoints[${JSON.stringify(name)}]`;
        if (!e) throw bad(path, ew, 'is not an object');
        const requests = count(e.requests, path, `${ew}.requests`);
        const ep: IntervalEndpoint = {
          requests,
          errors: e.errors === undefined ? 0 : count(e.errors, path, `${ew}.errors`),
          latency: latency(e.latency),
        };
        if (e.histogram !== undefined) ep.histogram = e.histogram as SerializedHistogram;
        if (e.statusCodes !== undefined) ep.statusCodes = counts(e.statusCodes, path, `${ew}.statusCodes`);
        if (e.errorsByKind !== undefined) ep.errorsByKind = counts(e.errorsByKind, path, `${ew}.errorsByKind`);
        if (e.checkFailures !== undefined) ep.checkFailures = counts(e.checkFailures, path, `${ew}.checkFailures`);
        checkConsistent(ep, path, ew);
        iv.endpoints[name] = ep;
      }
    }
    checkConsistent(iv, path, at);
    return iv;
  });
  checkConsistent(out, path, 'run');
  checkParts(out, path);
  const interval = nonNeg(run.intervalMs);
  if (interval !== undefined && interval > 0) out.intervalMs = interval;
  out.generator = {
    valid: gen.valid as boolean,
    invalidReasons: strings(gen.invalidReasons),
    ...definedNumbers({
      arrivalsScheduled: nonNeg(gen.arrivalsScheduled),
      arrivalsStarted: nonNeg(gen.arrivalsStarted),
      arrivalsDropped: nonNeg(gen.arrivalsDropped),
      maxLagMs: nonNeg(gen.maxLagMs),
    }),
  };
  out.customMetrics = customMetrics(run.customMetrics);
  out.toolThresholds = (Array.isArray(run.toolThresholds) ? (run.toolThresholds as unknown[]) : [])
    .map((t) => obj(t))
    .filter(
      (t): t is Obj =>
        !!t && typeof t.metric === 'string' && typeof t.expression === 'string' && typeof t.ok === 'boolean',
    )
    .map((t) => ({ metric: t.metric as string, expression: t.expression as string, ok: t.ok as boolean }));
  if (run.checkFailures !== undefined) out.checkFailures = counts(run.checkFailures, path, 'run.checkFailures');
  if (run.flows !== undefined) {
    out.flows = (Array.isArray(run.flows) ? (run.flows as unknown[]) : [])
      .map((f) => obj(f))
      .filter((f): f is Obj => !!f && typeof f.name === 'string')
      .map((f, i) => ({
        name: f.name as string,
        started: count(f.started ?? 0, path, `run.flows[${i}].started`),
        completed: count(f.completed ?? 0, path, `run.flows[${i}].completed`),
        failed: count(f.failed ?? 0, path, `run.flows[${i}].failed`),
      }));
  }
  out.notes = strings(run.notes);
  const shape = obj(run.shape);
  const stages = shape && Array.isArray(shape.stages) ? (shape.stages as unknown[]).map(stage) : undefined;
  if (shape && stages && stages.every((x) => x !== undefined)) {
    out.shape = {
      stages: stages as Stage[],
      ...definedNumbers({ peakRate: nonNeg(shape.peakRate), durationScale: nonNeg(shape.durationScale) }),
    };
    if (shape.source === 'perf-gate' || shape.source === 'script') out.shape.source = shape.source;
  }
  if (shard) out.shard = shard;
  // The analyses are made again for the run that is judged now; a guard's stop stays, it ended the load.
  const stop = obj(obj(run.analysis)?.stoppedEarly);
  const atMs = nonNeg(stop?.atMs);
  if (stop && typeof stop.guard === 'string' && typeof stop.reason === 'string' && atMs !== undefined) {
    out.analysis = {
      decideOn: 'all',
      judged: 'all',
      guards: [],
      stoppedEarly: { guard: stop.guard, reason: stop.reason, atMs },
    };
  }
  // A run that could not be judged when it was written (engine crash, unreachable target) must not pass now.
  const verdict = obj(root.verdict);
  if (verdict?.status === 'error') {
    const reasons = strings(verdict.reasons);
    out.generator.valid = false;
    out.generator.invalidReasons.push(`its own run ended in error: ${reasons.join('; ') || 'no reason given'}`);
  }
  setMeta(out, {
    percentileMethod: out.engine === 'k6' || out.tool?.name.includes('k6') ? 'interpolated' : 'nearest',
    wholeRun: true,
  });
  return out;
}

/** A `served` block (successful responses): a whole count, a latency count, an optional histogram. */
function checkServed(v: unknown, path: string, where: string): void {
  if (v === undefined) return;
  const o = obj(v);
  const n = nonNeg(o?.requests);
  if (!o || n === undefined || !Number.isInteger(n))
    throw bad(path, `${where}.requests`, `is ${JSON.stringify(o?.requests)}; expected a whole number`);
  if (!isObj(o.latency) || nonNeg(o.latency.count) === undefined) throw bad(path, `${where}.latency`, 'has no count');
  checkHistogram(o.histogram, path, `${where}.histogram`);
}

function servedOf(v: unknown): ServedFigures | undefined {
  const o = obj(v);
  if (!o) return undefined;
  const out: ServedFigures = { requests: o.requests as number, latency: latency(o.latency) };
  if (o.histogram !== undefined) out.histogram = o.histogram as SerializedHistogram;
  return out;
}

function latency(v: unknown): LatencyStats {
  const o = obj(v) ?? {};
  const out: LatencyStats = { count: nonNeg(o.count) ?? 0 };
  for (const k of ['min', 'mean', 'p50', 'p90', 'p95', 'p99', 'p999', 'max'] as const) {
    const n = nonNeg(o[k]);
    if (n !== undefined) out[k] = n;
  }
  return out;
}

function stage(v: unknown): Stage | undefined {
  const o = obj(v);
  const durationMs = nonNeg(o?.durationMs);
  const startRate = nonNeg(o?.startRate);
  const endRate = nonNeg(o?.endRate);
  if (!o || durationMs === undefined || startRate === undefined || endRate === undefined) return undefined;
  return { durationMs, startRate, endRate, ...(typeof o.name === 'string' ? { name: o.name } : {}) };
}

function customMetrics(v: unknown): Record<string, CustomMetric> {
  const out: Record<string, CustomMetric> = {};
  for (const [name, m] of Object.entries(obj(v) ?? {})) {
    const o = obj(m);
    const type = o?.type;
    if (type !== 'counter' && type !== 'rate' && type !== 'trend' && type !== 'gauge') continue;
    const values: Record<string, number> = {};
    for (const [k, x] of Object.entries(obj(o!.values) ?? {})) {
      const n = num(x);
      if (n !== undefined) values[k] = n;
    }
    out[name] = { type, values };
  }
  return out;
}

/** Only the fields that hold a number, so an absent figure stays absent. */
function definedNumbers<T extends Record<string, number | undefined>>(o: T): { [K in keyof T]?: number } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]?: number };
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((n): n is string => typeof n === 'string') : [];
}

/** A map of counts: every value a whole number of at least 0, or the file is refused naming the field. */
function counts(v: unknown, path: string, where: string): Record<string, number> {
  const out: Record<string, number> = {};
  if (v === undefined) return out;
  const o = obj(v);
  if (!o) throw bad(path, where, `is ${JSON.stringify(v)?.slice(0, 60)}; expected an object of counts`);
  for (const [k, n] of Object.entries(o)) out[k] = count(n, path, `${where}[${JSON.stringify(k)}]`);
  return out;
}

/** One count: a whole number of at least 0 (a negative or fractional count cannot come from a real run). */
function count(v: unknown, path: string, where: string): number {
  const c = typeof v === 'number' ? v : Number.NaN;
  if (!Number.isSafeInteger(c) || c < 0)
    throw bad(path, where, `is ${JSON.stringify(v)?.slice(0, 60)}; expected a whole number of at least 0`);
  return c;
}

function sum(o: Record<string, number>, pick: (k: string) => boolean = () => true): number {
  let n = 0;
  for (const [k, c] of Object.entries(o)) if (pick(k)) n += c;
  return n;
}

const is5xx = (code: string): boolean => /^5\d\d$/.test(code);

/**
 * The figures of one row (the run, an endpoint, an interval) agree with each other as a real run's do: errors at most
 * the requests and at least the 5xx responses (a 5xx is always an error), status codes at most one per request, a
 * histogram counting what the latency summary counts, never more than the requests. A file edited to turn 14 × 500
 * into a pass fails here, naming the file and the field.
 */
function checkConsistent(
  row: {
    requests: number;
    errors: number;
    statusCodes?: Record<string, number>;
    latency: LatencyStats;
    histogram?: SerializedHistogram;
  },
  path: string,
  where: string,
): void {
  if (row.errors > row.requests)
    throw bad(path, `${where}.errors`, `is ${row.errors}, more than its ${row.requests} requests`);
  if (row.statusCodes) {
    const responses = sum(row.statusCodes);
    if (responses > row.requests)
      throw bad(path, `${where}.statusCodes`, `count ${responses} responses, more than its ${row.requests} requests`);
    const fives = sum(row.statusCodes, is5xx);
    if (fives > row.errors)
      throw bad(
        path,
        `${where}.errors`,
        `is ${row.errors}, but ${where}.statusCodes holds ${fives} 5xx responses, each an error`,
      );
  }
  if (row.latency.count > row.requests)
    throw bad(path, `${where}.latency.count`, `is ${row.latency.count}, more than its ${row.requests} requests`);
  if (row.histogram && row.histogram.count !== row.latency.count) {
    throw bad(
      path,
      `${where}.histogram.count`,
      `is ${row.histogram.count}, but ${where}.latency.count is ${row.latency.count}`,
    );
  }
}

/** The parts (endpoints, intervals) add up to no more than the run: a row may not bring requests the run lacks. */
function checkParts(run: RunResult, path: string): void {
  const eps = run.endpoints;
  for (const k of ['requests', 'errors'] as const) {
    const total = eps.reduce((n, e) => n + e[k], 0);
    if (total > run[k]) throw bad(path, `run.endpoints[*].${k}`, `add up to ${total}, more than run.${k} (${run[k]})`);
    const byInterval = run.intervals.reduce((n, iv) => n + iv[k], 0);
    if (byInterval > run[k])
      throw bad(path, `run.intervals[*].${k}`, `add up to ${byInterval}, more than run.${k} (${run[k]})`);
  }
  if (run.histogram && eps.length > 0 && eps.every((e) => e.histogram)) {
    const total = eps.reduce((n, e) => n + e.histogram!.count, 0);
    if (total !== run.histogram.count)
      throw bad(
        path,
        'run.endpoints[*].histogram.count',
        `add up to ${total}, but run.histogram.count is ${run.histogram.count}`,
      );
  }
  for (const [i, iv] of run.intervals.entries()) {
    for (const [name, e] of Object.entries(iv.endpoints ?? {})) {
      if (e.requests > iv.requests)
        throw bad(
          path,
          `run.intervals[${i}].endpoints[${JSON.stringify(name)}].requests`,
          `is ${e.requests}, more than the interval's ${iv.requests}`,
        );
    }
  }
}

export const perfGateReader: JsonResultReader = {
  format: 'perf-gate',
  detect(head: string): boolean {
    return looksLikeJsonObject(head) && /"run"\s*:\s*\{\s*"schemaVersion"\s*:/.test(head);
  },
  async read(path: string, _opts: ReadOptions): Promise<RunResult> {
    const { doc } = await readJsonFile(path);
    return toRun(doc, path);
  },
  async fromDocument(doc: unknown, path: string, _opts: ReadOptions): Promise<RunResult> {
    return toRun(doc, path);
  },
};
