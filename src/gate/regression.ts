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
import type { FailOn, RegressionResult, RunResult, Verdict, SerializedHistogram, BaselineEntry } from '../model.js';
import { type AppliedRule, describeFloors, fmt, regressionFloor } from './regression-floor.js';
import {
  ageText,
  changeText,
  describeTolerance,
  fmtZ,
  join,
  pct,
  round,
  shaAndDate,
  short,
  signed,
} from './regression-text.js';
import type { RegressionMetric, RegressionRule } from './regression-rules.js';
import {
  level,
  mean,
  neighbourQuantiles,
  probit,
  quantileSe,
  quantiles,
  stdev,
  tQuantile,
  twoProportionZ,
  variance,
} from './regression-stats.js';
import { incomparability } from './comparable.js';
import { compactHistogram } from '../metrics/histogram.js';

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
/** One-sided 1 %: a false alarm on about one same-build comparison in a hundred from sampling noise alone. */
const Z_CRIT = 2.326;
/**
 * Evidence worth a confirmation run, not a verdict: beyond half the tolerance and a one-sided 80 % band. Same-build
 * runs cross it about one time in ten (bench/regression-real.mjs), and a real 20 % slowdown almost always does.
 */
const SCREEN_LEVEL = 0.8;
const Z_SCREEN = probit(SCREEN_LEVEL);
const SCREEN_SHARE = 0.5;
/** Prediction level for two pooled runs: they have passed the screen, so the joint false-alarm rate stays low. */
const POOLED_LEVEL = 0.95;
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

interface CurrentRun {
  run: RunResult;
  histogram?: SerializedHistogram;
}

function compactRun(run: RunResult): CurrentRun {
  // Baseline histograms are stored at ~1 % resolution; the current one is coarsened the same way so both sides
  // of every quantile ratio carry the same rounding.
  return run.histogram && run.histogram.count > 0 ? { run, histogram: compactHistogram(run.histogram) } : { run };
}

function currentValue(run: RunResult, metric: RegressionMetric): number | undefined {
  switch (metric) {
    case 'error_rate':
      return run.errorRate;
    case 'throughput':
      return run.throughputRps;
    default:
      return run.latency[metric];
  }
}

interface Judgement {
  result: RegressionResult;
  /** The rule as applied: its absolute part is the floor that was used (written or derived). */
  rule: RegressionRule;
  /** Evidence a confirmation run could settle: a regression, or a change in the grey zone just short of one. */
  suspect: boolean;
  /** History runs left out of this metric's band as outliers. */
  left?: number;
}

type Verdictlet = Omit<Judgement, 'rule'>;

interface Mode {
  minHistory: number;
  /** Runs pooled into the current one (a confirmation run makes 2). */
  pooled: number;
}

function judge(
  written: RegressionRule,
  cur: CurrentRun,
  entry: BaselineEntry,
  window: readonly BaselineEntry[],
  mode: Mode,
): Judgement {
  const { metric } = written;
  const c = currentValue(cur.run, metric);
  if (c === undefined || !Number.isFinite(c))
    return {
      result: { metric, status: 'not_comparable', reason: `${metric} was not measured in this run` },
      rule: written,
      suspect: false,
    };
  if (entry.metrics[metric] === undefined)
    return {
      result: { metric, current: c, status: 'not_comparable', reason: `the baseline has no ${metric}` },
      rule: written,
      suspect: false,
    };
  // Older runs may lack a metric (a results file without throughput): the band uses the runs that have it.
  const withValue = window.filter((e) => e.metrics[metric] !== undefined);
  const full = withValue.length >= mode.minHistory ? withValue : [];
  const { kept: history, left } = withoutOutliers(written, full, cur);
  const baselineValue = history.length > 0 ? centre(written, history) : entry.metrics[metric]!;
  const floor = regressionFloor({
    rule: written,
    baselineValue,
    run: cur.run,
    ...(cur.histogram ? { histogram: cur.histogram } : {}),
    entry,
    window: history,
    pooled: mode.pooled,
  });
  const rule: Rule = floor === undefined ? written : { ...written, absolute: floor.value, floor };
  const j = history.length > 0 ? judgeHistory(rule, cur, c, history, mode) : judgeSingle(rule, cur, c, entry);
  const result =
    left.length > 0 && j.result.reason ? { ...j.result, reason: `${j.result.reason} (${leftText(left)})` } : j.result;
  return {
    result: floor === undefined ? result : { ...result, floor },
    rule,
    suspect: j.suspect,
    ...(left.length ? { left: left.length } : {}),
  };
}

