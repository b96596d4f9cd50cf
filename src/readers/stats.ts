// Latency statistics from histograms (exact to the histogram's 0.1 %) and, when only summaries exist, the
// best estimate of a combined summary together with which fields are estimates.
import { Histogram, bucketRange } from '../metrics/histogram.js';
import type { LatencyStats, SerializedHistogram } from '../model.js';

/**
 * LatencyStats from a histogram. `interpolated` follows k6 (linear interpolation between the samples around
 * rank p*(n-1), so the figures agree with k6's own summary); `nearest` is nearest-rank, like Artillery's.
 */
export function statsFromHistogram(
  h: Histogram | SerializedHistogram,
  method: 'interpolated' | 'nearest',
): LatencyStats {
  if (h.count === 0) return { count: 0 };
  if (method === 'nearest') return (h instanceof Histogram ? h : Histogram.fromJSON(h)).stats();
  const s = h instanceof Histogram ? h.toJSON() : h;
  const [p50, p90, p95, p99, p999] = interpolatedPercentilesMs(s, [50, 90, 95, 99, 99.9]);
  return {
    count: s.count,
    min: s.minUs / 1000,
    mean: s.sumUs / s.count / 1000,
    p50: p50!,
    p90: p90!,
    p95: p95!,
    p99: p99!,
    p999: p999!,
    max: s.maxUs / 1000,
  };
}

/**
 * Several k6-style percentiles in one pass over the sparse buckets. Same arithmetic as
 * Histogram.interpolatedPercentileMs (a test holds them equal), which scans the dense bucket array once per
 * rank: with a time series of hundreds of intervals that scan dominated reading a k6 NDJSON file.
 */
export function interpolatedPercentilesMs(h: SerializedHistogram, ps: number[]): number[] {
  const n = h.count;
  if (n === 0) return ps.map(() => NaN);
  if (n === 1) return ps.map(() => h.minUs / 1000);
  const clamp = (us: number) => Math.min(Math.max(us, h.minUs), h.maxUs);
  const ranks: number[] = [];
  for (const p of ps) {
    const pos = (p / 100) * (n - 1);
    const lower = Math.floor(pos);
    ranks.push(lower, pos - lower > 0 ? lower + 1 : lower);
  }
  const order = ranks.map((_, i) => i).sort((a, b) => ranks[a]! - ranks[b]!);
  const values = new Array<number>(ranks.length);
  let bi = 0;
  let seen = 0;
  for (const idx of order) {
    const r = ranks[idx]!;
    if (r <= 0) values[idx] = h.minUs;
    else if (r >= n - 1) values[idx] = h.maxUs;
    else {
      while (bi < h.buckets.length && seen + h.buckets[bi]![1] <= r) {
        seen += h.buckets[bi]![1];
        bi++;
      }
      const bucket = h.buckets[bi];
      if (!bucket) values[idx] = h.maxUs;
      else {
        const [i, c] = bucket;
        const [lo, hi] = bucketRange(i);
        if (lo === hi || c === 1) values[idx] = clamp(c === 1 ? (lo + hi) / 2 : lo);
        else values[idx] = clamp(lo + (hi - lo) * ((r - seen) / (c - 1)));
      }
    }
  }
  return ps.map((p, k) => {
    const pos = (p / 100) * (n - 1);
    const frac = pos - Math.floor(pos);
    const a = values[2 * k]!;
    const b = values[2 * k + 1]!;
    return (a + (b - a) * frac) / 1000;
  });
}

const PERCENTILE_FIELDS = ['p50', 'p90', 'p95', 'p99', 'p999'] as const;

export interface CombinedLatency {
  stats: LatencyStats;
  /** Percentile fields that are weighted averages, not percentiles of the combined data. */
  estimated: string[];
}

/**
 * Combine summaries of disjoint sets of samples. Count, min and max are exact; the mean is exact when every
 * part has one; a percentile is only given when every non-empty part has it, as the count-weighted average
 * of the parts' percentiles (an estimate: percentiles do not add up).
 */
export function combineLatency(parts: LatencyStats[]): CombinedLatency {
  const nonEmpty = parts.filter((p) => p.count > 0);
  const count = nonEmpty.reduce((a, p) => a + p.count, 0);
  const stats: LatencyStats = { count };
  const estimated: string[] = [];
  if (count === 0) return { stats, estimated };
  if (nonEmpty.length === 1) return { stats: { ...nonEmpty[0]! }, estimated };
  if (nonEmpty.every((p) => p.min !== undefined)) stats.min = Math.min(...nonEmpty.map((p) => p.min!));
  if (nonEmpty.every((p) => p.max !== undefined)) stats.max = Math.max(...nonEmpty.map((p) => p.max!));
  if (nonEmpty.every((p) => p.mean !== undefined))
    stats.mean = nonEmpty.reduce((a, p) => a + p.mean! * p.count, 0) / count;
  for (const f of PERCENTILE_FIELDS) {
    if (nonEmpty.every((p) => p[f] !== undefined)) {
      let v = nonEmpty.reduce((a, p) => a + p[f]! * p.count, 0) / count;
      // A weighted average can never leave the range the data spans.
      if (stats.min !== undefined) v = Math.max(v, stats.min);
      if (stats.max !== undefined) v = Math.min(v, stats.max);
      stats[f] = v;
      estimated.push(f);
    }
  }
  return { stats, estimated };
}

/** Weighted combination of custom trend values (same rules as combineLatency, for any `p<N>` key). */
export function combineTrendValues(parts: Array<Record<string, number>>): {
  values: Record<string, number>;
  estimated: boolean;
} {
  const withCount = parts.every((p) => p.count !== undefined);
  const weights = parts.map((p) => (withCount ? p.count! : 1));
  const total = weights.reduce((a, w) => a + w, 0);
  const values: Record<string, number> = {};
  let estimated = false;
  const keys = new Set(parts.flatMap((p) => Object.keys(p)));
  for (const k of keys) {
    if (!parts.every((p) => p[k] !== undefined)) continue;
    const xs = parts.map((p) => p[k]!);
    if (k === 'count') values.count = xs.reduce((a, x) => a + x, 0);
    else if (k === 'min') values.min = Math.min(...xs);
    else if (k === 'max') values.max = Math.max(...xs);
    else if (total > 0) {
      values[k] = xs.reduce((a, x, i) => a + x * weights[i]!, 0) / total;
      if (k !== 'avg' || !withCount) estimated = true;
    }
  }
  return { values, estimated };
}
