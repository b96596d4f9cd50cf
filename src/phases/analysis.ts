// What a phase means beyond its totals, worked out from the per-interval series: the breaking point and capacity
// of a stress run, how long a recovery took, and which view of the run the gate judges (the steady part, worked
// out in steady.ts, or the whole run). Pure functions of a RunResult and the load shape, so they can be tested on
// synthetic series and rerun on a results.json.
import type {
  DecideOn,
  EarlyStop,
  IntervalResult,
  LoadPoint,
  PhaseAnalysis,
  RecoveryAnalysis,
  RunResult,
  Stage,
  StressAnalysis,
  Target,
} from '../model.js';
import { formatDuration, formatPercent, formatRate } from '../format.js';
import { EDGE_MS, steadyPart, steadyWindows, summarize } from './steady.js';

export const PHASE_ANALYSES = ['stress', 'recovery'] as const;
export type PhaseAnalysisKind = (typeof PHASE_ANALYSES)[number];

/** The guide's limit for "broken": 0.5 % errors, unless the run's error-rate target says otherwise. */
export const DEFAULT_ERROR_LIMIT_PERCENT = 0.5;
/** The guide's p99 target, used for recovery when the run has no p99 target of its own. */
export const DEFAULT_P99_MS = 500;

/** Intervals after a crossing that must, together, stay past the error limit for it to count as the breaking point. */
export const CONFIRM_INTERVALS = 3;

// ---- stress ---------------------------------------------------------------------------------------------------

function loadPoint(iv: IntervalResult): LoadPoint {
  const secs = iv.durationMs / 1000;
  const p: LoadPoint = {
    atMs: iv.startMs,
    rps: secs > 0 ? iv.requests / secs : 0,
    errorRate: iv.requests > 0 ? (iv.errors / iv.requests) * 100 : 0,
  };
  if (iv.targetRate !== undefined) p.targetRate = iv.targetRate;
  if (iv.concurrency !== undefined) p.vus = iv.concurrency;
  if (iv.latency.p99 !== undefined) p.p99Ms = iv.latency.p99;
  return p;
}

function pooledRate(ivs: readonly IntervalResult[]): { rate: number; errors: number; requests: number } {
  let requests = 0;
  let errors = 0;
  for (const iv of ivs) {
    requests += iv.requests;
    errors += iv.errors;
  }
  return { rate: requests > 0 ? (errors / requests) * 100 : 0, errors, requests };
}

function loadOf(iv: IntervalResult): number {
  return iv.targetRate ?? (iv.durationMs > 0 ? iv.requests / (iv.durationMs / 1000) : 0);
}

/**
 * Where the load broke the service. The breaking point is the first interval whose error rate passed the limit
 * while the next three intervals together stayed past it, with at least two errors in all: a single stray error in
 * a quiet interval, or one bad interval the service shrugged off, is not a breaking point. Cascading failure is judged only once the load stopped rising:
 * errors that keep growing at a constant load mean the service is falling over by itself (queues, retries,
 * exhausted pools), not just saturated.
 */
