// The absolute floor of a regression tolerance follows the measurement (src/gate/regression-floor.ts): synthetic
// histories of services at 5 ms and 100 ms, quiet and noisy, with and without a history, and the error rate at
// low rates.
import { describe, expect, it } from 'vitest';
import { entryFromRun } from '../src/baseline/entry.js';
import type { GitContext } from '../src/baseline/types.js';
import type { BaselineEntry } from '../src/model.js';
import { compareWithBaseline, confirmComparison, parseRegressionRules } from '../src/gate/regression.js';
import type { RunResult } from '../src/model.js';
import { syntheticRun } from './helpers/github-data-stub.js';

const git: GitContext = { owner: 'acme', repo: 'shop', eventName: 'push', branch: 'main' };
let clock = Date.parse('2026-03-01T00:00:00Z');
function entry(run: RunResult): BaselineEntry {
  clock += 3_600_000;
  return entryFromRun(
    { ...run, endedAt: new Date(clock).toISOString() },
    { environment: 'production', git: { ...git, sha: `sha${clock}` }, id: `run${clock}` },
  );
}
const opts = { environment: 'production', source: 'branch:perf-gate-data', branch: 'main' } as const;
const defaults = parseRegressionRules(undefined, 'test').filter((r) => r.metric === 'p99');
const fixed20 = parseRegressionRules(['p99: +10% and +20ms'], 'test', false);
const errorDefault = parseRegressionRules(undefined, 'test').filter((r) => r.metric === 'error_rate');
/** p99 of syntheticRun is about 2.85 x its median (sigma 0.45). */
const medianFor = (p99: number): number => p99 / Math.exp(0.45 * 2.326);
const history = (p99: number, factors: number[], seed = 100): BaselineEntry[] =>
  factors.map((f, i) => entry(syntheticRun({ seed: seed + i, medianMs: medianFor(p99), scale: f })));
const p99Of = (out: ReturnType<typeof compareWithBaseline>) => out.regressions.find((r) => r.metric === 'p99')!;

