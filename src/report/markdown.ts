// The PR comment and job summary: one Markdown document built from a RunResult and its Verdict. Pure (no I/O,
// no env) so the exact text can be kept as a snapshot and reviewed.
//
// GitHub refuses a comment over 65,536 characters. Rather than cutting the text at an arbitrary point (which can
// leave half a table and break everything after it), the report is rendered in size tiers, each dropping the
// least useful part first, and the first tier that fits is used. Tables are always whole.
import { comparisonCells, formatMetricValue, type ComparisonCells } from '../baseline/report.js';
import { markdownTable } from 'markdown-table';
import { earlyStopLine } from './phases.js';
import type { RunResult, TargetResult, Verdict } from '../model.js';
import { unmeetableTargets } from '../phases/analysis.js';
import { actualText, type ReportInput, showsWhy, targetMetricLabel, targetText } from './common.js';
import { whyMarkdown } from './why.js';
import { heading, policyRemark, reasonsBlock, short, verdictSentence } from './verdict.js';
import { regressionsFold, trendFold } from './regressions.js';
import { formatCount, formatDuration, formatMs, formatPercent, MISSING } from '../format.js';
import { checksSection, endpointsSummary, logsSection, responsesSection } from './sections.js';
import { environmentSection } from './environment.js';
import { chartsFold, detailsBlock, headlineBlock, infraBlock, infraOmitted, phaseFold } from './markdown-folds.js';
import { cell, code, fold, inline, plural } from './text.js';
import { DEFAULT_ACCEPT_LABEL } from '../config/baseline.js';

