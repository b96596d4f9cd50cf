// CloudWatch source against a local server speaking CloudWatch's wire protocol, through the real AWS SDK client.
import { afterEach, describe, expect, it } from 'vitest';
import type { InfraMetric } from '../src/model.js';
import { choosePeriod, CloudWatchSource, MAX_QUERIES_PER_CALL } from '../src/sources/cloudwatch.js';
import { sourcesSchema, type CloudWatchSourceConfig } from '../src/config/sources.js';
import { useFakeAwsCredentials } from './helpers/aws-env.js';
import {
  startCloudWatchStub,
  type CloudWatchStub,
  type CloudWatchStubOptions,
  type StubQuery,
} from './helpers/cloudwatch-stub.js';
import { memoryLog } from './helpers/memory-log.js';

const MIN = 60_000;

function config(stub: CloudWatchStub, extra: Record<string, unknown>): CloudWatchSourceConfig {
  const [parsed] = sourcesSchema.parse([
    {
      kind: 'cloudwatch',
      region: 'eu-west-1',
      endpoint: stub.url,
      'lag-wait': '300ms',
      'lag-retry': '50ms',
      'retry-delay': '5ms',
      ...extra,
    },
  ]);
  return parsed as CloudWatchSourceConfig;
}

/** A finished run: 5 minutes that ended 10 minutes ago, so every period is published. */
function pastWindow(): { start: Date; end: Date } {
  const end = Math.floor(Date.now() / MIN) * MIN - 10 * MIN + 30_000;
  return { start: new Date(end - 5 * MIN), end: new Date(end) };
}

const dims = (q: StubQuery): Record<string, string> =>
  Object.fromEntries((q.MetricStat?.Metric.Dimensions ?? []).map((d) => [d.Name, d.Value]));

useFakeAwsCredentials();

let stub: CloudWatchStub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

async function run(stubOpts: CloudWatchStubOptions, extra: Record<string, unknown>, window = pastWindow()) {
  stub = await startCloudWatchStub(stubOpts);
  const log = memoryLog('levels');
  const source = new CloudWatchSource(config(stub, extra), log);
  const result = await source.collect(window);
  await source.stop();
  const byName = new Map<string, InfraMetric>(result.infra.map((m) => [m.name, m]));
  return { result, byName, log, stub, window };
}