/** For the Method line: which metrics' bands left history runs out, e.g. `p99: 1 run of the history left out as an outlier (beyond the others' 99.5 % prediction bound)`. */
function outliers(judged: readonly Judgement[]): string[] {
  const byCount = new Map<number, string[]>();
  for (const j of judged) if (j.left) byCount.set(j.left, [...(byCount.get(j.left) ?? []), j.result.metric]);
  return [...byCount.entries()].map(
    ([k, ms]) =>
      `${ms.join(', ')}: ${k === 1 ? '1 run' : `${k} runs`} of the history left out as ${k === 1 ? 'an outlier' : 'outliers'} (beyond the others' ${OUTLIER_LEVEL * 100} % prediction bound)`,
  );
}

/** One-sided 99.5 %: a run of the history this much worse than the others is an outlier (a stall), not noise. */
const OUTLIER_LEVEL = 0.995;

interface LeftOut {
  entry: BaselineEntry;
  /** How much worse than the mean of the others, as a log shift. */
  shift: number;
}

/**
 * The history without runs that are outliers against the others: a run with a stall (a few dozen requests held
 * for 150-400 ms) has a p99 far above the rest, and left in, it drags the mean up and multiplies the spread, so
 * the band then hides a real 20 % slowdown. Leave-one-out, as a prediction test: the worst run is left out when it
 * lies beyond the one-sided 99.5 % prediction bound of the other runs, m' + t(0.995, n'-1) · s' · sqrt(1 + 1/n')
 * (exact for normal noise: a normal run of the same build is left out one time in 200); then the next, while at
 * least MIN_KEPT runs and four fifths of the history stay. Only the worse side: a run that was better than the
 * rest does not hide a slowdown. Latency percentiles with histograms only, on the same per-run level the band uses.
 */
function withoutOutliers(
  rule: RegressionRule,
  window: readonly BaselineEntry[],
  cur: CurrentRun,
): { kept: readonly BaselineEntry[]; left: LeftOut[] } {
  const neighbours = neighbourQuantiles(rule.metric);
  if (
    neighbours === undefined ||
    rule.metric === 'max' ||
    cur.histogram === undefined ||
    !window.every((e) => e.histogram && e.histogram.count > 0)
  )
    return { kept: window, left: [] };
  let kept = window.map((e) => ({ e, x: (rule.better === 'lower' ? 1 : -1) * level(e.histogram!, neighbours) }));
  const left: LeftOut[] = [];
  const most = Math.max(0, Math.min(window.length - MIN_KEPT, Math.floor(window.length / 5)));
  while (left.length < most) {
    const worst = kept.reduce((a, b) => (b.x > a.x ? b : a));
    const others = kept.filter((k) => k !== worst).map((k) => k.x);
    const m = mean(others);
    const s = stdev(others, m);
    const bound = tQuantile(OUTLIER_LEVEL, others.length - 1) * s * Math.sqrt(1 + 1 / others.length);
    if (!(worst.x - m > bound)) break;
    left.push({ entry: worst.e, shift: worst.x - m });
    kept = kept.filter((k) => k !== worst);
  }
  return { kept: kept.map((k) => k.e), left };
}
const MIN_KEPT = 4;

