// report.html: every test of the output dir on one self-contained page, to open from the uploaded artifact. Each
// test is its PR comment (the same verdict sentence, results table and folded sections, from the same Markdown),
// with the Mermaid charts drawn as inline SVG, followed by what a comment has no room for: the time series at full
// resolution (one point per interval), every interval's figures and every endpoint's, whole-run and per interval.
// Pure: no I/O. The page loads nothing (no script, font, stylesheet or image from anywhere; a Content-Security-Policy
// says so to the browser), so it opens the same offline, from a zip, years later.
import { Marked } from 'marked';
import type { Diagnosis, IntervalEndpoint, IntervalResult, LatencyStats, RunResult, Verdict } from '../model.js';
import { chartsFor } from './charts.js';
import type { ReportInput } from './common.js';
import { formatCount, formatDuration, formatMs, formatPercent, formatRate, MISSING } from '../format.js';
import { renderReport } from './markdown.js';
import { lineChartSvg, parseXychart, type LineChartSpec } from './svg.js';
import { escapeHtml as esc } from './text.js';

export const HTML_REPORT_FILE = 'report.html';

/** One test of the output dir: a run's folder (or file) name, its results, and its report when it was written. */
export interface HtmlReportEntry {
  name: string;
  run: RunResult;
  verdict: Verdict;
  /** The run's report as the comment shows it; rendered from run and verdict when absent. */
  markdown?: string;
  /** What the pipeline handed the renderers (this run's links and git context), when known. */
  input?: ReportInput;
  /** The run's diagnosis (results.json `why`), for the Why block of an earlier run's test. */
  why?: Diagnosis;
}

/** Rows of a per-interval table at most: beyond it the table says where the rest is (results.json has all). */
export const MAX_TABLE_ROWS = 2000;
/** Endpoints that get a per-interval table of their own. */
export const MAX_ENDPOINT_TABLES = 50;

const ICON = { pass: '✅', fail: '❌', error: '⚠️', shard: '🧩' } as const;

