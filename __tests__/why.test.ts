// The diagnosis rules (src/diagnose) and the Why block's text (src/report/why.ts) on runs built to the edge of
// each rule: a throughput limit against a service that keeps up, saturation before and after the rise, a memory
// rise that levels off against one that does not, the errors grouped with payment and authentication failures
// first, statements slower than the baseline's, evicted statements, and "no single cause found".
import { describe, expect, it } from 'vitest';
import { entryFromRun } from '../src/baseline/entry.js';
import { diagnose } from '../src/diagnose/index.js';
import { decide } from '../src/gate/evaluate.js';
import { parseTargets } from '../src/gate/targets.js';
import { Histogram } from '../src/metrics/histogram.js';
import type { DatabaseActivity, InfraMetric, IntervalResult, RunResult, Verdict } from '../src/model.js';
import { renderReport } from '../src/report/markdown.js';
import { renderTerminal } from '../src/report/terminal.js';
import { whyLines, whyMarkdown } from '../src/report/why.js';
import { reportInput } from './helpers/report-scenarios.js';
import { sampleRun } from './helpers/sample-run.js';

/** Ten 1-second intervals of `rate` arrivals asked; served and in flight per interval as given. */
function intervals(served: number[], inFlight: number[], asked: number, p99: number[]): IntervalResult[] {
  return served.map((n, i) => ({
    startMs: i * 1000,
    durationMs: 1000,
    targetRate: asked,
    requests: n,
    errors: 0,
    concurrency: inFlight[i],
    latency: { count: n, p99: p99[i] },
  }));
}

function run(over: Partial<RunResult>): RunResult {
  const lat = new Histogram();
  for (let i = 0; i < 900; i++) lat.recordMs(50);
  for (let i = 0; i < 100; i++) lat.recordMs(900);
  const slowOnly = new Histogram();
  for (let i = 0; i < 100; i++) slowOnly.recordMs(900);
  for (let i = 0; i < 100; i++) slowOnly.recordMs(50);
  const fast = new Histogram();
  for (let i = 0; i < 800; i++) fast.recordMs(50);
  return sampleRun({
    durationMs: 10_000,
    requests: 1000,
    latency: { count: 1000, p99: 900 },
    histogram: lat.toJSON(),
    intervalMs: 1000,
    generator: {
      arrivalsStarted: 1000,
      arrivalsScheduled: 1000,
      arrivalsDropped: 0,
      valid: true,
      invalidReasons: [],
      maxInFlight: 1000,
    },
    endpoints: [
      {
        name: 'GET /price',
        requests: 200,
        errors: 0,
        latency: { count: 200, p99: 900 },
        statusCodes: { '200': 200 },
        histogram: slowOnly.toJSON(),
      },
      {
        name: 'POST /bid',
        requests: 800,
        errors: 0,
        latency: { count: 800, p99: 50 },
        statusCodes: { '201': 800 },
        histogram: fast.toJSON(),
      },
    ],
    ...over,
  });
}

function judge(r: RunResult, targets = ['p99 < 500ms', 'error_rate < 1%']): Verdict {
  return decide(r, parseTargets(targets), 'any');
}

function series(name: string, unit: InfraMetric['unit'], points: Array<[number, number]>, limit?: number): InfraMetric {
  return {
    name,
    source: 'prometheus',
    query: name,
    unit,
    stats: { max: Math.max(...points.map(([, v]) => v)) },
    series: points,
    ...(limit !== undefined ? { limit } : {}),
  };
}

const flat = (v: number): number[] => Array.from({ length: 10 }, () => v);

