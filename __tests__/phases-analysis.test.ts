// The phase analyses on synthetic interval series: steady part, breaking point, cascading failure, recovery, and
// the abort guards. No load is sent here; src/phases/analysis.ts, steady.ts and guards.ts are pure.
import { describe, expect, it } from 'vitest';
import { Histogram } from '../src/metrics/histogram.js';
import type { IntervalResult, RunResult, Stage } from '../src/model.js';
import { decide } from '../src/gate/evaluate.js';
import { parseTargets } from '../src/gate/targets.js';
import { outputsFor } from '../src/github/outputs.js';
import {
  analyzeCapacity,
  analyzeRecovery,
  analyzeRun,
  analyzeStress,
  rampDownStartMs,
  recoveryCriteria,
  unmeetableTargets,
} from '../src/phases/analysis.js';
import { steadyIntervals, steadyPart, steadyWindows } from '../src/phases/steady.js';
import { fitGuards, GuardMonitor, parseGuard, parseGuards } from '../src/phases/guards.js';
import { shapeStages, timeFactorOf } from '../src/phases/presets.js';
import { Recorder } from '../src/engines/builtin/recorder.js';
import { phaseVerdict } from '../src/phases/run.js';

interface Spec {
  requests: number;
  errors?: number;
  /** Every request's latency, ms (a histogram of identical values, so p99 is this). */
  ms?: number;
  targetRate?: number;
  concurrency?: number;
}

function series(specs: Spec[], widthMs = 1000): IntervalResult[] {
  return specs.map((s, i) => {
    const h = new Histogram();
    const answered = s.requests - (s.errors ?? 0);
    // Errors here are 5xx answers: they have latencies too.
    for (let k = 0; k < s.requests; k++) h.recordMs(s.ms ?? 10);
    void answered;
    const iv: IntervalResult = {
      startMs: i * widthMs,
      durationMs: widthMs,
      requests: s.requests,
      errors: s.errors ?? 0,
      latency: h.stats(),
      histogram: h.toJSON(),
    };
    if (s.targetRate !== undefined) iv.targetRate = s.targetRate;
    if (s.concurrency !== undefined) iv.concurrency = s.concurrency;
    return iv;
  });
}

function runOf(intervals: IntervalResult[], intervalMs = 1000): RunResult {
  const h = new Histogram();
  let requests = 0;
  let errors = 0;
  for (const iv of intervals) {
    if (iv.histogram) h.merge(iv.histogram);
    requests += iv.requests;
    errors += iv.errors;
  }
  const durationMs = intervals.reduce((n, iv) => n + iv.durationMs, 0);
  return {
    schemaVersion: 1,
    engine: 'builtin',
    phase: 'test',
    startedAt: '2025-01-01T00:00:00.000Z',
    endedAt: '2025-01-01T00:01:00.000Z',
    durationMs,
    requests,
    errors,
    errorsByKind: errors ? { http_5xx: errors } : {},
    statusCodes: {},
    errorRate: requests ? (errors / requests) * 100 : undefined,
    throughputRps: requests / (durationMs / 1000),
    latency: h.stats(),
    histogram: h.toJSON(),
    endpoints: [],
    intervals,
    intervalMs,
    generator: { valid: true, invalidReasons: [] },
    customMetrics: {},
    toolThresholds: [],
    notes: [],
  };
}

const ramp = (durationMs: number, from: number, to: number, name?: string): Stage => ({
  durationMs,
  startRate: from,
  endRate: to,
  ...(name ? { name } : {}),
});

