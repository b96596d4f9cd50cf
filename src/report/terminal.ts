// The same report for a terminal: plain text in aligned columns, no Markdown, so `perf-gate` run locally or the
// Actions log shows the verdict and the figures it rests on.
import { comparisonCells } from '../baseline/report.js';
import {
  actualText,
  headlineMetrics,
  type ReportInput,
  showsWhy,
  targetMetricLabel,
  targetText,
  verdictWord,
} from './common.js';
import { whyLines } from './why.js';
import { formatCount, formatDuration, formatMs, formatPercent, formatRate } from '../format.js';
import { infraRows } from './infra.js';
import { KIND_TEXT } from './sections.js';
import type { ErrorKind, RunResult } from '../model.js';
import { phaseLines } from './phases.js';

const STATUS = { pass: 'PASS', fail: 'FAIL' } as const;

export function renderTerminal(input: ReportInput): string {
  const { run, verdict } = input;
  const out: string[] = [];

  const header = input.commentHeader.trim();
  const who = header === '' || header === 'perf-gate' || header === input.phase ? 'perf-gate' : `perf-gate (${header})`;
  out.push(
    `${who}: ${input.phase} ${verdictWord(verdict.status).toUpperCase()}` +
      `  [${input.engine}, ${formatDuration(run.durationMs)}, ${formatCount(run.requests)} requests]`,
  );
  if (verdict.status !== 'pass' && verdict.status !== 'shard' && !verdict.failsCheck)
    out.push('  (the check is not failed: fail-on lets this result through)');
  if (verdict.status !== 'pass') for (const reason of verdict.reasons) out.push(`  - ${oneLine(reason)}`);
  if (!run.generator.valid && verdict.status === 'pass') {
    // The gate normally turns an invalid generator into an error; say it even if it did not.
    out.push(`  - load generator invalid: ${run.generator.invalidReasons.map(oneLine).join('; ')}`);
  }

  out.push('');
  // An error verdict's figures cannot be judged: its reasons (above) and what was measured say it all, not tables of "—".
  if (verdict.status === 'error') {
    out.push(measuredLine(run));
    const infra = infraRows(run).filter((r) => !r.unavailable);
    if (infra.length) out.push(`Infrastructure: ${infra.map((r) => `${r.name} max ${r.max}`).join(', ')}`);
    out.push(...answerLines(run));
    const g = run.generator;
    if ((g.arrivalsScheduled ?? 0) > 0)
      out.push(
        `Load generator: ${formatCount(g.arrivalsScheduled)} scheduled, ${formatCount(g.arrivalsStarted)} started, ${formatCount(g.arrivalsDropped)} dropped${g.valid ? '' : ' (INVALID)'}`,
      );
    if (input.resultsFile) out.push('', `Results: ${input.resultsFile}`);
    return `${out.join('\n')}\n`;
  }
  if (verdict.targets.length > 0) {
    const rows = verdict.targets.map((t) => [
      t.origin === 'tool' ? `${t.target.metric} (tool threshold)` : targetMetricLabel(t.target.metric, run),
      targetText(t),
      actualText(t),
      t.status === 'not_measured' ? 'not measured' : t.warning ? 'WARN' : STATUS[t.status],
    ]);
    out.push(...alignedTable(['Metric', 'Target', 'Actual', 'Status'], rows, [false, false, true, false]));
  } else if (verdict.status === 'shard') {
    out.push(
      `Shard ${run.shard?.index}/${run.shard?.count}: the targets are judged once the shards are merged (--engine results).`,
    );
  } else {
    out.push('No targets set for this phase.');
  }

  if (showsWhy(input)) out.push('', ...whyLines(input.why));

  const comparison = comparisonCells(verdict);
  const b = verdict.baseline;
  if (comparison && b) {
    out.push(
      '',
      oneLine(
        `Compared with baseline ${b.sha ? b.sha.slice(0, 7) : ''} (${b.note ?? b.source})`.replace(
          'baseline  (',
          'baseline (',
        ),
      ),
    );
    const rows = comparison.map((c) => [
      targetMetricLabel(c.metric, run),
      c.baseline,
      c.current,
      c.change,
      c.result.replace('_', ' '),
    ]);
    out.push(
      ...alignedTable(['Metric', 'Baseline', 'Now', 'Change', 'vs baseline'], rows, [false, true, true, true, false]),
    );
  } else if (b && verdict.regressions?.[0]?.reason) {
    out.push('', oneLine(`Baseline: ${verdict.regressions[0].reason}`));
  }

  out.push('');
  const metrics = headlineMetrics(run).map((m) => [m.label, m.value]);
  out.push(...alignedTable(['Metric', 'Whole run'], metrics, [false, true]));

  const infra = infraRows(run);
  if (infra.length > 0) {
    out.push('');
    // The query is left to the Markdown report and the results file: it would wrap every line here.
    const rows = infra.map((r) => [
      r.name,
      r.source,
      r.max,
      r.mean,
      r.p95,
      r.limit,
      r.unavailable ? `unavailable: ${r.unavailable}` : '',
    ]);
    out.push(
      ...alignedTable(['Infrastructure', 'Source', 'max', 'mean', 'p95', 'limit', 'Note'], rows, [
        false,
        false,
        true,
        true,
        true,
        true,
        false,
      ]),
    );
  }

  out.push(...answerLines(run));

  const g = run.generator;
  out.push('');
  out.push(
    `Load generator: ${formatCount(g.arrivalsScheduled)} scheduled, ${formatCount(g.arrivalsStarted)} started, ` +
      `${formatCount(g.arrivalsDropped)} dropped${g.valid ? '' : ' (INVALID)'}`,
  );
  const phase = phaseLines(run);
  if (phase.length) out.push('', ...phase.map(oneLine));
  if (input.resultsFile) out.push(`Results: ${input.resultsFile}`);
  return `${out.join('\n')}\n`;
}

