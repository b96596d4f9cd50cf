// Targets on infrastructure metrics: parsing (`max(cpu) < 80%`, `db_connections < 80% of max`) and evaluation
// against RunResult.infra, including unavailable metrics.
import { describe, expect, it } from 'vitest';
import { decide } from '../src/gate/evaluate.js';
import { infraNotMeasuredReason, metricValue } from '../src/gate/metrics.js';
import { describeTarget, parseTarget, parseTargets } from '../src/gate/targets.js';
import { RESULTS_SCHEMA_VERSION, type InfraMetric, type RunResult } from '../src/model.js';
import { sourcesSchema } from '../src/config/sources.js';
import { UserError } from '../src/errors.js';
import { infraTargetProblems } from '../src/config/infra-targets.js';

const metric = (over: Partial<InfraMetric> & Pick<InfraMetric, 'name'>): InfraMetric => ({
  source: 'cloudwatch',
  query: 'q',
  unit: '%',
  stats: {},
  ...over,
});

function run(infra: InfraMetric[], over: Partial<RunResult> = {}): RunResult {
  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    engine: 'builtin',
    phase: 'sustained',
    startedAt: '2026-11-27T00:00:00.000Z',
    endedAt: '2026-11-27T00:01:00.000Z',
    durationMs: 60_000,
    requests: 1000,
    errors: 0,
    errorsByKind: {},
    statusCodes: { '200': 1000 },
    errorRate: 0,
    throughputRps: 100,
    latency: { count: 1000, p99: 200, max: 900, mean: 50 },
    endpoints: [],
    intervals: [],
    generator: { valid: true, invalidReasons: [] },
    customMetrics: { cpu_time: { type: 'trend', values: { avg: 3 } } },
    toolThresholds: [],
    notes: [],
    infra,
    ...over,
  };
}

const INFRA: InfraMetric[] = [
  metric({ name: 'cpu', stats: { min: 20, mean: 55, p95: 78, max: 84, last: 40 } }),
  metric({ name: 'memory', source: 'prometheus', stats: { min: 60, mean: 66, p95: 70, max: 71, last: 64 } }),
  metric({
    name: 'db_connections',
    source: 'postgres',
    unit: 'count',
    limit: 200,
    stats: { min: 10, mean: 90, p95: 150, max: 170, last: 12 },
  }),
  metric({ name: 'rds_cpu', stats: { max: 65, mean: 40 } }),
  metric({ name: 'alb_5xx', unit: 'count', stats: { max: 0, mean: 0 } }),
  metric({ name: 'Queue_Depth', unit: 'count', stats: { max: 900, mean: 300 } }),
  metric({ name: 'alb_target_p99', unit: 'ms', stats: { max: 450 } }),
];

