// Whatever a user points perf-gate at, reading it ends in a RunResult or a UserError: never another exception,
// never a hang. Random bytes, random JSON, JSON shaped like each format with random contents, random NDJSON
// lines, and genuine files cut at random places go through readResultFile via temporary files.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { readResultFile, readResults } from '../src/readers/index.js';
import type { ReadOptions } from '../src/readers/types.js';
import type { RunResult } from '../src/model.js';
import { UserError } from '../src/errors.js';

const FIX = fileURLToPath(new URL('./fixtures/', import.meta.url));
const FIXTURES = ['artillery', 'k6'].flatMap((d) => readdirSync(join(FIX, d)).map((f) => join(FIX, d, f)));
const OPTS: ReadOptions = { phase: 'p', count4xxAsErrors: false };

const tmp = mkdtempSync(join(tmpdir(), 'perf-gate-readers-prop-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
let n = 0;

function checkResult(r: RunResult): void {
  const walk = (v: unknown, path: string): void => {
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new Error(`${path} is ${v}`);
    } else if (Array.isArray(v))
      v.forEach((x, i) => {
        walk(x, `${path}[${i}]`);
      });
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
  };
  walk(r, 'result');
  expect(r.requests).toBeGreaterThanOrEqual(0);
  expect(r.errors).toBeGreaterThanOrEqual(0);
  expect(r.errors).toBeLessThanOrEqual(r.requests);
  if (r.errorRate !== undefined) {
    expect(r.errorRate).toBeGreaterThanOrEqual(0);
    expect(r.errorRate).toBeLessThanOrEqual(100);
  }
  expect(r.latency.count).toBeGreaterThanOrEqual(0);
  expect(Number.isNaN(Date.parse(r.startedAt))).toBe(false);
  expect(Number.isNaN(Date.parse(r.endedAt))).toBe(false);
  expect(r.durationMs).toBeGreaterThanOrEqual(0);
  expect(typeof JSON.stringify(r)).toBe('string');
}

/** Read `content` from a temporary file: 'result' or 'user-error'; anything else fails the property. */
async function outcome(content: string | Uint8Array, name = `f${n++}`): Promise<'result' | 'user-error'> {
  const p = join(tmp, name);
  writeFileSync(p, content);
  try {
    const r = await readResultFile(p, OPTS);
    checkResult(r);
    return 'result';
  } catch (err) {
    if (err instanceof UserError) {
      expect(err.message).toContain(p);
      return 'user-error';
    }
    throw err;
  } finally {
    rmSync(p, { force: true });
  }
}

const RUNS = { numRuns: 150 };

// JSON values that mix plausible numbers and strings with junk, for the fields the readers look at.
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.double({ noNaN: true, noDefaultInfinity: true }) },
  { weight: 3, arbitrary: fc.integer({ min: -5, max: 1_000_000 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom('1746606264820', '2025-01-15T10:30:45.123Z', 'p(95)<500', '', 'NaN', '1e400'),
  },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
);
const numberMap = (keys: string[]) => fc.dictionary(fc.constantFrom(...keys), anyValue, { maxKeys: 8 });

const artilleryPeriod = fc.record(
  {
    counters: numberMap([
      'http.requests',
      'http.responses',
      'http.codes.200',
      'http.codes.503',
      'http.codes.404',
      'errors.ETIMEDOUT',
      'errors.Error: x',
      'vusers.created',
      'vusers.failed',
      'vusers.skipped',
      'plugins.metrics-by-endpoint./a.codes.500',
      'plugins.metrics-by-endpoint./a.errors.ECONNREFUSED',
      'engine.http.requests',
      'custom.count',
    ]),
    rates: numberMap(['http.request_rate', 'custom.rate']),
    summaries: fc.dictionary(
      fc.constantFrom(
        'http.response_time',
        'plugins.metrics-by-endpoint.response_time./a',
        'vusers.session_length',
        'my.summary',
      ),
      fc.oneof(numberMap(['min', 'max', 'count', 'mean', 'p50', 'median', 'p90', 'p95', 'p99', 'p999']), anyValue),
      { maxKeys: 3 },
    ),
    histograms: fc.dictionary(
      fc.constantFrom('http.response_time', 'engine.http.response_time'),
      fc.oneof(numberMap(['count', 'sum', 'min', 'max']), fc.constant({ store: {}, count: 3, sum: 9 })),
      { maxKeys: 2 },
    ),
    firstCounterAt: anyValue,
    lastCounterAt: anyValue,
    firstMetricAt: anyValue,
    lastMetricAt: anyValue,
    period: anyValue,
  },
  { requiredKeys: [] },
);

const artilleryV2 = fc.record(
  { aggregate: artilleryPeriod, intermediate: fc.oneof(fc.array(artilleryPeriod, { maxLength: 4 }), anyValue) },
  { requiredKeys: ['aggregate'] },
);

const artilleryV1Period = fc.record(
  {
    timestamp: anyValue,
    scenariosCreated: anyValue,
    scenariosCompleted: anyValue,
    requestsCompleted: anyValue,
    scenariosAvoided: anyValue,
    latency: fc.oneof(numberMap(['min', 'max', 'median', 'p95', 'p99']), anyValue),
    rps: fc.oneof(numberMap(['count', 'mean']), anyValue),
    codes: numberMap(['200', '404', '500', 'abc']),
    errors: numberMap(['ETIMEDOUT', 'ECONNRESET', 'Something else']),
    latencies: fc.oneof(
      fc.array(fc.oneof(anyValue, fc.tuple(anyValue, fc.string(), anyValue, anyValue)), { maxLength: 20 }),
      anyValue,
    ),
    concurrency: anyValue,
    customStats: fc.dictionary(fc.string({ maxLength: 5 }), numberMap(['min', 'max', 'median']), { maxKeys: 2 }),
    counters: numberMap(['c1', 'c2']),
  },
  { requiredKeys: ['scenariosCreated'] },
);
const artilleryV1 = fc.record({
  aggregate: artilleryV1Period,
  intermediate: fc.array(artilleryV1Period, { maxLength: 4 }),
});

const k6MetricNames = [
  'http_reqs',
  'http_req_duration',
  'http_req_failed',
  'checks',
  'vus',
  'vus_max',
  'dropped_iterations',
  'iterations',
  'http_reqs{status:500}',
  'http_req_duration{name:/a}',
  'my_trend',
  'my_rate',
];
const statKeys = [
  'count',
  'rate',
  'avg',
  'min',
  'med',
  'max',
  'p(90)',
  'p(95)',
  'p(99)',
  'p(99.9)',
  'passes',
  'fails',
  'value',
];
const group: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  g: fc.record(
    {
      name: fc.string({ maxLength: 5 }),
      path: fc.oneof(fc.string({ maxLength: 8 }), anyValue),
      checks: fc.oneof(
        fc.array(
          fc.record({ name: fc.oneof(fc.string({ maxLength: 5 }), anyValue), passes: anyValue, fails: anyValue }),
          { maxLength: 3 },
        ),
        anyValue,
      ),
      groups: fc.oneof(
        { depthSize: 'small' },
        fc.array(tie('g'), { maxLength: 2 }),
        fc.dictionary(fc.string({ maxLength: 3 }), tie('g'), { maxKeys: 2 }),
        anyValue,
      ),
    },
    { requiredKeys: [] },
  ),
})).g;

