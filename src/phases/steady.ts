// The steady part of a run: the constant-rate stages of the load shape, the intervals wholly inside them, and the
// run as the gate sees it when it judges that part (figures added up exactly, histograms merged, endpoints and
// infrastructure over the same minutes). Split from analysis.ts, which reads the stress and recovery out of the
// same series and decides which view is judged. Pure functions of a RunResult and the load shape.
import { Histogram } from '../metrics/histogram.js';
import { samplesOver, summarize as seriesStats } from '../metrics/series.js';
import type {
  EndpointResult,
  ErrorKind,
  InfraMetric,
  IntervalResult,
  PartSummary,
  RunResult,
  ServedFigures,
  Stage,
} from '../model.js';
import { endpointHistogram } from '../model.js';

// Timer jitter moves interval edges by a millisecond or two; an interval is not "outside" a stage for that.
export const EDGE_MS = 2;

export interface Window {
  startMs: number;
  endMs: number;
  stage?: string;
}

/** Constant-rate stages with load: the parts of a shape where the system is meant to be in a steady state. */
export function steadyWindows(stages: readonly Stage[]): Window[] {
  const out: Window[] = [];
  let t = 0;
  for (const s of stages) {
    if (s.startRate === s.endRate && s.startRate > 0)
      out.push({ startMs: t, endMs: t + s.durationMs, ...(s.name ? { stage: s.name } : {}) });
    t += s.durationMs;
  }
  return out;
}

/**
 * Intervals that lie wholly inside a steady window. An interval straddling a ramp and a hold is left out: its
 * latency mixes two loads. The run's last interval may be longer than the others (a short tail after the shape
 * is folded into it), so it is placed by its nominal width.
 */
export function steadyIntervals(
  intervals: readonly IntervalResult[],
  windows: readonly Window[],
  intervalMs?: number,
): IntervalResult[] {
  return intervals.filter((iv) => {
    const width = intervalMs !== undefined && intervalMs > 0 ? Math.min(iv.durationMs, intervalMs) : iv.durationMs;
    return windows.some((w) => iv.startMs >= w.startMs - EDGE_MS && iv.startMs + width <= w.endMs + EDGE_MS);
  });
}

/** Totals and latency of a set of intervals; undefined latency when one of them has requests but no histogram. */
export function summarize(intervals: readonly IntervalResult[]): {
  summary: Omit<PartSummary, 'windows' | 'intervalsTotal'>;
  histogram?: Histogram;
} {
  const h = new Histogram();
  let requests = 0;
  let errors = 0;
  let durationMs = 0;
  let mergeable = true;
  for (const iv of intervals) {
    requests += iv.requests;
    errors += iv.errors;
    durationMs += iv.durationMs;
    if (iv.histogram) h.merge(iv.histogram);
    else if (iv.latency.count > 0) mergeable = false;
  }
  const summary: Omit<PartSummary, 'windows' | 'intervalsTotal'> = {
    intervals: intervals.length,
    durationMs,
    requests,
    errors,
    latency: mergeable ? h.stats() : { count: 0 },
  };
  if (requests > 0) summary.errorRate = (errors / requests) * 100;
  if (requests > 0 && durationMs > 0) summary.throughputRps = requests / (durationMs / 1000);
  return mergeable ? { summary, histogram: h } : { summary };
}

/** Joins touching windows, so the report says "30 s – 120 s" once rather than per stage. */
function joinWindows(windows: readonly Window[]): Window[] {
  const out: Window[] = [];
  for (const w of windows) {
    const last = out[out.length - 1];
    if (last && Math.abs(last.endMs - w.startMs) <= EDGE_MS) {
      last.endMs = w.endMs;
      if (last.stage !== w.stage) delete last.stage;
    } else {
      out.push({ ...w });
    }
  }
  return out;
}

export interface SteadyPart {
  summary: PartSummary;
  /** The run as the gate sees it when judging the steady part: same shape, steady figures. */
  view: RunResult;
  /** Set when the view's endpoints are the whole run's: why the steady part's could not be added up. */
  endpointsNote?: string;
}

/**
 * Every endpoint's figures over the chosen intervals, added up exactly (histograms merged, status codes, error kinds
 * and check failures summed), in the order of the run's endpoints; an endpoint without a request there has zero
 * requests. Undefined, with the reason, when some interval's endpoint figures cannot be added up exactly.
 */
