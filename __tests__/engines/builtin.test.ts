// The built-in engine against the real demo target on 127.0.0.1. Every run is a few seconds at most.
import { createServer as createHttpServer } from 'node:http';
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../src/config/types.js';
import { builtinEngine } from '../../src/engines/builtin/index.js';
import { Histogram } from '../../src/metrics/histogram.js';
import type { RunResult, Stage } from '../../src/model.js';
import { startDemoServer } from '../../demo/server.ts';
import { engineConfig } from '../helpers/engine-config.js';
import { memoryLog } from '../helpers/memory-log.js';
import type { Flow } from '../../src/flows/steps.js';

type Demo = Awaited<ReturnType<typeof startDemoServer>>;

interface Hit {
  method: string;
  path: string;
  atMs: number;
}

let demo: Demo;
let hits: Hit[] = [];

beforeAll(async () => {
  demo = await startDemoServer({ onRequest: (h) => hits.push(h) });
});

afterAll(async () => {
  await demo?.close();
});

const GET = (path: string, name?: string): Flow['steps'][number] => ({
  kind: 'request',
  method: 'GET',
  path,
  ...(name ? { name } : {}),
});

function constant(rate: number, durationMs: number): Stage[] {
  return [{ durationMs, startRate: rate, endRate: rate }];
}

function makeConfig(opts: {
  target?: string;
  stages: Stage[];
  flows?: Flow[];
  timeoutMs?: number;
  maxInFlight?: number;
  count4xxAsErrors?: boolean;
  intervalMs?: number;
}): Config {
  return engineConfig(opts.target ?? demo.url, opts.stages, {
    flows: opts.flows ?? [{ name: 'default', weight: 1, steps: [GET('')] }],
    http: {
      timeoutMs: opts.timeoutMs ?? 5000,
      maxInFlight: opts.maxInFlight ?? 200,
      count4xxAsErrors: opts.count4xxAsErrors ?? false,
      headers: {},
    },
    intervalMs: opts.intervalMs ?? 1000,
  });
}

async function run(
  opts: Parameters<typeof makeConfig>[0],
  signal?: AbortSignal,
): Promise<{ r: RunResult; log: string[] }> {
  const config = makeConfig(opts);
  const log = memoryLog('warnings');
  const r = await builtinEngine.run({ config, stages: opts.stages, log, ...(signal ? { signal } : {}) });
  return { r, log: log.lines };
}

