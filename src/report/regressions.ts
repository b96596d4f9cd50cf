// The report's folded comparison with the baseline: how each regression rule was judged (which baseline, the
// method, the statistical reason per metric) and the trend chart of the recent runs.
import type { RegressionResult, RunResult, Verdict } from '../model.js';
import { trendMarkdown } from './charts.js';
import { code, fold, inline, plural } from './text.js';

export function regressionsFold(verdict: Verdict): string | undefined {
  const md = comparisonMarkdown(verdict);
  if (!md) return undefined;
  const regressed = (verdict.regressions ?? []).filter((r) => r.status === 'regressed' && !r.acceptedBy).length;
  const summary = `<b>How the comparison was judged</b>${regressed > 0 ? `: ${regressed} ${plural(regressed, 'metric')} beyond the noise ❌` : ''}`;
  return fold(summary, md);
}

const REGRESSION_TEXT: Record<RegressionResult['status'], string> = {
  regressed: '❌ regressed',
  pass: '✅ pass',
  improved: '✅ improved',
  no_baseline: '➖ no baseline',
  not_comparable: '➖ not comparable',
};

/**
 * Which baseline, how a change was judged, and the statistical reason per metric: once, folded. The figures are
 * in the results table and the verdict sentence; this is for whoever wants to check the method.
 */
function comparisonMarkdown(verdict: Verdict): string | undefined {
  const results = verdict.regressions;
  if (!results || results.length === 0) return undefined;
  const lines: string[] = [];
  const b = verdict.baseline;
  if (b) lines.push(`Baseline from ${code(b.source)}${b.note ? `: ${inline(b.note)}` : ''}.`, '');
  const first = results[0]!;
  if (
    results.every((r) => r.status === first.status && (r.status === 'no_baseline' || r.status === 'not_comparable'))
  ) {
    lines.push(`${REGRESSION_TEXT[first.status]}: ${inline(first.reason ?? '')}`);
    return lines.join('\n');
  }
  if (b?.method) lines.push(`_Method: ${inline(b.method)}._`, '');
  const why = results.filter((r) => r.reason && r.status !== 'no_baseline');
  lines.push(
    ...why.map(
      (r) =>
        `- ${REGRESSION_TEXT[r.status]} **${inline(r.metric)}:** ${inline(r.reason!)}${r.acceptedBy ? ` (accepted by ${inline(r.acceptedBy)})` : ''}`,
    ),
  );
  return lines.join('\n').trimEnd();
}

export function trendFold(verdict: Verdict, run: RunResult): string | undefined {
  const md = trendMarkdown(verdict, run);
  if (!md) return undefined;
  const n = verdict.baseline?.trend?.length ?? 0;
  return fold(
    `<b>Trend</b>: p99 and error rate over the last ${n} ${plural(n, 'run')} and this one`,
    md.replace(/^#### Trend\n\n/, ''),
  );
}