/** "Measured: 120 requests in 4.2 s, 3 errors (2.5 %), p99 81 ms" or "Measured: nothing (no request completed)". */
function measuredLine(run: RunResult): string {
  if (run.requests === 0)
    return `Measured: nothing (no request completed${run.durationMs > 0 ? ` in ${formatDuration(run.durationMs)}` : ''})`;
  const bits = [
    `${formatCount(run.requests)} requests in ${formatDuration(run.durationMs)}`,
    `${formatCount(run.errors)} errors${run.errorRate !== undefined ? ` (${formatPercent(run.errorRate)})` : ''}`,
  ];
  if (run.latency.p99 !== undefined) bits.push(`p99 ${formatMs(run.latency.p99)}`);
  if (run.throughputRps !== undefined) bits.push(`${formatRate(run.throughputRps)}`);
  return `Measured: ${bits.join(', ')}`;
}

/**
 * Status codes and error kinds whenever a response was not 2xx or a request failed (a 302 on every request counts
 * as no error but is worth seeing), failed checks, journeys and error logs.
 */
function answerLines(run: RunResult): string[] {
  const out: string[] = [];
  const codes = Object.entries(run.statusCodes)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const kinds = (Object.entries(run.errorsByKind) as Array<[ErrorKind, number | undefined]>).filter(
    (e): e is [ErrorKind, number] => (e[1] ?? 0) > 0,
  );
  if (codes.some(([c]) => !/^2\d\d$/.test(c)) || kinds.length > 0) {
    out.push('');
    if (codes.length > 0)
      out.push(
        `Status codes: ${codes.map(([c, n]) => `${c} x${formatCount(n)}`).join(', ')}${run.errors === 0 ? ' (none counted as an error)' : ''}`,
      );
    if (kinds.length > 0)
      out.push(`Error kinds: ${kinds.map(([k, n]) => `${KIND_TEXT[k] ?? k} ${formatCount(n)}`).join(', ')}`);
  }
  const failures = Object.entries(run.checkFailures ?? {})
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  if (failures.length > 0) {
    out.push('', 'Failed checks:');
    for (const [m, n] of failures.slice(0, 10)) out.push(`  ${formatCount(n)}  ${oneLine(m)}`);
  }
  const flows = run.flows ?? [];
  if (flows.length > 0) {
    out.push('');
    out.push(
      ...alignedTable(
        ['Journey', 'Started', 'Completed', 'Cut short'],
        flows.map((f) => [f.name, formatCount(f.started), formatCount(f.completed), formatCount(f.failed)]),
        [false, true, true, true],
      ),
    );
  }
  for (const l of run.logs ?? []) {
    out.push(
      '',
      `Error logs ${l.source}: ${l.unavailable ? `unavailable (${oneLine(l.unavailable)})` : `${formatCount(l.count)} matching lines`}`,
    );
    for (const t of l.top.slice(0, 5)) out.push(`  ${formatCount(t.count)}  ${oneLine(t.message)}`);
  }
  return out;
}

function oneLine(text: string): string {
  return text.replace(/[\r\n]+/g, ' ');
}

/** Column widths by code points so `—` and `µ` count as one column like they show. */
function width(text: string): number {
  return [...text].length;
}

function pad(text: string, size: number, right: boolean): string {
  const fill = ' '.repeat(Math.max(0, size - width(text)));
  return right ? fill + text : text + fill;
}

function alignedTable(headers: string[], rows: string[][], rightAlign: boolean[]): string[] {
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => width(oneLine(r[i] ?? '')))));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => pad(oneLine(c), widths[i] ?? 0, rightAlign[i] ?? false))
      .join('  ')
      .trimEnd();
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
}
