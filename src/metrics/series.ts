// Statistics over sampled infrastructure series ([ms from the run start, value]). Absent, not 0, when there are no
// samples: the gate must be able to tell "no data" from "idle".
import type { InfraMetric } from '../model.js';

export type Series = Array<[number, number]>;

export function summarize(series: Series): InfraMetric['stats'] {
  const points = series.filter(([t, v]) => Number.isFinite(t) && Number.isFinite(v));
  if (points.length === 0) return {};
  const values = points.map(([, v]) => v).sort((a, b) => a - b);
  const n = values.length;
  const last = points.reduce((a, b) => (b[0] >= a[0] ? b : a))[1];
  return {
    min: values[0],
    mean: values.reduce((a, b) => a + b, 0) / n,
    // Nearest rank: a real sample, never an interpolation between two readings.
    p95: values[Math.max(0, Math.ceil(0.95 * n) - 1)],
    max: values[n - 1],
    last,
  };
}

/** Samples whose time (ms from the window start) falls within [fromMs, toMs]. */
export function within(series: Series, fromMs: number, toMs: number): Series {
  return series.filter(([t]) => t >= fromMs && t <= toMs);
}

/**
 * The samples that describe some windows of the run: those inside them, and for each window the last sample
 * before it, which still stands at its start (a CloudWatch datapoint covers the period from its timestamp; a
 * Prometheus or PostgreSQL reading holds until the next). Without it a one-minute datapoint that began just before
 * a two-minute window would be left out of the window it mostly describes.
 */
export function samplesOver(series: Series, windows: ReadonlyArray<{ startMs: number; endMs: number }>): Series {
  const out: Series = [];
  for (const w of windows) {
    let standing: [number, number] | undefined;
    for (const [t, v] of series) {
      if (!Number.isFinite(t) || !Number.isFinite(v)) continue;
      if (t >= w.startMs && t <= w.endMs) out.push([t, v]);
      else if (t < w.startMs && (standing === undefined || t >= standing[0])) standing = [t, v];
    }
    if (standing && !out.some(([t]) => t === w.startMs)) out.push([w.startMs, standing[1]]);
  }
  return out.sort((a, b) => a[0] - b[0]);
}