export function renderHtmlReport(entries: readonly HtmlReportEntry[], opts: { generatedAt?: string } = {}): string {
  const title =
    entries.length === 1
      ? `perf-gate: ${entries[0]!.run.phase} ${entries[0]!.verdict.status}`
      : `perf-gate: ${entries.length} tests`;
  const body: string[] = [];
  body.push(`<h1>perf-gate report</h1>`);
  body.push(
    `<p class="meta">${entries.length} ${entries.length === 1 ? 'test' : 'tests'} in this output folder${opts.generatedAt ? `, written ${esc(opts.generatedAt)}` : ''}. Every figure comes from the test's <code>results.json</code>.</p>`,
  );
  if (entries.length > 1) body.push(indexTable(entries));
  entries.forEach((e, i) => {
    body.push(testSection(e, i, entries.length));
  });
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // Nothing may be fetched: no script runs, styles are inline, images only as data.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${esc(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<main>',
    ...body,
    '</main>',
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function indexTable(entries: readonly HtmlReportEntry[]): string {
  const rows = entries.map((e, i) => {
    const part = judged(e.run);
    const measured = part.requests > 0;
    return `<tr><td><a href="#test-${i + 1}">${i + 1}</a></td><td>${esc(e.run.phase)}</td><td>${ICON[e.verdict.status]} ${esc(e.verdict.status)}</td><td class="num">${measured ? esc(formatMs(part.latency.p99)) : MISSING}</td><td class="num">${measured ? esc(formatPercent(part.errorRate)) : MISSING}</td><td class="num">${measured ? esc(formatRate(part.throughputRps)) : MISSING}</td><td>${esc(e.run.startedAt)}</td><td><a href="${esc(encodeURI(e.name))}/results.json"><code>${esc(e.name)}/results.json</code></a></td></tr>`;
  });
  return `<table class="index"><thead><tr><th>#</th><th>Phase</th><th>Verdict</th><th>p99</th><th>Error rate</th><th>Throughput</th><th>Started (UTC)</th><th>Results</th></tr></thead><tbody>${rows.join('')}</tbody></table>`;
}

/** The figures of the part the targets were judged on, as the comment's table and the outputs give them. */
function judged(run: RunResult): Pick<RunResult, 'requests' | 'latency' | 'errorRate' | 'throughputRps'> {
  const a = run.analysis;
  return a?.judged === 'steady' && a.steady ? a.steady : run;
}

function testSection(e: HtmlReportEntry, i: number, total: number): string {
  const input: ReportInput = e.input ?? {
    run: e.run,
    verdict: e.verdict,
    commentHeader: e.run.phase,
    engine: e.run.tool?.name ?? e.run.engine,
    phase: e.run.phase,
    resultsFile: `${e.name}/results.json`,
    ...(e.why ? { why: e.why } : {}),
  };
  const markdown = e.markdown ?? renderReport(input, { maxChars: Number.MAX_SAFE_INTEGER });
  const out: string[] = [`<section class="test" id="test-${i + 1}" data-verdict="${esc(e.verdict.status)}">`];
  if (total > 1)
    out.push(
      `<p class="test-label">Test ${i + 1} of ${total}: <a href="${esc(encodeURI(e.name))}/results.json"><code>${esc(e.name)}/results.json</code></a></p>`,
    );
  out.push(`<div class="comment">${markdownToHtml(markdown)}</div>`);
  out.push(fullResolution(e.run, e.verdict));
  out.push('</section>');
  return out.join('\n');
}

/** The comment's Markdown as HTML, its Mermaid charts as inline SVG. */
function markdownToHtml(markdown: string): string {
  const marked = new Marked({
    gfm: true,
    renderer: {
      code({ text, lang }) {
        const spec = lang === 'mermaid' ? parseXychart(text) : undefined;
        if (spec) return `<figure class="chart-box">${lineChartSvg(spec, { width: 900, height: 300 })}</figure>\n`;
        return `<pre><code>${esc(text)}</code></pre>\n`;
      },
    },
  });
  return marked.parse(markdown, { async: false });
}

function timeAxis(intervals: readonly IntervalResult[]): { div: number; unit: string; from: number; to: number } {
  const end = intervals[intervals.length - 1]!;
  const totalMs = end.startMs + end.durationMs;
  const unit = totalMs > 10 * 60_000 ? 'min' : 's';
  const div = unit === 'min' ? 60_000 : 1000;
  const mid = (iv: IntervalResult) => (iv.startMs + iv.durationMs / 2) / div;
  return { div, unit, from: mid(intervals[0]!), to: mid(end) };
}

const COLOURS = { blue: '#1f77b4', orange: '#ff7f0e', green: '#2ca02c', red: '#d62728', purple: '#9467bd' };

/** A chart over time from one value per interval; a gap (nothing completed) repeats the previous value. */
function perInterval(
  intervals: readonly IntervalResult[],
  title: string,
  yTitle: string,
  series: Array<{ name: string; colour: string; value: (iv: IntervalResult) => number | undefined }>,
): string | undefined {
  const lines = series
    .map((s) => {
      let prev: number | undefined;
      const raw = intervals.map(s.value);
      const first = raw.find((v) => v !== undefined);
      if (first === undefined) return undefined;
      return {
        name: s.name,
        colour: s.colour,
        values: raw.map((v) => (v === undefined ? (prev ?? first) : (prev = v))),
      };
    })
    .filter((l): l is { name: string; colour: string; values: number[] } => l !== undefined);
  if (lines.length === 0) return undefined;
  const axis = timeAxis(intervals);
  const top = Math.max(...lines.flatMap((l) => l.values));
  const spec: LineChartSpec = {
    title,
    xTitle: `time (${axis.unit})`,
    x: { from: axis.from, to: axis.to },
    yTitle,
    yMax: top > 0 ? top * 1.05 : 1,
    lines,
  };
  return `<figure class="chart-box">${lineChartSvg(spec)}</figure>`;
}

function fullResolution(run: RunResult, verdict: Verdict): string {
  const intervals = run.intervals;
  const out: string[] = ['<div class="full">'];
  if (intervals.length >= 2) {
    const step = formatDuration(intervals[0]!.durationMs);
    out.push(
      `<h3>Time series at full resolution</h3>`,
      `<p class="meta">${formatCount(intervals.length)} intervals of ${esc(step)}, one point each.</p>`,
    );
    // The comment's time charts, with every interval a point instead of at most 40 merged ones.
    for (const chart of chartsFor(run, verdict, Number.POSITIVE_INFINITY).filter((c) => c.kind !== 'load-p99')) {
      const spec = parseXychart(chart.mermaid);
      if (spec)
        out.push(
          `<figure class="chart-box">${lineChartSvg(spec)}<figcaption>${esc(chart.caption)}</figcaption></figure>`,
        );
    }
    const rps = (iv: IntervalResult) => (iv.durationMs > 0 ? iv.requests / (iv.durationMs / 1000) : undefined);
    const load = perInterval(intervals, 'Load over time', 'per second', [
      { name: 'requests/s served', colour: COLOURS.blue, value: rps },
      { name: 'arrivals/s asked', colour: COLOURS.orange, value: (iv) => iv.targetRate },
    ]);
    if (load) out.push(load);
    const inFlight = perInterval(
      intervals,
      'In flight at the end of each interval',
      run.engine === 'builtin' ? 'requests' : 'VUs',
      [{ name: 'in flight', colour: COLOURS.purple, value: (iv) => iv.concurrency }],
    );
    if (inFlight) out.push(inFlight);
    out.push(details(`Every interval (${formatCount(intervals.length)})`, intervalTable(intervals)));
  }
  if (run.endpoints.length > 0) {
    out.push('<h3>Endpoints</h3>', endpointTable(run));
    const names = run.endpoints.map((e) => e.name).filter((n) => intervals.some((iv) => iv.endpoints?.[n]));
    const shown = names.slice(0, MAX_ENDPOINT_TABLES);
    for (const name of shown) {
      out.push(details(`<code>${esc(name)}</code> per interval`, endpointIntervalTable(intervals, name)));
    }
    if (names.length > shown.length)
      out.push(
        `<p class="meta">${names.length - shown.length} more endpoints have per-interval figures in <code>results.json</code> (<code>run.intervals[].endpoints</code>).</p>`,
      );
  }
  out.push('</div>');
  return out.join('\n');
}

function details(summary: string, body: string): string {
  return `<details class="full-table"><summary>${summary}</summary>\n${body}\n</details>`;
}

const ms = (v: number | undefined) => esc(formatMs(v));

function latencyCells(l: LatencyStats): string {
  return [l.p50, l.p95, l.p99, l.max].map((v) => `<td class="num">${ms(v)}</td>`).join('');
}

function capped<T>(rows: readonly T[]): { rows: readonly T[]; note: string } {
  if (rows.length <= MAX_TABLE_ROWS) return { rows, note: '' };
  return {
    rows: rows.slice(0, MAX_TABLE_ROWS),
    note: `<p class="meta">The first ${formatCount(MAX_TABLE_ROWS)} of ${formatCount(rows.length)} rows; all of them are in <code>results.json</code>.</p>`,
  };
}

function at(iv: IntervalResult): string {
  return esc(formatDuration(iv.startMs));
}

function intervalTable(intervals: readonly IntervalResult[]): string {
  const { rows, note } = capped(intervals);
  const body = rows
    .map((iv) => {
      const rate = iv.durationMs > 0 ? iv.requests / (iv.durationMs / 1000) : undefined;
      const err = iv.requests > 0 ? (iv.errors / iv.requests) * 100 : undefined;
      return `<tr><td>${at(iv)}</td><td class="num">${iv.targetRate === undefined ? MISSING : esc(formatRate(iv.targetRate))}</td><td class="num">${esc(formatCount(iv.requests))}</td><td class="num">${esc(formatRate(rate))}</td><td class="num">${esc(formatCount(iv.errors))}</td><td class="num">${esc(formatPercent(err))}</td>${latencyCells(iv.latency)}<td class="num">${iv.concurrency === undefined ? MISSING : esc(formatCount(iv.concurrency))}</td></tr>`;
    })
    .join('');
  return `<table><thead><tr><th>From</th><th>Asked</th><th>Requests</th><th>Served</th><th>Errors</th><th>Error rate</th><th>p50</th><th>p95</th><th>p99</th><th>max</th><th>In flight</th></tr></thead><tbody>${body}</tbody></table>${note}`;
}

function codes(c: Record<string, number> | undefined): string {
  const list = Object.entries(c ?? {})
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1]);
  return list.length ? list.map(([k, n]) => `${esc(k)}: ${esc(formatCount(n))}`).join(', ') : MISSING;
}

