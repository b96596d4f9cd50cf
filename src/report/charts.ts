// Charts for the PR comment as Mermaid `xychart-beta` blocks, which GitHub renders in comments and job summaries:
// latency percentiles and error rate over time, CPU, memory and database connections beside the request rate when
// sources reported them, and for a stress run p99 against the load. Built from the run's intervals, merging their
// histograms when several intervals share a point (percentiles of percentiles would understate the tail). The syntax kept to what xychart-beta has had since it appeared (title, axes, titled line
// series, an init directive for colours), because GitHub's Mermaid is not always the newest.
import { Histogram } from '../metrics/histogram.js';
import type { InfraMetric, IntervalResult, LatencyStats, RunResult, Verdict } from '../model.js';
import { formatDuration, formatRate } from './format.js';
import { formatInfra } from './infra.js';

/** More points than this and a line chart in a comment turns into noise; neighbours are merged instead. */
export const MAX_POINTS = 40;
/** Fewer points than this make no curve worth a chart. */
export const MIN_POINTS = 3;

// Tableau's blue, orange, red and purple: told apart by most colour-blind readers and readable on GitHub's light
// and dark themes. Tableau's green is left out: next to red it is the pair red-green colour blindness merges.
export const PALETTE = ['#1f77b4', '#ff7f0e', '#d62728', '#9467bd'] as const;
const COLOUR_NAMES = ['blue', 'orange', 'red', 'purple'] as const;

export type ChartKind = 'latency' | 'error-rate' | 'infra' | 'load-p99';

export interface Chart {
  kind: ChartKind;
  title: string;
  /** Series in drawing order, named as in the caption. */
  series: string[];
  /** The Mermaid source, without the code fence. */
  mermaid: string;
  /** One line under the chart: what the colours are and what a point stands for. */
  caption: string;
}

interface Bucket {
  startMs: number;
  endMs: number;
  requests: number;
  errors: number;
  latency: LatencyStats;
}

/** Merges runs of neighbouring intervals so there are at most `max` points, each from merged histograms. */
export function bucketIntervals(intervals: readonly IntervalResult[], max = MAX_POINTS): Bucket[] {
  const size = Math.max(1, Math.ceil(intervals.length / max));
  const out: Bucket[] = [];
  for (let i = 0; i < intervals.length; i += size) {
    const group = intervals.slice(i, i + size);
    out.push(mergeGroup(group));
  }
  return out;
}

function mergeGroup(group: readonly IntervalResult[]): Bucket {
  const first = group[0]!;
  const last = group[group.length - 1]!;
  let requests = 0;
  let errors = 0;
  const h = new Histogram();
  let mergeable = true;
  for (const iv of group) {
    requests += iv.requests;
    errors += iv.errors;
    if (iv.histogram) h.merge(iv.histogram);
    else if (iv.latency.count > 0) mergeable = false;
  }
  // Without histograms only a single interval's own percentiles are exact; for a group, the worst of them is the
  // honest upper bound.
  const latency: LatencyStats = mergeable
    ? h.stats()
    : group.length === 1
      ? first.latency
      : worstOf(group.map((g) => g.latency));
  return { startMs: first.startMs, endMs: last.startMs + last.durationMs, requests, errors, latency };
}

function worstOf(list: LatencyStats[]): LatencyStats {
  const pick = (k: 'p50' | 'p95' | 'p99'): number | undefined => {
    const vals = list.map((l) => l[k]).filter((v): v is number => v !== undefined);
    return vals.length ? Math.max(...vals) : undefined;
  };
  const out: LatencyStats = { count: list.reduce((n, l) => n + l.count, 0) };
  for (const k of ['p50', 'p95', 'p99'] as const) {
    const v = pick(k);
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/** Numbers as Mermaid reads them: plain decimals, no grouping, at most three significant decimals. */
function n(v: number): string {
  if (!Number.isFinite(v)) return '0';
  const abs = Math.abs(v);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : abs >= 1 ? 2 : 3;
  return String(Number(v.toFixed(digits)));
}

/** A round upper bound for the y axis, so the axis starts at 0 and ends on a readable number. */
export function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const exp = 10 ** Math.floor(Math.log10(v));
  // 5 % headroom, so the highest point does not sit on the frame.
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 12]) if (m * exp >= v * 1.05) return Number((m * exp).toPrecision(3));
  return 12 * exp;
}

/** Text inside Mermaid double quotes: they cannot be escaped there, so they are replaced. */
function q(text: string): string {
  return `"${text.replace(/"/g, "'").replace(/[\r\n]+/g, ' ')}"`;
}

function header(colours: number): string {
  const palette = PALETTE.slice(0, colours).join(', ');
  return `%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "${palette}"}}}}%%`;
}