const summaryExport = fc.record(
  {
    metrics: fc.dictionary(
      fc.constantFrom(...k6MetricNames),
      fc.oneof(
        numberMap(statKeys).map((m) => ({ ...m, thresholds: { 'p(95)<500': true, 'rate<0.1': false } })),
        anyValue,
      ),
      { maxKeys: 8 },
    ),
    root_group: group,
  },
  { requiredKeys: ['metrics'] },
);

const handleSummary = fc.record(
  {
    metrics: fc.dictionary(
      fc.constantFrom(...k6MetricNames),
      fc.oneof(
        fc.record(
          {
            type: fc.constantFrom('counter', 'gauge', 'rate', 'trend', 'bogus'),
            contains: fc.constant('time'),
            values: fc.oneof(numberMap(statKeys), anyValue),
            thresholds: fc.oneof(fc.constant({ 'p(95)<500': { ok: false } }), anyValue),
          },
          { requiredKeys: ['type'] },
        ),
        anyValue,
      ),
      { maxKeys: 8 },
    ),
    root_group: group,
    state: fc.record({ testRunDurationMs: anyValue }),
    options: fc.record({ summaryTrendStats: fc.constant(['avg', 'p(95)']) }),
  },
  { requiredKeys: ['metrics', 'state'] },
);

const machineReadable = fc.record({
  version: fc.constant('1.0.0'),
  metadata: fc.record({ generatedAt: anyValue, k6Version: anyValue }),
  config: fc.record({ duration: anyValue }),
  results: fc.record(
    {
      passed: fc.oneof(fc.boolean(), anyValue),
      metrics: fc.array(
        fc.record({
          name: fc.constantFrom(...k6MetricNames),
          type: fc.constantFrom('counter', 'rate', 'trend', 'gauge'),
          values: numberMap(statKeys),
        }),
        { maxLength: 6 },
      ),
      checks: fc.record({
        metrics: anyValue,
        results: fc.array(fc.record({ name: fc.string({ maxLength: 4 }), passes: anyValue, fails: anyValue }), {
          maxLength: 3,
        }),
      }),
    },
    { requiredKeys: [] },
  ),
});

