// A log-linear latency histogram on integer microseconds, in the spirit of HdrHistogram: values below 2048 µs get
// their own bucket, above that each power of two is split into 1024 buckets, so any recorded value is known to
// within 0.1 %. It is mergeable (same layout everywhere), small to serialise (sparse), and recording is a couple
// of integer operations, so millions of latencies cost kilobytes, not an array of samples.
import type { LatencyStats, SerializedHistogram } from '../model.js';

const SUB_BITS = 10;
const SUB = 1 << SUB_BITS; // 1024
const DIRECT = SUB * 2; // 2048 values recorded exactly

/**
 * What toJSON returns. A class rather than an object literal: with Node 24's V8, optimised code that built the
 * literal `{ layout, count, minUs, ... }` was seen handing every histogram it serialised the same boxes for the
 * double-valued fields, so that all of them showed the min, max and sum of the last one (a k6 file's total,
 * endpoints and intervals alike; about one process in fifteen that read a few hundred files). The fields are
 * declared without a value, so each starts as undefined and holds its number as an ordinary reference: there
 * is no box to share. Same keys in the same order as the literal had.
 */
class SerializedData implements SerializedHistogram {
  readonly layout = 'loglinear-us-1024' as const;
  count: number;
  minUs: number;
  maxUs: number;
  sumUs: number;
  buckets: Array<[number, number]>;

  constructor(count: number, minUs: number, maxUs: number, sumUs: number, buckets: Array<[number, number]>) {
    this.count = count;
    this.minUs = minUs;
    this.maxUs = maxUs;
    this.sumUs = sumUs;
    this.buckets = buckets;
  }
}

export function bucketIndex(us: number): number {
  if (us < DIRECT) return us;
  const exp = 31 - Math.clz32(us) - SUB_BITS; // us >> exp is in [1024, 2047]
  return DIRECT + (exp - 1) * SUB + ((us >>> exp) - SUB);
}

/** Lowest and highest value (µs) that land in a bucket. */
export function bucketRange(index: number): [number, number] {
  if (index < DIRECT) return [index, index];
  const exp = Math.floor((index - DIRECT) / SUB) + 1;
  const mantissa = ((index - DIRECT) % SUB) + SUB;
  const lo = mantissa * 2 ** exp;
  return [lo, lo + 2 ** exp - 1];
}

const MAX_US = 2 ** 31 - 1; // about 35 minutes: a longer latency is clamped (and max keeps the truth)
// Places in Histogram.stat.
const COUNT = 0;
const MIN = 1;
const MAX = 2;
const SUM = 3;

export class Histogram {
  private counts: Float64Array;
  // count, minUs, maxUs and sumUs live in a typed array, not in number fields. V8 gives a field the
  // representation of its first value: sumUs started as a small integer and, once a sum outgrew that, changed
  // to a double, which deprecated the shape of every histogram; code recording into them (the k6 reader's
  // per-point path) was then refused by TurboFan ("maps became deprecated") for the rest of the run and stayed
  // in Maglev, boxing every double. A typed array never changes shape and holds no boxes.
  private readonly stat = new Float64Array(4);

  constructor(initialBuckets = DIRECT + 8 * SUB) {
    this.counts = new Float64Array(initialBuckets);
    this.stat[MIN] = Number.POSITIVE_INFINITY;
  }

  get count(): number {
    return this.stat[COUNT]!;
  }
  set count(v: number) {
    this.stat[COUNT] = v;
  }
  get minUs(): number {
    return this.stat[MIN]!;
  }
  set minUs(v: number) {
    this.stat[MIN] = v;
  }
  get maxUs(): number {
    return this.stat[MAX]!;
  }
  set maxUs(v: number) {
    this.stat[MAX] = v;
  }
  get sumUs(): number {
    return this.stat[SUM]!;
  }
  set sumUs(v: number) {
    this.stat[SUM] = v;
  }

  /** Record a latency given in milliseconds (fractions kept to the microsecond). */
  recordMs(ms: number): void {
    this.recordUs(Math.round(ms * 1000));
  }

  recordUs(us: number, times = 1): void {
    if (!(us >= 0)) return; // NaN or negative: a clock glitch, not a latency
    const v = us > MAX_US ? MAX_US : us;
    const idx = bucketIndex(v);
    if (idx >= this.counts.length) this.grow(idx + 1);
    this.counts[idx]! += times;
    const st = this.stat;
    st[COUNT]! += times;
    st[SUM]! += us * times;
    if (us < st[MIN]!) st[MIN] = us;
    if (us > st[MAX]!) st[MAX] = us;
  }

  private grow(min: number): void {
    let size = this.counts.length * 2;
    while (size < min) size *= 2;
    const next = new Float64Array(size);
    next.set(this.counts);
    this.counts = next;
  }

  merge(other: Histogram | SerializedHistogram): void {
    if (other instanceof Histogram) {
      if (other.count === 0) return;
      if (other.counts.length > this.counts.length) this.grow(other.counts.length);
      for (let i = 0; i < other.counts.length; i++) {
        const c = other.counts[i]!;
        if (c !== 0) this.counts[i]! += c;
      }
      this.count += other.count;
      this.sumUs += other.sumUs;
      this.minUs = Math.min(this.minUs, other.minUs);
      this.maxUs = Math.max(this.maxUs, other.maxUs);
      return;
    }
    const h = Histogram.fromJSON(other);
    this.merge(h);
  }

