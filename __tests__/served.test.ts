// Latency and throughput targets are judged on what was served (issue 18): the successful responses' figures as
// each source has them, on genuine tool output, and what is done where a file has none.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readResultFile } from '../src/readers/index.js';
import { mergeRunResults } from '../src/readers/index.js';
import { decide } from '../src/gate/evaluate.js';
import { metricValue } from '../src/gate/metrics.js';
import { parseTargets } from '../src/gate/targets.js';
import { servedOver } from '../src/phases/steady.js';
import { Histogram } from '../src/metrics/histogram.js';
import { blankRunResult, type IntervalResult } from '../src/model.js';

const FIX = fileURLToPath(new URL('./fixtures/', import.meta.url));
const OPTS = { phase: 'sustained', count4xxAsErrors: true };

describe("success-only latency from the tools' own files", () => {
  it("k6 handleSummary (yphuang26): 99.4 % failed fast; the served p95 is the 621 successes', not the refusals'", async () => {
    const r = await readResultFile(join(FIX, 'k6', 'summary-yphuang26-ticketsystem.json'), OPTS);
    expect(r.requests).toBe(111_880);
    expect(r.errors).toBe(111_259);
    expect(r.served).toMatchObject({ requests: 621, latency: { p95: 12.78625, p90: 10.631084, max: 65.803083 } });
    // Every response's p95 is half of it: the failures were answered faster than the successes.
    expect(r.latency.p95).toBeCloseTo(6.0904, 3);
    expect(metricValue(r, 'p95')).toBe(12.78625);
    expect(metricValue(r, 'throughput')).toBeCloseTo((r.throughputRps! * 621) / 111_880, 9);
  });

  it('k6 handleSummary (bencuk): http_req_duration{expected_response:true} for 529 of 878', async () => {
    const r = await readResultFile(join(FIX, 'k6', 'summary-bencuk-reporter-simple.json'), OPTS);
    expect(r.served).toMatchObject({ requests: 529, latency: { p95: 28.97347239999998, p99: 36.64458528 } });
    expect(metricValue(r, 'p99')).toBe(36.64458528);
  });

  it('k6 (kocaaydin): every request failed and there is no expected_response figure: latency is not measured', async () => {
    const r = await readResultFile(join(FIX, 'k6', 'summary-kocaaydin-port-exhaustion.json'), OPTS);
    expect(r.errors).toBe(r.requests);
    expect(r.served).toBeUndefined();
    expect(r.latency.p95).toBeGreaterThan(0);
    const v = decide(r, parseTargets(['p95 < 500ms', 'throughput > 1/s']), 'any');
    expect(v.targets.filter((t) => t.origin !== 'tool').map((t) => [t.status, t.note])).toEqual([
      ['not_measured', `no successful response: all ${r.requests} requests were errors`],
      ['not_measured', `no successful response: all ${r.requests} requests were errors`],
    ]);
    expect(v.status).not.toBe('pass');
  });

  it("Artillery 2 (sawady): http.response_time.2xx is the 2,997 successes' latency", async () => {
    const r = await readResultFile(join(FIX, 'artillery', 'v2-sawady-nodejscourse.json'), OPTS);
    expect(r.errors).toBe(3);
    expect(r.served).toMatchObject({ requests: 2997, latency: { count: 2997, p99: 10.1, max: 55 } });
    expect(metricValue(r, 'p99')).toBe(10.1);
    // Intervals with errors carry their own served figures; the others served every response.
    const withErrors = r.intervals.filter((iv) => iv.errors > 0);
    expect(withErrors.length).toBeGreaterThan(0);
    for (const iv of withErrors) expect(iv.served?.requests).toBe(iv.requests - iv.errors);
  });

  it('Artillery 2 (flab-dogspot, 404s counted): no 2xx summary in the file, so latency is judged on every response', async () => {
    const r = await readResultFile(join(FIX, 'artillery', 'v2-flab-dogspot-404.json'), OPTS);
    expect(r.statusCodes).toMatchObject({ '200': 1490, '404': 1972, '500': 14 });
    expect(r.served).toBeUndefined();
    expect(metricValue(r, 'p99')).toBe(r.latency.p99);
  });

  it('Artillery 2 with 4xx not counted as errors: 2xx is not every success, so no served figures are claimed', async () => {
    const r = await readResultFile(join(FIX, 'artillery', 'v2-sawady-nodejscourse.json'), {
      ...OPTS,
      count4xxAsErrors: false,
    });
    // sawady has no 4xx: 2xx still is every success.
    expect(r.served?.requests).toBe(2997);
    const f = await readResultFile(join(FIX, 'artillery', 'v2-flab-dogspot-404.json'), {
      ...OPTS,
      count4xxAsErrors: false,
    });
    expect(f.served).toBeUndefined();
  });
});

/** An interval of `ok` successes at `okMs` and `bad` errors at 1 ms, with the histograms the built-in engine writes. */
function interval(startMs: number, ok: number, bad: number, okMs: number): IntervalResult {
  const all = new Histogram();
  const served = new Histogram();
  for (let i = 0; i < ok; i++) {
    all.recordMs(okMs);
    served.recordMs(okMs);
  }
  for (let i = 0; i < bad; i++) all.recordMs(1);
  const iv: IntervalResult = {
    startMs,
    durationMs: 1000,
    requests: ok + bad,
    errors: bad,
    latency: all.stats(),
    histogram: all.toJSON(),
  };
  if (bad > 0) iv.served = { requests: ok, latency: served.stats(), histogram: served.toJSON() };
  return iv;
}

describe('served figures over parts of a run and across files', () => {
  it('a part adds up from its intervals: own served figures where there were errors, the whole histogram elsewhere', () => {
    const s = servedOver([interval(0, 10, 0, 100), interval(1000, 10, 30, 200)]);
    expect(s?.requests).toBe(20);
    expect(s?.latency.count).toBe(20);
    expect(s?.latency.min).toBeGreaterThanOrEqual(99);
    expect(s?.latency.p99).toBeGreaterThanOrEqual(199);
    // An interval with errors but no served histogram cannot be added up: no served figure rather than a wrong one.
    const broken = interval(0, 5, 5, 100);
    delete broken.served;
    expect(servedOver([broken])).toBeUndefined();
  });

  it('merging two files keeps the served figures exactly when both have them', () => {
    const part = (start: string, ok: number, bad: number, okMs: number) => {
      const iv = interval(0, ok, bad, okMs);
      const r = blankRunResult({
        engine: 'builtin',
        phase: 'sustained',
        startedAt: start,
        endedAt: new Date(Date.parse(start) + 1000).toISOString(),
        durationMs: 1000,
      });
      Object.assign(r, {
        requests: iv.requests,
        errors: iv.errors,
        errorRate: (iv.errors / iv.requests) * 100,
        latency: iv.latency,
        histogram: iv.histogram,
        intervals: [iv],
        intervalMs: 1000,
      });
      r.served = iv.served ?? { requests: iv.requests, latency: iv.latency };
      return r;
    };
    const a = part('2026-12-08T00:00:00.000Z', 10, 10, 50);
    const b = part('2026-12-08T00:00:00.200Z', 10, 0, 300);
    const m = mergeRunResults([a, b], OPTS);
    expect(m.served?.requests).toBe(20);
    expect(m.served?.latency.count).toBe(20);
    expect(m.served?.latency.min).toBeGreaterThanOrEqual(49);
    expect(m.served?.latency.max).toBeGreaterThanOrEqual(299);
  });
});