describe('steady part', () => {
  const stages = [ramp(3000, 1, 10, 'ramp-up'), ramp(5000, 10, 10, 'steady'), ramp(2000, 10, 0, 'ramp-down')];

  it('finds the constant-rate stages with load', () => {
    expect(steadyWindows(stages)).toEqual([{ startMs: 3000, endMs: 8000, stage: 'steady' }]);
    expect(steadyWindows([ramp(1000, 0, 0), ramp(1000, 5, 5)])).toEqual([{ startMs: 1000, endMs: 2000 }]);
  });

  it('keeps only intervals wholly inside a steady window, and places a folded last interval by its nominal width', () => {
    const ivs = series(Array.from({ length: 10 }, () => ({ requests: 10 })));
    expect(steadyIntervals(ivs, steadyWindows(stages), 1000).map((iv) => iv.startMs)).toEqual([
      3000, 4000, 5000, 6000, 7000,
    ]);
    // A hold to the end of the shape whose last interval absorbed a 300 ms tail.
    const last = { ...ivs[9]!, durationMs: 1300 };
    expect(
      steadyIntervals([...ivs.slice(0, 9), last], [{ startMs: 5000, endMs: 10_000 }], 1000).map((iv) => iv.startMs),
    ).toEqual([5000, 6000, 7000, 8000, 9000]);
    // Timer jitter of a millisecond does not push an interval out.
    const jittered = [{ ...ivs[3]!, startMs: 2999 }];
    expect(steadyIntervals(jittered, steadyWindows(stages), 1000)).toHaveLength(1);
  });

  it('merges the histograms of the steady intervals into a RunResult view the gate judges', () => {
    // A slow, erroring ramp (300 ms, 50 % errors) and a fast, clean hold (20 ms).
    const ivs = series([
      { requests: 10, errors: 5, ms: 300 },
      { requests: 10, errors: 5, ms: 300 },
      { requests: 10, errors: 5, ms: 300 },
      ...Array.from({ length: 5 }, () => ({ requests: 100, ms: 20 })),
      { requests: 10, ms: 300 },
      { requests: 10, ms: 300 },
    ]);
    const run = runOf(ivs);
    const part = steadyPart(run, stages);
    if (!('view' in part)) throw new Error(part.reason);
    expect(part.summary).toMatchObject({
      intervals: 5,
      intervalsTotal: 10,
      requests: 500,
      errors: 0,
      errorRate: 0,
      throughputRps: 100,
    });
    expect(part.summary.latency.p99).toBeCloseTo(20, 1);
    expect(part.view.latency.p99).toBeCloseTo(20, 1);
    expect(part.view.intervals).toHaveLength(5);
    expect(run.latency.p99).toBeCloseTo(300, 0);

    const targets = parseTargets(['p99 < 100ms', 'error_rate < 0.5%']);
    const { judged, analysis } = analyzeRun(run, { stages, decideOn: 'steady', analyses: [], targets });
    expect(analysis.judged).toBe('steady');
    expect(decide(run, targets, 'any', [], judged).status).toBe('pass');
    expect(decide(run, targets, 'any').status).toBe('fail');
    const all = analyzeRun(runOf(ivs), { stages, decideOn: 'all', analyses: [], targets });
    expect(all.analysis.judged).toBe('all');
    expect(all.analysis.steady?.requests).toBe(500);
    expect(decide(all.judged, targets, 'any').status).toBe('fail');
  });

  it('judges infrastructure targets on the same steady part: an idle ramp does not pull the mean down', () => {
    const ivs = series(Array.from({ length: 10 }, () => ({ requests: 10 })));
    const run = runOf(ivs);
    // CPU idles at 10 % through the ramps and sits at 75 % in the hold (3 s to 8 s); a 15 s CloudWatch-like sample
    // taken at 2.5 s stands at the start of the hold. Memory has a single sample before the hold, which stands.
    const cpu: Array<[number, number]> = [
      [0, 10],
      [1000, 10],
      [2000, 10],
      [2500, 75],
      [4000, 75],
      [5000, 75],
      [6000, 75],
      [7000, 75],
      [8500, 10],
      [9500, 10],
    ];
    run.infra = [
      { name: 'cpu', source: 'prometheus', query: 'cpu', unit: '%', stats: { mean: 42, max: 75 }, series: cpu },
      {
        name: 'memory',
        source: 'cloudwatch',
        query: 'mem',
        unit: '%',
        stats: { mean: 60, max: 60 },
        series: [[1000, 60]],
      },
      {
        name: 'db_connections',
        source: 'postgres',
        query: 'n',
        unit: 'count',
        stats: {},
        unavailable: 'connection refused',
      },
    ];
    const targets = parseTargets(['mean(cpu) < 70%', 'memory < 85%']);
    const { judged } = analyzeRun(run, { stages, decideOn: 'steady', analyses: [], targets });
    expect(judged.infra![0]!.stats).toEqual({ min: 75, mean: 75, p95: 75, max: 75, last: 75 });
    expect(judged.infra![1]!.stats).toMatchObject({ mean: 60, max: 60 });
    expect(judged.infra![2]).toBe(run.infra[2]);
    expect(decide(run, targets, 'any', [], judged).status).toBe('fail');
    // Over the whole window the same run would pass: what judging on the steady part prevents.
    expect(decide(run, targets, 'any').status).toBe('pass');
  });

  it("judges per-endpoint targets on the steady part too, added up exactly from the engine's per-interval rows", () => {
    // The built-in engine's own recorder: `pay` is clean and fast on the ramps; in the hold every 50th answer is a
    // 503 (2 %) and answers take 400 ms. Over the whole run the quiet ramps halve that error rate to 1 %.
    const rec = new Recorder(
      ['pay', 'health'],
      1000,
      true,
      () => undefined,
      () => undefined,
    );
    for (let t = 0; t < 10_000; t += 10) {
      const hold = t >= 3000 && t < 8000;
      rec.response(0, t, hold && (t / 10) % 50 === 0 ? 503 : 200, hold ? 400 : 20, false, undefined);
      rec.response(1, t, 200, 5, false, undefined);
    }
    rec.finish(10_000);
    const run = runOf(rec.intervals);
    run.endpoints = rec.endpointResults();
    expect(run.endpoints[0]).toMatchObject({ requests: 1000, errors: 10 });
    const targets = parseTargets(['error_rate{pay} < 1.5%', 'p99{health} < 10ms', 'responses{pay, 503} <= 10']);
    const { judged, analysis } = analyzeRun(run, { stages, decideOn: 'steady', analyses: [], targets });
    expect(analysis).toMatchObject({ judged: 'steady' });
    expect(analysis.endpointsNote).toBeUndefined();
    const pay = judged.endpoints[0]!;
    expect(pay).toMatchObject({
      name: 'pay',
      requests: 500,
      errors: 10,
      statusCodes: { '200': 490, '503': 10 },
      errorsByKind: { http_5xx: 10 },
    });
    expect(pay.histogram!.count).toBe(500);
    expect(pay.latency.p50).toBeCloseTo(400, 0);
    expect(judged.endpoints[1]).toMatchObject({ name: 'health', requests: 500, errors: 0 });
    const steady = decide(run, targets, 'any', [], judged);
    expect(steady.status).toBe('fail');
    expect(steady.targets.map((t) => [t.target.source, t.status, t.actual])).toEqual([
      ['error_rate{pay} < 1.5%', 'fail', 2],
      ['p99{health} < 10ms', 'pass', expect.closeTo(5, 1)],
      ['responses{pay, 503} <= 10', 'pass', 10],
    ]);
    // Judged on the whole run the same errors would pass: what judging endpoints on the steady part prevents.
    expect(decide(run, targets, 'any').status).toBe('pass');

    // One endpoint: its rows leave the histogram to the interval (written once), and still add up exactly.
    const one = new Recorder(
      ['pay'],
      1000,
      true,
      () => undefined,
      () => undefined,
    );
    for (let t = 0; t < 10_000; t += 10) one.response(0, t, 200, t >= 3000 && t < 8000 ? 400 : 20, false, undefined);
    one.finish(10_000);
    expect(one.intervals[4]!.endpoints!['pay']!.histogram).toBeUndefined();
    const oneRun = runOf(one.intervals);
    oneRun.endpoints = one.endpointResults();
    const oneJudged = analyzeRun(oneRun, { stages, decideOn: 'steady', analyses: [], targets: [] }).judged;
    expect(oneJudged.endpoints[0]).toMatchObject({ name: 'pay', requests: 500, statusCodes: { '200': 500 } });
    expect(oneJudged.endpoints[0]!.latency.p50).toBeCloseTo(400, 0);
    expect(oneJudged.endpoints[0]!.histogram!.count).toBe(500);

    // A tool's file has per-interval endpoint rows without histograms: its endpoints stay the whole run's, and the
    // analysis says so rather than judging a part it cannot add up.
    const tool = runOf(
      rec.intervals.map((iv) => ({
        ...iv,
        endpoints: Object.fromEntries(
          Object.entries(iv.endpoints!).map(([n, e]) => [
            n,
            { requests: e.requests, errors: e.errors, latency: e.latency },
          ]),
        ),
      })),
    );
    tool.endpoints = rec.endpointResults();
    const fallback = analyzeRun(tool, { stages, decideOn: 'steady', analyses: [], targets });
    expect(fallback.analysis.endpointsNote).toMatch(
      /^per-endpoint targets were judged on the whole run: .*no histograms/,
    );
    expect(fallback.judged.endpoints).toBe(tool.endpoints);
    // Without a per-endpoint target there is nothing to say.
    expect(
      analyzeRun(tool, { stages, decideOn: 'steady', analyses: [], targets: parseTargets(['p99 < 1s']) }).analysis
        .endpointsNote,
    ).toBeUndefined();
  });

  it('falls back to the whole run, and says why, when there is no steady part', () => {
    const ivs = series(Array.from({ length: 4 }, () => ({ requests: 10 })));
    const noHold = analyzeRun(runOf(ivs), {
      stages: [ramp(4000, 1, 10)],
      decideOn: 'steady',
      analyses: [],
      targets: [],
    });
    expect(noHold.analysis.judged).toBe('all');
    expect(noHold.analysis.judgedNote).toMatch(/no constant-rate stage/);
    const bare = ivs.map(({ histogram: _h, ...rest }) => rest);
    const part = steadyPart(runOf(bare), [ramp(4000, 5, 5)]);
    expect('reason' in part && part.reason).toMatch(/histograms/);
  });
});

