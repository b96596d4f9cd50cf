import { describe, expect, it } from 'vitest';
import { entryFromRun } from '../src/baseline/entry.js';
import type { GitContext } from '../src/baseline/types.js';
import {
  applyRegressions,
  compareWithBaseline,
  confirmComparison,
  DEFAULT_REGRESSION_RULES,
  TREND_RUNS,
  needsConfirmation,
  neighbourQuantiles,
  parseRegressionRule,
  parseRegressionRules,
  poolRuns,
  quantiles,
  tQuantile,
  type ComparisonOutcome,
  type RegressionRule,
} from '../src/gate/regression.js';
import { Histogram } from '../src/metrics/histogram.js';
import type { FailOn, RunResult, Verdict } from '../src/model.js';
import { syntheticRun } from './helpers/github-data-stub.js';
import { UserError } from '../src/errors.js';
import type { BaselineEntry } from '../src/model.js';
import { compactHistogram } from '../src/metrics/histogram.js';

const git: GitContext = { owner: 'acme', repo: 'shop', eventName: 'push', branch: 'main' };
let clock = Date.parse('2025-03-01T00:00:00Z');
function entry(run: RunResult, over: Partial<BaselineEntry> = {}, environment = 'production'): BaselineEntry {
  clock += 3_600_000;
  const e = entryFromRun(
    { ...run, endedAt: new Date(clock).toISOString() },
    { environment, git: { ...git, sha: over.sha ?? `sha${clock}` }, id: over.id ?? `run${clock}` },
  );
  return { ...e, ...over };
}
const p99Only = parseRegressionRules(['p99: +10% and +20ms'], 'test', false);
const opts = { environment: 'production', source: 'branch:perf-gate-data', branch: 'main' } as const;

describe('parseRegressionRule', () => {
  const ok: Array<[string, Partial<RegressionRule> | 'off']> = [
    ['p99: +10% and +20ms', { metric: 'p99', better: 'lower', relativePercent: 10, absolute: 20, unit: 'ms' }],
    ['p95: +15%', { metric: 'p95', relativePercent: 15, absolute: undefined }],
    ['p(99): +1s', { metric: 'p99', absolute: 1000, relativePercent: undefined }],
    ['median: +5ms', { metric: 'p50', absolute: 5 }],
    ['P90 : 10% & 15ms', { metric: 'p90', relativePercent: 10, absolute: 15 }],
    ['avg: +12%', { metric: 'mean', relativePercent: 12 }],
    ['error_rate: +0.2pp', { metric: 'error_rate', absolute: 0.2, unit: 'pp', relativePercent: undefined }],
    ['error-rate: +0.5pp and +50%', { metric: 'error_rate', absolute: 0.5, relativePercent: 50 }],
    // No absolute part: the floor is derived from the counts' sampling noise (regression-floor.test.ts).
    ['error_rate: +50%', { metric: 'error_rate', absolute: undefined, relativePercent: 50, unit: 'pp' }],
    ['throughput: -10%', { metric: 'throughput', better: 'higher', relativePercent: 10, unit: '/s' }],
    ['rps: -10% and -5/s', { metric: 'throughput', relativePercent: 10, absolute: 5 }],
    ['max: +50% and +100ms', { metric: 'max', relativePercent: 50, absolute: 100 }],
    ['p50: off', 'off'],
  ];
  it.each(ok)('reads %s', (text, want) => {
    const r = parseRegressionRule(text);
    if (want === 'off') return expect(r).toEqual({ metric: 'p50', off: true });
    for (const [k, v] of Object.entries(want)) expect((r as unknown as Record<string, unknown>)[k], k).toEqual(v);
  });

  const bad: Array<[string, RegExp]> = [
    [
      'p99 +10%',
      /cannot read regression rule "p99 \+10%": expected "<metric>: <change> \[and <change>\]".*allowed: e\.g\./,
    ],
    ['p42: +10%', /unknown metric "p42"; allowed: p50, p90, p95, p99, max, mean, error_rate, throughput/],
    ['p99: -10%', /p99 regresses when it goes up.*got "-10%".*allowed: \+N% and\/or \+Nms/],
    ['throughput: +10%', /throughput regresses when it drops.*got "\+10%".*allowed: -N% and\/or -N\/s/],
    ['p99: +10pp', /unit "pp" does not fit p99; allowed: \+N% and\/or \+Nms/],
    ['throughput: -5ms', /unit "ms" does not fit throughput/],
    ['p99: +10% and +5%', /two relative changes \("\+5%"\)/],
    ['p99: fast', /cannot read "fast"; allowed:/],
    ['p99:', /no change given; allowed:/],
  ];
  it.each(bad)('rejects %s naming the value and what is allowed', (text, message) => {
    expect(() => parseRegressionRule(text, 'input "regression-rules"')).toThrow(UserError);
    expect(() => parseRegressionRule(text, 'input "regression-rules"')).toThrow(message);
    expect(() => parseRegressionRule(text, 'input "regression-rules"')).toThrow(/^input "regression-rules": /);
  });
});

