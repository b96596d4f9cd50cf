// The invariant of issue 18, as a property over every preset (and a custom phase), every engine and any target
// list a user can write, through the same steps the pipeline takes (config loading with its kept error-rate bound,
// the phase analyses and the part judged, the gate, the phase's own verdict rules): a run in which at least half
// the requests failed, or in which every journey was cut short, is never `pass`.
import fc from 'fast-check';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/load.js';
import { decide } from '../src/gate/evaluate.js';
import { Histogram } from '../src/metrics/histogram.js';
import {
  blankRunResult,
  ENGINES,
  PRESET_PHASES,
  type EngineName,
  type IntervalResult,
  type RunResult,
} from '../src/model.js';
import { analyzePhase, phaseVerdict, planPhase } from '../src/phases/run.js';
import { totalDurationMs } from '../src/phases/presets.js';

const ws = mkdtempSync(join(tmpdir(), 'perf-gate-invariant-'));
writeFileSync(join(ws, 'results.json'), '{}');
writeFileSync(join(ws, 'load.js'), 'export default function () {}\n');
writeFileSync(
  join(ws, 'script.yml'),
  'config:\n  target: http://127.0.0.1:1\nscenarios:\n  - flow:\n      - get:\n          url: /\n',
);
writeFileSync(
  join(ws, 'perf-gate.yml'),
  'phases:\n  smoke:\n    stages:\n      - { duration: 20s, rate: 5 }\n    targets:\n      - p99 < 800ms\n',
);

/** Targets people write, the loosest ones included: none of them may let a broken run through. */
const TARGET_POOL = [
  'p99 < 500ms',
  'p95 < 300ms',
  'p50 < 10s',
  'mean < 1m',
  'max < 60s',
  'throughput > 0/s',
  'throughput < 100000/s',
  'errors <= 50',
  'errors <= 1000000',
  'errors >= 0',
  'requests > 0',
  'error_rate < 99%',
  'error_rate <= 100%',
  'error_rate < 60%',
  'error_rate > 0%',
  'optional: error_rate < 0.5%',
  'error_rate{login} < 100%',
  'optional: p999 < 1s',
  'vus >= 0',
  'error_rate: not judged',
] as const;

const phaseArb = fc.constantFrom<string>(...PRESET_PHASES, 'smoke');
const engineArb = fc.constantFrom<EngineName>(...ENGINES);
const targetsArb = fc.option(fc.subarray([...TARGET_POOL], { minLength: 0, maxLength: 6 }), { nil: undefined });

/** A run of `requests` of which `errors` failed, spread over intervals along the phase's shape, with histograms. */
function brokenRun(o: {
  phase: string;
  engine: EngineName;
  durationMs: number;
  requests: number;
  errorShare: number;
  transport: boolean;
  served: boolean;
  flows: 'none' | 'cut' | 'some';
  latencyMs: number;
}): RunResult {
  const errors = Math.min(o.requests, Math.ceil(o.requests * o.errorShare));
  const n = 10;
  const intervalMs = Math.max(1, Math.round(o.durationMs / n));
  const intervals: IntervalResult[] = [];
  const all = new Histogram();
  const ok = new Histogram();
  let r = 0;
  let e = 0;
  for (let i = 0; i < n; i++) {
    const req = i === n - 1 ? o.requests - r : Math.floor(o.requests / n);
    const err = i === n - 1 ? errors - e : Math.min(req, Math.floor(errors / n));
    r += req;
    e += err;
    const h = new Histogram();
    const okH = new Histogram();
    for (let k = 0; k < req; k++) {
      const isErr = k < err;
      const ms = isErr ? 1 : o.latencyMs;
      if (!(isErr && o.transport)) h.recordMs(ms);
      if (!isErr) okH.recordMs(ms);
    }
    all.merge(h);
    ok.merge(okH);
    const iv: IntervalResult = {
      startMs: i * intervalMs,
      durationMs: intervalMs,
      requests: req,
      errors: err,
      latency: h.stats(),
      histogram: h.toJSON(),
    };
    if (o.served && err > 0) iv.served = { requests: req - err, latency: okH.stats(), histogram: okH.toJSON() };
    intervals.push(iv);
  }
  const run = blankRunResult({
    engine: o.engine,
    phase: o.phase,
    startedAt: '2026-12-08T00:00:00.000Z',
    endedAt: new Date(Date.parse('2026-12-08T00:00:00.000Z') + o.durationMs).toISOString(),
    durationMs: o.durationMs,
  });
  run.requests = o.requests;
  run.errors = errors;
  run.errorsByKind = errors > 0 ? (o.transport ? { timeout: errors } : { http_5xx: errors }) : {};
  run.statusCodes = {
    ...(o.requests - errors > 0 ? { '200': o.requests - errors } : {}),
    ...(errors > 0 && !o.transport ? { '503': errors } : {}),
  };
  run.errorRate = o.requests > 0 ? (errors / o.requests) * 100 : undefined;
  if (run.errorRate === undefined) delete run.errorRate;
  run.throughputRps = o.requests / (o.durationMs / 1000);
  run.latency = all.stats();
  run.histogram = all.toJSON();
  if (o.served) run.served = { requests: o.requests - errors, latency: ok.stats(), histogram: ok.toJSON() };
  run.intervals = intervals;
  run.intervalMs = intervalMs;
  run.endpoints = [{ name: 'login', requests: o.requests, errors, latency: all.stats(), statusCodes: run.statusCodes }];
  if (o.flows !== 'none') {
    const started = Math.max(1, Math.floor(o.requests / 3));
    run.flows = [
      { name: 'bid', started, completed: o.flows === 'cut' ? 0 : started, failed: o.flows === 'cut' ? started : 0 },
    ];
  }
  return run;
}

