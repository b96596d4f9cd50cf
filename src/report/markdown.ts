// The PR comment and job summary: one Markdown document built from a RunResult and its Verdict. Pure (no I/O,
// no env) so the exact text can be kept as a snapshot and reviewed.
//
// GitHub refuses a comment over 65,536 characters. Rather than cutting the text at an arbitrary point (which can
// leave half a table and break everything after it), the report is rendered in size tiers, each dropping the
// least useful part first, and the first tier that fits is used. Tables are always whole.
import { comparisonCells, formatMetricValue, regressionsMarkdown } from '../baseline/report.js';
import { markdownTable } from 'markdown-table';
import { chartsMarkdown, trendMarkdown } from './charts.js';
import { earlyStopLine, phaseSection } from './phases.js';
import type { RunResult, TargetResult, Verdict } from '../model.js';
import { actualText, headlineMetrics, peakRate, type ReportInput, targetMetricLabel, targetText, verdictWord } from './common.js';
import { formatCount, formatDuration, formatMs, formatPercent, formatRate, MISSING } from './format.js';
import { infraRows, slowestQueries, STATEMENT_CHARS, truncateText } from './infra.js';

export type { ReportInput } from './common.js';
export { formatCount, formatDuration, formatMs, formatPercent, formatRate, formatValue } from './format.js';

/** GitHub's hard limit for an issue or PR comment body. */
export const GITHUB_COMMENT_LIMIT = 65_536;
/** Default budget: under the limit with room for a wrapper that adds a line or two. */
export const DEFAULT_MAX_CHARS = 65_000;

export interface RenderOptions {
  /** Longest string to return (in UTF-16 code units, which over-counts and so stays on the safe side). */
  maxChars?: number;
}

/** Which size tier a report was rendered at, from the full report down to the heading alone. */
export type ReportTier =
  | 'full'
  | 'top-endpoints'
  | 'no-charts'
  | 'no-endpoints'
  | 'no-infra'
  | 'no-details'
  | 'minimal'
  | 'minimal-truncated'
  | 'heading-only';

export interface RenderedReport {
  markdown: string;
  tier: ReportTier;
  /** Endpoint rows shown, when the report has an endpoint table. */
  endpointsShown?: number;
  /** Target rows shown. */
  targetsShown: number;
}

/**
 * The hidden first line the publisher finds its own comment by. Text that could end the HTML comment early
 * (`-->`, `--!>`) is defused by breaking every `--` with a backslash; backslashes already there are doubled
 * first, so two different headers never share a marker.
 */
export function markerFor(header: string): string {
  const safe = header
    .replace(/[\r\n]+/g, ' ')
    .trim()
    .replace(/\\/g, '\\\\')
    .replace(/-(?=-)/g, '-\\');
  return `<!-- perf-gate:${safe} -->`;
}

export function renderReport(input: ReportInput, opts: RenderOptions = {}): string {
  return renderReportWithTier(input, opts).markdown;
}