function leftText(left: readonly LeftOut[]): string {
  const runs = left.map((l) => `${l.entry.sha ? short(l.entry.sha) : l.entry.id} ${signed(pct(l.shift))}%`);
  return `${left.length === 1 ? '1 run' : `${left.length} runs`} of the history left out as ${left.length === 1 ? 'an outlier' : 'outliers'} against the others: ${runs.join(', ')}`;
}

type Rule = AppliedRule;

/** What the history is compared on: the geometric mean for latency and throughput, the mean for the error rate. */
function centre(rule: RegressionRule, window: readonly BaselineEntry[]): number {
  const values = window.map((e) => e.metrics[rule.metric]!);
  return rule.metric === 'error_rate' ? mean(values) : Math.exp(mean(values.map((v) => Math.log(Math.max(v, 1e-9)))));
}

/** Worsening of c relative to b: positive = worse, in the metric's unit and in percent of b. */
function worsening(rule: RegressionRule, c: number, b: number): { delta: number; percent: number } {
  const raw = c - b;
  const delta = rule.better === 'lower' ? raw : -raw;
  const percent =
    b !== 0
      ? (delta / Math.abs(b)) * 100
      : delta > 0
        ? Number.POSITIVE_INFINITY
        : delta < 0
          ? Number.NEGATIVE_INFINITY
          : 0;
  return { delta, percent };
}

function beyondTolerance(rule: RegressionRule, w: { delta: number; percent: number }): boolean {
  if (!(w.delta > 0)) return false;
  if (rule.relativePercent !== undefined && !(w.percent > rule.relativePercent)) return false;
  if (rule.absolute !== undefined && !(w.delta > rule.absolute)) return false;
  return true;
}

/** Beyond `share` of both parts of the tolerance: for the screen, close enough that a confirmation run is worth its time. */
function nearTolerance(rule: RegressionRule, w: { delta: number; percent: number }, share: number): boolean {
  if (!(w.delta > 0)) return false;
  if (rule.relativePercent !== undefined && !(w.percent > share * rule.relativePercent)) return false;
  if (rule.absolute !== undefined && !(w.delta > share * rule.absolute)) return false;
  return true;
}

function improvedBeyond(rule: RegressionRule, w: { delta: number; percent: number }): boolean {
  return beyondTolerance(rule, { delta: -w.delta, percent: -w.percent });
}

function base(rule: RegressionRule, c: number, b: number): Omit<RegressionResult, 'status'> {
  const changePercent = b !== 0 ? ((c - b) / Math.abs(b)) * 100 : undefined;
  return {
    metric: rule.metric,
    current: c,
    baseline: b,
    ...(changePercent === undefined ? {} : { changePercent: round(changePercent, 2) }),
  };
}

/** The relative tolerance as a log shift; 0 when the rule has only an absolute part. */
function logTolerance(rule: RegressionRule): number {
  return rule.relativePercent !== undefined ? Math.log1p(rule.relativePercent / 100) : 0;
}

function judgeSingle(rule: Rule, cur: CurrentRun, c: number, entry: BaselineEntry): Verdictlet {
  const b = entry.metrics[rule.metric]!;
  const result = base(rule, c, b);
  const w = worsening(rule, c, b);
  const head = `${rule.metric} ${changeText(rule, c, b)}`;
  const noise = singleRunNoise(rule, cur, entry);
  if (!beyondTolerance(rule, w)) {
    const status = improvedBeyond(rule, w) ? 'improved' : 'pass';
    return {
      result: { ...result, status, reason: `${head}: within tolerance (${describeTolerance(rule)})` },
      suspect: noise.suspect && nearTolerance(rule, w, SCREEN_SHARE),
    };
  }
  if (noise.holds)
    return {
      result: { ...result, status: 'regressed', reason: `${head}: beyond ${describeTolerance(rule)}; ${noise.text}` },
      suspect: true,
    };
  return {
    result: { ...result, status: 'pass', reason: `${head} but ${noise.text}: not counted` },
    suspect: noise.suspect,
  };
}

