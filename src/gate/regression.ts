// Regression rules and the noise-aware comparison with a baseline. Pure functions: the stores in src/baseline
// fetch the history, this module decides.
//
// A rule per metric gives a relative tolerance AND an absolute floor: a change must exceed both to count, so a
// 1 ms move on a 5 ms endpoint (+20 %) and a 3 % move on a 2 s endpoint (+60 ms) are both ignored. The floor is
// the rule's own when it writes one (`p99: +10% and +20ms`); otherwise (the defaults) it follows the measurement:
// twice the history's spread, or the two runs' sampling noise without a history (regression-floor.ts), so it
// neither hides a 20 ms slowdown at p99 ≈ 100 ms nor lets 1 ms of jitter fail a 5 ms service. Improvement never
// fails.
//
// Exceeding the tolerance is necessary, not sufficient: on CI a p99 of 2000 requests moves by 5-10 % between
// identical builds (runner speed, neighbours, a GC pause). So a change must also stand out from the noise:
//
// - With a history (>= MIN_HISTORY comparable runs up to the baseline commit) each metric's own run-to-run
//   spread is known. The run must lie beyond the one-sided 99 % prediction interval of that history,
//   mean + t(0.99, n-1) * s * sqrt(1/k + 1/n) (k = runs pooled into the current one, 1 unless confirmed), on log
//   values for latency and throughput (their noise is multiplicative) and on percentage points for the error
//   rate. For a latency percentile the per-run value is the mean log of eight neighbouring quantiles
//   (neighbourQuantiles: p97 to p99.7 for p99) when histograms are stored: the same part of the distribution,
//   less sampling noise, and no single quantile decides. The tolerance is checked against the history's
//   (geometric) mean, not one arbitrary run, and the neighbours' shift must exceed it too. A history run that is
//   an outlier against the others (a stall: beyond their one-sided 99.5 % prediction bound, leave-one-out) is
//   left out of the band, since it would drag the mean up and multiply the spread (withoutOutliers).
// - With fewer runs the spread is unknown, but the two histograms show what moved. A percentile regresses only
//   if the mean log-ratio of its neighbouring quantiles is beyond the tolerance, more than half of them are
//   beyond it on their own, and that shift is beyond the histograms' sampling noise (z >= 2.33 with each
//   quantile's distribution-free standard error). A GC pause that fills the top 0.7 % of one run therefore
//   cannot fail a PR, nor can a p99 estimated from 60 requests. The mean uses Welch's z on the histograms'
//   variance, the error rate a two-proportion z-test on the counts; throughput has no sample distribution and
//   is judged on the tolerance alone (its reason says so).
// - Confirm-before-failing (on by default; needsConfirmation, confirmComparison): a regression, or a change
//   beyond half the tolerance and an 80 % band, is worth a second run of the phase. The two runs pooled are
//   judged again with k = 2 and a 95 % band, and a regression stands only if the second run on its own passes
//   the same screen as the first (an independent second test, not a vote that merely leans the same way). On
//   real runs (bench/regression-real.mjs) a single
//   2000-request run cannot separate a 20 % p99 slowdown from noise often enough (its p99 moves by ~5 % between
//   identical runs); the pooled pair can, and same-build runs almost never get through both steps.
//
// One baseline run cannot tell a real uniform slowdown from run-level drift of the same size, so that mode
// misses more; bench/regression-grid.mjs measures the verdicts on simulated runs across p99 levels, noise and
// history sizes, bench/regression-real.mjs on real runs.
//
// This file picks the baseline and the history, folds the results into the verdict and runs the confirmation;
// the comparison of one metric (both modes, the outlier rule) is regression-judge.ts.
import type { BaselineEntry, FailOn, RegressionResult, RunResult, SerializedHistogram, Verdict } from '../model.js';
import { incomparability } from './comparable.js';
import { describeFloors } from './regression-floor.js';
import { compactRun, judge, nearTolerance, outliers, POOLED_LEVEL, worsening } from './regression-judge.js';
import type { RegressionMetric, RegressionRule } from './regression-rules.js';
import { quantiles } from './regression-stats.js';
import { ageText, join, shaAndDate, short, signed } from './regression-text.js';