describe('derived floor with a history', () => {
  it('a 5 ms service whose p99 jitters by 1 ms passes a run 1 ms slower (+20 %)', () => {
    // p99 about 4-6 ms from run to run.
    const h = history(5, [0.8, 1.2, 0.9, 1.1, 1.0, 0.85, 1.15]);
    const out = compareWithBaseline(syntheticRun({ seed: 7, medianMs: medianFor(5), scale: 1.2 }), h, defaults, opts);
    const r = p99Of(out);
    expect(out.mode).toBe('history');
    expect(r.changePercent).toBeGreaterThan(10);
    expect(r.status).toBe('pass');
    expect(r.floor).toMatchObject({ unit: 'ms', basis: 'history' });
    // The floor alone covers the jitter: more than 1 ms, far below the former 20 ms.
    expect(r.floor!.value).toBeGreaterThan(1);
    expect(r.floor!.value).toBeLessThan(5);
  });

  it('a 100 ms service 18-20 ms slower fails, where the fixed 20 ms floor let it pass', () => {
    const quiet = [1.0, 1.03, 0.98, 1.01, 0.99];
    const h = history(100, quiet);
    for (const [seed, scale] of [
      [20, 1.18],
      [21, 1.2],
    ] as const) {
      const slower = syntheticRun({ seed, medianMs: medianFor(100), scale });
      const out = compareWithBaseline(slower, h, defaults, opts);
      const r = p99Of(out);
      expect(r.status, r.reason).toBe('regressed');
      expect(r.floor!.basis).toBe('history');
      expect(r.floor!.value).toBeLessThan(12);
      expect(r.reason).toMatch(
        /beyond \+10% and the [\d.]+ ms floor from the history's spread and outside its noise band/,
      );
      expect(out.baseline.method).toMatch(/; p99 floor [\d.]+ ms: 2× the history's spread$/);
      expect(r.floor!.detail).toMatch(
        /^SD [\d.]+ ms of p96\.97–p99\.68 over 5 runs; ±[\d.]+ ms for one run against their mean$/,
      );
    }
    // The explicit rule still means 20 ms: +18 ms is under it.
    const out = compareWithBaseline(
      syntheticRun({ seed: 20, medianMs: medianFor(100), scale: 1.18 }),
      h,
      fixed20,
      opts,
    );
    expect(p99Of(out)).toMatchObject({
      status: 'pass',
      floor: { value: 20, unit: 'ms', basis: 'rule', why: 'as written in the rule' },
    });
    expect(p99Of(out).current! - p99Of(out).baseline!).toBeLessThan(20);
    expect(out.baseline.method).toMatch(/; p99 floor 20 ms: as written in the rule$/);
  });

  it('a noisy 100 ms service (±15 % between runs) does not fail on +15 %', () => {
    const h = history(100, [0.85, 1.15, 0.9, 1.1, 1.0, 0.88, 1.12, 0.95, 1.05, 1.0]);
    const out = compareWithBaseline(
      syntheticRun({ seed: 30, medianMs: medianFor(100), scale: 1.15 }),
      h,
      defaults,
      opts,
    );
    const r = p99Of(out);
    expect(r.changePercent).toBeGreaterThan(10);
    expect(r.status).toBe('pass');
    // Its own spread makes the floor: about 2 x 10 % x sqrt(1 + 1/10) of 100 ms.
    expect(r.floor!.basis).toBe('history');
    expect(r.floor!.value).toBeGreaterThan(15);
  });

  it('a history without spread falls back to the histogram resolution', () => {
    // The same seed every run: identical histograms, SD 0.
    const same = Array.from({ length: 5 }, () => entry(syntheticRun({ seed: 40, medianMs: medianFor(100) })));
    const out = compareWithBaseline(syntheticRun({ seed: 40, medianMs: medianFor(100) }), same, defaults, opts);
    const r = p99Of(out);
    expect(r.floor).toMatchObject({
      basis: 'resolution',
      why: "two buckets of the histogram's resolution",
      detail: expect.stringMatching(/^at [\d.]+ ms; the history's spread, SD 0 ms over 5 runs, is finer$/),
    });
    expect(r.floor!.value / r.baseline!).toBeCloseTo(0.0201, 3);
    expect(r.status).toBe('pass');
  });

  it('a pooled (confirmed) pair gets the narrower floor of two runs against the history', () => {
    const h = history(100, [0.95, 1.05, 0.97, 1.03, 1.0]);
    const run = syntheticRun({ seed: 50, medianMs: medianFor(100) });
    const one = p99Of(compareWithBaseline(run, h, defaults, opts)).floor!;
    const two = p99Of(compareWithBaseline(run, h, defaults, { ...opts, pooledRuns: 2 })).floor!;
    expect(two.value / one.value).toBeCloseTo(Math.sqrt((1 / 2 + 1 / 5) / (1 + 1 / 5)), 5);
    expect(two.detail).toMatch(/for 2 pooled runs against their mean/);
  });
});

describe('the Method line', () => {
  it('groups the floors by why', () => {
    const rules = parseRegressionRules(['p95: +10%', 'p99: +10% and +25ms', 'error_rate: +0.2pp'], 'test', false);
    const h = history(100, [0.95, 1.05, 0.97, 1.03, 1.0]);
    const out = compareWithBaseline(syntheticRun({ seed: 55, medianMs: medianFor(100) }), h, rules, opts);
    expect(out.baseline.method).toMatch(
      /\(latency percentiles: mean log of eight neighbouring quantiles\); p95 floor [\d.]+ ms: 2× the history's spread; floors p99 25 ms, error_rate 0\.2pp: as written in the rule$/,
    );
  });
});

describe('derived floor without a history', () => {
  it("is twice the two runs' sampling noise, smaller for longer runs", () => {
    const floorAt = (requests: number): number => {
      const base = entry(syntheticRun({ seed: 60, medianMs: medianFor(100), requests }));
      const out = compareWithBaseline(
        syntheticRun({ seed: 61, medianMs: medianFor(100), requests }),
        [base],
        defaults,
        opts,
      );
      expect(out.mode).toBe('single');
      const r = p99Of(out);
      expect(r.floor).toMatchObject({
        basis: 'sampling',
        why: "2× the two runs' sampling noise",
        detail: expect.stringMatching(/^±[\d.]+ ms$/),
      });
      return r.floor!.value;
    };
    const short = floorAt(500);
    const long = floorAt(20_000);
    expect(short).toBeGreaterThan(long * 3);
    expect(long).toBeGreaterThan(2);
  });

  it('catches a 20 % slowdown at p99 = 100 ms on runs of 10,000 requests', () => {
    const base = entry(syntheticRun({ seed: 70, medianMs: medianFor(100), requests: 10_000 }));
    const r = p99Of(
      compareWithBaseline(
        syntheticRun({ seed: 71, medianMs: medianFor(100), scale: 1.2, requests: 10_000 }),
        [base],
        defaults,
        opts,
      ),
    );
    expect(r.status, r.reason).toBe('regressed');
    expect(r.floor!.value).toBeLessThan(20);
  });

  it('estimates the sampling noise from the counts when the runs have no histograms (a tool summary)', () => {
    const bare = (run: RunResult): RunResult => {
      const { histogram: _h, ...rest } = run;
      return rest;
    };
    const base = entry(bare(syntheticRun({ seed: 80, medianMs: medianFor(100) })));
    const r = p99Of(
      compareWithBaseline(bare(syntheticRun({ seed: 81, medianMs: medianFor(100) })), [base], defaults, opts),
    );
    expect(r.floor).toMatchObject({
      basis: 'sampling',
      detail: expect.stringMatching(/estimated from the request counts and p50–p99 spread: no histograms/),
    });
    expect(r.floor!.value).toBeGreaterThan(2);
    expect(r.floor!.value).toBeLessThan(30);
  });
});

describe('error rate floor at low rates', () => {
  const run = (errors: number, requests: number, seed = 90): RunResult =>
    withCounts(syntheticRun({ seed, requests: 200 }), errors, requests);

  it('2 errors in 1,330 requests after none are chance; 300 in 360,000 are not', () => {
    const few = compareWithBaseline(run(2, 1330, 91), [entry(run(0, 1330))], errorDefault, opts).regressions[0]!;
    expect(few.status).toBe('pass');
    expect(few.floor).toMatchObject({ unit: 'pp', basis: 'sampling' });
    expect(few.floor!.value).toBeGreaterThan(0.15);
    // The former +0.2pp would let 0.083 % through on an hour-long run; its counts say it is real.
    const many = compareWithBaseline(run(300, 360_000, 92), [entry(run(0, 360_000))], errorDefault, opts)
      .regressions[0]!;
    expect(many.status, many.reason).toBe('regressed');
    expect(many.floor!.value).toBeLessThan(0.02);
    expect(many.floor).toMatchObject({
      why: "2× the counts' sampling noise",
      detail: expect.stringMatching(/^±[\d.]+pp for 300\/360000 vs 0\/360000 errors$/),
    });
  });

  it("with a history, its spread or the counts' sampling noise, whichever is larger", () => {
    const rates = [0, 3, 1, 0, 2, 1];
    const h = rates.map((e, i) => entry(run(e, 1330, 100 + i)));
    const one = compareWithBaseline(run(3, 1330, 120), h, errorDefault, opts).regressions[0]!;
    expect(one.status).toBe('pass');
    expect(['history', 'sampling']).toContain(one.floor!.basis);
    const bad = compareWithBaseline(run(20, 1330, 121), h, errorDefault, opts).regressions[0]!;
    expect(bad.status, bad.reason).toBe('regressed');
    // An explicit +0.2pp stays the floor.
    const explicit = parseRegressionRules(['error_rate: +0.2pp'], 'test', false);
    expect(compareWithBaseline(run(3, 1330, 120), h, explicit, opts).regressions[0]!.floor).toEqual({
      value: 0.2,
      unit: 'pp',
      basis: 'rule',
      why: 'as written in the rule',
    });
  });
});

/** A run whose request and error counts are set as a long run would have them (the histogram is irrelevant here). */
function withCounts(r: RunResult, errors: number, requests: number): RunResult {
  return {
    ...r,
    requests,
    errors,
    errorRate: (errors / requests) * 100,
    errorsByKind: errors ? { http_5xx: errors } : {},
    statusCodes: { '200': requests - errors, ...(errors ? { '503': errors } : {}) },
  };
}

describe('history outliers', () => {
  // A run of the history with a stall (its p99 far above the others) would drag the mean up and multiply the
  // spread, so that a real 20 % slowdown hides in the band: it is left out when it lies beyond the other runs'
  // one-sided 99.5 % prediction bound.
  const quiet = [1.0, 1.03, 0.98, 1.01];
  it('leaves a stalled run out of the band, and says so', () => {
    const h = [...history(100, quiet, 500), entry(syntheticRun({ seed: 510, medianMs: medianFor(100), scale: 1.8 }))];
    const compare = (run: RunResult, pooledRuns: number) =>
      compareWithBaseline(run, h, defaults, { ...opts, pooledRuns });
    const first = syntheticRun({ seed: 520, medianMs: medianFor(100), scale: 1.2 });
    // One run against four is not enough on its own (t with 3 degrees of freedom), but it is suspect ...
    expect(compare(first, 1).suspect).toContain('p99');
    // ... and with its confirmation run the slowdown stands.
    const { outcome: out } = confirmComparison(
      compare,
      first,
      syntheticRun({ seed: 521, medianMs: medianFor(100), scale: 1.2 }),
    );
    const r = p99Of(out);
    expect(r.status, r.reason).toBe('regressed');
    expect(r.reason).toMatch(
      /vs the mean of 4 runs: .*\(1 run of the history left out as an outlier against the others: sha\d+ \+\d+.*%\)$/,
    );
    expect(out.baseline.method).toMatch(
      /; p99: 1 run of the history left out as an outlier \(beyond the others' 99\.5 % prediction bound\)/,
    );
    // Left in, the same run hides the slowdown: compare with the outlier's history judged as it stood.
    const mean5 = Math.exp(h.reduce((a, e) => a + Math.log(e.metrics.p99!), 0) / 5);
    expect(r.current! / mean5).toBeLessThan(1.1);
  });

  it('keeps an ordinary history whole, and never leaves out a run for being faster', () => {
    const h = [...history(100, quiet, 500), entry(syntheticRun({ seed: 510, medianMs: medianFor(100), scale: 0.6 }))];
    const out = compareWithBaseline(
      syntheticRun({ seed: 520, medianMs: medianFor(100), scale: 1.0 }),
      h,
      defaults,
      opts,
    );
    expect(p99Of(out).reason).not.toMatch(/left out/);
    expect(p99Of(out).reason).toMatch(/vs the mean of 5 runs/);
    const plain = compareWithBaseline(
      syntheticRun({ seed: 521, medianMs: medianFor(100), scale: 1.2 }),
      history(100, [...quiet, 0.99], 500),
      defaults,
      opts,
    );
    expect(p99Of(plain).reason).not.toMatch(/left out/);
    expect(plain.baseline.method).not.toMatch(/left out/);
  });
});
