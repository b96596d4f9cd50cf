// CloudWatch Logs source against a local server speaking the Logs service's wire protocol (AWS JSON 1.1), through
// the real @aws-sdk/client-cloudwatch-logs client: the query lifecycle (Scheduled, Running, Complete, Failed,
// Cancelled, Timeout), the polling bound, retries, and the top messages masked and deduplicated.
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/load.js';
import { runPipeline } from '../src/pipeline.js';
import { decide } from '../src/gate/evaluate.js';
import { parseTargets } from '../src/gate/targets.js';
import { maskMessage } from '../src/sources/cloudwatch-logs.js';
import { sourcesSchema } from '../src/config/sources.js';
import { collectAll, createSources, startSources } from '../src/sources/index.js';
import { useFakeAwsCredentials } from './helpers/aws-env.js';
import { startLogsStub, type LogEvent, type LogsStub, type LogsStubOptions } from './helpers/cloudwatch-logs-stub.js';
import { sampleRun } from './helpers/sample-run.js';
import { memoryLog } from './helpers/memory-log.js';

useFakeAwsCredentials();

let stub: LogsStub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

// A 2-minute run that ended a minute ago, at whole-ms times so the epoch-second rounding shows.
const end = Date.now() - 60_000 + 0.5;
const window = { start: new Date(Math.floor(end - 120_000) + 250), end: new Date(Math.floor(end)) };
const at = (s: number): number => window.start.getTime() + s * 1000;

const EVENTS: LogEvent[] = [
  { timestamp: at(-30), message: 'ERROR before the run: not counted', logGroup: '/ecs/api' },
  { timestamp: at(1), message: 'INFO GET /health 200', logGroup: '/ecs/api' },
  ...[1234, 99, 7, 100042, 5].map((n, i) => ({
    timestamp: at(2 + i),
    message: `ERROR order ${n} failed for user 8f14e45f-ceea-467f-a0e6-0123456789a${i}`,
    logGroup: '/ecs/api',
  })),
  {
    timestamp: at(10),
    message: 'java.lang.IllegalStateException: pool exhausted after 3000 ms',
    logGroup: '/ecs/worker',
  },
  {
    timestamp: at(11),
    message: 'java.lang.IllegalStateException: pool exhausted after 2500 ms',
    logGroup: '/ecs/worker',
  },
  { timestamp: at(12), message: 'panic: runtime error: index out of range [3] with length 3', logGroup: '/ecs/api' },
  {
    timestamp: at(13),
    message: 'ERROR db connect failed: postgres://app:Hunter2-Secret@db:5432/app password=Hunter2-Secret',
    logGroup: '/ecs/api',
  },
  { timestamp: at(14), message: `ERROR ${'very long '.repeat(60)}`, logGroup: '/ecs/api' },
  { timestamp: at(15), message: 'ERROR in a group nobody asked for', logGroup: '/ecs/other' },
  { timestamp: at(300), message: 'ERROR after the run: not counted', logGroup: '/ecs/api' },
];

async function collect(stubOpts: Partial<LogsStubOptions>, extra: Record<string, unknown> = {}) {
  stub = await startLogsStub({ events: EVENTS, ...stubOpts });
  const log = memoryLog();
  const sources = createSources(
    sourcesSchema.parse([
      {
        kind: 'cloudwatch-logs',
        region: 'eu-west-1',
        endpoint: stub.url,
        'log-groups': ['/ecs/api', '/ecs/worker'],
        poll: '20ms',
        'retry-delay': '5ms',
        ...extra,
      },
    ]),
    log,
  );
  await startSources(sources, log);
  const out = await collectAll(sources, window, log);
  return { out, log, stub, metric: out.infra[0]!, summary: out.logs?.[0] };
}