function within(actual: number, expected: number, share: number): void {
  expect(actual).toBeGreaterThanOrEqual(expected * (1 - share));
  expect(actual).toBeLessThanOrEqual(expected * (1 + share));
}

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
  const addr = srv.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describe('builtin engine: rates', () => {
  let steady: RunResult;
  let steadyLog: string[];

  beforeAll(async () => {
    ({ r: steady, log: steadyLog } = await run({ stages: constant(200, 5000) }));
  });

  it('delivers a constant 200/s for 5 s', () => {
    const r = steady;
    expect(r.generator.valid).toBe(true);
    expect(r.generator.invalidReasons).toEqual([]);
    expect(r.generator.arrivalsScheduled).toBe(1000);
    within(r.generator.arrivalsStarted!, 1000, 0.05);
    expect(r.generator.arrivalsDropped).toBe(0);
    within(r.requests, 1000, 0.05);
    within(r.throughputRps!, 200, 0.05);
    within(r.durationMs, 5000, 0.05);
    expect(r.errors).toBe(0);
    expect(r.errorRate).toBe(0);
    expect(r.statusCodes).toEqual({ '200': r.requests });
    expect(r.vus?.created).toBe(r.generator.arrivalsStarted);
    expect(r.vus?.max).toBeGreaterThanOrEqual(1);
    expect(r.generator.maxLagMs).toBeLessThan(500);
  });

  it('produces a complete RunResult', () => {
    const r = steady;
    expect(r.schemaVersion).toBe(1);
    expect(r.engine).toBe('builtin');
    expect(r.tool).toEqual({ name: 'perf-gate builtin' });
    expect(r.phase).toBe('warmup');
    expect(r.target).toBe(demo.url);
    expect(Date.parse(r.endedAt) - Date.parse(r.startedAt)).toBeGreaterThanOrEqual(4900);
    expect(r.latency.count).toBe(r.requests);
    expect(r.latency.p50).toBeGreaterThan(0);
    expect(r.latency.p99).toBeGreaterThanOrEqual(r.latency.p50!);
    expect(r.histogram?.count).toBe(r.requests);
    expect(r.customMetrics).toEqual({});
    expect(r.toolThresholds).toEqual([]);
    expect(r.notes).toEqual([]);
    expect(r.shape?.stages).toEqual(constant(200, 5000));
    expect(r.intervalMs).toBe(1000);
  });

  it('splits the run into intervals that add up', () => {
    const r = steady;
    expect(r.intervals.length).toBe(5);
    expect(r.intervals.reduce((s, i) => s + i.requests, 0)).toBe(r.requests);
    expect(r.intervals.reduce((s, i) => s + (i.arrivalsStarted ?? 0), 0)).toBe(r.generator.arrivalsStarted);
    expect(r.intervals.reduce((s, i) => s + i.errors, 0)).toBe(r.errors);
    r.intervals.forEach((iv, n) => {
      expect(iv.startMs).toBe(n * 1000);
      expect(iv.targetRate).toBeCloseTo(200, 6);
      within(iv.arrivalsStarted!, 200, 0.05);
      expect(iv.histogram?.count).toBe(iv.latency.count);
      expect(iv.concurrency).toBeGreaterThanOrEqual(0);
    });
    // The merged interval histograms are the overall one.
    const merged = new Histogram();
    for (const iv of r.intervals) merged.merge(iv.histogram!);
    expect(merged.count).toBe(r.histogram!.count);
    expect(merged.percentileMs(99)).toBe(Histogram.fromJSON(r.histogram!).percentileMs(99));
  });

  it('reports endpoints whose histograms match their counts', () => {
    const r = steady;
    expect(r.endpoints).toHaveLength(1);
    const ep = r.endpoints[0]!;
    expect(ep.name).toBe('GET /');
    expect(ep.requests).toBe(r.requests);
    expect(ep.histogram?.count).toBe(ep.requests);
    expect(ep.latency.count).toBe(ep.requests);
    expect(ep.statusCodes).toEqual({ '200': ep.requests });
  });

  it('logs progress at every interval', () => {
    const progress = steadyLog.filter((l) => /builtin: \d+\.\ds\/5\.0s/.test(l));
    expect(progress.length).toBe(5);
    expect(progress[0]).toMatch(/target 200\/s/);
    expect(progress[0]).toMatch(/p99 [\d.]+ ms/);
    expect(progress[0]).toMatch(/errors 0/);
  });

  it('delivers the integral of a linear ramp', async () => {
    const { r } = await run({ stages: [{ durationMs: 4000, startRate: 0, endRate: 200 }] });
    // ∫ 0→200/s over 4 s = 400 arrivals, 25/75/125/175 in the four seconds.
    expect(r.generator.arrivalsScheduled).toBe(400);
    within(r.generator.arrivalsStarted!, 400, 0.05);
    within(r.requests, 400, 0.05);
    expect(r.generator.valid).toBe(true);
    const perSecond = r.intervals.slice(0, 4).map((i) => i.arrivalsStarted!);
    [25, 75, 125, 175].forEach((expected, n) => {
      expect(Math.abs(perSecond[n]! - expected)).toBeLessThanOrEqual(Math.max(3, expected * 0.05));
      expect(r.intervals[n]!.targetRate).toBeCloseTo(expected, 6);
    });
    expect(r.intervals.reduce((s, i) => s + i.requests, 0)).toBe(r.requests);
  });

  it('chains stages, including a ramp down', async () => {
    const stages: Stage[] = [
      { durationMs: 1000, startRate: 100, endRate: 100 },
      { durationMs: 1000, startRate: 100, endRate: 0 },
    ];
    const { r } = await run({ stages });
    expect(r.generator.arrivalsScheduled).toBe(150);
    expect(r.generator.arrivalsStarted).toBe(150);
    expect(r.requests).toBe(150);
  });
});

