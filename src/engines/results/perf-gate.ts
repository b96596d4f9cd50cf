// perf-gate's own results.json (`{"schemaVersion": 1, "run": {...}, "verdict": {...}}`): the shards of a sharded
// run, or any earlier run judged again. The file is our own shape, but it arrives as a downloaded artifact, so it
// is checked like any untrusted input before a figure of it is used: a malformed histogram would otherwise merge
// into exact-looking percentiles.
import { UserError } from '../../config/types.js';
import { bucketIndex } from '../../metrics/histogram.js';
import { RESULTS_SCHEMA_VERSION, type RunResult, type ShardInfo } from '../../model.js';
import type { JsonResultReader, ReadOptions } from './types.js';
import { displayPath, isObj, looksLikeJsonObject, nonNeg, obj, readJsonFile, setMeta, str, type Obj } from './util.js';

/** Highest bucket a histogram of this layout can have: latencies are clamped to 2^31 - 1 µs. */
const TOP_BUCKET = bucketIndex(2 ** 31 - 1);

function bad(path: string, where: string, what: string): UserError {
  return new UserError(`Results file ${path} is not a valid perf-gate results.json: ${where} ${what}`);
}

function checkHistogram(v: unknown, path: string, where: string): void {
  if (v === undefined) return;
  const h = obj(v);
  if (!h || h.layout !== 'loglinear-us-1024') throw bad(path, where, 'is not a histogram of layout "loglinear-us-1024"');
  const count = nonNeg(h.count);
  if (count === undefined || !Number.isInteger(count)) throw bad(path, `${where}.count`, 'is not a whole number');
  for (const k of ['minUs', 'maxUs', 'sumUs'] as const) if (nonNeg(h[k]) === undefined) throw bad(path, `${where}.${k}`, 'is not a number of microseconds');
  if (!Array.isArray(h.buckets)) throw bad(path, `${where}.buckets`, 'is not a list');
  let total = 0;
  let last = -1;
  for (const b of h.buckets as unknown[]) {
    const [i, c] = Array.isArray(b) ? (b as unknown[]) : [];
    if (typeof i !== 'number' || !Number.isInteger(i) || i <= last || i > TOP_BUCKET || typeof c !== 'number' || !Number.isInteger(c) || c <= 0) {
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
    if (n === undefined || !Number.isInteger(n)) throw bad(path, `${where}.${k}`, `is ${JSON.stringify(o[k])}; expected a whole number`);
  }
  if (!isObj(o.latency) || nonNeg(o.latency.count) === undefined) throw bad(path, `${where}.latency`, 'has no count');
}

function checkShard(v: unknown, path: string): ShardInfo | undefined {
  if (v === undefined) return undefined;
  const s = obj(v);
  const index = nonNeg(s?.index);
  const count = nonNeg(s?.count);
  if (!s || index === undefined || count === undefined || !Number.isInteger(index) || !Number.isInteger(count) || index < 1 || index > count || typeof s.shapeKey !== 'string') {
    throw bad(path, 'run.shard', `is ${JSON.stringify(v)}; expected {index, count, shapeKey} with 1 <= index <= count`);
  }
  return s as unknown as ShardInfo;
}

function toRun(doc: unknown, path: string): RunResult {
  const root = obj(doc);
  if (!root) throw bad(path, 'the document', 'is not a JSON object');
  if (root.schemaVersion !== RESULTS_SCHEMA_VERSION) {
    throw new UserError(`Results file ${path} has schemaVersion ${JSON.stringify(root.schemaVersion)}; this perf-gate reads results.json of schemaVersion ${RESULTS_SCHEMA_VERSION}. Use the same perf-gate version for the shards and the merge.`);
  }
  const run = obj(root.run);
  if (!run) throw bad(path, '"run"', 'is missing');
  if (typeof run.engine !== 'string' || typeof run.phase !== 'string') throw bad(path, 'run', 'has no engine or phase');
  for (const k of ['startedAt', 'endedAt'] as const) {
    if (typeof run[k] !== 'string' || Number.isNaN(Date.parse(run[k]))) throw bad(path, `run.${k}`, `is ${JSON.stringify(run[k])}; expected an ISO time`);
  }
  checkCounts(run, path, 'run');
  checkHistogram(run.histogram, path, 'run.histogram');
  if (!Array.isArray(run.endpoints) || !Array.isArray(run.intervals)) throw bad(path, 'run', 'has no endpoints or intervals list');
  for (const [i, e] of (run.endpoints as unknown[]).entries()) {
    const o = obj(e);
    if (!o || typeof o.name !== 'string') throw bad(path, `run.endpoints[${i}]`, 'has no name');
    checkCounts(o, path, `run.endpoints[${i}]`);
    checkHistogram(o.histogram, path, `run.endpoints[${i}].histogram`);
  }
  for (const [i, iv] of (run.intervals as unknown[]).entries()) {
    const o = obj(iv);
    if (!o || nonNeg(o.startMs) === undefined || nonNeg(o.durationMs) === undefined) throw bad(path, `run.intervals[${i}]`, 'has no startMs or durationMs');
    checkCounts(o, path, `run.intervals[${i}]`);
    checkHistogram(o.histogram, path, `run.intervals[${i}].histogram`);
  }
  const gen = obj(run.generator);
  if (!gen || typeof gen.valid !== 'boolean' || !Array.isArray(gen.invalidReasons)) throw bad(path, 'run.generator', 'is missing');
  checkShard(run.shard, path);

  const out = structuredClone(run) as unknown as RunResult;
  out.sourceFiles = [displayPath(path)];
  out.notes = strings(out.notes);
  out.generator.invalidReasons = strings(out.generator.invalidReasons);
  // Records that the merge adds up: only counts are kept, so junk cannot turn a sum into NaN.
  out.errorsByKind = counts(out.errorsByKind);
  out.statusCodes = counts(out.statusCodes);
  if (out.checkFailures !== undefined) out.checkFailures = counts(out.checkFailures);
  for (const e of out.endpoints) {
    e.statusCodes = counts(e.statusCodes);
    if (e.errorsByKind !== undefined) e.errorsByKind = counts(e.errorsByKind);
    if (e.checkFailures !== undefined) e.checkFailures = counts(e.checkFailures);
  }
  if (out.flows !== undefined) {
    out.flows = (Array.isArray(out.flows) ? (out.flows as unknown[]) : [])
      .map((f) => obj(f))
      .filter((f): f is Obj => !!f && typeof f.name === 'string')
      .map((f) => ({ name: f.name as string, started: nonNeg(f.started) ?? 0, completed: nonNeg(f.completed) ?? 0, failed: nonNeg(f.failed) ?? 0 }));
  }
  out.customMetrics = isObj(out.customMetrics) ? out.customMetrics : {};
  out.toolThresholds = Array.isArray(out.toolThresholds) ? out.toolThresholds : [];
  // The analyses are made again for the run that is judged now; a guard's stop stays, it ended the load.
  const stop = out.analysis?.stoppedEarly;
  delete out.analysis;
  if (stop) out.analysis = { decideOn: 'all', judged: 'all', guards: [], stoppedEarly: stop };
  // A run that could not be judged when it was written (engine crash, unreachable target) must not pass now.
  const verdict = obj(root.verdict);
  if (verdict?.status === 'error') {
    const reasons = Array.isArray(verdict.reasons) ? verdict.reasons.filter((r): r is string => typeof r === 'string') : [];
    out.generator = { ...out.generator, valid: false, invalidReasons: [...out.generator.invalidReasons, `its own run ended in error: ${reasons.join('; ') || 'no reason given'}`] };
  }
  setMeta(out, { percentileMethod: out.engine === 'k6' || str(out.tool?.name)?.includes('k6') ? 'interpolated' : 'nearest' });
  return out;
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((n): n is string => typeof n === 'string') : [];
}

function counts(v: unknown): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(obj(v) ?? {})) {
    const c = nonNeg(n);
    if (c !== undefined) out[k] = c;
  }
  return out;
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