describe('CloudWatch Logs source', () => {
  it('counts error messages in the run window and keeps the top messages, masked and deduplicated', async () => {
    const { out, metric, summary, stub, log } = await collect({
      statuses: () => ['Scheduled', 'Running', 'Running', 'Complete'],
    });
    expect(metric.unavailable).toBeUndefined();
    expect(metric).toMatchObject({
      name: 'log_errors',
      source: 'cloudwatch-logs',
      unit: 'count',
      stats: { max: 10, last: 10 },
    });

    // Two queries side by side on the wire: the exact count and the messages grouped.
    expect(stub.started).toHaveLength(2);
    for (const q of stub.started) {
      expect(q.target).toBe('Logs_20140328.StartQuery');
      expect(q.contentType).toBe('application/x-amz-json-1.1');
      expect(q.logGroupNames).toEqual(['/ecs/api', '/ecs/worker']);
      expect(q.startTime).toBe(Math.floor(window.start.getTime() / 1000));
      expect(q.endTime).toBe(Math.ceil(window.end.getTime() / 1000));
    }
    expect(stub.started.map((q) => q.queryString).sort()).toEqual([
      'filter @message like /ERROR|Exception|panic/ | stats count(*) as count',
      'filter @message like /ERROR|Exception|panic/ | stats count(*) as count by @message | sort count desc | limit 1000',
    ]);
    expect(stub.polls()).toBe(8); // 4 statuses per query

    expect(summary).toBeDefined();
    expect(summary!.source).toBe('log_errors');
    expect(summary!.count).toBe(10);
    const top = summary!.top;
    expect(top[0]).toEqual({ message: 'ERROR order <n> failed for user <id>', count: 5 });
    expect(top[1]).toEqual({ message: 'java.lang.IllegalStateException: pool exhausted after <n> ms', count: 2 });
    expect(top.map((t) => t.message)).toContain('panic: runtime error: index out of range [<n>] with length <n>');
    expect(top.reduce((s, t) => s + t.count, 0)).toBe(10);
    for (const t of top) expect([...t.message].length).toBeLessThanOrEqual(200);
    expect(top.some((t) => t.message.endsWith('…'))).toBe(true);
    // A secret in a log line never reaches the report.
    expect(JSON.stringify(out) + log.lines.join('\n')).not.toContain('Hunter2-Secret');

    const verdict = decide(
      sampleRun({ infra: out.infra, logs: out.logs }),
      parseTargets(['log_errors == 0', 'log_errors < 20']),
      'any',
    );
    expect(verdict.targets.map((t) => t.status)).toEqual(['fail', 'pass']);
  });

  it.each(['Failed', 'Cancelled', 'Timeout'])('is unavailable when the query ends %s', async (status) => {
    const { metric, summary } = await collect({ statuses: () => ['Running', status] });
    expect(metric.stats).toEqual({});
    expect(metric.unavailable).toBe(`the Logs Insights query ended ${status}`);
    expect(summary).toMatchObject({ unavailable: `the Logs Insights query ended ${status}`, top: [] });
    expect(summary!.count).toBeUndefined();
    const verdict = decide(sampleRun({ infra: [metric] }), parseTargets(['log_errors == 0']), 'any');
    expect(verdict.targets[0]!.status).toBe('not_measured');
  });

  it('stops polling at the bound and stops the query', async () => {
    const t0 = Date.now();
    const { metric, stub } = await collect({ statuses: () => ['Running'] }, { 'query-timeout': '400ms' });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(metric.unavailable).toBe(
      'the Logs Insights query was still Running after 400ms (query-timeout); it was stopped',
    );
    expect(stub.stopped.length).toBeGreaterThanOrEqual(1);
  });

  it('retries throttling, and names a malformed query', async () => {
    const throttled = await collect({
      startError: { type: 'ThrottlingException', message: 'Rate exceeded', times: 2 },
    });
    expect(throttled.metric.stats.max).toBe(10);
    await stub!.close();
    stub = undefined;
    const bad = await collect(
      { startError: { type: 'MalformedQueryException', message: 'unexpected symbol at line 1' } },
      { query: 'filter @message like /x/ | oops', retries: 1 },
    );
    expect(bad.metric.unavailable).toBe('MalformedQueryException: unexpected symbol at line 1');
    expect(bad.stub.started).toHaveLength(1); // a user mistake is not retried
  });

  it("runs a query of one's own: its rows are counted and their messages listed", async () => {
    const { metric, summary, stub } = await collect(
      {},
      {
        name: 'pool_errors',
        query: 'fields @timestamp, @message | filter @message like /pool exhausted/ | sort @timestamp desc',
      },
    );
    expect(stub.started).toHaveLength(1);
    expect(metric).toMatchObject({ name: 'pool_errors', stats: { max: 2 } });
    expect(summary!.top).toEqual([
      { message: 'java.lang.IllegalStateException: pool exhausted after <n> ms', count: 2 },
    ]);
  });

  it('is unavailable when the service cannot be reached', async () => {
    const log = memoryLog();
    const sources = createSources(
      sourcesSchema.parse([
        {
          kind: 'cloudwatch-logs',
          region: 'eu-west-1',
          endpoint: 'http://127.0.0.1:9',
          'log-groups': '/ecs/api',
          retries: 0,
          timeout: '500ms',
        },
      ]),
      log,
    );
    const out = await collectAll(sources, window, log);
    expect(out.infra[0]!.unavailable).toMatch(/ECONNREFUSED|connect/);
    expect(out.logs![0]!.unavailable).toBe(out.infra[0]!.unavailable);
  });
});

