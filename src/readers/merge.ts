// Combining the results of several load generators that ran together (Artillery workers, k6 instances).
// Counts add up exactly. Latency distributions merge exactly when every file brought a histogram (k6 NDJSON,
// Artillery 1 raw latencies); otherwise only summaries exist and a merged percentile is an estimate, which the
// notes say plainly.
import { basename } from 'node:path';
import { Histogram } from '../metrics/histogram.js';
import {
  type CustomMetric,
  type EndpointResult,
  type ErrorKind,
  type FlowResult,
  type IntervalEndpoint,
  type IntervalResult,
  type LatencyStats,
  type RunResult,
  type ServedFigures,
  type ToolThreshold,
  RESULTS_SCHEMA_VERSION,
  endpointHistogram,
} from '../model.js';
import { combineLatency, combineTrendValues, statsFromHistogram } from './stats.js';
import type { ReadOptions } from './types.js';
import { addCount, errorRatePct, getMeta, setMeta, type ReaderMeta } from './util.js';

function percentileNames(fields: string[]): string {
  return fields.map((f) => (f === 'p999' ? 'p99.9' : f)).join(', ');
}

interface LatencyPart {
  stats: LatencyStats;
  histogram?: RunResult['histogram'];
}

/** Exact when every non-empty part has a histogram, else the summary estimate. */
function mergeLatency(
  parts: LatencyPart[],
  method: ReaderMeta['percentileMethod'],
): { stats: LatencyStats; histogram?: RunResult['histogram']; estimated: string[] } {
  const nonEmpty = parts.filter((p) => p.stats.count > 0);
  if (nonEmpty.length > 0 && nonEmpty.every((p) => p.histogram)) {
    const h = new Histogram(64);
    for (const p of nonEmpty) h.merge(p.histogram!);
    return { stats: statsFromHistogram(h, method), histogram: h.toJSON(), estimated: [] };
  }
  const { stats, estimated } = combineLatency(parts.map((p) => p.stats));
  return { stats, estimated };
}

/**
 * The successful responses of several parts, when every part tells them apart (`served`): a part without errors
 * served every response, so its own histogram is its served one. Undefined when a part has none.
 */
function mergeServed(
  parts: ReadonlyArray<Pick<RunResult, 'requests' | 'errors' | 'histogram' | 'latency' | 'served'>>,
  method: ReaderMeta['percentileMethod'],
): ServedFigures | undefined {
  if (parts.length === 0 || !parts.every((p) => p.served)) return undefined;
  const lat = mergeLatency(
    parts.map((p) => ({
      stats: p.served!.latency,
      histogram: p.served!.histogram ?? (p.errors === 0 ? p.histogram : undefined),
    })),
    method,
  );
  return {
    requests: parts.reduce((n, p) => n + p.served!.requests, 0),
    latency: lat.stats,
    ...(lat.histogram ? { histogram: lat.histogram } : {}),
  };
}

function sumRecords<K extends string>(records: Array<Partial<Record<K, number>>>): Partial<Record<K, number>> {
  const out: Partial<Record<K, number>> = {};
  for (const r of records) for (const [k, v] of Object.entries(r) as Array<[K, number]>) addCount(out, k, v);
  return out;
}

