// The action's outputs as plain strings. A metric that was not measured is an empty string, never 0, so a
// later step can tell "no data" from "zero".
import type { RunResult, Verdict } from '../model.js';

export const OUTPUT_NAMES = [
  'verdict',
  'p50-ms',
  'p95-ms',
  'p99-ms',
  'max-ms',
  'error-rate',
  'throughput-rps',
  'requests',
  'vus-max',
  'report',
  'results',
  'comment-url',
  'regressions',
  'warnings',
  'baseline-sha',
  'breaking-point-rps',
  'breaking-point-vus',
  'capacity-rps',
  'recovery-seconds',
  'stopped-early',
] as const;
export type OutputName = (typeof OUTPUT_NAMES)[number];

const num = (v: number | undefined, digits = 2): string =>
  v === undefined || !Number.isFinite(v) ? '' : String(Math.round(v * 10 ** digits) / 10 ** digits);

export function outputsFor(
  run: RunResult | undefined,
  verdict: Verdict,
  paths: { report?: string; results?: string; commentUrl?: string },
): Record<OutputName, string> {
  // The figures of the part the targets were judged on (the steady part unless `decide-on: all`), so an output
  // always equals the Actual column of the report next to it.
  const analysis = run?.analysis;
  const part = analysis?.judged === 'steady' && analysis.steady ? analysis.steady : run;
  const measured = part !== undefined && part.requests > 0;
  const stress = analysis?.stress;
  const recovery = analysis?.recovery;
  return {
    verdict: verdict.status,
    'p50-ms': num(part?.latency.p50),
    'p95-ms': num(part?.latency.p95),
    'p99-ms': num(part?.latency.p99),
    'max-ms': num(part?.latency.max),
    'error-rate': num(part?.errorRate, 4),
    'throughput-rps': num(part?.throughputRps),
    requests: measured ? String(part.requests) : '',
    'vus-max': num(run?.vus?.max, 0),
    report: paths.report ?? '',
    results: paths.results ?? '',
    'comment-url': paths.commentUrl ?? '',
    regressions: JSON.stringify(verdict.regressions ?? []),
    warnings: JSON.stringify(warningsOf(verdict)),
    'baseline-sha': verdict.baseline?.sha ?? '',
    'breaking-point-rps': num(stress?.breakingPoint?.rps, 1),
    'breaking-point-vus': num(stress?.breakingPoint?.vus, 0),
    'capacity-rps': num(stress?.capacity?.rps, 1),
    'recovery-seconds': recovery?.recovered ? num((recovery.recoveryMs ?? 0) / 1000, 1) : '',
    'stopped-early': analysis ? String(analysis.stoppedEarly !== undefined) : '',
  };
}

/** Targets that held past their warning level: `{target, metric, actual, warn, unit}`, `[]` when none. */
export function warningsOf(
  verdict: Verdict,
): Array<{ target: string; metric: string; actual: number; warn: number; unit: string }> {
  return verdict.targets
    .filter((t) => t.warning && t.actual !== undefined && t.target.warn !== undefined)
    .map((t) => ({
      target: t.target.source,
      metric: t.target.metric,
      actual: t.actual!,
      warn: t.target.warn!,
      unit: t.target.unit,
    }));
}
