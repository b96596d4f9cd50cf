// The "Why" block on a test bed of its own: a small auction service (helpers/why-app.ts, a process of its own) on
// real PostgreSQL and Redis, scraped by a real Prometheus, with a switchable root cause. The same load runs
// against each cause through the real pipeline (built-in engine, PostgreSQL, Redis and Prometheus sources):
// the healthy service passes it and its diagnosis names no cause; each fault fails it, and the report names
// that fault with its figures, which are in results.json under `why`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/load.js';
import type { Logger } from '../src/log.js';
import type { Diagnosis } from '../src/model.js';
import { runPipeline } from '../src/pipeline.js';
import { renderTerminal } from '../src/report/terminal.js';
import { resultsFileSchema } from '../src/results-schema.js';
import { startPostgres, type PostgresServer } from './helpers/postgres.js';
import { startPrometheusStack, type PrometheusStack } from './helpers/prometheus.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import type { Mode } from './helpers/why-app.js';

let db: PostgresServer;
let cache: RedisServer;
let prom: PrometheusStack;
let app: ChildProcess;
let appUrl: string;
let metricsPort: number;

beforeAll(async () => {
  [db, cache] = await Promise.all([startPostgres(), startRedis()]);
  const c = new pg.Client({ connectionString: db.url });
  await c.connect();
  // A hot row (item 1) among 1,000, and 300,000 events with an index on the tag the healthy search uses.
  await c.query('CREATE TABLE items (id int PRIMARY KEY, price int NOT NULL)');
  await c.query('INSERT INTO items SELECT g, 100 FROM generate_series(1, 1000) g');
  await c.query('CREATE TABLE events (id serial PRIMARY KEY, tag text NOT NULL, payload text)');
  await c.query(
    `INSERT INTO events (tag, payload) SELECT 't' || (g % 3000), repeat('x', 40) FROM generate_series(1, 300000) g`,
  );
  await c.query('CREATE INDEX events_tag ON events (tag)');
  await c.query('VACUUM ANALYZE');
  await c.end();
  app = spawn(process.execPath, ['--no-warnings', join(import.meta.dirname, 'helpers', 'why-app.ts')], {
    env: { ...process.env, DATABASE_URL: db.url, REDIS_PORT: String(cache.port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const first = await new Promise<string>((resolve, reject) => {
    const rl = createInterface({ input: app.stdout! });
    rl.once('line', resolve);
    app.once('exit', (code) => reject(new Error(`the test bed's app exited (${code})`)));
  });
  const ports = JSON.parse(first) as { port: number; metricsPort: number };
  appUrl = `http://127.0.0.1:${ports.port}`;
  metricsPort = ports.metricsPort;
  prom = await startPrometheusStack({ extraTargets: [{ job: 'app', target: `127.0.0.1:${metricsPort}` }] });
}, 120_000);

afterAll(async () => {
  app?.kill('SIGTERM');
  await Promise.all([prom?.stop(), db?.stop(), cache?.stop()]);
});

async function setMode(mode: Mode): Promise<void> {
  const res = await fetch(`${appUrl}/__mode`, {
    method: 'POST',
    body: JSON.stringify({ mode }),
    headers: { connection: 'close' },
  });
  expect(res.status).toBe(200);
}

async function rssNow(): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
  return Number(/^app_rss_bytes (\d+)/m.exec(text)![1]);
}

/** One run of the same load (20 arrivals/s for 5 s, four requests each) with the service in `mode`. */
async function gate(mode: Mode) {
  await setMode(mode);
  // Memory may grow by 100 MiB over the run: the leak keeps 40 MiB/s, the healthy service a few.
  const memoryLimit = (await rssNow()) + 100 * 1024 * 1024;
  const file = JSON.stringify({
    interval: '500ms',
    flows: [
      {
        name: 'auction',
        steps: [
          { post: '/login', json: { user: 'ann', password: 'pw' }, name: 'login' },
          { post: '/bid', json: { amount: 5 }, name: 'bid' },
          { get: '/search', name: 'search' },
          { get: '/price', name: 'price' },
        ],
      },
    ],
    phases: {
      why: {
        stages: [{ duration: '5s', rate: 20 }],
        targets: ['p99 < 400ms', 'error_rate < 1%', `app_memory < ${memoryLimit}`],
      },
    },
    sources: [
      { kind: 'postgres', 'url-env': 'WHY_DATABASE_URL', interval: '200ms' },
      { kind: 'redis', url: `redis://127.0.0.1:${cache.port}`, interval: '500ms' },
      {
        kind: 'prometheus',
        url: prom.url,
        step: '1s',
        metrics: [
          { name: 'app_cpu', query: 'max(app_cpu_percent{job="app"})', unit: '%', limit: 100 },
          { name: 'app_memory', query: 'max(app_rss_bytes{job="app"})', unit: 'bytes' },
          { name: 'event_loop_lag', query: 'max(app_event_loop_lag_ms{job="app"})', unit: 'ms', limit: 250 },
          {
            name: 'event_loop_busy',
            query: 'max(app_event_loop_utilization_percent{job="app"})',
            unit: '%',
            limit: 100,
          },
          {
            name: 'pool_in_use',
            query: 'max(app_pool_in_use{job="app"} / app_pool_size{job="app"}) * 100',
            unit: '%',
            limit: 100,
          },
        ],
      },
    ],
  });
  const workspace = mkdtempSync(join(tmpdir(), 'perf-gate-why-'));
  const configPath = join(workspace, '.github/perf-gate.yml');
  const config = resolveConfig(
    { target: appUrl, phase: 'why', 'output-dir': 'out' },
    { workspace, fileExists: (p) => p === configPath, readFile: () => file },
  );
  const lines: string[] = [];
  const log: Logger = {
    info: (m) => lines.push(m),
    warning: (m) => lines.push(`warning: ${m}`),
    debug: () => undefined,
  };
  process.env.WHY_DATABASE_URL = db.url;
  try {
    const outcome = await runPipeline(config, { log });
    const results = JSON.parse(readFileSync(outcome.resultsPath, 'utf8')) as { why?: Diagnosis };
    // results.json, its `why` and the database's work included, is what its published schema says.
    const valid = resultsFileSchema.safeParse(results);
    expect(valid.error?.issues ?? []).toEqual([]);
    const out = { ...outcome, why: results.why!, terminal: renderTerminal(outcome.report), lines };
    if (process.env.WHY_DUMP)
      (await import('node:fs')).copyFileSync(outcome.resultsPath, `${process.env.WHY_DUMP}/why-${mode}.results.json`);
    if (process.env.WHY_DUMP)
      (await import('node:fs')).writeFileSync(
        `${process.env.WHY_DUMP}/why-${mode}.txt`,
        `${out.terminal}\n${JSON.stringify(out.why, null, 1)}\n${out.markdown}\n${JSON.stringify(out.run.database, null, 1)}\n${out.run.notes.join('\n')}`,
      );
    return out;
  } finally {
    delete process.env.WHY_DATABASE_URL;
  }
}

/** The Why block of the report: from its heading to the next block. */
function whyBlock(markdown: string): string {
  const start = markdown.indexOf('### Why');
  expect(start, 'the report has a Why block').toBeGreaterThan(-1);
  return markdown.slice(start, markdown.indexOf('</details>', start) + 10);
}

describe('the Why block on a test bed with switchable root causes', () => {
  it('names no cause for the healthy service, which passes the same load', async () => {
    const r = await gate('healthy');
    expect(r.verdict.status, r.terminal).toBe('pass');
    expect(r.why.cause).toBeUndefined();
    expect(r.why.saturation).toEqual([]);
    expect(r.why.throughputLimit).toBeUndefined();
    expect(r.why.memory.filter((m) => m.leak)).toEqual([]);
    expect(r.markdown).not.toContain('### Why');
  }, 60_000);

  it('hot row locked by every bid: lock waits on the table, with the waiting statement', async () => {
    const r = await gate('lock');
    expect(r.verdict.status, r.terminal).toBe('fail');
    expect(r.why.cause).toEqual({ kind: 'lock-waits', subject: 'items' });
    const w = r.why.database!.lockWaits[0]!;
    expect(w.statement).toMatch(/^UPDATE items SET price = price \+ \$\d WHERE id = \$\d$/);
    expect(w.maxWaiting).toBeGreaterThanOrEqual(2);
    expect(whyBlock(r.markdown)).toMatch(/\*\*Cause: lock waits on `items`\*\*/);
    expect(r.terminal).toMatch(/Why: Cause: lock waits on items/);
  }, 60_000);

  it('a query no index serves on 300,000 rows: sequential scans of the table, one statement dominating', async () => {
    const r = await gate('seqscan');
    expect(r.verdict.status, r.terminal).toBe('fail');
    expect(r.why.cause?.kind).toBe('sequential-scans');
    const top = r.why.database!.top[0]!;
    expect(top.query).toMatch(/lower\(tag\) = \$1 AND payload/);
    expect(top.sharePercent).toBeGreaterThan(50);
    // 300,000 rows of about 60 bytes: some 2,500 blocks read per call, where the index lookup reads a handful.
    expect(top.blocksPerCall).toBeGreaterThan(2000);
    // PostgreSQL publishes table counters up to seconds late: the table is named when they show its scans in time.
    const t = r.why.database!.seqScanTables[0];
    if (t) expect(r.why.cause?.subject).toBe('public.events');
    else expect(r.why.cause?.subject).toMatch(/FROM events WHERE lower\(tag\)/);
    expect(whyBlock(r.markdown)).toMatch(
      /\*\*Cause: (sequential scans of `public.events`|a statement reading a whole table each call)\*\*/,
    );
  }, 60_000);

  it('a connection pool of 2: the pool at its limit before the latency rose, the database idle', async () => {
    const r = await gate('pool');
    expect(r.verdict.status, r.terminal).toBe('fail');
    expect(r.why.cause).toEqual({ kind: 'saturation', subject: 'pool_in_use' });
    const active = r.run.infra!.find((m) => m.name === 'connections_active')!;
    expect(active.stats.max).toBeLessThanOrEqual(3);
    expect(whyBlock(r.markdown)).toMatch(/\*\*Cause: `pool_in_use` at its limit\*\*/);
  }, 60_000);

  it('CPU-bound logins: the service CPU at its limit first, the event loop lagging', async () => {
    const r = await gate('cpu');
    expect(r.verdict.status, r.terminal).toBe('fail');
    // On two shared cores the service may get less than a core: its event loop lags all the same.
    expect(r.why.cause?.kind).toBe('saturation');
    expect(['app_cpu', 'event_loop_busy']).toContain(r.why.cause?.subject);
    const first = r.why.saturation.find((s) => s.name === r.why.cause!.subject)!;
    expect(['before', 'with']).toContain(first.order);
    expect(r.why.saturation.map((s) => s.name)).toContain('event_loop_lag');
    expect(whyBlock(r.markdown)).toMatch(/\*\*Cause: `(app_cpu|event_loop_busy)` at its limit\*\*/);
  }, 60_000);

  it('a memory leak: memory rising steadily through the run, past its target', async () => {
    const r = await gate('leak');
    expect(r.verdict.status, r.terminal).toBe('fail');
    expect(r.why.cause).toEqual({ kind: 'memory-leak', subject: 'app_memory' });
    const m = r.why.memory.find((x) => x.name === 'app_memory')!;
    expect(m.leak).toBe(true);
    expect(m.slopePerMin).toBeGreaterThan(500 * 1024 * 1024);
    expect(whyBlock(r.markdown)).toMatch(/Cause: memory rising steadily/);
  }, 60_000);

  it('a slow downstream call on one endpoint: that endpoint alone, nothing saturated, the database idle', async () => {
    const r = await gate('slow');
    expect(r.verdict.status, r.terminal).toBe('fail');
    expect(r.why.cause).toEqual({ kind: 'slow-endpoint', subject: 'price' });
    const slow = r.why.when!.slow!;
    expect(slow.endpoints[0]!.slow / slow.requests).toBeGreaterThan(0.95);
    expect(r.why.saturation).toEqual([]);
    expect(whyBlock(r.markdown)).toMatch(/\*\*Cause: `price` alone is slow\*\*/);
    // The slowest requests carry the trace ids their traceparent headers had, in results.json and the report.
    const slowest = r.why.slowest![0]!;
    expect(slowest).toMatchObject({ endpoint: 'price', status: 200 });
    expect(slowest.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(slowest.latencyMs).toBeGreaterThan(600);
    expect(whyBlock(r.markdown)).toContain(`**Slowest request:** \`price\``);
    expect(whyBlock(r.markdown)).toContain(`trace \`${slowest.traceId}\``);
  }, 60_000);
});