function mergeEndpoints(
  results: RunResult[],
  method: ReaderMeta['percentileMethod'],
  estimatedOut: Set<string>,
): EndpointResult[] {
  const groups = new Map<string, EndpointResult[]>();
  for (const r of results) {
    for (const e of r.endpoints) {
      const list = groups.get(e.name) ?? [];
      list.push(e);
      groups.set(e.name, list);
    }
  }
  const out: EndpointResult[] = [];
  for (const [name, list] of groups) {
    const lat = mergeLatency(
      list.map((e) => ({ stats: e.latency, histogram: e.histogram })),
      method,
    );
    for (const f of lat.estimated) estimatedOut.add(f);
    const ep: EndpointResult = {
      name,
      requests: list.reduce((a, e) => a + e.requests, 0),
      errors: list.reduce((a, e) => a + e.errors, 0),
      latency: lat.stats,
      statusCodes: sumRecords(list.map((e) => e.statusCodes)) as Record<string, number>,
    };
    if (lat.histogram) ep.histogram = lat.histogram;
    // Kinds and failed checks travel with the rows, so merged endpoint rows still add up to the run.
    if (list.some((e) => e.errorsByKind))
      ep.errorsByKind = sumRecords<ErrorKind>(list.map((e) => e.errorsByKind ?? {}));
    if (list.some((e) => e.checkFailures))
      ep.checkFailures = sumRecords(list.map((e) => e.checkFailures ?? {})) as Record<string, number>;
    out.push(ep);
  }
  return out.sort((a, b) => b.requests - a.requests || a.name.localeCompare(b.name));
}

function mergeIntervals(
  results: RunResult[],
  startMs: number,
  endMs: number,
  method: ReaderMeta['percentileMethod'],
  notes: string[],
  alignFrom?: number,
): { intervals: IntervalResult[]; intervalMs?: number } {
  const withIntervals = results.filter((r) => r.intervals.length > 0);
  if (withIntervals.length === 0) return { intervals: [] };
  const widths = new Set(withIntervals.map((r) => r.intervalMs ?? 0));
  if (widths.size !== 1 || withIntervals.some((r) => !r.intervalMs)) {
    notes.push('The files use different interval widths, so no combined time series is shown.');
    return { intervals: [] };
  }
  const width = withIntervals[0]!.intervalMs!;
  // Readers align intervals to wall-clock multiples of the width, so the same bucket index means the same time.
  // Engines that count intervals from their own start (the built-in engine's shards) are aligned from `alignFrom`,
  // the earliest start: intervals that began within half a width of each other are the same interval.
  const buckets = new Map<number, Array<{ iv: IntervalResult; absStart: number }>>();
  for (const r of withIntervals) {
    const runStart = Date.parse(r.startedAt);
    for (const iv of r.intervals) {
      const absStart = runStart + iv.startMs;
      const key =
        alignFrom === undefined
          ? Math.floor((absStart + iv.durationMs / 2) / width)
          : Math.floor((absStart - alignFrom + width / 2) / width);
      const list = buckets.get(key) ?? [];
      list.push({ iv, absStart });
      buckets.set(key, list);
    }
  }
  const intervals: IntervalResult[] = [];
  for (const [key, list] of [...buckets].sort((a, b) => a[0] - b[0])) {
    let s = Math.max(startMs, Math.min(...list.map((x) => x.absStart)));
    let duration = Math.max(0, Math.min(endMs, Math.max(...list.map((x) => x.absStart + x.iv.durationMs))) - s);
    if (alignFrom !== undefined) {
      // On the grid from alignFrom, so that intervals are not stretched by how far apart the parts started.
      s = alignFrom + key * width;
      duration = Math.max(...list.map((x) => x.iv.durationMs));
    }
    const lat = mergeLatency(
      list.map(({ iv }) => ({ stats: iv.latency, histogram: iv.histogram })),
      method,
    );
    const iv: IntervalResult = {
      startMs: s - startMs,
      durationMs: duration,
      requests: list.reduce((a, x) => a + x.iv.requests, 0),
      errors: list.reduce((a, x) => a + x.iv.errors, 0),
      latency: lat.stats,
    };
    if (lat.histogram) iv.histogram = lat.histogram;
    if (iv.errors > 0 && withIntervals.every((r) => r.served)) {
      const served = mergeServed(
        list.map(({ iv: x }) => ({
          ...x,
          served: x.served ?? {
            requests: x.requests - x.errors,
            latency: x.latency,
            ...(x.histogram ? { histogram: x.histogram } : {}),
          },
        })),
        method,
      );
      if (served) iv.served = served;
    }
    const conc = list.filter((x) => x.iv.concurrency !== undefined);
    if (conc.length) iv.concurrency = conc.reduce((a, x) => a + x.iv.concurrency!, 0);
    const started = list.filter((x) => x.iv.arrivalsStarted !== undefined);
    if (started.length) iv.arrivalsStarted = started.reduce((a, x) => a + x.iv.arrivalsStarted!, 0);
    if (list.every((x) => x.iv.targetRate !== undefined))
      iv.targetRate = list.reduce((a, x) => a + x.iv.targetRate!, 0);
    const endpoints = mergeIntervalEndpoints(
      list.map((x) => x.iv),
      method,
    );
    if (endpoints) iv.endpoints = endpoints;
    intervals.push(iv);
  }
  return { intervals, intervalMs: width };
}

