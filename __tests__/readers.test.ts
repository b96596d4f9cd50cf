// The result readers against genuine k6 and Artillery output (sources in fixtures/SOURCES.md). Expected numbers
// are read off the files themselves; for NDJSON the k6-style percentiles are recomputed here from the raw points.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { detectFormat, mergeRunResults, readResultFile, readResults } from '../src/readers/index.js';
import { interpolatedPercentilesMs } from '../src/readers/stats.js';
import { metricValue } from '../src/gate/metrics.js';
import type { ReadOptions } from '../src/readers/types.js';
import { bucketRange, Histogram } from '../src/metrics/histogram.js';
import type { RunResult } from '../src/model.js';
import { UserError } from '../src/errors.js';
import type { SerializedHistogram } from '../src/model.js';

const FIX = fileURLToPath(new URL('./fixtures/', import.meta.url));
const art = (f: string) => join(FIX, 'artillery', f);
const k6 = (f: string) => join(FIX, 'k6', f);
// OPTS: `http.count-4xx-as-errors: false` (the old meaning: 5xx and transport errors only). OPTS_4XX: the default.
const OPTS: ReadOptions = { phase: 'sustained', count4xxAsErrors: false };
const OPTS_4XX: ReadOptions = { phase: 'sustained', count4xxAsErrors: true };

const tmp = mkdtempSync(join(tmpdir(), 'perf-gate-readers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let tmpN = 0;
function tmpFile(content: string | Buffer, name = `f${tmpN++}`): string {
  const p = join(tmp, name);
  writeFileSync(p, content);
  return p;
}

function json(path: string): any {
  return JSON.parse(readFileSync(path, 'utf8'));
}

function headOf(path: string): string {
  return readFileSync(path)
    .subarray(0, 64 * 1024)
    .toString('utf8');
}

async function expectUserError(p: Promise<unknown>, ...parts: Array<string | RegExp>): Promise<UserError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(UserError);
  for (const part of parts) expect((err as Error).message).toMatch(part);
  return err as UserError;
}

/** Every number in a RunResult must be finite: NaN or Infinity would break the JSON results file. */
function expectFiniteNumbers(v: unknown, path = 'result'): void {
  if (typeof v === 'number') expect(Number.isFinite(v), `${path} = ${v}`).toBe(true);
  else if (Array.isArray(v))
    v.forEach((x, i) => {
      expectFiniteNumbers(x, `${path}[${i}]`);
    });
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) expectFiniteNumbers(x, `${path}.${k}`);
}

// ---------------------------------------------------------------------------------------------------------
// k6 NDJSON ground truth, recomputed here from the raw lines.

function k6Percentile(sorted: number[], p: number): number {
  // k6's TrendSink: linear interpolation between the samples around rank p*(n-1).
  if (sorted.length === 1) return sorted[0]!;
  const i = (p / 100) * (sorted.length - 1);
  const lo = sorted[Math.floor(i)]!;
  const hi = sorted[Math.ceil(i)]!;
  return lo + (hi - lo) * (i - Math.floor(i));
}

interface RawNdjson {
  durations: number[];
  requests: number;
  statuses: Record<string, number>;
  byName: Map<string, number>;
}

function rawPoints(path: string): RawNdjson {
  const out: RawNdjson = { durations: [], requests: 0, statuses: {}, byName: new Map() };
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const o = JSON.parse(line);
    if (o.type !== 'Point') continue;
    if (o.metric === 'http_req_duration') out.durations.push(o.data.value);
    if (o.metric === 'http_reqs') {
      out.requests += o.data.value;
      const st = o.data.tags?.status;
      if (st !== undefined) out.statuses[st] = (out.statuses[st] ?? 0) + o.data.value;
      const name = o.data.tags?.name ?? o.data.tags?.url;
      out.byName.set(name, (out.byName.get(name) ?? 0) + o.data.value);
    }
  }
  out.durations.sort((a, b) => a - b);
  return out;
}

