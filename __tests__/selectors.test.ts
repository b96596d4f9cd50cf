// Per-endpoint targets and guards (`p99{bid} < 500ms`, `responses{bid, 201} >= 1000`), metric-vs-metric targets
// (`bids_stored == responses{bid, 201}`), a tool's own thresholds as verdict rows, and a counter's bare name as its
// count. Values are read off genuine tool output (fixtures/), and checked against figures recomputed from the raw
// file where the file has raw points.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/load.js';
import { readResultFile, readResults } from '../src/readers/index.js';
import { decide, toolThresholdResults } from '../src/gate/evaluate.js';
import { metricValue } from '../src/gate/metrics.js';
import { matchEndpoints } from '../src/gate/selectors.js';
import { describeTarget, parseTarget, parseTargets } from '../src/gate/targets.js';
import type { EndpointResult, InfraMetric, IntervalResult, RunResult } from '../src/model.js';
import { GuardMonitor, parseGuard, parseGuards } from '../src/phases/guards.js';
import { ConsolePeriodReader, type ConsolePeriod } from '../src/engines/artillery/periods.js';
import { artilleryV2Reader, periodInterval } from '../src/readers/artillery-v2.js';
import { UserError } from '../src/errors.js';

const FIX = fileURLToPath(new URL('./fixtures/', import.meta.url));
const OPTS = { phase: 'sustained', count4xxAsErrors: true };
const read = (f: string, count4xxAsErrors = true) => readResultFile(join(FIX, f), { ...OPTS, count4xxAsErrors });