export function renderReportWithTier(input: ReportInput, opts: RenderOptions = {}): RenderedReport {
  const maxChars = opts.maxChars ?? DEFAULT_MAX_CHARS;
  const parts = buildParts(input);
  const fits = (text: string): boolean => text.length <= maxChars;
  const targetsAll = parts.targetRows.length;
  const endpointsAll = parts.endpointCount;
  const endpointsShown = (n: number): { endpointsShown?: number } => (endpointsAll > 0 ? { endpointsShown: n } : {});

  // Down to no-details every tier has the same sections in the same order; a tier only leaves some out.
  const body = (o: { endpoints?: number; charts: boolean; infra: boolean; details: boolean }): string =>
    compose([
      parts.head,
      parts.reasons,
      parts.results(),
      parts.regressions,
      o.charts ? parts.trend : undefined,
      parts.phase,
      parts.headline,
      o.charts ? parts.charts : undefined,
      o.endpoints === undefined ? parts.endpointsOmitted : parts.endpoints(o.endpoints),
      o.infra ? parts.infra : parts.infraOmitted,
      o.details ? parts.details : undefined,
      parts.footer,
    ]);

  const full = body({ endpoints: endpointsAll, charts: true, infra: true, details: true });
  if (fits(full)) return { markdown: full, tier: 'full', ...endpointsShown(endpointsAll), targetsShown: targetsAll };

  // Charts outlast the tail of a long endpoint list (the 200th endpoint says less than the latency curve), but not
  // the list itself: they go before the endpoint table does.
  const withEndpoints = (n: number): string => body({ endpoints: n, charts: true, infra: true, details: true });
  const topN = largestFitting(endpointsAll - 1, (n) => fits(withEndpoints(n)));
  if (topN > 0) return { markdown: withEndpoints(topN), tier: 'top-endpoints', endpointsShown: topN, targetsShown: targetsAll };

  if (parts.charts) {
    const withoutCharts = (n: number): string => body({ endpoints: n, charts: false, infra: true, details: true });
    const k = largestFitting(endpointsAll, (n) => fits(withoutCharts(n)));
    const text = withoutCharts(k);
    if ((k > 0 || endpointsAll === 0) && fits(text)) return { markdown: text, tier: 'no-charts', ...endpointsShown(k), targetsShown: targetsAll };
  }

  const noEndpoints = body({ charts: false, infra: true, details: true });
  if (fits(noEndpoints)) return { markdown: noEndpoints, tier: 'no-endpoints', ...endpointsShown(0), targetsShown: targetsAll };

  // The infrastructure rows that have targets stay in the results table; the full list and the slow statements
  // are context, and go before the description of the run does.
  if (parts.infra) {
    const noInfra = body({ charts: false, infra: false, details: true });
    if (fits(noInfra)) return { markdown: noInfra, tier: 'no-infra', ...endpointsShown(0), targetsShown: targetsAll };
  }

  const noDetails = body({ charts: false, infra: false, details: false });
  if (fits(noDetails)) return { markdown: noDetails, tier: 'no-details', ...endpointsShown(0), targetsShown: targetsAll };

  const minimal = compose([parts.head, parts.results(), parts.shortened]);
  if (fits(minimal)) return { markdown: minimal, tier: 'minimal', ...endpointsShown(0), targetsShown: targetsAll };

  const withTargets = (k: number): string => compose([parts.head, parts.results(k), parts.shortened]);
  const topK = largestFitting(targetsAll - 1, (k) => fits(withTargets(k)));
  if (topK > 0) return { markdown: withTargets(topK), tier: 'minimal-truncated', ...endpointsShown(0), targetsShown: topK };

  // Below this nothing meaningful can be dropped; a budget smaller than the heading gets the heading anyway.
  return { markdown: compose([parts.head, parts.shortened]), tier: 'heading-only', ...endpointsShown(0), targetsShown: 0 };
}