export function analyzeStress(
  intervals: readonly IntervalResult[],
  opts: { errorLimitPercent?: number; shapePeakRate?: number; criteria?: readonly CapacityCriterion[] } = {},
): StressAnalysis {
  const limit = opts.errorLimitPercent ?? DEFAULT_ERROR_LIMIT_PERCENT;
  const live = intervals.filter((iv) => iv.requests > 0);
  const out: StressAnalysis = { errorLimitPercent: limit, cascadingNote: '' };

  const first = live.find((iv) => iv.errors > 0);
  if (first) out.firstError = loadPoint(first);

  for (let i = 0; i < live.length; i++) {
    const iv = live[i]!;
    if ((iv.errors / iv.requests) * 100 <= limit) continue;
    // "Stayed past it": the next few intervals together are past the limit too. Pooling them, rather than asking
    // each one, keeps a short interval with no error by chance (30 requests at 3 % errors) from hiding a real break.
    const after = pooledRate(live.slice(i + 1, i + 1 + CONFIRM_INTERVALS));
    if ((after.requests === 0 || after.rate > limit) && iv.errors + after.errors >= 2) {
      out.breakingPoint = loadPoint(iv);
      break;
    }
  }

  if (live.length > 0) {
    const peakLoad = Math.max(...live.map(loadOf));
    const atPeak = live.filter((iv) => loadOf(iv) >= peakLoad * 0.95);
    const { summary } = summarize(atPeak);
    out.peak = {
      rps: summary.throughputRps ?? 0,
      intervals: atPeak.length,
      ...(summary.errorRate !== undefined ? { errorRate: summary.errorRate } : {}),
      ...(summary.latency.p99 !== undefined
        ? { p99Ms: summary.latency.p99 }
        : atPeak.length === 1 && atPeak[0]!.latency.p99 !== undefined
          ? { p99Ms: atPeak[0]!.latency.p99 }
          : {}),
    };
    if (live.some((iv) => iv.targetRate !== undefined)) out.peak.targetRate = peakLoad;

    // The plateau: from the first interval at (nearly) the highest load until the load drops again. The ramp-down
    // is left out: its lighter load lets errors fall, which would hide a service that was falling over at the peak.
    const startAt = live.findIndex((iv) => loadOf(iv) >= peakLoad * 0.99);
    const plateau: IntervalResult[] = [];
    for (const iv of live.slice(startAt)) {
      if (loadOf(iv) < peakLoad * 0.95) break;
      plateau.push(iv);
    }
    const shapePeak = opts.shapePeakRate;
    const stillRising =
      shapePeak !== undefined && live.some((iv) => iv.targetRate !== undefined) && peakLoad < shapePeak * 0.99;
    if (stillRising) {
      out.cascadingNote = `not assessed: the run ended while the load was still rising (at ${formatRate(peakLoad)} of ${formatRate(shapePeak)})`;
    } else if (plateau.length < 3) {
      out.cascadingNote = 'not assessed: fewer than three intervals at the highest load';
    } else {
      const third = Math.max(1, Math.floor(plateau.length / 3));
      const early = pooledRate(plateau.slice(0, third));
      const late = pooledRate(plateau.slice(-third));
      // Noise at a saturated load moves the error rate by a few points; a cascade multiplies it.
      const rising = late.rate > early.rate + Math.max(limit, 2) && late.rate > early.rate * 2;
      out.cascading = rising;
      const span = formatDuration(plateau.reduce((n, iv) => n + iv.durationMs, 0));
      out.cascadingNote = `error rate ${formatPercent(early.rate)} at the start and ${formatPercent(late.rate)} at the end of ${span} at the highest load`;
    }
  } else {
    out.cascadingNote = 'not assessed: no request completed';
  }
  const capacity = analyzeCapacity(
    intervals,
    opts.criteria ?? [
      { metric: 'p99', limit: DEFAULT_P99_MS },
      { metric: 'error_rate', limit: limit },
    ],
  );
  if (capacity) out.capacity = capacity;
  return out;
}

/** A latency or error-rate limit an interval must stay within (`p99 < 500ms` -> {p99, 500}). */
export interface CapacityCriterion {
  metric: 'p50' | 'p90' | 'p95' | 'p99' | 'p999' | 'max' | 'mean' | 'error_rate';
  limit: number;
}

const LATENCY_CRITERIA = new Set(['p50', 'p90', 'p95', 'p99', 'p999', 'max', 'mean']);

/** The run's latency and error-rate targets with an upper limit, the criteria for capacity. */
export function capacityCriteria(targets: readonly Target[]): CapacityCriterion[] {
  return (
    targets
      // A target against another metric (`error_rate < error_rate{login}`) has no fixed limit to hold an interval to.
      .filter(
        (t) =>
          !t.rhsMetric &&
          (t.op === '<' || t.op === '<=') &&
          (LATENCY_CRITERIA.has(t.metric) || t.metric === 'error_rate'),
      )
      .map((t) => ({ metric: t.metric as CapacityCriterion['metric'], limit: t.value }))
  );
}

function criterionValue(
  c: CapacityCriterion,
  part: { requests: number; errors: number; latency: IntervalResult['latency'] },
): number | undefined {
  if (c.metric === 'error_rate') return part.requests > 0 ? (part.errors / part.requests) * 100 : undefined;
  return part.latency[c.metric];
}

function criterionText(c: CapacityCriterion, value: number): string {
  return c.metric === 'error_rate'
    ? `error rate ${formatPercent(value)} > ${formatPercent(c.limit)}`
    : `${c.metric} ${Math.round(value)} ms > ${c.limit} ms`;
}

/**
 * Capacity at the targets: the highest load an interval served while every latency and error-rate criterion held
 * in that interval, up to the first breach that the next intervals (pooled, histograms merged) confirmed. A single
 * slow interval the service shrugged off does not end it; a lucky quiet interval after the break does not extend it.
 */
