// The "Compared with baseline" block of the Markdown report, from Verdict.regressions and Verdict.baseline only,
// so the report shows exactly what the gate decided and why. Kept here so the report module only has to place it.
import { markdownTable } from 'markdown-table';
import type { RegressionResult, Verdict } from '../model.js';
import { formatMs, formatPercent, formatRate, MISSING } from '../report/format.js';

const STATUS_TEXT: Record<RegressionResult['status'], string> = {
  regressed: '❌ regressed',
  pass: '✅ pass',
  improved: '✅ improved',
  no_baseline: '➖ no baseline',
  not_comparable: '➖ not comparable',
};

export function regressionsMarkdown(verdict: Pick<Verdict, 'regressions' | 'baseline'>): string | undefined {
  const results = verdict.regressions;
  if (!results || results.length === 0) return undefined;
  const lines: string[] = ['### Compared with baseline', ''];
  const b = verdict.baseline;
  if (b) {
    const commit = b.sha ? `\`${b.sha.slice(0, 7)}\`` : 'a run';
    lines.push(`Baseline: ${commit}${b.note ? ` (${escape(b.note)})` : ''}, from \`${b.source.replace(/`/g, "'")}\``, '');
  }
  // Without a baseline every row would read the same: say it once instead of a table of dashes.
  const first = results[0]!;
  if (results.every((r) => r.status === first.status && (r.status === 'no_baseline' || r.status === 'not_comparable'))) {
    lines.push(`${STATUS_TEXT[first.status]}: ${escape(first.reason ?? '')}`);
    return lines.join('\n');
  }
  const rows = results.map((r) => [
    r.metric,
    value(r.metric, r.baseline),
    value(r.metric, r.current),
    r.changePercent === undefined ? MISSING : `${r.changePercent > 0 ? '+' : ''}${formatPercent(r.changePercent)}`,
    STATUS_TEXT[r.status],
  ]);
  lines.push(markdownTable([['Metric', 'Baseline', 'Now', 'Change', 'Result'], ...rows], { align: ['l', 'r', 'r', 'r', 'l'] }), '');
  const why = results.filter((r) => r.reason && r.status !== 'no_baseline');
  if (why.length) lines.push(...why.map((r) => `- **${r.metric}:** ${escape(r.reason!)}`));
  return lines.join('\n');
}

function value(metric: string, v: number | undefined): string {
  if (metric === 'error_rate') return formatPercent(v);
  if (metric === 'throughput') return formatRate(v);
  return formatMs(v);
}

function escape(text: string): string {
  return text.replace(/[\r\n]+/g, ' ').replace(/[\\`*_[\]|]/g, (c) => `\\${c}`).replace(/<(?=[A-Za-z/!?])/g, '&lt;');
}
