// The comparison of one metric with its baseline: the per-metric half of regression.ts. judge() takes one rule,
// the current run and the comparable history and returns a result with its reason, the floor it used and whether
// a confirmation run could settle it. Two ways to judge, chosen by the history's size: judgeHistory (a noise band
// from the history's own run-to-run spread, outliers left out) and judgeSingle (one baseline run: the two
// histograms' sampling noise). regression.ts picks the baseline, runs judge() over the rules and writes the
// note and method; the reasoning behind the tests is described at the top of that file.
import type { BaselineEntry, RegressionResult, RunResult, SerializedHistogram } from '../model.js';
import { compactHistogram } from '../metrics/histogram.js';
import { type AppliedRule, fmt, regressionFloor } from './regression-floor.js';
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
import { changeText, describeTolerance, fmtZ, pct, round, short, signed } from './regression-text.js';

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
export const POOLED_LEVEL = 0.95;

export interface CurrentRun {
  run: RunResult;
  histogram?: SerializedHistogram;
}

export function compactRun(run: RunResult): CurrentRun {
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

export interface Judgement {
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

export function judge(
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
export function outliers(judged: readonly Judgement[]): string[] {
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
export function worsening(rule: RegressionRule, c: number, b: number): { delta: number; percent: number } {
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
export function nearTolerance(rule: RegressionRule, w: { delta: number; percent: number }, share: number): boolean {
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