/** Fills the gaps (buckets where nothing completed) with the previous value; says whether it had to. */
function carryForward(values: Array<number | undefined>): { values: number[]; filled: boolean } {
  let prev: number | undefined;
  let filled = false;
  const firstKnown = values.find((v) => v !== undefined) ?? 0;
  const out = values.map((v) => {
    if (v !== undefined) {
      prev = v;
      return v;
    }
    filled = true;
    return prev ?? firstKnown;
  });
  return { values: out, filled };
}

function timeAxis(buckets: readonly Bucket[]): { line: string; unit: 's' | 'min'; step: string } {
  const first = buckets[0]!;
  const last = buckets[buckets.length - 1]!;
  const totalMs = last.endMs;
  const unit = totalMs > 10 * 60_000 ? 'min' : 's';
  const div = unit === 'min' ? 60_000 : 1000;
  // Points are drawn evenly from the first to the last value of the range: the buckets' middles.
  const from = (first.startMs + first.endMs) / 2 / div;
  const to = (last.startMs + Math.min(last.endMs, last.startMs + (first.endMs - first.startMs))) / 2 / div;
  return {
    line: `  x-axis ${q(`time (${unit})`)} ${n(from)} --> ${n(Math.max(to, from + 1e-3))}`,
    unit,
    step: formatDuration(first.endMs - first.startMs),
  };
}

function latencyChart(buckets: readonly Bucket[]): Chart | undefined {
  if (buckets.filter((b) => b.latency.p99 !== undefined).length < MIN_POINTS) return undefined;
  const series = ['p50', 'p95', 'p99'] as const;
  const lines = series.map((k) => carryForward(buckets.map((b) => b.latency[k])));
  const top = Math.max(...lines.flatMap((l) => l.values));
  const filled = lines.some((l) => l.filled);
  const axis = timeAxis(buckets);
  const mermaid = [
    header(3),
    'xychart-beta',
    `  title ${q('Latency over time')}`,
    axis.line,
    `  y-axis ${q('latency (ms)')} 0 --> ${n(niceMax(top))}`,
    ...series.map((k, i) => `  line ${q(k)} [${lines[i]!.values.map(n).join(', ')}]`),
  ].join('\n');
  const caption =
    `Latency per ${axis.step}: ${series.map((k, i) => `${k} ${COLOUR_NAMES[i]}`).join(', ')}.` +
    (filled ? ' Where nothing completed, the previous value is repeated.' : '');
  return { kind: 'latency', title: 'Latency over time', series: [...series], mermaid, caption };
}

function errorChart(buckets: readonly Bucket[]): Chart | undefined {
  if (buckets.filter((b) => b.requests > 0).length < MIN_POINTS) return undefined;
  const { values, filled } = carryForward(buckets.map((b) => (b.requests > 0 ? (b.errors / b.requests) * 100 : undefined)));
  const top = Math.max(...values);
  const axis = timeAxis(buckets);
  const mermaid = [
    header(3),
    'xychart-beta',
    `  title ${q('Error rate over time')}`,
    axis.line,
    // A percentage never goes past 100: no headroom above it.
    `  y-axis ${q('errors (%)')} 0 --> ${n(top > 0 ? Math.min(100, niceMax(top)) : 1)}`,
    `  line ${q('error rate')} [${values.map(n).join(', ')}]`,
  ].join('\n');
  const caption =
    `Errors as a percentage of the requests completed in each ${axis.step}.` +
    (filled ? ' Where nothing completed, the previous value is repeated.' : '');
  return { kind: 'error-rate', title: 'Error rate over time', series: ['error rate'], mermaid, caption };
}

/** The infrastructure metrics drawn beside the load, in drawing order: the ones a saturating service runs out of. */
export const INFRA_CHART_METRICS = ['cpu', 'memory', 'db_connections'] as const;

/**
 * A metric's value over one bucket: the mean of its samples inside the bucket, else the last sample before it.
 * Holding the last value is what the sources mean: a CloudWatch datapoint covers the period that starts at its
 * timestamp, and Prometheus and PostgreSQL samples stand until the next one. Undefined before the first sample.
 */
export function infraValueAt(series: ReadonlyArray<readonly [number, number]>, startMs: number, endMs: number): number | undefined {
  let sum = 0;
  let count = 0;
  let before: [number, number] | undefined;
  for (const [t, v] of series) {
    if (!Number.isFinite(v)) continue;
    if (t >= startMs && t < endMs) {
      sum += v;
      count++;
    } else if (t < startMs && (before === undefined || t >= before[0])) before = [t, v];
  }
  return count > 0 ? sum / count : before?.[1];
}

/**
 * CPU, memory and database connections over the run beside the request rate, on the same time axis as the other
 * charts. xychart-beta has one y axis, so everything is a percentage: CPU and memory as reported, connections as a
 * percentage of their limit (max_connections), and the request rate as a percentage of its own peak, which the
 * caption gives in requests/s so the scale can be read back.
 */
