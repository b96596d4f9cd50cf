// Charts for the PR comment as Mermaid `xychart-beta` blocks, which GitHub renders in comments and job summaries:
// latency percentiles and error rate over time, CPU, memory and database connections beside the request rate when
// sources reported them, and for a stress run p99 against the load. Built from the run's intervals, merging their
// histograms when several intervals share a point (percentiles of percentiles would understate the tail). The syntax kept to what xychart-beta has had since it appeared (title, axes, titled line
// series, an init directive for colours), because GitHub's Mermaid is not always the newest.
import { Histogram } from '../metrics/histogram.js';
import type { InfraMetric, IntervalResult, LatencyStats, RunResult, Target, Verdict } from '../model.js';
import { formatDuration, formatMs, formatPercent, formatRate } from '../format.js';
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
  // One interval is its own point: its figures are already those of its histogram (report.html draws every interval
  // of an hour-long run, where a merge per point would cost seconds).
  if (group.length === 1)
    return {
      startMs: first.startMs,
      endMs: first.startMs + first.durationMs,
      requests: first.requests,
      errors: first.errors,
      latency: first.latency,
    };
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
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10, 12])
    if (m * exp >= v * 1.05) return Number((m * exp).toPrecision(3));
  return 12 * exp;
}

/** Text inside Mermaid double quotes: they cannot be escaped there, so they are replaced. */
function q(text: string): string {
  return `"${text.replace(/"/g, "'").replace(/[\r\n]+/g, ' ')}"`;
}