describe('CloudWatch Logs in the pipeline', () => {
  it('fills RunResult.logs and results.json, and judges log_errors', async () => {
    const target = createServer((_req, res) => res.writeHead(200).end('ok'));
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    const events: LogEvent[] = [];
    stub = await startLogsStub({ events });
    try {
      const now = Date.now();
      for (const [i, n] of [17, 23, 99].entries())
        events.push({ timestamp: now + 300 + i * 100, message: `ERROR payment ${n} declined`, logGroup: '/ecs/api' });
      const workspace = mkdtempSync(join(tmpdir(), 'perf-gate-logs-pipeline-'));
      const configPath = join(workspace, '.github/perf-gate.yml');
      const file = JSON.stringify({
        phases: { quick: { stages: [{ duration: '1s', rate: 5 }], targets: ['log_errors == 0'] } },
        sources: [
          {
            kind: 'cloudwatch-logs',
            region: 'eu-west-1',
            endpoint: stub.url,
            'log-groups': '/ecs/api',
            poll: '20ms',
            delay: '1s',
          },
        ],
      });
      const config = resolveConfig(
        { target: `http://127.0.0.1:${(target.address() as AddressInfo).port}`, phase: 'quick', 'output-dir': 'out' },
        { workspace, fileExists: (p) => p === configPath, readFile: () => file },
      );
      const outcome = await runPipeline(config, { log: memoryLog() });
      expect(outcome.run.logs).toEqual([
        {
          source: 'log_errors',
          query: 'Logs Insights over /ecs/api: filter @message like /ERROR|Exception|panic/ | stats count(*) as count',
          count: 3,
          top: [{ message: 'ERROR payment <n> declined', count: 3 }],
        },
      ]);
      const saved = JSON.parse(readFileSync(outcome.resultsPath, 'utf8')) as { run: { logs: unknown } };
      expect(saved.run.logs).toEqual(outcome.run.logs);
      expect(outcome.verdict.targets[0]).toMatchObject({ status: 'fail', actual: 3 });
    } finally {
      await new Promise((r) => target.close(r));
    }
  });
});

describe('masking log messages', () => {
  it('masks numbers, ids, times and credentials, and cuts at 200 characters', () => {
    expect(maskMessage('2026-12-03T07:02:30.123Z req 4f9c2a1be07d88aa took 1.5 s, trace a1B2c3D4e5F6g7H8i9J0')).toBe(
      '<time> req <id> took <n> s, trace <id>',
    );
    expect(maskMessage('token=abc.def.ghi failed')).toBe('token=*** failed');
    expect([...maskMessage('x'.repeat(500))]).toHaveLength(200);
  });
});
