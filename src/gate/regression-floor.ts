// The absolute part of a regression tolerance when the rule does not set one: derived from the measurement, not a
// constant. A fixed floor (the old `+20ms`) hides a 20 % slowdown at p99 ≈ 100 ms (20 ms is +19 % there) and still
// lets 1 ms of jitter fail a 5 ms service; a floor that follows the data does neither:
//
// - With a history: twice the history's own spread of the metric, as the spread of one run (or k pooled runs)
//   against the mean of n: SD · sqrt(1/k + 1/n); for a latency percentile the SD of the same smoothed value the
//   noise band uses (the mean log of its neighbouring quantiles), in ms at the baseline. It can only be as fine as the histogram, so never below two
//   stored buckets (~2 % of the value; baselines keep histograms at ~1 % resolution).
// - Without one (a single baseline run): twice the two runs' sampling noise at that metric: the distribution-free
//   standard error of the quantile from each histogram, Welch's standard error for the mean, the binomial one for
//   the error rate. Without histograms, the quantile's standard error is estimated from the request count and the
//   run's own p50-p99 spread (a lognormal reading of them).
// - The error rate: the same spread rule with a history, and never below the sampling noise of the counts, with
//   at least one error's worth of rate: at low rates 1 or 2 errors in 1,300 requests are chance, 50 in 360,000
//   are not, and a constant `+0.2pp` got both wrong.
// - A user's explicit `+20ms` (or `+0.5pp`) is the floor, as written. Throughput has no sample distribution and no
//   derived floor: its relative tolerance alone applies.
//
// The factor 2 keeps the floor below the prediction band in the ordinary case (the band, t(0.99, n-1) · SD ·
// sqrt(1/k + 1/n), is about 4 SD for one run against 5): it decides only where the band cannot, at quantised or
// nearly constant values.
import type { BaselineEntry, RegressionFloor, RunResult, SerializedHistogram } from '../model.js';
import type { RegressionMetric, RegressionRule } from './regression-rules.js';
import { level, mean, neighbourQuantiles, probit, quantileSe, stdev, variance } from './regression-stats.js';

/** A rule as applied: its absolute part is the floor it was judged with (written or derived). */
export type AppliedRule = RegressionRule & { floor?: RegressionFloor };

/** How many spreads (or sampling errors) the floor is. */
export const FLOOR_SPREADS = 2;
/** Stored histograms keep ~1 % buckets; two of them is the finest change a comparison can resolve. */
const RESOLUTION = 1.01 ** 2 - 1;

export interface FloorInput {
  rule: RegressionRule;
  /** The value compared with: the history's (geometric) mean or the one baseline run's value. */
  baselineValue: number;
  run: RunResult;
  /** The current run's histogram at the stored resolution. */
  histogram?: SerializedHistogram;
  /** The one baseline run (single mode). */
  entry: BaselineEntry;
  /** The history's runs that have the metric (history mode), else empty. */
  window: readonly BaselineEntry[];
  /** Runs pooled into the current one. */
  pooled: number;
}

export function regressionFloor(f: FloorInput): RegressionFloor | undefined {
  const { rule } = f;
  if (rule.unit === '/s') return undefined;
  if (rule.absolute !== undefined)
    return { value: rule.absolute, unit: rule.unit, basis: 'rule', why: 'as written in the rule' };
  return rule.metric === 'error_rate' ? errorRateFloor(f) : latencyFloor(f);
}

function latencyFloor(f: FloorInput): RegressionFloor {
  const { metric } = f.rule;
  const b = f.baselineValue;
  const resolution = b * RESOLUTION;
  const atResolution = (detail: string): RegressionFloor => ({
    value: resolution,
    unit: 'ms',
    basis: 'resolution',
    why: "two buckets of the histogram's resolution",
    detail: `at ${fmt(b)} ms; ${detail}`,
  });
  if (f.window.length >= 2) {
    const n = f.window.length;
    // The spread the noise band uses: of the neighbouring quantiles' mean log when every run has a histogram (less
    // sampling noise than the one quantile, so a real slowdown is not hidden by it), of the values otherwise.
    const neighbours = neighbourQuantiles(metric);
    const smooth =
      neighbours !== undefined &&
      f.histogram !== undefined &&
      f.window.every((e) => e.histogram && e.histogram.count > 0);
    const logs = smooth
      ? f.window.map((e) => level(e.histogram!, neighbours))
      : f.window.map((e) => Math.log(Math.max(e.metrics[metric]!, 1e-9)));
    const sd = b * stdev(logs, mean(logs));
    const against = sd * Math.sqrt(1 / f.pooled + 1 / n);
    const value = FLOOR_SPREADS * against;
    const of = smooth ? ` of p${neighbours![0]}–p${neighbours![neighbours!.length - 1]}` : '';
    if (!(value > resolution)) return atResolution(`the history's spread, SD ${fmt(sd)} ms over ${n} runs, is finer`);
    return {
      value,
      unit: 'ms',
      basis: 'history',
      why: HISTORY_WHY,
      detail: `SD ${fmt(sd)} ms${of} over ${n} runs; ±${fmt(against)} ms for ${runs(f.pooled)} against their mean`,
    };
  }
  const se = samplingSe(metric, f.entry, f.run, f.histogram);
  if (se === undefined) return atResolution('no sampling noise measurable for it');
  const value = FLOOR_SPREADS * se.ms;
  if (!(value > resolution)) return atResolution(`the runs' sampling noise, ±${fmt(se.ms)} ms, is finer`);
  return { value, unit: 'ms', basis: 'sampling', why: SAMPLING_WHY, detail: `±${fmt(se.ms)} ms${se.how}` };
}