function infraChart(run: RunResult, buckets: readonly Bucket[]): Chart | undefined {
  const rates = buckets.map((b) => (b.endMs > b.startMs ? b.requests / ((b.endMs - b.startMs) / 1000) : 0));
  const peak = Math.max(...rates);
  if (!(peak > 0)) return undefined;
  const metrics = INFRA_CHART_METRICS.map((name) => run.infra?.find((m) => m.name.toLowerCase() === name))
    .filter((m): m is InfraMetric => m !== undefined && !m.unavailable && (m.series?.length ?? 0) > 0)
    .slice(0, PALETTE.length - 1);

  const lines: Array<{ name: string; values: number[]; how: string }> = [
    { name: 'request rate (% of peak)', values: rates.map((r) => (r / peak) * 100), how: `100 % = its peak of ${formatRate(peak)}` },
  ];
  let filled = false;
  for (const m of metrics) {
    const raw = buckets.map((b) => infraValueAt(m.series!, b.startMs, b.endMs));
    if (raw.every((v) => v === undefined)) continue;
    const label = m.name.replace(/_/g, ' ');
    let scale: (v: number) => number;
    let name: string;
    let how: string;
    if (m.unit === '%') {
      scale = (v) => v;
      name = `${label} (%)`;
      how = 'in %';
    } else if (m.limit !== undefined && m.limit > 0) {
      const limit = m.limit;
      scale = (v) => (v / limit) * 100;
      name = `${label} (% of max)`;
      how = `% of its limit of ${formatInfra(limit, m.unit)}`;
    } else {
      // No limit to compare with: its own peak, like the request rate, so the shape still shows.
      const top = Math.max(...raw.filter((v): v is number => v !== undefined));
      if (!(top > 0)) continue;
      scale = (v) => (v / top) * 100;
      name = `${label} (% of peak)`;
      how = `100 % = its peak of ${formatInfra(top, m.unit)}`;
    }
    const carried = carryForward(raw.map((v) => (v === undefined ? undefined : scale(v))));
    filled ||= carried.filled;
    lines.push({ name, values: carried.values, how });
  }
  if (lines.length < 2) return undefined;

  const top = Math.max(...lines.flatMap((l) => l.values));
  const axis = timeAxis(buckets);
  const mermaid = [
    header(lines.length),
    'xychart-beta',
    `  title ${q('Infrastructure against load')}`,
    axis.line,
    // A container can use more than its CPU reservation: the axis grows past 100 % only then.
    `  y-axis ${q('percent')} 0 --> ${n(top > 100 ? niceMax(top) : 100)}`,
    ...lines.map((l) => `  line ${q(l.name)} [${l.values.map(n).join(', ')}]`),
  ].join('\n');
  const caption =
    `Per ${axis.step}, on one percentage axis: ` +
    lines.map((l, i) => `${l.name.replace(/ \(.*\)$/, '')} ${COLOUR_NAMES[i]} (${l.how})`).join(', ') +
    '. A metric keeps its last sample until the next one (CloudWatch sends one per period).' +
    (filled ? ' Before its first sample a metric shows its first value.' : '');
  return { kind: 'infra', title: 'Infrastructure against load', series: lines.map((l) => l.name), mermaid, caption };
}

/**
 * p99 against the load actually served, for a stress run: the intervals are grouped by their request rate (not
 * by time, since a breaking service can serve less while asked for more), and each group's histograms merged.
 */