describe('target grammar: endpoint selectors and metric right-hand sides', () => {
  it.each([
    ['p99{bid} < 500ms', { metric: 'p99{bid}', op: '<', value: 500, unit: 'ms', endpoint: 'bid' }],
    ['error_rate{payment} == 0', { metric: 'error_rate{payment}', op: '==', value: 0, unit: '%', endpoint: 'payment' }],
    ['error_rate{payment} < 0.5%', { metric: 'error_rate{payment}', value: 0.5, unit: '%' }],
    [
      'errors{POST /api/payments} == 0',
      { metric: 'errors{POST /api/payments}', value: 0, unit: 'count', endpoint: 'POST /api/payments' },
    ],
    ['requests{login} >= 100', { metric: 'requests{login}', op: '>=', value: 100, unit: 'count' }],
    ['responses{bid, 201} >= 1000', { metric: 'responses{bid, 201}', value: 1000, endpoint: 'bid', status: '201' }],
    ['responses{bid,2xx} > 0', { metric: 'responses{bid, 2xx}', status: '2xx' }],
    ['p(95){name:bid} < 0.5s', { metric: 'p95{bid}', value: 500, unit: 'ms', endpoint: 'bid' }],
    ['http_req_duration{name:bid}.p95 < 500', { metric: 'p95{bid}', value: 500, unit: 'ms' }],
    ['http_req_duration.p(99){name:bid} < 1s', { metric: 'p99{bid}', value: 1000 }],
    ['http_req_failed{name:payment} < 1%', { metric: 'error_rate{payment}', value: 1, unit: '%' }],
    [
      'p99{GET /api/items/{{ id }}} < 300ms',
      { metric: 'p99{GET /api/items/{{ id }}}', endpoint: 'GET /api/items/{{ id }}' },
    ],
    ['optional: p99{bid} < 1s', { metric: 'p99{bid}', optional: true }],
    ['checks{check:status is 200} > 0.99', { metric: 'checks{check:status is 200}', value: 0.99, unit: 'count' }],
    ['plugins.expect.failed < 10', { metric: 'plugins.expect.failed', value: 10, unit: 'count' }],
    [
      'bids_stored == responses{bid, 201}',
      {
        metric: 'bids_stored',
        op: '==',
        value: 0,
        rhsMetric: { metric: 'responses{bid, 201}', factor: 1, label: 'responses{bid, 201}' },
      },
    ],
    [
      'bids_stored >= requests{bid} * 0.99',
      {
        metric: 'bids_stored',
        op: '>=',
        rhsMetric: { metric: 'requests{bid}', factor: 0.99, label: 'requests{bid} * 0.99' },
      },
    ],
    [
      'p99{bid} <= p99{login} * 2',
      {
        metric: 'p99{bid}',
        unit: 'ms',
        endpoint: 'bid',
        rhsMetric: { metric: 'p99{login}', factor: 2, label: 'p99{login} * 2' },
      },
    ],
    [
      'max(db_connections) < requests * 0.01',
      { metric: 'max(db_connections)', rhsMetric: { metric: 'requests', factor: 0.01, label: 'requests * 0.01' } },
    ],
  ])('reads %s', (text, expected) => {
    const t = parseTarget(text);
    expect(t).toMatchObject({ source: text, ...expected });
  });

  it.each([
    ['p99{} < 5ms', /target "p99\{\} < 5ms" has an empty endpoint selector; write e\.g\. "p99\{bid\}"/],
    ['throughput{bid} > 5/s', /throughput has no per-endpoint figure; an endpoint selector goes with p50, .*responses/],
    [
      'errors{bid, 201} == 0',
      /a status in the selector goes with responses only, as in "responses\{bid, 201\} >= 1000"/,
    ],
    [
      'http_req_duration{name:bid} < 500',
      /k6's http_req_duration needs a statistic here; write e\.g\. "p95\{name:bid\} < 500ms"/,
    ],
    ['http_req_duration{name:bid}.count < 5', /"count" is not a latency statistic/],
    ['p99{bid} < 5%', /target "p99\{bid\} < 5%" has unit "%" for p99; allowed: ms, s, m/],
    [
      'error_rate{payment} < 0.5',
      /target "error_rate\{payment\} < 0.5" has unit "\(none\)" for error_rate; allowed: %/,
    ],
    ['requests{login} > 5/s', /target "requests\{login\} > 5\/s" has unit "\/s" for requests; allowed: a plain number/],
    ['bids_stored == requests{bid} * -1', /is not a metric name/],
    ['bids_stored == requests{bid} * 0', /factor that is not a positive number/],
    ['p99 == p99', /compares p99 with itself/],
    [
      'p99 < fast',
      /cannot read target "p99 < fast": expected "<metric> <op> <value><unit>" or "<metric> <op> <metric> \[\* factor\]"/,
    ],
  ])('rejects %s with a clear message', (text, message) => {
    expect(() => parseTarget(text, 'input "targets"')).toThrow(UserError);
    expect(() => parseTarget(text, 'input "targets"')).toThrow(message);
  });

  it('describes a metric right-hand side as written', () => {
    expect(describeTarget(parseTarget('bids_stored >= requests{bid}  *  0.99'))).toBe('>= requests{bid} * 0.99');
    expect(describeTarget(parseTarget('p99{bid} < 0.5s'))).toBe('< 500 ms');
  });

  it('names the line of a multi-line input', () => {
    expect(() => parseTargets('p99{bid} < 500ms\nerrors{bid, 201} == 0', 'input "targets"')).toThrow(
      /input "targets"\[1\]: target "errors\{bid, 201\} == 0"/,
    );
  });

  it('any text is a target or a UserError; a selector survives parsing and evaluation unchanged', () => {
    const pieces = fc.constantFrom(
      'p99',
      'error_rate',
      'responses',
      'http_req_duration',
      '{',
      '}',
      '{{ id }}',
      ',',
      ' ',
      '<',
      '>=',
      '==',
      '=',
      '!',
      '*',
      '0.99',
      '500ms',
      '%',
      'name:',
      'bid',
      '/api/x',
      'POST',
      '(',
      ')',
      'max(',
      'cpu',
      '.p95',
      'of max',
      '?',
    );
    fc.assert(
      fc.property(
        fc.array(pieces, { maxLength: 14 }).map((a) => a.join('')),
        fc.string({ maxLength: 40 }),
        (assembled, random) => {
          for (const text of [assembled, random, `p99{${random}} < 5ms`]) {
            try {
              const t = parseTarget(text);
              expect(typeof t.metric).toBe('string');
              metricValue(blank(), t.metric);
            } catch (e) {
              expect(e).toBeInstanceOf(UserError);
            }
          }
        },
      ),
      { numRuns: 2000 },
    );
    // Labels are kept as written, whatever they hold.
    const label = 'GET /a/{{ x }}?q=1,2 (β)';
    expect(parseTarget(`p99{${label}} < 1s`).endpoint).toBe(label);
    expect(
      metricValue(
        {
          ...blank(),
          endpoints: [{ name: label, requests: 3, errors: 1, latency: { count: 3, p99: 7 }, statusCodes: {} }],
        },
        `p99{${label}}`,
      ),
    ).toBe(7);
  });
});

