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
] as const;
export type OutputName = (typeof OUTPUT_NAMES)[number];

const num = (v: number | undefined, digits = 2): string =>
  v === undefined || !Number.isFinite(v) ? '' : String(Math.round(v * 10 ** digits) / 10 ** digits);

export function outputsFor(run: RunResult | undefined, verdict: Verdict, paths: { report?: string; results?: string; commentUrl?: string }): Record<OutputName, string> {
  const measured = run !== undefined && run.requests > 0;
  return {
    verdict: verdict.status,
    'p50-ms': num(run?.latency.p50),
    'p95-ms': num(run?.latency.p95),
    'p99-ms': num(run?.latency.p99),
    'max-ms': num(run?.latency.max),
    'error-rate': num(run?.errorRate, 4),
    'throughput-rps': num(run?.throughputRps),
    requests: measured ? String(run.requests) : '',
    'vus-max': num(run?.vus?.max, 0),
    report: paths.report ?? '',
    results: paths.results ?? '',
    'comment-url': paths.commentUrl ?? '',
  };
}
