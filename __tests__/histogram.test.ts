import { describe, expect, it } from 'vitest';
import { bucketIndex, bucketRange, Histogram } from '../src/metrics/histogram.js';

function exactPercentile(sorted: number[], p: number): number {
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

function k6Percentile(sorted: number[], p: number): number {
  const pos = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

describe('Histogram', () => {
  it('buckets cover every value with 0.1 % precision', () => {
    for (const us of [0, 1, 2047, 2048, 2049, 4095, 4096, 123_456, 9_999_999, 2 ** 31 - 1]) {
      const [lo, hi] = bucketRange(bucketIndex(us));
      expect(us).toBeGreaterThanOrEqual(lo);
      expect(us).toBeLessThanOrEqual(hi);
      expect((hi - lo) / Math.max(lo, 1)).toBeLessThanOrEqual(1 / 1024);
    }
  });

  it('percentiles agree with the exact nearest-rank values within 0.1 %', () => {
    const values: number[] = [];
    let seed = 42;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const h = new Histogram();
    for (let i = 0; i < 20_000; i++) {
      const ms = Math.round((5 + -Math.log(1 - rnd()) * 40) * 1000) / 1000; // exponential tail, µs precision
      values.push(ms);
      h.recordMs(ms);
    }
    values.sort((a, b) => a - b);
    for (const p of [50, 90, 95, 99, 99.9]) {
      expect(h.percentileMs(p)!).toBeCloseTo(exactPercentile(values, p), 0);
      expect(Math.abs(h.percentileMs(p)! - exactPercentile(values, p)) / exactPercentile(values, p)).toBeLessThan(
        0.001,
      );
      expect(Math.abs(h.interpolatedPercentileMs(p)! - k6Percentile(values, p)) / k6Percentile(values, p)).toBeLessThan(
        0.002,
      );
    }
    const s = h.stats();
    expect(s.count).toBe(20_000);
    expect(s.min).toBe(values[0]);
    expect(s.max).toBe(values.at(-1));
    expect(s.mean!).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 6);
  });

  it('merges and round-trips through JSON without losing counts', () => {
    const a = new Histogram();
    const b = new Histogram();
    for (let i = 1; i <= 1000; i++) (i % 2 ? a : b).recordMs(i);
    const merged = Histogram.fromJSON(a.toJSON());
    merged.merge(b.toJSON());
    expect(merged.count).toBe(1000);
    expect(merged.percentileMs(50)).toBeCloseTo(500, 0);
    expect(merged.stats().max).toBe(1000);
    expect(merged.stats().min).toBe(1);
  });

  it('reports nothing, not zeros, when empty', () => {
    expect(new Histogram().stats()).toEqual({ count: 0 });
    expect(new Histogram().percentileMs(99)).toBeUndefined();
  });
});