// The rules and the statistics live beside this file; their names stay importable from here.
export {
  DEFAULT_REGRESSION_RULES,
  parseRegressionRule,
  parseRegressionRules,
  REGRESSION_METRICS,
  type RegressionMetric,
  type RegressionRule,
} from './regression-rules.js';
export { neighbourQuantiles, probit, quantiles, tQuantile } from './regression-stats.js';
export { describeFloors, FLOOR_SPREADS, floorValue, regressionFloor } from './regression-floor.js';
export { describeTolerance } from './regression-text.js';

// ---- comparison ---------------------------------------------------------------------------------------------

/** Runs a history needs before the noise band replaces the two-histogram test. */
export const MIN_HISTORY = 5;
/** `worse`: beyond this share of the tolerance. */
const HOLD_SHARE = 0.25;

export interface CompareOptions {
  environment: string;
  /** Where the history came from, e.g. `branch:perf-data`; becomes Verdict.baseline.source. */
  source: string;
  /** Commit to compare with (the PR's merge base); default the newest comparable run. */
  baselineSha?: string;
  /** Only runs of this branch count (the PR's base branch, or the pushed branch). Runs without a branch always count. */
  branch?: string;
  /** The current run's own entry id or commit, never its own baseline (re-runs, the run just recorded). */
  excludeId?: string;
  excludeSha?: string;
  /** Runs the noise band looks back over (default 30). */
  historyLimit?: number;
  /** Runs needed for the noise band (default MIN_HISTORY). */
  minHistory?: number;
  /** How many runs of this build were pooled into `run` (2 after a confirmation run; see needsConfirmation). */
  pooledRuns?: number;
  /** Remarks from loading (merge base not found, corrupt file treated as missing) for the baseline note. */
  notes?: string[];
  now?: Date;
}

export interface ComparisonOutcome {
  regressions: RegressionResult[];
  baseline: NonNullable<Verdict['baseline']>;
  mode: 'no_baseline' | 'not_comparable' | 'single' | 'history';
  /** The run compared with, when there was one. */
  entry?: BaselineEntry;
  /** Runs in the noise band (history mode). */
  historySize: number;
  /** Metrics with evidence a confirmation run could settle either way (every regression is one). */
  suspect: RegressionMetric[];
  /** Metrics worse than the baseline by more than a quarter of their tolerance (informational; confirmation asks for `suspect`). */
  worse: RegressionMetric[];
}

