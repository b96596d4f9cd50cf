// The Mermaid charts of the report: built from the intervals, kept in the size tiers, and checked to render. The
// render check uses the real `mermaid` package twice: its parser under jsdom (fast, no browser), and a full render
// to SVG in Debian's headless Chromium driven by playwright-core, asserting the series come out as lines. Locally a
// missing browser or package skips those checks; on CI (CI set) it fails, so a green CI means charts that render.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Histogram } from '../src/metrics/histogram.js';
import type { InfraMetric, IntervalResult, RunResult, TargetResult, Verdict } from '../src/model.js';
import { analyzeRun } from '../src/phases/analysis.js';
import {
  bucketIntervals,
  chartsFor,
  chartsMarkdown,
  infraValueAt,
  MAX_POINTS,
  niceMax,
  PALETTE,
} from '../src/report/charts.js';
import { renderReport, renderReportWithTier, type ReportInput } from '../src/report/markdown.js';
import {
  CHROMIUM,
  launchChromium,
  MERMAID_BUNDLE,
  skipOrFail,
  tryImport,
  type Browser,
  type Playwright,
} from './helpers/chromium.js';

/** A stress-like run: load climbs from 20 to 200/s over `n` one-second intervals; errors and latency grow past 120/s. */
function stressRun(n = 90): RunResult {
  const intervals: IntervalResult[] = [];
  const total = new Histogram();
  let requests = 0;
  let errors = 0;
  for (let i = 0; i < n; i++) {
    const rate = 20 + (180 * i) / (n - 1);
    const over = Math.max(0, rate - 120) / 120;
    const h = new Histogram();
    const count = Math.round(rate);
    for (let k = 0; k < count; k++) h.recordMs(5 + over * 200 * (k / count) + (k % 10));
    const errs = Math.round(count * Math.min(0.9, over * 2));
    intervals.push({
      startMs: i * 1000,
      durationMs: 1000,
      targetRate: rate,
      arrivalsStarted: count,
      requests: count,
      errors: errs,
      concurrency: Math.round(rate / 20),
      latency: h.stats(),
      histogram: h.toJSON(),
    });
    total.merge(h);
    requests += count;
    errors += errs;
  }
  const run: RunResult = {
    schemaVersion: 1,
    engine: 'builtin',
    phase: 'stress',
    startedAt: '2025-01-01T00:00:00.000Z',
    endedAt: '2025-01-01T00:01:30.000Z',
    durationMs: n * 1000,
    requests,
    errors,
    errorsByKind: { http_5xx: errors },
    statusCodes: { '200': requests - errors, '503': errors },
    errorRate: (errors / requests) * 100,
    throughputRps: requests / n,
    latency: total.stats(),
    histogram: total.toJSON(),
    endpoints: [],
    intervals,
    intervalMs: 1000,
    generator: {
      valid: true,
      invalidReasons: [],
      arrivalsScheduled: requests,
      arrivalsStarted: requests,
      arrivalsDropped: 0,
    },
    customMetrics: {},
    toolThresholds: [],
    notes: [],
    shape: { stages: [{ durationMs: n * 1000, startRate: 20, endRate: 200, name: 'ramp-up' }], peakRate: 200 },
  };
  analyzeRun(run, { stages: run.shape!.stages, decideOn: 'steady', analyses: ['stress'], targets: [] });
  return run;
}

const verdict: Verdict = { status: 'pass', failsCheck: false, targets: [], reasons: [] };

/** The run with infrastructure metrics from the report fixtures (Prometheus CPU and memory, PostgreSQL, CloudWatch). */
function infraRun(): RunResult {
  const url = new URL('./fixtures/runs/infra-sustained.json', import.meta.url);
  return (JSON.parse(readFileSync(url, 'utf8')) as { run: RunResult }).run;
}

/** `n` one-second intervals of `rate(i)` requests each, for checking what the infrastructure chart lines up. */
function flatRun(n: number, rate: (i: number) => number, infra: InfraMetric[]): RunResult {
  const run = stressRun(n);
  run.intervals = run.intervals.map((iv, i) => ({ ...iv, requests: rate(i), errors: 0 }));
  run.infra = infra;
  return run;
}

function metric(name: string, series: Array<[number, number]>, extra: Partial<InfraMetric> = {}): InfraMetric {
  return { name, source: 'prometheus', query: name, unit: '%', stats: {}, series, ...extra };
}