export function endpointsOver(
  run: RunResult,
  chosen: readonly IntervalResult[],
): EndpointResult[] | { reason: string } {
  interface Acc {
    requests: number;
    errors: number;
    hist: Histogram;
    status: Record<string, number>;
    kinds: Partial<Record<ErrorKind, number>>;
    checks: Record<string, number> | undefined;
  }
  const acc = new Map<string, Acc>();
  const add = <K extends string>(
    into: Partial<Record<K, number>>,
    from: Partial<Record<K, number>> | undefined,
  ): void => {
    for (const [k, n] of Object.entries(from ?? {}) as Array<[K, number]>) into[k] = (into[k] ?? 0) + n;
  };
  for (const iv of chosen) {
    if (!iv.endpoints) {
      if (iv.requests > 0) return { reason: 'its intervals carry no per-endpoint figures' };
      continue;
    }
    for (const [name, e] of Object.entries(iv.endpoints)) {
      const histogram = endpointHistogram(iv, e);
      if ((e.latency.count > 0 && !histogram) || (e.requests > 0 && !e.statusCodes)) {
        return { reason: "the per-endpoint figures of its intervals carry no histograms to add up (a tool's file)" };
      }
      let a = acc.get(name);
      if (!a)
        acc.set(
          name,
          (a = { requests: 0, errors: 0, hist: new Histogram(), status: {}, kinds: {}, checks: undefined }),
        );
      a.requests += e.requests;
      a.errors += e.errors;
      if (histogram) a.hist.merge(histogram);
      add(a.status, e.statusCodes);
      add(a.kinds, e.errorsByKind);
      if (e.checkFailures) add((a.checks ??= {}), e.checkFailures);
    }
  }
  return run.endpoints.map((whole) => {
    const a = acc.get(whole.name);
    if (!a) return { name: whole.name, requests: 0, errors: 0, latency: { count: 0 }, statusCodes: {} };
    const ep: EndpointResult = {
      name: whole.name,
      requests: a.requests,
      errors: a.errors,
      latency: a.hist.stats(),
      statusCodes: a.status,
      histogram: a.hist.toJSON(),
      errorsByKind: a.kinds,
    };
    if (a.checks) ep.checkFailures = a.checks;
    return ep;
  });
}

/**
 * The successful responses over some intervals of a run that has `served` figures: an interval with errors carries
 * its own, one without served every response. Undefined when an interval's cannot be added up.
 */
export function servedOver(intervals: readonly IntervalResult[]): ServedFigures | undefined {
  const h = new Histogram();
  let requests = 0;
  for (const iv of intervals) {
    const ok = iv.served ? iv.served.requests : iv.requests - iv.errors;
    const hist = iv.served ? iv.served.histogram : iv.errors === 0 ? iv.histogram : undefined;
    if (ok > 0 && !hist) return undefined;
    if (hist) h.merge(hist);
    requests += ok;
  }
  return { requests, latency: h.stats(), histogram: h.toJSON() };
}

/**
 * The steady part of a run as a RunResult of the same shape, for the gate. Undefined, with the reason, when there
 * is none to judge: no constant-rate stage, no interval wholly inside one, or intervals without histograms (the
 * percentiles of a part can only come from merged histograms, never from averaging percentiles).
 */
export function steadyPart(run: RunResult, stages: readonly Stage[]): SteadyPart | { reason: string } {
  const windows = steadyWindows(stages);
  if (windows.length === 0) return { reason: 'the load shape has no constant-rate stage' };
  if (run.intervals.length === 0) return { reason: 'the run has no per-interval figures' };
  const chosen = steadyIntervals(run.intervals, windows, run.intervalMs);
  const { summary, histogram } = summarize(chosen);
  if (chosen.length === 0 || summary.requests === 0) {
    const endMs = Math.max(...run.intervals.map((iv) => iv.startMs + iv.durationMs));
    if (endMs <= windows[0]!.startMs + EDGE_MS) return { reason: 'the run ended before its first constant-rate stage' };
    return { reason: 'no interval with completed requests lies wholly inside a constant-rate stage' };
  }
  if (!histogram) return { reason: 'the intervals carry no latency histograms to merge' };
  const part: PartSummary = {
    windows: joinWindows(windows),
    ...summary,
    intervalsTotal: run.intervals.length,
  };
  const view: RunResult = {
    ...run,
    durationMs: summary.durationMs,
    requests: summary.requests,
    errors: summary.errors,
    latency: summary.latency,
    histogram: histogram.toJSON(),
    intervals: chosen,
    ...(run.infra ? { infra: run.infra.map((m) => infraOver(m, part.windows)) } : {}),
  };
  // Per-endpoint targets (`p99{bid}`, `error_rate{payment}`) are judged on the same minutes as the rest: over the
  // whole run a quiet ramp would dilute errors and pull percentiles down.
  const endpoints = run.endpoints.length > 0 ? endpointsOver(run, chosen) : [];
  let endpointsNote: string | undefined;
  if (Array.isArray(endpoints)) view.endpoints = endpoints;
  else endpointsNote = `per-endpoint targets were judged on the whole run: ${endpoints.reason}`;
  // The part's successful responses, from its intervals: latency targets are judged on them as on the whole run's.
  const served = run.served ? servedOver(chosen) : undefined;
  if (served) view.served = served;
  else delete view.served;
  if (summary.errorRate !== undefined) view.errorRate = summary.errorRate;
  else delete view.errorRate;
  if (summary.throughputRps !== undefined) view.throughputRps = summary.throughputRps;
  else delete view.throughputRps;
  return { summary: part, view, ...(endpointsNote ? { endpointsNote } : {}) };
}

/**
 * An infrastructure metric's statistics over the steady part, so that `mean(cpu) < 70%` is judged on the same
 * minutes as the latency targets: over the whole window the idle ramp would pull the mean down. A metric without
 * samples there (a source that failed, or a first sample after the part) keeps its whole-window figures.
 */
function infraOver(m: InfraMetric, windows: ReadonlyArray<{ startMs: number; endMs: number }>): InfraMetric {
  if (m.unavailable || !m.series?.length) return m;
  const stats = seriesStats(samplesOver(m.series, windows));
  return stats.max === undefined ? m : { ...m, stats };
}