describe('diagnose: when, saturation, throughput limit', () => {
  it('finds the first interval past the target and the endpoint carrying the slow requests', () => {
    const r = run({ intervals: intervals(flat(100), flat(5), 100, [60, 70, 620, 900, 900, 900, 900, 900, 900, 900]) });
    const d = diagnose(r, judge(r))!;
    expect(d.when).toMatchObject({ target: 'p99 < 500ms', atMs: 2000, value: 620, threshold: 500 });
    expect(d.when!.slow).toEqual({
      requests: 100,
      ofRequests: 1000,
      endpoints: [{ name: 'GET /price', slow: 100, requests: 200 }],
    });
    // Nothing measured with a limit, one endpoint carrying all the slow requests on a fifth of the traffic.
    expect(d.cause).toEqual({ kind: 'slow-endpoint', subject: 'GET /price' });
    expect(whyMarkdown(d)).toContain(
      '**Cause: `GET /price` alone is slow**: it carried 100 % of the 100 requests slower than 500 ms (50 % of its own)',
    );
  });

  it('tells a throughput limit (served flat, in flight rising) from a service that keeps up', () => {
    const limited = run({
      intervals: intervals(
        [60, 60, 61, 59, 60, 60, 61, 60, 59, 60],
        [5, 12, 20, 28, 36, 44, 52, 60, 68, 76],
        100,
        flat(900),
      ),
    });
    const d = diagnose(limited, judge(limited))!;
    expect(d.throughputLimit).toEqual({
      fromMs: 0,
      toMs: 10_000,
      servedRps: 60,
      askedRps: 100,
      inFlightFrom: 5,
      inFlightTo: 76,
      littleMs: 1266.67,
    });
    expect(d.cause).toEqual({ kind: 'throughput-limit', subject: '60' });
    expect(whyLines(d)[0]).toMatch(
      /^Why: Cause: a throughput limit at 60\/s: from 0\.0 s to 10 s it served a flat 60\/s of 100\/s asked while requests in flight rose 5 → 76/,
    );

    const keepsUp = run({ intervals: intervals(flat(100), [5, 7, 9, 11, 13, 15, 17, 19, 21, 23], 100, flat(900)) });
    expect(diagnose(keepsUp, judge(keepsUp))!.throughputLimit).toBeUndefined();
  });

  it('orders saturated series against the latency rise and names the one before it, not the one after', () => {
    const ivs = intervals(flat(100), flat(5), 100, [60, 60, 60, 700, 900, 900, 900, 900, 900, 900]);
    const r = run({
      intervals: ivs,
      infra: [
        series('cpu', '%', [
          [1000, 30],
          [2000, 50],
          [3000, 85],
          [4000, 97],
          [5000, 99],
        ]),
        series(
          'db_connections',
          'count',
          [
            [1000, 10],
            [2000, 12],
            [3000, 14],
            [4000, 16],
            [5000, 20],
            [6000, 25],
            [7000, 38],
          ],
          40,
        ),
        series(
          'event_loop_lag',
          'ms',
          [
            [1000, 5],
            [9000, 20],
          ],
          100,
        ),
      ],
    });
    const d = diagnose(r, judge(r))!;
    expect(d.saturation.map((s) => [s.name, s.firstAtMs, s.order])).toEqual([
      ['cpu', 3000, 'with'],
      ['db_connections', 7000, 'after'],
    ]);
    expect(d.unsaturated).toEqual([
      { name: 'event_loop_lag', peakPercent: 20 },
      { name: 'requests in flight (load generator)', peakPercent: 0.5 },
    ]);
    expect(d.cause).toEqual({ kind: 'saturation', subject: 'cpu' });
    expect(whyMarkdown(d)).toContain(
      '**Cause: `cpu` at its limit**: passed 80 % at 3 s, peak 99 %, as the latency rose.',
    );
  });

  it('uses a target on a series as its threshold, and the generator cap on requests in flight', () => {
    const r = run({
      intervals: intervals(
        flat(100),
        [5, 5, 850, 900, 900, 900, 900, 900, 900, 900],
        100,
        [60, 60, 700, 900, 900, 900, 900, 900, 900, 900],
      ),
      infra: [
        series('memory', '%', [
          [1000, 40],
          [2000, 72],
          [3000, 75],
        ]),
      ],
    });
    const d = diagnose(r, judge(r, ['p99 < 500ms', 'memory < 70%']))!;
    const byName = new Map(d.saturation.map((s) => [s.name, s]));
    expect(byName.get('memory')).toMatchObject({ basis: 'target', threshold: 70, firstAtMs: 2000 });
    expect(byName.get('requests in flight (load generator)')).toMatchObject({
      basis: 'limit',
      limit: 1000,
      firstAtMs: 3000,
    });
  });

  it('says "no single cause found" when nothing stands out, and what it could not look at', () => {
    const r = sampleRun({ latency: { count: 100, p99: 900 } });
    const d = diagnose(r, judge(r))!;
    expect(d.cause).toBeUndefined();
    expect(d.limits).toEqual([
      'no latency histograms per endpoint: which endpoint carried the slow requests is not known',
      'no infrastructure series with a limit or a target: nothing could be called saturated (give sources a limit, or targets)',
      'no PostgreSQL source: statements, scans and lock waits were not looked at',
      'no requests-in-flight series: a throughput limit cannot be told',
    ]);
    expect(whyMarkdown(d)).toMatch(
      /^### Why\n\n\*\*No single cause found\*\* in what this run measured: the findings are below\./,
    );
  });
});