describe('CloudWatch presets', () => {
  it('sends the expected MetricDataQueries and turns the answers into window statistics', async () => {
    const value = (q: StubQuery, t: number): number | undefined => {
      const minute = new Date(t).getUTCMinutes();
      switch (q.MetricStat!.Metric.MetricName) {
        case 'CPUUtilization':
          return q.MetricStat!.Metric.Namespace === 'AWS/ECS' ? 40 + (minute % 5) * 5 : 30;
        case 'MemoryUtilization':
          return 60;
        case 'DatabaseConnections':
          return 120 + (minute % 3);
        case 'RequestCount':
          return 6000;
        case 'HTTPCode_ELB_5XX_Count':
          return minute % 2 === 0 ? 2 : undefined; // CloudWatch leaves out zero-count periods
        case 'HTTPCode_Target_5XX_Count':
          return minute % 3 === 0 ? 1 : undefined;
        case 'TargetResponseTime':
          return 0.25;
        default:
          return 7;
      }
    };
    const { byName, stub, window } = await run(
      { value },
      {
        margin: '1m',
        metrics: [
          { preset: 'ecs-cpu', cluster: 'prod', service: 'api' },
          { preset: 'ecs-memory', cluster: 'prod' },
          { preset: 'rds-cpu', instance: 'prod-db' },
          { preset: 'rds-connections', instance: 'prod-db', 'max-connections': 400 },
          {
            preset: 'alb-requests',
            'load-balancer':
              'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/prod-lb/50dc6c495c0c9188',
          },
          { preset: 'alb-5xx', 'load-balancer': 'app/prod-lb/50dc6c495c0c9188' },
          { preset: 'alb-target-p99', 'load-balancer': 'app/prod-lb/50dc6c495c0c9188' },
          {
            name: 'queue_depth',
            namespace: 'AWS/SQS',
            metric: 'ApproximateNumberOfMessagesVisible',
            dimensions: { QueueName: 'jobs' },
            stat: 'Maximum',
          },
        ],
      },
    );

    expect(stub.requests).toHaveLength(1);
    const req = stub.requests[0]!;
    expect(req.target).toBe('GraniteServiceVersion20100801.GetMetricData');
    expect(req.contentType).toBe('application/x-amz-json-1.0');
    expect(req.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=AKIDPERFGATETEST\/\d{8}\/eu-west-1\/monitoring\/aws4_request/,
    );
    // Window plus the 1 minute margin, on period boundaries.
    expect(req.body.StartTime * 1000).toBe(Math.floor((window.start.getTime() - MIN) / MIN) * MIN);
    expect(req.body.EndTime * 1000).toBe(Math.ceil((window.end.getTime() + MIN) / MIN) * MIN);
    const queries = req.body.MetricDataQueries.map((q) => ({
      ns: q.MetricStat!.Metric.Namespace,
      metric: q.MetricStat!.Metric.MetricName,
      dims: dims(q),
      period: q.MetricStat!.Period,
      stat: q.MetricStat!.Stat,
    }));
    const lb = { LoadBalancer: 'app/prod-lb/50dc6c495c0c9188' };
    expect(queries).toEqual([
      {
        ns: 'AWS/ECS',
        metric: 'CPUUtilization',
        dims: { ClusterName: 'prod', ServiceName: 'api' },
        period: 60,
        stat: 'Average',
      },
      { ns: 'AWS/ECS', metric: 'MemoryUtilization', dims: { ClusterName: 'prod' }, period: 60, stat: 'Average' },
      {
        ns: 'AWS/RDS',
        metric: 'CPUUtilization',
        dims: { DBInstanceIdentifier: 'prod-db' },
        period: 60,
        stat: 'Average',
      },
      {
        ns: 'AWS/RDS',
        metric: 'DatabaseConnections',
        dims: { DBInstanceIdentifier: 'prod-db' },
        period: 60,
        stat: 'Maximum',
      },
      { ns: 'AWS/ApplicationELB', metric: 'RequestCount', dims: lb, period: 60, stat: 'Sum' },
      { ns: 'AWS/ApplicationELB', metric: 'HTTPCode_ELB_5XX_Count', dims: lb, period: 60, stat: 'Sum' },
      { ns: 'AWS/ApplicationELB', metric: 'HTTPCode_Target_5XX_Count', dims: lb, period: 60, stat: 'Sum' },
      { ns: 'AWS/ApplicationELB', metric: 'RequestCount', dims: lb, period: 60, stat: 'Sum' },
      { ns: 'AWS/ApplicationELB', metric: 'TargetResponseTime', dims: lb, period: 60, stat: 'p99' },
      {
        ns: 'AWS/SQS',
        metric: 'ApproximateNumberOfMessagesVisible',
        dims: { QueueName: 'jobs' },
        period: 60,
        stat: 'Maximum',
      },
    ]);
    expect(new Set(req.body.MetricDataQueries.map((q) => q.Id)).size).toBe(queries.length);

    // The run covers 6 one-minute periods (it starts and ends mid-minute); the margin adds context only.
    const cpu = byName.get('cpu')!;
    expect(cpu).toMatchObject({ source: 'cloudwatch', unit: '%' });
    expect(cpu.unavailable).toBeUndefined();
    expect(cpu.query).toBe('AWS/ECS CPUUtilization ClusterName=prod ServiceName=api Average (60 s periods)');
    expect(cpu.series!.length).toBe(8);
    const inRun = cpu.series!.filter(([t]) => t + MIN > 0 && t < 5 * MIN);
    expect(inRun).toHaveLength(6);
    expect(cpu.stats.max).toBe(Math.max(...inRun.map(([, v]) => v)));
    expect(cpu.stats.min).toBe(Math.min(...inRun.map(([, v]) => v)));
    expect(cpu.stats.mean).toBeCloseTo(inRun.reduce((a, [, v]) => a + v, 0) / 6, 6);
    expect(cpu.stats.last).toBe(inRun.at(-1)![1]);

    expect(byName.get('memory')!.stats).toMatchObject({ min: 60, max: 60 });
    expect(byName.get('rds_cpu')!.stats.max).toBe(30);
    expect(byName.get('db_connections')).toMatchObject({ unit: 'count', limit: 400, stats: { min: 120, max: 122 } });
    expect(byName.get('alb_requests')).toMatchObject({ unit: '/s', stats: { max: 100 } });
    expect(byName.get('alb_target_p99')).toMatchObject({ unit: 'ms', stats: { max: 250 } });
    expect(byName.get('queue_depth')).toMatchObject({ unit: 'count', stats: { max: 7 } });

    // ELB and target 5xx added up; a period with neither is 0 because RequestCount shows it was published.
    const fivexx = byName.get('alb_5xx')!;
    const expected5xx = inRun.map(([t]) => {
      const minute = new Date(t + window.start.getTime()).getUTCMinutes();
      return (minute % 2 === 0 ? 2 : 0) + (minute % 3 === 0 ? 1 : 0);
    });
    expect(fivexx.series!.filter(([t]) => t + MIN > 0 && t < 5 * MIN).map(([, v]) => v)).toEqual(expected5xx);
    expect(fivexx.stats.max).toBe(Math.max(...expected5xx));
    expect(fivexx.query).toContain('HTTPCode_ELB_5XX_Count');
    expect(fivexx.query).toContain('HTTPCode_Target_5XX_Count');
  });

  it('follows NextToken pages and merges a series cut across them', async () => {
    const { byName, stub } = await run(
      { pageSize: 2, value: (_q, t) => (t / MIN) % 7 },
      { metrics: [{ preset: 'ecs-cpu', cluster: 'c' }] },
    );
    expect(stub.requests.length).toBe(4); // 8 periods (window + margins), 2 per page
    expect(stub.requests.map((r) => r.body.NextToken)).toEqual([undefined, '1', '2', '3']);
    const cpu = byName.get('cpu')!;
    expect(cpu.unavailable).toBeUndefined();
    expect(cpu.series).toHaveLength(8);
    const times = cpu.series!.map(([t]) => t);
    expect(times).toEqual([...times].sort((a, b) => a - b));
  });

  it(`splits more than ${MAX_QUERIES_PER_CALL} queries into several calls`, async () => {
    const metrics = Array.from({ length: 501 }, (_, i) => ({
      name: `q${i}`,
      namespace: 'Custom/App',
      metric: 'Depth',
      dimensions: { Queue: `q${i}` },
    }));
    const { result, stub } = await run({ value: (q) => Number(dims(q).Queue!.slice(1)) }, { metrics });
    expect(stub.requests.map((r) => r.body.MetricDataQueries.length)).toEqual([500, 1]);
    expect(result.infra).toHaveLength(501);
    expect(result.infra.every((m) => !m.unavailable)).toBe(true);
    expect(result.infra[500]).toMatchObject({ name: 'q500', stats: { max: 500 } });
    expect(result.infra[3]).toMatchObject({ name: 'q3', stats: { max: 3 } });
  });
});

