// What both renderers agree on: the input shape, metric names as people read them, and which headline figures a
// report shows. Kept apart so the terminal and the PR comment never disagree about a number.
import { infraRef } from '../gate/metrics.js';
import { isInfraName } from '../gate/targets.js';
import type { Diagnosis, ErrorKind, RunResult, TargetResult, Verdict, VerdictStatus } from '../model.js';
import {
  formatAgainst,
  formatCount,
  formatDuration,
  formatMs,
  formatPercent,
  formatRate,
  formatValue,
  MISSING,
} from '../format.js';
import { builtinMetric } from '../metrics/catalogue.js';

export interface ReportInput {
  run: RunResult;
  verdict: Verdict;
  /** Tells several perf-gate comments on one PR apart; also goes into the hidden marker. */
  commentHeader: string;
  /** Engine as shown to the reader (may differ from run.engine, e.g. a tool name and version). */
  engine: string;
  phase: string;
  /** Link to the workflow run, for the footer and the "shortened" pointer. */
  runUrl?: string;
  /** Path of the results JSON every figure comes from. */
  resultsFile?: string;
  /** What was measured, in git terms, for "Comparing head with base": the commit and its branch. */
  head?: { sha?: string; ref?: string };
  /** The branch the baseline comes from (the PR's base branch). */
  baseRef?: string;
  /** `https://github.com/owner/repo`, for commit links; derived from runUrl when absent. */
  repoUrl?: string;
  /** The label that accepts a regression (src/baseline/override.ts), for "what to do". */
  acceptLabel?: string;
  /** The confirmation run a suspected regression triggered: its own figures, for the Run section. */
  confirmation?: Pick<RunResult, 'durationMs' | 'requests' | 'errors' | 'errorRate' | 'latency'>;
  /** What the diagnosis found (src/diagnose); the report shows it on a failed run, right under the results. */
  why?: Diagnosis;
}

/** The "Why" block is for a run that failed (targets or regressions), not for a pass nor for a run not judged. */
export function showsWhy(input: ReportInput): input is ReportInput & { why: Diagnosis } {
  return input.why !== undefined && input.verdict.status === 'fail';
}

/** A span of the run (the catalogue's `duration` kind): shown as `2 min`, not `120,000 ms`. */
function isDurationMetric(metric: string): boolean {
  return builtinMetric(metric)?.kind === 'duration';
}

/** True for the metrics perf-gate itself knows and names (metrics/catalogue.ts); anything else is the tool's. */
export function isBuiltinMetric(metric: string): boolean {
  return builtinMetric(metric)?.label !== undefined;
}

export function metricLabel(metric: string): string {
  return builtinMetric(metric)?.label ?? metric;
}

/**
 * A target's metric as the results table names it. Infrastructure targets carry their statistic and `% of max`
 * inside the metric (`max(cpu)`, `db_connections%max`, see src/gate/targets.ts), which reads like code; they are
 * spelled out instead (`max cpu`, `db connections (% of max)`). Names the user chose (custom and source metrics)
 * go through `literal`, so the Markdown can keep them in code spans: they are what a target has to repeat.
 */
export function targetMetricLabel(
  metric: string,
  run?: RunResult,
  literal: (name: string) => string = (name) => name,
): string {
  if (isBuiltinMetric(metric)) return metricLabel(metric);
  const ref = infraRef(metric);
  const known = ref !== undefined && isInfraName(ref.name);
  // A bare custom name is an infrastructure metric only if a source reported it; otherwise it is a tool's metric.
  const fromSource =
    ref !== undefined && (run?.infra ?? []).some((m) => m.name.toLowerCase() === ref.name.toLowerCase());
  if (!ref || !(ref.explicit || known || fromSource)) return literal(metric);
  const name = known ? ref.name.toLowerCase().replace(/_/g, ' ') : literal(ref.name);
  // infraRef fills in the default statistic; only one the user wrote is named, as they wrote the target.
  const stat = metric.includes('(') ? `${ref.stat} ` : '';
  return `${stat}${name}${ref.ofMax ? ' (% of max)' : ''}`;
}

export function verdictWord(status: VerdictStatus): string {
  switch (status) {
    case 'pass':
      return 'passed';
    case 'fail':
      return 'failed';
    case 'error':
      return 'error';
    case 'shard':
      return 'shard (judged after the merge)';
  }
}