describe('the verdict invariant (issue 18)', () => {
  it('a run in which at least half the requests failed is never pass, whatever the preset, engine and targets', () => {
    fc.assert(
      fc.property(
        phaseArb,
        engineArb,
        targetsArb,
        fc.integer({ min: 1, max: 5000 }),
        fc.double({ min: 0.5, max: 1, noNaN: true }),
        fc.boolean(),
        fc.boolean(),
        fc.constantFrom<'none' | 'some'>('none', 'some'),
        fc.integer({ min: 1, max: 2000 }),
        (phase, engine, targets, requests, errorShare, transport, served, flows, latencyMs) => {
          const { verdict } = judgeWithConfig(phase, engine, targets, (durationMs) =>
            brokenRun({ phase, engine, durationMs, requests, errorShare, transport, served, flows, latencyMs }),
          );
          expect(
            verdict.status,
            JSON.stringify({ phase, engine, targets, requests, errorShare, transport, served }),
          ).not.toBe('pass');
          expect(verdict.failsCheck).toBe(true);
        },
      ),
      { numRuns: 400 },
    );
  });

  it('a run in which every journey was cut short is never pass, even with few request errors counted', () => {
    fc.assert(
      fc.property(
        phaseArb,
        engineArb,
        targetsArb,
        fc.integer({ min: 3, max: 3000 }),
        fc.double({ min: 0, max: 0.49, noNaN: true }),
        (phase, engine, targets, requests, errorShare) => {
          const { verdict } = judgeWithConfig(phase, engine, targets, (durationMs) =>
            brokenRun({
              phase,
              engine,
              durationMs,
              requests,
              errorShare,
              transport: false,
              served: true,
              flows: 'cut',
              latencyMs: 20,
            }),
          );
          expect(verdict.status, JSON.stringify({ phase, engine, targets, requests, errorShare })).not.toBe('pass');
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the property can fail: a healthy run with the same targets passes where its targets hold', () => {
    const { verdict } = judgeWithConfig('sustained', 'builtin', ['p99 < 500ms'], (durationMs) =>
      brokenRun({
        phase: 'sustained',
        engine: 'builtin',
        durationMs,
        requests: 2000,
        errorShare: 0,
        transport: false,
        served: true,
        flows: 'some',
        latencyMs: 20,
      }),
    );
    expect(verdict.status).toBe('pass');
    expect(verdict.targets.map((t) => t.target.source)).toEqual(['p99 < 500ms', 'error_rate < 0.5%']);
  });
});

/** Config loading, the phase analyses and the gate, as the pipeline runs them (the custom phase from the config). */
function judgeWithConfig(
  phase: string,
  engine: EngineName,
  targets: readonly string[] | undefined,
  run: (durationMs: number) => RunResult,
) {
  const inputs: Record<string, string> = { target: 'http://127.0.0.1:1', phase, engine, duration: '20s' };
  if (phase === 'smoke') inputs.config = 'perf-gate.yml';
  if (targets !== undefined) inputs.targets = targets.join('\n');
  if (engine === 'results') inputs.results = 'results.json';
  if (engine === 'k6') inputs.script = 'load.js';
  if (engine === 'artillery') inputs.script = 'script.yml';
  const config = resolveConfig(inputs, { workspace: ws });
  const plan = planPhase(config);
  const r = run(totalDurationMs(plan.stages));
  const judged = analyzePhase(r, config, plan, undefined);
  return { config, verdict: phaseVerdict(decide(r, config.targets, config.failOn, [], judged), r, config.failOn) };
}