describe('parseRegressionRules', () => {
  it('applies the documented defaults', () => {
    const rules = parseRegressionRules(undefined);
    expect(rules.map((r) => r.source)).toEqual([...DEFAULT_REGRESSION_RULES]);
  });

  it('lets a rule replace its default, turns metrics off, and keeps the other defaults', () => {
    const rules = parseRegressionRules('p99: +20% and +50ms; throughput: off\n# comment\np50: +15%');
    expect(rules.map((r) => r.source)).toEqual(['p50: +15%', 'p95: +10%', 'p99: +20% and +50ms', 'error_rate: +50%']);
  });

  it('refuses two rules for one metric', () => {
    expect(() => parseRegressionRules(['p99: +10%', 'p99: +20ms'], 'cfg')).toThrow(
      /cfg: p99 has more than one rule \("p99: \+20ms"\).*joined by "and"/,
    );
  });
});

describe('compareWithBaseline: tolerance', () => {
  const baseRun = syntheticRun({ seed: 1 });

  it('is a first run when there is no history', () => {
    const out = compareWithBaseline(baseRun, [], p99Only, opts);
    expect(out.mode).toBe('no_baseline');
    expect(out.regressions).toEqual([{ metric: 'p99', status: 'no_baseline', reason: expect.stringMatching(/first/) }]);
    expect(out.baseline.source).toBe('branch:perf-gate-data');
  });

  it('never fails an improvement, for latency and for throughput', () => {
    const base = entry(syntheticRun({ seed: 2, throughputRps: 100 }));
    const faster = syntheticRun({ seed: 3, scale: 0.6, throughputRps: 150 });
    const rules = parseRegressionRules(['p50: +1%', 'p99: +1%', 'throughput: -1%', 'mean: +1%'], 't', false);
    const out = compareWithBaseline(faster, [base], rules, opts);
    expect(out.regressions.map((r) => r.status)).toEqual(['improved', 'improved', 'improved', 'improved']);
    const hist = Array.from({ length: 8 }, (_, i) => entry(syntheticRun({ seed: 10 + i, throughputRps: 100 })));
    const outHist = compareWithBaseline(faster, hist, rules, opts);
    expect(outHist.mode).toBe('history');
    expect(outHist.regressions.every((r) => r.status === 'improved')).toBe(true);
  });

  it('needs both the relative and the absolute part to be exceeded', () => {
    const fast = entry(syntheticRun({ seed: 4, medianMs: 5 }));
    // +30 % on a ~14 ms p99 is about +4 ms: under the 20 ms floor.
    const out = compareWithBaseline(syntheticRun({ seed: 4, medianMs: 5, scale: 1.3 }), [fast], p99Only, opts);
    expect(out.regressions[0]).toMatchObject({
      status: 'pass',
      reason: expect.stringMatching(/within tolerance \(\+10% and \+20ms\)/),
    });
    const slow = entry(syntheticRun({ seed: 5, medianMs: 800 }));
    // +5 % on a ~2.3 s p99 is over 100 ms: under the 10 %.
    const out2 = compareWithBaseline(syntheticRun({ seed: 5, medianMs: 800, scale: 1.05 }), [slow], p99Only, opts);
    expect(out2.regressions[0]!.status).toBe('pass');
  });

  it('counts a slowdown that exceeds both and holds across neighbouring quantiles', () => {
    const out = compareWithBaseline(syntheticRun({ seed: 7, scale: 1.3 }), [entry(baseRun)], p99Only, opts);
    const r = out.regressions[0]!;
    expect(out.mode).toBe('single');
    expect(r.status).toBe('regressed');
    expect(r.changePercent).toBeGreaterThan(15);
    expect(r.reason).toMatch(
      /^p99 \+\d+(\.\d+)?% \(\d+ ms → \d+ ms\): beyond \+10% and \+20ms; p96\.97–p99\.68 moved \+\d+.*holds across neighbouring quantiles/,
    );
  });
});