export function compareWithBaseline(
  run: RunResult,
  history: readonly BaselineEntry[],
  rules: readonly RegressionRule[],
  opts: CompareOptions,
): ComparisonOutcome {
  const now = opts.now ?? new Date();
  const notes = [...(opts.notes ?? [])];
  const limit = opts.historyLimit ?? 30;
  const minHistory = Math.max(2, opts.minHistory ?? MIN_HISTORY);
  const all = history
    .filter((e) => e.id !== opts.excludeId && (opts.excludeSha === undefined || e.sha !== opts.excludeSha))
    .slice()
    .sort((a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt));
  const onBranch =
    opts.branch === undefined ? all : all.filter((e) => e.branch === undefined || e.branch === opts.branch);
  const every = (status: RegressionResult['status'], reason: string): RegressionResult[] =>
    rules.map((r) => ({ metric: r.metric, status, reason }));

  if (onBranch.length === 0) {
    const why =
      all.length > 0 && opts.branch !== undefined
        ? `no recorded run of ${opts.branch} yet (the history has ${[...new Set(all.map((e) => e.branch))].join(', ')})`
        : 'no recorded run yet: this is the first, nothing to compare with';
    return {
      regressions: every('no_baseline', why),
      baseline: { source: opts.source, note: join([why, ...notes]) },
      mode: 'no_baseline',
      historySize: 0,
      suspect: [],
      worse: [],
    };
  }

  const comparable = onBranch.filter((e) => incomparability(e, run, opts.environment) === undefined);
  if (comparable.length === 0) {
    const newest = onBranch[onBranch.length - 1]!;
    const why = `not comparable: ${incomparability(newest, run, opts.environment)!}`;
    return {
      regressions: every('not_comparable', why),
      baseline: { source: opts.source, ...shaAndDate(newest), note: join([why, ...notes]) },
      mode: 'not_comparable',
      entry: newest,
      historySize: 0,
      suspect: [],
      worse: [],
    };
  }

  let entry = comparable[comparable.length - 1]!;
  let picked = `newest run${opts.branch ? ` of ${opts.branch}` : ''}`;
  if (opts.baselineSha) {
    const atBase = comparable.filter((e) => e.sha === opts.baselineSha);
    if (atBase.length > 0) {
      entry = atBase[atBase.length - 1]!;
      picked = 'merge base';
    } else {
      notes.push(`merge base ${short(opts.baselineSha)} has no comparable recorded run`);
    }
  }
  const upTo = comparable.filter((e) => Date.parse(e.createdAt) <= Date.parse(entry.createdAt));
  const window = upTo.slice(Math.max(0, upTo.length - limit));
  const useHistory = window.length >= minHistory;
  const mode = useHistory ? 'history' : 'single';

  const current = compactRun(run);
  const judged = rules.map((rule) =>
    judge(rule, current, entry, useHistory ? window : [], { minHistory, pooled: Math.max(1, opts.pooledRuns ?? 1) }),
  );
  const regressions = judged.map((j) => j.result);
  const suspect = judged.filter((j) => j.suspect).map((j) => j.result.metric as RegressionMetric);
  const worse = judged
    .filter(
      ({ rule, result: r }) =>
        r.current !== undefined &&
        r.baseline !== undefined &&
        nearTolerance(rule, worsening(rule, r.current, r.baseline), HOLD_SHARE),
    )
    .map(({ rule }) => rule.metric);
  const age = ageText(entry.createdAt, now);
  const note = join([
    `${picked}${entry.sha ? ` ${short(entry.sha)}` : ''}${age ? `, ${age} old` : ''}`,
    useHistory
      ? `noise band from ${window.length} runs`
      : `one baseline run${comparable.length > 1 ? ` (${upTo.length} comparable up to it; ${minHistory} needed for a noise band)` : ''}: histograms compared`,
    ...notes,
  ]);
  const floors = describeFloors(regressions.flatMap((r) => (r.floor ? [{ metric: r.metric, floor: r.floor }] : [])));
  const method = join([
    useHistory
      ? `a change counts as a regression when it is beyond the rule's tolerance and outside the ${((opts.pooledRuns ?? 1) > 1 ? POOLED_LEVEL : 0.99) * 100} % prediction band of the last ${window.length} comparable runs (latency percentiles: mean log of eight neighbouring quantiles)`
      : `a change counts as a regression when it is beyond the rule's tolerance, holds across neighbouring quantiles and exceeds the two histograms' sampling noise (z >= 2.33); from ${minHistory} recorded runs on, their own spread sets a noise band`,
    ...outliers(judged),
    ...floors,
  ]);
  const trend = upTo.slice(Math.max(0, upTo.length - TREND_RUNS)).map((e) => ({
    ...(e.sha ? { sha: e.sha } : {}),
    createdAt: e.createdAt,
    ...(e.metrics.p99 !== undefined ? { p99: e.metrics.p99 } : {}),
    ...(e.metrics.error_rate !== undefined ? { errorRate: e.metrics.error_rate } : {}),
  }));
  return {
    regressions,
    suspect,
    worse,
    baseline: {
      source: opts.source,
      ...shaAndDate(entry),
      note,
      method,
      trend,
      ...(entry.statements?.length ? { statements: entry.statements } : {}),
    },
    mode,
    entry,
    historySize: useHistory ? window.length : 1,
  };
}