/** Largest n in [1, max] for which `ok(n)` holds, assuming `ok` only turns false as n grows; 0 when none. */
function largestFitting(max: number, ok: (n: number) => boolean): number {
  let lo = 0;
  let hi = max;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (ok(mid)) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

function compose(blocks: Array<string | undefined>): string {
  return `${blocks.filter((b): b is string => b !== undefined && b !== '').join('\n\n')}\n`;
}

interface Parts {
  /** Marker, heading and the fail-on remark: present in every tier. */
  head: string;
  reasons?: string;
  targetRows: string[][];
  /** The results table, optionally with only the first `limit` targets. */
  results(limit?: number): string;
  /** Baseline comparison: which commit, the method, a reason per metric (the figures are in the results table). */
  regressions?: string;
  /** p99 and error rate over the last recorded runs; dropped with the other charts. */
  trend?: string;
  /** Steady part, breaking point, recovery, guards (src/report/phases.ts). */
  phase?: string;
  headline?: string;
  /** Mermaid charts; the first thing dropped once the endpoint list alone cannot make room. */
  charts?: string;
  endpointCount: number;
  /** The endpoint table with the `limit` busiest endpoints. */
  endpoints(limit: number): string | undefined;
  endpointsOmitted?: string;
  /** The Infrastructure table and the slowest statements. */
  infra?: string;
  infraOmitted?: string;
  details?: string;
  footer: string;
  /** The pointer to the full report used by the smallest tiers. */
  shortened: string;
}

function buildParts(input: ReportInput): Parts {
  const { run, verdict } = input;
  // With a baseline the results table gains Baseline, Change and vs-baseline columns, and a row for every metric a
  // regression rule watches that no target covers.
  const comparison = comparisonCells(verdict);
  const byMetric = new Map((comparison ?? []).map((c) => [c.metric, c]));
  const targeted = new Set(verdict.targets.map((t) => t.target.metric));
  let differs = false;
  const targetRows = verdict.targets.map((t) => {
    const row = targetRow(t, run);
    if (!comparison) return row;
    const c = byMetric.get(t.target.metric);
    if (!c) return [...row, MISSING, MISSING, MISSING];
    // The target may be judged on the steady part while the comparison uses the whole run (or two runs pooled):
    // then the Change is not relative to the Actual shown, and the footnote says so.
    const mark = c.currentValue !== undefined && t.actual !== undefined && formatMetricValue(t.target.metric, c.currentValue) !== formatMetricValue(t.target.metric, t.actual) ? ' ¹' : '';
    if (mark) differs = true;
    return [...row, c.baseline, `${c.change}${mark}`, c.status];
  });
  for (const c of comparison ?? []) {
    if (!targeted.has(c.metric)) targetRows.push([cell(targetMetricLabel(c.metric, run, code)), MISSING, c.current, MISSING, c.baseline, c.change, c.status]);
  }
  const coveredMetrics = new Set([...targeted, ...(comparison ?? []).map((c) => c.metric)]);
  const endpoints = [...run.endpoints].sort((a, b) => b.requests - a.requests || a.name.localeCompare(b.name));
  const resultsRef = input.resultsFile ? `the results file (${code(input.resultsFile)})` : 'the results file';
  const summaryRef = input.runUrl ? `the job summary of [the workflow run](${input.runUrl})` : 'the job summary of the workflow run';

  const results = (limit?: number): string => {
    if (verdict.status === 'shard') return `_Shard ${run.shard?.index}/${run.shard?.count} of a sharded run: the targets are judged once the shards are merged (engine \`results\`); the figures below are this shard's alone._`;
    if (targetRows.length === 0) return '_No targets were set for this phase; the figures below are for information only._';
    const shown = limit === undefined ? targetRows : targetRows.slice(0, limit);
    const table = comparison
      ? markdownTable([['Metric', 'Target', 'Actual', 'Status', 'Baseline', 'Change', 'vs baseline'], ...shown], { align: ['l', 'l', 'r', 'l', 'r', 'r', 'l'] })
      : markdownTable([['Metric', 'Target', 'Actual', 'Status'], ...shown], { align: ['l', 'l', 'r', 'l'] });
    const footnote = differs
      ? '\n\n_¹ Change compares the whole run (after a confirmation run, both runs pooled) with the baseline; Actual is the figure the target was judged on. Both are in the results file._'
      : '';
    const hidden = targetRows.length - shown.length;
    return hidden > 0 ? `${table}${footnote}\n\n_…and ${hidden} more ${plural(hidden, comparison ? 'row' : 'target')} in ${summaryRef} and ${resultsRef}._` : `${table}${footnote}`;
  };

  const endpointTable = (limit: number): string | undefined => {
    if (endpoints.length === 0) return undefined;
    const shown = endpoints.slice(0, limit);
    const rows = shown.map((e) => [
      cell(code(e.name)),
      formatCount(e.requests),
      e.errors > 0 && e.requests > 0 ? `${formatCount(e.errors)} (${formatPercent((e.errors / e.requests) * 100)})` : formatCount(e.errors),
      formatMs(e.latency.p50),
      formatMs(e.latency.p95),
      formatMs(e.latency.p99),
      formatMs(e.latency.max),
    ]);
    const table = markdownTable([['Endpoint', 'Requests', 'Errors', 'p50', 'p95', 'p99', 'max'], ...rows], {
      align: ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
    });
    const hidden = endpoints.length - shown.length;
    const more = hidden > 0 ? `\n\n_${hidden} more ${plural(hidden, 'endpoint')} in ${resultsRef}, sorted here by requests._` : '';
    return `### Endpoints\n\n${table}${more}`;
  };

  return {
    head: [markerFor(input.commentHeader), heading(input), policyRemark(verdict), earlyStopLine(run)].filter(Boolean).join('\n\n'),
    ...optional('reasons', reasonsBlock(verdict)),
    targetRows,
    results,
    ...optional('regressions', regressionsMarkdown(verdict)),
    ...optional('trend', trendMarkdown(verdict, run)),
    ...optional('phase', phaseSection(run)),
    ...optional('headline', headlineBlock(run, coveredMetrics, targetRows.length > 0)),
    ...optional('charts', chartsMarkdown(run)),
    endpointCount: endpoints.length,
    endpoints: endpointTable,
    ...optional(
      'endpointsOmitted',
      endpoints.length > 0
        ? `_The per-endpoint table (${formatCount(endpoints.length)} ${plural(endpoints.length, 'endpoint')}) was left out to fit GitHub's comment size limit; it is in ${resultsRef}._`
        : undefined,
    ),
    ...optional('infra', infraBlock(run)),
    ...optional('infraOmitted', infraOmitted(run, resultsRef)),
    ...optional('details', detailsBlock(input)),
    footer: footer(input),
    shortened: `_Shortened to fit GitHub's comment size limit: the full report is in ${summaryRef} and in ${resultsRef}._`,
  };
}

/** Spreads `{[key]: value}` only when there is a value, so optional fields stay absent rather than undefined. */
function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

const ICONS = { pass: '✅', fail: '❌', error: '⚠️', shard: '🧩' } as const;

function heading(input: ReportInput): string {
  const header = input.commentHeader.replace(/\s+/g, ' ').trim();
  const label = header === '' || header === 'perf-gate' || header === input.phase ? 'perf-gate' : `perf-gate (${inline(header)})`;
  return `## ${ICONS[input.verdict.status]} ${label}: ${inline(input.phase)} ${verdictWord(input.verdict.status)}`;
}

/** Says when the check's outcome differs from what the heading suggests, so nobody is surprised by a green check. */
function policyRemark(verdict: Verdict): string | undefined {
  if (verdict.status !== 'pass' && verdict.status !== 'shard' && !verdict.failsCheck) {
    return '_The check is not failed: the `fail-on` setting lets this result through._';
  }
  if (verdict.status === 'pass' && verdict.failsCheck) return '_The check fails under the `fail-on` setting._';
  return undefined;
}

function reasonsBlock(verdict: Verdict): string | undefined {
  if (verdict.status === 'pass' || verdict.reasons.length === 0) return undefined;
  return verdict.reasons.map((r) => `- ${inline(r)}`).join('\n');
}

const STATUS_TEXT = {
  pass: '✅ pass',
  fail: '❌ fail',
} as const;

function targetRow(result: TargetResult, run: RunResult): string[] {
  const { metric } = result.target;
  const status =
    result.status === 'not_measured'
      ? result.target.optional
        ? '➖ not measured'
        : '⚠️ not measured'
      : STATUS_TEXT[result.status];
  return [cell(targetMetricLabel(metric, run, code)), cell(targetText(result)), cell(actualText(result)), status];
}

function headlineBlock(run: RunResult, covered: Set<string>, hasTargets: boolean): string | undefined {
  const rows = headlineMetrics(run)
    .filter((m) => !covered.has(m.metric))
    .map((m) => [m.label, cell(m.value)]);
  if (rows.length === 0) return undefined;
  const table = markdownTable([['Metric', 'Value'], ...rows], { align: ['l', 'r'] });
  return `### ${hasTargets ? 'Other metrics' : 'Metrics'}\n\n${table}`;
}

/** Every metric the sources reported, read or not, and the slowest statements in a collapsed section. */
function infraBlock(run: RunResult): string | undefined {
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
          cell(r.unavailable ? `⚠️ unavailable: ${inline(r.unavailable)}` : code(truncateText(r.query, STATEMENT_CHARS))),
        ]),
      ],
      { align: ['l', 'l', 'r', 'r', 'r', 'r', 'l'] },
    );
    const judged = run.analysis?.judged === 'steady' ? ' Targets on these metrics were judged on the steady part, like the latency targets.' : '';
    blocks.push(`### Infrastructure\n\n${table}\n\n_Statistics over the whole run window; the samples are in the results file.${judged}_`);
  }
  const slow = slowestQueries(run);
  if (slow.length > 0) {
    const table = markdownTable(
      [
        ['Statement', 'Calls', 'Mean', 'Total'],
        ...slow.map((q) => [cell(code(truncateText(q.query, STATEMENT_CHARS))), formatCount(q.calls), formatMs(q.meanMs), formatDuration(q.totalMs)]),
      ],
      { align: ['l', 'r', 'r', 'r'] },
    );
    const total = run.slowQueries?.length ?? 0;
    const which = total > slow.length ? `The ${slow.length} of ${formatCount(total)}` : `The ${slow.length}`;
    // GitHub only renders Markdown inside <details> when blank lines set it apart from the HTML tags.
    blocks.push(
      '<details><summary>Slowest statements during the run</summary>\n\n' +
        `_${which} with the highest mean time, from \`pg_stat_statements\` (its counters at the end of the run minus those at the start)._\n\n` +
        `${table}\n\n</details>`,
    );
  }
  return blocks.length > 0 ? blocks.join('\n\n') : undefined;
}

