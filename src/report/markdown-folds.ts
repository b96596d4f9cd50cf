// The collapsed sections of the Markdown report below the results table: the phase, the charts, the figures the
// table does not show, the infrastructure and the run's details. Each returns one <details> fold (or nothing), so
// markdown.ts can place them in its size tiers and drop them whole. Pure, like every renderer in report/.
import { markdownTable } from 'markdown-table';
import { formatCount, formatDuration, formatMs, formatPercent, formatRate } from '../format.js';
import type { PartSummary, RunResult, Verdict } from '../model.js';
import { chartsMarkdown } from './charts.js';
import { headlineMetrics, peakRate, type ReportInput } from './common.js';
import { infraRows, slowestQueries, STATEMENT_CHARS, truncateText } from './infra.js';
import { phaseSection, phaseSummary } from './phases.js';
import { capitalise, cell, code, fold, html, inline, plural } from './text.js';

export function phaseFold(run: RunResult): string | undefined {
  const section = phaseSection(run);
  if (!section) return undefined;
  return fold(phaseSummary(run), section.replace(/^### Phase\n\n/, ''));
}

export function chartsFold(run: RunResult, verdict: Verdict): string | undefined {
  const charts = chartsMarkdown(run, verdict);
  if (!charts) return undefined;
  return fold(`<b>Charts</b>: ${charts.titles.map(html).join(', ')}${charts.flag}`, charts.markdown);
}

/**
 * The figures the results table does not show, each column labelled with the part of the run it covers. With a
 * steady part shorter than the run, both parts side by side (the judged one's covered figures are in the table
 * above, so they are not repeated); otherwise the whole run alone.
 */
export function headlineBlock(run: RunResult, covered: Set<string>, hasTargets: boolean): string | undefined {
  const a = run.analysis;
  const steady = a?.steady && a.steady.intervals < a.steady.intervalsTotal ? a.steady : undefined;
  const whole = headlineMetrics(run);
  const title = hasTargets ? 'Other figures' : 'Figures';
  if (steady) {
    const part = headlineMetrics({
      ...run,
      requests: steady.requests,
      errors: steady.errors,
      errorsByKind: {},
      latency: steady.latency,
      errorRate: steady.errorRate,
      throughputRps: steady.throughputRps,
    } as RunResult);
    const judgedSteady = a!.judged === 'steady';
    const shown = (judged: boolean, value: string, metric: string): string =>
      judged && covered.has(metric) ? 'in the table above' : value;
    const rows = whole
      .filter((m) => m.metric !== 'vus')
      .map((m, i) => [
        m.label,
        cell(shown(!judgedSteady, m.value, m.metric)),
        cell(shown(judgedSteady, part[i]!.value, m.metric)),
      ]);
    const table = markdownTable([['Metric', 'Whole run', 'Steady part'], ...rows], { align: ['l', 'r', 'r'] });
    const judged = judgedSteady ? 'the steady part' : 'the whole run';
    return fold(
      `<b>${title}</b> of the whole run and its steady part (targets judged on ${judged})`,
      `${table}\n\n_Steady part: ${steadyText(steady)}._`,
    );
  }
  const rows = whole.filter((m) => !covered.has(m.metric)).map((m) => [m.label, cell(m.value)]);
  if (rows.length === 0) return undefined;
  const table = markdownTable([['Metric', 'Whole run'], ...rows], { align: ['l', 'r'] });
  return fold(`<b>${title}</b> of the whole run (${formatDuration(run.durationMs)})`, table);
}

function steadyText(p: PartSummary): string {
  return `${p.windows.map((w) => `${formatDuration(w.startMs)} – ${formatDuration(w.endMs)}`).join(', ')}, ${p.intervals} of ${p.intervalsTotal} intervals`;
}

/** Every metric the sources reported, read or not, and the slowest statements in a collapsed section. */
export function infraBlock(run: RunResult): string | undefined {
  const blocks: string[] = [];
  const rows = infraRows(run);
  if (rows.length > 0) {
    const table = markdownTable(
      [
        ['Metric', 'Source', 'max', 'mean', 'p95', 'limit', 'note'],
        ...rows.map((r) => [
          cell(code(r.name)),
          r.source,
          r.max,
          r.mean,
          r.p95,
          r.limit,
          cell(
            r.unavailable ? `⚠️ unavailable: ${inline(r.unavailable)}` : code(truncateText(r.query, STATEMENT_CHARS)),
          ),
        ]),
      ],
      { align: ['l', 'l', 'r', 'r', 'r', 'r', 'l'] },
    );
    const judged =
      run.analysis?.judged === 'steady'
        ? ' Targets on these metrics were judged on the steady part, like the latency targets.'
        : '';
    blocks.push(`${table}\n\n_Statistics over the whole run window; the samples are in the results file.${judged}_`);
  }
  const slow = slowestQueries(run);
  if (slow.length > 0) {
    const table = markdownTable(
      [
        ['Statement', 'Calls', 'Mean', 'Total'],
        ...slow.map((q) => [
          cell(code(truncateText(q.query, STATEMENT_CHARS))),
          formatCount(q.calls),
          formatMs(q.meanMs),
          formatDuration(q.totalMs),
        ]),
      ],
      { align: ['l', 'r', 'r', 'r'] },
    );
    const total = run.slowQueries?.length ?? 0;
    const which = total > slow.length ? `The ${slow.length} of ${formatCount(total)}` : `The ${slow.length}`;
    blocks.push(
      `**Slowest statements during the run.** _${which} with the highest mean time, from \`pg_stat_statements\` (its counters at the end of the run minus those at the start)._\n\n${table}`,
    );
  }
  if (blocks.length === 0) return undefined;
  const unavailable = rows.filter((r) => r.unavailable).length;
  const bits = [`${formatCount(rows.length)} ${plural(rows.length, 'metric')}`];
  if (unavailable > 0) bits.push(`${unavailable} unavailable ⚠️`);
  if (slow.length > 0) bits.push(`slowest statement ${formatMs(slow[0]!.meanMs)} mean`);
  return fold(`<b>Infrastructure</b>: ${bits.join(', ')}`, blocks.join('\n\n'));
}

export function infraOmitted(run: RunResult, resultsRef: string): string | undefined {
  const metrics = run.infra?.length ?? 0;
  const statements = run.slowQueries?.length ?? 0;
  if (metrics === 0 && statements === 0) return undefined;
  const what = [
    metrics > 0 ? `the infrastructure table (${formatCount(metrics)} ${plural(metrics, 'metric')})` : undefined,
    statements > 0 ? 'the slowest statements' : undefined,
  ].filter(Boolean);
  const several = statements > 0;
  return `_${capitalise(what.join(' and '))} ${several ? 'were' : 'was'} left out to fit GitHub's comment size limit; ${several ? 'they are' : 'it is'} in ${resultsRef}._`;
}

export function detailsBlock(input: ReportInput): string | undefined {
  const { run, verdict } = input;
  const blocks: string[] = [];

  const tool = run.tool ? ` (${inline(run.tool.name)}${run.tool.version ? ` ${inline(run.tool.version)}` : ''})` : '';
  const lines = [`- **Phase:** ${inline(input.phase)} · **Engine:** ${inline(input.engine)}${tool}`];
  if (run.target) lines.push(`- **Target:** ${code(run.target)}`);
  if (run.endpoints.length === 1)
    lines.push(`- **Endpoint:** ${code(run.endpoints[0]!.name)} (the only one: its figures are the run's)`);
  lines.push(`- **Duration:** ${formatDuration(run.durationMs)} of load, started ${code(run.startedAt)}`);
  const stages = run.shape?.stages.length ?? 0;
  const scale =
    run.shape?.durationScale !== undefined && run.shape.durationScale !== 1
      ? `, durations scaled ×${run.shape.durationScale}`
      : '';
  lines.push(
    `- **Load shape:** peak ${formatRate(peakRate(run))}${stages > 0 ? ` over ${stages} ${plural(stages, 'stage')}` : ''}${scale}`,
  );
  lines.push(`- **Load generator:** ${generatorText(run)}`);
  const served = servedLine(run);
  if (served) lines.push(served);
  const c = input.confirmation;
  if (c) {
    lines.push(
      `- **Confirmation run:** ${formatDuration(c.durationMs)} more of the same load, ${formatCount(c.requests)} requests, p99 ${formatMs(c.latency.p99)}, ` +
        `error rate ${formatPercent(c.errorRate)}; the comparison with the baseline pooled both runs, the targets were judged on the first`,
    );
  }
  if (run.shard) lines.push(`- **Shard:** ${run.shard.index} of ${run.shard.count}`);
  if (run.sourceFiles && run.sourceFiles.length > 0)
    lines.push(`- **Source files:** ${run.sourceFiles.map(code).join(', ')}`);
  blocks.push(lines.join('\n'));

  // Tool thresholds the gate made rows of the results table are not listed twice.
  const asRows = verdict.targets.some((t) => t.origin === 'tool');
  if (run.toolThresholds.length > 0 && !asRows) {
    const rows = run.toolThresholds.map((t) => [
      cell(code(t.metric)),
      cell(code(t.expression)),
      t.ok ? '✅ pass' : '❌ fail',
    ]);
    blocks.push(`**Tool thresholds**\n\n${markdownTable([['Metric', 'Threshold', 'Status'], ...rows])}`);
  }
  const failedTool = !asRows && run.toolThresholds.some((t) => !t.ok);
  const summaryBits = [
    `${input.engine}, ${formatDuration(run.durationMs)}${c ? ` + ${formatDuration(c.durationMs)} confirmation run` : ''}`,
    !loadSent(run) ? 'no load sent' : run.generator.valid ? 'load sent as asked' : 'load generator invalid ⚠️',
  ];
  if (failedTool) summaryBits.push('a tool threshold failed ❌');
  const out = [fold(`<b>Run</b>: ${html(summaryBits.join(', '))}`, blocks.join('\n\n'))];

  if (run.notes.length > 0) {
    out.push(fold(`<b>Notes</b> (${run.notes.length})`, run.notes.map((n) => `- ${inline(n)}`).join('\n')));
  }
  return out.join('\n\n');
}

/**
 * Latency and throughput targets are judged on the successful responses; beside them, what every response did
 * (errors included), so a fast refusal is seen for what it is.
 */
function servedLine(run: RunResult): string | undefined {
  if (run.errors === 0 || run.requests === 0) return undefined;
  const ok = Math.max(0, run.requests - run.errors);
  const rate = run.throughputRps !== undefined ? (run.throughputRps * ok) / run.requests : undefined;
  const all = `all ${formatCount(run.requests)} responses: p95 ${formatMs(run.latency.p95)}, p99 ${formatMs(run.latency.p99)}, ${formatRate(run.throughputRps)}`;
  if (ok === 0) return `- **Successful responses:** none, so latency and throughput targets are not measured (${all})`;
  // Without success-only latency (a tool's file, an older results.json) the notes say what latency was judged on.
  if (!run.served) return undefined;
  return `- **Successful responses** (latency and throughput targets are judged on them): ${formatCount(ok)}, p95 ${formatMs(run.served.latency.p95)}, p99 ${formatMs(run.served.latency.p99)}, ${formatRate(rate)}; ${all}`;
}

/** Nothing started and nothing answered (an unreachable target, a failed pre-test check): "as asked" would be untrue. */
function loadSent(run: RunResult): boolean {
  return (run.generator.arrivalsStarted ?? 0) > 0 || run.requests > 0 || run.errors > 0;
}

function generatorText(run: RunResult): string {
  const g = run.generator;
  const counts = [
    `${formatCount(g.arrivalsScheduled)} scheduled`,
    `${formatCount(g.arrivalsStarted)} started`,
    `${formatCount(g.arrivalsDropped)} dropped`,
  ];
  if (g.maxLagMs !== undefined) counts.push(`max lag ${formatMs(g.maxLagMs)}`);
  const health = !loadSent(run)
    ? 'no load was sent'
    : g.valid
      ? '✅ sent the load as asked'
      : `⚠️ **invalid**${g.invalidReasons.length > 0 ? `: ${g.invalidReasons.map(inline).join('; ')}` : ''}`;
  return `${counts.join(' · ')} — ${health}`;
}