describe('parsing infrastructure targets', () => {
  it.each([
    ['cpu < 80%', 'cpu', '<', 80, '%'],
    ['memory < 85%', 'memory', '<', 85, '%'],
    ['db_connections < 80% of max', 'db_connections%max', '<', 80, '%'],
    ['rds_cpu < 70%', 'rds_cpu', '<', 70, '%'],
    ['alb_5xx == 0', 'alb_5xx', '==', 0, 'count'],
    ['max(cpu) < 80%', 'max(cpu)', '<', 80, '%'],
    ['mean(memory) < 70%', 'mean(memory)', '<', 70, '%'],
    ['avg(memory) < 70%', 'mean(memory)', '<', 70, '%'],
    ['p95(db_connections) < 50% of max', 'p95(db_connections)%max', '<', 50, '%'],
    ['last(db_connections) <= 20', 'last(db_connections)', '<=', 20, 'count'],
    ['alb_target_p99 < 0.5s', 'alb_target_p99', '<', 500, 'ms'],
    ['alb_requests > 6000/m', 'alb_requests', '>', 100, '/s'],
    ['max(Queue_Depth) < 1000', 'max(queue_depth)', '<', 1000, 'count'],
    ['Queue_Depth < 1000', 'Queue_Depth', '<', 1000, 'count'],
  ] as const)('%s', (text, m, op, value, unit) => {
    expect(parseTarget(text)).toMatchObject({ metric: m, op, value, unit, source: text, optional: false });
  });

  it('keeps the optional markers', () => {
    expect(parseTarget('optional: cpu < 80%')).toMatchObject({ metric: 'cpu', optional: true });
    expect(parseTarget('db_connections < 80% of max?')).toMatchObject({ metric: 'db_connections%max', optional: true });
  });

  it.each([
    ['cpu < 80', /unit "\(none\)" for cpu; allowed: % \(write cpu < 80%\)/],
    ['db_connections < 80%', /allowed: a plain number, or "% of max" \(write db_connections < 80% of max\)/],
    ['db_connections < 80 of max', /allowed: % \(write db_connections < 80% of max\)/],
    ['median(cpu) < 80%', /uses statistic "median"; allowed: min, mean, p95, max, last/],
    ['cpu < -1%', /negative threshold/],
  ])('rejects %s', (text, message) => {
    expect(() => parseTarget(text)).toThrow(UserError);
    expect(() => parseTarget(text)).toThrow(message);
  });

  it('describes % of max targets', () => {
    expect(describeTarget(parseTarget('db_connections < 80% of max'))).toBe('< 80 % of max');
    expect(describeTarget(parseTarget('max(cpu) < 80%'))).toBe('< 80 %');
  });

  it('leaves the latency statistics alone', () => {
    expect(parseTarget('max < 2s')).toMatchObject({ metric: 'max', unit: 'ms', value: 2000 });
    expect(parseTarget('p(95) < 300')).toMatchObject({ metric: 'p95' });
  });
});

describe('evaluating infrastructure targets', () => {
  it('uses max by default, the named statistic otherwise, and value/limit for % of max', () => {
    const r = run(INFRA);
    expect(metricValue(r, 'cpu')).toBe(84);
    expect(metricValue(r, 'mean(cpu)')).toBe(55);
    expect(metricValue(r, 'p95(cpu)')).toBe(78);
    expect(metricValue(r, 'last(cpu)')).toBe(40);
    expect(metricValue(r, 'db_connections%max')).toBe(85);
    expect(metricValue(r, 'mean(db_connections)%max')).toBe(45);
    expect(metricValue(r, 'max(queue_depth)')).toBe(900);
    expect(metricValue(r, 'max')).toBe(900); // the latency max, untouched
    expect(metricValue(r, 'cpu_time')).toBe(3); // a custom metric, untouched

    const targets = parseTargets([
      'cpu < 80%',
      'max(cpu) < 90%',
      'memory < 85%',
      'mean(memory) < 70%',
      'db_connections < 80% of max',
      'rds_cpu < 70%',
      'alb_5xx == 0',
      'Queue_Depth < 1000',
      'alb_target_p99 < 500ms',
    ]);
    const v = decide(r, targets, 'any');
    expect(v.targets.map((t) => [t.target.source, t.status, t.actual])).toEqual([
      ['cpu < 80%', 'fail', 84],
      ['max(cpu) < 90%', 'pass', 84],
      ['memory < 85%', 'pass', 71],
      ['mean(memory) < 70%', 'pass', 66],
      ['db_connections < 80% of max', 'fail', 85],
      ['rds_cpu < 70%', 'pass', 65],
      ['alb_5xx == 0', 'pass', 0],
      ['Queue_Depth < 1000', 'pass', 900],
      ['alb_target_p99 < 500ms', 'pass', 450],
    ]);
    expect(v.status).toBe('fail');
    expect(v.reasons).toEqual(['cpu < 80%: measured 84 %', 'db_connections < 80% of max: measured 85 %']);
  });

  it('is not measured when the source failed, the limit is unknown, or nothing reports the metric', () => {
    const r = run([
      metric({ name: 'cpu', stats: {}, unavailable: 'GetMetricData failed: AccessDenied' }),
      metric({ name: 'db_connections', unit: 'count', stats: { max: 10 } }),
    ]);
    const targets = parseTargets([
      'cpu < 80%',
      'db_connections < 80% of max',
      'optional: memory < 85%',
      'mean(queue) < 5',
      'db_connections < 50',
    ]);
    const v = decide(r, targets, 'any');
    expect(v.targets.map((t) => t.status)).toEqual([
      'not_measured',
      'not_measured',
      'not_measured',
      'not_measured',
      'pass',
    ]);
    // A source that failed under a target makes the run unjudgeable (error), naming the source and its reason.
    expect(v.status).toBe('error');
    expect(v.reasons).toEqual([
      expect.stringMatching(/^cpu < 80%: cpu could not be read from \w+: GetMetricData failed: AccessDenied$/),
    ]);
    // Without that target, the others are plain "not measured" failures.
    const rest = decide(r, targets.slice(1), 'any');
    expect(rest.status).toBe('fail');
    // Compared without a trailing "(why)", which the verdict may add from infraNotMeasuredReason.
    expect(rest.reasons.map((r) => r.replace(/ \(.*\)$/, ''))).toEqual([
      'db_connections < 80% of max: not measured',
      'mean(queue) < 5: not measured',
    ]);
    expect(infraNotMeasuredReason(r, 'cpu')).toBe('GetMetricData failed: AccessDenied');
    expect(infraNotMeasuredReason(r, 'db_connections%max')).toBe('db_connections has no known maximum to compare with');
    expect(infraNotMeasuredReason(r, 'memory')).toBe('no configured source reports "memory"');
    expect(infraNotMeasuredReason(r, 'p99')).toBeUndefined();
    expect(infraNotMeasuredReason(run([]), 'checkout.p95')).toBeUndefined();
    // A run without any sources configured.
    expect(decide(run([], { infra: undefined }), parseTargets('cpu < 80%'), 'any').targets[0]!.status).toBe(
      'not_measured',
    );
  });
});