/** The second opinion with one baseline run: does the histogram evidence carry the change beyond noise? */
function singleRunNoise(
  rule: RegressionRule,
  cur: CurrentRun,
  entry: BaselineEntry,
): { holds: boolean; suspect: boolean; text: string } {
  const neighbours = neighbourQuantiles(rule.metric);
  const hb = entry.histogram;
  const hc = cur.histogram;
  if (neighbours && hb && hc && hb.count > 0 && hc.count > 0) {
    const qb = quantiles(hb, neighbours);
    const qc = quantiles(hc, neighbours);
    const ratios: number[] = [];
    const ses: number[] = [];
    neighbours.forEach((p, i) => {
      if (qb[i]! > 0 && qc[i]! > 0) {
        ratios.push(Math.log(qc[i]! / qb[i]!));
        ses.push(Math.hypot(quantileSe(hb, p), quantileSe(hc, p)));
      }
    });
    const need = logTolerance(rule);
    const shift = mean(ratios);
    // Neighbouring quantiles move together, so their mean is barely less noisy than one of them: the mean SE is
    // the honest (slightly conservative) standard error of the mean shift.
    const se = mean(ses);
    const z = se > 0 ? shift / se : shift > 0 ? Number.POSITIVE_INFINITY : 0;
    const agree = ratios.filter((r) => r > need).length;
    const range = `p${neighbours[0]}–p${neighbours[neighbours.length - 1]}`;
    const shiftText = `${range} moved ${signed(pct(shift))}% on average (${agree} of ${ratios.length} beyond tolerance), z=${fmtZ(z)}`;
    const suspect = shift > SCREEN_SHARE * need && z >= Z_SCREEN;
    if (!(shift > need) || agree * 2 <= ratios.length)
      return { holds: false, suspect, text: `${shiftText}: the shift does not hold across neighbouring quantiles` };
    if (z < Z_CRIT) return { holds: false, suspect, text: `${shiftText}: within the histograms' sampling noise` };
    return { holds: true, suspect: true, text: `${shiftText}: the shift holds across neighbouring quantiles` };
  }
  if (rule.metric === 'mean' && hb && hc && hb.count > 1 && hc.count > 1) {
    const vb = variance(hb);
    const vc = variance(hc);
    const diff = hc.sumUs / hc.count / 1000 - hb.sumUs / hb.count / 1000;
    const se = Math.sqrt(vb / hb.count + vc / hc.count);
    const z = se > 0 ? diff / se : diff > 0 ? Number.POSITIVE_INFINITY : 0;
    return z >= Z_CRIT
      ? { holds: true, suspect: true, text: `Welch z=${fmtZ(z)}` }
      : { holds: false, suspect: z >= Z_SCREEN, text: `Welch z=${fmtZ(z)}: within sampling noise` };
  }
  if (rule.metric === 'error_rate') {
    const z = twoProportionZ(entry.errors, entry.requests, cur.run.errors, cur.run.requests);
    const counts = `${cur.run.errors}/${cur.run.requests} vs ${entry.errors}/${entry.requests} errors`;
    return z >= Z_CRIT
      ? { holds: true, suspect: true, text: `${counts}, z=${fmtZ(z)}` }
      : { holds: false, suspect: z >= Z_SCREEN, text: `${counts}, z=${fmtZ(z)}: could be chance` };
  }
  const text =
    rule.metric === 'throughput'
      ? 'tolerance only (one baseline run gives no noise estimate for throughput)'
      : 'tolerance only (no histogram to test the shift)';
  return { holds: true, suspect: false, text };
}