/** Standard error (ms) of the difference of one metric between the baseline run and the current one. */
function samplingSe(
  metric: RegressionMetric,
  entry: BaselineEntry,
  run: RunResult,
  hc: SerializedHistogram | undefined,
): { ms: number; how: string } | undefined {
  const hb = entry.histogram;
  const b = entry.metrics[metric];
  if (b === undefined) return undefined;
  const withHistograms = hb !== undefined && hc !== undefined && hb.count > 1 && hc.count > 1;
  switch (metric) {
    case 'p50':
    case 'p90':
    case 'p95':
    case 'p99': {
      const p = Number(metric.slice(1));
      if (withHistograms) return { ms: b * Math.hypot(quantileSe(hb!, p), quantileSe(hc!, p)), how: '' };
      // No histograms (a tool's summary): the quantile's standard error under a lognormal with the spread the run's
      // own p50 and p99 show, from the request counts.
      const spread = (r: { p50?: number; p99?: number }): number | undefined =>
        r.p50 !== undefined && r.p99 !== undefined && r.p50 > 0 && r.p99 > r.p50
          ? Math.log(r.p99 / r.p50) / probit(0.99)
          : undefined;
      const sigma = spread(run.latency) ?? spread(entry.metrics);
      const nb = entry.requests;
      const nc = run.latency.count ?? run.requests;
      if (sigma === undefined || !(nb > 0) || !(nc > 0)) return undefined;
      const q = p / 100;
      const z = probit(q);
      const density = Math.exp((-z * z) / 2) / Math.sqrt(2 * Math.PI);
      const seLog = (n: number): number => (sigma * Math.sqrt((q * (1 - q)) / n)) / density;
      return {
        ms: b * Math.hypot(seLog(nb), seLog(nc)),
        how: ', estimated from the request counts and p50–p99 spread: no histograms',
      };
    }
    case 'mean':
      if (!withHistograms) return undefined;
      return { ms: Math.sqrt(variance(hb!) / hb!.count + variance(hc!) / hc!.count), how: '' };
    case 'max':
    case 'error_rate':
    case 'throughput':
      return undefined;
  }
}

function errorRateFloor(f: FloorInput): RegressionFloor {
  const nc = f.run.requests;
  const ec = f.run.errors;
  const hist = f.window.length >= 2 ? f.window : [f.entry];
  const nb = hist.reduce((a, e) => a + e.requests, 0);
  const eb = hist.reduce((a, e) => a + e.errors, 0);
  // The binomial standard error of the difference, at the pooled rate but never below one error's worth of it.
  const p = Math.max((eb + ec) / Math.max(1, nb + nc), 1 / Math.max(1, nb + nc));
  const sampling = 100 * Math.sqrt(p * (1 - p) * (1 / Math.max(1, nb) + 1 / Math.max(1, nc)));
  const samplingFloor: RegressionFloor = {
    value: FLOOR_SPREADS * sampling,
    unit: 'pp',
    basis: 'sampling',
    why: `${FLOOR_SPREADS}× the counts' sampling noise`,
    detail: `±${fmt(sampling)}pp for ${ec}/${nc} vs ${eb}/${nb} errors`,
  };
  if (f.window.length < 2) return samplingFloor;
  const rates = f.window.map((e) => e.metrics.error_rate!);
  const sd = stdev(rates, mean(rates));
  const against = sd * Math.sqrt(1 / f.pooled + 1 / rates.length);
  if (!(FLOOR_SPREADS * against > samplingFloor.value)) return samplingFloor;
  return {
    value: FLOOR_SPREADS * against,
    unit: 'pp',
    basis: 'history',
    why: HISTORY_WHY,
    detail: `SD ${fmt(sd)}pp over ${rates.length} runs; ±${fmt(against)}pp for ${runs(f.pooled)} against their mean`,
  };
}

const HISTORY_WHY = `${FLOOR_SPREADS}× the history's spread`;
const SAMPLING_WHY = `${FLOOR_SPREADS}× the two runs' sampling noise`;

/** The floor's value as the reports write it: `6.1 ms`, `0.21pp`. */
export function floorValue(floor: RegressionFloor): string {
  return `${fmt(floor.value)}${floor.unit === 'ms' ? ' ms' : 'pp'}`;
}

/**
 * The floors of one comparison for the report's Method line, grouped by why:
 * `p99 floor 6.1 ms: 2× the history's spread`, `floors p95 4.2 ms, p99 6.1 ms: 2× the history's spread`.
 */
export function describeFloors(floors: ReadonlyArray<{ metric: string; floor: RegressionFloor }>): string[] {
  const byWhy = new Map<string, Array<{ metric: string; floor: RegressionFloor }>>();
  for (const f of floors) byWhy.set(f.floor.why, [...(byWhy.get(f.floor.why) ?? []), f]);
  return [...byWhy.entries()].map(([why, fs]) =>
    fs.length === 1
      ? `${fs[0]!.metric} floor ${floorValue(fs[0]!.floor)}: ${why}`
      : `floors ${fs.map((f) => `${f.metric} ${floorValue(f.floor)}`).join(', ')}: ${why}`,
  );
}

function runs(k: number): string {
  return k === 1 ? 'one run' : `${k} pooled runs`;
}

/** Three significant digits at most, two decimals for small values: how every figure in a reason is written. */
export function fmt(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  const a = Math.abs(n);
  const digits = a >= 100 ? 0 : a >= 10 ? 1 : 2;
  return String(Math.round(n * 10 ** digits) / 10 ** digits);
}
