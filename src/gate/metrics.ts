// Reads a target's metric off a RunResult. Undefined means "not measured": the gate never substitutes 0.
import type { RunResult } from '../model.js';

export function metricValue(run: RunResult, metric: string): number | undefined {
  switch (metric) {
    case 'p50':
    case 'p90':
    case 'p95':
    case 'p99':
    case 'p999':
    case 'max':
    case 'min':
    case 'mean':
      return run.latency[metric];
    case 'error_rate':
      return run.errorRate;
    case 'throughput':
      return run.throughputRps;
    case 'requests':
      return run.requests;
    case 'errors':
      return run.requests > 0 || run.errors > 0 ? run.errors : undefined;
    case 'vus':
      return run.vus?.max;
    default:
      return customMetricValue(run, metric);
  }
}

/** `name` picks the metric's main value; `name.stat` (e.g. `checkout_time.p95`) picks one of its values. */
function customMetricValue(run: RunResult, metric: string): number | undefined {
  const direct = run.customMetrics[metric];
  if (direct) {
    for (const key of ['value', 'rate', 'count', 'avg']) {
      const v = direct.values[key];
      if (v !== undefined) return key === 'rate' && direct.type === 'rate' ? v * 100 : v;
    }
    return undefined;
  }
  const dot = metric.lastIndexOf('.');
  if (dot > 0) {
    const m = run.customMetrics[metric.slice(0, dot)];
    const stat = metric.slice(dot + 1);
    const v = m?.values[stat] ?? m?.values[stat.replace(/^p(\d+)$/, 'p($1)')];
    if (v !== undefined) return v;
  }
  return undefined;
}