function judgeHistory(
  rule: Rule,
  cur: CurrentRun,
  c: number,
  window: readonly BaselineEntry[],
  mode: Mode,
): Verdictlet {
  const { metric } = rule;
  const logScale = metric !== 'error_rate';
  const tr = (v: number): number => (logScale ? Math.log(Math.max(v, 1e-9)) : v);
  const headline = window.map((e) => tr(e.metrics[metric]!));
  const centreHeadline = mean(headline);
  const b = logScale ? Math.exp(centreHeadline) : centreHeadline;
  const result = base(rule, c, b);
  const w = worsening(rule, c, b);
  const head = `${metric} ${changeText(rule, c, b)} vs the mean of ${window.length} runs`;

  // Per-run values for the band: smoothed quantile levels when every run has a histogram, headline otherwise.
  const neighbours = neighbourQuantiles(metric);
  const smooth =
    neighbours !== undefined &&
    cur.histogram !== undefined &&
    window.every((e) => e.histogram && e.histogram.count > 0);
  const xs = smooth ? window.map((e) => level(e.histogram!, neighbours)) : headline;
  const x = smooth ? level(cur.histogram!, neighbours) : tr(c);
  const n = xs.length;
  const m = mean(xs);
  const s = stdev(xs, m);
  // Prediction interval for the mean of `pooled` new runs: s * sqrt(1/k + 1/n). A pooled (confirmed) run has
  // already passed the screen, and its second run must pass it on its own, so 95 % there is enough.
  const spread = s * Math.sqrt(1 / mode.pooled + 1 / n);
  const band = tQuantile(mode.pooled > 1 ? POOLED_LEVEL : 0.99, n - 1) * spread;
  const screenBand = tQuantile(SCREEN_LEVEL, n - 1) * spread;
  const shift = rule.better === 'lower' ? x - m : m - x;
  const need = logTolerance(rule);
  const suspect =
    nearTolerance(rule, w, SCREEN_SHARE) && shift > screenBand && (!smooth || shift > SCREEN_SHARE * need);
  const conf = String((mode.pooled > 1 ? POOLED_LEVEL : 0.99) * 100);
  const bandText = logScale
    ? `${rule.better === 'lower' ? 'up to +' : 'down to -'}${fmt(pct(band))}%`
    : `up to +${fmt(band)}pp`;
  const range = smooth ? `p${neighbours![0]}–p${neighbours![neighbours!.length - 1]}` : '';

  if (!beyondTolerance(rule, w)) {
    const status = improvedBeyond(rule, w) ? 'improved' : 'pass';
    return { result: { ...result, status, reason: `${head}: within tolerance (${describeTolerance(rule)})` }, suspect };
  }
  if (!(shift > band)) {
    const what = smooth ? `${range} moved ${signed(pct(rule.better === 'lower' ? shift : -shift))}%, ` : '';
    return {
      result: {
        ...result,
        status: 'pass',
        reason: `${head} but ${what}within its noise band (${bandText}, ${conf}% prediction over ${n} runs): not counted`,
      },
      suspect,
    };
  }
  if (smooth && !(shift > need)) {
    return {
      result: {
        ...result,
        status: 'pass',
        reason: `${head} but ${range} moved only ${signed(pct(shift))}%: the shift does not hold across neighbouring quantiles`,
      },
      suspect,
    };
  }
  if (metric === 'error_rate') {
    // A history of zero errors has no spread; the counts still tell chance from a change.
    const errs = window.reduce((a, e) => a + e.errors, 0);
    const reqs = window.reduce((a, e) => a + e.requests, 0);
    const z = twoProportionZ(errs, reqs, cur.run.errors, cur.run.requests);
    if (z < Z_CRIT) {
      return {
        result: {
          ...result,
          status: 'pass',
          reason: `${head} but ${cur.run.errors}/${cur.run.requests} errors vs ${errs}/${reqs} over the history could be chance (z=${fmtZ(z)})`,
        },
        suspect: z >= Z_SCREEN,
      };
    }
  }
  const moved = smooth
    ? `${range} moved ${signed(pct(shift))}%`
    : logScale
      ? `${signed(pct(rule.better === 'lower' ? shift : -shift))}%`
      : `+${fmt(shift)}pp`;
  return {
    result: {
      ...result,
      status: 'regressed',
      reason: `${head}: beyond ${describeTolerance(rule)} and outside its noise band: ${moved}, band ${bandText} (${conf}% prediction over ${n} runs)`,
    },
    suspect: true,
  };
}

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