/** http_reqs points of a k6 NDJSON file, by name tag and status: recomputed here, not through the reader. */
function k6Requests(path: string): Map<string, Record<string, number>> {
  const out = new Map<string, Record<string, number>>();
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (!line.includes('"http_reqs"') || !line.includes('"Point"')) continue;
    const p = JSON.parse(line) as { metric: string; data: { tags?: Record<string, string> | null } };
    if (p.metric !== 'http_reqs') continue;
    const name = p.data.tags?.name ?? '';
    const status = p.data.tags?.status ?? '';
    const rec = out.get(name) ?? {};
    rec[status] = (rec[status] ?? 0) + 1;
    out.set(name, rec);
  }
  return out;
}

describe('metricValue with a selector, on genuine tool output', () => {
  it('k6 NDJSON (rodolfodpk): the `name` tag makes endpoints; counts agree with the raw points', async () => {
    const path = join(FIX, 'k6/ndjson-rodolfodpk-votacao-first2000.ndjson');
    const r = await readResultFile(path, OPTS);
    const raw = k6Requests(path);
    const votes = raw.get('submit_vote')!;
    const total = Object.values(votes).reduce((a, b) => a + b, 0);
    expect(total).toBe(50);
    expect(metricValue(r, 'requests{submit_vote}')).toBe(total);
    expect(metricValue(r, 'responses{submit_vote, 201}')).toBe(votes['201']);
    expect(metricValue(r, 'responses{submit_vote, 400}')).toBe(votes['400']);
    expect(metricValue(r, 'responses{submit_vote, 4xx}')).toBe(votes['400']);
    // 400s are errors by default: half of the votes.
    expect(metricValue(r, 'error_rate{submit_vote}')).toBe((votes['400']! / total) * 100);
    expect(metricValue(r, 'error_rate{create_agenda}')).toBe(0);
    expect(metricValue(r, 'p99{submit_vote}')).toBe(r.endpoints.find((e) => e.name === 'submit_vote')!.latency.p99);
    expect(metricValue(r, 'p99{submit_vote}')).not.toBe(r.latency.p99);
    // Counts over the old definition: 4xx not errors.
    const old = await readResultFile(path, { ...OPTS, count4xxAsErrors: false });
    expect(metricValue(old, 'errors{submit_vote}')).toBe(0);
  });

  it('k6 NDJSON (wildananugrah): URL names match by path, and METHOD /path by its path (k6 records no method)', async () => {
    const r = await read('k6/ndjson-wildananugrah-springlearning.ndjson');
    expect(metricValue(r, 'errors{/api/transactions/transfer}')).toBe(24);
    expect(metricValue(r, 'errors{POST /api/transactions/transfer}')).toBe(24);
    expect(metricValue(r, 'error_rate{/api/auth/login}')).toBe(0);
    expect(metricValue(r, 'p99{http://localhost:8000/api/auth/login}')).toBeGreaterThan(0);
  });

  it('k6 summary (steamducks): a `http_req_duration{name:status}` sub-metric without a count still answers for latency', async () => {
    const r = await read('k6/summary-steamducks-minimal-7metrics.json');
    expect(r.endpoints).toEqual([]);
    expect(metricValue(r, 'p95{status}')).toBe(0);
    expect(metricValue(r, 'requests{status}')).toBeUndefined();
    const [res] = decide(r, parseTargets(['p95{name:status} < 10s', 'requests{status} > 0']), 'any').targets;
    expect(res).toMatchObject({ status: 'pass', actual: 0 });
  });

  it('Artillery 2 (flab-dogspot): metrics-by-endpoint paths; the 404s are errors of the endpoint by default', async () => {
    const r = await read('artillery/v2-flab-dogspot-404.json');
    const join404 = r.endpoints.find((e) => e.name === '/api/walksBoard/walksBoard/join')!;
    expect(metricValue(r, 'errors{/api/walksBoard/walksBoard/join}')).toBe(join404.requests);
    expect(metricValue(r, 'responses{/api/walksBoard/walksBoard, 500}')).toBe(14);
    expect(metricValue(r, 'responses{/api/walksBoard/walksBoard, 2xx}')).toBe(1490);
    const old = await read('artillery/v2-flab-dogspot-404.json', false);
    expect(metricValue(old, 'errors{/api/walksBoard/walksBoard}')).toBe(
      metricValue(r, 'errors{/api/walksBoard/walksBoard}')! - 144,
    );
  });

  it('Artillery 2 with failed expectations reported as errors: the endpoint rows add up to the run, failures included', async () => {
    // Our own Artillery 2.0.34 run (fixtures/SOURCES.md): 10 health checks, 10 requests to /status/404 expecting 200.
    const r = await read('artillery-own/v2-2.0.34-demo-expect-failures-as-errors.json');
    expect(r.requests).toBe(20);
    expect(r.endpoints.reduce((a, e) => a + e.requests, 0)).toBe(r.requests);
    expect(r.endpoints.reduce((a, e) => a + e.errors, 0)).toBe(r.errors);
    expect(metricValue(r, 'requests{health}')).toBe(10); // named request: "/api/health (health)"
    expect(metricValue(r, 'errors{/status/404}')).toBe(10);
    expect(r.endpoints.find((e) => e.name === '/status/404')!.checkFailures).toEqual({ 'failed expectations': 10 });
    expect(r.checkFailures).toEqual({ 'expect statusCode': 10 });
    // The 404s were errors already under the default; with 4xx not counted, the failed expectations still are.
    expect(r.errors).toBe(10);
    const old = await read('artillery-own/v2-2.0.34-demo-expect-failures-as-errors.json', false);
    expect(old.errors).toBe(10);
    expect(old.errorsByKind.check).toBe(10);
  });

  it('a plugin version that counts the failures per endpoint itself is not counted twice (report edited to have it)', async () => {
    const doc = JSON.parse(
      readFileSync(join(FIX, 'artillery-own/v2-2.0.34-demo-expect-failures-as-errors.json'), 'utf8'),
    ) as { aggregate: { counters: Record<string, number> } };
    doc.aggregate.counters['plugins.metrics-by-endpoint./status/404 (missing).errors.FailedExpectationError'] = 10;
    const r = await artilleryV2Reader.fromDocument(doc, 'edited.json', OPTS);
    expect(r.endpoints.reduce((a, e) => a + e.requests, 0)).toBe(r.requests);
    expect(r.endpoints.find((e) => e.name === '/status/404 (missing)')).toMatchObject({
      requests: 10,
      errors: 10,
      errorsByKind: { check: 10 },
    });
  });

  it('merged with another report, the failed expectations stay on their endpoint row', async () => {
    const one = join(FIX, 'artillery-own/v2-2.0.34-demo-expect-failures-as-errors.json');
    const dir = mkdtempSync(join(tmpdir(), 'perf-gate-merge-'));
    const two = join(dir, 'worker-2.json');
    writeFileSync(two, readFileSync(one));
    const r = await readResults([one, two], OPTS);
    expect(r.requests).toBe(40);
    expect(r.endpoints.reduce((a, e) => a + e.requests, 0)).toBe(40);
    expect(r.endpoints.find((e) => e.name === '/status/404')).toMatchObject({
      errors: 20,
      errorsByKind: { check: 20 },
      checkFailures: { 'failed expectations': 20 },
    });
    expect(r.checkFailures).toEqual({ 'expect statusCode': 20 });
  });

  it("a counter's bare name is its count; `.rate` asks for the per-second rate", async () => {
    const r = await read('artillery-own/v2-2.0.34-demo-expect-plain.json');
    const failed = r.customMetrics['plugins.expect.failed']!;
    expect(failed.type).toBe('counter');
    expect(metricValue(r, 'plugins.expect.failed')).toBe(10);
    expect(metricValue(r, 'plugins.expect.failed.rate')).toBe(failed.values.rate);
    expect(failed.values.rate).not.toBe(10);
    const v = decide(r, parseTargets(['plugins.expect.failed < 10']), 'any');
    expect(v.targets[0]).toMatchObject({ status: 'fail', actual: 10 });
    expect(r.notes.join(' ')).toMatch(
      /10 expectations failed \(plugins\.expect\.failed\) without failing their requests/,
    );
  });

  it('a selector that matches nothing is not measured, naming the endpoints that exist (never a pass)', async () => {
    const r = await read('k6/ndjson-rodolfodpk-votacao-first2000.ndjson');
    const v = decide(r, parseTargets(['error_rate{payment} == 0', 'optional: p99{payment} < 1s']), 'any');
    expect(v.targets[0]).toMatchObject({ status: 'not_measured' });
    expect(v.targets[0]!.note).toMatch(
      /^no endpoint "payment" in this run; its endpoints: "submit_vote", "create_agenda"/,
    );
    expect(v.status).toBe('fail');
    expect(v.reasons).toEqual([
      expect.stringMatching(
        /^error_rate\{payment\} == 0: not measured \(no endpoint "payment" in this run; its endpoints: /,
      ),
    ]);
  });

  it('a latency selector matching several endpoints is not measured and says so; counts add up', () => {
    const ep = (name: string, requests: number, errors: number, p99: number): EndpointResult => ({
      name,
      requests,
      errors,
      latency: { count: requests, p99 },
      statusCodes: { 200: requests - errors, 500: errors },
    });
    const run = { ...blank(), endpoints: [ep('GET /api/bids', 100, 1, 50), ep('POST /api/bids', 50, 4, 400)] };
    expect(matchEndpoints(run.endpoints, '/api/bids').map((e) => e.name)).toEqual(['GET /api/bids', 'POST /api/bids']);
    expect(metricValue(run, 'errors{/api/bids}')).toBe(5);
    expect(metricValue(run, 'p99{POST /api/bids}')).toBe(400);
    const v = decide(run, parseTargets(['p99{/api/bids} < 500ms']), 'any');
    expect(v.targets[0]!.note).toMatch(
      /"\/api\/bids" matches 2 endpoints \("GET \/api\/bids", "POST \/api\/bids"\); name one of them/,
    );
  });
});

function blank(): RunResult {
  return {
    schemaVersion: 1,
    engine: 'builtin',
    phase: 'sustained',
    startedAt: '2026-12-03T00:00:00.000Z',
    endedAt: '2026-12-03T00:01:00.000Z',
    durationMs: 60_000,
    requests: 150,
    errors: 5,
    errorsByKind: {},
    statusCodes: { 200: 145, 500: 5 },
    errorRate: (5 / 150) * 100,
    latency: { count: 150 },
    endpoints: [],
    intervals: [],
    generator: { valid: true, invalidReasons: [] },
    customMetrics: {},
    toolThresholds: [],
    notes: [],
  };
}

function bidsStored(value: number | undefined): InfraMetric {
  return value === undefined
    ? {
        name: 'bids_stored',
        source: 'postgres',
        query: 'select count(*) from bids',
        unit: 'count',
        stats: {},
        unavailable: 'connection refused',
      }
    : {
        name: 'bids_stored',
        source: 'postgres',
        query: 'select count(*) from bids',
        unit: 'count',
        stats: { last: value, max: value },
      };
}

describe('metric-vs-metric targets', () => {
  it('bids_stored == responses{submit_vote, 201}: both sides kept; a lost write fails, all stored passes', async () => {
    const r = await read('k6/ndjson-rodolfodpk-votacao-first2000.ndjson');
    const acknowledged = metricValue(r, 'responses{submit_vote, 201}')!;
    expect(acknowledged).toBe(25);
    const targets = parseTargets([
      'bids_stored == responses{submit_vote, 201}',
      'bids_stored >= requests{submit_vote} * 0.5',
    ]);

    // (The file's own k6 thresholds all passed: they are the rows after these two.)
    const ok = decide({ ...r, infra: [bidsStored(25)] }, targets, 'any');
    expect(ok.targets[0]).toMatchObject({
      status: 'pass',
      actual: 25,
      rhs: { label: 'responses{submit_vote, 201}', value: 25 },
    });
    expect(ok.targets[0]!.target.value).toBe(25);
    expect(ok.targets[1]).toMatchObject({
      status: 'pass',
      actual: 25,
      rhs: { label: 'requests{submit_vote} * 0.5', value: 25 },
    });
    expect(ok.status).toBe('pass');

    const lost = decide({ ...r, infra: [bidsStored(24)] }, targets, 'any');
    expect(lost.targets.filter((t) => t.origin !== 'tool').map((t) => t.status)).toEqual(['fail', 'fail']);
    expect(lost.reasons[0]).toBe(
      'bids_stored == responses{submit_vote, 201}: measured 24 against responses{submit_vote, 201} = 25',
    );
    expect(lost.status).toBe('fail');
  });

  it('a right side that is not measured is not measured, never a pass', async () => {
    const r = await read('k6/ndjson-rodolfodpk-votacao-first2000.ndjson');
    const v = decide(
      { ...r, infra: [bidsStored(0)] },
      parseTargets(['bids_stored == responses{place_bid, 201}']),
      'any',
    );
    expect(v.targets[0]).toMatchObject({
      status: 'not_measured',
      actual: 0,
      rhs: { label: 'responses{place_bid, 201}' },
    });
    expect(v.targets[0]!.rhs!.value).toBeUndefined();
    expect(v.targets[0]!.note).toMatch(/no endpoint "place_bid"/);
    expect(v.status).toBe('fail');
  });

  it('a left side whose source could not be read makes the verdict an error, as for any infrastructure target', async () => {
    const r = await read('k6/ndjson-rodolfodpk-votacao-first2000.ndjson');
    const v = decide(
      { ...r, infra: [bidsStored(undefined)] },
      parseTargets(['requests{submit_vote} <= bids_stored * 2']),
      'any',
    );
    expect(v.status).toBe('error');
    expect(v.reasons.join(' ')).toMatch(/bids_stored could not be read from postgres: connection refused/);
  });
});

describe("a tool's own thresholds are rows of the verdict", () => {
  it('k6 summary (sirhcc): the failed `http_req_failed rate<0.1` fails the verdict like a target; fail-on decides', async () => {
    const r = await read('k6/export-sirhcc-apiratelimiter-degenerate.json');
    const v = decide(r, [], 'any');
    expect(v.status).toBe('fail');
    expect(v.failsCheck).toBe(true);
    const row = v.targets.find((t) => t.target.metric === 'http_req_failed')!;
    // The figure the threshold compared is shown where the file has it: k6's rate of failed requests, 1.
    expect(row).toMatchObject({
      origin: 'tool',
      status: 'fail',
      actual: 1,
      target: { source: 'http_req_failed: rate<0.1', op: '<', value: 0.1 },
    });
    expect(v.targets.find((t) => t.target.metric === 'http_req_duration')).toMatchObject({
      status: 'pass',
      actual: r.customMetrics['k6.http_req_duration']!.values.p95,
    });
    // The script's own metric named `errors` is not perf-gate's errors: the row says whose it is.
    expect(v.targets.find((t) => t.target.source === 'errors: rate<0.1')).toMatchObject({
      status: 'pass',
      target: { metric: 'k6.errors' },
      actual: r.customMetrics.errors!.values.rate,
    });
    expect(v.targets.filter((t) => t.origin === 'tool' && t.status === 'pass').length).toBeGreaterThan(0);
    expect(v.reasons).toContain("http_req_failed: rate<0.1: failed (the tool's own threshold)");
    expect(decide(r, [], 'regression').failsCheck).toBe(false);
    expect(decide(r, [], 'target').failsCheck).toBe(true);
  });

  it('k6 handleSummary (vanitie): failing p(95) and p(99) thresholds fail a run whose perf-gate targets pass', async () => {
    const r = await read('k6/summary-vanitie-qps6000-direct.json');
    const v = decide(r, parseTargets(['requests > 0']), 'any');
    expect(v.targets[0]!.status).toBe('pass');
    expect(v.targets.filter((t) => t.origin === 'tool' && t.status === 'fail').map((t) => t.target.source)).toEqual(
      r.toolThresholds.filter((t) => !t.ok).map((t) => `${t.metric}: ${t.expression}`),
    );
    expect(v.status).toBe('fail');
  });

  it('an Artillery ensure check marked optional is a row but does not fail the verdict (Artillery lets it pass too)', () => {
    const rows = toolThresholdResults([
      { metric: 'http.response_time.p99', expression: 'http.response_time.p99 < 1', ok: false },
      { metric: 'vusers.failed', expression: 'vusers.failed < 1 (optional)', ok: false },
    ]);
    expect(rows.map((r) => [r.target.source, r.status, r.target.optional, r.origin])).toEqual([
      ['http.response_time.p99 < 1', 'fail', false, 'tool'],
      ['vusers.failed < 1 (optional)', 'fail', true, 'tool'],
    ]);
    const run = {
      ...blank(),
      toolThresholds: [{ metric: 'vusers.failed', expression: 'vusers.failed < 1 (optional)', ok: false }],
    };
    expect(decide(run, [], 'any').status).toBe('pass');
  });
});

describe('abort guards with an endpoint selector', () => {
  const iv = (
    i: number,
    payment: { requests: number; errors: number } | undefined,
    overall = { requests: 1000, errors: 10 },
  ): IntervalResult => ({
    startMs: i * 10_000,
    durationMs: 10_000,
    requests: overall.requests,
    errors: overall.errors,
    latency: { count: overall.requests, p99: 20 },
    ...(payment
      ? {
          endpoints: {
            'POST /api/payments': { ...payment, latency: { count: payment.requests, p99: 300 } },
            login: { requests: 500, errors: 0, latency: { count: 500, p99: 5 } },
          },
        }
      : {}),
  });

  it('parses the same selectors as targets', () => {
    expect(parseGuard('error_rate{payment} > 5% for 30s')).toMatchObject({
      metric: 'error_rate',
      endpoint: 'payment',
      op: '>',
      value: 5,
      forMs: 30_000,
    });
    expect(parseGuard('p99{name:login} > 2s')).toMatchObject({
      metric: 'p99',
      endpoint: 'login',
      value: 2000,
      forMs: 0,
    });
    expect(parseGuards(['errors{POST /api/payments} > 10 for 1m'])[0]).toMatchObject({
      metric: 'errors',
      endpoint: 'POST /api/payments',
    });
  });

  it.each([
    [
      'requests{payment} < 1 for 30s',
      /watches "requests" of an endpoint, which is not measured per interval; allowed with an endpoint: p50/,
    ],
    ['responses{payment, 201} < 1', /watches "responses" of an endpoint/],
    ['bids_stored < requests{bid} for 30s', /compares two metrics/],
    ['error_rate{} > 5% for 30s', /empty endpoint selector/],
  ])('rejects %s', (text, message) => {
    expect(() => parseGuard(text)).toThrow(UserError);
    expect(() => parseGuard(text)).toThrow(message);
  });

  it('trips on the payment endpoint while the run as a whole stays at 1 % (hand-built intervals; the built-in engine fills them)', () => {
    const m = new GuardMonitor(parseGuards(['error_rate{POST /api/payments} > 5% for 30s', 'error_rate > 5% for 30s']));
    expect(m.observe(iv(0, { requests: 100, errors: 10 }))).toBeUndefined();
    // An interval without per-endpoint figures says nothing either way: the streak neither resets nor grows.
    expect(m.observe(iv(1, undefined))).toBeUndefined();
    expect(m.observe(iv(2, { requests: 100, errors: 8 }))).toBeUndefined();
    const stop = m.observe(iv(3, { requests: 100, errors: 6 }));
    expect(stop).toMatchObject({ guard: 'error_rate{POST /api/payments} > 5% for 30s', atMs: 40_000 });
    expect(stop!.reason).toBe(
      'guard "error_rate{POST /api/payments} > 5% for 30s" tripped: error rate of POST /api/payments reached 10 % for 30 s',
    );
  });

  it('a healthy interval of the endpoint resets its streak; a name or path selects the same row', () => {
    const m = new GuardMonitor(parseGuards(['error_rate{/api/payments} > 5% for 20s']));
    expect(m.observe(iv(0, { requests: 100, errors: 10 }))).toBeUndefined();
    expect(m.observe(iv(1, { requests: 100, errors: 1 }))).toBeUndefined();
    expect(m.observe(iv(2, { requests: 100, errors: 10 }))).toBeUndefined();
    expect(m.observe(iv(3, { requests: 100, errors: 10 }))?.guard).toBe('error_rate{/api/payments} > 5% for 20s');
    const p99 = new GuardMonitor(parseGuards(['p99{login} > 4ms']));
    expect(p99.observe(iv(0, { requests: 1, errors: 0 }))?.reason).toMatch(/p99 latency of login reached 5 ms/);
  });
});

describe('abort guards with an endpoint selector on Artillery console summaries', () => {
  it('metrics-by-endpoint in a genuine console summary gives the interval per-endpoint figures a guard reads', () => {
    // Our own Artillery 2.0.34 run (fixtures/SOURCES.md): /status/404 (named "missing") answers 404 every time.
    const reader = new ConsolePeriodReader();
    const periods: ConsolePeriod[] = [];
    for (const line of readFileSync(join(FIX, 'artillery-own/console-2.0.34-demo-expect-plain.txt'), 'utf8').split(
      '\n',
    )) {
      const p = reader.push(line, Date.UTC(2026, 11, 3, 12));
      if (p) periods.push(p);
    }
    const last = reader.flush();
    if (last) periods.push(last);
    expect(periods.length).toBeGreaterThan(0);
    const intervals = periods.map((p, i) => periodInterval(p, i * 10_000, OPTS));
    const withEndpoints = intervals.filter((iv) => iv.endpoints);
    expect(withEndpoints.length).toBeGreaterThan(0);
    const names = Object.keys(withEndpoints[0]!.endpoints!);
    expect(names).toEqual(expect.arrayContaining(['/api/health (health)', '/status/404 (missing)', '/status/201']));
    const missing = new GuardMonitor(parseGuards(['error_rate{missing} > 50%']));
    const health = new GuardMonitor(parseGuards(['error_rate{health} > 0%', 'error_rate{/status/201} > 0%']));
    let tripped: string | undefined;
    for (const iv of intervals) {
      tripped ??= missing.observe(iv)?.reason;
      expect(health.observe(iv)).toBeUndefined();
    }
    expect(tripped).toBe('guard "error_rate{missing} > 50%" tripped: error rate of missing reached 100 %');
  });
});

describe('selectors against the built-in flows are checked before any load', () => {
  const config = (targets: string[], abort: string[] = []) => {
    const dir = mkdtempSync(join(tmpdir(), 'perf-gate-selectors-'));
    mkdirSync(join(dir, '.github'));
    writeFileSync(
      join(dir, '.github', 'perf-gate.yml'),
      [
        'target: http://127.0.0.1:9999',
        'phase: warmup',
        `targets: ${JSON.stringify(targets)}`,
        ...(abort.length ? [`abort: ${JSON.stringify(abort)}`] : []),
        'flows:',
        '  - name: bid',
        '    steps:',
        '      - post: /api/auth/login',
        '        name: login',
        '      - post: /api/bids',
        '      - get: /api/items/{{ id }}',
      ].join('\n'),
    );
    return () => resolveConfig({}, { workspace: dir });
  };

  it('a step name, METHOD /path as written (templates unexpanded) and a bare path are endpoints', () => {
    expect(
      config([
        'p99{login} < 500ms',
        'errors{POST /api/bids} == 0',
        'p99{GET /api/items/{{ id }}} < 1s',
        'requests{/api/bids} > 0',
        'bids_stored == responses{POST /api/bids, 201}',
      ])().targets,
    ).toHaveLength(6); // and the phase's error-rate bound
  });

  it('a selector no step has is a UserError naming the endpoints there are', () => {
    expect(config(['error_rate{payment} == 0'])).toThrow(UserError);
    expect(config(['error_rate{payment} == 0'])).toThrow(
      '.github/perf-gate.yml: "error_rate{payment} == 0" selects endpoint "payment", which no flow step has; the endpoints are "login", "POST /api/bids", "GET /api/items/{{ id }}"',
    );
    expect(config(['p99 < 1s', 'bids_stored == responses{bid, 201}'])).toThrow(
      /selects endpoint "bid", which no flow step has/,
    );
    // A method is part of a built-in label: GET /api/bids is not the flow's POST /api/bids.
    expect(config(['p99 < 1s'], ['error_rate{GET /api/bids} > 5% for 30s'])).toThrow(
      /"error_rate\{GET \/api\/bids\} > 5% for 30s" selects endpoint "GET \/api\/bids"/,
    );
  });
});
