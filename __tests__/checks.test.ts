// The environment checks before the load (`checks:`) and the smoke pass, in the real pipeline with the built-in
// engine against a small app of the test's own that counts every request it gets: a failed check or smoke step
// is verdict `error` with the reason, and the app saw no request of the phase. ECS and ELBv2 are local stand-ins
// speaking their wire formats to the real SDK clients; PostgreSQL, Redis and the CloudWatch stand-in are the ones
// the source tests use.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Ajv } from 'ajv';
import pg from 'pg';
import { stringify as toYaml } from 'yaml';
import { resolveConfig } from '../src/config/load.js';
import { runPipeline } from '../src/pipeline.js';
import type { EnvironmentCheck, RunResult, Verdict } from '../src/model.js';
import { useFakeAwsCredentials } from './helpers/aws-env.js';
import { startAwsChecksStub, type AwsChecksStub } from './helpers/aws-checks-stub.js';
import { startCloudWatchStub, type CloudWatchStub } from './helpers/cloudwatch-stub.js';
import { memoryLog } from './helpers/memory-log.js';
import { freePort, startPostgres, type PostgresServer } from './helpers/postgres.js';
import { startRedis, type RedisServer } from './helpers/redis.js';

useFakeAwsCredentials();

// results.json with an Environment section must stay valid against the committed schema.
const validateResults = new Ajv({ allErrors: true, strict: false, validateFormats: false }).compile(
  JSON.parse(readFileSync(join(import.meta.dirname, '..', 'schema', 'results.schema.json'), 'utf8')) as object,
);

interface App {
  url: string;
  /** Requests by `METHOD path`, /version excluded. */
  hits: Map<string, number>;
  version: string;
  password: string;
  /** Called for every acknowledged bid before it is answered (a test stores it in PostgreSQL). */
  onBid?: () => Promise<void>;
  total(): number;
  close(): Promise<void>;
}

async function startApp(): Promise<App> {
  const hits = new Map<string, number>();
  const app: App = {
    url: '',
    hits,
    version: 'abc123',
    password: 'right',
    total: () => [...hits.values()].reduce((a, b) => a + b, 0),
    close: () => new Promise((r) => server.close(() => r())),
  };
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c.toString()));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      if (path === '/version') {
        res.writeHead(200, { 'content-type': 'application/json', 'x-version': app.version });
        res.end(JSON.stringify({ build: { sha: app.version } }));
        return;
      }
      hits.set(`${req.method} ${path}`, (hits.get(`${req.method} ${path}`) ?? 0) + 1);
      if (path === '/api/login') {
        const ok = (JSON.parse(body || '{}') as { password?: string }).password === app.password;
        res.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' });
        res.end(JSON.stringify(ok ? { token: 't-1' } : { error: 'bad credentials' }));
        return;
      }
      if (path === '/api/bids') {
        const ok = req.headers.authorization === 'Bearer t-1';
        void (ok && app.onBid ? app.onBid() : Promise.resolve()).then(() => {
          res.writeHead(ok ? 201 : 401, { 'content-type': 'application/json' });
          res.end(JSON.stringify(ok ? { id: 1 } : { error: 'no token' }));
        });
        return;
      }
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  app.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return app;
}

const FLOWS = [
  {
    name: 'bidder',
    steps: [
      {
        post: '/api/login',
        name: 'login',
        json: { email: 'a@example.com', password: '{{ env.PERF_CHECKS_PASSWORD }}' },
        capture: { token: '$.token' },
        expect: { status: 200 },
      },
      { think: '50ms' },
      {
        post: '/api/bids',
        name: 'bid',
        headers: { authorization: 'Bearer {{ token }}' },
        json: { amount: 5 },
        expect: { status: 201 },
      },
    ],
  },
];

let app: App;
beforeAll(async () => {
  app = await startApp();
});
afterAll(async () => {
  await app?.close();
});