/**
 * One interval's per-endpoint figures from several parts (shards). With histograms on every part (the built-in
 * engine writes them) the merge is exact: percentiles from the merged histogram, status codes, error kinds and check
 * failures summed. Without, only what adds up exactly is kept: counts, min, max and mean; percentiles are left absent
 * rather than averaged.
 */
function mergeIntervalEndpoints(
  parts: IntervalResult[],
  method: ReaderMeta['percentileMethod'],
): Record<string, IntervalEndpoint> | undefined {
  const withEndpoints = parts.filter((p) => p.endpoints);
  if (withEndpoints.length === 0) return undefined;
  if (withEndpoints.length === 1) return { ...withEndpoints[0]!.endpoints! };
  const byName = new Map<string, IntervalEndpoint[]>();
  for (const p of withEndpoints) {
    for (const [name, e] of Object.entries(p.endpoints!)) {
      // A part's only endpoint leaves its histogram to the interval: take it from there, it merges like any other.
      const histogram = endpointHistogram(p, e);
      byName.set(name, [...(byName.get(name) ?? []), histogram && !e.histogram ? { ...e, histogram } : e]);
    }
  }
  const out: Record<string, IntervalEndpoint> = {};
  for (const [name, list] of byName) {
    const requests = list.reduce((a, e) => a + e.requests, 0);
    const errors = list.reduce((a, e) => a + e.errors, 0);
    const exact = list.every((e) => (e.latency.count === 0 || e.histogram) && (e.requests === 0 || e.statusCodes));
    if (exact) {
      const lat = mergeLatency(
        list.map((e) => ({ stats: e.latency, histogram: e.histogram })),
        method,
      );
      const ep: IntervalEndpoint = {
        requests,
        errors,
        latency: lat.stats,
        ...(lat.histogram ? { histogram: lat.histogram } : {}),
        statusCodes: sumRecords(list.map((e) => e.statusCodes ?? {})) as Record<string, number>,
        errorsByKind: sumRecords(list.map((e) => e.errorsByKind ?? {})),
      };
      if (list.some((e) => e.checkFailures))
        ep.checkFailures = sumRecords(list.map((e) => e.checkFailures ?? {})) as Record<string, number>;
      out[name] = ep;
      continue;
    }
    const { stats } = combineLatency(list.map((e) => e.latency));
    const latency: LatencyStats = { count: stats.count };
    if (list.filter((e) => e.latency.count > 0).length <= 1) Object.assign(latency, stats);
    else for (const k of ['min', 'mean', 'max'] as const) if (stats[k] !== undefined) latency[k] = stats[k];
    out[name] = { requests, errors, latency };
  }
  return out;
}