export function analyzeCapacity(
  intervals: readonly IntervalResult[],
  criteria: readonly CapacityCriterion[],
): StressAnalysis['capacity'] {
  if (criteria.length === 0) return undefined;
  const live = intervals.filter((iv) => iv.requests > 0 && iv.durationMs > 0);
  if (live.length === 0) return undefined;
  const breach = (part: {
    requests: number;
    errors: number;
    latency: IntervalResult['latency'];
  }): string | undefined => {
    for (const c of criteria) {
      const v = criterionValue(c, part);
      if (v !== undefined && v > c.limit) return criterionText(c, v);
    }
    return undefined;
  };
  let end = live.length;
  let limitedBy: string | undefined;
  for (let i = 0; i < live.length; i++) {
    const why = breach(live[i]!);
    if (!why) continue;
    const next = live.slice(i + 1, i + 1 + CONFIRM_INTERVALS);
    const pooled = summarize(next).summary;
    if (next.length === 0 || breach(pooled)) {
      end = i;
      limitedBy = why;
      break;
    }
  }
  let best: IntervalResult | undefined;
  let bestRps = -1;
  for (const iv of live.slice(0, end)) {
    if (breach(iv)) continue;
    const rps = iv.requests / (iv.durationMs / 1000);
    if (rps > bestRps) {
      best = iv;
      bestRps = rps;
    }
  }
  const criteriaText = criteria
    .map((c) => (c.metric === 'error_rate' ? `error rate ≤ ${formatPercent(c.limit)}` : `${c.metric} ≤ ${c.limit} ms`))
    .join(', ');
  const breachAt = end < live.length ? live[end]! : undefined;
  if (!best) {
    return {
      held: false,
      criteria: criteriaText,
      ...(limitedBy ? { limitedBy } : {}),
      ...(breachAt
        ? { breachAtMs: breachAt.startMs, breachRps: breachAt.requests / (breachAt.durationMs / 1000) }
        : {}),
    };
  }
  return {
    rps: bestRps,
    atMs: best.startMs,
    ...(best.targetRate !== undefined ? { targetRate: best.targetRate } : {}),
    held: breachAt === undefined,
    criteria: criteriaText,
    ...(limitedBy ? { limitedBy } : {}),
    ...(breachAt ? { breachAtMs: breachAt.startMs, breachRps: breachAt.requests / (breachAt.durationMs / 1000) } : {}),
  };
}

// ---- recovery -------------------------------------------------------------------------------------------------

/** Where the recovery clock starts: the first stage whose rate goes down; the run start when none does. */
export function rampDownStartMs(stages: readonly Stage[]): number {
  let t = 0;
  for (const s of stages) {
    if (s.endRate < s.startRate) return t;
    t += s.durationMs;
  }
  return 0;
}

/** The p99 and error-rate limits a run's targets set (`p99 < 500ms`, `error_rate < 0.5%`). */
export function recoveryCriteria(targets: readonly Target[]): { p99Ms: number; errorRatePercent: number } {
  const limit = (metric: string): number | undefined =>
    targets.find((t) => !t.rhsMetric && t.metric === metric && (t.op === '<' || t.op === '<='))?.value;
  return {
    p99Ms: limit('p99') ?? DEFAULT_P99_MS,
    errorRatePercent: limit('error_rate') ?? DEFAULT_ERROR_LIMIT_PERCENT,
  };
}

/**
 * Time from `fromMs` until p99 and the error rate were back within the criteria and stayed there: the end of the
 * last interval that breached them. Every interval counts ("stayed there" means to the end of the run), so a
 * relapse late in the hold moves the recovery to after it. Intervals in which nothing completed are skipped.
 */
export function analyzeRecovery(
  intervals: readonly IntervalResult[],
  opts: { fromMs: number; p99Ms: number; errorRatePercent: number },
): RecoveryAnalysis {
  const { fromMs, p99Ms, errorRatePercent } = opts;
  const out: RecoveryAnalysis = { fromMs, criteria: { p99Ms, errorRatePercent }, recovered: false };
  const live = intervals.filter((iv) => iv.requests > 0 && iv.startMs + iv.durationMs > fromMs + EDGE_MS);
  if (live.length === 0) {
    out.note = 'no request completed after the ramp-down started';
    return out;
  }
  const breaches = (iv: IntervalResult): boolean =>
    (iv.errors / iv.requests) * 100 > errorRatePercent || (iv.latency.p99 !== undefined && iv.latency.p99 > p99Ms);
  let last = -1;
  for (let i = live.length - 1; i >= 0; i--) {
    if (breaches(live[i]!)) {
      last = i;
      break;
    }
  }
  if (last === -1) {
    out.recovered = true;
    out.recoveryMs = 0;
    return out;
  }
  const bad = live[last]!;
  out.lastBreachMs = bad.startMs;
  if (last === live.length - 1) {
    const er = (bad.errors / bad.requests) * 100;
    out.note = `still outside the targets at the end of the run (last interval: p99 ${bad.latency.p99 !== undefined ? `${Math.round(bad.latency.p99)} ms` : '—'}, error rate ${formatPercent(er)})`;
    return out;
  }
  out.recovered = true;
  out.recoveryMs = Math.max(0, bad.startMs + bad.durationMs - fromMs);
  return out;
}

