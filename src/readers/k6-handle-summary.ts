// k6 handleSummary() data written as JSON (`JSON.stringify(data)`): `metrics.<name>` = {type, contains,
// values, thresholds: {"<expr>": {ok}}}, `root_group` with arrays of groups and checks, `state.testRunDurationMs`,
// `options.summaryTrendStats`. Scripts may add keys of their own; they are ignored.
//
// The same reader takes the machine-readable summary of k6 >= 1.5 (`version`, `metadata.k6Version`,
// `config.duration` in seconds, `results.metrics` as an array of {name, type, contains, values}, checks under
// `results.checks`). That schema (grafana/k6-summary, summary 1.0.0) has no per-threshold results, only
// `results.passed`, and describes a rate's `passes` as "successful events", so there the `rate` field is used
// as given rather than recomputed from passes and fails.
import type { RunResult } from '../model.js';
import {
  buildFromK6Summary,
  legacyRateValues,
  normaliseTrendValues,
  type K6Metric,
  type K6MetricType,
  type K6Summary,
} from './k6-summary-common.js';
import { collectChecks } from './k6-summary-export.js';
import type { JsonResultReader, ReadOptions } from './types.js';
import {
  children,
  inspectFile,
  looksLikeJsonObject,
  nonNeg,
  num,
  numericEntries,
  obj,
  parseTime,
  str,
  readJsonFile,
} from './util.js';
import { UserError } from '../errors.js';

const TYPES: readonly K6MetricType[] = ['counter', 'gauge', 'rate', 'trend'];

function metricType(v: unknown): K6MetricType | undefined {
  return TYPES.find((t) => t === v);
}

function metricValues(type: K6MetricType, values: unknown, machineReadable: boolean): Record<string, number> {
  const raw = numericEntries(values);
  const o = obj(values) ?? {};
  switch (type) {
    case 'trend':
      return normaliseTrendValues(raw);
    case 'rate': {
      if (!machineReadable) return legacyRateValues(nonNeg(o.passes), nonNeg(o.fails), num(o.rate));
      const total = (nonNeg(o.passes) ?? 0) + (nonNeg(o.fails) ?? 0);
      const rate = num(o.rate) ?? 0;
      return { rate, count: Math.round(rate * total), total };
    }
    case 'counter':
    case 'gauge':
      return Object.fromEntries(raw);
  }
}

function fromHandleSummary(root: Record<string, unknown>, path: string): K6Summary {
  const metrics = obj(root.metrics);
  if (!metrics) throw new UserError(`Results file ${path} is not a k6 handleSummary JSON: it has no "metrics" object`);
  const out: K6Summary = { metrics: new Map(), thresholds: [], checks: [], notes: [] };
  for (const [name, v] of Object.entries(metrics)) {
    const o = obj(v);
    const type = o ? metricType(o.type) : undefined;
    if (!o || !type) continue;
    const metric: K6Metric = { type, values: metricValues(type, o.values, false) };
    out.metrics.set(name, metric);
    for (const [expression, res] of Object.entries(obj(o.thresholds) ?? {})) {
      const ok = obj(res)?.ok;
      if (typeof ok === 'boolean') out.thresholds.push({ metric: name, expression, ok });
    }
  }
  collectChecks(root.root_group, out.checks);
  const state = obj(root.state);
  const d = nonNeg(state?.testRunDurationMs);
  if (d !== undefined) out.durationMs = d;
  return out;
}

function fromMachineReadable(root: Record<string, unknown>, path: string): K6Summary {
  const results = obj(root.results);
  if (!results)
    throw new UserError(`Results file ${path} is not a k6 machine-readable summary: it has no "results" object`);
  const out: K6Summary = { metrics: new Map(), thresholds: [], checks: [], notes: [] };
  const add = (m: unknown) => {
    const o = obj(m);
    const name = o ? str(o.name) : undefined;
    const type = o ? metricType(o.type) : undefined;
    if (!o || name === undefined || !type) return;
    out.metrics.set(name, { type, values: metricValues(type, o.values, true) });
  };
  for (const m of children(results.metrics)) add(m);
  const checks = obj(results.checks);
  const checkMetrics = children(checks?.metrics);
  for (const m of checkMetrics) add(m);
  // checks_succeeded is the rate k6 used to call `checks`.
  const succeeded = out.metrics.get('checks_succeeded');
  if (succeeded && !out.metrics.has('checks')) out.metrics.set('checks', succeeded);
  for (const c of [...children(checks?.results), ...children(checks?.orderedChecks)]) {
    const co = obj(c);
    const name = co ? str(co.name) : undefined;
    if (!co || name === undefined) continue;
    out.checks.push({ name, group: '', passes: nonNeg(co.passes) ?? 0, fails: nonNeg(co.fails) ?? 0 });
  }
  const passed = results.passed;
  if (typeof passed === 'boolean') out.thresholds.push({ metric: 'k6', expression: 'results.passed', ok: passed });
  out.notes.push(
    'The k6 machine-readable summary lists no per-threshold results, only whether the run passed (toolThresholds "k6").',
  );
  const config = obj(root.config);
  const seconds = nonNeg(config?.duration);
  if (seconds !== undefined) out.durationMs = seconds * 1000;
  const meta = obj(root.metadata);
  const generated = parseTime(meta?.generatedAt);
  if (generated !== undefined) out.endMs = generated;
  const version = str(meta?.k6Version);
  if (version) out.version = version;
  return out;
}

function isMachineReadable(root: Record<string, unknown>): boolean {
  return obj(root.results) !== undefined && (obj(root.metadata) !== undefined || typeof root.version === 'string');
}

async function fromDocument(doc: unknown, path: string, opts: ReadOptions): Promise<RunResult> {
  const info = await inspectFile(path);
  return build(doc, path, opts, info.mtimeMs);
}

function build(doc: unknown, path: string, opts: ReadOptions, mtimeMs: number): RunResult {
  const root = obj(doc);
  if (!root) throw new UserError(`Results file ${path} is not a k6 summary: the JSON is not an object`);
  const summary = isMachineReadable(root) ? fromMachineReadable(root, path) : fromHandleSummary(root, path);
  return buildFromK6Summary(summary, path, opts, mtimeMs);
}

export const k6HandleSummaryReader: JsonResultReader = {
  format: 'k6-handle-summary',
  detect(head: string): boolean {
    if (!looksLikeJsonObject(head)) return false;
    if (/"k6Version"\s*:/.test(head) && /"results"\s*:\s*\{/.test(head)) return true;
    if (!/"metrics"\s*:\s*\{/.test(head) && !/"(testRunDurationMs|summaryTrendStats)"\s*:/.test(head)) return false;
    return (
      /"(testRunDurationMs|summaryTrendStats)"\s*:/.test(head) ||
      (/"type"\s*:\s*"(trend|counter|rate|gauge)"/.test(head) && /"values"\s*:\s*\{/.test(head)) ||
      /"groups"\s*:\s*\[/.test(head)
    );
  },
  async read(path: string, opts: ReadOptions): Promise<RunResult> {
    const { doc, info } = await readJsonFile(path);
    return build(doc, path, opts, info.mtimeMs);
  },
  fromDocument,
};