describe('stress analysis', () => {
  // Load climbs 10/s per interval; errors start at 100/s and grow; latency with them.
  const climb = (to: number, errorsFrom: number): Spec[] =>
    Array.from({ length: to / 10 }, (_, i) => {
      const rate = (i + 1) * 10;
      const over = Math.max(0, rate - errorsFrom);
      return {
        requests: rate,
        errors: Math.round((rate * over) / 100),
        ms: 10 + over * 5,
        targetRate: rate,
        concurrency: Math.round(rate / 10),
      };
    });

  it('finds the first error and the load where the error rate passed the limit', () => {
    const ivs = series(climb(200, 100));
    const s = analyzeStress(ivs, { errorLimitPercent: 0.5, shapePeakRate: 200 });
    // 110/s: 10 % over, round(110 * 10 / 100) = 11 errors: the first error, and already past 0.5 %.
    expect(s.firstError).toMatchObject({ atMs: 10_000, rps: 110, targetRate: 110, vus: 11 });
    expect(s.breakingPoint).toMatchObject({ atMs: 10_000, rps: 110 });
    expect(s.breakingPoint!.errorRate).toBeCloseTo(10, 5);
    // The highest load is the intervals within 5 % of the top: 190/s and 200/s here.
    expect(s.peak).toMatchObject({ rps: 195, targetRate: 200, intervals: 2 });
    expect(s.peak!.p99Ms).toBeCloseTo(510, 0);
  });

  it('does not call a lone error or one noisy interval a breaking point', () => {
    const specs: Spec[] = Array.from({ length: 20 }, (_, i) => ({ requests: 100, targetRate: 50 + i * 10 }));
    specs[3] = { requests: 100, errors: 1, targetRate: 80 }; // one error: 1 % > 0.5 %, but alone
    specs[8] = { requests: 100, errors: 5, targetRate: 130 }; // one bad interval, the next is clean
    specs[15] = { requests: 100, errors: 2, targetRate: 200 };
    specs[16] = { requests: 100, errors: 3, targetRate: 210 };
    const s = analyzeStress(series(specs), { errorLimitPercent: 0.5 });
    expect(s.firstError?.targetRate).toBe(80);
    expect(s.breakingPoint?.targetRate).toBe(200);
  });

  it('uses the configured limit', () => {
    const ivs = series(climb(200, 100));
    // The error rate at r/s is (r - 100) %: 10 % at 110/s, 20 % at 120/s, so a 15 % limit is passed at 120/s.
    expect(analyzeStress(ivs, { errorLimitPercent: 15 }).breakingPoint?.targetRate).toBe(120);
    expect(analyzeStress(series(climb(90, 100)), {}).breakingPoint).toBeUndefined();
  });

  it('tells a cascading failure (errors rise at a constant load) from a saturated but stable service', () => {
    const plateau = (errors: number[]): Spec[] => [
      ...climb(100, 1000),
      ...errors.map((e) => ({ requests: 100, errors: e, targetRate: 100 })),
    ];
    const cascading = analyzeStress(series(plateau([2, 3, 5, 8, 12, 18, 25, 33, 40])), { shapePeakRate: 100 });
    expect(cascading.cascading).toBe(true);
    expect(cascading.cascadingNote).toMatch(/at the start and .* at the end/);
    const stable = analyzeStress(series(plateau([6, 5, 7, 6, 6, 5, 7, 6, 6])), { shapePeakRate: 100 });
    expect(stable.cascading).toBe(false);
    const healthy = analyzeStress(series(plateau([0, 0, 0, 0, 0, 0])), { shapePeakRate: 100 });
    expect(healthy.cascading).toBe(false);
  });

  it('does not judge cascading when the run stopped while the load was still rising', () => {
    const s = analyzeStress(series(climb(150, 100)), { shapePeakRate: 500 });
    expect(s.cascading).toBeUndefined();
    expect(s.cascadingNote).toMatch(/still rising/);
    const short = analyzeStress(series([...climb(50, 100), { requests: 50, targetRate: 50 }]), { shapePeakRate: 50 });
    expect(short.cascading).toBeUndefined();
    expect(short.cascadingNote).toMatch(/fewer than three/);
  });
});