describe('CloudWatch errors and lag', () => {
  it('retries throttling with backoff and then succeeds', async () => {
    const { byName, stub, log } = await run(
      { throttle: 2 },
      { retries: 3, metrics: [{ preset: 'rds-cpu', instance: 'db' }] },
    );
    expect(stub.requests.map((r) => r.answer)).toEqual(['throttled', 'throttled', 'ok']);
    expect(byName.get('rds_cpu')!.stats.max).toBe(50);
    expect(log.lines.filter((l) => /Throttling: Rate exceeded; retrying/.test(l))).toHaveLength(2);
  });

  it('gives up after the bounded number of retries and says why', async () => {
    const { byName, stub } = await run(
      { throttle: 100 },
      { retries: 2, metrics: [{ preset: 'rds-cpu', instance: 'db' }] },
    );
    expect(stub.calls()).toBe(3);
    expect(byName.get('rds_cpu')).toMatchObject({
      stats: {},
      unavailable: expect.stringMatching(/GetMetricData failed: Throttling: Rate exceeded/),
    });
  });

  it('does not retry a request CloudWatch rejected', async () => {
    const { byName, stub } = await run(
      { error: { type: 'InvalidParameterValueException', message: 'The value Avg for parameter Stat is not valid.' } },
      { metrics: [{ preset: 'rds-cpu', instance: 'db', stat: 'Avg' }] },
    );
    expect(stub.calls()).toBe(1);
    expect(byName.get('rds_cpu')!.unavailable).toMatch(
      /InvalidParameterValue(Exception)?: The value Avg for parameter Stat is not valid/,
    );
  });

  it('waits for a late last period and uses it once published', async () => {
    const end = Date.now();
    const window = { start: new Date(end - 4 * MIN), end: new Date(end) };
    const lastPeriod = Math.floor((end - 1) / MIN) * MIN;
    // Calls 1 and 2 do not have the period the run ended in yet; call 3 does.
    const { byName, stub, log } = await run(
      {
        publishedUntil: (call) => (call <= 2 ? lastPeriod : undefined),
        value: (_q, t) => (t === lastPeriod ? 99 : 10),
      },
      { 'lag-wait': '5s', margin: 0, metrics: [{ preset: 'ecs-cpu', cluster: 'c' }] },
      window,
    );
    expect(stub.calls()).toBe(3);
    expect(byName.get('cpu')).toMatchObject({ stats: { max: 99, last: 99 } });
    expect(byName.get('cpu')!.unavailable).toBeUndefined();
    expect(log.lines.some((l) => /not published yet \(CloudWatch lags a minute or two\)/.test(l))).toBe(true);
  });

  it('marks the metric unavailable when the last period never arrives within lag-wait', async () => {
    const end = Date.now();
    const window = { start: new Date(end - 4 * MIN), end: new Date(end) };
    const lastPeriod = Math.floor((end - 1) / MIN) * MIN;
    const started = Date.now();
    const { byName, stub } = await run(
      { publishedUntil: () => lastPeriod },
      { 'lag-wait': '300ms', margin: 0, metrics: [{ preset: 'ecs-cpu', cluster: 'c' }] },
      window,
    );
    expect(Date.now() - started).toBeLessThan(3000);
    expect(stub.calls()).toBeGreaterThan(1);
    const cpu = byName.get('cpu')!;
    expect(cpu.stats).toEqual({});
    expect(cpu.unavailable).toMatch(
      /had not published the period starting \d\d:\d\d:00 UTC \(the end of the run\).*raise lag-wait, or set allow-incomplete/,
    );
    expect(cpu.series!.length).toBeGreaterThan(0);
  });

  it('judges the periods that arrived, with a note, when allow-incomplete is set', async () => {
    const end = Date.now();
    const window = { start: new Date(end - 4 * MIN), end: new Date(end) };
    const lastPeriod = Math.floor((end - 1) / MIN) * MIN;
    const { byName, result } = await run(
      { publishedUntil: () => lastPeriod },
      { 'lag-wait': '100ms', 'allow-incomplete': true, margin: 0, metrics: [{ preset: 'ecs-cpu', cluster: 'c' }] },
      window,
    );
    expect(byName.get('cpu')).toMatchObject({ stats: { max: 50 } });
    expect(byName.get('cpu')!.unavailable).toBeUndefined();
    expect(result.notes?.join('\n')).toMatch(
      /cpu: CloudWatch had not published .* its statistics cover only the periods that arrived/,
    );
  });

  it('treats PartialData without a NextToken as incomplete', async () => {
    const { byName, stub } = await run(
      { statusCode: 'PartialData' },
      { metrics: [{ preset: 'ecs-cpu', cluster: 'c' }] },
      (() => {
        const end = Date.now();
        return { start: new Date(end - 2 * MIN), end: new Date(end) };
      })(),
    );
    expect(stub.calls()).toBeGreaterThan(1);
    expect(byName.get('cpu')!.unavailable).toMatch(/had not published/);
  });

  it('reports a series CloudWatch has nothing for, and a Forbidden one', async () => {
    // A 10-minute run that just ended: no point at all in 10 minutes is not lag, so no waiting for it.
    const t0 = Date.now();
    const window = { start: new Date(t0 - 10 * MIN), end: new Date(t0) };
    const none = await run(
      { value: () => undefined },
      { 'lag-wait': '1m', metrics: [{ preset: 'ecs-cpu', cluster: 'missing' }] },
      window,
    );
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(none.stub.calls()).toBe(1);
    expect(none.byName.get('cpu')!.unavailable).toMatch(/no datapoints .* check the region and the dimensions/);
    await stub!.close();
    stub = undefined;
    const forbidden = await run({ statusCode: 'Forbidden' }, { metrics: [{ preset: 'ecs-cpu', cluster: 'c' }] });
    expect(forbidden.byName.get('cpu')!.unavailable).toMatch(/CloudWatch answered Forbidden: Insufficient permissions/);
  });
});

describe('choosePeriod', () => {
  it.each([
    [60, false, 3_600_000, 60],
    [1, false, 3_600_000, 60],
    [1, true, 3_600_000, 1],
    [7, true, 3_600_000, 10],
    [1, true, 4 * 3_600_000, 60],
    [60, false, 20 * 86_400_000, 300],
    [60, false, 100 * 86_400_000, 3600],
    [90, false, 3_600_000, 120],
  ])('period %i s, high-res %s, %i ms old -> %i s', (requested, highRes, age, expected) => {
    expect(choosePeriod(requested, highRes, age)).toBe(expected);
  });
});