function loadChart(intervals: readonly IntervalResult[]): Chart | undefined {
  const points = intervals
    .filter((iv) => iv.requests > 0 && iv.durationMs > 0)
    .map((iv) => ({ rps: iv.requests / (iv.durationMs / 1000), iv }));
  if (points.length < MIN_POINTS) return undefined;
  const lo = Math.min(...points.map((p) => p.rps));
  const hi = Math.max(...points.map((p) => p.rps));
  // Categories are labelled one by one under the axis: more than a dozen run into each other at comment width.
  const binCount = Math.min(12, points.length);
  const width = (hi - lo) / binCount || 1;
  const bins = new Map<string, { sum: number; n: number; ivs: IntervalResult[] }>();
  for (const p of points) {
    const i = Math.min(binCount - 1, Math.floor((p.rps - lo) / width));
    const key = String(i).padStart(3, '0');
    const bin = bins.get(key) ?? { sum: 0, n: 0, ivs: [] };
    bin.sum += p.rps;
    bin.n++;
    bin.ivs.push(p.iv);
    bins.set(key, bin);
  }
  // Labels are the bins' mean load; two bins rounding to the same label are merged, as Mermaid needs unique ones.
  const byLabel = new Map<string, IntervalResult[]>();
  for (const key of [...bins.keys()].sort()) {
    const bin = bins.get(key)!;
    const mean = bin.sum / bin.n;
    const label = mean >= 10 ? String(Math.round(mean)) : n(mean);
    byLabel.set(label, [...(byLabel.get(label) ?? []), ...bin.ivs]);
  }
  const rows = [...byLabel.entries()]
    .map(([label, ivs]) => ({ label, p99: mergeGroup(ivs).latency.p99 }))
    .filter((r): r is { label: string; p99: number } => r.p99 !== undefined);
  if (rows.length < MIN_POINTS) return undefined;
  const top = Math.max(...rows.map((r) => r.p99));
  const mermaid = [
    header(3),
    'xychart-beta',
    `  title ${q('p99 latency against load')}`,
    `  x-axis ${q('load (requests/s)')} [${rows.map((r) => q(r.label)).join(', ')}]`,
    `  y-axis ${q('p99 (ms)')} 0 --> ${n(niceMax(top))}`,
    `  line ${q('p99')} [${rows.map((r) => n(r.p99)).join(', ')}]`,
  ].join('\n');
  return {
    kind: 'load-p99',
    title: 'p99 latency against load',
    series: ['p99'],
    mermaid,
    caption: 'p99 of the intervals grouped by the request rate they served (histograms merged per group).',
  };
}

/** The charts a run supports: none when it has fewer than three intervals with data. */
export function chartsFor(run: RunResult): Chart[] {
  const intervals = run.intervals;
  if (intervals.length < MIN_POINTS) return [];
  const buckets = bucketIntervals(intervals);
  const out = [latencyChart(buckets), errorChart(buckets), infraChart(run, buckets)];
  if (run.analysis?.stress) out.push(loadChart(intervals));
  return out.filter((c): c is Chart => c !== undefined);
}

/** Fewer points than this (earlier runs plus this one) draw no trend worth a chart. */
const MIN_TREND_POINTS = 3;

/**
 * p99 and error rate of the earlier comparable runs, as the history recorded them (Verdict.baseline.trend), and
 * of this run: a slow drift over many merges shows here even when no single comparison crosses a tolerance.
 */
export function trendMarkdown(verdict: Pick<Verdict, 'baseline'>, run: Pick<RunResult, 'latency' | 'errorRate'>): string | undefined {
  const trend = verdict.baseline?.trend ?? [];
  if (trend.length + 1 < MIN_TREND_POINTS) return undefined;
  const axis = `  x-axis [${[...trend.map((p) => (p.sha ? p.sha.slice(0, 7) : p.createdAt.slice(5, 10))), 'this run'].map(q).join(', ')}]`;
  const chart = (title: string, yTitle: string, values: Array<number | undefined>, cap = Infinity): string | undefined => {
    if (values.filter((v) => v !== undefined).length < MIN_TREND_POINTS) return undefined;
    const line = carryForward(values).values;
    const top = Math.max(...line);
    const mermaid = [
      header(1),
      'xychart-beta',
      `  title ${q(title)}`,
      axis,
      `  y-axis ${q(yTitle)} 0 --> ${n(top > 0 ? Math.min(cap, niceMax(top)) : 1)}`,
      `  line ${q(title)} [${line.map(n).join(', ')}]`,
    ].join('\n');
    return `\`\`\`mermaid\n${mermaid}\n\`\`\``;
  };
  const charts = [
    chart('p99 latency over the last runs', 'p99 (ms)', [...trend.map((p) => p.p99), run.latency.p99]),
    chart('Error rate over the last runs', 'errors (%)', [...trend.map((p) => p.errorRate), run.errorRate], 100),
  ].filter((c): c is string => c !== undefined);
  if (charts.length === 0) return undefined;
  const runs = trend.length === 1 ? 'run' : 'runs';
  return (
    `#### Trend\n\n${charts.join('\n\n')}\n\n` +
    `_The ${trend.length} comparable recorded ${runs} up to the baseline (from ${trend[0]!.createdAt.slice(0, 10)}), by commit, then this run. ` +
    'A run without the figure repeats the previous value._'
  );
}

/** The charts as a Markdown section; undefined when there is nothing to draw. */
export function chartsMarkdown(run: RunResult): string | undefined {
  const charts = chartsFor(run);
  if (charts.length === 0) return undefined;
  const steady = run.analysis?.steady?.windows ?? [];
  const note = steady.length
    ? `\n\n_Steady part: ${steady.map((w) => `${formatDuration(w.startMs)} – ${formatDuration(w.endMs)}`).join(', ')} into the run._`
    : '';
  const blocks = charts.map((c) => `\`\`\`mermaid\n${c.mermaid}\n\`\`\`\n\n_${c.caption}_`);
  return `### Charts\n\n${blocks.join('\n\n')}${note}`;
}
