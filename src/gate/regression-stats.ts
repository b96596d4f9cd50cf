// The statistics behind the regression noise model (regression.ts): quantiles and their sampling error straight
// from stored histograms, and the t and normal quantiles for prediction bands and z-tests.
import { bucketRange } from '../metrics/histogram.js';
import type { RegressionMetric } from './regression-rules.js';
import type { SerializedHistogram } from '../model.js';

/**
 * Quantiles that watch the same part of the distribution as a percentile: offsets in normal-score (z) units
 * around it, reaching a little further down, where there are more samples. p99 -> p96.97, p97.59, p98.11,
 * p98.52, p99, p99.28, p99.5, p99.68. The mean of their logs follows the same shift as the percentile (exactly
 * for a uniform slowdown, nearly for one that grows into the tail) with somewhat less sampling noise (about
 * 8 % less run-to-run spread on 2000 requests in the bench's model), and no single quantile decides.
 */
const Z_OFFSETS = [-0.45, -0.35, -0.25, -0.15, 0, 0.12, 0.25, 0.4];

export function neighbourQuantiles(metric: RegressionMetric): number[] | undefined {
  switch (metric) {
    case 'p50':
    case 'p90':
    case 'p95':
    case 'p99':
    case 'p999': {
      const z = probit((metric === 'p999' ? 99.9 : Number(metric.slice(1))) / 100);
      return Z_OFFSETS.map((d) => Math.round(normalCdf(z + d) * 10_000) / 100);
    }
    case 'max':
      return [99, 99.5, 99.7, 99.9, 100];
    case 'mean':
    case 'error_rate':
    case 'throughput':
      return undefined;
  }
}

/** Nearest-rank quantiles (same convention as Histogram.percentileMs) straight from the sparse buckets, in ms. */
export function quantiles(h: SerializedHistogram, ps: readonly number[]): number[] {
  const out: number[] = [];
  const order = ps.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const res = new Array<number>(ps.length).fill(h.maxUs / 1000);
  let seen = 0;
  let k = 0;
  for (const [index, count] of h.buckets) {
    seen += count;
    while (k < order.length && seen >= Math.max(1, Math.ceil((order[k]![0] / 100) * h.count))) {
      const [lo, hi] = bucketRange(index);
      res[order[k]![1]] = Math.min(Math.max((lo + hi) / 2, h.minUs), h.maxUs) / 1000;
      k++;
    }
    if (k >= order.length) break;
  }
  for (let i = 0; i < ps.length; i++) out.push(res[i]!);
  return out;
}

/**
 * Standard error of ln(quantile p) from the distribution-free confidence interval of a quantile: the ranks
 * n·p ± sqrt(n·p·(1-p)) bracket it with ~68 % probability, so half the log-distance between the values at those
 * ranks is one standard error. Needs no assumption about the latency distribution.
 */
export function quantileSe(h: SerializedHistogram, p: number): number {
  const n = h.count;
  const q = p / 100;
  const d = Math.sqrt((q * (1 - q)) / n);
  const lo = Math.max(0, q - d) * 100;
  const hi = Math.min(1, q + d) * 100;
  const [a, b] = quantiles(h, [lo, hi]);
  return a! > 0 && b! > 0 ? (Math.log(b!) - Math.log(a!)) / 2 : 0;
}

export function level(h: SerializedHistogram, ps: readonly number[]): number {
  const qs = quantiles(h, ps).filter((v) => v > 0);
  return mean(qs.map(Math.log));
}

export function variance(h: SerializedHistogram): number {
  const m = h.sumUs / h.count / 1000;
  let ss = 0;
  for (const [index, count] of h.buckets) {
    const [lo, hi] = bucketRange(index);
    const v = (lo + hi) / 2 / 1000 - m;
    ss += v * v * count;
  }
  return ss / Math.max(1, h.count - 1);
}

export function twoProportionZ(e1: number, n1: number, e2: number, n2: number): number {
  if (n1 <= 0 || n2 <= 0) return 0;
  const p1 = e1 / n1;
  const p2 = e2 / n2;
  const p = (e1 + e2) / (n1 + n2);
  const se = Math.sqrt(p * (1 - p) * (1 / n1 + 1 / n2));
  return se > 0 ? (p2 - p1) / se : 0;
}

/** Student's t quantile: exact for 1 and 2 degrees of freedom, Cornish-Fisher expansion (error < 1 %) above. */
export function tQuantile(p: number, df: number): number {
  if (!(df >= 1)) return Number.POSITIVE_INFINITY;
  if (df === 1) return Math.tan(Math.PI * (p - 0.5));
  if (df === 2) return (2 * p - 1) / Math.sqrt(2 * p * (1 - p));
  const z = probit(p);
  const z3 = z ** 3;
  const z5 = z ** 5;
  const z7 = z ** 7;
  return (
    z +
    (z3 + z) / (4 * df) +
    (5 * z5 + 16 * z3 + 3 * z) / (96 * df ** 2) +
    (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / (384 * df ** 3)
  );
}

/** Inverse of the standard normal CDF (Acklam's rational approximation, relative error below 1e-9). */
export function probit(p: number): number {
  if (p <= 0) return Number.NEGATIVE_INFINITY;
  if (p >= 1) return Number.POSITIVE_INFINITY;
  const a = [
    -39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239,
  ];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [
    -0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968,
    2.938163982698783,
  ];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  const tail = (q: number): number =>
    (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) /
    ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  if (p < 0.02425) return tail(Math.sqrt(-2 * Math.log(p)));
  if (p > 1 - 0.02425) return -tail(Math.sqrt(-2 * Math.log(1 - p)));
  const q = p - 0.5;
  const r = q * q;
  return (
    ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) /
    (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1)
  );
}

export function normalCdf(z: number): number {
  // Abramowitz-Stegun 26.2.17, error below 7.5e-8: plenty for choosing quantile positions.
  const t = 1 / (1 + 0.2316419 * Math.abs(z));
  const d = 0.3989422804014327 * Math.exp((-z * z) / 2);
  const p = d * t * (0.31938153 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
  return z > 0 ? 1 - p : p;
}

export function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

export function stdev(xs: readonly number[], m = mean(xs)): number {
  if (xs.length < 2) return 0;
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