  /**
   * Nearest-rank percentile (0-100) in ms: the smallest recorded value with at least p % of samples at or below
   * it, reported as its bucket's midpoint and clamped to the exact min and max.
   */
  percentileMs(p: number): number | undefined {
    if (this.count === 0) return undefined;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return this.clampUs(bucketMid(i)) / 1000;
    }
    return this.maxUs / 1000;
  }

  /**
   * Percentile the way k6 computes a trend's p(N): linear interpolation between the two samples around the
   * fractional rank p*(n-1). Within a bucket samples are taken to sit evenly across its range.
   */
  interpolatedPercentileMs(p: number): number | undefined {
    if (this.count === 0) return undefined;
    if (this.count === 1) return this.minUs / 1000;
    const pos = (p / 100) * (this.count - 1); // 0-based fractional rank
    const lower = Math.floor(pos);
    const frac = pos - lower;
    const a = this.valueAtRankUs(lower);
    const b = frac > 0 ? this.valueAtRankUs(lower + 1) : a;
    return (a + (b - a) * frac) / 1000;
  }

  /** The value (µs) of the sample at 0-based rank r, spreading a bucket's samples evenly over its range. */
  private valueAtRankUs(r: number): number {
    if (r <= 0) return this.minUs;
    if (r >= this.count - 1) return this.maxUs;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i]!;
      if (c === 0) continue;
      if (seen + c > r) {
        const [lo, hi] = bucketRange(i);
        if (lo === hi || c === 1) return this.clampUs(c === 1 ? bucketMid(i) : lo);
        const within = (r - seen) / (c - 1);
        return this.clampUs(lo + (hi - lo) * within);
      }
      seen += c;
    }
    return this.maxUs;
  }

  private clampUs(us: number): number {
    return Math.min(Math.max(us, this.minUs), this.maxUs);
  }

  stats(): LatencyStats {
    if (this.count === 0) return { count: 0 };
    return {
      count: this.count,
      min: this.minUs / 1000,
      mean: this.sumUs / this.count / 1000,
      p50: this.percentileMs(50)!,
      p90: this.percentileMs(90)!,
      p95: this.percentileMs(95)!,
      p99: this.percentileMs(99)!,
      p999: this.percentileMs(99.9)!,
      max: this.maxUs / 1000,
    };
  }

  toJSON(): SerializedHistogram {
    const buckets: Array<[number, number]> = [];
    for (let i = 0; i < this.counts.length; i++) {
      const c = this.counts[i]!;
      if (c !== 0) buckets.push([i, c]);
    }
    return new SerializedData(this.count, this.count ? this.minUs : 0, this.maxUs, this.sumUs, buckets);
  }

  static fromJSON(data: SerializedHistogram): Histogram {
    if (data.layout !== 'loglinear-us-1024') throw new Error(`unknown histogram layout "${String(data.layout)}"`);
    let top = 0;
    for (const [i] of data.buckets) top = Math.max(top, i);
    const h = new Histogram(Math.max(top + 1, 16));
    for (const [i, c] of data.buckets) h.counts[i]! += c;
    h.count = data.count;
    h.minUs = data.count ? data.minUs : Number.POSITIVE_INFINITY;
    h.maxUs = data.maxUs;
    h.sumUs = data.sumUs;
    return h;
  }
}

function bucketMid(index: number): number {
  const [lo, hi] = bucketRange(index);
  return (lo + hi) / 2;
}

/**
 * The full histogram has 0.1 % buckets; 2000 requests then leave ~1500 sparse pairs, and thirty runs would
 * approach the contents API's 1 MB read limit. Regrouping to ~1 % (values kept at the group's centre, so off by
 * at most 0.5 %) leaves a few hundred pairs per run. The headline metrics are stored exactly beside it; the
 * histogram only feeds the distribution test, where 0.5 % is far below the noise being judged.
 */
export function compactHistogram(h: SerializedHistogram, precision = 0.01): SerializedHistogram {
  const step = Math.log1p(precision);
  const merged = new Map<number, number>();
  for (const [index, count] of h.buckets) {
    const [lo, hi] = bucketRange(index);
    const mid = (lo + hi) / 2;
    let target = index;
    if (mid >= 1 / precision) {
      const centre = Math.round(Math.exp(Math.round(Math.log(mid) / step) * step));
      target = bucketIndex(Math.min(centre, 2 ** 31 - 1));
    }
    merged.set(target, (merged.get(target) ?? 0) + count);
  }
  const buckets = [...merged.entries()].sort((a, b) => a[0] - b[0]);
  return { layout: h.layout, count: h.count, minUs: h.minUs, maxUs: h.maxUs, sumUs: h.sumUs, buckets };
}

/** Recorded values above `ms` (to the histogram's 0.1 %: a bucket straddling `ms` is not counted). */
export function countAboveMs(h: SerializedHistogram, ms: number): number {
  const us = ms * 1000;
  let n = 0;
  for (const [i, c] of h.buckets) if (bucketRange(i)[0] > us) n += c;
  return n;
}