describe('compareWithBaseline: one baseline run, histograms compared', () => {
  it('does not fail on a GC pause that only moves the top of the tail', () => {
    const base = syntheticRun({ seed: 11 });
    const h = Histogram.fromJSON(syntheticRun({ seed: 12 }).histogram!);
    for (let i = 0; i < 15; i++) h.recordMs(600 + i); // one 600 ms pause caught 15 requests
    const current: RunResult = {
      ...syntheticRun({ seed: 12 }),
      histogram: h.toJSON(),
      latency: h.stats(),
      requests: h.count,
    };
    const plainRatio = current.latency.p99! / base.latency.p99!;
    expect(plainRatio).toBeGreaterThan(1.1); // a plain +10 % rule would fail this PR
    const out = compareWithBaseline(current, [entry(base)], p99Only, opts);
    expect(out.regressions[0]).toMatchObject({
      status: 'pass',
      reason: expect.stringMatching(/does not hold across neighbouring quantiles: not counted$/),
    });
  });

  it('does not fail a change within the sampling noise of small runs', () => {
    const base = syntheticRun({ seed: 21, requests: 60 });
    const out = compareWithBaseline(syntheticRun({ seed: 22, requests: 60, scale: 1.2 }), [entry(base)], p99Only, opts);
    const r = out.regressions[0]!;
    expect(r.status).not.toBe('regressed');
  });

  it('tests error counts, not just the rate', () => {
    const base = entry(syntheticRun({ seed: 31, errors: 0 }));
    const rules = parseRegressionRules(['error_rate: +0.2pp'], 't', false);
    const at = (errors: number) =>
      compareWithBaseline(syntheticRun({ seed: 32, errors }), [base], rules, opts).regressions[0]!;
    expect(at(3).status).toBe('pass'); // +0.15pp: within tolerance
    expect(at(5)).toMatchObject({
      status: 'pass',
      reason: expect.stringMatching(/5\/2000 vs 0\/2000 errors, z=2\.2: could be chance/),
    });
    expect(at(8)).toMatchObject({
      status: 'regressed',
      reason: expect.stringMatching(/^error_rate \+0\.4pp \(0% → 0\.4%\): beyond \+0\.2pp; 8\/2000 vs 0\/2000 errors/),
    });
  });
});