function endpointTable(run: RunResult): string {
  const body = run.endpoints
    .map((e) => {
      const err = e.requests > 0 ? (e.errors / e.requests) * 100 : undefined;
      return `<tr><td><code>${esc(e.name)}</code></td><td class="num">${esc(formatCount(e.requests))}</td><td class="num">${esc(formatCount(e.errors))}</td><td class="num">${esc(formatPercent(err))}</td><td class="num">${ms(e.latency.mean)}</td>${latencyCells(e.latency)}<td>${codes(e.statusCodes)}</td></tr>`;
    })
    .join('');
  return `<table><thead><tr><th>Endpoint</th><th>Requests</th><th>Errors</th><th>Error rate</th><th>mean</th><th>p50</th><th>p95</th><th>p99</th><th>max</th><th>Status codes</th></tr></thead><tbody>${body}</tbody></table>`;
}

function endpointIntervalTable(intervals: readonly IntervalResult[], name: string): string {
  const withIt = intervals.filter((iv) => iv.endpoints?.[name]);
  const { rows, note } = capped(withIt);
  const body = rows
    .map((iv) => {
      const e = iv.endpoints![name] as IntervalEndpoint;
      const err = e.requests > 0 ? (e.errors / e.requests) * 100 : undefined;
      return `<tr><td>${at(iv)}</td><td class="num">${esc(formatCount(e.requests))}</td><td class="num">${esc(formatCount(e.errors))}</td><td class="num">${esc(formatPercent(err))}</td>${latencyCells(e.latency)}<td>${codes(e.statusCodes)}</td></tr>`;
    })
    .join('');
  return `<table><thead><tr><th>From</th><th>Requests</th><th>Errors</th><th>Error rate</th><th>p50</th><th>p95</th><th>p99</th><th>max</th><th>Status codes</th></tr></thead><tbody>${body}</tbody></table>${note}`;
}

