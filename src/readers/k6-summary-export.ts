// k6 `--summary-export=file.json`: `metrics.<name>` are flat objects (trend stats, count/rate, passes/fails/
// value, min/max/value) without a type, `root_group` holds groups and checks keyed by name.
//
// Threshold booleans are inverted in this format: `true` means the threshold was CROSSED (failed), `false`
// that it passed. k6 wrote it that way from the start and kept it for compatibility (grafana/k6#1498, "Threshold
// results on summary export are reversed"; grafana/k6-docs#30). The genuine files agree: `"rate<0.1": true` on
// an http_req_failed of value 1, `"p(90) < 400": true` on a p(90) of 595 ms, `"p(95)<500": false` on a p(95) of 0.
//
// Rate metrics: `passes` counts samples that were true (non-zero) and `fails` the others, whatever the metric
// means; for http_req_failed "passes" are therefore the FAILED requests (value = passes / (passes + fails)).
import type { ToolThreshold, RunResult } from '../model.js';
import {
  baseName,
  buildFromK6Summary,
  legacyRateValues,
  normaliseTrendValues,
  parsePercentileStat,
  type K6Check,
  type K6Metric,
  type K6MetricType,
  type K6Summary,
} from './k6-summary-common.js';
import type { JsonResultReader, ReadOptions } from './types.js';
import {
  children,
  inspectFile,
  looksLikeJsonObject,
  nonNeg,
  num,
  numericEntries,
  obj,
  readJsonFile,
  str,
  type Obj,
} from './util.js';
import { UserError } from '../errors.js';

function inferType(o: Obj): K6MetricType | undefined {
  const keys = Object.keys(o);
  if ('passes' in o || 'fails' in o) return 'rate';
  if ('avg' in o || 'med' in o || keys.some((k) => parsePercentileStat(k) !== undefined)) return 'trend';
  if ('count' in o && 'rate' in o) return 'counter';
  if ('value' in o) return 'gauge';
  if ('min' in o && 'max' in o) return 'trend';
  if ('count' in o) return 'counter';
  return undefined;
}

const MAX_GROUP_DEPTH = 64;

export function collectChecks(group: unknown, out: K6Check[], depth = 0): void {
  const g = obj(group);
  if (!g || depth > MAX_GROUP_DEPTH) return;
  const path = str(g.path) ?? '';
  for (const c of children(g.checks)) {
    const co = obj(c);
    if (!co) continue;
    const name = str(co.name);
    if (name === undefined) continue;
    out.push({ name, group: path, passes: nonNeg(co.passes) ?? 0, fails: nonNeg(co.fails) ?? 0 });
  }
  for (const sub of children(g.groups)) collectChecks(sub, out, depth + 1);
}

function toSummary(doc: unknown, path: string): K6Summary {
  const root = obj(doc);
  const metrics = root ? obj(root.metrics) : undefined;
  if (!root || !metrics)
    throw new UserError(`Results file ${path} is not a k6 summary export: it has no "metrics" object`);
  const out: K6Summary = { metrics: new Map(), thresholds: [], checks: [], notes: [] };
  for (const [name, v] of Object.entries(metrics)) {
    const o = obj(v);
    if (!o) continue;
    const type = inferType(o);
    if (!type) continue;
    const raw = numericEntries(o);
    let values: Record<string, number>;
    if (type === 'rate') values = legacyRateValues(nonNeg(o.passes), nonNeg(o.fails), num(o.value));
    else if (type === 'trend') values = normaliseTrendValues(raw);
    else values = Object.fromEntries(raw.filter(([k]) => k !== 'thresholds'));
    const metric: K6Metric = { type, values };
    out.metrics.set(name, metric);
    for (const [expression, crossed] of Object.entries(obj(o.thresholds) ?? {})) {
      if (typeof crossed !== 'boolean') continue;
      const t: ToolThreshold = { metric: name, expression, ok: !crossed };
      out.thresholds.push(t);
    }
  }
  collectChecks(root.root_group, out.checks);
  if (out.metrics.size > 0 && ![...out.metrics.keys()].some((n) => baseName(n).startsWith('http_req'))) {
    out.notes.push('The summary has no HTTP metrics.');
  }
  return out;
}

async function fromDocument(doc: unknown, path: string, opts: ReadOptions): Promise<RunResult> {
  const info = await inspectFile(path);
  return buildFromK6Summary(toSummary(doc, path), path, opts, info.mtimeMs);
}

export const k6SummaryExportReader: JsonResultReader = {
  format: 'k6-summary-export',
  detect(head: string): boolean {
    if (!looksLikeJsonObject(head) || !/"metrics"\s*:\s*\{/.test(head)) return false;
    // handleSummary and the machine-readable summary wrap stats in type/contains/values and list groups in arrays.
    if (/"(contains|values|k6Version|testRunDurationMs|summaryTrendStats)"\s*:/.test(head)) return false;
    if (/"groups"\s*:\s*\[/.test(head)) return false;
    return /"root_group"\s*:/.test(head) || /"(avg|med|passes|fails|p\(\d+(\.\d+)?\))"\s*:/.test(head);
  },
  async read(path: string, opts: ReadOptions): Promise<RunResult> {
    const { doc, info } = await readJsonFile(path);
    return buildFromK6Summary(toSummary(doc, path), path, opts, info.mtimeMs);
  },
  fromDocument,
};