describe('builtin engine: flows', () => {
  it('runs a flow’s steps in order and honours think times', async () => {
    hits = [];
    const flows: Flow[] = [
      {
        name: 'login then status',
        weight: 1,
        steps: [
          { kind: 'request', method: 'POST', path: '/api/auth/login', json: { user: 'demo', password: 'demo' } },
          { kind: 'think', ms: 300 },
          GET('/api/status'),
        ],
      },
    ];
    // 2 arrivals/s: 500 ms apart, so each status request can be paired with the login just before it.
    const { r } = await run({ stages: constant(2, 2000), flows });
    expect(r.generator.arrivalsStarted).toBe(4);
    const byName = Object.fromEntries(r.endpoints.map((e) => [e.name, e]));
    expect(byName['POST /api/auth/login']?.requests).toBe(4);
    expect(byName['GET /api/status']?.requests).toBe(4);
    expect(r.requests).toBe(8);
    expect(r.errors).toBe(0);

    const logins = hits.filter((h) => h.path === '/api/auth/login').map((h) => h.atMs);
    const statuses = hits.filter((h) => h.path === '/api/status').map((h) => h.atMs);
    expect(logins).toHaveLength(4);
    expect(statuses).toHaveLength(4);
    for (const s of statuses) {
      const before = logins.filter((l) => l <= s);
      expect(before.length).toBeGreaterThan(0);
      expect(s - Math.max(...before)).toBeGreaterThanOrEqual(300);
    }
    // The last flow started at 1.75 s and needed 300 ms more: the run waited for it.
    expect(r.durationMs).toBeGreaterThanOrEqual(1500 + 300 - 50);
    // A flow counts as in flight during its think time.
    expect(r.vus?.max).toBeGreaterThanOrEqual(1);
  });

  it('sends JSON bodies with a JSON content type, and merges headers', async () => {
    const flows: Flow[] = [
      {
        name: 'bid',
        weight: 1,
        steps: [{ kind: 'request', method: 'POST', path: '/api/bids', json: { amount: 10 }, name: 'place bid' }],
      },
      { name: 'bad bid', weight: 0, steps: [{ kind: 'request', method: 'POST', path: '/api/bids', body: 'not json' }] },
    ];
    const { r } = await run({ stages: constant(20, 500), flows });
    expect(r.endpoints.map((e) => e.name)).toEqual(['place bid', 'POST /api/bids']);
    expect(r.endpoints[0]!.statusCodes).toEqual({ '201': 10 });
    expect(r.endpoints[1]!.requests).toBe(0);
  });

  it('picks flows by weight', async () => {
    const flows: Flow[] = [
      { name: 'health', weight: 3, steps: [GET('/api/health')] },
      { name: 'status', weight: 1, steps: [GET('/api/status')] },
    ];
    const { r } = await run({ stages: constant(200, 2000), flows });
    const health = r.endpoints.find((e) => e.name === 'GET /api/health')!.requests;
    const status = r.endpoints.find((e) => e.name === 'GET /api/status')!.requests;
    expect(health + status).toBe(r.requests);
    // 400 draws at p = 0.75: the standard deviation of the share is about 0.022.
    const share = health / (health + status);
    expect(share).toBeGreaterThan(0.68);
    expect(share).toBeLessThan(0.82);
  });

  it('joins step paths to a target with a base path', async () => {
    hits = [];
    const { r } = await run({
      target: `${demo.url}/api`,
      stages: constant(10, 500),
      flows: [{ name: 'h', weight: 1, steps: [GET('/health')] }],
    });
    expect(r.requests).toBe(5);
    expect(r.statusCodes).toEqual({ '200': 5 });
    expect(hits.every((h) => h.path === '/api/health')).toBe(true);
  });

  it('requests the target URL itself, query included, for an empty path', async () => {
    hits = [];
    const { r } = await run({ target: `${demo.url}/slow?ms=20`, stages: constant(10, 500) });
    expect(r.requests).toBe(5);
    expect(r.endpoints[0]!.name).toBe('GET /slow?ms=20');
    expect(r.latency.min).toBeGreaterThanOrEqual(20);
    expect(hits.every((h) => h.path === '/slow')).toBe(true);
  });
});