function expectClose(actual: number | undefined, expected: number, relTol: number, label: string): void {
  expect(actual, label).toBeDefined();
  const tol = Math.max(Math.abs(expected) * relTol, 0.001); // 1 µs floor: the histogram's resolution
  expect(Math.abs(actual! - expected), `${label}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tol);
}

function expectK6Percentiles(r: RunResult, raw: RawNdjson): void {
  const d = raw.durations;
  expect(r.latency.count).toBe(d.length);
  expectClose(r.latency.p50, k6Percentile(d, 50), 0.002, 'p50');
  expectClose(r.latency.p90, k6Percentile(d, 90), 0.002, 'p90');
  expectClose(r.latency.p95, k6Percentile(d, 95), 0.002, 'p95');
  expectClose(r.latency.p99, k6Percentile(d, 99), 0.002, 'p99');
  expectClose(r.latency.p999, k6Percentile(d, 99.9), 0.002, 'p99.9');
  expectClose(r.latency.min, d[0]!, 0.000001, 'min');
  expectClose(r.latency.max, d[d.length - 1]!, 0.000001, 'max');
  expectClose(r.latency.mean, d.reduce((a, b) => a + b, 0) / d.length, 0.000001, 'mean');
}

// ---------------------------------------------------------------------------------------------------------

describe('format detection by content', () => {
  it.each([
    [art('v2-sawady-nodejscourse.json'), 'artillery-v2'],
    [art('v2-dangtong76-kubetemplate-2.0dev-engineprefix.json'), 'artillery-v2'],
    [art('v1-buianalex-rsschool-f.json'), 'artillery-v1'],
    [art('v1-djaustin-fyp-output.json'), 'artillery-v1'],
    [k6('export-szboynono-2020-dev-export-groups.json'), 'k6-summary-export'],
    [k6('export-noerkholis-ticketing-statussubmetric.json'), 'k6-summary-export'],
    [k6('summary-grafana-circleci-orb.json'), 'k6-handle-summary'],
    [k6('summary-bencuk-reporter-simple.json'), 'k6-handle-summary'],
    [k6('machine-readable-v1-REFERENCE-grafana-example.json'), 'k6-handle-summary'],
    [k6('ndjson-mattihew-k6tojunit-2019.ndjson'), 'k6-ndjson'],
    [k6('ndjson-wildananugrah-springlearning.ndjson'), 'k6-ndjson'],
  ])('%s is %s', (path, format) => {
    expect(detectFormat(headOf(path))).toBe(format);
  });

  it('ignores the file name: a k6 summary named .csv and an NDJSON named .json are read by content', async () => {
    const a = tmpFile(readFileSync(k6('summary-grafana-circleci-orb.json')), 'results.csv');
    const b = tmpFile(readFileSync(k6('ndjson-itzaddddd-ticketreserve.ndjson')), 'summary.json');
    expect((await readResultFile(a, OPTS)).requests).toBe(20);
    expect((await readResultFile(b, OPTS)).requests).toBe(100);
  });

  it('finds the format when the identifying keys come after a large first section', async () => {
    // handleSummary JSON with a huge custom key first: the first 64 KB show none of the markers.
    const doc = json(k6('summary-grafana-circleci-orb.json'));
    const big = { padding: 'x'.repeat(100_000), ...doc };
    const r = await readResultFile(tmpFile(JSON.stringify(big)), OPTS);
    expect(r.requests).toBe(20);
  });
});

describe('user mistakes are UserErrors naming the file', () => {
  it('missing file', async () => {
    await expectUserError(readResultFile(join(tmp, 'nope.json'), OPTS), 'not found', 'nope.json');
  });
  it('a directory', async () => {
    await expectUserError(readResultFile(tmp, OPTS), 'directory');
  });
  it('empty file', async () => {
    const p = tmpFile('');
    await expectUserError(readResultFile(p, OPTS), 'empty', p);
  });
  it('unknown format lists the accepted formats', async () => {
    const p = tmpFile('time,latency\n1,2\n', 'results.csv');
    const e = await expectUserError(
      readResultFile(p, OPTS),
      p,
      'Artillery 2',
      'summary-export',
      'handleSummary',
      '--out json',
    );
    expect(e.message).not.toMatch(/at \w+ \(/); // no stack trace in the message
  });
  it('an HTML report gets a hint', async () => {
    await expectUserError(readResultFile(tmpFile('<!doctype html><html></html>'), OPTS), 'HTML');
  });
  it("k6's text summary gets a hint", async () => {
    const text =
      '     checks.........................: 100.00% ✓ 20  ✗ 0\n     http_req_duration..............: avg=255ms\n';
    await expectUserError(readResultFile(tmpFile(text), OPTS), 'text summary');
  });
  it('a JSON object of another kind', async () => {
    await expectUserError(readResultFile(tmpFile('{"hello": "world"}'), OPTS), 'not in a format');
  });
  it('truncated Artillery report: corrupt JSON', async () => {
    const text = readFileSync(art('v2-sawady-nodejscourse.json'), 'utf8');
    const p = tmpFile(text.slice(0, 5000));
    await expectUserError(readResultFile(p, OPTS), p, 'not valid JSON');
  });
  it('a gzip file that is not gzip inside', async () => {
    const p = tmpFile(Buffer.concat([Buffer.from([0x1f, 0x8b]), Buffer.from('garbage garbage garbage')]));
    await expectUserError(readResultFile(p, OPTS), p);
  });
  it('no files, or the same file twice', async () => {
    await expectUserError(readResults([], OPTS), 'No results files');
    const p = art('v2-sawady-nodejscourse.json');
    await expectUserError(readResults([p, p], OPTS), 'listed twice');
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('Artillery 2 JSON report', () => {
  it('sawady: 3000 requests, three HTTP 500s, the file’s own percentiles', async () => {
    const path = art('v2-sawady-nodejscourse.json');
    const agg = json(path).aggregate;
    const r = await readResultFile(path, OPTS);
    expectFiniteNumbers(r);
    expect(r.engine).toBe('results');
    expect(r.tool?.name).toBe('artillery');
    expect(r.phase).toBe('sustained');
    expect(r.requests).toBe(3000);
    expect(r.statusCodes).toEqual({ '200': 2997, '500': 3 });
    expect(r.errors).toBe(3);
    expect(r.errorsByKind).toEqual({ http_5xx: 3 });
    expect(r.errorRate).toBeCloseTo(0.1, 10);
    const s = agg.summaries['http.response_time'];
    expect(r.latency).toEqual({
      count: 3000,
      min: s.min,
      mean: s.mean,
      p50: s.p50,
      p90: s.p90,
      p95: s.p95,
      p99: s.p99,
      p999: s.p999,
      max: s.max,
    });
    expect(r.latency.p95).toBe(4);
    expect(r.latency.p99).toBe(13.9);
    expect(r.durationMs).toBe(agg.lastMetricAt - agg.firstMetricAt);
    expect(r.startedAt).toBe(new Date(agg.firstMetricAt).toISOString());
    expect(r.throughputRps).toBeCloseTo(3000 / ((agg.lastMetricAt - agg.firstMetricAt) / 1000), 9);
    expect(r.vus?.created).toBe(3000);
    expect(r.generator).toEqual({ arrivalsStarted: 3000, valid: true, invalidReasons: [] });
    expect(r.endpoints).toEqual([
      {
        name: '/health',
        requests: 3000,
        errors: 3,
        statusCodes: { '200': 2997, '500': 3 },
        latency: expect.objectContaining({ count: 3000, p95: 4 }),
      },
    ]);
    expect(r.customMetrics['artillery.vusers.failed']).toEqual({
      type: 'rate',
      values: { rate: 0, count: 0, total: 3000 },
    });
    expect(r.customMetrics['artillery.http.response_time.5xx']?.values.p95).toBe(5);
    expect(r.customMetrics['artillery.vusers.session_length']?.values.avg).toBe(4.5);
    // One interval per 10 s reporting period; the counts add up to the aggregate.
    expect(r.intervals).toHaveLength(7);
    expect(r.intervalMs).toBe(10_000);
    expect(r.intervals.reduce((a, iv) => a + iv.requests, 0)).toBe(3000);
    expect(r.intervals.reduce((a, iv) => a + iv.errors, 0)).toBe(3);
    expect(r.intervals[0]).toMatchObject({
      startMs: 0,
      requests: 246,
      arrivalsStarted: 246,
      latency: { p95: 5, p99: 10.1 },
    });
    expect(r.intervals[0]!.durationMs).toBe(1746606270000 - agg.firstMetricAt);
  });

  it('akiagari: 29,519 timeouts and 11 resets are transport errors; http.requests is the denominator', async () => {
    const r = await readResultFile(art('v2-akiagari-ssrbench.json'), OPTS);
    expect(r.requests).toBe(30000);
    expect(r.errors).toBe(29530);
    expect(r.errorsByKind).toEqual({ timeout: 29519, connection_reset: 11 });
    expect(r.errorRate).toBeCloseTo((29530 / 30000) * 100, 10);
    expect(r.latency.count).toBe(634); // responses only
    expect(r.latency.p95).toBe(9801.2);
    expect(r.latency.p90).toBe(r.latency.p95); // as in the file
    expect(r.customMetrics['artillery.vusers.failed']?.values).toEqual({
      rate: 29530 / 30000,
      count: 29530,
      total: 30000,
    });
    expect(r.customMetrics['artillery.errors.ETIMEDOUT']?.values.count).toBe(29519);
  });

  it('flab-dogspot: 404s are recorded but count as errors only when asked; endpoints with dotted error keys', async () => {
    const path = art('v2-flab-dogspot-404.json');
    const r = await readResultFile(path, OPTS);
    expect(r.requests).toBe(6420);
    expect(r.statusCodes).toEqual({ '200': 1490, '404': 1972, '500': 14 });
    expect(r.errorsByKind).toEqual({ http_4xx: 1972, http_5xx: 14, timeout: 2942, connection_reset: 2 });
    expect(r.errors).toBe(14 + 2942 + 2);
    const r4 = await readResultFile(path, OPTS_4XX);
    expect(r4.errors).toBe(14 + 2942 + 2 + 1972);
    expect(r4.errorRate).toBeCloseTo(((14 + 2942 + 2 + 1972) / 6420) * 100, 10);
    const byName = Object.fromEntries(r.endpoints.map((e) => [e.name, e]));
    expect(byName['/api/walksBoard/walksBoard']).toMatchObject({
      requests: 144 + 1490 + 14 + 2689 + 2,
      errors: 14 + 2689 + 2,
    });
    expect(byName['/api/walksBoard/walksBoard/join']).toMatchObject({ requests: 1828 + 253, errors: 253 });
    expect(r.intervals).toHaveLength(20);
  });

  it('dangtong76: early 2.0-dev names (engine.http.*, core.vusers.*) and the mean from the raw sketch', async () => {
    const path = art('v2-dangtong76-kubetemplate-2.0dev-engineprefix.json');
    const agg = json(path).aggregate;
    const r = await readResultFile(path, OPTS);
    expect(r.requests).toBe(200);
    expect(r.statusCodes).toEqual({ '200': 200 });
    expect(r.vus?.created).toBe(200);
    expect(r.latency.p95).toBe(agg.summaries['engine.http.response_time'].p95);
    expect(r.latency.p99).toBe(1755);
    const sketch = agg.histograms['engine.http.response_time'];
    expect(r.latency.mean).toBeCloseTo(sketch.sum / sketch.count, 9);
    expect(r.intervals).toHaveLength(21);
  });

  it('weighttracker: script errors ("Undefined function") are not request errors', async () => {
    const r = await readResultFile(art('v2-weighttracker.json'), OPTS);
    expect(r.requests).toBe(159);
    expect(r.errors).toBe(0);
    expect(r.errorRate).toBe(0);
    expect(r.customMetrics['artillery.errors.Undefined function "simulateAddWeight"']?.values.count).toBe(81);
    expect(r.notes.join(' ')).toMatch(/not HTTP request errors/);
    expect(r.endpoints.map((e) => e.name).sort()).toEqual([
      '/ (Cargar página inicial)',
      '/ (Cargar página principal)',
      '/static/css/main.618aa270.css (Cargar CSS principal)',
    ]);
  });

  it('alithomson: a Playwright run without HTTP metrics measures no error rate and no latency', async () => {
    const r = await readResultFile(art('v2-alithomson-playwright-allfailed.json'), OPTS);
    expect(r.requests).toBe(0);
    expect(r.errorRate).toBeUndefined();
    expect(r.throughputRps).toBeUndefined();
    expect(r.latency).toEqual({ count: 0 });
    expect(r.customMetrics['artillery.vusers.failed']?.values.rate).toBe(1);
    expect(r.notes.join(' ')).toMatch(/no HTTP metrics/);
  });

  it('vusers.skipped makes the generator invalid (the load asked for was not sent)', async () => {
    const doc = json(art('v2-sawady-nodejscourse.json'));
    doc.aggregate.counters['vusers.skipped'] = 5;
    const r = await readResultFile(tmpFile(JSON.stringify(doc)), OPTS);
    expect(r.generator.valid).toBe(false);
    expect(r.generator.arrivalsDropped).toBe(5);
    expect(r.generator.invalidReasons[0]).toMatch(/skipped 5 virtual users.*not sent/);
  });
});

describe('Artillery 1 JSON report', () => {
  it('buianalex: latency from the aggregate, the missing figures from the raw latencies', async () => {
    const path = art('v1-buianalex-rsschool-f.json');
    const r = await readResultFile(path, OPTS);
    expectFiniteNumbers(r);
    expect(r.tool).toEqual({ name: 'artillery', version: '1' });
    expect(r.requests).toBe(50);
    expect(r.statusCodes).toEqual({ '200': 40, '201': 10 });
    expect(r.errors).toBe(0);
    expect(r.latency).toMatchObject({ count: 50, min: 4, p50: 16, p95: 200, p99: 242, max: 242 });
    expect(r.throughputRps).toBe(5.24); // Artillery's own rps.mean
    // p90 and mean were not in the aggregate: they come from the 50 raw latencies (nanoseconds) in intermediate[].
    const raw: number[] = json(path)
      .intermediate.flatMap((i: any) => i.latencies)
      .map((ns: number) => ns / 1e6)
      .sort((a: number, b: number) => a - b);
    expect(raw).toHaveLength(50);
    expectClose(r.latency.mean, raw.reduce((a, b) => a + b, 0) / 50, 1e-9, 'mean');
    expectClose(r.latency.p90, raw[Math.ceil(0.9 * 50) - 1]!, 0.001, 'p90 (nearest rank)');
    expect(r.histogram?.count).toBe(50);
    expect(r.intervals).toHaveLength(2);
    expect(r.intervals.map((iv) => iv.requests)).toEqual([45, 5]);
    expect(r.customMetrics['artillery.vusers.failed']?.values).toEqual({ rate: 0, count: 0, total: 10 });
  });

  it('jailton: 2,899 ETIMEDOUT errors on 3,884 requests', async () => {
    const r = await readResultFile(art('v1-jailton-identity.json'), OPTS);
    expect(r.requests).toBe(985 + 2899);
    expect(r.errors).toBe(2899);
    expect(r.errorsByKind).toEqual({ timeout: 2899 });
    expect(r.errorRate).toBeCloseTo((2899 / 3884) * 100, 10);
    expect(r.latency).toMatchObject({ count: 985, min: 31, p50: 779, p95: 7277.3, p99: 8859.9, max: 9291 });
    expect(r.vus).toEqual({ created: 3884, max: 251 });
    expect(r.customMetrics['artillery.vusers.failed']?.values).toEqual({
      rate: (3884 - 985) / 3884,
      count: 3884 - 985,
      total: 3884,
    });
    expect(r.intervals).toHaveLength(20);
  });

  it('interledger: 98 404s count only when 4xx are errors', async () => {
    const path = art('v1-interledger-wallet-2019.json');
    expect((await readResultFile(path, OPTS)).errors).toBe(0);
    const r4 = await readResultFile(path, OPTS_4XX);
    expect(r4.errors).toBe(98);
    expect(r4.errorRate).toBeCloseTo((98 / 1604) * 100, 10);
    expect(r4.errorsByKind).toEqual({ http_4xx: 98 });
  });

  it('djaustin (2018): latencies as [timestamp, id, ns, status] and null percentiles in a period', async () => {
    const path = art('v1-djaustin-fyp-output.json');
    const r = await readResultFile(path, OPTS);
    expect(r.requests).toBe(60);
    expect(r.latency).toMatchObject({ count: 60, min: 76.2, p50: 106.2, p95: 308.5, p99: 363.3, max: 363.3 });
    expect(r.histogram?.count).toBe(60);
    // The first period's p95/p99 are null in the file: absent, not 0.
    expect(r.intervals[0]!.latency.p95).toBeUndefined();
    expect(r.intervals[0]!.latency.p50).toBe(88.6);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('k6 --summary-export', () => {
  it('szboynono (k6 0.29): inverted threshold booleans, checks in nested groups, no p99', async () => {
    const r = await readResultFile(k6('export-szboynono-2020-dev-export-groups.json'), OPTS);
    expectFiniteNumbers(r);
    expect(r.tool?.name).toBe('k6');
    expect(r.requests).toBe(105);
    expect(r.latency).toEqual({
      count: 105,
      min: 125.1489,
      mean: 333.7922933333333,
      p50: 312.5522,
      p90: 595.15002,
      p95: 640.7750799999999,
      max: 949.5001,
    });
    expect(r.latency.p99).toBeUndefined();
    expect(r.throughputRps).toBe(8.697541431173484);
    // `true` in summary-export means the threshold was crossed: p(90) 595 ms < 400 fails.
    expect(r.toolThresholds).toContainEqual({ metric: 'http_req_duration', expression: 'p(90) < 400', ok: false });
    expect(r.toolThresholds).toContainEqual({ metric: 'http_req_duration', expression: 'p(95) < 1000', ok: true });
    expect(r.toolThresholds).toContainEqual({ metric: 'checks', expression: 'rate>0.90', ok: true });
    // No http_req_failed before k6 0.31: no error rate.
    expect(r.errorRate).toBeUndefined();
    expect(r.notes.join(' ')).toMatch(/no http_req_failed/);
    // 6 checks of 21 passes each; the file's `value: 0` beside 126 passes is not believed.
    expect(r.customMetrics.checks?.values).toEqual({ rate: 1, count: 126, total: 126 });
    expect(r.customMetrics['checks{group:::s1::case one}']?.values).toEqual({ rate: 1, count: 21, total: 21 });
    expect(r.customMetrics['checks{check:status code is 200}']?.values.total).toBe(42);
    expect(r.customMetrics['k6.iteration_duration']?.values.p95).toBe(3588.9285);
    expect(r.vus).toEqual({ max: 7 });
  });

  it('andreposman: custom summaryTrendStats with p(99), p(99.9) but no p(90), p(95)', async () => {
    const r = await readResultFile(k6('export-andreposman-qrcode.json'), OPTS);
    expect(r.requests).toBe(493168);
    expect(r.latency.p99).toBe(348.6492700000003);
    expect(r.latency.p999).toBe(787.1129890000226);
    expect(r.latency.p90).toBeUndefined();
    expect(r.latency.p95).toBeUndefined();
    expect(r.latency.p50).toBe(3.12);
    expect(r.errors).toBe(0);
    expect(r.errorRate).toBe(0); // http_req_failed: 0 passes of 493168
    expect(r.notes.join(' ')).toMatch(/no p90, p95/);
  });

  it('sirhcc: one failed request, threshold rate<0.1 crossed', async () => {
    const r = await readResultFile(k6('export-sirhcc-apiratelimiter-degenerate.json'), OPTS);
    expect(r.requests).toBe(1);
    expect(r.latency.p95).toBe(0);
    expect(r.customMetrics['k6.http_req_failed']?.values).toEqual({ rate: 1, count: 1, total: 1 });
    expect(r.toolThresholds).toEqual(
      expect.arrayContaining([
        { metric: 'http_req_failed', expression: 'rate<0.1', ok: false },
        { metric: 'http_req_duration', expression: 'p(95)<500', ok: true },
        { metric: 'errors', expression: 'rate<0.1', ok: true },
      ]),
    );
    // The summary cannot tell a 5xx from a 4xx: not measured, unless 4xx count as errors anyway.
    expect(r.errorRate).toBeUndefined();
    expect((await readResultFile(k6('export-sirhcc-apiratelimiter-degenerate.json'), OPTS_4XX)).errorRate).toBe(100);
    expect(r.vus).toBeUndefined();
  });

  it('noerkholis: thresholds on tagged sub-metrics, custom counters and rates', async () => {
    const r = await readResultFile(k6('export-noerkholis-ticketing-statussubmetric.json'), OPTS);
    expect(r.requests).toBe(38974);
    expect(r.toolThresholds).toContainEqual({
      metric: 'http_req_failed{status:>=500}',
      expression: 'rate<0.01',
      ok: true,
    });
    expect(r.toolThresholds).toContainEqual({
      metric: 'http_req_duration{expected_response:true}',
      expression: 'p(95)<500',
      ok: true,
    });
    expect(r.toolThresholds).toContainEqual({ metric: 'successful_bookings', expression: 'count>100', ok: true });
    expect(r.customMetrics['k6.http_req_duration{expected_response:true}']?.values.p95).toBe(407.011167);
    expect(r.customMetrics['k6.http_req_failed{status:>=500}']?.values).toEqual({ rate: 0, count: 0, total: 0 });
    expect(r.customMetrics.conflicted_bookings).toEqual({
      type: 'counter',
      values: { count: 8953, rate: 26.80616243070525 },
    });
    expect(r.customMetrics.booking_success_rate?.values.rate).toBeCloseTo(1517 / 10470, 12);
    expect(r.customMetrics.checks?.values).toEqual({ rate: 38974 / 49444, count: 38974, total: 49444 });
    expect(r.customMetrics['k6.http_req_failed']?.values.count).toBe(8953);
    expect(r.errorRate).toBeUndefined();
    expect(
      (await readResultFile(k6('export-noerkholis-ticketing-statussubmetric.json'), OPTS_4XX)).errorRate,
    ).toBeCloseTo((8953 / 38974) * 100, 10);
  });

  it('tiagonline: groups with non-ASCII names, custom metrics with leading underscores', async () => {
    const r = await readResultFile(k6('export-tiagonline-kitqa-groups.json'), OPTS);
    expect(r.customMetrics['checks{group:::POST - Criação de Dados}']?.values).toEqual({
      rate: (19211 + 19262) / (19211 + 19262 + 51),
      count: 19211 + 19262,
      total: 19211 + 19262 + 51,
    });
    expect(r.customMetrics['checks{check:status is 200}']?.values).toEqual({
      rate: (19218 + 19211) / (19218 + 19211 + 95),
      count: 19218 + 19211,
      total: 19218 + 19211 + 95,
    });
    expect(r.customMetrics._1_duration?.values).toEqual({
      avg: 307.32382744720246,
      min: 127.979803,
      p50: 160.8186995,
      max: 5953.124408,
      p90: 622.353595,
      p95: 790.3916876000002,
    });
    expect(r.customMetrics._2_reqs?.values.rate).toBe(1);
    expect(r.vus?.max).toBe(500);
  });
});

describe('k6 handleSummary JSON', () => {
  it('bencuk: p99 present, nested group check, 349 failed requests', async () => {
    const r = await readResultFile(k6('summary-bencuk-reporter-simple.json'), OPTS);
    expectFiniteNumbers(r);
    expect(r.requests).toBe(878);
    expect(r.latency).toEqual({
      count: 878,
      min: 0.259855,
      mean: 21.37513127107059,
      p50: 20.090773,
      p90: 26.358651200000008,
      p95: 30.0256841,
      p99: 39.577136380000084,
      max: 143.326605,
    });
    expect(r.durationMs).toBeCloseTo(24425.289882, 3);
    expect(r.toolThresholds).toEqual([
      { metric: 'http_req_duration', expression: 'p(95)<1000', ok: true },
      { metric: 'iteration_duration', expression: 'max<4000', ok: true },
    ]);
    expect(r.customMetrics['checks{group:::Example group}']?.values).toEqual({ rate: 1, count: 439, total: 439 });
    expect(r.customMetrics['checks{check:Status is ok}']?.values).toEqual({ rate: 90 / 439, count: 90, total: 439 });
    expect(r.customMetrics.checks?.values.rate).toBe(529 / 878);
    expect(r.customMetrics['k6.http_req_failed']?.values).toEqual({ rate: 349 / 878, count: 349, total: 878 });
    expect(r.errorRate).toBeUndefined();
    expect(r.errors).toBe(349);
    expect((await readResultFile(k6('summary-bencuk-reporter-simple.json'), OPTS_4XX)).errorRate).toBeCloseTo(
      (349 / 878) * 100,
      10,
    );
  });

  it('nortonjulian: dropped_iterations invalidates the run; no min or median in summaryTrendStats', async () => {
    const r = await readResultFile(k6('summary-nortonjulian-chatorbit-customstats.json'), OPTS);
    expect(r.generator.valid).toBe(false);
    expect(r.generator.arrivalsDropped).toBe(11);
    expect(r.generator.invalidReasons[0]).toMatch(/dropped 11 iterations.*not sent/);
    expect(r.latency.p50).toBeUndefined();
    expect(r.latency.min).toBeUndefined();
    expect(r.latency.p99).toBe(18.74452);
    expect(r.toolThresholds).toHaveLength(9);
    expect(r.toolThresholds.every((t) => t.ok)).toBe(true);
    expect(r.customMetrics.http_5xx?.values.rate).toBeCloseTo(98 / 10506, 12);
    expect(r.customMetrics.status_view_duration?.values.p95).toBe(14.81539999999999);
  });

  it('steamducks: minimal summary without http_reqs, a {name:...} sub-metric', async () => {
    const r = await readResultFile(k6('summary-steamducks-minimal-7metrics.json'), OPTS);
    expect(r.requests).toBe(0);
    expect(r.latency).toEqual({ count: 0 }); // the zeros in the file stand for "no samples"
    expect(r.errorRate).toBeUndefined();
    expect(r.toolThresholds).toContainEqual({
      metric: 'http_req_duration{name:status}',
      expression: 'p(95)<10000',
      ok: true,
    });
    expect(r.customMetrics['k6.http_req_duration{name:status}']?.type).toBe('trend');
  });

  it('vanitie: failing p(95) and p(99) thresholds, many custom metrics', async () => {
    const r = await readResultFile(k6('summary-vanitie-qps6000-direct.json'), OPTS);
    expect(r.toolThresholds).toContainEqual({ metric: 'http_req_duration', expression: 'p(95)<500', ok: false });
    expect(r.toolThresholds).toContainEqual({ metric: 'http_req_duration', expression: 'p(99)<1200', ok: false });
    expect(r.toolThresholds).toContainEqual({ metric: 'http_req_failed', expression: 'rate<0.01', ok: true });
    expect(r.latency.p99).toBe(2437.207092);
    expect(r.latency.count).toBe(249);
    expect(r.errorRate).toBe(0);
    expect(r.customMetrics.biz_success_rate?.values).toEqual({ rate: 167 / 249, count: 167, total: 249 });
    expect(r.customMetrics.window_req_duration?.values.p99).toBe(2437.207092);
    expect(r.vus?.max).toBe(104);
  });

  it('kocaaydin: every request failed (http_req_failed rate 1)', async () => {
    const r = await readResultFile(k6('summary-kocaaydin-port-exhaustion.json'), OPTS_4XX);
    expect(r.requests).toBe(1422);
    expect(r.errors).toBe(1422);
    expect(r.errorRate).toBe(100);
    expect(r.toolThresholds).toEqual([{ metric: 'http_req_failed', expression: 'rate<0.5', ok: false }]);
  });

  it('grafana orb: minified single-line JSON', async () => {
    const r = await readResultFile(k6('summary-grafana-circleci-orb.json'), OPTS);
    expect(r.requests).toBe(20);
    expect(r.latency.p95).toBe(260.64205000000004);
    expect(r.durationMs).toBeCloseTo(8274.949, 3);
    expect(r.throughputRps).toBe(2.4169333249062928);
  });

  it('k6 >= 1.5 machine-readable summary (official example)', async () => {
    const r = await readResultFile(k6('machine-readable-v1-REFERENCE-grafana-example.json'), OPTS_4XX);
    expect(r.tool).toEqual({ name: 'k6', version: '1.1.0' });
    expect(r.endedAt).toBe('2025-01-15T10:30:45.123Z');
    expect(r.durationMs).toBe(60000);
    expect(r.requests).toBe(1500);
    expect(r.latency).toEqual({
      count: 1500,
      min: 123.45,
      mean: 245.67,
      p50: 234.56,
      p90: 387.65,
      p95: 421.32,
      p99: 445.12,
      max: 456.78,
    });
    expect(r.errors).toBe(30); // rate 0.02 of 1500
    expect(r.toolThresholds).toEqual([{ metric: 'k6', expression: 'results.passed', ok: true }]);
    expect(r.customMetrics.checks?.values.rate).toBe(0.95);
    expect(r.customMetrics['checks{check:status is 200}']?.values).toEqual({
      rate: 1470 / 1500,
      count: 1470,
      total: 1500,
    });
    expect(r.customMetrics.my_custom_metric?.values.count).toBe(750);
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('k6 --out json (NDJSON)', () => {
  it('wildananugrah: percentiles agree with k6-style interpolation of the raw points; 400s are not errors', async () => {
    const path = k6('ndjson-wildananugrah-springlearning.ndjson');
    const raw = rawPoints(path);
    const r = await readResultFile(path, OPTS);
    expectFiniteNumbers(r);
    expect(r.requests).toBe(raw.requests);
    expect(r.requests).toBe(96);
    expect(r.statusCodes).toEqual(raw.statuses);
    expect(r.statusCodes).toEqual({ '200': 72, '400': 24 });
    expectK6Percentiles(r, raw);
    expect(r.errors).toBe(0);
    expect(r.errorsByKind).toEqual({ http_4xx: 24 });
    expect(r.errorRate).toBe(0);
    expect((await readResultFile(path, OPTS_4XX)).errorRate).toBe(25);
    expect(r.customMetrics['k6.http_req_failed']?.values).toEqual({ rate: 0.25, count: 24, total: 96 });
    // Thresholds from the Metric lines, judged from the points.
    expect(r.toolThresholds).toEqual([
      { metric: 'http_req_duration', expression: 'p(95)<3000', ok: true },
      { metric: 'http_req_failed', expression: 'rate<0.01', ok: false },
    ]);
    // Endpoints by the name tag.
    expect(r.endpoints.map((e) => [e.name, e.requests]).sort()).toEqual([...raw.byName].sort());
    expect(r.endpoints.reduce((a, e) => a + (e.histogram?.count ?? 0), 0)).toBe(96);
    // Time series: 10 s intervals aligned to the clock, clipped to the run, adding up to the totals.
    expect(r.intervalMs).toBe(10_000);
    expect(r.intervals.reduce((a, iv) => a + iv.requests, 0)).toBe(96);
    expect(r.intervals.reduce((a, iv) => a + iv.latency.count, 0)).toBe(96);
    expect(r.intervals.reduce((a, iv) => a + iv.durationMs, 0)).toBe(r.durationMs);
    expect(r.intervals.every((iv) => iv.concurrency !== undefined)).toBe(true);
    expect(r.vus).toEqual({ max: 1 });
  });

  it('a 5 s interval width gives twice as many intervals', async () => {
    const path = k6('ndjson-wildananugrah-springlearning.ndjson');
    const r = await readResultFile(path, { ...OPTS, intervalMs: 5000 });
    expect(r.intervalMs).toBe(5000);
    expect(r.intervals.length).toBeGreaterThanOrEqual(6);
    expect(r.intervals.reduce((a, iv) => a + iv.requests, 0)).toBe(96);
  });

  it('the .gz file gives the same result as the plain one', async () => {
    const plain = await readResultFile(k6('ndjson-wildananugrah-springlearning.ndjson'), OPTS);
    const gz = await readResultFile(k6('ndjson-wildananugrah-springlearning.ndjson.gz'), OPTS);
    expect({ ...gz, sourceFiles: [] }).toEqual({ ...plain, sourceFiles: [] });
  });

  it('itzaddddd: one HTTP 500 among 100 requests', async () => {
    const path = k6('ndjson-itzaddddd-ticketreserve.ndjson');
    const r = await readResultFile(path, OPTS);
    expectK6Percentiles(r, rawPoints(path));
    expect(r.requests).toBe(100);
    expect(r.errors).toBe(1);
    expect(r.errorsByKind).toEqual({ http_5xx: 1 });
    expect(r.errorRate).toBe(1);
    expect(r.customMetrics.checks?.type).toBe('rate');
  });

  it('mattihew (k6 0.25, 2019): old line shape, 404s, a custom rate metric and named checks', async () => {
    const path = k6('ndjson-mattihew-k6tojunit-2019.ndjson');
    const raw = rawPoints(path);
    const r = await readResultFile(path, OPTS);
    expectK6Percentiles(r, raw);
    expect(r.requests).toBe(20);
    expect(r.statusCodes).toEqual({ '200': 10, '404': 10 });
    expect(r.customMetrics.errors?.type).toBe('rate');
    expect(r.customMetrics['checks{check:is status 200}']?.type).toBe('rate');
    expect(r.endpoints).toHaveLength(20);
  });

  it('jengweb (k6 0.32, first 2000 lines): tags null on vus', async () => {
    const path = k6('ndjson-jengweb-demok6-2021-first2000.ndjson');
    const r = await readResultFile(path, OPTS);
    expectK6Percentiles(r, rawPoints(path));
    expect(r.requests).toBe(142);
    expect(r.vus?.max).toBe(15);
    expect(r.customMetrics['k6.vus_max']?.values.max).toBe(20);
  });

  it('rodolfodpk: custom trend, counter and rate metrics, thresholds on them', async () => {
    const path = k6('ndjson-rodolfodpk-votacao-first2000.ndjson');
    const r = await readResultFile(path, OPTS);
    expectK6Percentiles(r, rawPoints(path));
    expect(r.requests).toBe(127);
    expect(r.statusCodes).toEqual({ '200': 26, '201': 76, '400': 25 });
    const vote: number[] = [];
    for (const line of readFileSync(path, 'utf8').split('\n')) {
      if (line.includes('"metric":"vote_latency"') && line.includes('"type":"Point"'))
        vote.push(JSON.parse(line).data.value);
    }
    vote.sort((a, b) => a - b);
    const vl = r.customMetrics.vote_latency!;
    expect(vl.type).toBe('trend');
    expect(vl.values.count).toBe(vote.length);
    expectClose(vl.values.p95, k6Percentile(vote, 95), 0.002, 'vote_latency p95');
    expect(r.customMetrics.vote_success_rate?.type).toBe('rate');
    expect(r.customMetrics.endpoint_availability?.type).toBe('counter');
    expect(r.toolThresholds.map((t) => `${t.metric}: ${t.expression}`)).toEqual([
      'http_req_duration: p(95)<500',
      'http_req_failed: rate<0.25',
      'smoke_test_success: rate>0.99',
    ]);
  });

  it('brazierale (k6 0.35): old shape with UTC timestamps', async () => {
    const path = k6('ndjson-brazierale-spark.ndjson');
    const r = await readResultFile(path, OPTS);
    expectK6Percentiles(r, rawPoints(path));
    expect(r.requests).toBe(145);
    expect(r.startedAt).toBe('2022-01-07T17:03:35.585Z');
  });

  it('a truncated last line is tolerated and reported', async () => {
    const text = readFileSync(k6('ndjson-itzaddddd-ticketreserve.ndjson'), 'utf8');
    const lines = text.trimEnd().split('\n');
    const cut = `${lines.slice(0, -1).join('\n')}\n${lines[lines.length - 1]!.slice(0, 40)}`;
    const r = await readResultFile(tmpFile(cut), OPTS);
    expect(r.notes.join(' ')).toMatch(new RegExp(`last line \\(${lines.length}\\) is incomplete`));
    const whole = await readResultFile(tmpFile(`${lines.slice(0, -1).join('\n')}\n`), OPTS);
    expect(r.requests).toBe(whole.requests);
    expect(r.latency).toEqual(whole.latency);
  });

  it('a corrupt line in the middle is an error naming the file and the line', async () => {
    const lines = readFileSync(k6('ndjson-itzaddddd-ticketreserve.ndjson'), 'utf8').split('\n');
    lines[700] = lines[700]!.slice(0, 60);
    const p = tmpFile(lines.join('\n'));
    await expectUserError(readResultFile(p, OPTS), p, 'line 701');
    const lines2 = readFileSync(k6('ndjson-itzaddddd-ticketreserve.ndjson'), 'utf8').split('\n');
    lines2[10] = '{"metric":"http_reqs","type":"Point","data":{"time":"2024-08-05T15:24:38Z","value":"one","tags":{}}}';
    await expectUserError(readResultFile(tmpFile(lines2.join('\n')), OPTS), 'line 11');
  });

  it('a gzip file cut short is read up to the cut and reported', async () => {
    const gz = gzipSync(readFileSync(k6('ndjson-wildananugrah-springlearning.ndjson')));
    const r = await readResultFile(tmpFile(gz.subarray(0, Math.floor(gz.length * 0.6))), OPTS);
    expect(r.notes.join(' ')).toMatch(/gzip file ends early/);
    expect(r.requests).toBeGreaterThan(0);
    expect(r.requests).toBeLessThan(96);
  });

  it('CRLF line endings and a UTF-8 request name split across read chunks read the same', async () => {
    const text = readFileSync(k6('ndjson-itzaddddd-ticketreserve.ndjson'), 'utf8');
    const r = await readResultFile(tmpFile(text.replace(/\n/g, '\r\n')), OPTS);
    expect(r.requests).toBe(100);
    // A long file of one endpoint with a non-ASCII name and an escaped ampersand.
    const line = (i: number) =>
      `{"metric":"http_reqs","type":"Point","data":{"time":"2025-01-01T00:00:${String(i % 60).padStart(2, '0')}.5Z","value":1,"tags":{"name":"/créer?a=1\\u0026b=${'é'.repeat(200)}","status":"200"}}}`;
    const head =
      '{"type":"Metric","data":{"name":"http_reqs","type":"counter","contains":"default","thresholds":[],"submetrics":null},"metric":"http_reqs"}\n';
    const body = Array.from({ length: 6000 }, (_, i) => line(i)).join('\n');
    const r2 = await readResultFile(tmpFile(head + body), OPTS);
    expect(r2.requests).toBe(6000);
    expect(r2.endpoints).toEqual([
      expect.objectContaining({ name: `/créer?a=1&b=${'é'.repeat(200)}`, requests: 6000 }),
    ]);
  });

  it('without status tags (systemTags) the error rate is not measured, unless 4xx count as errors anyway', async () => {
    const text = readFileSync(k6('ndjson-itzaddddd-ticketreserve.ndjson'), 'utf8').replace(/"status":"\d+",/g, '');
    const p = tmpFile(text);
    const r = await readResultFile(p, OPTS);
    expect(r.requests).toBe(100);
    expect(r.errorRate).toBeUndefined();
    expect(r.notes.join(' ')).toMatch(/no status tag/);
    const r4 = await readResultFile(p, OPTS_4XX);
    expect(r4.errors).toBe(1); // the one request k6 marked failed (a 500)
    expect(r4.errorRate).toBe(1);
  });

  it('dropped_iterations points make the generator invalid', async () => {
    const extra = [
      '{"type":"Metric","data":{"name":"dropped_iterations","type":"counter","contains":"default","thresholds":[],"submetrics":null},"metric":"dropped_iterations"}',
      '{"metric":"dropped_iterations","type":"Point","data":{"time":"2024-08-05T15:24:39+07:00","value":3,"tags":{"scenario":"default"}}}',
    ].join('\n');
    const text = readFileSync(k6('ndjson-itzaddddd-ticketreserve.ndjson'), 'utf8');
    const r = await readResultFile(tmpFile(`${text.trimEnd()}\n${extra}\n`), OPTS);
    expect(r.generator.valid).toBe(false);
    expect(r.generator.arrivalsDropped).toBe(3);
    expect(r.customMetrics['k6.dropped_iterations']?.values.count).toBe(3);
  });

  it("a multi-megabyte file that defeats the fast path's guesses reads the same as JSON.parse of each line", async () => {
    // The fast path guesses the next metric from the previous one, the place of a tag key from recent lines,
    // a tag value or timestamp from recent ones. Here metrics come in random order in both line shapes, tag
    // sets vary (so keys move), there are more names than it remembers, values have escapes and non-ASCII,
    // timestamps repeat or not in two zones; the file spans several read chunks. Expected figures come from
    // JSON.parse.
    let seed = 7;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const pick = <T>(xs: T[]): T => xs[Math.floor(rnd() * xs.length)]!;
    const names = Array.from({ length: 14 }, (_, i) =>
      i % 5 === 0
        ? `/q?a=${i}\\u0026b=1`
        : i % 5 === 1
          ? `/say \\"hi\\" ${i}`
          : i % 5 === 2
            ? `/café/${i}`
            : `/api/item/${i}`,
    );
    const metrics = [
      'http_reqs',
      'http_req_duration',
      'http_req_failed',
      'http_req_waiting',
      'checks',
      'my_trend',
      'my_counter',
      'my_gauge',
    ];
    const head = [
      ['http_reqs', 'counter'],
      ['http_req_duration', 'trend'],
      ['http_req_failed', 'rate'],
      ['http_req_waiting', 'trend'],
      ['checks', 'rate'],
      ['my_trend', 'trend'],
      ['my_counter', 'counter'],
      ['my_gauge', 'gauge'],
    ].map(
      ([n, t]) =>
        `{"type":"Metric","data":{"name":"${n}","type":"${t}","contains":"default","thresholds":[],"submetrics":null},"metric":"${n}"}`,
    );
    const lines = [...head];
    let clock = Date.UTC(2025, 0, 1, 23, 59, 30) * 1000;
    let time = '';
    while (lines.length < 16_000) {
      if (time === '' || rnd() < 0.4) {
        clock += Math.floor(rnd() * 300_000);
        const zone = rnd() < 0.5 ? 'Z' : '+02:00';
        const shifted = new Date(Math.floor(clock / 1000) + (zone === 'Z' ? 0 : 7_200_000)).toISOString().slice(0, 19);
        const frac = String(clock % 1_000_000)
          .padStart(6, '0')
          .replace(/0+$/, '');
        time = `${shifted}${frac ? `.${frac}` : ''}${zone}`;
      }
      const metric = pick(metrics);
      const status = pick(['200', '200', '200', '201', '404', '503', '0']);
      const tags: Array<[string, string]> = [];
      if (status === '0' || status === '503') tags.push(['error_code', status === '0' ? '1050' : '1503']);
      tags.push(['expected_response', String(status < '400' && status !== '0')]);
      if (rnd() < 0.7) tags.push(['group', pick(['', '::a', '::bb'])]);
      tags.push(['method', pick(['GET', 'POST'])], ['name', pick(names)], ['proto', 'HTTP/1.1'], ['status', status]);
      if (rnd() < 0.5) tags.push(['tls_version', 'tls1.3']);
      if (metric === 'checks')
        tags.splice(0, tags.length, ['check', pick(['ok', 'has body', 'fast'])], ['group', pick(['', '::a'])]);
      let tagText = rnd() < 0.05 ? 'null' : `{${tags.map(([k, v]) => `"${k}":"${v}"`).join(',')}}`;
      if (metric === 'checks' && tagText === 'null') tagText = '{"check":"ok"}';
      const value =
        metric === 'http_reqs'
          ? '1'
          : metric === 'http_req_failed' || metric === 'checks'
            ? pick(['0', '1'])
            : metric === 'my_gauge'
              ? pick(['-3', '7', '2.5', '1e2'])
              : metric === 'my_counter'
                ? pick(['1', '4'])
                : String(Math.round(rnd() * 400_000) / 1000 + (rnd() < 0.01 ? 2000 : 0));
      lines.push(
        rnd() < 0.2
          ? `{"type":"Point","data":{"time":"${time}","value":${value},"tags":${tagText}},"metric":"${metric}"}`
          : `{"metric":"${metric}","type":"Point","data":{"time":"${time}","value":${value},"tags":${tagText}}}`,
      );
    }
    const text = `${lines.join('\n')}\n`;
    expect(text.length).toBeGreaterThan(3 * 1024 * 1024);

    const byName = new Map<string, { requests: number; errors: number; durations: number[] }>();
    const statuses: Record<string, number> = {};
    const durations: number[] = [];
    const trend: number[] = [];
    const checks = new Map<string, [number, number]>();
    let requests = 0;
    let errors = 0;
    let counter = 0;
    let gauge: number | undefined;
    let first = Infinity;
    let last = -Infinity;
    const perInterval = new Map<number, number>();
    for (const line of lines) {
      const o = JSON.parse(line);
      if (o.type !== 'Point') continue;
      const { value, tags } = o.data;
      const t = Date.parse(o.data.time);
      first = Math.min(first, t);
      last = Math.max(last, t);
      const ep = () => {
        const n = tags?.name ?? tags?.url ?? '(no name)';
        if (!byName.has(n)) byName.set(n, { requests: 0, errors: 0, durations: [] });
        return byName.get(n)!;
      };
      if (o.metric === 'http_reqs') {
        const isError = tags?.status === '0' || Number(tags?.status) >= 500;
        requests += value;
        errors += isError ? value : 0;
        perInterval.set(Math.floor(t / 10_000), (perInterval.get(Math.floor(t / 10_000)) ?? 0) + value);
        if (tags?.status !== undefined) statuses[tags.status] = (statuses[tags.status] ?? 0) + value;
        ep().requests += value;
        ep().errors += isError ? value : 0;
      } else if (o.metric === 'http_req_duration') {
        durations.push(value);
        ep().durations.push(value);
      } else if (o.metric === 'my_trend') trend.push(value);
      else if (o.metric === 'my_counter') counter += value;
      else if (o.metric === 'my_gauge') gauge = value;
      else if (o.metric === 'checks' && tags?.check !== undefined) {
        const c = checks.get(tags.check) ?? [0, 0];
        c[value ? 0 : 1]++;
        checks.set(tags.check, c);
      }
    }
    durations.sort((a, b) => a - b);
    trend.sort((a, b) => a - b);

    const path = tmpFile(text);
    const r = await readResultFile(path, OPTS);
    expectFiniteNumbers(r);
    expect(r.notes.join(' ')).not.toMatch(/incomplete|ignored/);
    expect(r.requests).toBe(requests);
    expect(r.errors).toBe(errors);
    expect(r.statusCodes).toEqual(statuses);
    expect(Date.parse(r.startedAt)).toBe(first);
    expect(Date.parse(r.endedAt)).toBe(last);
    expectK6Percentiles(r, { durations, requests, statuses, byName: new Map() });
    expect(new Map(r.endpoints.map((e) => [e.name, [e.requests, e.errors, e.latency.count]]))).toEqual(
      new Map([...byName].map(([n, e]) => [n, [e.requests, e.errors, e.durations.length]])),
    );
    expect(r.endpoints.map((e) => e.name)).toEqual(expect.arrayContaining(['/q?a=0&b=1', '/say "hi" 1', '/café/2']));
    for (const e of r.endpoints) {
      const d = byName.get(e.name)!.durations.sort((a, b) => a - b);
      if (d.length > 0) expectClose(e.latency.p90, k6Percentile(d, 90), 0.002, `${e.name} p90`);
    }
    const k0 = Math.floor(first / 10_000);
    expect(r.intervals.map((iv) => iv.requests)).toEqual(
      Array.from({ length: Math.floor(last / 10_000) - k0 + 1 }, (_, i) => perInterval.get(k0 + i) ?? 0),
    );
    expect(r.intervals.reduce((a, iv) => a + iv.latency.count, 0)).toBe(durations.length);
    const mt = r.customMetrics.my_trend!.values;
    expect(mt.count).toBe(trend.length);
    expect(mt.min).toBe(trend[0]);
    expect(mt.max).toBe(trend[trend.length - 1]);
    expectClose(mt.p95, k6Percentile(trend, 95), 0.002, 'my_trend p95');
    expect(r.customMetrics.my_counter?.values.count).toBe(counter);
    expect(r.customMetrics.my_gauge?.values.value).toBe(gauge);
    for (const [name, [p, f]] of checks)
      expect(r.customMetrics[`checks{check:${name}}`]?.values).toEqual({ rate: p / (p + f), count: p, total: p + f });
    // Every serialised histogram's exact min and max lie in its first and last bucket (they once showed another
    // histogram's: see SerializedData in src/metrics/histogram.ts).
    const hists: SerializedHistogram[] = [
      r.histogram!,
      ...r.endpoints.map((e) => e.histogram!),
      ...r.intervals.flatMap((iv) => (iv.histogram ? [iv.histogram] : [])),
    ];
    for (const h of hists) {
      const [lo, hi] = [bucketRange(h.buckets[0]![0]), bucketRange(h.buckets[h.buckets.length - 1]![0])];
      expect(
        h.minUs >= lo[0] && h.minUs <= lo[1] && h.maxUs >= hi[0] && h.maxUs <= hi[1],
        `${h.minUs}..${h.maxUs}`,
      ).toBe(true);
    }
    // The same bytes through gzip (fresh chunks instead of reused read buffers) give the same result.
    const gz = await readResultFile(tmpFile(gzipSync(text)), OPTS);
    expect({ ...gz, sourceFiles: [] }).toEqual({ ...r, sourceFiles: [] });
  });

  it('the one-pass percentile helper equals Histogram.interpolatedPercentileMs', () => {
    const h = new Histogram();
    let x = 12345;
    for (let i = 0; i < 5000; i++) {
      x = (x * 1103515245 + 12345) % 2147483648;
      h.recordMs((x % 100000) / 37 + (i % 7 === 0 ? 3000 : 0));
    }
    const ps = [0, 1, 50, 90, 95, 99, 99.9, 100];
    const got = interpolatedPercentilesMs(h.toJSON(), ps);
    ps.forEach((p, i) => {
      expect(got[i]).toBe(h.interpolatedPercentileMs(p));
    });
  });
});

// ---------------------------------------------------------------------------------------------------------

describe('the default error definition (4xx are errors, as k6 http_req_failed)', () => {
  it("yphuang26 (handleSummary, http_req_failed 0.994): the error rate is measured and named as k6's", async () => {
    const r = await readResultFile(k6('summary-yphuang26-ticketsystem.json'), OPTS_4XX);
    expect(r.requests).toBe(111_880);
    expect(r.errors).toBe(111_259);
    expect(r.errorRate).toBeCloseTo((111_259 / 111_880) * 100, 10);
    expect(r.notes.join(' ')).toContain("The error rate is k6's http_req_failed (111259 failed of 111880)");
    // The old meaning cannot tell a 4xx from a 5xx in a summary: not measured, and the note says how to measure it.
    const old = await readResultFile(k6('summary-yphuang26-ticketsystem.json'), OPTS);
    expect(old.errorRate).toBeUndefined();
    // ...and so is the error count: never "111,259 errors" beside an error rate that is not measured.
    expect(metricValue(old, 'errors')).toBeUndefined();
    expect(metricValue(r, 'errors')).toBe(111_259);
    expect(old.notes.join(' ')).toMatch(/count-4xx-as-errors: false. the error rate is not measured/);
  });

  it('ab0amin (handleSummary): one failed request of 9,847 is a measured 0.0102 %, not "1 error, not measured"', async () => {
    const r = await readResultFile(k6('summary-ab0amin-rahoot-countthreshold.json'), OPTS_4XX);
    expect(r.errors).toBe(1);
    expect(r.errorRate).toBeCloseTo((1 / 9847) * 100, 10);
  });

  it('flab-dogspot (Artillery 2): 1,972 404s are errors by default, per endpoint too, and endpoints add up to the run', async () => {
    const path = art('v2-flab-dogspot-404.json');
    const r = await readResultFile(path, OPTS_4XX);
    expect(r.statusCodes).toEqual({ 200: 1490, 404: 1972, 500: 14 });
    expect(r.errorsByKind.http_4xx).toBe(1972);
    expect(r.endpoints.reduce((a, e) => a + e.requests, 0)).toBe(r.requests);
    expect(r.endpoints.reduce((a, e) => a + e.errors, 0)).toBe(r.errors);
    const old = await readResultFile(path, OPTS);
    expect(r.errors - old.errors).toBe(1972);
  });
});

/**
 * The merge maths on genuine files of different runs: readResults refuses to add up runs that did not run side by
 * side (see the test below), so these merge the files' RunResults directly.
 */
async function mergeFiles(paths: string[]): Promise<RunResult> {
  const parts: RunResult[] = [];
  for (const p of paths) parts.push(await readResultFile(p, OPTS));
  return mergeRunResults(parts, OPTS);
}

describe('merging several files', () => {
  it('refuses files of runs that ran one after another, naming each with its start', async () => {
    const a = k6('ndjson-wildananugrah-springlearning.ndjson');
    const b = k6('ndjson-itzaddddd-ticketreserve.ndjson');
    const err = await readResults([a, b], OPTS).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(
      /ran one after another.*started 2025-11-18T14:02:01\.094Z.*started 2024-08-05T08:24:38\.952Z.*Judge each run in a step of its own/,
    );
  });

  it('two Artillery 2 reports: counts add up; percentiles are a request-weighted estimate and the note says so', async () => {
    const a = art('v2-sawady-nodejscourse.json');
    const b = art('v2-media-scraper.json');
    const [ra, rb] = [await readResultFile(a, OPTS), await readResultFile(b, OPTS)];
    const m = await mergeFiles([a, b]);
    expectFiniteNumbers(m);
    expect(m.requests).toBe(3000 + 6000);
    expect(m.errors).toBe(3);
    expect(m.errorRate).toBeCloseTo((3 / 9000) * 100, 10);
    expect(m.statusCodes).toEqual({ '200': 2997 + 6000, '500': 3 });
    expect(m.latency.count).toBe(9000);
    expect(m.latency.max).toBe(Math.max(ra.latency.max!, rb.latency.max!));
    expect(m.latency.min).toBe(1);
    expect(m.latency.mean).toBeCloseTo((3.3 * 3000 + 211.7 * 6000) / 9000, 9);
    expect(m.latency.p95).toBeCloseTo((4 * 3000 + 1465.9 * 6000) / 9000, 9);
    expect(m.histogram).toBeUndefined();
    expect(m.notes[0]).toMatch(/only summaries.*request-weighted.*estimate/);
    expect(m.sourceFiles).toHaveLength(2);
    expect(m.endpoints.map((e) => e.name).sort()).toEqual(['/api/scrape', '/health']);
    expect(m.customMetrics['artillery.vusers.failed']?.values).toEqual({ rate: 0, count: 0, total: 9000 });
    expect(m.vus?.created).toBe(9000);
  });

  it('two k6 NDJSON files: histograms merge exactly', async () => {
    const a = k6('ndjson-wildananugrah-springlearning.ndjson');
    const b = k6('ndjson-itzaddddd-ticketreserve.ndjson');
    const m = await mergeFiles([a, b]);
    expectFiniteNumbers(m);
    const ra = rawPoints(a);
    const rb = rawPoints(b);
    const all = [...ra.durations, ...rb.durations].sort((x, y) => x - y);
    expect(m.requests).toBe(96 + 100);
    expect(m.errors).toBe(1);
    expect(m.histogram?.count).toBe(196);
    expectK6Percentiles(m, { ...ra, durations: all });
    expect(m.notes[0]).toMatch(/combining their latency histograms.*exact/);
    expect(m.notes.join(' ')).not.toMatch(/estimate/);
    // Rates merge from their counts, exactly.
    expect(m.customMetrics['k6.http_req_failed']?.values).toEqual({ rate: 25 / 196, count: 25, total: 196 });
    expect(m.customMetrics['k6.http_req_duration']?.values.count).toBe(196);
    expect(m.intervals.reduce((acc, iv) => acc + iv.requests, 0)).toBe(196);
  });

  it('two Artillery 1 reports merge exactly through their raw latencies', async () => {
    const a = art('v1-buianalex-rsschool-f.json');
    const b = art('v1-interledger-wallet-2019.json');
    const m = await mergeFiles([a, b]);
    expect(m.requests).toBe(50 + 1604);
    expect(m.histogram?.count).toBe(50 + 1604);
    expect(m.notes[0]).toMatch(/exact/);
  });

  it('thresholds crossed in any instance are failed; generator problems keep the file name', async () => {
    const a = k6('summary-nortonjulian-chatorbit-customstats.json');
    const b = k6('summary-vanitie-qps6000-direct.json');
    const m = await readResults([a, b], OPTS);
    expect(m.generator.valid).toBe(false);
    expect(m.generator.invalidReasons[0]).toMatch(/^summary-nortonjulian-chatorbit-customstats\.json: k6 dropped 11/);
    expect(m.toolThresholds).toContainEqual({ metric: 'http_req_duration', expression: 'p(95)<500', ok: false });
    expect(m.toolThresholds).toContainEqual({ metric: 'http_req_failed', expression: 'rate<0.01', ok: true });
    // nortonjulian cannot measure its error rate, so the merge cannot either.
    expect(m.errorRate).toBeUndefined();
    // k6 summaries have no timestamps: throughput is the sum of both.
    expect(m.throughputRps).toBeCloseTo(38.71109278243333 + 2.7661616208779267, 9);
    expect(m.latency.p50).toBeUndefined(); // one file lacks the median
  });
});