describe('diagnose: memory, database, errors', () => {
  const mib = 1024 * 1024;
  it('gives a leak hint for memory rising steadily, none for memory that levels off', () => {
    const rising = series(
      'app_memory',
      'bytes',
      Array.from({ length: 10 }, (_, i): [number, number] => [(i + 1) * 1000, (100 + 10 * i) * mib]),
    );
    const levels = series(
      'heap',
      'bytes',
      Array.from({ length: 10 }, (_, i): [number, number] => [(i + 1) * 1000, (100 + 40 * (1 - Math.exp(-i))) * mib]),
    );
    const r = run({ infra: [rising, levels] });
    const d = diagnose(r, judge(r, [`app_memory < ${150 * mib}`]))!;
    const m = new Map(d.memory.map((x) => [x.name, x]));
    expect(m.get('app_memory')).toMatchObject({ leak: true, r2: 1, slopePerMin: 600 * mib });
    expect(m.get('heap')!.leak).toBe(false);
    expect(d.cause).toEqual({ kind: 'memory-leak', subject: 'app_memory' });
    expect(whyLines(d)[0]).toBe(
      'Why: Cause: memory rising steadily (app_memory): 100 MiB → 190 MiB, 600 MiB/min over 10 samples (r² 1.00), past its target 150 MiB; it did not level off (a leak?).',
    );
  });

  const db = (over: Partial<DatabaseActivity>): DatabaseActivity => ({
    source: 'db_connections',
    totalMs: 10_000,
    statements: [
      {
        queryid: '1',
        query: 'SELECT * FROM events WHERE lower(tag) = $1',
        calls: 100,
        totalMs: 8000,
        meanMs: 80,
        sharePercent: 80,
        blocksPerCall: 3000,
      },
      {
        queryid: '2',
        query: 'UPDATE items SET price = $1 WHERE id = $2',
        calls: 400,
        totalMs: 2000,
        meanMs: 5,
        sharePercent: 20,
        blocksPerCall: 4,
      },
    ],
    tables: [
      {
        table: 'public.events',
        seqScan: 100,
        seqTupRead: 30_000_000,
        idxScan: 2,
        liveRows: 300_000,
        indexes: [{ name: 'events_tag', scans: 2 }],
      },
    ],
    ...over,
  });

  it('names a table read by sequential scans when a heavy statement mentions it, and lock waits before that', () => {
    const r = run({ database: [db({})] });
    const d = diagnose(r, judge(r))!;
    expect(d.cause).toEqual({ kind: 'sequential-scans', subject: 'public.events' });
    expect(whyMarkdown(d)).toContain(
      "**Cause: sequential scans of `public.events`**: `SELECT * FROM events WHERE lower(tag) = $1` took 80 % of the database's time (100 calls, mean 80 ms), reading 3,000 blocks (23.4 MiB) per call; `public.events`: 100 sequential scans read 30,000,000 rows (300,000 each) against 2 index scans.",
    );

    const locked = run({
      database: [
        db({
          lockWaits: [
            {
              statement: 'UPDATE items SET price = $1 WHERE id = $2',
              table: 'items',
              lockType: 'transactionid',
              samples: 12,
              maxWaiting: 9,
              firstAtMs: 400,
            },
          ],
        }),
      ],
    });
    const dl = diagnose(locked, judge(locked))!;
    expect(dl.cause).toEqual({ kind: 'lock-waits', subject: 'items' });
    expect(whyLines(dl)[0]).toBe(
      'Why: Cause: lock waits on items: up to 9 connections waiting at once, in 12 samples from 0.4 s, on UPDATE items SET price = $1 WHERE id = $2.',
    );
  });

  it('lists statements slower than the baseline run and warns about evicted entries', () => {
    const r = run({ database: [db({ dealloc: 42, tables: [] })] });
    const v = judge(r);
    v.baseline = {
      source: 'branch',
      statements: [
        { queryid: '2', meanMs: 1, calls: 400 },
        { queryid: '1', meanMs: 75, calls: 100 },
      ],
    };
    const d = diagnose(r, v)!;
    expect(d.database!.slower).toEqual([
      { queryid: '2', query: 'UPDATE items SET price = $1 WHERE id = $2', meanMs: 5, baselineMeanMs: 1 },
    ]);
    const md = whyMarkdown(d);
    expect(md).toContain('slower than the baseline: `UPDATE items SET price = $1 WHERE id = $2` mean 1 ms → 5 ms');
    expect(md).toContain('⚠️ 42 pg_stat_statements entries evicted during the run');
    // The heavy statement without table counters that show it: named by its text.
    expect(d.cause).toEqual({ kind: 'sequential-scans', subject: 'SELECT * FROM events WHERE lower(tag) = $1' });
    expect(md).toContain('**Cause: a statement reading a whole table each call**');
  });

  it('records the top statements in the baseline entry, for the next run to compare with', () => {
    const e = entryFromRun(run({ database: [db({})] }), {
      environment: 'ci',
      git: { owner: 'o', repo: 'r', eventName: 'push' },
    });
    expect(e.statements).toEqual([
      { queryid: '1', meanMs: 80, calls: 100 },
      { queryid: '2', meanMs: 5, calls: 400 },
    ]);
    expect(
      entryFromRun(run({}), { environment: 'ci', git: { owner: 'o', repo: 'r', eventName: 'push' } }),
    ).not.toHaveProperty('statements');
  });

  it('groups the error logs with payment and authentication failures first, beside the failing endpoints', () => {
    const r = run({
      errors: 60,
      errorRate: 6,
      endpoints: [
        {
          name: 'POST /api/payments',
          requests: 100,
          errors: 50,
          latency: { count: 100 },
          statusCodes: { '201': 50, '502': 50 },
        },
        {
          name: 'POST /login',
          requests: 900,
          errors: 10,
          latency: { count: 900 },
          statusCodes: { '200': 890, '401': 10 },
          errorsByKind: { http_4xx: 10 },
        },
      ],
      logs: [
        {
          source: 'log_errors',
          query: 'q',
          count: 80,
          top: [
            { message: 'ERROR pool timeout', count: 30 },
            { message: 'ERROR JWT token expired', count: 10 },
            { message: 'ERROR payment provider 502 on charge', count: 40 },
          ],
        },
      ],
      intervals: [{ startMs: 0, durationMs: 1000, requests: 1000, errors: 60, latency: { count: 1000 } }],
    });
    const d = diagnose(r, judge(r, ['error_rate < 1%']))!;
    expect(d.errors!.logs.map((l) => [l.group, l.message])).toEqual([
      ['payment', 'ERROR payment provider 502 on charge'],
      ['auth', 'ERROR JWT token expired'],
      ['other', 'ERROR pool timeout'],
    ]);
    expect(d.errors!.endpoints[0]).toEqual({
      name: 'POST /api/payments',
      errors: 50,
      requests: 100,
      codes: { '502': 50 },
    });
    expect(d.cause).toEqual({ kind: 'errors', subject: 'POST /api/payments' });
    expect(whyLines(d)).toContain(
      '  - Errors: POST /api/payments 50 of 100 (502 × 50); POST /login 10 of 900 (401 × 10); payment failures in the logs: ERROR payment provider 502 on charge × 40; authentication failures in the logs: ERROR JWT token expired × 10; top log message ERROR pool timeout × 30.',
    );
  });
});

describe('the Why block in the report', () => {
  it('stands right under the results table of a failed run, folds its evidence, and is absent on a pass', () => {
    const r = run({ intervals: intervals(flat(100), flat(5), 100, [60, 70, 620, 900, 900, 900, 900, 900, 900, 900]) });
    const v = judge(r);
    const why = diagnose(r, v)!;
    const md = renderReport(reportInput(r, v, { why }));
    const at = md.indexOf('### Why');
    expect(at).toBeGreaterThan(md.indexOf('| Metric'));
    expect(md.slice(at)).toMatch(
      /^### Why\n\n\*\*Cause: `GET \/price` alone is slow\*\*.*\n\n- \*\*When:\*\* `p99 < 500ms` first broke in the interval at 2 s \(620 ms\)/,
    );
    expect(md).toContain('<details><summary><b>Why: the evidence</b>');
    expect(renderTerminal(reportInput(r, v, { why }))).toMatch(/\nWhy: Cause: GET \/price alone is slow/);

    const ok = sampleRun();
    const pass = judge(ok);
    const input = reportInput(ok, pass, { why: diagnose(ok, pass)! });
    expect(renderReport(input)).not.toContain('### Why');
    expect(renderTerminal(input)).not.toContain('Why:');
  });
});