function mergeCustom(
  results: RunResult[],
  notes: string[],
): { metrics: Record<string, CustomMetric>; histograms: Map<string, Histogram> } {
  const names = new Set(results.flatMap((r) => Object.keys(r.customMetrics)));
  const metrics: Record<string, CustomMetric> = {};
  const histograms = new Map<string, Histogram>();
  const estimatedTrends: string[] = [];
  const conflicting: string[] = [];
  // The file that ended last holds the latest value of a gauge.
  const byEnd = [...results].sort((a, b) => Date.parse(a.endedAt) - Date.parse(b.endedAt));
  for (const name of names) {
    const entries = results
      .map((r) => ({ r, m: r.customMetrics[name] }))
      .filter((x): x is { r: RunResult; m: CustomMetric } => !!x.m);
    const type = entries[0]!.m.type;
    if (entries.some((x) => x.m.type !== type)) {
      conflicting.push(name);
      continue;
    }
    if (entries.length === 1) {
      metrics[name] = { type, values: { ...entries[0]!.m.values } };
      const h = getMeta(entries[0]!.r)?.trendHistograms?.get(name);
      if (h) histograms.set(name, h);
      continue;
    }
    switch (type) {
      case 'counter': {
        const values: Record<string, number> = { count: entries.reduce((a, x) => a + (x.m.values.count ?? 0), 0) };
        // Instances ran side by side, so their per-second rates add up.
        if (entries.every((x) => x.m.values.rate !== undefined))
          values.rate = entries.reduce((a, x) => a + x.m.values.rate!, 0);
        metrics[name] = { type, values };
        break;
      }
      case 'rate': {
        if (entries.every((x) => x.m.values.count !== undefined && x.m.values.total !== undefined)) {
          const count = entries.reduce((a, x) => a + x.m.values.count!, 0);
          const total = entries.reduce((a, x) => a + x.m.values.total!, 0);
          metrics[name] = { type, values: { rate: total ? count / total : 0, count, total } };
        } else {
          const { values } = combineTrendValues(entries.map((x) => x.m.values));
          metrics[name] = { type, values };
          estimatedTrends.push(name);
        }
        break;
      }
      case 'gauge': {
        const values: Record<string, number> = {};
        const mins = entries.map((x) => x.m.values.min).filter((v): v is number => v !== undefined);
        const maxs = entries.map((x) => x.m.values.max).filter((v): v is number => v !== undefined);
        if (mins.length) values.min = Math.min(...mins);
        if (maxs.length) values.max = Math.max(...maxs);
        const last = [...byEnd].reverse().find((r) => r.customMetrics[name]?.values.value !== undefined);
        if (last) values.value = last.customMetrics[name]!.values.value!;
        metrics[name] = { type, values };
        break;
      }
      case 'trend': {
        const hs = entries.map((x) => getMeta(x.r)?.trendHistograms?.get(name));
        if (hs.every((h) => h !== undefined)) {
          const h = new Histogram(64);
          for (const part of hs) h.merge(part!);
          const values: Record<string, number> = { count: h.count };
          if (h.count > 0) {
            values.min = h.minUs / 1000;
            values.max = h.maxUs / 1000;
            values.avg = h.sumUs / h.count / 1000;
            for (const [k, p] of [
              ['p50', 50],
              ['p90', 90],
              ['p95', 95],
              ['p99', 99],
              ['p999', 99.9],
            ] as const) {
              values[k] = h.interpolatedPercentileMs(p)!;
            }
          }
          metrics[name] = { type, values };
          histograms.set(name, h);
        } else {
          const { values, estimated } = combineTrendValues(entries.map((x) => x.m.values));
          metrics[name] = { type, values };
          if (estimated) estimatedTrends.push(name);
        }
        break;
      }
    }
  }
  if (estimatedTrends.length) {
    notes.push(
      `Custom metrics ${estimatedTrends.slice(0, 5).join(', ')}${estimatedTrends.length > 5 ? ', ...' : ''} are merged from summaries: their percentiles and averages are count-weighted averages of each file's value, an estimate.`,
    );
  }
  if (conflicting.length)
    notes.push(
      `Custom metrics with different types in different files were left out: ${conflicting.slice(0, 5).join(', ')}.`,
    );
  return { metrics, histograms };
}