export function targetText(result: TargetResult): string {
  const { target } = result;
  // A tool's own threshold reads best as the tool wrote it; a metric-vs-metric target names its other side.
  if (result.origin === 'tool') return target.source;
  if (result.rhs) return `${target.op} ${result.rhs.label}${target.optional ? ' (optional)' : ''}`;
  const fmt = (v: number): string =>
    isDurationMetric(target.metric) ? formatDuration(v) : formatValue(v, target.unit);
  const text = `${target.op} ${fmt(target.value)}${target.warn !== undefined ? ` (warn ${fmt(target.warn)})` : ''}`;
  if (target.kept) return `${text} (the phase's: no error-rate target given)`;
  return target.optional ? `${text} (optional)` : text;
}

export function actualText(result: TargetResult): string {
  if (result.rhs) return rhsText(result);
  // Why it is missing (a selector that matched no endpoint names the ones that exist) beats a bare dash.
  if (result.actual === undefined) return result.note ? `${MISSING} (${result.note})` : MISSING;
  // A recovery of 0 is a run that never left the targets: nothing to recover from, not a recovery in no time.
  if (result.target.metric === 'recovery' && result.actual === 0) return 'stayed within targets throughout';
  if (isDurationMetric(result.target.metric)) return formatDuration(result.actual);
  return formatAgainst(result.actual, result.target.value, result.target.unit);
}

/** Both sides of a metric-vs-metric target and how far apart they are: `921 vs 1,000 (79 short)`. */
function rhsText(result: TargetResult): string {
  const unit = result.target.unit;
  const left = result.actual;
  const right = result.rhs?.value;
  const fmt = (v: number | undefined): string =>
    isDurationMetric(result.target.metric) ? formatDuration(v) : formatValue(v, unit);
  if (left === undefined || right === undefined) return `${fmt(left)} vs ${fmt(right)}`;
  const d = left - right;
  const gap = d === 0 ? 'equal' : `${fmt(Math.abs(d))} ${d < 0 ? 'short' : 'over'}`;
  return `${fmt(left)} vs ${fmt(right)} (${gap})`;
}

export interface HeadlineMetric {
  /** Canonical metric name, as used in targets, so rows a target already shows can be left out. */
  metric: string;
  label: string;
  value: string;
}

function errorsText(run: RunResult): string {
  const kinds = (Object.entries(run.errorsByKind) as Array<[ErrorKind, number | undefined]>)
    .filter((entry): entry is [ErrorKind, number] => typeof entry[1] === 'number' && entry[1] > 0)
    .map(([kind, count]) => `${kind} ${formatCount(count)}`);
  const count = formatCount(run.errors);
  return kinds.length > 0 && run.errors > 0 ? `${count} (${kinds.join(', ')})` : count;
}

/** The figures every report shows, in reading order; a figure the run did not record is `—`. */
export function headlineMetrics(run: RunResult): HeadlineMetric[] {
  const latency = (metric: 'p50' | 'p90' | 'p95' | 'p99' | 'max'): HeadlineMetric => ({
    metric,
    label: metricLabel(metric),
    value: formatMs(run.latency[metric]),
  });
  return [
    { metric: 'requests', label: metricLabel('requests'), value: formatCount(run.requests) },
    { metric: 'errors', label: metricLabel('errors'), value: errorsText(run) },
    { metric: 'error_rate', label: metricLabel('error_rate'), value: formatPercent(run.errorRate) },
    { metric: 'throughput', label: metricLabel('throughput'), value: formatRate(run.throughputRps) },
    latency('p50'),
    latency('p90'),
    latency('p95'),
    latency('p99'),
    latency('max'),
    { metric: 'vus', label: metricLabel('vus'), value: formatCount(run.vus?.max) },
  ];
}

/** The peak arrival rate asked for: the shape's own figure, else the highest stage rate. */
export function peakRate(run: RunResult): number | undefined {
  if (run.shape?.peakRate !== undefined) return run.shape.peakRate;
  const stages = run.shape?.stages ?? [];
  if (stages.length === 0) return undefined;
  return Math.max(...stages.map((s) => Math.max(s.startRate, s.endRate)));
}
