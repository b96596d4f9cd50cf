// Reads a target's metric off a RunResult. Undefined means "not measured": the gate never substitutes 0.
import type { InfraMetric, RunResult } from '../model.js';
import { DEFAULT_INFRA_STAT, INFRA_STATS, isInfraName, OF_MAX_SUFFIX, type InfraStat } from './targets.js';

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
    case 'recovery': {
      const r = run.analysis?.recovery;
      return r?.recovered ? r.recoveryMs : undefined;
    }
    case 'breaking_point': {
      // A run that never broke held up to its highest load: that is the lower bound a `>` target is judged on.
      const s = run.analysis?.stress;
      return s?.breakingPoint?.rps ?? s?.peak?.rps;
    }
    default: {
      const ref = infraRef(metric);
      const infra = ref && findInfra(run, ref.name);
      if (infra) return infraValue(infra, ref!);
      // `stat(name)` and `% of max` only mean infrastructure metrics; a bare name may still be a tool's metric.
      if (ref?.explicit) return undefined;
      return customMetricValue(run, metric);
    }
  }
}

interface InfraRef {
  name: string;
  stat: InfraStat;
  ofMax: boolean;
  /** Written with a statistic or `% of max`, so it can only mean an infrastructure metric. */
  explicit: boolean;
}

/** `mean(memory)` -> {memory, mean}; `db_connections%max` -> {db_connections, max, ofMax}; `cpu` -> {cpu, max}. */
export function infraRef(metric: string): InfraRef | undefined {
  let rest = metric;
  const ofMax = rest.endsWith(OF_MAX_SUFFIX);
  if (ofMax) rest = rest.slice(0, -OF_MAX_SUFFIX.length);
  const call = /^([a-z0-9]+)\((.+)\)$/.exec(rest);
  if (call && (INFRA_STATS as readonly string[]).includes(call[1]!)) {
    return { name: call[2]!, stat: call[1] as InfraStat, ofMax, explicit: true };
  }
  if (/[()]/.test(rest)) return undefined;
  return { name: rest, stat: DEFAULT_INFRA_STAT, ofMax, explicit: ofMax };
}

export function findInfra(run: RunResult, name: string): InfraMetric | undefined {
  const key = name.toLowerCase();
  return run.infra?.find((m) => m.name.toLowerCase() === key);
}

function infraValue(m: InfraMetric, ref: InfraRef): number | undefined {
  if (m.unavailable) return undefined;
  const v = m.stats[ref.stat];
  if (v === undefined || !Number.isFinite(v)) return undefined;
  if (!ref.ofMax) return v;
  return m.limit !== undefined && m.limit > 0 ? (v / m.limit) * 100 : undefined;
}

/**
 * Why an infrastructure target was not measured, for the verdict's reasons and the report: the source's
 * `unavailable` text, a missing `% of max` limit, or a metric no source reported. Undefined for other metrics.
 */
export function infraNotMeasuredReason(run: RunResult, metric: string): string | undefined {
  const ref = infraRef(metric);
  if (!ref) return undefined;
  const m = findInfra(run, ref.name);
  if (!m) {
    return ref.explicit || isInfraName(ref.name)
      ? `no configured source reports "${ref.name}"`
      : undefined;
  }
  if (m.unavailable) return m.unavailable;
  if (m.stats[ref.stat] === undefined) return `no ${ref.stat} for ${m.name}: no samples in the run window`;
  if (ref.ofMax && !(m.limit !== undefined && m.limit > 0)) return `${m.name} has no known maximum to compare with`;
  return undefined;
}

/** `name` picks the metric's main value; `name.stat` (e.g. `checkout_time.p95`) picks one of its values. */
function customMetricValue(run: RunResult, metric: string): number | undefined {
  // Own keys only: a target named `constructor` or `toString` is an unknown metric, not Object's.
  const direct = Object.hasOwn(run.customMetrics, metric) ? run.customMetrics[metric] : undefined;
  if (direct) {
    for (const key of ['value', 'rate', 'count', 'avg']) {
      const v = direct.values[key];
      if (v !== undefined) return key === 'rate' && direct.type === 'rate' ? v * 100 : v;
    }
    return undefined;
  }
  const dot = metric.lastIndexOf('.');
  if (dot > 0) {
    const name = metric.slice(0, dot);
    const m = Object.hasOwn(run.customMetrics, name) ? run.customMetrics[name] : undefined;
    const stat = metric.slice(dot + 1);
    const own = (k: string): number | undefined => (m && Object.hasOwn(m.values, k) ? m.values[k] : undefined);
    const v = own(stat) ?? own(stat.replace(/^p(\d+)$/, 'p($1)'));
    if (v !== undefined) return v;
  }
  return undefined;
}