describe('recovery analysis', () => {
  const criteria = { p99Ms: 500, errorRatePercent: 0.5 };

  it('starts the clock at the first ramp-down and reads the criteria off the targets', () => {
    expect(rampDownStartMs([ramp(1000, 1, 10), ramp(1000, 10, 10), ramp(1000, 10, 1)])).toBe(2000);
    expect(rampDownStartMs([ramp(1000, 10, 10)])).toBe(0);
    expect(recoveryCriteria(parseTargets(['p99 < 300ms', 'error_rate <= 1%', 'p95 < 100ms']))).toEqual({
      p99Ms: 300,
      errorRatePercent: 1,
    });
    expect(recoveryCriteria([])).toEqual({ p99Ms: 500, errorRatePercent: 0.5 });
  });

  it('measures until the last interval outside the targets', () => {
    // Bad for 7 s (slow, then erroring), good after.
    const ivs = series([
      ...Array.from({ length: 4 }, () => ({ requests: 50, ms: 900 })),
      ...Array.from({ length: 3 }, () => ({ requests: 50, errors: 5, ms: 100 })),
      ...Array.from({ length: 8 }, () => ({ requests: 50, ms: 100 })),
    ]);
    const r = analyzeRecovery(ivs, { fromMs: 0, ...criteria });
    expect(r).toMatchObject({ recovered: true, recoveryMs: 7000, lastBreachMs: 6000 });
    // Measured from a later ramp-down start.
    expect(analyzeRecovery(ivs, { fromMs: 2000, ...criteria }).recoveryMs).toBe(5000);
  });

  it('requires the service to stay within the targets: a relapse moves the recovery after it', () => {
    const specs: Spec[] = Array.from({ length: 12 }, () => ({ requests: 50, ms: 50 }));
    specs[1] = { requests: 50, ms: 800 };
    specs[2] = { requests: 50, ms: 800 };
    specs[8] = { requests: 50, errors: 1, ms: 50 }; // 2 % errors
    expect(analyzeRecovery(series(specs), { fromMs: 0, ...criteria })).toMatchObject({
      recovered: true,
      recoveryMs: 9000,
      lastBreachMs: 8000,
    });
  });

  it('is zero for a service that never left the targets, and not recovered when still out at the end', () => {
    expect(
      analyzeRecovery(series(Array.from({ length: 5 }, () => ({ requests: 10 }))), { fromMs: 0, ...criteria }),
    ).toMatchObject({ recovered: true, recoveryMs: 0 });
    const never = analyzeRecovery(series([{ requests: 10 }, { requests: 10, ms: 900 }]), { fromMs: 0, ...criteria });
    expect(never.recovered).toBe(false);
    expect(never.recoveryMs).toBeUndefined();
    expect(never.note).toMatch(/still outside the targets/);
  });

  it('skips intervals in which nothing completed', () => {
    const ivs = series([{ requests: 10, ms: 900 }, { requests: 0 }, { requests: 10 }, { requests: 0 }]);
    expect(analyzeRecovery(ivs, { fromMs: 0, ...criteria })).toMatchObject({ recovered: true, recoveryMs: 1000 });
  });

  it('says "not recovered" rather than "not measured" when the service never came back', () => {
    const targets = parseTargets(['recovery < 2m']);
    const run = runOf(series([{ requests: 10 }, { requests: 10, ms: 900 }]));
    analyzeRun(run, { stages: [ramp(2000, 5, 1)], decideOn: 'all', analyses: ['recovery'], targets });
    const v = phaseVerdict(decide(run, targets, 'any'), run, 'any');
    expect(v.status).toBe('fail');
    expect(v.reasons).toEqual([
      expect.stringMatching(/^recovery < 2m: not recovered by the end of the run \(still outside the targets/),
    ]);
  });

  it('feeds the `recovery` target', () => {
    const ivs = series([
      ...Array.from({ length: 3 }, () => ({ requests: 20, ms: 900 })),
      ...Array.from({ length: 5 }, () => ({ requests: 20 })),
    ]);
    const targets = parseTargets(['recovery < 5s', 'recovery <= 2']);
    expect(targets.map((t) => [t.metric, t.value, t.unit])).toEqual([
      ['recovery', 5000, 'ms'],
      ['recovery', 2000, 'ms'],
    ]);
    const run = runOf(ivs);
    analyzeRun(run, { stages: [ramp(8000, 5, 1)], decideOn: 'all', analyses: ['recovery'], targets });
    const verdict = decide(run, targets, 'any');
    expect(verdict.targets.map((t) => [t.actual, t.status])).toEqual([
      [3000, 'pass'],
      [3000, 'fail'],
    ]);
  });
});

describe('breaking_point target', () => {
  it('is the breaking point when there is one, else the highest load held', () => {
    const t = parseTargets(['breaking_point > 150/s']);
    expect(t[0]).toMatchObject({ metric: 'breaking_point', value: 150, unit: '/s' });
    const broke = runOf(
      series(
        Array.from({ length: 10 }, (_, i) => ({
          requests: 20 * (i + 1),
          errors: i >= 6 ? 10 : 0,
          targetRate: 20 * (i + 1),
        })),
      ),
    );
    analyzeRun(broke, { stages: [ramp(10_000, 20, 200)], decideOn: 'all', analyses: ['stress'], targets: t });
    expect(decide(broke, t, 'any').targets[0]).toMatchObject({ actual: 140, status: 'fail' });
    const held = runOf(
      series(Array.from({ length: 10 }, (_, i) => ({ requests: 20 * (i + 1), targetRate: 20 * (i + 1) }))),
    );
    analyzeRun(held, { stages: [ramp(10_000, 20, 200)], decideOn: 'all', analyses: [], targets: t });
    expect(held.analysis?.stress?.breakingPoint).toBeUndefined();
    expect(decide(held, t, 'any').targets[0]).toMatchObject({ actual: 200, status: 'pass' });
  });
});

describe('cascading failure window', () => {
  it('ends at the ramp-down: a peak that only failed is not hidden by the lighter load after it', () => {
    // Up to 100/s, then 10 s at the peak whose errors climb to all timeouts, then a ramp-down where errors fall.
    const specs: Spec[] = [
      ...Array.from({ length: 9 }, (_, i): Spec => ({ requests: 10 * (i + 1), targetRate: 10 * (i + 1) })),
      ...[10, 20, 40, 60, 80, 100, 100, 100, 100, 100].map((pct) => ({ requests: 100, errors: pct, targetRate: 100 })),
      ...[80, 60, 40, 20, 10, 5].map((r) => ({ requests: r, errors: 0, targetRate: r })),
    ];
    const s = analyzeStress(series(specs), { shapePeakRate: 100 });
    expect(s.cascading).toBe(true);
    expect(s.cascadingNote).toMatch(/at the end of 10 s at the highest load/);
  });
});

describe('capacity at the targets', () => {
  // p99 rises with the load and passes 500 ms at 130/s; errors pass 0.5 % only from 170/s.
  const climbing = (): IntervalResult[] =>
    series(
      Array.from({ length: 20 }, (_, i) => {
        const rate = 10 * (i + 1);
        return {
          requests: rate,
          targetRate: rate,
          ms: rate <= 120 ? 100 + rate * 2 : 600,
          errors: rate >= 170 ? Math.ceil(rate * 0.05) : 0,
        };
      }),
    );

  it('is the highest load at which every latency and error target held, not where the errors broke', () => {
    const criteria = [
      { metric: 'p99' as const, limit: 500 },
      { metric: 'error_rate' as const, limit: 0.5 },
    ];
    const c = analyzeCapacity(climbing(), criteria)!;
    expect(c).toMatchObject({ rps: 120, targetRate: 120, held: false, atMs: 11_000 });
    expect(c.limitedBy).toMatch(/^p99 \d+ ms > 500 ms$/);
    expect(c.breachRps).toBe(130);
    const s = analyzeStress(climbing(), { criteria });
    expect(s.breakingPoint?.targetRate).toBe(170);
    // Errors alone: capacity runs up to the breaking point.
    expect(analyzeCapacity(climbing(), [{ metric: 'error_rate', limit: 0.5 }])).toMatchObject({
      rps: 160,
      held: false,
    });
  });

  it('ignores one slow interval the next ones do not confirm, and says when the targets held to the end', () => {
    const ivs = series(
      Array.from({ length: 10 }, (_, i) => ({ requests: 50, targetRate: 10 * (i + 1), ms: i === 3 ? 900 : 50 })),
    );
    const c = analyzeCapacity(ivs, [{ metric: 'p99', limit: 500 }])!;
    expect(c.held).toBe(true);
    expect(c.limitedBy).toBeUndefined();
    expect(c.rps).toBe(50);
  });

  it('has no value when the targets never held, so a capacity target fails as not measured', () => {
    const ivs = series(Array.from({ length: 6 }, () => ({ requests: 50, targetRate: 50, ms: 900 })));
    const c = analyzeCapacity(ivs, [{ metric: 'p99', limit: 500 }])!;
    expect(c.rps).toBeUndefined();
    expect(c.limitedBy).toMatch(/p99 900 ms > 500 ms/);
  });

  it("is a target (`capacity > 300/s`) and an output (capacity-rps), judged with the run's own latency and error targets", () => {
    const t = parseTargets(['capacity > 100/s', 'p99 < 500ms', 'error_rate < 0.5%']);
    expect(t[0]).toMatchObject({ metric: 'capacity', op: '>', value: 100, unit: '/s' });
    expect(parseTargets(['capacity_rps >= 50'])[0]).toMatchObject({ metric: 'capacity', value: 50 });
    const run = runOf(climbing());
    // A capacity target alone asks for the analysis, like breaking_point does.
    analyzeRun(run, { stages: [ramp(20_000, 10, 200)], decideOn: 'all', analyses: [], targets: t });
    expect(run.analysis?.stress?.capacity).toMatchObject({ rps: 120, criteria: 'p99 ≤ 500 ms, error rate ≤ 0.5 %' });
    expect(decide(run, t, 'any').targets[0]).toMatchObject({ actual: 120, status: 'pass' });
    const out = outputsFor(run, decide(run, t, 'any'), {});
    expect(out['capacity-rps']).toBe('120');
    expect(out['breaking-point-rps']).toBe('170');
    const without = runOf(climbing());
    expect(outputsFor(without, decide(without, t, 'any'), {})['capacity-rps']).toBe('');
  });
});

describe('targets the load cannot meet', () => {
  it('warns about a throughput target above what the configured rate can send', () => {
    const t = parseTargets(['throughput > 100/s', 'p99 < 500ms']);
    const hold: Stage = { durationMs: 60_000, startRate: 50, endRate: 50 };
    const [w] = unmeetableTargets(t, [hold], 1, 'steady');
    expect(w).toBe(
      'throughput > 100/s cannot be met at the configured load: the shape asks for 50/s arrivals in its constant-rate stages, one request each, so at most about 50/s. Raise the rate or lower the target.',
    );
    // Three requests an arrival can reach it; a ramp counts at its average rate when the whole run is judged.
    expect(unmeetableTargets(t, [hold], 3, 'steady')).toEqual([]);
    expect(unmeetableTargets(parseTargets(['throughput >= 100/s']), [ramp(60_000, 10, 150)], 1, 'all')).toHaveLength(1);
    expect(unmeetableTargets(t, [hold], undefined, 'steady')).toEqual([]);
  });
});

describe('abort guards', () => {
  it('parses a condition and a duration, and refuses metrics an interval cannot answer', () => {
    expect(parseGuard('error_rate > 5% for 30s')).toMatchObject({
      metric: 'error_rate',
      op: '>',
      value: 5,
      forMs: 30_000,
    });
    expect(parseGuard('p99 > 2s for 1m30s')).toMatchObject({ metric: 'p99', value: 2000, forMs: 90_000 });
    expect(parseGuard('errors >= 100')).toMatchObject({ metric: 'errors', forMs: 0 });
    expect(parseGuards(['# comment', 'p95 > 1s for 10s', ''])).toHaveLength(1);
    expect(() => parseGuard('cpu > 90% for 1m')).toThrow(/not measured per interval/);
    expect(() => parseGuard('vus > 10')).toThrow(/not measured per interval/);
    expect(() => parseGuard('error_rate > 5 for 30s')).toThrow(/unit/);
    expect(() => parseGuard('error_rate > 5% for ever')).toThrow();
  });

  it('trips when the condition held for the whole duration, and only then', () => {
    const g = parseGuard('error_rate > 5% for 3s');
    const monitor = new GuardMonitor([g]);
    const ivs = series([
      { requests: 100, errors: 10 },
      { requests: 100, errors: 10 },
      { requests: 100, errors: 1 }, // resets the streak
      { requests: 100, errors: 10 },
      { requests: 0 }, // says nothing either way
      { requests: 100, errors: 20 },
      { requests: 100, errors: 12 },
      { requests: 100, errors: 50 },
    ]);
    const trips = ivs.map((iv) => monitor.observe(iv));
    expect(trips.slice(0, 6).every((t) => t === undefined)).toBe(true);
    expect(trips[6]).toMatchObject({ guard: 'error_rate > 5% for 3s', atMs: 7000 });
    expect(trips[6]!.reason).toMatch(/error rate reached 20 % for 3 s/);
    expect(trips[7]).toBeUndefined();
    expect(monitor.stop?.atMs).toBe(7000);
  });

  it("scales a preset guard with the shape, never below two intervals; leaves the user's alone", () => {
    const preset = { ...parseGuard('error_rate > 10% for 1m'), scalesWithShape: true };
    const user = parseGuard('p99 > 2s for 1m');
    const [scaled, kept] = fitGuards([preset, user], 0.1, 1000);
    expect(scaled).toMatchObject({ forMs: 6000, source: 'error_rate > 10% for 6s' });
    expect(kept).toBe(user);
    expect(fitGuards([preset], 0.001, 1000)[0]!.forMs).toBe(2000);
  });

  it('fails a run a guard stopped, except a stress run, whose guard ends it at the breaking point', () => {
    const run = runOf(series([{ requests: 10 }, { requests: 10 }]));
    const stop = { guard: 'p99 > 1s', reason: 'guard "p99 > 1s" tripped: p99 latency reached 2,000 ms', atMs: 2000 };
    analyzeRun(run, { stages: [ramp(2000, 5, 5)], decideOn: 'all', analyses: [], targets: [], stoppedEarly: stop });
    const v = phaseVerdict(decide(run, [], 'any'), run, 'any');
    expect(v).toMatchObject({ status: 'fail', failsCheck: true });
    expect(v.reasons.at(-1)).toMatch(/^stopped early at 2s: guard "p99 > 1s" tripped/);
    const stress = runOf(series([{ requests: 10 }, { requests: 10 }]));
    analyzeRun(stress, {
      stages: [ramp(2000, 5, 5)],
      decideOn: 'all',
      analyses: ['stress'],
      targets: [],
      stoppedEarly: stop,
    });
    expect(phaseVerdict(decide(stress, [], 'any'), stress, 'any').status).toBe('pass');
  });
});

describe('duration scale', () => {
  it('scales every stage by the factor and keeps rate as the peak', () => {
    const stages = [ramp(30_000, 1, 10), ramp(90_000, 10, 10)];
    expect(shapeStages(stages, { scale: 0.1, rate: 20 })).toEqual([ramp(3000, 2, 20), ramp(9000, 20, 20)]);
    expect(timeFactorOf(stages, { scale: 0.0167 })).toBe(0.0167);
    expect(timeFactorOf(stages, { durationMs: 60_000 })).toBe(0.5);
    expect(shapeStages(stages, { scale: 1e-9 }).map((s) => s.durationMs)).toEqual([1, 1]);
  });
});