/** A line's values by series name. */
function values(source: string, name: string): number[] {
  const m = new RegExp(`^ {2}line "${name.replace(/[()%]/g, '\\$&')}" \\[(.*)\\]$`, 'm').exec(source);
  if (!m) throw new Error(`no line "${name}" in\n${source}`);
  return m[1]!.split(', ').map(Number);
}

function reportInput(run: RunResult): ReportInput {
  return { run, verdict, commentHeader: 'perf-gate', engine: 'builtin', phase: run.phase, resultsFile: 'results.json' };
}

/** The ```mermaid blocks of a Markdown document. */
function mermaidBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```mermaid\n([\s\S]*?)\n```/g)].map((m) => m[1]!);
}

/** `line "p99" [1, 2, 3]` -> {name: p99, points: 3}, in order. */
function lineSeries(source: string): Array<{ name: string; points: number }> {
  return [...source.matchAll(/^ {2}line "([^"]+)" \[([^\]]*)\]$/gm)].map((m) => ({
    name: m[1]!,
    points: m[2]!.split(',').length,
  }));
}

describe('charts from intervals', () => {
  it('draws latency and error rate over time, and p99 against load for a stress run', () => {
    const charts = chartsFor(stressRun());
    expect(charts.map((c) => c.kind)).toEqual(['latency', 'error-rate', 'load-p99']);
    const [latency, errors, load] = charts;
    expect(lineSeries(latency!.mermaid).map((s) => s.name)).toEqual(['p50', 'p95', 'p99']);
    expect(latency!.mermaid).toMatch(/^%%\{init: .*"plotColorPalette": "#1f77b4, #ff7f0e, #d62728"/);
    expect(latency!.mermaid).toContain('\nxychart-beta\n');
    expect(latency!.mermaid).toMatch(/ {2}y-axis "latency \(ms\)" 0 --> \d+/);
    expect(latency!.caption).toBe('Latency per 3 s: p50 blue, p95 orange, p99 red.');
    // The error rate, the 0.5 % limit the breaking point is judged on, and the breaking point as a step.
    expect(lineSeries(errors!.mermaid)).toEqual([
      { name: 'error rate', points: 30 },
      { name: 'limit 0.5 %', points: 30 },
      { name: 'breaking point', points: 30 },
    ]);
    const bp = stressRun().analysis!.stress!.breakingPoint!;
    const step = values(errors!.mermaid, 'breaking point');
    const at = step.findIndex((v) => v > 0);
    expect(at).toBe(Math.floor(bp.atMs / 3000));
    expect(step.slice(0, at).every((v) => v === 0)).toBe(true);
    expect(new Set(step.slice(at)).size).toBe(1);
    expect(errors!.caption).toContain(
      `the breaking point (${Math.round(bp.atMs / 1000)} s) where the red line steps up`,
    );
    // 90 intervals merged three at a time: 30 points, evenly spaced over the middles of the buckets.
    expect(latency!.mermaid).toContain('  x-axis "time (s)" 1.5 --> 88.5');
    const labels = /x-axis "load \(requests\/s\)" \[(.*)\]/.exec(load!.mermaid)![1]!.split(', ');
    expect(new Set(labels).size).toBe(labels.length);
    const loads = labels.map((l) => parseFloat(JSON.parse(l) as string));
    expect(loads).toEqual([...loads].sort((a, b) => a - b));
    expect(lineSeries(load!.mermaid)[0]!.points).toBe(labels.length);
  });

  it('merges neighbours into at most MAX_POINTS points from merged histograms', () => {
    const run = stressRun(200);
    const buckets = bucketIntervals(run.intervals);
    expect(buckets.length).toBeLessThanOrEqual(MAX_POINTS);
    const h = new Histogram();
    for (const iv of run.intervals.slice(0, 5)) h.merge(iv.histogram!);
    expect(buckets[0]!.latency.p99).toBe(h.percentileMs(99));
    expect(buckets[0]!.requests).toBe(run.intervals.slice(0, 5).reduce((n, iv) => n + iv.requests, 0));
  });

  it('draws nothing for fewer than three intervals, and no load chart outside stress', () => {
    const run = stressRun();
    expect(chartsFor({ ...run, intervals: run.intervals.slice(0, 2) })).toEqual([]);
    const { analysis: _a, ...plain } = run;
    expect(chartsFor(plain as RunResult).map((c) => c.kind)).toEqual(['latency', 'error-rate']);
    expect(chartsMarkdown({ ...run, intervals: [] })).toBeUndefined();
  });

  it('repeats the previous value where nothing completed, and says so', () => {
    const run = stressRun(12);
    run.intervals[5] = {
      ...run.intervals[5]!,
      requests: 0,
      errors: 0,
      latency: { count: 0 },
      histogram: new Histogram().toJSON(),
    };
    const [latency] = chartsFor(run);
    expect(latency!.caption).toMatch(/previous value is repeated/);
    const p99 = /line "p99" \[(.*)\]/.exec(latency!.mermaid)![1]!.split(', ');
    expect(p99[5]).toBe(p99[4]);
  });

  it('draws CPU, memory and connections beside the request rate, on the time axis of the other charts', () => {
    const run = infraRun();
    const charts = chartsFor(run);
    // No error in any interval: a flat zero line says nothing, so there is no error-rate chart.
    expect(charts.map((c) => c.kind)).toEqual(['latency', 'infra']);
    const [latency, infra] = charts;
    expect(infra!.series).toEqual(['request rate (% of peak)', 'cpu (%)', 'memory (%)', 'db connections (% of max)']);
    expect(lineSeries(infra!.mermaid)).toEqual(infra!.series.map((name) => ({ name, points: run.intervals.length })));
    expect(infra!.mermaid).toMatch(/^%%\{init: .*"plotColorPalette": "#1f77b4, #ff7f0e, #d62728, #9467bd"/);
    const xAxis = (src: string): string => /^ {2}x-axis .*$/m.exec(src)![0];
    expect(xAxis(infra!.mermaid)).toBe(xAxis(latency!.mermaid));
    expect(infra!.mermaid).toContain('  y-axis "percent" 0 --> 100');
    // The request rate is scaled to its peak (100/s at the steady stage); connections to max_connections (100).
    const rate = values(infra!.mermaid, 'request rate (% of peak)');
    expect(Math.max(...rate)).toBe(100);
    expect(rate[0]).toBeCloseTo((run.intervals[0]!.requests / 5 / 100) * 100, 1);
    const db = values(infra!.mermaid, 'db connections (% of max)');
    expect(db[0]).toBe(run.infra![2]!.series![0]![1]);
    // CPU rises with the load: low during the first part of the ramp, near its maximum in the steady part.
    const cpu = values(infra!.mermaid, 'cpu (%)');
    expect(cpu[0]).toBeLessThan(20);
    expect(cpu.at(-1)).toBeGreaterThan(60);
    expect(infra!.caption).toBe(
      'Per 5 s, on one percentage axis: request rate blue (100 % = its peak of 100/s), cpu orange (in %), memory red (in %), ' +
        'db connections purple (% of its limit of 100). A metric keeps its last sample until the next one (CloudWatch sends one per period).',
    );
    // The unavailable CloudWatch metric and the ALB count are not drawn.
    expect(infra!.mermaid).not.toMatch(/rds|alb/);
  });

  it('lines infrastructure samples up with the intervals: the mean inside a point, else the last sample before it', () => {
    expect(
      infraValueAt(
        [
          [0, 10],
          [500, 20],
          [1000, 30],
        ],
        0,
        1000,
      ),
    ).toBe(15);
    expect(
      infraValueAt(
        [
          [-60_000, 7],
          [0, 10],
        ],
        -1000,
        0,
      ),
    ).toBe(7);
    expect(
      infraValueAt(
        [
          [0, 10],
          [60_000, 40],
        ],
        30_000,
        31_000,
      ),
    ).toBe(10);
    expect(infraValueAt([[5000, 10]], 0, 1000)).toBeUndefined();
    // A CloudWatch-like series: one point a minute, from before the run (the margin) to its end.
    const run = flatRun(6, () => 50, [
      metric('cpu', [
        [-60_000, 5],
        [2000, 40],
        [4500, 80],
      ]),
    ]);
    const infra = chartsFor(run).find((c) => c.kind === 'infra')!;
    expect(values(infra.mermaid, 'cpu (%)')).toEqual([5, 5, 40, 40, 80, 80]);
    expect(values(infra.mermaid, 'request rate (% of peak)')).toEqual([100, 100, 100, 100, 100, 100]);
    expect(infra.caption).not.toMatch(/first value/);
  });

  it('says so when a metric starts after the run and its first value is shown before it', () => {
    const run = flatRun(5, (i) => 10 * (i + 1), [
      metric('memory', [
        [2500, 30],
        [4000, 35],
      ]),
    ]);
    const infra = chartsFor(run).find((c) => c.kind === 'infra')!;
    expect(values(infra.mermaid, 'memory (%)')).toEqual([30, 30, 30, 30, 35]);
    expect(values(infra.mermaid, 'request rate (% of peak)')).toEqual([20, 40, 60, 80, 100]);
    expect(infra.caption).toMatch(/Before its first sample a metric shows its first value\.$/);
  });

  it('scales connections without a limit to their peak, and lets a CPU over 100 % raise the axis', () => {
    const run = flatRun(4, () => 20, [
      metric('cpu', [
        [0, 90],
        [2000, 180],
      ]),
      metric(
        'db_connections',
        [
          [0, 10],
          [2000, 40],
        ],
        { source: 'postgres', unit: 'count' },
      ),
    ]);
    const infra = chartsFor(run).find((c) => c.kind === 'infra')!;
    expect(infra.series).toEqual(['request rate (% of peak)', 'cpu (%)', 'db connections (% of peak)']);
    expect(values(infra.mermaid, 'db connections (% of peak)')).toEqual([25, 25, 100, 100]);
    expect(infra.mermaid).toContain('  y-axis "percent" 0 --> 200');
    expect(infra.caption).toContain('db connections red (100 % = its peak of 40)');
  });

  it('draws no infrastructure chart without a readable CPU, memory or connection series', () => {
    const kinds = (infra: InfraMetric[] | undefined): string[] =>
      chartsFor({ ...flatRun(5, () => 10, []), infra }).map((c) => c.kind);
    expect(kinds(undefined)).not.toContain('infra');
    expect(kinds([metric('cpu', [], { unavailable: 'CloudWatch answered Forbidden' })])).not.toContain('infra');
    expect(kinds([metric('alb_5xx', [[0, 0]], { unit: 'count' })])).not.toContain('infra');
    expect(kinds([metric('cpu', [[0, 12]])])).toContain('infra');
    // No request completed: there is no load to put the metrics next to.
    expect(chartsFor(flatRun(5, () => 0, [metric('cpu', [[0, 12]])])).map((c) => c.kind)).not.toContain('infra');
  });

  it('draws p95 once when it equals p99 at every point, and says so', () => {
    const run = stressRun(12);
    run.intervals = run.intervals.map((iv) => ({
      ...iv,
      histogram: undefined,
      latency: { ...iv.latency, p95: iv.latency.p99 },
    }));
    const [latency] = chartsFor(run);
    expect(lineSeries(latency!.mermaid).map((l) => l.name)).toEqual(['p50', 'p95 = p99']);
    expect(latency!.mermaid).toMatch(/"plotColorPalette": "#1f77b4, #d62728"/);
    expect(latency!.caption).toBe(
      'Latency per 1 s: p50 blue, p95 = p99 red. P95 equals p99 at every point, so one line shows both.',
    );
  });

  it('draws the target as a line where it falls on the chart, and says so where it is far above', () => {
    const target = (metric: string, value: number): TargetResult => ({
      target: {
        metric,
        op: '<',
        value,
        unit: metric === 'error_rate' ? '%' : 'ms',
        source: `${metric} < ${value}`,
        optional: false,
      },
      status: 'pass',
    });
    const run = stressRun();
    const top = Math.max(...run.intervals.map((iv) => iv.latency.p99!));
    const near = chartsFor(run, { targets: [target('p99', 100)] })[0]!;
    expect(lineSeries(near.mermaid).map((l) => l.name)).toEqual(['p50', 'p95', 'p99', 'p99 target 100 ms']);
    expect(values(near.mermaid, 'p99 target 100 ms').every((v) => v === 100)).toBe(true);
    expect(near.caption).toContain('p99 target 100 ms purple');
    const far = chartsFor(run, { targets: [target('p99', top * 10)] })[0]!;
    expect(lineSeries(far.mermaid).map((l) => l.name)).toEqual(['p50', 'p95', 'p99']);
    expect(far.caption).toMatch(/The p99 target \([\d,]+ ms\) is far above every point, so it is not drawn\./);
    const load = chartsFor(run, { targets: [target('p99', 100)] }).find((c) => c.kind === 'load-p99')!;
    expect(lineSeries(load.mermaid).map((l) => l.name)).toEqual(['p99', 'p99 target 100 ms']);
  });

  it('marks the capacity and the breaking point on the load axis', () => {
    const load = chartsFor(stressRun()).find((c) => c.kind === 'load-p99')!;
    const labels = /x-axis "load \(requests\/s\)" \[(.*)\]/
      .exec(load.mermaid)![1]!
      .split(', ')
      .map((l) => JSON.parse(l) as string);
    expect(labels.filter((l) => l.endsWith('✕'))).toHaveLength(1);
    expect(labels.filter((l) => /◆/.test(l))).toHaveLength(1);
    // Here latency stays low, so the error limit ends both: the capacity is at or below the breaking point.
    expect(labels.findIndex((l) => /◆/.test(l))).toBeLessThanOrEqual(labels.findIndex((l) => l.endsWith('✕')));
    expect(load.caption).toContain('◆ marks the capacity at the targets and ✕ the breaking point');
  });

  it('rounds the y axis up to a readable number', () => {
    expect([0, 0.7, 9.6, 10, 47, 101, 2300].map(niceMax)).toEqual([1, 0.8, 12, 12, 50, 120, 2500]);
  });
});

describe('charts in the report', () => {
  it('puts the charts after the figures, before the endpoints', () => {
    const md = renderReport(reportInput(stressRun()));
    expect(mermaidBlocks(md)).toHaveLength(3);
    const order = [
      '<summary><b>Phase</b>',
      '<summary><b>Figures</b>',
      '<summary><b>Charts</b>',
      '<summary><b>Run</b>',
    ].map((h) => md.indexOf(h));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('drops the charts once the endpoint list alone cannot make room, and before the endpoint table goes', () => {
    const run = stressRun();
    const template = {
      requests: 100,
      errors: 0,
      latency: { count: 100, p50: 5, p95: 9, p99: 12, max: 20 },
      statusCodes: { '200': 100 },
    };
    run.endpoints = Array.from({ length: 60 }, (_, i) => ({
      ...template,
      name: `GET /api/items/${String(i).padStart(3, '0')}`,
    }));
    const input = reportInput(run);
    const full = renderReportWithTier(input, { maxChars: 1_000_000 });
    expect(full.tier).toBe('full');
    // Room for the charts and a few endpoints: the list is cut, the charts stay.
    const top = renderReportWithTier(input, { maxChars: full.markdown.length - 3000 });
    expect(top.tier).toBe('top-endpoints');
    expect(mermaidBlocks(top.markdown)).toHaveLength(3);
    // Not even one endpoint row fits beside the charts: the charts go, and the endpoints get their room back.
    const oneEndpoint = renderReport(
      { ...input, run: { ...run, endpoints: run.endpoints.slice(0, 1) } },
      { maxChars: 1_000_000 },
    );
    const noCharts = renderReportWithTier(input, { maxChars: oneEndpoint.length - 1 });
    expect(noCharts.tier).toBe('no-charts');
    expect(noCharts.markdown).not.toContain('```mermaid');
    expect(noCharts.endpointsShown).toBeGreaterThan(0);
    expect(noCharts.markdown).toContain('<summary><b>Endpoints</b>');
    // Walking the budget down never brings the charts back.
    let seenNoCharts = false;
    for (let b = full.markdown.length; b > 500; b -= 211) {
      const r = renderReportWithTier(input, { maxChars: b });
      if (r.tier !== 'full' && r.tier !== 'top-endpoints') seenNoCharts = true;
      if (seenNoCharts) expect(r.markdown).not.toContain('```mermaid');
      if (r.tier !== 'heading-only') expect(r.markdown.length).toBeLessThanOrEqual(b);
    }
    expect(seenNoCharts).toBe(true);
  });

  it('without endpoints, drops the charts as a tier of their own', () => {
    const input = reportInput(stressRun());
    const full = renderReportWithTier(input, { maxChars: 1_000_000 });
    const r = renderReportWithTier(input, { maxChars: full.markdown.length - 100 });
    expect(r.tier).toBe('no-charts');
    expect(r.markdown).toContain('<summary><b>Run</b>');
  });
});

// ---- rendering with the real mermaid ------------------------------------------------------------------------------

// The few calls used, typed here: the type check must pass on a checkout where these dev dependencies are missing.
interface Mermaid {
  parse(text: string): Promise<unknown>;
}

function missing(what: string): void {
  skipOrFail(
    'charts render check',
    `${what}: install with \`npm install --save-dev mermaid jsdom playwright-core\` and \`apt-get install chromium\``,
  );
}

// The stress run's three charts, the infrastructure chart of the fixture run with sources, and the two trend charts
// of the report compared with a baseline (kept as a snapshot by report.test.ts).
const sources = (): string[] => [
  ...mermaidBlocks(renderReport(reportInput(stressRun()))),
  ...mermaidBlocks(renderReport(reportInput(infraRun()))).filter((src) =>
    src.includes('title "Infrastructure against load"'),
  ),
  ...trendCharts(),
];

function trendCharts(): string[] {
  const charts = mermaidBlocks(
    readFileSync(join(import.meta.dirname, '__snapshots__', 'report-baseline-regressed.md'), 'utf8'),
  ).filter((src) => src.includes('over the last runs'));
  expect(charts).toHaveLength(2);
  return charts;
}

describe('the charts parse with mermaid', () => {
  it('every chart of the report is valid Mermaid', async () => {
    const jsdom = await tryImport<{ JSDOM: new (html: string) => { window: { document: unknown } } }>('jsdom');
    if (!jsdom) return missing('jsdom not installed');
    const dom = new jsdom.JSDOM('<!doctype html><html><body></body></html>');
    const g = globalThis as Record<string, unknown>;
    const saved = { window: g.window, document: g.document };
    // Mermaid (its DOMPurify) looks for a DOM when it is first loaded, so the globals come before the import.
    g.window = dom.window;
    g.document = dom.window.document;
    try {
      const loaded = await tryImport<{ default: Mermaid }>('mermaid');
      if (!loaded) return missing('mermaid not installed');
      for (const src of sources()) {
        expect(await loaded.default.parse(src)).toMatchObject({ diagramType: 'xychart' });
      }
      // And the parser does reject a broken chart, so the check above means something.
      await expect(loaded.default.parse('xychart-beta\n  line [1, 2, x]')).rejects.toThrow();
    } finally {
      g.window = saved.window;
      g.document = saved.document;
    }
  });
});

describe('the charts render to SVG in headless Chromium', () => {
  let browser: Browser | undefined;
  let skip: string | undefined;

  beforeAll(async () => {
    const pw = await tryImport<Playwright>('playwright-core');
    if (!pw || !existsSync(MERMAID_BUNDLE)) skip = 'mermaid or playwright-core not installed';
    else if (!existsSync(CHROMIUM)) skip = `${CHROMIUM} not found`;
    if (skip || !pw) return;
    browser = await launchChromium(pw);
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('draws every series of every chart as a line in its colour', async () => {
    if (skip || !browser) return missing(skip ?? 'no browser');
    const page = await browser.newPage();
    await page.setContent('<!doctype html><html><body></body></html>');
    await page.addScriptTag({ path: MERMAID_BUNDLE });
    const charts = sources();
    expect(charts).toHaveLength(6);
    for (const [i, src] of charts.entries()) {
      const svg = await page.evaluate(
        async ({ id, code }) => {
          const m = (
            globalThis as unknown as {
              mermaid: { initialize(c: object): void; render(id: string, code: string): Promise<{ svg: string }> };
            }
          ).mermaid;
          m.initialize({ startOnLoad: false });
          return (await m.render(id, code)).svg;
        },
        { id: `chart${i}`, code: src },
      );
      expect(svg.startsWith('<svg')).toBe(true);
      const title = /title "([^"]+)"/.exec(src)![1]!;
      expect(svg).toContain(`>${title}<`);
      const series = lineSeries(src);
      // Colours follow meaning (p99 is red whether or not p95 is drawn): the init line lists them in series order.
      const palette = /"plotColorPalette": "([^"]+)"/.exec(src)![1]!.split(', ');
      expect(palette.every((c) => (PALETTE as readonly string[]).includes(c))).toBe(true);
      series.forEach((s, k) => {
        // One path per series, in its colour, through every point.
        const path = new RegExp(
          `<g class="line-plot-${k}"[^>]*>\\s*<path d="M([^"]+)"[^>]*stroke="${palette[k]}"`,
        ).exec(svg);
        expect(path, `${title}: series ${s.name}`).not.toBeNull();
        expect(path![1]!.split('L')).toHaveLength(s.points);
      });
      expect(svg).not.toContain(`line-plot-${series.length}"`);
      expect(svg).toContain('aria-roledescription="xychart"');
    }
    await page.close();
  });
});