/** Earlier runs in the trend chart: enough to see a drift, few enough to read each point. */
export const TREND_RUNS = 20;

// ---- verdict --------------------------------------------------------------------------------------------------

/**
 * Folds regression results into the verdict. A regression turns `pass` into `fail` (an `error` stays an error),
 * and whether the check fails follows fail-on: `any` fails on a target or a regression, `target` on targets only,
 * `regression` on regressions only, `never` never; an error verdict always fails.
 */
export function applyRegressions(
  verdict: Verdict,
  outcome: Pick<ComparisonOutcome, 'regressions' | 'baseline'>,
  failOn: FailOn,
): Verdict {
  const regressed = outcome.regressions.filter((r) => r.status === 'regressed');
  const targetFailed = verdict.status === 'fail';
  const status = verdict.status === 'error' ? 'error' : targetFailed || regressed.length ? 'fail' : 'pass';
  const reasons = [...verdict.reasons, ...regressed.map((r) => `regression: ${r.reason ?? r.metric}`)];
  let failsCheck: boolean;
  if (status === 'error') failsCheck = true;
  else {
    switch (failOn) {
      case 'any':
        failsCheck = targetFailed || regressed.length > 0;
        break;
      case 'target':
        failsCheck = targetFailed;
        break;
      case 'regression':
        failsCheck = regressed.length > 0;
        break;
      case 'never':
        failsCheck = false;
        break;
    }
  }
  return { ...verdict, status, failsCheck, reasons, regressions: outcome.regressions, baseline: outcome.baseline };
}

/**
 * Confirm-before-failing, first half. True when the comparison found a regression or a change short of one
 * (beyond half the tolerance and an 80 % noise band): the pipeline should then run the phase once more and let
 * confirmComparison decide. A same-build false alarm rarely survives a second, independent run, while a real
 * slowdown shows in both and is then judged on twice the requests and half the run-to-run jitter, which is what
 * lets a 20 % p99 slowdown be caught reliably (bench/regression-real.mjs). Given only the results (no
 * `suspect`), any regression counts.
 */
export function needsConfirmation(
  outcome: readonly RegressionResult[] | Pick<ComparisonOutcome, 'regressions' | 'suspect'> | undefined,
): boolean {
  if (outcome === undefined) return false;
  if (Array.isArray(outcome)) return (outcome as readonly RegressionResult[]).some((r) => r.status === 'regressed');
  const o = outcome as Pick<ComparisonOutcome, 'regressions' | 'suspect'>;
  return o.suspect.length > 0 || o.regressions.some((r) => r.status === 'regressed');
}

/**
 * Confirm-before-failing, second half: `first` was suspect (needsConfirmation) and the phase ran once more as
 * `second`. The pooled runs are judged (twice the requests, half the run-to-run jitter: that is what catches a
 * 20 % slowdown reliably), and a regression stands only where the confirmation run on its own passes the screen
 * the first run passed (beyond half the tolerance and its 80 % band, or a regression outright). Without that second,
 * independent test one extreme first run (a stall), pooled with a normal or slightly slow second, could still fail
 * the check: the regression must show in both runs, not just be averaged in.
 */