describe('builtin engine: errors', () => {
  it('counts timeouts as errors and records no latency for them', async () => {
    const t = performance.now();
    const { r } = await run({ target: `${demo.url}/slow?ms=1000`, stages: constant(10, 1000), timeoutMs: 200 });
    expect(r.requests).toBe(10);
    expect(r.errors).toBe(10);
    expect(r.errorsByKind).toEqual({ timeout: 10 });
    expect(r.errorRate).toBe(100);
    expect(r.latency.count).toBe(0);
    expect(r.statusCodes).toEqual({});
    // Bounded: the shape (1 s) plus one timeout, not the server's 1 s answers.
    expect(performance.now() - t).toBeLessThan(1900);
  });

  it('counts refused connections as errors and ends the flow', async () => {
    const port = await closedPort();
    const flows: Flow[] = [{ name: 'two steps', weight: 1, steps: [GET('/', 'first'), GET('/api/health', 'second')] }];
    const { r } = await run({ target: `http://127.0.0.1:${port}`, stages: constant(20, 1000), flows });
    expect(r.requests).toBe(20);
    expect(r.errors).toBe(20);
    expect(r.errorsByKind).toEqual({ connection_refused: 20 });
    expect(r.latency.count).toBe(0);
    const second = r.endpoints.find((e) => e.name === 'second')!;
    expect(second.requests).toBe(0);
  });

  it('counts connections the server resets or closes mid-request as connection_reset', async () => {
    for (const rst of [true, false]) {
      const srv = createServer((socket) => {
        socket.once('data', () => (rst ? socket.resetAndDestroy() : socket.destroy()));
      });
      await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      try {
        const { r } = await run({ target: `http://127.0.0.1:${port}`, stages: constant(20, 500) });
        expect(r.requests).toBe(10);
        expect(r.errorsByKind).toEqual({ connection_reset: 10 });
        expect(r.latency.count).toBe(0);
      } finally {
        await new Promise<void>((resolve) => srv.close(() => resolve()));
      }
    }
  });

  it('counts 5xx as errors without ending the flow', async () => {
    const flows: Flow[] = [{ name: 'f', weight: 1, steps: [GET('/status/503'), GET('/api/health')] }];
    const { r } = await run({ stages: constant(20, 1000), flows });
    expect(r.requests).toBe(40);
    expect(r.errors).toBe(20);
    expect(r.errorsByKind).toEqual({ http_5xx: 20 });
    expect(r.statusCodes).toEqual({ '503': 20, '200': 20 });
    expect(r.errorRate).toBe(50);
    // 5xx have a response, so they have a latency.
    expect(r.latency.count).toBe(40);
    const bad = r.endpoints.find((e) => e.name === 'GET /status/503')!;
    expect(bad.errors).toBe(20);
    expect(r.intervals.reduce((s, i) => s + i.errors, 0)).toBe(20);
  });

  it('records 4xx but does not count them as errors by default', async () => {
    const { r } = await run({ target: `${demo.url}/status/404`, stages: constant(20, 500) });
    expect(r.requests).toBe(10);
    expect(r.errors).toBe(0);
    expect(r.errorsByKind).toEqual({ http_4xx: 10 });
    expect(r.statusCodes).toEqual({ '404': 10 });
  });

  it('counts 4xx as errors when count4xxAsErrors is set', async () => {
    const { r } = await run({ target: `${demo.url}/status/404`, stages: constant(20, 500), count4xxAsErrors: true });
    expect(r.requests).toBe(10);
    expect(r.errors).toBe(10);
    expect(r.errorsByKind).toEqual({ http_4xx: 10 });
    expect(r.endpoints[0]!.errors).toBe(10);
  });

  it('counts a share of 5xx from a flaky endpoint', async () => {
    const { r } = await run({ target: `${demo.url}/flaky?rate=0.5`, stages: constant(100, 1000) });
    expect(r.requests).toBe(100);
    expect(r.errors).toBe(r.errorsByKind.http_5xx);
    expect(r.errors).toBeGreaterThan(25);
    expect(r.errors).toBeLessThan(75);
  });
});

