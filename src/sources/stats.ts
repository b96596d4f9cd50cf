// Window statistics over a sampled series. Absent, not 0, when there are no samples: the gate must be able to
// tell "no data" from "idle".
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

export const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal!.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