export function confirmComparison(
  compare: (run: RunResult, pooledRuns: number) => ComparisonOutcome,
  first: RunResult,
  second: RunResult,
): { outcome: ComparisonOutcome; pooled: RunResult } {
  const pooled = poolRuns(first, second);
  const together = compare(pooled, 2);
  const alone = compare(second, 1);
  // The confirmation run is a second, independent test: on its own it must show the evidence that made the first run
  // suspect (beyond half the tolerance and its 80 % band), not merely lean the same way.
  const holds = new Set<string>([
    ...alone.suspect,
    ...alone.regressions.filter((r) => r.status === 'regressed').map((r) => r.metric),
  ]);
  const regressions = together.regressions.map((r): RegressionResult => {
    if (r.status !== 'regressed' || holds.has(r.metric)) return r;
    const own = alone.regressions.find((x) => x.metric === r.metric);
    const ownChange = own?.changePercent !== undefined ? ` (${signed(own.changePercent)}%)` : '';
    const pooledChange = r.changePercent !== undefined ? ` (${signed(r.changePercent)}%)` : '';
    return {
      ...r,
      status: 'pass',
      reason: `${r.metric} of the two runs pooled looks worse${pooledChange}, but the confirmation run alone${ownChange} does not stand out from the noise on its own (half the tolerance and its 80 % band): not confirmed, not counted`,
    };
  });
  const suspect = together.suspect.filter((m) => holds.has(m));
  return { outcome: { ...together, regressions, suspect }, pooled };
}

/** Two runs of the same phase as one: histograms merged, counts summed, rates recomputed. */
export function poolRuns(a: RunResult, b: RunResult): RunResult {
  const requests = a.requests + b.requests;
  const errors = a.errors + b.errors;
  const durationMs = a.durationMs + b.durationMs;
  let histogram: SerializedHistogram | undefined;
  let latency = a.latency;
  if (a.histogram && b.histogram) {
    histogram = mergeSerialized(a.histogram, b.histogram);
    latency = latencyFrom(histogram);
  }
  const errorsByKind: RunResult['errorsByKind'] = { ...a.errorsByKind };
  for (const [k, v] of Object.entries(b.errorsByKind) as Array<[keyof RunResult['errorsByKind'], number]>)
    errorsByKind[k] = (errorsByKind[k] ?? 0) + v;
  const statusCodes: Record<string, number> = { ...a.statusCodes };
  for (const [k, v] of Object.entries(b.statusCodes)) statusCodes[k] = (statusCodes[k] ?? 0) + v;
  return {
    ...a,
    endedAt: b.endedAt,
    durationMs,
    requests,
    errors,
    errorsByKind,
    statusCodes,
    ...(requests > 0 ? { errorRate: (errors / requests) * 100 } : {}),
    ...(a.throughputRps !== undefined && b.throughputRps !== undefined
      ? { throughputRps: (a.throughputRps + b.throughputRps) / 2 }
      : {}),
    latency,
    ...(histogram ? { histogram } : {}),
    notes: [...a.notes, 'pooled with a confirmation run of the same phase'],
  };
}

function mergeSerialized(a: SerializedHistogram, b: SerializedHistogram): SerializedHistogram {
  const m = new Map<number, number>();
  for (const [i, c] of [...a.buckets, ...b.buckets]) m.set(i, (m.get(i) ?? 0) + c);
  return {
    layout: a.layout,
    count: a.count + b.count,
    minUs: a.count === 0 ? b.minUs : b.count === 0 ? a.minUs : Math.min(a.minUs, b.minUs),
    maxUs: Math.max(a.maxUs, b.maxUs),
    sumUs: a.sumUs + b.sumUs,
    buckets: [...m.entries()].sort((x, y) => x[0] - y[0]),
  };
}

function latencyFrom(h: SerializedHistogram): RunResult['latency'] {
  if (h.count === 0) return { count: 0 };
  const [p50, p90, p95, p99, p999] = quantiles(h, [50, 90, 95, 99, 99.9]);
  return {
    count: h.count,
    min: h.minUs / 1000,
    mean: h.sumUs / h.count / 1000,
    p50: p50!,
    p90: p90!,
    p95: p95!,
    p99: p99!,
    p999: p999!,
    max: h.maxUs / 1000,
  };
}