// GitHub-like, readable at 1280 px; system fonts only (nothing to fetch).
const STYLE = `
:root { color-scheme: light; }
body { margin: 0; background: #f6f8fa; color: #1f2328; font: 14px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", "Noto Sans", Helvetica, Arial, sans-serif; }
main { max-width: 1220px; margin: 0 auto; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 20px; border-bottom: 1px solid #d1d9e0; padding-bottom: 6px; }
h3 { font-size: 16px; margin-top: 24px; }
.meta { color: #59636e; margin: 4px 0 12px; }
section.test { background: #fff; border: 1px solid #d1d9e0; border-radius: 6px; padding: 8px 24px 24px; margin: 24px 0; }
.test-label { color: #59636e; margin: 8px 0 0; }
table { border-collapse: collapse; margin: 8px 0 16px; display: block; overflow-x: auto; max-width: 100%; }
th, td { border: 1px solid #d1d9e0; padding: 4px 10px; text-align: left; vertical-align: top; }
th { background: #f6f8fa; font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
td[align="right"], th[align="right"] { text-align: right; font-variant-numeric: tabular-nums; }
code { font: 12px ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; background: #eff1f3; padding: 1px 4px; border-radius: 4px; }
pre { background: #f6f8fa; padding: 12px; overflow-x: auto; border-radius: 6px; }
pre code { background: none; padding: 0; }
details { margin: 8px 0; }
summary { cursor: pointer; }
.chart-box { margin: 12px 0; }
figcaption { color: #59636e; font-size: 12px; }
svg.chart { display: block; max-width: 100%; height: auto; background: #fff; }
svg.chart .chart-title { font-size: 14px; font-weight: 600; fill: #1f2328; }
svg.chart .legend, svg.chart .tick { font-size: 11px; fill: #59636e; }
svg.chart .axis-title { font-size: 12px; fill: #59636e; }
svg.chart .grid { stroke: #eaeef2; }
svg.chart .axis { stroke: #8c959f; }
`.trim();