describe('checking infrastructure targets against the configured sources', () => {
  const configs = sourcesSchema.parse([
    {
      kind: 'cloudwatch',
      metrics: [
        { preset: 'rds-connections', instance: 'db' },
        { preset: 'ecs-cpu', cluster: 'c' },
      ],
    },
    { kind: 'prometheus', url: 'http://p:9090', metrics: [{ name: 'queue', query: 'sum(q)' }] },
  ]);

  it('names targets no source can measure, before the load is sent', () => {
    const targets = parseTargets([
      'cpu < 80%',
      'memory < 85%',
      'db_connections < 80% of max',
      'max(queue) < 10',
      'mean(nothing) < 1',
      'optional: rds_cpu < 70%',
      'checkout.p95 < 800ms',
      'p99 < 500ms',
    ]);
    expect(infraTargetProblems(targets, configs)).toEqual([
      'target "memory < 85%" needs a metric named "memory" from sources:, which has db_connections, cpu, queue; ' +
        'add kind: prometheus with preset node-memory or container-memory, or kind: cloudwatch with preset ecs-memory, or mark the target optional',
      'target "db_connections < 80% of max" compares with a maximum, but "db_connections" has none: set its limit (max-connections for rds-connections)',
      'target "mean(nothing) < 1" needs a metric named "nothing" from sources:, which has db_connections, cpu, queue; give a source metric that name, or mark the target optional',
    ]);
    expect(infraTargetProblems(parseTargets('alb_5xx == 0'), [])[0]).toMatch(
      /and none is configured; add kind: cloudwatch with preset alb-5xx/,
    );
  });

  it('still reads a load tool metric that happens to share a well-known name when no source reports it', () => {
    const r = run([], { customMetrics: { memory: { type: 'gauge', values: { value: 42 } } } });
    expect(metricValue(r, 'memory')).toBe(42);
    expect(metricValue(r, 'max(memory)')).toBeUndefined();
  });
});
