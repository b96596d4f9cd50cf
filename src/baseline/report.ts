// The baseline cells of the report, from Verdict.regressions only, so the report shows exactly what the gate
// decided: the Baseline / Change / vs-baseline figures of the results table. The folded "how it was judged" block
// and the trend chart are the report's own (src/report/markdown.ts, src/report/charts.ts).
import type { RegressionResult, Verdict } from '../model.js';
import { formatMs, formatPercent, formatRate, MISSING } from '../format.js';

const STATUS_TEXT: Record<RegressionResult['status'], string> = {
  regressed: '❌ regressed',
  pass: '✅ pass',
  improved: '✅ improved',
  no_baseline: '➖ no baseline',
  not_comparable: '➖ not comparable',
};

export interface ComparisonCells {
  metric: string;
  baseline: string;
  change: string;
  status: string;
  result: RegressionResult['status'];
  /** The value compared (the whole run, or it pooled with a confirmation run), for rows without a target. */
  current: string;
  currentValue?: number;
}

/**
 * The cells the results table gains, per regression metric in rule order; undefined when nothing was compared
 * (no baseline yet, not comparable), where a column of dashes would say less than one sentence.
 */
export function comparisonCells(verdict: Pick<Verdict, 'regressions'>): ComparisonCells[] | undefined {
  const results = verdict.regressions ?? [];
  if (!results.some((r) => r.baseline !== undefined)) return undefined;
  return results.map((r) => ({
    metric: r.metric,
    baseline: formatMetricValue(r.metric, r.baseline),
    // A rate near zero reads best in percentage points: 0.05 % -> 0 % is "-0.05 pp", not "-100 %".
    change: r.metric === 'error_rate' ? ppCell(r.current, r.baseline) : changeCell(r.changePercent),
    status: r.acceptedBy ? `✅ accepted by ${r.acceptedBy}` : STATUS_TEXT[r.status],
    result: r.status,
    current: formatMetricValue(r.metric, r.current),
    ...(r.current !== undefined ? { currentValue: r.current } : {}),
  }));
}

/** `↑ +12.3 %`: the arrow says which way the value moved; whether that is good is the status column's job. */
export function changeCell(changePercent: number | undefined): string {
  if (changePercent === undefined || !Number.isFinite(changePercent)) return MISSING;
  if (Math.abs(changePercent) < 0.05) return `→ ${formatPercent(0)}`;
  return changePercent > 0 ? `↑ +${formatPercent(changePercent)}` : `↓ ${formatPercent(changePercent)}`;
}

function ppCell(current: number | undefined, baseline: number | undefined): string {
  if (current === undefined || baseline === undefined) return MISSING;
  const d = current - baseline;
  const text = formatPercent(Math.abs(d)).replace(' %', ' pp');
  if (text === '0 pp') return '→ 0 pp';
  return d > 0 ? `↑ +${text}` : `↓ -${text}`;
}

/** A regression metric's value as the report prints it: ms, percent or per second. */
export function formatMetricValue(metric: string, v: number | undefined): string {
  if (metric === 'error_rate') return formatPercent(v);
  if (metric === 'throughput') return formatRate(v);
  return formatMs(v);
}