interface Gate {
  run: RunResult;
  verdict: Verdict;
  checks: EnvironmentCheck[];
  markdown: string;
  results: string;
  lines: string[];
  /** Requests the app saw during the pipeline, /version excluded. */
  seen: number;
}

async function gate(file: Record<string, unknown>, env: Record<string, string> = {}): Promise<Gate> {
  const workspace = mkdtempSync(join(tmpdir(), 'perf-gate-checks-'));
  const configPath = join(workspace, '.github/perf-gate.yml');
  const text = toYaml({
    phases: { quick: { stages: [{ duration: '1s', rate: 10 }], targets: ['error_rate < 1%'] } },
    ...file,
  });
  const config = resolveConfig(
    { target: app.url, phase: 'quick', 'output-dir': 'out' },
    { workspace, fileExists: (p) => p === configPath, readFile: () => text },
  );
  const log = memoryLog('warnings');
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  const before = app.total();
  try {
    const outcome = await runPipeline(config, { log });
    return {
      run: outcome.run,
      verdict: outcome.verdict,
      checks: outcome.run.environment?.checks ?? [],
      markdown: outcome.markdown,
      results: readFileSync(outcome.resultsPath, 'utf8'),
      lines: log.lines,
      seen: app.total() - before,
    };
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** The reachability probe before the checks is one GET of the target; nothing else may reach the app. */
const PROBE_ONLY = 1;

describe('checks: before the load', () => {
  let aws: AwsChecksStub;
  beforeAll(async () => {
    aws = await startAwsChecksStub();
  });
  afterAll(async () => {
    await aws?.close();
  });

  it('ECS: two of three tasks running is an error before any load; three of three lets the load start', async () => {
    aws.services.set('staging/api', { serviceName: 'api', runningCount: 2, desiredCount: 3, pendingCount: 1 });
    const checks = {
      ecs: { cluster: 'staging', service: 'api', 'min-running': 3, region: 'eu-west-1', endpoint: aws.url },
    };
    const bad = await gate({ checks });
    expect(bad.verdict.status).toBe('error');
    expect(bad.verdict.reasons.join('\n')).toMatch(
      /check ecs staging\/api failed: 2 running, at least 3 needed; 2 running of 3 desired \(1 pending\)/,
    );
    expect(bad.run.requests).toBe(0);
    expect(bad.seen).toBe(PROBE_ONLY);
    expect(aws.calls.at(-1)).toMatchObject({
      target: 'AmazonEC2ContainerServiceV20141113.DescribeServices',
      contentType: 'application/x-amz-json-1.1',
    });
    expect(JSON.parse(aws.calls.at(-1)!.body)).toEqual({ cluster: 'staging', services: ['api'] });
    expect(bad.markdown).toMatch(/<summary><b>Environment<\/b>: 1 of 1 check failed ❌<\/summary>/);
    expect(validateResults(JSON.parse(bad.results)), JSON.stringify(validateResults.errors)).toBe(true);
    expect(bad.markdown).toMatch(/\| ECS service +\| `staging\/api` \| ❌ failed \|/);

    aws.services.set('staging/api', {
      serviceName: 'api',
      runningCount: 3,
      desiredCount: 3,
      deployments: [
        { status: 'PRIMARY', rolloutState: 'IN_PROGRESS', runningCount: 1, desiredCount: 3 },
        { status: 'ACTIVE', rolloutState: 'COMPLETED', runningCount: 2, desiredCount: 3 },
      ],
    });
    const rolling = await gate({ checks });
    expect(rolling.verdict.status).toBe('error');
    expect(rolling.checks[0]!.detail).toBe(
      'a deployment is still rolling out (PRIMARY IN_PROGRESS 1/3, ACTIVE COMPLETED 2/3)',
    );
    expect(rolling.seen).toBe(PROBE_ONLY);

    aws.services.set('staging/api', { serviceName: 'api', runningCount: 3, desiredCount: 3 });
    const good = await gate({ checks });
    expect(good.checks).toEqual([
      { kind: 'ecs', name: 'staging/api', ok: true, detail: '3 running of 3 desired, 1 deployment' },
    ]);
    expect(good.verdict.status).toBe('pass');
    expect(good.run.requests).toBe(10);
    expect(good.seen).toBe(PROBE_ONLY + 10);

    const missing = await gate({ checks: { ecs: { ...checks.ecs, service: 'apii' } } });
    expect(missing.checks[0]!.detail).toBe(
      'service not found in cluster staging (MISSING): check the cluster and service names and the region',
    );
  }, 60_000);

  it('load balancer: an unhealthy target is named, and too few healthy ones fail; query protocol, XML answers', async () => {
    const arn = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api/6d0ecf831eec9f09';
    aws.targets.set(arn, [
      { id: '10.0.1.11', port: 8080, state: 'healthy' },
      { id: '10.0.1.12', port: 8080, state: 'unhealthy', reason: 'Target.ResponseCodeMismatch' },
      { id: '10.0.1.13', port: 8080, state: 'healthy' },
    ]);
    const checks = {
      'target-health': { 'target-group': arn, 'min-healthy': 3, region: 'eu-west-1', endpoint: aws.url },
    };
    const bad = await gate({ checks });
    expect(bad.verdict.status).toBe('error');
    expect(bad.checks[0]).toMatchObject({
      kind: 'target-health',
      name: 'targetgroup/api/6d0ecf831eec9f09',
      ok: false,
      detail:
        '1 of 3 not healthy: 10.0.1.12:8080 unhealthy (Target.ResponseCodeMismatch); 2 healthy, at least 3 needed',
    });
    expect(bad.seen).toBe(PROBE_ONLY);
    const call = aws.calls.at(-1)!;
    expect(call.contentType).toMatch(/^application\/x-www-form-urlencoded/);
    expect(Object.fromEntries(new URLSearchParams(call.body))).toEqual({
      Action: 'DescribeTargetHealth',
      Version: '2015-12-01',
      TargetGroupArn: arn,
    });

    aws.targets.set(
      arn,
      [0, 1, 2].map((i) => ({ id: `10.0.1.1${i + 1}`, port: 8080, state: 'healthy' as const })),
    );
    const good = await gate({ checks });
    expect(good.checks[0]).toMatchObject({
      ok: true,
      detail: '3 of 3 targets healthy (10.0.1.11:8080, 10.0.1.12:8080, 10.0.1.13:8080)',
    });
    expect(good.verdict.status).toBe('pass');

    const wrong = await gate({
      checks: { 'target-health': { ...checks['target-health'], 'target-group': `${arn}x` } },
    });
    expect(wrong.checks[0]!.detail).toMatch(
      /^DescribeTargetHealth failed: TargetGroupNotFound(Exception)?: Target groups '.*x' not found$/,
    );
  }, 60_000);

  it('environment variables: a missing one is an error; values are never printed', async () => {
    const secret = 'sup3r-secret-value-xyz';
    const r = await gate({ checks: { env: ['PERF_CHECKS_SET', 'PERF_CHECKS_MISSING'] } }, { PERF_CHECKS_SET: secret });
    expect(r.checks).toEqual([
      { kind: 'env', name: 'PERF_CHECKS_SET', ok: true, detail: 'set' },
      { kind: 'env', name: 'PERF_CHECKS_MISSING', ok: false, detail: 'not set' },
    ]);
    expect(r.verdict.status).toBe('error');
    expect(r.seen).toBe(PROBE_ONLY);
    for (const text of [r.markdown, r.results, r.lines.join('\n')]) expect(text).not.toContain(secret);
  }, 30_000);

  it('deployed version: another SHA is an error after the bounded wait; the right one (after a roll-out) lets the load start', async () => {
    app.version = 'old999';
    const version = {
      url: '/version',
      json: '$.build.sha',
      'equals-env': 'PERF_CHECKS_SHA',
      wait: '1s',
      interval: '200ms',
    };
    const t0 = Date.now();
    const bad = await gate({ checks: { version } }, { PERF_CHECKS_SHA: 'abc123' });
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(bad.verdict.status).toBe('error');
    expect(bad.checks[0]).toEqual({ kind: 'env', name: 'PERF_CHECKS_SHA', ok: true, detail: 'set' });
    expect(bad.checks[1]!.detail).toMatch(
      /^\$\.build\.sha is "old999", expected "abc123" \(still so after 1 s, \d attempts: is the deploy rolled out\?\)$/,
    );
    expect(bad.seen).toBe(PROBE_ONLY);

    // The deploy finishes while the check is waiting.
    const flip = setTimeout(() => (app.version = 'abc123'), 500);
    const good = await gate(
      { checks: { version: { ...version, wait: '5s', json: undefined, header: 'X-Version' } } },
      { PERF_CHECKS_SHA: 'abc123' },
    );
    clearTimeout(flip);
    expect(good.checks[1]).toMatchObject({ kind: 'version', name: '/version', ok: true });
    expect(good.checks[1]!.detail).toMatch(/^header x-version is "abc123" \(after \d+ attempts\)$/);
    expect(good.verdict.status).toBe('pass');
  }, 30_000);
});

describe('checks: databases, caches and monitoring', () => {
  let pg_: PostgresServer;
  let redis: RedisServer;
  let cw: CloudWatchStub;
  beforeAll(async () => {
    [pg_, redis, cw] = await Promise.all([
      startPostgres(),
      startRedis(),
      // A misspelt cluster name returns nothing, as CloudWatch does for a metric that does not exist.
      startCloudWatchStub({
        value: (q) =>
          q.MetricStat?.Metric.Dimensions?.some((d) => d.Name === 'ClusterName' && d.Value !== 'staging')
            ? undefined
            : 42,
      }),
    ]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([pg_?.stop(), redis?.stop(), cw?.close()]);
  });

  const sources = () => [
    { kind: 'postgres', 'url-env': 'PERF_CHECKS_DB', 'slow-queries': false },
    { kind: 'redis', host: '127.0.0.1', port: redis.port },
  ];

  it('PostgreSQL and Redis answering: SELECT 1 and PING pass; both stopped: error, no load', async () => {
    const env = { PERF_CHECKS_DB: pg_.url };
    const good = await gate({ sources: sources(), checks: { reachable: true } }, env);
    expect(good.checks.map((c) => [c.kind, c.ok, c.detail.replace(/\d+ ms/, 'N ms')])).toEqual([
      ['env', true, 'set'],
      ['reachable', true, 'answered SELECT 1 in N ms'],
      ['reachable', true, 'answered PING in N ms'],
    ]);
    expect(good.verdict.status).toBe('pass');
    expect(good.run.requests).toBe(10);

    const stoppedPg = await startPostgres();
    const stoppedRedis = await startRedis();
    const urlOfStopped = stoppedPg.url;
    await Promise.all([stoppedPg.stop(), stoppedRedis.stop()]);
    const bad = await gate(
      {
        sources: [sources()[0], { kind: 'redis', host: '127.0.0.1', port: stoppedRedis.port, 'connect-timeout': '1s' }],
        checks: { reachable: true, timeout: '5s' },
      },
      { PERF_CHECKS_DB: urlOfStopped },
    );
    expect(bad.verdict.status).toBe('error');
    const failed = bad.checks.filter((c) => !c.ok);
    expect(failed.map((c) => c.name)).toEqual([
      expect.stringMatching(/^postgres /),
      expect.stringMatching(/^redis 127\.0\.0\.1:\d+$/),
    ]);
    expect(failed[0]!.detail).toMatch(/cannot connect: .*ECONNREFUSED/);
    expect(failed[1]!.detail).toMatch(/ECONNREFUSED/);
    expect(bad.run.requests).toBe(0);
    expect(bad.seen).toBe(PROBE_ONLY);
    for (const text of [bad.markdown, bad.results, bad.lines.join('\n')]) {
      expect(text).not.toContain(pg_.password);
      expect(text).not.toContain(stoppedPg.password);
    }
  }, 60_000);

  it('monitoring: a misspelt CloudWatch dimension is found before the load and named', async () => {
    const cloudwatch = (cluster: string) => ({
      kind: 'cloudwatch',
      region: 'eu-west-1',
      endpoint: cw.url,
      metrics: [{ preset: 'ecs-cpu', cluster, service: 'api' }],
    });
    const bad = await gate({ sources: [cloudwatch('stagign')], checks: { monitoring: '5m' } });
    expect(bad.verdict.status).toBe('error');
    expect(bad.checks).toHaveLength(1);
    expect(bad.checks[0]).toMatchObject({ kind: 'monitoring', name: 'cloudwatch cpu', ok: false });
    expect(bad.checks[0]!.detail).toMatch(
      /^no data in the 5 min before the run: .*check the region and the dimensions.*ClusterName=stagign/,
    );
    expect(bad.seen).toBe(PROBE_ONLY);

    const good = await gate({ sources: [cloudwatch('staging')], checks: { monitoring: true } });
    expect(good.checks[0]).toMatchObject({ kind: 'monitoring', name: 'cloudwatch cpu', ok: true });
    expect(good.checks[0]!.detail).toMatch(/^\d+ points in the 5 min before the run$/);
  }, 60_000);

  it("database baseline: queries at start and their change over the run, in the guide's before/after table", async () => {
    const db = new pg.Client({ connectionString: pg_.url });
    await db.connect();
    try {
      await db.query('CREATE TABLE IF NOT EXISTS bids (id serial primary key, created_at timestamptz default now())');
      await db.query('TRUNCATE bids');
      await db.query('INSERT INTO bids DEFAULT VALUES');
      await db.query('INSERT INTO bids DEFAULT VALUES');
      app.onBid = async () => {
        await db.query('INSERT INTO bids DEFAULT VALUES');
      };
      const source = {
        kind: 'postgres',
        'url-env': 'PERF_CHECKS_DB',
        'slow-queries': false,
        queries: [
          { name: 'users', sql: 'select 7', at: 'start' },
          { name: 'bids_added', sql: 'select count(*) from bids', at: 'change' },
        ],
      };
      const r = await gate(
        { sources: [source], flows: FLOWS, targets: ['error_rate < 1%', 'bids_added == responses{bid, 201}'] },
        { PERF_CHECKS_DB: pg_.readerUrl, PERF_CHECKS_PASSWORD: 'right' },
      );
      expect(r.verdict.status).toBe('pass');
      // Two bids before, one by the smoke pass, then the baseline right before the load, then ten during the run.
      const rows = r.run.environment!.baseline!;
      expect(rows.map((b) => b.name)).toEqual(['db_connections', 'users', 'bids_added']);
      expect(rows[1]).toEqual({ name: 'users', before: 7 });
      expect(rows[2]).toEqual({ name: 'bids_added', before: 3, after: 13, change: 10 });
      expect(r.run.infra!.find((m) => m.name === 'bids_added')!.stats.last).toBe(10);
      expect(r.markdown).toMatch(/\| `bids_added` +\| +3 \| +13 \| +\+10 \|/);
      expect(r.markdown).toMatch(
        /<summary><b>Environment<\/b>: smoke pass ok \(1 flow\), database baseline of 3 values<\/summary>/,
      );
      expect(validateResults(JSON.parse(r.results)), JSON.stringify(validateResults.errors)).toBe(true);
    } finally {
      app.onBid = undefined;
      await db.end();
    }
  }, 60_000);

  it('instance counts from CloudWatch: Container Insights RunningTaskCount and HealthyHostCount, with their dimensions', async () => {
    const lbArn = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shop/50dc6c495c0c9188';
    const tg = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api/6d0ecf831eec9f09';
    const source = {
      kind: 'cloudwatch',
      region: 'eu-west-1',
      endpoint: cw.url,
      metrics: [
        { preset: 'ecs-running-tasks', cluster: 'staging', service: 'api' },
        { preset: 'alb-healthy-hosts', 'load-balancer': lbArn, 'target-group': tg },
      ],
    };
    const from = cw.requests.length;
    const r = await gate({
      sources: [source],
      targets: ['error_rate < 1%', 'min(tasks) >= 3', 'min(healthy_hosts) >= 3'],
    });
    expect(r.verdict.status).toBe('pass');
    const queries = cw.requests.slice(from).flatMap((q) => q.body.MetricDataQueries.map((x) => x.MetricStat));
    expect(queries).toContainEqual(
      expect.objectContaining({
        Metric: {
          Namespace: 'ECS/ContainerInsights',
          MetricName: 'RunningTaskCount',
          Dimensions: [
            { Name: 'ClusterName', Value: 'staging' },
            { Name: 'ServiceName', Value: 'api' },
          ],
        },
        Stat: 'Minimum',
      }),
    );
    expect(queries).toContainEqual(
      expect.objectContaining({
        Metric: {
          Namespace: 'AWS/ApplicationELB',
          MetricName: 'HealthyHostCount',
          Dimensions: [
            { Name: 'LoadBalancer', Value: 'app/shop/50dc6c495c0c9188' },
            { Name: 'TargetGroup', Value: 'targetgroup/api/6d0ecf831eec9f09' },
          ],
        },
        Stat: 'Minimum',
      }),
    );
    expect(r.run.infra!.filter((m) => m.role === 'instances').map((m) => [m.name, m.stats.min])).toEqual([
      ['tasks', 42],
      ['healthy_hosts', 42],
    ]);
    expect(r.markdown).toMatch(/<summary><b>Environment<\/b>: tasks 42, healthy_hosts 42<\/summary>/);
    expect(validateResults(JSON.parse(r.results)), JSON.stringify(validateResults.errors)).toBe(true);
  }, 60_000);

  it('statement slowdown: a statement that slows down over the steady part fails max(statement_slowdown) < 1.5; a steady one passes', async () => {
    expect(pg_.hasStatStatements).toBe(true);
    const db = new pg.Client({ connectionString: pg_.url });
    await db.connect();
    const source = { kind: 'postgres', 'url-env': 'PERF_CHECKS_DB', 'statement-slowdown': true, interval: '500ms' };
    const file = (delay: () => number) => {
      app.onBid = async () => {
        await db.query('select pg_sleep($1)', [delay() / 1000]);
      };
      return {
        sources: [source],
        flows: FLOWS,
        phases: { quick: { stages: [{ duration: '6s', rate: 15 }] } },
        targets: ['error_rate < 1%', 'max(statement_slowdown) < 1.5'],
      };
    };
    try {
      const t0 = Date.now();
      // 2 ms at first, 30 ms by the end of the run: the last third is several times slower than the first.
      const slowing = await gate(
        file(() => 2 + Math.max(0, Date.now() - t0 - 1000) / 200),
        { PERF_CHECKS_DB: pg_.url, PERF_CHECKS_PASSWORD: 'right' },
      );
      const m = slowing.run.infra!.find((x) => x.name === 'statement_slowdown')!;
      console.log(`slowing: statement_slowdown ${m.stats.last} (${m.query})`);
      expect(m.unavailable).toBeUndefined();
      expect(m.stats.last!).toBeGreaterThan(2);
      expect(m.query).toMatch(/pg_sleep\(\$1\)/);
      expect(slowing.verdict.targets.find((t) => t.target.source === 'max(statement_slowdown) < 1.5')).toMatchObject({
        status: 'fail',
      });

      const steady = await gate(
        file(() => 5),
        { PERF_CHECKS_DB: pg_.url, PERF_CHECKS_PASSWORD: 'right' },
      );
      const n = steady.run.infra!.find((x) => x.name === 'statement_slowdown')!;
      console.log(`steady: statement_slowdown ${n.stats.last} (${n.query})`);
      expect(n.stats.last!).toBeLessThan(1.5);
      expect(steady.verdict.status).toBe('pass');
    } finally {
      app.onBid = undefined;
      await db.end();
    }
  }, 90_000);

  it('a check that names no source of its kind is a config error', async () => {
    await expect(gate({ checks: { reachable: true } })).rejects.toThrow(
      /checks\.reachable: got true, but sources: has no postgres or redis source/,
    );
    await expect(gate({ checks: { ecs: { cluster: 'c' } } })).rejects.toThrow(/checks\.ecs\.service/);
    // A scalability target without the source that measures it is found before any load, with the fix.
    await expect(gate({ targets: ['min(healthy_hosts) >= 3'] })).rejects.toThrow(
      /needs a metric named "healthy_hosts" from sources:.*add kind: cloudwatch with preset alb-healthy-hosts/,
    );
    await expect(gate({ targets: ['balance > 0.7'] })).rejects.toThrow(
      /add kind: prometheus with a query by \(instance\) and shares-by: instance/,
    );
    await expect(gate({ targets: ['max(statement_slowdown) < 1.5'] })).rejects.toThrow(
      /add kind: postgres with statement-slowdown: true/,
    );
  });
});

describe('the smoke pass', () => {
  it('runs each flow once before the load; its requests are not counted in the results', async () => {
    app.password = 'right';
    const r = await gate({ flows: FLOWS }, { PERF_CHECKS_PASSWORD: 'right' });
    expect(r.run.environment?.smoke).toEqual({ flows: [{ name: 'bidder', ok: true, requests: 2 }] });
    expect(r.verdict.status).toBe('pass');
    // 10 arrivals of two requests each, plus the probe and the smoke pass's two: the results count the 20 alone.
    expect(r.run.requests).toBe(20);
    expect(r.seen).toBe(PROBE_ONLY + 2 + 20);
    expect(r.markdown).toMatch(/<summary><b>Environment<\/b>: smoke pass ok \(1 flow\)<\/summary>/);
  }, 30_000);

  it('a login answered 401: error naming the step and the check, and no load is sent', async () => {
    app.password = 'other';
    const r = await gate({ flows: FLOWS }, { PERF_CHECKS_PASSWORD: 'right' });
    app.password = 'right';
    expect(r.verdict.status).toBe('error');
    expect(r.run.environment?.smoke?.flows).toEqual([
      { name: 'bidder', ok: false, requests: 1, step: 'login', failure: 'expect status 401 ≠ 200 on login' },
    ]);
    expect(r.verdict.reasons).toContain(
      'smoke pass: flow "bidder" failed at step login: expect status 401 ≠ 200 on login (each flow is run once before the load; no load was sent)',
    );
    expect(r.run.requests).toBe(0);
    expect(r.seen).toBe(PROBE_ONLY + 1);
    expect(r.markdown).toMatch(/smoke pass failed on bidder ❌/);
    for (const text of [r.markdown, r.results, r.lines.join('\n')]) expect(text).not.toContain('"right"');
  }, 30_000);

  it('smoke: false skips it: the same broken login then runs the load and fails on its targets', async () => {
    app.password = 'other';
    const r = await gate({ flows: FLOWS, smoke: false }, { PERF_CHECKS_PASSWORD: 'right' });
    app.password = 'right';
    expect(r.run.environment).toBeUndefined();
    expect(r.run.requests).toBe(10);
    expect(r.verdict.status).toBe('fail');
  }, 30_000);
});

void freePort;