function header(colours: number | readonly string[]): string {
  const palette = (typeof colours === 'number' ? PALETTE.slice(0, colours) : colours).join(', ');
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

/** The upper limit a run's target sets on a metric (`p99 < 500ms` -> 500), for a target line. */
function limitOf(targets: readonly Target[], metric: string): number | undefined {
  return targets.find((t) => t.metric === metric && (t.op === '<' || t.op === '<='))?.value;
}

/** A target line is drawn when it falls on a chart that still shows the data (not 20 times above it). */
const TARGET_LINE_SPAN = 4;

function latencyChart(buckets: readonly Bucket[], targets: readonly Target[]): Chart | undefined {
  if (buckets.filter((b) => b.latency.p99 !== undefined).length < MIN_POINTS) return undefined;
  const all = ['p50', 'p95', 'p99'] as const;
  const raw = all.map((k) => carryForward(buckets.map((b) => b.latency[k])));
  // A series equal to the one above it at every point would hide under it (p95 = p99 in a short quiet run): it is
  // drawn once and the caption says so, rather than promising a line nobody can see.
  const same = (i: number, j: number): boolean => raw[i]!.values.every((v, k) => n(v) === n(raw[j]!.values[k]!));
  const merged: Array<{ name: string; values: number[]; filled: boolean }> = [];
  const equalNotes: string[] = [];
  let chain: string[] = [];
  for (let i = 0; i < all.length; i++) {
    chain.push(all[i]!);
    if (i < all.length - 1 && same(i, i + 1)) {
      equalNotes.push(`${all[i]} equals ${all[i + 1]} at every point`);
      continue;
    }
    merged.push({ name: chain.join(' = '), values: raw[i]!.values, filled: raw[i]!.filled });
    chain = [];
  }
  const top = Math.max(...merged.flatMap((l) => l.values));
  const limitMetric = (['p99', 'p95', 'p50'] as const).find((m) => limitOf(targets, m) !== undefined);
  const limit = limitMetric ? limitOf(targets, limitMetric)! : undefined;
  const drawLimit = limit !== undefined && limit <= top * TARGET_LINE_SPAN;
  const lines = drawLimit
    ? [...merged, { name: `${limitMetric} target ${formatMs(limit)}`, values: buckets.map(() => limit), filled: false }]
    : merged;
  const axisTop = Math.max(top, drawLimit ? limit : 0);
  const axis = timeAxis(buckets);
  const colours = latencyColours(
    merged.map((m) => m.name),
    drawLimit,
  );
  const mermaid = [
    header(colours.map((c) => PALETTE[c]!)),
    'xychart-beta',
    `  title ${q('Latency over time')}`,
    axis.line,
    `  y-axis ${q('latency (ms)')} 0 --> ${n(niceMax(axisTop))}`,
    ...lines.map((l) => `  line ${q(l.name)} [${l.values.map(n).join(', ')}]`),
  ].join('\n');
  const limitNote =
    limit === undefined
      ? ''
      : drawLimit
        ? ''
        : ` The ${limitMetric} target (${formatMs(limit)}) is far above every point, so it is not drawn.`;
  const caption =
    `Latency per ${axis.step}: ${lines.map((l, i) => `${l.name} ${COLOUR_NAMES[colours[i]!]}`).join(', ')}.` +
    (equalNotes.length > 0 ? ` ${capital(equalNotes.join('; '))}, so one line shows both.` : '') +
    limitNote +
    (merged.some((l) => l.filled) ? ' Where nothing completed, the previous value is repeated.' : '');
  return { kind: 'latency', title: 'Latency over time', series: lines.map((l) => l.name), mermaid, caption };
}

/** Colours by meaning, not by position: p50 blue, p95 orange, p99 red, a target purple, whatever is merged. */
function latencyColours(names: readonly string[], target: boolean): number[] {
  const colour = (name: string): number => (name.endsWith('p99') ? 2 : name.endsWith('p95') ? 1 : 0);
  return [...names.map(colour), ...(target ? [3] : [])];
}

function capital(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Index of the bucket that contains `ms` (the last one for a time past the end). */
function bucketAt(buckets: readonly Bucket[], ms: number): number {
  const i = buckets.findIndex((b) => ms >= b.startMs && ms < b.endMs);
  return i === -1 ? buckets.length - 1 : i;
}

/**
 * A mark at one moment of a time chart: xychart-beta has no annotations, so it is a line along the floor that
 * steps up to the top of the chart at the mark and stays there. Read: "from here on".
 */
function stepLine(buckets: readonly Bucket[], ms: number, top: number): number[] {
  const at = bucketAt(buckets, ms);
  return buckets.map((_, i) => (i >= at ? top : 0));
}

function errorChart(buckets: readonly Bucket[], run: RunResult, targets: readonly Target[]): Chart | undefined {
  if (buckets.filter((b) => b.requests > 0).length < MIN_POINTS) return undefined;
  const { values, filled } = carryForward(
    buckets.map((b) => (b.requests > 0 ? (b.errors / b.requests) * 100 : undefined)),
  );
  // A flat line at zero says nothing a sentence cannot: the summary line says "no errors" instead.
  if (values.every((v) => v === 0)) return undefined;
  const top = Math.max(...values);
  const limit = limitOf(targets, 'error_rate') ?? run.analysis?.stress?.errorLimitPercent;
  const drawLimit = limit !== undefined && limit <= top * TARGET_LINE_SPAN;
  const axisTop = top > 0 ? Math.min(100, niceMax(Math.max(top, drawLimit ? limit : 0))) : 1;
  const lines: Array<{ name: string; values: number[]; colour: number; says: string }> = [
    { name: 'error rate', values, colour: 0, says: 'error rate blue' },
  ];
  if (drawLimit)
    lines.push({
      name: `limit ${formatPercent(limit)}`,
      values: buckets.map(() => limit),
      colour: 1,
      says: `the ${formatPercent(limit)} limit orange`,
    });
  const bp = run.analysis?.stress?.breakingPoint;
  if (bp)
    lines.push({
      name: 'breaking point',
      values: stepLine(buckets, bp.atMs, axisTop),
      colour: 2,
      says: `the breaking point (${formatDuration(bp.atMs)}) where the red line steps up`,
    });
  const stop = run.analysis?.stoppedEarly;
  if (stop)
    lines.push({
      name: 'stopped',
      values: stepLine(buckets, Math.max(0, stop.atMs - 1), axisTop),
      colour: 3,
      says: `the abort (${formatDuration(stop.atMs)}) where the purple line steps up`,
    });
  const axis = timeAxis(buckets);
  const mermaid = [
    header(lines.map((l) => PALETTE[l.colour]!)),
    'xychart-beta',
    `  title ${q('Error rate over time')}`,
    axis.line,
    // A percentage never goes past 100: no headroom above it.
    `  y-axis ${q('errors (%)')} 0 --> ${n(axisTop)}`,
    ...lines.map((l) => `  line ${q(l.name)} [${l.values.map(n).join(', ')}]`),
  ].join('\n');
  const caption =
    `Errors as a percentage of the requests completed in each ${axis.step}: ${lines.map((l) => l.says).join(', ')}.` +
    (filled ? ' Where nothing completed, the previous value is repeated.' : '');
  return { kind: 'error-rate', title: 'Error rate over time', series: lines.map((l) => l.name), mermaid, caption };
}

/** The infrastructure metrics drawn beside the load, in drawing order: the ones a saturating service runs out of. */
export const INFRA_CHART_METRICS = ['cpu', 'memory', 'db_connections'] as const;

/**
 * A metric's value over one bucket: the mean of its samples inside the bucket, else the last sample before it.
 * Holding the last value is what the sources mean: a CloudWatch datapoint covers the period that starts at its
 * timestamp, and Prometheus and PostgreSQL samples stand until the next one. Undefined before the first sample.
 */
export function infraValueAt(
  series: ReadonlyArray<readonly [number, number]>,
  startMs: number,
  endMs: number,
): number | undefined {
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
    {
      name: 'request rate (% of peak)',
      values: rates.map((r) => (r / peak) * 100),
      how: `100 % = its peak of ${formatRate(peak)}`,
    },
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
function loadChart(
  intervals: readonly IntervalResult[],
  run: RunResult,
  targets: readonly Target[],
): Chart | undefined {
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
  const stress = run.analysis?.stress;
  const mark = (rps: number | undefined): string | undefined => {
    if (rps === undefined) return undefined;
    let best: string | undefined;
    let dist = Infinity;
    for (const [label, ivs] of byLabel) {
      const mean = ivs.reduce((sum, iv) => sum + iv.requests / (iv.durationMs / 1000), 0) / ivs.length;
      if (Math.abs(mean - rps) < dist) {
        dist = Math.abs(mean - rps);
        best = label;
      }
    }
    return best;
  };
  const capacityAt = mark(stress?.capacity?.rps);
  const breakAt = mark(stress?.breakingPoint?.rps);
  const rows = [...byLabel.entries()]
    .map(([label, ivs]) => {
      // One character each: a longer label runs into its neighbours at comment width.
      const marks = `${label === capacityAt ? '◆' : ''}${label === breakAt ? '✕' : ''}`;
      return { label: marks ? `${label} ${marks}` : label, p99: mergeGroup(ivs).latency.p99 };
    })
    .filter((r): r is { label: string; p99: number } => r.p99 !== undefined);
  if (rows.length < MIN_POINTS) return undefined;
  const top = Math.max(...rows.map((r) => r.p99));
  const limit = limitOf(targets, 'p99');
  const drawLimit = limit !== undefined && limit <= top * TARGET_LINE_SPAN;
  const mermaid = [
    header(drawLimit ? 2 : 1),
    'xychart-beta',
    `  title ${q('p99 latency against load')}`,
    `  x-axis ${q('load (requests/s)')} [${rows.map((r) => q(r.label)).join(', ')}]`,
    `  y-axis ${q('p99 (ms)')} 0 --> ${n(niceMax(Math.max(top, drawLimit ? limit : 0)))}`,
    `  line ${q('p99')} [${rows.map((r) => n(r.p99)).join(', ')}]`,
    ...(drawLimit ? [`  line ${q(`p99 target ${formatMs(limit)}`)} [${rows.map(() => n(limit)).join(', ')}]`] : []),
  ].join('\n');
  const marked = [
    capacityAt ? '◆ marks the capacity at the targets' : '',
    breakAt ? '✕ the breaking point' : '',
  ].filter(Boolean);
  return {
    kind: 'load-p99',
    title: 'p99 latency against load',
    series: drawLimit ? ['p99', `p99 target ${formatMs(limit)}`] : ['p99'],
    mermaid,
    caption:
      `p99 (blue) of the intervals grouped by the request rate they served (histograms merged per group)` +
      (drawLimit ? `; the ${formatMs(limit)} target orange` : '') +
      (marked.length ? `; on the load axis, ${marked.join(' and ')}` : '') +
      '.',
  };
}

/** The charts a run supports: none when it has fewer than three intervals with data. */
export function chartsFor(run: RunResult, verdict?: Pick<Verdict, 'targets'>, maxPoints = MAX_POINTS): Chart[] {
  const intervals = run.intervals;
  if (intervals.length < MIN_POINTS) return [];
  const targets = (verdict?.targets ?? []).filter((t) => t.origin !== 'tool' && !t.rhs).map((t) => t.target);
  // The comment merges intervals into at most MAX_POINTS points; report.html asks for every interval.
  const buckets = bucketIntervals(intervals, maxPoints);
  const out = [latencyChart(buckets, targets), errorChart(buckets, run, targets), infraChart(run, buckets)];
  if (run.analysis?.stress) out.push(loadChart(intervals, run, targets));
  return out.filter((c): c is Chart => c !== undefined);
}

/** Fewer points than this (earlier runs plus this one) draw no trend worth a chart. */
const MIN_TREND_POINTS = 3;

/**
 * p99 and error rate of the earlier comparable runs, as the history recorded them (Verdict.baseline.trend), and
 * of this run: a slow drift over many merges shows here even when no single comparison crosses a tolerance.
 */
export function trendMarkdown(
  verdict: Pick<Verdict, 'baseline'>,
  run: Pick<RunResult, 'latency' | 'errorRate'>,
): string | undefined {
  const trend = verdict.baseline?.trend ?? [];
  if (trend.length + 1 < MIN_TREND_POINTS) return undefined;
  // Labels must differ (Mermaid merges equal ones into one tick): the short commit, numbered when commits repeat
  // or are unknown.
  const raw = trend.map((p) => (p.sha ? p.sha.slice(0, 7) : undefined));
  const labels = raw.map((l, i) =>
    l === undefined || raw.filter((x) => x === l).length > 1 ? `#${i + 1}${l ? ` ${l}` : ''}` : l,
  );
  const axis = `  x-axis [${[...labels, 'this run'].map(q).join(', ')}]`;
  const chart = (
    title: string,
    yTitle: string,
    values: Array<number | undefined>,
    cap = Infinity,
  ): string | undefined => {
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
    `_The ${trend.length} comparable recorded ${runs} up to the baseline (from ${trend[0]!.createdAt.slice(0, 10)}), by commit (numbered #1, #2, ... where a commit ran more than once), then this run. ` +
    'A run without the figure repeats the previous value._'
  );
}

/** The charts as Markdown, their titles for the summary line, and a flag when a chart shows a target broken. */
export function chartsMarkdown(
  run: RunResult,
  verdict?: Pick<Verdict, 'targets'>,
): { markdown: string; titles: string[]; flag: string } | undefined {
  const charts = chartsFor(run, verdict);
  if (charts.length === 0) return undefined;
  const steady = run.analysis?.steady?.windows ?? [];
  const note = steady.length
    ? `\n\n_Steady part: ${steady.map((w) => `${formatDuration(w.startMs)} – ${formatDuration(w.endMs)}`).join(', ')} into the run._`
    : '';
  const quiet =
    run.intervals.length >= MIN_POINTS && !charts.some((c) => c.kind === 'error-rate') && run.errors === 0
      ? '\n\n_No errors in any interval: no error-rate chart._'
      : '';
  const blocks = charts.map((c) => `\`\`\`mermaid\n${c.mermaid}\n\`\`\`\n\n_${c.caption}_`);
  const flag = run.analysis?.stress?.breakingPoint ? ' (breaking point marked)' : '';
  return { markdown: `${blocks.join('\n\n')}${note}${quiet}`, titles: charts.map((c) => c.title.toLowerCase()), flag };
}