describe('compareWithBaseline: noise band from history', () => {
  const noisy = [0.92, 1.08, 0.95, 1.06, 0.9, 1.1, 1.0, 0.93, 1.07, 0.97];
  const quiet = [0.995, 1.005, 1.0, 0.998, 1.002, 1.0, 0.997, 1.003, 1.001, 0.999];
  const history = (factors: number[]) => factors.map((f, i) => entry(syntheticRun({ seed: 100 + i, scale: f })));
  const current = syntheticRun({ seed: 200, scale: 1.12 });

  it("does not count a change inside the band the metric's own history shows", () => {
    const out = compareWithBaseline(current, history(noisy), p99Only, opts);
    expect(out.mode).toBe('history');
    expect(out.historySize).toBe(10);
    const r = out.regressions[0]!;
    expect(r.changePercent).toBeGreaterThan(10); // beyond the tolerance...
    expect(r).toMatchObject({
      status: 'pass',
      reason: expect.stringMatching(
        /vs the mean of 10 runs but p96\.97–p99\.68 moved \+\d+.*within its noise band \(up to \+\d+.*%, 99% prediction over 10 runs\): not counted/,
      ),
    });
  });

  it('counts the same change against a quiet history', () => {
    const out = compareWithBaseline(current, history(quiet), p99Only, opts);
    expect(out.regressions[0]).toMatchObject({
      status: 'regressed',
      reason: expect.stringMatching(/outside its noise band: p96\.97–p99\.68 moved \+\d+.*band up to \+\d+.*%/),
    });
    expect(out.baseline.note).toMatch(/noise band from 10 runs/);
  });

  it('uses a narrower band for a pooled (confirmed) run and flags grey-zone changes for confirmation', () => {
    const h = history(noisy);
    const first = compareWithBaseline(current, h, p99Only, opts);
    expect(first.suspect).toEqual(['p99']);
    expect(needsConfirmation(first)).toBe(true);
    expect(needsConfirmation(first.regressions)).toBe(false);
    const pooled = poolRuns(current, syntheticRun({ seed: 201, scale: 1.12 }));
    expect(pooled.requests).toBe(4000);
    expect(pooled.histogram!.count).toBe(4000);
    const second = compareWithBaseline(pooled, h, p99Only, { ...opts, pooledRuns: 2 });
    expect(second.regressions[0]!.reason).toMatch(/95% prediction over 10 runs/);
  });

  it('confirms only a regression that the confirmation run shows on its own', () => {
    const h = history(quiet);
    const compare = (r: RunResult, k: number): ComparisonOutcome =>
      compareWithBaseline(r, h, p99Only, { ...opts, pooledRuns: k });
    // One extreme first run (p99 +60 %) pooled with a normal second run still looks slower pooled, but does not hold.
    const extreme = syntheticRun({ seed: 301, scale: 1.6 });
    const normal = syntheticRun({ seed: 302 });
    expect(compare(extreme, 1).regressions[0]!.status).toBe('regressed');
    expect(compare(poolRuns(extreme, normal), 2).regressions[0]!.status).toBe('regressed');
    const notHeld = confirmComparison(compare, extreme, normal);
    expect(notHeld.outcome.regressions[0]).toMatchObject({
      status: 'pass',
      reason: expect.stringMatching(
        /^p99 of the two runs pooled looks worse \(\+\d+.*%\), but the confirmation run alone \([+-][\d.]+%\) does not stand out from the noise on its own \(half the tolerance and its 80 % band\): not confirmed, not counted$/,
      ),
    });
    expect(notHeld.pooled.requests).toBe(4000);
    // A real slowdown shows in both runs and stands, judged on the pooled runs.
    const held = confirmComparison(
      compare,
      syntheticRun({ seed: 303, scale: 1.3 }),
      syntheticRun({ seed: 304, scale: 1.3 }),
    );
    expect(held.outcome.regressions[0]).toMatchObject({
      status: 'regressed',
      reason: expect.stringMatching(/95% prediction over 10 runs/),
    });
    expect(held.outcome.baseline.method).toMatch(/outside the 95 % prediction band of the last 10 comparable runs/);
  });

  it('asks the confirmation run to pass the screen on its own, not merely to lean the same way', () => {
    const h = history(quiet);
    const compare = (r: RunResult, k: number): ComparisonOutcome =>
      compareWithBaseline(r, h, p99Only, { ...opts, pooledRuns: k });
    const extreme = syntheticRun({ seed: 301, scale: 1.6 });
    // A confirmation run a little slower than the baseline (between a quarter and half of the +10 % tolerance):
    // it leans the same way, but on its own it would not have been worth a second look.
    const leaning = syntheticRun({ seed: 305, scale: 1.06 });
    const own = compare(leaning, 1);
    expect(own.regressions[0]!.changePercent).toBeGreaterThan(2.5);
    expect(own.regressions[0]!.changePercent).toBeLessThan(5);
    expect(own.worse).toEqual(['p99']);
    expect(own.suspect).toEqual([]);
    expect(compare(poolRuns(extreme, leaning), 2).regressions[0]!.status).toBe('regressed');
    const out = confirmComparison(compare, extreme, leaning).outcome.regressions[0]!;
    expect(out).toMatchObject({
      status: 'pass',
      reason: expect.stringMatching(/does not stand out from the noise on its own/),
    });
  });

  it('says how it judged and keeps the runs up to the baseline for the trend chart', () => {
    const h = history(quiet);
    const out = compareWithBaseline(current, h, p99Only, opts);
    expect(out.baseline.method).toBe(
      "a change counts as a regression when it is beyond the rule's tolerance and outside the 99 % prediction band of the last 10 comparable runs (latency percentiles: mean log of eight neighbouring quantiles); p99 floor 20 ms: as written in the rule",
    );
    expect(out.baseline.trend).toHaveLength(10);
    expect(out.baseline.trend!.map((p) => p.p99)).toEqual(h.map((e) => e.metrics.p99));
    expect(out.baseline.trend![9]).toMatchObject({ sha: h[9]!.sha, createdAt: h[9]!.createdAt, errorRate: 0 });
    const long = Array.from({ length: TREND_RUNS + 5 }, (_, i) => entry(syntheticRun({ seed: 400 + i })));
    expect(compareWithBaseline(current, long, p99Only, opts).baseline.trend!.map((p) => p.sha)).toEqual(
      long.slice(5).map((e) => e.sha),
    );
    expect(compareWithBaseline(current, h.slice(0, 2), p99Only, opts).baseline.method).toMatch(
      /exceeds the two histograms' sampling noise \(z >= 2\.33\); from 5 recorded runs on/,
    );
  });

  it('needs MIN_HISTORY runs before using a band', () => {
    const out = compareWithBaseline(current, history(noisy).slice(0, 4), p99Only, opts);
    expect(out.mode).toBe('single');
    expect(out.baseline.note).toMatch(/one baseline run \(4 comparable up to it; 5 needed for a noise band\)/);
  });
});