// k6 NDJSON lines: well-formed Points and Metrics with random contents, and some broken ones.
const timeArb = fc.oneof(
  fc
    .date({ min: new Date('2019-01-01'), max: new Date('2030-01-01'), noInvalidDate: true })
    .map((d) => d.toISOString()),
  fc.constantFrom('2025-11-18T21:02:01.094663+07:00', '2025-02-30T00:00:00Z', '2025-11-18T25:61:01Z', 'yesterday', ''),
);
const numText = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
  fc.constantFrom('1', '0', '-3', '1e5', '0.000001', '12abc', '"1"', 'null', '1.', '.5'),
);
const tagsArb = fc.oneof(
  fc.constant('null'),
  fc
    .record(
      {
        status: fc.constantFrom('200', '0', '404', '503', 'x'),
        name: fc.string({ maxLength: 10 }),
        error_code: fc.constantFrom('1211', '1212', '1050', 'x'),
        check: fc.string({ maxLength: 4 }),
      },
      { requiredKeys: [] },
    )
    .map((t) => JSON.stringify(t)),
);
const pointLine = fc
  .tuple(
    fc.constantFrom(...k6MetricNames, 'http_req_waiting', 'undeclared', 'we"ird', 'back\\slash'),
    timeArb,
    numText,
    tagsArb,
    fc.boolean(),
  )
  .map(([m, t, v, tags, oldShape]) =>
    oldShape
      ? `{"type":"Point","data":{"time":${JSON.stringify(t)},"value":${v},"tags":${tags}},"metric":${JSON.stringify(m)}}`
      : `{"metric":${JSON.stringify(m)},"type":"Point","data":{"time":${JSON.stringify(t)},"value":${v},"tags":${tags}}}`,
  );
const metricLine = fc
  .tuple(
    fc.constantFrom(...k6MetricNames, 'undeclared'),
    fc.constantFrom('counter', 'gauge', 'rate', 'trend', 'other'),
    fc.array(fc.constantFrom('p(95)<500', 'rate<0.1', 'count>1', 'avg<2', 'value>0', 'med<=3', 'max<1e3', 'nonsense'), {
      maxLength: 3,
    }),
  )
  .map(([name, type, th]) =>
    JSON.stringify({
      type: 'Metric',
      data: { name, type, contains: 'default', thresholds: th, submetrics: null },
      metric: name,
    }),
  );
const ndjson = fc
  .tuple(
    metricLine,
    fc.array(
      fc.oneof(
        { weight: 6, arbitrary: pointLine },
        { weight: 2, arbitrary: metricLine },
        { weight: 1, arbitrary: fc.string({ maxLength: 30 }) },
        { weight: 1, arbitrary: fc.constant('') },
      ),
      { maxLength: 40 },
    ),
  )
  .map(([first, rest]) => [first, ...rest].join('\n'));

describe('every input ends in a RunResult or a UserError', () => {
  it('random strings and bytes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 300 }), fc.string({ unit: 'binary', maxLength: 300 })),
        async (s) => {
          await outcome(s);
        },
      ),
      RUNS,
    );
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (bytes) => {
        await outcome(bytes);
      }),
      { numRuns: 100 },
    );
  });

  it('random JSON', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue(), async (v) => {
        await outcome(JSON.stringify(v));
      }),
      RUNS,
    );
  });

  it('JSON shaped like each format, with random contents', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(artilleryV2, artilleryV1, summaryExport, handleSummary, machineReadable),
        async (doc) => {
          await outcome(JSON.stringify(doc));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random k6 NDJSON lines, plain and gzip', async () => {
    const { gzipSync } = await import('node:zlib');
    await fc.assert(
      fc.asyncProperty(ndjson, fc.boolean(), async (text, gz) => {
        await outcome(gz ? gzipSync(text) : text);
      }),
      RUNS,
    );
  });

  it('genuine files cut at a random place', async () => {
    const contents = FIXTURES.map((p) => ({ p, bytes: readFileSync(p) }));
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...contents),
        fc.double({ min: 0, max: 1, noNaN: true }),
        async ({ p, bytes }, frac) => {
          const cut = Math.max(1, Math.floor(bytes.length * frac));
          const res = await outcome(bytes.subarray(0, cut));
          // NDJSON cut after its first line is still readable: only the last line can be incomplete.
          if (p.endsWith('.ndjson') && bytes.subarray(0, cut).indexOf(10) !== -1) expect(res).toBe('result');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('a genuine NDJSON file with one random line replaced', async () => {
    const lines = readFileSync(join(FIX, 'k6', 'ndjson-mattihew-k6tojunit-2019.ndjson'), 'utf8').split('\n');
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: lines.length - 3 }),
        fc.oneof(fc.string({ maxLength: 80 }), pointLine),
        async (i, replacement) => {
          const copy = [...lines];
          copy[i] = replacement;
          await outcome(copy.join('\n'));
        },
      ),
      { numRuns: 100 },
    );
  });

  it('several random format-shaped files merged', async () => {
    const doc = fc
      .oneof(artilleryV2, artilleryV1, summaryExport, handleSummary, machineReadable)
      .map((d) => JSON.stringify(d));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(doc, ndjson), { minLength: 2, maxLength: 3 }), async (contents) => {
        const paths = contents.map((c) => {
          const p = join(tmp, `m${n++}`);
          writeFileSync(p, c);
          return p;
        });
        try {
          checkResult(await readResults(paths, OPTS));
        } catch (err) {
          if (!(err instanceof UserError)) throw err;
        } finally {
          for (const p of paths) rmSync(p, { force: true });
        }
      }),
      { numRuns: 150 },
    );
  });
});
