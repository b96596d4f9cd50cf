// The runs the report is reviewed on: each judged by the real analysis and gate (analyzeRun, decide, phaseVerdict,
// regressions), so the report shows what the pipeline would show. Deterministic (no clock, no randomness), so
// their Markdown can be kept as snapshots and rendered in Chromium (report-render.test.ts).
import { readFileSync } from 'node:fs';
import { entryFromRun } from '../../src/baseline/entry.js';
import { decide } from '../../src/gate/evaluate.js';
import {
  applyRegressions,
  compareWithBaseline,
  confirmComparison,
  parseRegressionRules,
  type ComparisonOutcome,
} from '../../src/gate/regression.js';
import { parseTargets } from '../../src/gate/targets.js';
import { Histogram } from '../../src/metrics/histogram.js';
import type {
  Diagnosis,
  EndpointResult,
  IntervalResult,
  RunResult,
  Stage,
  TargetResult,
  Verdict,
} from '../../src/model.js';
import { analyzeRun } from '../../src/phases/analysis.js';
import { phaseVerdict } from '../../src/phases/run.js';
import type { ReportInput } from '../../src/report/markdown.js';
import { syntheticRun } from './github-data-stub.js';

const RUN_URL = 'https://github.com/acme/shop/actions/runs/8123456789';