export type { ReportInput } from './common.js';
export { formatCount, formatDuration, formatMs, formatPercent, formatRate, formatValue } from '../format.js';

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

  // Down to no-details every tier has the same sections in the same order; a tier only leaves some out. What a
  // reviewer must see comes first and unfolded; everything after `todo` is folded under a summary line.
  const body = (o: { endpoints?: number; charts: boolean; infra: boolean; details: boolean }): string =>
    compose([
      parts.head,
      parts.reasons,
      parts.results(),
      parts.why,
      parts.environment,
      parts.comparing,
      parts.todo,
      parts.regressions,
      o.charts ? parts.trend : undefined,
      parts.phase,
      parts.headline,
      o.charts ? parts.charts : undefined,
      parts.responses,
      parts.checks,
      parts.logs,
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
  if (topN > 0)
    return { markdown: withEndpoints(topN), tier: 'top-endpoints', endpointsShown: topN, targetsShown: targetsAll };

  if (parts.charts || parts.trend) {
    const withoutCharts = (n: number): string => body({ endpoints: n, charts: false, infra: true, details: true });
    const k = largestFitting(endpointsAll, (n) => fits(withoutCharts(n)));
    const text = withoutCharts(k);
    if ((k > 0 || endpointsAll === 0) && fits(text))
      return { markdown: text, tier: 'no-charts', ...endpointsShown(k), targetsShown: targetsAll };
  }

  const noEndpoints = body({ charts: false, infra: true, details: true });
  if (fits(noEndpoints))
    return { markdown: noEndpoints, tier: 'no-endpoints', ...endpointsShown(0), targetsShown: targetsAll };

  // The infrastructure rows that have targets stay in the results table; the full list and the slow statements
  // are context, and go before the description of the run does.
  if (parts.infra) {
    const noInfra = body({ charts: false, infra: false, details: true });
    if (fits(noInfra)) return { markdown: noInfra, tier: 'no-infra', ...endpointsShown(0), targetsShown: targetsAll };
  }

  const noDetails = body({ charts: false, infra: false, details: false });
  if (fits(noDetails))
    return { markdown: noDetails, tier: 'no-details', ...endpointsShown(0), targetsShown: targetsAll };

  const minimal = compose([parts.head, parts.results(), parts.shortened]);
  if (fits(minimal)) return { markdown: minimal, tier: 'minimal', ...endpointsShown(0), targetsShown: targetsAll };

  const withTargets = (k: number): string => compose([parts.head, parts.results(k), parts.shortened]);
  const topK = largestFitting(targetsAll - 1, (k) => fits(withTargets(k)));
  if (topK > 0)
    return { markdown: withTargets(topK), tier: 'minimal-truncated', ...endpointsShown(0), targetsShown: topK };

  // Below this nothing meaningful can be dropped; a budget smaller than the heading gets the heading anyway.
  return {
    markdown: compose([parts.head, parts.shortened]),
    tier: 'heading-only',
    ...endpointsShown(0),
    targetsShown: 0,
  };
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
  /** Marker, heading, the verdict sentence, the fail-on remark and an early stop: present in every tier. */
  head: string;
  reasons?: string;
  /** The checks before the load and the smoke pass, folded (src/report/environment.ts). */
  environment?: string;
  targetRows: string[][];
  /** The results table, optionally with only the first `limit` targets. */
  results(limit?: number): string;
  /** Why the run failed (src/diagnose): headline and short lines, the evidence folded. */
  why?: string;
  /** "Comparing head (sha) with base (sha)", linked. */
  comparing?: string;
  /** What to do about a failure: fix, or apply the accept label. */
  todo?: string;
  /** How regressions were judged: the method and one reason per metric, folded. */
  regressions?: string;
  /** p99 and error rate over the last recorded runs, folded; dropped with the other charts. */
  trend?: string;
  /** Steady part, capacity, breaking point, recovery, guards (src/report/phases.ts), folded. */
  phase?: string;
  /** The figures the results table does not show, labelled by the part of the run, folded. */
  headline?: string;
  /** Mermaid charts, folded; the first thing dropped once the endpoint list alone cannot make room. */
  charts?: string;
  responses?: string;
  checks?: string;
  logs?: string;
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

/** Which part of the run the judged figures cover, in words, for captions and the verdict. */
function judgedPart(run: RunResult): { text: string; steady: boolean } {
  const a = run.analysis;
  if (a?.judged === 'steady' && a.steady) {
    const w = a.steady.windows.map((x) => `${formatDuration(x.startMs)} – ${formatDuration(x.endMs)}`).join(', ');
    return {
      text: `the steady part of the run (${w}; ${a.steady.intervals} of ${a.steady.intervalsTotal} intervals)`,
      steady: true,
    };
  }
  return { text: `the whole run (${formatDuration(run.durationMs)})`, steady: false };
}

function buildParts(input: ReportInput): Parts {
  const { run, verdict } = input;
  // With a baseline the results table gains Baseline and Change columns, and a row for every metric a regression
  // rule watches that no target covers; its Status is the row's verdict, target and regression together.
  const comparison = comparisonCells(verdict);
  const byMetric = new Map((comparison ?? []).map((c) => [c.metric, c]));
  const targeted = new Set(verdict.targets.filter((t) => t.origin !== 'tool').map((t) => t.target.metric));
  let differs = false;
  const targetRows = verdict.targets.map((t) => {
    const [metric, target, actual, status] = targetRow(t, run);
    if (!comparison) return [metric!, target!, actual!, status!];
    const c = t.origin === 'tool' ? undefined : byMetric.get(t.target.metric);
    if (!c) return [metric!, target!, actual!, MISSING, MISSING, status!];
    // The target may be judged on the steady part while the comparison uses the whole run (or two runs pooled):
    // then the Change is not relative to the Actual shown, and the footnote says so.
    const mark =
      c.currentValue !== undefined &&
      t.actual !== undefined &&
      formatMetricValue(t.target.metric, c.currentValue) !== formatMetricValue(t.target.metric, t.actual)
        ? ' ¹'
        : '';
    if (mark) differs = true;
    // The figure compared is named where it is not the Actual, so the verdict sentence's `225 → 297 ms` is in the table.
    return [
      metric!,
      target!,
      actual!,
      c.baseline,
      mark ? `${c.change} to ${c.current}${mark}` : c.change,
      combinedStatus(t, c),
    ];
  });
  for (const c of comparison ?? []) {
    if (!targeted.has(c.metric))
      targetRows.push([
        cell(targetMetricLabel(c.metric, run, code)),
        MISSING,
        c.current,
        c.baseline,
        c.change,
        regressionStatus(c),
      ]);
  }
  const coveredMetrics = new Set([...targeted, ...(comparison ?? []).map((c) => c.metric)]);
  const endpoints = [...run.endpoints].sort((a, b) => b.requests - a.requests || a.name.localeCompare(b.name));
  const resultsRef = input.resultsFile ? `the results file (${code(input.resultsFile)})` : 'the results file';
  const summaryRef = input.runUrl
    ? `the job summary of [the workflow run](${input.runUrl})`
    : 'the job summary of the workflow run';
  const part = judgedPart(run);
  const warnings = unmeetableWarnings(run, verdict);

  const results = (limit?: number): string => {
    if (verdict.status === 'shard')
      return `_Shard ${run.shard?.index}/${run.shard?.count} of a sharded run: the targets are judged once the shards are merged (engine \`results\`); the figures below are this shard's alone._`;
    if (targetRows.length === 0)
      return '_No targets were set for this phase; the figures below are for information only._';
    const shown = limit === undefined ? targetRows : targetRows.slice(0, limit);
    const table = comparison
      ? markdownTable([['Metric', 'Target', 'Actual', 'Baseline', 'Change', 'Status'], ...shown], {
          align: ['l', 'l', 'r', 'r', 'r', 'l'],
        })
      : markdownTable([['Metric', 'Target', 'Actual', 'Status'], ...shown], { align: ['l', 'l', 'r', 'l'] });
    const notes: string[] = [`Actual: ${part.text}.`];
    if (comparison)
      notes.push(
        differs
          ? 'Change¹: the whole run (after a confirmation run, both runs pooled) against the baseline, to the figure named.'
          : 'Change: against the baseline.',
      );
    const caption = `\n\n_${notes.join(' ')}_`;
    const warn = warnings.length > 0 ? `\n\n${warnings.map((w) => `> ⚠️ ${inline(w)}`).join('\n>\n')}` : '';
    const hidden = targetRows.length - shown.length;
    const more =
      hidden > 0
        ? `\n\n_…and ${hidden} more ${plural(hidden, comparison ? 'row' : 'target')} in ${summaryRef} and ${resultsRef}._`
        : '';
    return `${table}${caption}${warn}${more}`;
  };

  const endpointTable = (limit: number): string | undefined => {
    // One endpoint repeats the totals: its name is in the Run section, its figures are the run's.
    if (endpoints.length <= 1) return undefined;
    const shown = endpoints.slice(0, limit);
    const rows = shown.map((e) => [
      cell(code(e.name)),
      formatCount(e.requests),
      e.errors > 0 && e.requests > 0
        ? `${formatCount(e.errors)} (${formatPercent((e.errors / e.requests) * 100)})${(e.errors / e.requests) * 100 > errorLimit(verdict) ? ' ❌' : ''}`
        : formatCount(e.errors),
      formatMs(e.latency.p50),
      formatMs(e.latency.p95),
      formatMs(e.latency.p99),
      formatMs(e.latency.max),
    ]);
    const table = markdownTable([['Endpoint', 'Requests', 'Errors', 'p50', 'p95', 'p99', 'max'], ...rows], {
      align: ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
    });
    const hidden = endpoints.length - shown.length;
    const more =
      hidden > 0 ? `\n\n_${hidden} more ${plural(hidden, 'endpoint')} in ${resultsRef}, sorted here by requests._` : '';
    return fold(
      endpointsSummary(endpoints, errorLimit(verdict)),
      `${table}\n\n_Whole run, busiest first; ❌ marks an error rate past ${formatPercent(errorLimit(verdict))}._${more}`,
    );
  };

  const responses = responsesSection(run);
  const checks = checksSection(run);
  const logs = logsSection(run);
  const environment = environmentSection(run);
  return {
    head: [
      markerFor(input.commentHeader),
      heading(input),
      verdictSentence(input),
      policyRemark(verdict),
      earlyStopLine(run),
    ]
      .filter(Boolean)
      .join('\n\n'),
    ...optional('reasons', reasonsBlock(verdict)),
    ...optional('environment', environment ? fold(environment.summary, environment.body) : undefined),
    targetRows,
    results,
    ...optional('why', showsWhy(input) ? whyMarkdown(input.why) : undefined),
    ...optional('comparing', comparingLine(input)),
    ...optional('todo', todoLine(input)),
    ...optional('regressions', regressionsFold(verdict)),
    ...optional('trend', trendFold(verdict, run)),
    ...optional('phase', phaseFold(run)),
    ...optional('headline', headlineBlock(run, coveredMetrics, targetRows.length > 0)),
    ...optional('charts', chartsFold(run, verdict)),
    ...optional('responses', responses ? fold(responses.summary, responses.body) : undefined),
    ...optional('checks', checks ? fold(checks.summary, checks.body) : undefined),
    ...optional('logs', logs ? fold(logs.summary, logs.body) : undefined),
    endpointCount: endpoints.length > 1 ? endpoints.length : 0,
    endpoints: endpointTable,
    ...optional(
      'endpointsOmitted',
      endpoints.length > 1
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
      : result.warning
        ? '⚠️ warning'
        : STATUS_TEXT[result.status];
  const label = result.origin === 'tool' ? `${code(metric)} (tool threshold)` : targetMetricLabel(metric, run, code);
  // A tool's threshold and a metric-vs-metric target are written by the user: in a code span, never a mention.
  const target =
    result.origin === 'tool'
      ? code(targetText(result))
      : result.rhs || result.target.rhsMetric
        ? `${result.target.op} ${code(result.rhs?.label ?? result.target.rhsMetric!.label)}`
        : targetText(result);
  return [cell(label), cell(target), cell(actualText(result)), status];
}

/** A row's verdict, target and regression together: one ❌ is enough to see the row failed, and why. */
function combinedStatus(t: TargetResult, c: ComparisonCells): string {
  const target =
    t.status === 'fail'
      ? 'target missed'
      : t.status === 'not_measured' && !t.target.optional
        ? 'not measured'
        : undefined;
  const regressed = c.result === 'regressed' && !c.status.includes('accepted');
  if (target && regressed) return `❌ ${target}, regressed`;
  if (regressed) return '❌ regressed';
  if (target) return t.status === 'fail' ? `❌ ${target}` : `⚠️ ${target}`;
  if (t.warning) return '⚠️ warning';
  return regressionStatus(c);
}

/** A regression's status cell; who accepted it is a login, so its `@` must not mention them again on every update. */
function regressionStatus(c: ComparisonCells): string {
  if (c.status.startsWith('✅ accepted by '))
    return `✅ accepted by ${inline(c.status.slice('✅ accepted by '.length))}`;
  return c.status;
}

/** "Comparing head (sha) with base (sha)", each commit linked. */
function comparingLine(input: ReportInput): string | undefined {
  const b = input.verdict.baseline;
  if (!b || !(input.verdict.regressions ?? []).some((r) => r.baseline !== undefined)) return undefined;
  const repo = input.repoUrl ?? input.runUrl?.replace(/\/actions\/runs\/.*$/, '');
  const commit = (sha: string | undefined): string | undefined => {
    if (!sha) return undefined;
    return repo && /^[0-9a-f]{7,40}$/i.test(sha) ? `[\`${short(sha)}\`](${repo}/commit/${sha})` : code(short(sha));
  };
  const side = (ref: string | undefined, sha: string | undefined, fallback: string): string => {
    const c = commit(sha);
    const name = ref ? code(ref) : fallback;
    return c ? `${name} (${c})` : name;
  };
  const head = side(input.head?.ref, input.head?.sha, 'this run');
  const base = side(input.baseRef, b.sha, 'the baseline');
  const runs = b.trend?.length;
  const age = b.createdAt ? `, recorded ${b.createdAt.slice(0, 10)}` : '';
  const from = runs ? `; noise from ${runs} earlier ${plural(runs, 'run')}` : '';
  return `Comparing ${head} with ${base}${age}${from}.`;
}

/** What the reader can do about a failure, in one line. */
function todoLine(input: ReportInput): string | undefined {
  const { verdict } = input;
  if (verdict.status === 'pass') return undefined;
  if (verdict.status === 'error')
    return '**What to do:** fix what the reasons above name and re-run the job; nothing was judged, so nothing passed.';
  const regressed = (verdict.regressions ?? []).some((r) => r.status === 'regressed' && !r.acceptedBy);
  const targetsFailed = verdict.targets.some(
    (t) => t.status === 'fail' || (t.status === 'not_measured' && !t.target.optional),
  );
  const label = code(input.acceptLabel || DEFAULT_ACCEPT_LABEL);
  const parts: string[] = [];
  if (targetsFailed)
    parts.push(
      'make the failing rows pass (the sections below show where the time and the errors went), or correct a target that asks for the wrong thing',
    );
  if (regressed)
    parts.push(
      `fix the slowdown, or, if it is intended, apply the label ${label} to this pull request and re-run the job`,
    );
  return parts.length > 0 ? `**What to do:** ${parts.join('; ')}.` : undefined;
}

/** The error rate past which an endpoint is flagged: the run's error-rate target, else the guide's 0.5 %. */
function errorLimit(verdict: Verdict): number {
  return (
    verdict.targets.find((t) => t.target.metric === 'error_rate' && (t.target.op === '<' || t.target.op === '<='))
      ?.target.value ?? 0.5
  );
}

function footer(input: ReportInput): string {
  const bits: string[] = [];
  if (input.resultsFile) bits.push(`Every figure comes from ${code(input.resultsFile)}`);
  if (input.runUrl) bits.push(`[Workflow run](${input.runUrl})`);
  bits.push('perf-gate');
  return `<sub>${bits.join(' · ')}</sub>`;
}

/**
 * Throughput targets the load asked for could never meet (src/phases/analysis.ts), with the requests per arrival
 * the run actually sent: a failure there is the configuration's, not the service's.
 */
function unmeetableWarnings(run: RunResult, verdict: Verdict): string[] {
  const stages = run.shape?.stages ?? [];
  const started = run.generator.arrivalsStarted;
  if (stages.length === 0 || !started || run.requests === 0) return [];
  const perArrival = run.requests / started;
  return unmeetableTargets(
    verdict.targets.filter((t) => t.origin !== 'tool').map((t) => t.target),
    stages,
    Math.max(1, perArrival),
    run.analysis?.judged ?? 'all',
  );
}

export { MISSING };