function mergeFlows(results: RunResult[]): FlowResult[] {
  const byName = new Map<string, FlowResult>();
  for (const f of results.flatMap((r) => r.flows ?? [])) {
    const prev = byName.get(f.name);
    if (prev) {
      prev.started += f.started;
      prev.completed += f.completed;
      prev.failed += f.failed;
    } else byName.set(f.name, { ...f });
  }
  return [...byName.values()];
}

function mergeThresholds(results: RunResult[]): ToolThreshold[] {
  const byKey = new Map<string, ToolThreshold>();
  for (const r of results) {
    for (const t of r.toolThresholds) {
      const key = `${t.metric}\u0000${t.expression}`;
      const prev = byKey.get(key);
      // Each instance judged its own share of the load; a threshold crossed in any of them is reported as failed.
      if (prev) prev.ok = prev.ok && t.ok;
      else byKey.set(key, { ...t });
    }
  }
  return [...byKey.values()];
}

/** How the shard merge (shards.ts) asks for more than the generic merge of side-by-side files. */
export interface MergeHow {
  /** How each file is named in notes and generator reasons (default: its file name). */
  labels?: string[];
  /** Align intervals from this epoch time (ms) instead of wall-clock multiples of the width. */
  alignFrom?: number;
}

export function mergeRunResults(results: RunResult[], opts: ReadOptions, how: MergeHow = {}): RunResult {
  if (results.length === 1) return results[0]!;
  const notes: string[] = [];
  const labels = how.labels ?? results.map((r) => basename(r.sourceFiles?.[0] ?? 'file'));
  const metas = results.map((r) => getMeta(r));
  const method: ReaderMeta['percentileMethod'] = metas.every((m) => m?.percentileMethod === 'interpolated')
    ? 'interpolated'
    : 'nearest';

  const toolNames = [...new Set(results.map((r) => r.tool?.name ?? 'unknown'))];
  const versions = [...new Set(results.map((r) => r.tool?.version))];
  const tool: RunResult['tool'] = { name: toolNames.join('+') };
  if (versions.length === 1 && versions[0] !== undefined) tool.version = versions[0];
  if (toolNames.length > 1) notes.push(`The files come from different tools (${toolNames.join(', ')}).`);

  const timesEstimated = metas.some((m) => m?.timesEstimated);
  const startMs = Math.min(...results.map((r) => Date.parse(r.startedAt)));
  const endMs = Math.max(...results.map((r) => Date.parse(r.endedAt)));
  const requests = results.reduce((a, r) => a + r.requests, 0);
  const errors = results.reduce((a, r) => a + r.errors, 0);

  const merged: RunResult = {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    engine: 'results',
    tool,
    sourceFiles: results.flatMap((r) => r.sourceFiles ?? []),
    phase: opts.phase,
    startedAt: new Date(startMs).toISOString(),
    endedAt: new Date(endMs).toISOString(),
    durationMs: endMs - startMs,
    requests,
    errors,
    errorsByKind: sumRecords<ErrorKind>(results.map((r) => r.errorsByKind)),
    statusCodes: sumRecords(results.map((r) => r.statusCodes)) as Record<string, number>,
    latency: { count: 0 },
    endpoints: [],
    intervals: [],
    generator: { valid: true, invalidReasons: [] },
    customMetrics: {},
    toolThresholds: mergeThresholds(results),
    notes: [],
  };
  const target = results.find((r) => r.target)?.target;
  if (target) merged.target = target;

  // Error rate: only when every file could measure it under the same definition.
  const unknownErrors = results
    .map((r, i) => (r.errorRate === undefined && r.requests > 0 ? labels[i] : undefined))
    .filter(Boolean);
  if (unknownErrors.length === 0) {
    const rate = errorRatePct(errors, requests);
    if (rate !== undefined) merged.errorRate = rate;
  } else {
    notes.push(`The error rate is not measured because ${unknownErrors.join(', ')} could not measure it.`);
  }

  // Throughput: requests over the common time span, unless start and end times were guessed from file dates;
  // then the instances are taken to have run side by side and their rates add up.
  if (timesEstimated) {
    const rates = results.map((r) => r.throughputRps);
    if (rates.every((x) => x !== undefined)) merged.throughputRps = rates.reduce((a, x) => a + x!, 0);
    merged.durationMs = Math.max(...results.map((r) => r.durationMs));
    notes.push(
      "Some files record no timestamps: the runs are taken to have run side by side, and throughput is the sum of each file's throughput.",
    );
  } else if (merged.durationMs > 0 && requests > 0) {
    merged.throughputRps = requests / (merged.durationMs / 1000);
  }

  const estimated = new Set<string>();
  const lat = mergeLatency(
    results.map((r) => ({ stats: r.latency, histogram: r.histogram })),
    method,
  );
  merged.latency = lat.stats;
  if (lat.histogram) merged.histogram = lat.histogram;
  for (const f of lat.estimated) estimated.add(f);
  merged.endpoints = mergeEndpoints(results, method, estimated);
  const served = mergeServed(results, method);
  if (served) merged.served = served;
  if (!timesEstimated) {
    const iv = mergeIntervals(results, startMs, endMs, method, notes, how.alignFrom);
    merged.intervals = iv.intervals;
    if (iv.intervalMs) merged.intervalMs = iv.intervalMs;
  }
  if (estimated.size > 0) {
    const fields = [...estimated].sort();
    notes.unshift(
      `Merged from ${results.length} files that hold only summaries, not distributions: latency ${percentileNames(fields)} ${fields.length === 1 ? 'is a' : 'are'} request-weighted average${fields.length === 1 ? '' : 's'} of each file's value, an estimate rather than an exact percentile. Count, min and max are exact.`,
    );
  } else if (results.every((r) => r.latency.count === 0 || r.histogram)) {
    notes.unshift(
      `Merged from ${results.length} files by combining their latency histograms: percentiles are exact to 0.1 %.`,
    );
  }

  const created = results.filter((r) => r.vus?.created !== undefined);
  const maxed = results.filter((r) => r.vus?.max !== undefined);
  if (created.length || maxed.length) {
    merged.vus = {};
    if (created.length) merged.vus.created = created.reduce((a, r) => a + r.vus!.created!, 0);
    if (maxed.length) {
      merged.vus.max = maxed.reduce((a, r) => a + r.vus!.max!, 0);
      if (maxed.length > 1)
        notes.push(
          "Maximum virtual users is the sum of each file's maximum (an upper bound if the peaks did not coincide).",
        );
    }
  }

  const gen = merged.generator;
  for (const [i, r] of results.entries()) {
    const g = r.generator;
    if (!g.valid) gen.valid = false;
    for (const reason of g.invalidReasons) gen.invalidReasons.push(`${labels[i]}: ${reason}`);
    for (const k of ['arrivalsScheduled', 'arrivalsStarted', 'arrivalsDropped'] as const) {
      if (g[k] !== undefined) gen[k] = (gen[k] ?? 0) + g[k]!;
    }
    if (g.maxLagMs !== undefined) gen.maxLagMs = Math.max(gen.maxLagMs ?? 0, g.maxLagMs);
  }

  if (results.some((r) => r.checkFailures))
    merged.checkFailures = sumRecords(results.map((r) => r.checkFailures ?? {})) as Record<string, number>;
  if (results.some((r) => r.flows)) merged.flows = mergeFlows(results);

  const custom = mergeCustom(results, notes);
  merged.customMetrics = custom.metrics;
  if (results.some((r) => r.toolThresholds.length > 0)) {
    notes.push(
      "Tool thresholds were judged by each file's own tool on its share of the load; one crossed in any file counts as failed.",
    );
  }

  for (const [i, r] of results.entries()) for (const n of r.notes) notes.push(`${labels[i]}: ${n}`);
  merged.notes = notes;
  setMeta(merged, { percentileMethod: method, timesEstimated, trendHistograms: custom.histograms });
  return merged;
}