describe('compareWithBaseline: which baseline', () => {
  const runs = Array.from({ length: 7 }, (_, i) =>
    entry(syntheticRun({ seed: 300 + i }), { sha: `c${i}`.padEnd(40, '0') }),
  );

  it('compares with the merge base when the history has it, looking back from there', () => {
    const now = new Date(Date.parse(runs[2]!.createdAt) + 3 * 86_400_000);
    const out = compareWithBaseline(syntheticRun({ seed: 9 }), runs, p99Only, {
      ...opts,
      baselineSha: runs[2]!.sha!,
      now,
    });
    expect(out.entry!.sha).toBe(runs[2]!.sha);
    expect(out.baseline).toMatchObject({
      sha: runs[2]!.sha,
      createdAt: runs[2]!.createdAt,
      source: 'branch:perf-gate-data',
    });
    expect(out.baseline.note).toMatch(/^merge base c200000, 3 days old; one baseline run \(3 comparable up to it/);
  });

  it('falls back to the newest run of the base branch and says so', () => {
    const out = compareWithBaseline(syntheticRun({ seed: 9 }), runs, p99Only, { ...opts, baselineSha: 'f'.repeat(40) });
    expect(out.entry!.sha).toBe(runs[6]!.sha);
    expect(out.baseline.note).toMatch(
      /^newest run of main c600000.*noise band from 7 runs; merge base fffffff has no comparable recorded run/,
    );
  });

  it('only counts runs of the base branch', () => {
    const other = runs.map((e) => ({ ...e, branch: 'release/1.x' }));
    const out = compareWithBaseline(syntheticRun({ seed: 9 }), other, p99Only, opts);
    expect(out.regressions[0]).toMatchObject({
      status: 'no_baseline',
      reason: expect.stringMatching(/no recorded run of main yet \(the history has release\/1\.x\)/),
    });
  });

  it.each([
    [
      'environment',
      (e: BaselineEntry) => ({ ...e, environment: 'staging' }),
      /not comparable: baseline is from environment "staging", this run is "production"/,
    ],
    [
      'engine',
      (e: BaselineEntry) => ({ ...e, engine: 'k6' as const }),
      /not comparable: baseline was measured with engine k6, this run with builtin/,
    ],
    [
      'phase',
      (e: BaselineEntry) => ({ ...e, phase: 'stress' }),
      /not comparable: baseline is phase "stress", this run is "warmup"/,
    ],
  ])('refuses a baseline from another %s', (_what, change, reason) => {
    const out = compareWithBaseline(syntheticRun({ seed: 9 }), runs.map(change), parseRegressionRules(undefined), opts);
    expect(out.mode).toBe('not_comparable');
    expect(out.regressions.map((r) => r.status)).toEqual([
      'not_comparable',
      'not_comparable',
      'not_comparable',
      'not_comparable',
    ]);
    expect(out.regressions[0]!.reason).toMatch(reason);
    expect(out.regressions[0]!.current).toBeUndefined(); // no comparison made
  });

  it('refuses a baseline with another load shape (duration scale)', () => {
    const longer = syntheticRun({ seed: 9, stages: [{ durationMs: 40_000, startRate: 100, endRate: 100 }] });
    const out = compareWithBaseline({ ...longer, shape: { ...longer.shape!, durationScale: 2 } }, runs, p99Only, opts);
    expect(out.regressions[0]!.reason).toMatch(
      /not comparable: load shape differs \(baseline: 1 stage, 20s, peak 100\/s; this run: 1 stage, 40s, peak 100\/s, duration ×2\)/,
    );
  });

  it('never compares a run with itself', () => {
    const out = compareWithBaseline(syntheticRun({ seed: 9 }), runs, p99Only, { ...opts, excludeSha: runs[6]!.sha! });
    expect(out.entry!.sha).toBe(runs[5]!.sha);
  });
});

describe('applyRegressions', () => {
  const verdict = (status: Verdict['status']): Verdict => ({
    status,
    failsCheck: status !== 'pass',
    targets: [],
    reasons: status === 'fail' ? ['p99 < 100ms: measured 120 ms'] : [],
  });
  type Outcome = Pick<ComparisonOutcome, 'regressions' | 'baseline'>;
  const regressed: Outcome = {
    regressions: [{ metric: 'p99', status: 'regressed', reason: 'p99 +20%' }],
    baseline: { source: 'x' },
  };
  const clean: Outcome = { regressions: [{ metric: 'p99', status: 'pass' }], baseline: { source: 'x' } };
  it.each<[FailOn, Verdict['status'], Outcome, Verdict['status'], boolean]>([
    ['any', 'pass', regressed, 'fail', true],
    ['target', 'pass', regressed, 'fail', false],
    ['regression', 'pass', regressed, 'fail', true],
    ['regression', 'fail', clean, 'fail', false],
    ['never', 'pass', regressed, 'fail', false],
    ['any', 'pass', clean, 'pass', false],
    ['never', 'error', clean, 'error', true],
  ])('fail-on %s, targets %s', (failOn, status, outcome, wantStatus, wantFails) => {
    const v = applyRegressions(verdict(status), outcome, failOn);
    expect(v.status).toBe(wantStatus);
    expect(v.failsCheck).toBe(wantFails);
    expect(v.regressions).toBe(outcome.regressions);
    if (outcome === regressed) expect(v.reasons).toContain('regression: p99 +20%');
  });
});

describe('statistics helpers', () => {
  it('t quantiles are within 1 % of the tables', () => {
    for (const [p, df, t] of [
      [0.99, 9, 2.821],
      [0.99, 4, 3.747],
      [0.975, 4, 2.776],
      [0.9, 1, 3.078],
      [0.975, 2, 4.303],
      [0.99, 29, 2.462],
    ] as const) {
      expect(Math.abs(tQuantile(p, df) / t - 1)).toBeLessThan(0.01);
    }
  });

  it('neighbouring quantiles sit around the percentile', () => {
    expect(neighbourQuantiles('p99')).toEqual([96.97, 97.59, 98.11, 98.52, 99, 99.28, 99.5, 99.68]);
    expect(neighbourQuantiles('throughput')).toBeUndefined();
  });

  it('a compacted histogram keeps quantiles within 0.6 % in a fraction of the size', () => {
    const run = syntheticRun({ seed: 77, requests: 5000 });
    const full = run.histogram!;
    const small = compactHistogram(full);
    expect(small.count).toBe(full.count);
    expect(small.buckets.length).toBeLessThan(full.buckets.length / 3);
    const ps = [50, 90, 95, 99, 99.9];
    const a = quantiles(full, ps);
    const b = quantiles(small, ps);
    ps.forEach((_, i) => {
      expect(Math.abs(b[i]! / a[i]! - 1)).toBeLessThan(0.006);
    });
    // quantiles() follows Histogram.percentileMs exactly
    expect(a).toEqual(ps.map((p) => Histogram.fromJSON(full).percentileMs(p)));
  });
});
