import { describe, expect, it } from 'vitest';
import { decide, failsCheck } from '../src/gate/evaluate.js';
import { parseTargets } from '../src/gate/targets.js';
import { RESULTS_SCHEMA_VERSION, type RunResult } from '../src/model.js';

function run(over: Partial<RunResult> = {}): RunResult {
  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    engine: 'builtin',
    phase: 'warmup',
    startedAt: '2026-11-27T00:00:00.000Z',
    endedAt: '2026-11-27T00:01:00.000Z',
    durationMs: 60_000,
    requests: 6000,
    errors: 6,
    errorsByKind: { http_5xx: 6 },
    statusCodes: { '200': 5994, '500': 6 },
    errorRate: 0.1,
    throughputRps: 100,
    latency: { count: 6000, p50: 40, p90: 90, p95: 120, p99: 310, max: 900, min: 3, mean: 50 },
    vus: { max: 12 },
    endpoints: [],
    intervals: [],
    generator: { valid: true, invalidReasons: [] },
    customMetrics: {
      checkout: { type: 'trend', values: { avg: 80, 'p(95)': 150 } },
      checks: { type: 'rate', values: { rate: 0.99 } },
    },
    toolThresholds: [],
    notes: [],
    ...over,
  };
}

const GUIDE = parseTargets(['p99 < 500ms', 'p95 < 300ms', 'error_rate < 0.5%', 'throughput > 100/s']);

describe('decide', () => {
  it('passes when every target holds and fails on the first that does not', () => {
    expect(decide(run({ throughputRps: 101 }), GUIDE, 'any')).toMatchObject({
      status: 'pass',
      failsCheck: false,
      reasons: [],
    });
    const v = decide(run(), GUIDE, 'any');
    expect(v.status).toBe('fail');
    expect(v.failsCheck).toBe(true);
    // Throughput is of the successful responses: 100/s of which 6 in 6,000 failed.
    expect(v.reasons).toEqual(['throughput > 100/s: measured 99.9/s']);
    expect(v.targets.map((t) => t.status)).toEqual(['pass', 'pass', 'pass', 'fail']);
  });

  it('treats a metric that was not measured as a failure unless optional, never as 0', () => {
    const targets = parseTargets(['p999 < 1s', 'optional: vus >= 500']);
    const v = decide(run({ vus: undefined }), targets, 'any');
    expect(v.targets.map((t) => [t.status, t.actual])).toEqual([
      ['not_measured', undefined],
      ['not_measured', undefined],
    ]);
    expect(v.status).toBe('fail');
    expect(v.reasons).toEqual(['p999 < 1s: not measured']);
    expect(decide(run({ vus: undefined }), parseTargets(['optional: vus >= 500']), 'any').status).toBe('pass');
  });

  it('is an error, whatever the targets say, when there is nothing to judge', () => {
    const v = decide(
      run({ requests: 0, errors: 0, errorRate: undefined, latency: { count: 0 } }),
      parseTargets('errors <= 50'),
      'never',
    );
    expect(v.status).toBe('error');
    expect(v.failsCheck).toBe(true);
    expect(v.reasons[0]).toMatch(/no request completed/);
  });

  it('is an error when the target never answered', () => {
    const v = decide(
      run({ requests: 40, errors: 40, errorsByKind: { connection_refused: 40 }, latency: { count: 0 } }),
      [],
      'any',
    );
    expect(v.status).toBe('error');
    expect(v.reasons[0]).toMatch(/all 40 requests failed without a response \(connection_refused\)/);
  });

  it('is an error when the generator could not send the load', () => {
    const v = decide(
      run({ generator: { valid: false, invalidReasons: ['dropped 300 of 1000 arrivals'] } }),
      GUIDE,
      'any',
    );
    expect(v).toMatchObject({ status: 'error', reasons: ['dropped 300 of 1000 arrivals'] });
  });

  it('is an error, not a fail, when a target needs an infrastructure metric whose source failed', () => {
    const infra = [
      {
        name: 'cpu',
        source: 'cloudwatch' as const,
        query: 'AWS/ECS CPUUtilization',
        unit: '%' as const,
        stats: {},
        unavailable: 'AccessDenied: not authorized to perform cloudwatch:GetMetricData',
      },
      { name: 'memory', source: 'prometheus' as const, query: 'node memory', unit: '%' as const, stats: { max: 60 } },
    ];
    const v = decide(run({ infra }), parseTargets(['memory < 85%', 'cpu < 80%']), 'any');
    expect(v.status).toBe('error');
    expect(v.reasons).toEqual([
      'cpu < 80%: cpu could not be read from cloudwatch: AccessDenied: not authorized to perform cloudwatch:GetMetricData',
    ]);
    // Optional, or no target on it at all: the failed source is only shown.
    expect(decide(run({ infra }), parseTargets(['memory < 85%', 'optional: cpu < 80%']), 'any').status).toBe('pass');
    expect(decide(run({ infra }), parseTargets(['memory < 85%']), 'any').status).toBe('pass');
  });

  it('reads custom metrics by name and by name.stat', () => {
    const v = decide(run(), parseTargets(['checkout.p95 < 200ms', 'checks > 98%', 'checkout < 50ms']), 'any');
    expect(v.targets.map((t) => [t.actual, t.status])).toEqual([
      [150, 'pass'],
      [99, 'pass'],
      [80, 'fail'],
    ]);
  });

  it.each([
    ['pass', 'any', false],
    ['fail', 'any', true],
    ['fail', 'target', true],
    ['fail', 'regression', false],
    ['fail', 'never', false],
    ['error', 'never', true],
  ] as const)('%s with fail-on %s fails the check: %s', (status, failOn, expected) => {
    expect(failsCheck(status, failOn)).toBe(expected);
  });
});