describe('builtin engine: generator health', () => {
  it('drops arrivals above maxInFlight and marks the run invalid', async () => {
    const { r, log } = await run({ target: `${demo.url}/slow?ms=500`, stages: constant(40, 1500), maxInFlight: 3 });
    const g = r.generator;
    expect(g.arrivalsScheduled).toBe(60);
    expect(g.arrivalsDropped).toBeGreaterThan(40);
    expect(g.arrivalsStarted! + g.arrivalsDropped!).toBe(g.arrivalsScheduled);
    expect(g.valid).toBe(false);
    expect(g.invalidReasons.join(' ')).toMatch(/dropped/);
    expect(g.invalidReasons.join(' ')).toMatch(/maxInFlight/);
    expect(r.requests).toBe(g.arrivalsStarted);
    expect(log.some((l) => l.startsWith('warning: builtin: run invalid'))).toBe(true);
  });

  it('at a rate far above what the target answers, keeps maxInFlight requests busy and never more (a closed loop)', async () => {
    // What the bench relies on: --rate 100000 with max-in-flight N behaves like N connections in a closed loop.
    // A freed slot takes the next due arrival at once; every other arrival is dropped and counted.
    let now = 0;
    let peak = 0;
    const sockets = new Set<unknown>();
    const srv = createHttpServer((req, res) => {
      sockets.add(req.socket);
      peak = Math.max(peak, ++now);
      setTimeout(() => {
        now--;
        res.end('ok');
      }, 2);
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    try {
      const addr = srv.address() as { port: number };
      const { r } = await run({
        target: `http://127.0.0.1:${addr.port}`,
        stages: constant(100_000, 1000),
        maxInFlight: 8,
      });
      const g = r.generator;
      expect(peak).toBeLessThanOrEqual(8);
      expect(sockets.size).toBeLessThanOrEqual(8);
      expect(g.arrivalsStarted! + g.arrivalsDropped!).toBe(g.arrivalsScheduled);
      expect(r.requests).toBe(g.arrivalsStarted);
      expect(r.errors).toBe(0);
      // The slots stay busy: the time spent in requests covers most of 8 slots x the run.
      const busyMs = r.requests * r.latency.mean!;
      expect(busyMs / (8 * r.durationMs)).toBeGreaterThan(0.6);
      expect(g.valid).toBe(false);
    } finally {
      srv.closeAllConnections();
      await new Promise<void>((resolve) => srv.close(() => resolve()));
    }
  });

  it('marks the run invalid when the event loop cannot keep up', async () => {
    // Block this process for 1.5 s mid-run: arrivals due in that time start late, in a burst.
    const block = setTimeout(() => {
      const until = performance.now() + 1500;
      while (performance.now() < until) {
        // busy on purpose
      }
    }, 500);
    const { r } = await run({ stages: constant(100, 3000) });
    clearTimeout(block);
    const g = r.generator;
    expect(g.arrivalsScheduled).toBe(300);
    expect(g.maxLagMs).toBeGreaterThan(1000);
    expect(g.valid).toBe(false);
    expect(g.invalidReasons.join(' ')).toMatch(/could not keep up/);
  });

  it('stops early on abort and says so', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('guard tripped')), 600);
    const t = performance.now();
    const { r } = await run({ stages: constant(100, 5000) }, ac.signal);
    expect(performance.now() - t).toBeLessThan(2000);
    expect(r.notes).toContain('stopped early: guard tripped');
    expect(r.generator.arrivalsScheduled).toBeGreaterThan(40);
    expect(r.generator.arrivalsScheduled).toBeLessThan(100);
    expect(r.generator.valid).toBe(true);
    expect(r.requests).toBe(r.generator.arrivalsStarted);
    expect(r.intervals.reduce((s, i) => s + i.requests, 0)).toBe(r.requests);
  });

  it('cuts the drain short on abort and leaves cancelled requests uncounted', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('cancelled by the user')), 400);
    const t = performance.now();
    // 2 arrivals in 200 ms, each answered after 5 s: the run would wait up to the 8 s timeout without the abort.
    const { r } = await run(
      { target: `${demo.url}/slow?ms=5000`, stages: constant(10, 200), timeoutMs: 8000 },
      ac.signal,
    );
    const took = performance.now() - t;
    expect(took).toBeGreaterThanOrEqual(400 + 2000 - 50);
    expect(took).toBeLessThan(3500);
    expect(r.requests).toBe(0);
    expect(r.generator.arrivalsStarted).toBe(2);
    expect(r.notes).toEqual([
      'stopped early: cancelled by the user',
      '2 request(s) were still in flight when the run had to end and were cancelled; they are not counted',
    ]);
  });

  it('returns an empty result when aborted before the start', async () => {
    const ac = new AbortController();
    ac.abort('cancelled');
    const { r } = await run({ stages: constant(100, 5000) }, ac.signal);
    expect(r.requests).toBe(0);
    expect(r.errorRate).toBeUndefined();
    expect(r.throughputRps).toBeUndefined();
    expect(r.notes).toEqual(['stopped early: cancelled']);
  });

  it('cuts a think time short when aborted', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const flows: Flow[] = [
      { name: 'sleepy', weight: 1, steps: [GET('/'), { kind: 'think', ms: 10_000 }, GET('/api/health')] },
    ];
    const t = performance.now();
    const { r } = await run({ stages: constant(10, 2000), flows }, ac.signal);
    expect(performance.now() - t).toBeLessThan(1500);
    expect(r.endpoints.find((e) => e.name === 'GET /api/health')!.requests).toBe(0);
    expect(r.notes).toEqual(['stopped early: aborted']);
  });
});

describe('builtin engine: input checks', () => {
  it('rejects a bad target, no flows and bad stages as user errors', async () => {
    await expect(run({ target: 'ftp://x', stages: constant(1, 100) })).rejects.toThrow(/http/);
    await expect(run({ stages: constant(1, 100), flows: [] })).rejects.toThrow(/flow/);
    await expect(run({ stages: [] })).rejects.toThrow(/stages/);
    await expect(run({ stages: [{ durationMs: 1000, startRate: -1, endRate: 1 }] })).rejects.toThrow(/rate/);
  });

  it('removes credentials from the target it reports and sends them as basic auth', async () => {
    const url = new URL(demo.url);
    const { r } = await run({ target: `http://user:secret@${url.host}`, stages: constant(10, 200) });
    expect(r.target).toBe(`http://${url.host}`);
    expect(JSON.stringify(r)).not.toContain('secret');
    expect(r.requests).toBe(2);
    expect(demo.lastAuthorization()).toBe(`Basic ${Buffer.from('user:secret').toString('base64')}`);
  });
});