// ---- the whole analysis ---------------------------------------------------------------------------------------

export interface AnalyzeOptions {
  stages: readonly Stage[];
  decideOn: DecideOn;
  analyses: readonly PhaseAnalysisKind[];
  targets: readonly Target[];
  guards?: readonly string[];
  stoppedEarly?: EarlyStop;
}

/** The run's analysis, and the RunResult the gate should judge (the steady view, or the run itself). */
export function analyzeRun(run: RunResult, opts: AnalyzeOptions): { analysis: PhaseAnalysis; judged: RunResult } {
  const analysis: PhaseAnalysis = { decideOn: opts.decideOn, judged: 'all', guards: [...(opts.guards ?? [])] };
  if (opts.stoppedEarly) analysis.stoppedEarly = opts.stoppedEarly;
  let judged = run;

  const steady = steadyPart(run, opts.stages);
  if ('view' in steady) {
    analysis.steady = steady.summary;
    if (opts.decideOn === 'steady') {
      analysis.judged = 'steady';
      judged = steady.view;
      // Said only where it matters: a target with an endpoint selector (`p99{bid}`, also on a right-hand side).
      if (steady.endpointsNote && opts.targets.some((t) => t.source.includes('{')))
        analysis.endpointsNote = steady.endpointsNote;
    }
  } else if (opts.decideOn === 'steady') {
    analysis.judgedNote = `judged on the whole run: ${steady.reason}`;
  }

  const wants = (k: PhaseAnalysisKind, metric: string): boolean =>
    opts.analyses.includes(k) || opts.targets.some((t) => t.metric === metric);
  if (wants('stress', 'breaking_point') || opts.targets.some((t) => t.metric === 'capacity')) {
    const errorTarget = opts.targets.find((t) => t.metric === 'error_rate' && (t.op === '<' || t.op === '<='));
    const shapePeak = opts.stages.reduce((m, s) => Math.max(m, s.startRate, s.endRate), 0);
    analysis.stress = analyzeStress(run.intervals, {
      errorLimitPercent: errorTarget?.value ?? DEFAULT_ERROR_LIMIT_PERCENT,
      ...(shapePeak > 0 ? { shapePeakRate: shapePeak } : {}),
      // Without latency or error targets, the guide's (p99 500 ms, 0.5 % errors) define capacity.
      ...(capacityCriteria(opts.targets).length > 0 ? { criteria: capacityCriteria(opts.targets) } : {}),
    });
  }
  if (wants('recovery', 'recovery')) {
    analysis.recovery = analyzeRecovery(run.intervals, {
      fromMs: rampDownStartMs(opts.stages),
      ...recoveryCriteria(opts.targets),
    });
  }

  run.analysis = analysis;
  if (judged !== run) judged.analysis = analysis;
  return { analysis, judged };
}

// ---- targets the load cannot reach ----------------------------------------------------------------------------

/**
 * Throughput targets the configured load cannot meet whatever the service does: `throughput > 100/s` at 50
 * arrivals/s of one request each fails and would read like a service fault. The ceiling is the arrival rate the
 * shape asks for over the judged part (its constant-rate stages, or the whole shape on average) times the requests
 * an arrival sends (at most; undefined when not known, then nothing is said). One message per such target.
 */
export function unmeetableTargets(
  targets: readonly Target[],
  stages: readonly Stage[],
  requestsPerArrival: number | undefined,
  part: DecideOn,
): string[] {
  if (requestsPerArrival === undefined || !(requestsPerArrival > 0) || stages.length === 0) return [];
  const steady = steadyWindows(stages);
  const rated =
    part === 'steady' && steady.length > 0
      ? stages.filter((s) => s.startRate === s.endRate && s.startRate > 0)
      : stages;
  const duration = rated.reduce((n, s) => n + s.durationMs, 0);
  if (!(duration > 0)) return [];
  const rate = rated.reduce((n, s) => n + ((s.startRate + s.endRate) / 2) * s.durationMs, 0) / duration;
  const ceiling = rate * requestsPerArrival;
  const where = part === 'steady' && steady.length > 0 ? 'in its constant-rate stages' : 'on average over the run';
  const each =
    requestsPerArrival === 1
      ? 'one request each'
      : `at most ${Math.round(requestsPerArrival * 100) / 100} requests each`;
  return targets
    .filter((t) => t.metric === 'throughput' && (t.op === '>' || t.op === '>=') && t.value > ceiling * 1.001)
    .map(
      (t) =>
        `${t.source} cannot be met at the configured load: the shape asks for ${formatRate(rate)} arrivals ${where}, ${each}, ` +
        `so at most about ${formatRate(ceiling)}. Raise the rate or lower the target.`,
    );
}