function infraOmitted(run: RunResult, resultsRef: string): string | undefined {
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

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

function detailsBlock(input: ReportInput): string | undefined {
  const { run } = input;
  const blocks: string[] = [];

  const tool = run.tool ? ` (${inline(run.tool.name)}${run.tool.version ? ` ${inline(run.tool.version)}` : ''})` : '';
  const lines = [`- **Phase:** ${inline(input.phase)} · **Engine:** ${inline(input.engine)}${tool}`];
  if (run.target) lines.push(`- **Target:** ${code(run.target)}`);
  lines.push(`- **Duration:** ${formatDuration(run.durationMs)}, started ${code(run.startedAt)}`);
  const stages = run.shape?.stages.length ?? 0;
  const scale = run.shape?.durationScale !== undefined && run.shape.durationScale !== 1 ? `, durations scaled ×${run.shape.durationScale}` : '';
  lines.push(`- **Load shape:** peak ${formatRate(peakRate(run))}${stages > 0 ? ` over ${stages} ${plural(stages, 'stage')}` : ''}${scale}`);
  lines.push(`- **Requests:** ${formatCount(run.requests)} completed, ${formatCount(run.errors)} ${plural(run.errors, 'error')}`);
  lines.push(`- **Load generator:** ${generatorText(run)}`);
  if (run.sourceFiles && run.sourceFiles.length > 0) lines.push(`- **Source files:** ${run.sourceFiles.map(code).join(', ')}`);
  blocks.push(`### Run\n\n${lines.join('\n')}`);

  if (run.toolThresholds.length > 0) {
    const rows = run.toolThresholds.map((t) => [cell(code(t.metric)), cell(code(t.expression)), t.ok ? '✅ pass' : '❌ fail']);
    blocks.push(`### Tool thresholds\n\n${markdownTable([['Metric', 'Threshold', 'Status'], ...rows])}`);
  }

  if (run.notes.length > 0) blocks.push(`### Notes\n\n${run.notes.map((n) => `- ${inline(n)}`).join('\n')}`);
  return blocks.join('\n\n');
}

function generatorText(run: RunResult): string {
  const g = run.generator;
  const counts = [
    `${formatCount(g.arrivalsScheduled)} scheduled`,
    `${formatCount(g.arrivalsStarted)} started`,
    `${formatCount(g.arrivalsDropped)} dropped`,
  ];
  if (g.maxLagMs !== undefined) counts.push(`max lag ${formatMs(g.maxLagMs)}`);
  const health = g.valid
    ? '✅ sent the load as asked'
    : `⚠️ **invalid**${g.invalidReasons.length > 0 ? `: ${g.invalidReasons.map(inline).join('; ')}` : ''}`;
  return `${counts.join(' · ')} — ${health}`;
}

function footer(input: ReportInput): string {
  const bits: string[] = [];
  if (input.resultsFile) bits.push(`Every figure comes from ${code(input.resultsFile)}`);
  if (input.runUrl) bits.push(`[Workflow run](${input.runUrl})`);
  bits.push('perf-gate');
  return `<sub>${bits.join(' · ')}</sub>`;
}

function plural(n: number, word: string): string {
  return n === 1 ? word : `${word}s`;
}

/**
 * Escapes text from the run (reasons, notes, names) so it cannot turn into formatting, links or HTML. `<` is only
 * escaped before what could start a tag, so `p99 < 500 ms` stays readable in the raw Markdown.
 */
function inline(text: string): string {
  return text
    .replace(/[\r\n]+/g, ' ')
    .replace(/[\\`*_[\]~|]/g, (c) => `\\${c}`)
    .replace(/<(?=[A-Za-z/!?])/g, '&lt;')
    .replace(/^([#>+=-])/, '\\$1');
}

/** A code span that survives backticks in its content (CommonMark: fence longer than any run inside). */
function code(text: string): string {
  const flat = text.replace(/[\r\n]+/g, ' ');
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/** A table cell: GFM splits cells on `|` even inside code spans, so it is escaped after everything else. */
function cell(text: string): string {
  return text.replace(/(?<!\\)\|/g, '\\|');
}

export { MISSING };