export function fixture(name: string): { run: RunResult; verdict: Verdict; why?: Diagnosis } {
  const url = new URL(`../fixtures/runs/${name}.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')) as { run: RunResult; verdict: Verdict; why?: Diagnosis };
}

/** What the pipeline hands the renderers for a judged run (results file `results.json` unless `over` says otherwise). */
export function reportInput(run: RunResult, verdict: Verdict, over: Partial<ReportInput> = {}): ReportInput {
  return {
    run,
    verdict,
    commentHeader: 'perf-gate',
    engine: run.engine,
    phase: run.phase,
    runUrl: RUN_URL,
    resultsFile: 'results.json',
    ...over,
  };
}

/** One interval of `count` requests whose p99 is about `p99Ms` and of which `errors` failed. */
function interval(
  startMs: number,
  durationMs: number,
  targetRate: number,
  count: number,
  p99Ms: number,
  errors: number,
): IntervalResult {
  const h = new Histogram();
  const tail = Math.max(0, (p99Ms - 20) / 0.92);
  for (let k = 0; k < count; k++) h.recordMs(20 + (k / count) ** 8 * tail + (k % 7));
  return {
    startMs,
    durationMs,
    targetRate,
    arrivalsStarted: count,
    requests: count,
    errors,
    concurrency: Math.round((targetRate * p99Ms) / 1000),
    latency: h.stats(),
    histogram: h.toJSON(),
  };
}

/** Totals of a run from its intervals (histograms merged), as the engines fill them in. */
function fromIntervals(
  phase: string,
  intervals: IntervalResult[],
  stages: Stage[],
  codes: (errors: number, ok: number) => Record<string, number>,
): RunResult {
  const h = new Histogram();
  let requests = 0;
  let errors = 0;
  for (const iv of intervals) {
    h.merge(iv.histogram!);
    requests += iv.requests;
    errors += iv.errors;
  }
  const last = intervals[intervals.length - 1]!;
  const durationMs = last.startMs + last.durationMs;
  const startedAt = '2026-12-01T10:00:00.000Z';
  return {
    schemaVersion: 1,
    engine: 'builtin',
    tool: { name: 'perf-gate builtin' },
    phase,
    target: 'https://staging.shop.example.com',
    startedAt,
    endedAt: new Date(Date.parse(startedAt) + durationMs).toISOString(),
    durationMs,
    requests,
    errors,
    errorsByKind: errors > 0 ? { http_5xx: Math.round(errors * 0.7), timeout: errors - Math.round(errors * 0.7) } : {},
    statusCodes: codes(errors, requests - errors),
    errorRate: (errors / requests) * 100,
    throughputRps: requests / (durationMs / 1000),
    latency: h.stats(),
    histogram: h.toJSON(),
    endpoints: [],
    intervals,
    intervalMs: intervals[0]!.durationMs,
    generator: {
      valid: true,
      invalidReasons: [],
      arrivalsScheduled: requests,
      arrivalsStarted: requests,
      arrivalsDropped: 0,
      maxLagMs: 3.2,
    },
    customMetrics: {},
    toolThresholds: [],
    notes: [],
    shape: { stages, peakRate: Math.max(...stages.map((s) => Math.max(s.startRate, s.endRate))) },
  };
}

/**
 * The guide's stress run in small: the load climbs from 20 to 400 arrivals/s. p99 passes 500 ms at about 126
 * requests/s while errors pass 0.5 % only at about 340; at the top errors keep rising until the guard stops it.
 */
export function stressScenario(): ReportInput {
  const stages: Stage[] = [
    { durationMs: 95_000, startRate: 20, endRate: 400, name: 'ramp-up' },
    { durationMs: 30_000, startRate: 400, endRate: 400, name: 'peak' },
  ];
  const intervals: IntervalResult[] = [];
  for (let i = 0; i < 120; i++) {
    const rate = i < 95 ? 20 + (380 * (i + 0.5)) / 95 : 400;
    const count = Math.round(rate);
    const p99 = Math.max(40, 500 * (rate / 126) ** 2);
    let errPct = rate <= 300 ? 0 : ((rate - 300) / 40) ** 2 * 0.5;
    if (i >= 95) errPct = 3 + (i - 95) * 1.6; // the plateau: failing more and more at a constant load
    intervals.push(interval(i * 1000, 1000, rate, count, Math.min(p99, 4000), Math.round((count * errPct) / 100)));
  }
  const run = fromIntervals('stress', intervals, stages, (e, ok) => ({
    '200': ok,
    '503': Math.round(e * 0.7),
    '504': e - Math.round(e * 0.7),
  }));
  const targets = parseTargets(['p99 < 500ms', 'error_rate < 0.5%', 'capacity > 300/s', 'breaking_point > 300/s']);
  const stoppedEarly = {
    guard: 'error_rate > 10% for 10s',
    reason: 'guard "error_rate > 10% for 10s" tripped: error rate 38.5 % for 10 s',
    atMs: 120_000,
  };
  const { judged } = analyzeRun(run, {
    stages,
    decideOn: 'steady',
    analyses: ['stress'],
    targets,
    guards: ['error_rate > 10% for 10s'],
    stoppedEarly,
  });
  const verdict = phaseVerdict(decide(run, targets, 'any', [], judged), run, 'any');
  run.endpoints = [
    endpoint('POST /api/login', run, 0.2, 0.4),
    endpoint('POST /api/auctions/{id}/bids', run, 0.5, 0.45),
    endpoint('GET /health', run, 0.3, 0.15),
  ];
  return reportInput(run, verdict, { phase: 'stress' });
}

/** An endpoint taking `share` of the run's requests and `errShare` of its errors, with the run's latency scaled. */
function endpoint(name: string, run: RunResult, share: number, errShare: number): EndpointResult {
  const requests = Math.round(run.requests * share);
  const errors = Math.round(run.errors * errShare);
  const scale = 0.6 + share;
  const l = run.latency;
  return {
    name,
    requests,
    errors,
    latency: { count: requests, p50: l.p50! * scale, p95: l.p95! * scale, p99: l.p99! * scale, max: l.max! * scale },
    statusCodes: { '200': requests - errors, '503': errors },
  };
}

/**
 * The guide's warm-up, passing: 1 -> 10 arrivals/s over 30 s, then 10/s for 90 s, in 2-second intervals; the first
 * seconds slow and with a few cold-start errors, well inside the error budget. Per-endpoint rows in every interval.
 */
export function warmupScenario(): ReportInput {
  const stages: Stage[] = [
    { durationMs: 30_000, startRate: 1, endRate: 10, name: 'ramp-up' },
    { durationMs: 90_000, startRate: 10, endRate: 10 },
  ];
  const intervals: IntervalResult[] = [];
  for (let i = 0; i < 60; i++) {
    const t = i * 2000 + 1000;
    const rate = t < 30_000 ? 1 + (9 * t) / 30_000 : 10;
    const count = Math.max(1, Math.round(rate * 2));
    const cold = i < 3;
    intervals.push(
      interval(i * 2000, 2000, rate, count, cold ? 380 - i * 90 : 95 + ((i * 37) % 23), cold && i < 2 ? 1 : 0),
    );
  }
  const names = ['POST /api/auth/login', 'POST /api/bids', 'GET /api/health'];
  for (const iv of intervals) {
    let left = iv.requests;
    iv.endpoints = Object.fromEntries(
      names.map((name, k) => {
        const requests = k === names.length - 1 ? left : Math.round(iv.requests / names.length);
        left -= requests;
        const scale = [1.2, 1, 0.5][k]!;
        const l = iv.latency;
        return [
          name,
          {
            requests,
            errors: k === 0 ? iv.errors : 0,
            latency: {
              count: requests,
              p50: l.p50! * scale,
              p95: l.p95! * scale,
              p99: l.p99! * scale,
              max: l.max! * scale,
            },
            statusCodes: {
              '200': requests - (k === 0 ? iv.errors : 0),
              ...(k === 0 && iv.errors ? { '503': iv.errors } : {}),
            },
          },
        ];
      }),
    );
  }
  const run = fromIntervals('warmup', intervals, stages, (e, ok) => ({ '200': ok, '503': e }));
  const targets = parseTargets(['p99 < 500ms', 'p95 < 300ms', 'errors <= 50']);
  const { judged } = analyzeRun(run, { stages, decideOn: 'all', analyses: [], targets });
  const verdict = phaseVerdict(decide(run, targets, 'any', [], judged), run, 'any');
  run.endpoints = [
    endpoint(names[0]!, run, 0.34, 1),
    endpoint(names[1]!, run, 0.33, 0),
    endpoint(names[2]!, run, 0.33, 0),
  ];
  return reportInput(run, verdict, { phase: 'warmup' });
}

/**
 * The guide's recovery run: a service still overloaded from the phase before while the load ramps down from 100
 * to 10 arrivals/s, back within its targets 20 s in, then a quiet hold. The targets are judged on the hold; the
 * whole run, with the overload, is in the folded figures and labelled as such.
 */
export function recoveryScenario(): ReportInput {
  const stages: Stage[] = [
    { durationMs: 10_000, startRate: 100, endRate: 50, name: 'ramp-down' },
    { durationMs: 10_000, startRate: 50, endRate: 10, name: 'ramp-down' },
    { durationMs: 40_000, startRate: 10, endRate: 10, name: 'hold' },
  ];
  const intervals: IntervalResult[] = [];
  for (let i = 0; i < 12; i++) {
    const t = i * 5000 + 2500;
    const rate = t < 10_000 ? 100 - (50 * t) / 10_000 : t < 20_000 ? 50 - (40 * (t - 10_000)) / 10_000 : 10;
    const count = Math.round(rate * 5);
    const overloaded = i < 4;
    intervals.push(
      interval(
        i * 5000,
        5000,
        rate,
        count,
        overloaded ? 900 - i * 120 : 27,
        overloaded ? Math.round(count * (0.12 - i * 0.02)) : 0,
      ),
    );
  }
  const run = fromIntervals('recovery', intervals, stages, (e, ok) => ({ '200': ok, '503': e }));
  const targets = parseTargets(['p99 < 500ms', 'error_rate < 0.5%', 'recovery < 2m']);
  const { judged } = analyzeRun(run, { stages, decideOn: 'steady', analyses: ['recovery'], targets });
  const verdict = phaseVerdict(decide(run, targets, 'any', [], judged), run, 'any');
  run.endpoints = [endpoint('POST /api/auctions/{id}/bids', run, 0.7, 0.9), endpoint('GET /health', run, 0.3, 0.1)];
  return reportInput(run, verdict, { phase: 'recovery' });
}

/** Ten runs of main and a pull request whose p95 and p99 are 30 % slower, confirmed by a second run. */
export function regressionScenario(opts: { reruns?: boolean } = {}): ReportInput {
  let clock = Date.parse('2026-11-20T00:00:00Z');
  const history = Array.from({ length: 10 }, (_, i) => {
    clock += 86_400_000;
    const run = syntheticRun({ seed: 700 + i, errors: i % 3 });
    // With reruns, several runs share a commit (re-run jobs): the trend must still tell them apart.
    const sha = opts.reruns
      ? `${(Math.floor(i / 3) + 10).toString(16)}`.padEnd(40, 'b')
      : `${(i + 10).toString(16)}`.padEnd(40, 'a');
    return entryFromRun(
      { ...run, endedAt: new Date(clock).toISOString() },
      {
        environment: 'staging',
        git: { owner: 'acme', repo: 'shop', eventName: 'push', branch: 'main', sha },
        id: `run${i}`,
      },
    );
  });
  const rules = parseRegressionRules(undefined);
  const compare = (r: RunResult, k: number): ComparisonOutcome =>
    compareWithBaseline(r, history, rules, {
      environment: 'staging',
      source: 'branch:perf-gate-data',
      branch: 'main',
      pooledRuns: k,
      now: new Date(clock + 3_600_000),
    });
  const scale = opts.reruns ? 1 : 1.3;
  const run = syntheticRun({ seed: 800, scale });
  const second = syntheticRun({ seed: 801, scale });
  const { outcome } = confirmComparison(compare, run, second);
  const verdict = applyRegressions(
    decide(run, parseTargets(['p99 < 500ms', 'error_rate < 1%']), 'any'),
    outcome,
    'any',
  );
  return reportInput(run, verdict, {
    resultsFile: 'perf-gate-results/results.json',
    head: { sha: 'f00dfeed5e1f2a3b4c5d6e7f8091a2b3c4d5e6f7', ref: 'feature/faster-bids' },
    baseRef: 'main',
    // A suspected regression is confirmed by running the phase again (the pipeline passes that run along).
    ...(opts.reruns ? {} : { confirmation: second }),
  });
}

/** Forty endpoints of a catalogue API, a few of them failing. */
export function manyEndpointsScenario(): ReportInput {
  const { run, verdict } = fixture('failing-slow-endpoint');
  const template = run.endpoints[0]!;
  run.endpoints = Array.from({ length: 40 }, (_, i): EndpointResult => {
    const requests = 200 + ((i * 7919) % 400);
    const errors = i % 13 === 5 ? Math.round(requests * 0.036) : i % 4 === 0 ? 1 : 0;
    return {
      ...template,
      name: `GET /api/v2/catalog/section-${String(i).padStart(2, '0')}/items`,
      requests,
      errors,
      statusCodes: { '200': requests - errors, '503': errors },
    };
  });
  return reportInput(run, verdict);
}

/**
 * A built-in run of user journeys that looks fine on averages: every login answered 302 (none counted as an
 * error), checks failed on the bid step, a journey cut short, error logs, a metric-vs-metric target that is 79
 * short, a tool's own threshold, and @mentions in every piece of user-given text.
 */
export function journeysScenario(): ReportInput {
  const { run, verdict } = fixture('real-builtin-warmup-pass');
  run.endpoints = [
    { ...run.endpoints[0]!, name: 'POST /login @octocat', requests: 27, errors: 0, statusCodes: { '302': 27 } },
    { ...run.endpoints[0]!, name: 'POST /api/bids', requests: 26, errors: 0, statusCodes: { '201': 26 } },
  ];
  run.statusCodes = { '302': 27, '201': 26 };
  run.checkFailures = {
    'expect status 201 ≠ 302 on login (@security-team)': 27,
    'capture token: $.token not found on login': 4,
  };
  run.flows = [
    { name: 'bidder (@acme/bidders)', started: 31, completed: 4, failed: 27 },
    { name: 'health', started: 22, completed: 22, failed: 0 },
  ];
  run.logs = [
    {
      source: 'app-logs',
      query: 'fields @message | filter @message like /ERROR/',
      count: 41,
      top: [
        { message: 'ERROR session store unavailable for user <id> (@oncall please look)', count: 33 },
        { message: 'ERROR bid <id> rejected: auction <id> closed', count: 8 },
      ],
    },
  ];
  run.notes = ['Think times were shortened 10× by duration-scale (asked by @release-bot).'];
  const rhs: TargetResult = {
    target: {
      metric: 'bids_stored',
      op: '==',
      value: 0,
      unit: 'count',
      source: 'bids_stored == responses{bid, 201}',
      optional: false,
    },
    actual: 921,
    status: 'fail',
    rhs: { label: 'responses{bid, 201}', value: 1000 },
  };
  const tool: TargetResult = {
    target: { metric: 'http_req_duration', op: '<', value: 300, unit: 'ms', source: 'p(95)<300', optional: false },
    actual: 212,
    status: 'pass',
    origin: 'tool',
  };
  const out: Verdict = {
    ...verdict,
    status: 'fail',
    failsCheck: true,
    targets: [...verdict.targets, rhs, tool],
    reasons: ['bids_stored == responses{bid, 201}: measured 921'],
  };
  return reportInput(run, out, { commentHeader: 'staging @octocat' });
}

export interface Scenario {
  name: string;
  /** Failing reports get a larger height budget (two screens) than passing ones (one and a half). */
  failing: boolean;
  input: () => ReportInput;
}

function fromFixture(name: string): () => ReportInput {
  return () => {
    const { run, verdict, why } = fixture(name);
    return reportInput(run, verdict, { resultsFile: `perf-gate-results/${run.phase}.json`, ...(why ? { why } : {}) });
  };
}

/** Pass, target fail, regression fail, stress, recovery, baseline trend, infrastructure, many endpoints, journeys. */
export const SCENARIOS: Scenario[] = [
  { name: 'pass', failing: false, input: fromFixture('real-builtin-warmup-pass') },
  { name: 'target-fail', failing: true, input: fromFixture('real-builtin-slow-fail') },
  { name: 'regression-fail', failing: true, input: () => regressionScenario() },
  { name: 'stress', failing: true, input: stressScenario },
  { name: 'recovery', failing: false, input: recoveryScenario },
  { name: 'baseline-trend', failing: false, input: () => regressionScenario({ reruns: true }) },
  { name: 'infra', failing: false, input: fromFixture('infra-sustained') },
  { name: 'many-endpoints', failing: true, input: manyEndpointsScenario },
  { name: 'journeys', failing: true, input: journeysScenario },
  // A real run of the Why test bed (why-testbed.e2e.test.ts): a hot row locked by every bid.
  { name: 'why', failing: true, input: fromFixture('why-lock') },
];
