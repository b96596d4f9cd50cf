// Prometheus source against a real Prometheus scraping a real node-exporter (see helpers/prometheus.ts).
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide } from '../src/gate/evaluate.js';
import { parseTargets } from '../src/gate/targets.js';
import type { InfraMetric, RunResult } from '../src/model.js';
import { sampleRun } from './helpers/sample-run.js';
import { sourcesSchema } from '../src/config/sources.js';
import { collectAll, createSources, startSources } from '../src/sources/index.js';
import { promDuration, promQuery, rateEvaluation } from '../src/sources/prometheus.js';
import { freePort } from './helpers/postgres.js';
import { startPrometheusStack, type PrometheusStack } from './helpers/prometheus.js';
import { memoryLog } from './helpers/memory-log.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function collect(
  source: Record<string, unknown>,
  window: { start: Date; end: Date },
  env: NodeJS.ProcessEnv = {},
) {
  const log = memoryLog();
  const sources = createSources(sourcesSchema.parse([{ kind: 'prometheus', step: '1s', ...source }]), log, { env });
  await startSources(sources, log);
  const out = await collectAll(sources, window, log);
  return { out, log, byName: new Map<string, InfraMetric>(out.infra.map((m) => [m.name, m])) };
}

const runWith = (infra: InfraMetric[]): RunResult => sampleRun({ infra });

let stack: PrometheusStack;
/**
 * An exporter whose CPU the tests decide: node_cpu_seconds_total for one CPU whose idle counter stands still
 * (100 % busy) until `fake.idleSince`, then grows one second per second (0 % busy). Real Prometheus scrapes it.
 */
const fake: { server?: Server; idleSince?: number; idleBase: number } = { idleBase: 1000 };
function fakeIdleSeconds(now: number): number {
  return fake.idleSince === undefined ? fake.idleBase : fake.idleBase + (now - fake.idleSince) / 1000;
}
/** A window in which one core was kept busy. */
let busyWindow: { start: Date; end: Date };

beforeAll(async () => {
  fake.server = createServer((_req, res) => {
    const idle = fakeIdleSeconds(Date.now());
    res
      .writeHead(200, { 'content-type': 'text/plain; version=0.0.4' })
      .end(
        '# TYPE node_cpu_seconds_total counter\n' +
          `node_cpu_seconds_total{cpu="0",mode="idle"} ${idle.toFixed(3)}\n` +
          `node_cpu_seconds_total{cpu="0",mode="user"} ${(Date.now() / 1000 - idle).toFixed(3)}\n`,
      );
  });
  await new Promise<void>((r) => fake.server!.listen(0, '127.0.0.1', r));
  stack = await startPrometheusStack({
    extraTargets: [{ job: 'fake', target: `127.0.0.1:${(fake.server.address() as AddressInfo).port}` }],
  });
  const start = new Date();
  // One busy core out of this machine's cores, for 4 s: node-cpu must see it.
  const busy = spawn(process.execPath, ['-e', 'const e = Date.now() + 4000; while (Date.now() < e) {}'], {
    stdio: 'ignore',
  });
  await new Promise((r) => busy.once('exit', r));
  // Idle after the busy core, long enough for rate() windows that start inside the run (no pre-run samples).
  await sleep(3000);
  busyWindow = { start, end: new Date() };
}, 90_000);

afterAll(async () => {
  await stack?.stop();
  if (fake.server) await new Promise((r) => fake.server!.close(r));
});

describe('Prometheus presets on real node-exporter data', () => {
  it('reads node CPU and memory for the window', async () => {
    const { byName, out } = await collect(
      {
        url: stack.url,
        'rate-window': '3s',
        metrics: [{ preset: 'node-cpu' }, { preset: 'node-memory', labels: { job: 'node' } }],
      },
      busyWindow,
    );
    const cpu = byName.get('cpu')!;
    const memory = byName.get('memory')!;
    expect(cpu.unavailable).toBeUndefined();
    expect(memory.unavailable).toBeUndefined();
    expect(cpu).toMatchObject({ source: 'prometheus', unit: '%' });
    expect(cpu.query).toBe('max(100 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[3s])) * 100)');
    expect(memory.query).toBe(
      'max((1 - node_memory_MemAvailable_bytes{job="node"} / node_memory_MemTotal_bytes{job="node"}) * 100)',
    );

    // One sample per 1 s step across the ~5.5 s window.
    expect(cpu.series!.length).toBeGreaterThanOrEqual(5);
    expect(cpu.series![0]![0]).toBeGreaterThanOrEqual(0);
    for (const [, v] of [...cpu.series!, ...memory.series!]) {
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThanOrEqual(100);
    }
    // A busy core out of n is 100/n % of the machine; the max must show most of it.
    const cores = (await stack.query('count(node_cpu_seconds_total{mode="idle"})'))[0]!.value[1];
    expect(cpu.stats.max).toBeGreaterThan((100 / Number(cores)) * 0.6);
    expect(cpu.stats.min).toBeLessThanOrEqual(cpu.stats.mean!);
    expect(cpu.stats.mean).toBeLessThanOrEqual(cpu.stats.max!);

    // Memory used agrees with the kernel's own figures read now (same machine, a few seconds apart).
    const meminfo = readFileSync('/proc/meminfo', 'utf8');
    const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(meminfo)![1]);
    const usedNow = (1 - kb('MemAvailable') / kb('MemTotal')) * 100;
    expect(memory.stats.last!).toBeGreaterThan(usedNow - 10);
    expect(memory.stats.last!).toBeLessThan(usedNow + 10);

    const verdict = decide(
      runWith(out.infra),
      parseTargets(['max(cpu) <= 100%', 'mean(memory) < 100%', 'cpu < 0.001%']),
      'any',
    );
    expect(verdict.targets.map((t) => t.status)).toEqual(['pass', 'pass', 'fail']);
    expect(verdict.targets[0]!.actual).toBe(cpu.stats.max);
    expect(verdict.targets[1]!.actual).toBe(memory.stats.mean);
  });

  it('runs any one-series query, and explains a query that returns several', async () => {
    const { byName } = await collect(
      {
        url: stack.url,
        metrics: [
          { name: 'node_up', query: 'up{job="node"}' },
          { name: 'all_up', query: 'up{job!="fake"}' },
          { name: 'broken', query: 'rate(node_cpu_seconds_total[' },
          { name: 'nothing', query: 'no_such_metric_anywhere' },
        ],
      },
      busyWindow,
    );
    expect(byName.get('node_up')).toMatchObject({ unit: 'count', stats: { min: 1, max: 1, last: 1 } });
    expect(byName.get('all_up')!.unavailable).toMatch(
      /returned 2 series; wrap it in max\(\.\.\.\), avg\(\.\.\.\) or sum\(\.\.\.\)/,
    );
    expect(byName.get('broken')!.unavailable).toMatch(/Prometheus answered 400: bad_data: .*parse error/);
    expect(byName.get('nothing')!.unavailable).toMatch(/no data for the run window/);
  });

  it('builds cAdvisor container queries as a percent of the container limit', () => {
    const [parsed] = sourcesSchema.parse([
      {
        kind: 'prometheus',
        url: 'http://p:9090',
        metrics: [{ preset: 'container-cpu', container: 'api', labels: { namespace: 'shop' } }],
      },
    ]);
    const metric = (parsed as { metrics: Parameters<typeof promQuery>[0][] }).metrics[0]!;
    expect(promQuery(metric, '1m')).toBe(
      'max(sum by (pod, container) (rate(container_cpu_usage_seconds_total{namespace="shop",container="api"}[1m])) / ' +
        'sum by (pod, container) (container_spec_cpu_quota{namespace="shop",container="api"} / container_spec_cpu_period{namespace="shop",container="api"})) * 100',
    );
    expect(promQuery({ ...metric, preset: 'container-memory' }, '1m')).toBe(
      'max(sum by (pod, container) (container_memory_working_set_bytes{namespace="shop",container="api"}) / ' +
        'sum by (pod, container) (container_spec_memory_limit_bytes{namespace="shop",container="api"})) * 100',
    );
    expect(promQuery({ ...metric, preset: 'node-memory', labels: { instance: 'a"b' } }, '1m')).toContain(
      '{instance="a\\"b"}',
    );
  });

  it('never reads samples from before the run: a busy minute before an idle run does not fail cpu < 80%', async () => {
    // The fake CPU has been 100 % busy since Prometheus started scraping it; wait for several busy scrapes.
    const busyScrapes = async (): Promise<number> =>
      Number(
        (await stack.query('count_over_time(node_cpu_seconds_total{job="fake",mode="idle"}[1m])'))[0]?.value[1] ?? 0,
      );
    for (let i = 0; i < 60 && (await busyScrapes()) < 6; i++) await sleep(250);
    expect(await busyScrapes()).toBeGreaterThanOrEqual(6);
    fake.idleSince = Date.now();
    const window = { start: new Date(fake.idleSince), end: new Date(fake.idleSince + 8000) };
    await sleep(8000 + 1500); // the run, then one more scrape
    try {
      const labels = { job: 'fake' };
      // What the unclamped preset read: its first points reach back into the busy seconds before the run.
      const before = await fetch(
        `${stack.url}/api/v1/query_range?` +
          new URLSearchParams({
            query: promQuery({ name: 'cpu', preset: 'node-cpu', labels, unit: '%' }, '4s'),
            start: String(window.start.getTime() / 1000),
            end: String(window.end.getTime() / 1000),
            step: '1s',
          }).toString(),
      );
      const oldValues = (
        (await before.json()) as { data: { result: Array<{ values: Array<[number, string]> }> } }
      ).data.result[0]!.values.map(([, v]) => Number(v));
      expect(Math.max(...oldValues)).toBeGreaterThan(80);

      const short = await collect(
        { url: stack.url, 'rate-window': '4s', metrics: [{ preset: 'node-cpu', labels }] },
        window,
      );
      const cpu = short.byName.get('cpu')!;
      expect(cpu.unavailable).toBeUndefined();
      expect(cpu.query).toBe(
        'max(100 - avg by (instance) (rate(node_cpu_seconds_total{job="fake",mode="idle"}[4s])) * 100)',
      );
      // First point 4 s in: its window [0 s, 4 s] starts at the run start.
      expect(cpu.series![0]![0]).toBeGreaterThanOrEqual(4000);
      expect(cpu.series!.length).toBeGreaterThanOrEqual(4);
      expect(cpu.stats.max).toBeLessThan(5);
      expect(short.out.notes).toEqual([]);

      // The default 1m window is longer than this 8 s run: it is shortened to the run and said so.
      const long = await collect({ url: stack.url, metrics: [{ preset: 'node-cpu', labels }] }, window);
      const cpu1m = long.byName.get('cpu')!;
      expect(cpu1m.unavailable).toBeUndefined();
      expect(cpu1m.query).toContain('[8s]');
      expect(cpu1m.series!.every(([t]) => t >= 8000)).toBe(true);
      expect(cpu1m.stats.max).toBeLessThan(5);
      expect(long.out.notes).toContain(
        'prometheus (cpu): rate window shortened from 1m to 8s, the length of the run, so that it reads no sample from before the run',
      );

      const verdict = decide(runWith([cpu]), parseTargets(['cpu < 80%']), 'any');
      expect(verdict.targets[0]).toMatchObject({ status: 'pass' });
    } finally {
      fake.idleSince = undefined;
    }
  }, 60_000);

  it('clamps the rate window to the run, in whole seconds (ms below one)', () => {
    const w = (ms: number) => ({ start: new Date(1_000_000), end: new Date(1_000_000 + ms) });
    expect(rateEvaluation('1m', w(300_000))).toEqual({ windowMs: 60_000, startMs: 1_060_000, clamped: false });
    expect(rateEvaluation('1m', w(8_700))).toEqual({ windowMs: 8000, startMs: 1_008_000, clamped: true });
    expect(rateEvaluation('30s', w(450))).toEqual({ windowMs: 450, startMs: 1_000_450, clamped: true });
    expect(promDuration(60_000)).toBe('1m');
    expect(promDuration(8000)).toBe('8s');
    expect(promDuration(450)).toBe('450ms');
  });

  it('reports an unreachable Prometheus as unavailable', async () => {
    const port = await freePort(); // free, so nothing listens there
    const { byName } = await collect(
      { url: `http://127.0.0.1:${port}`, retries: 0, metrics: [{ preset: 'node-cpu' }] },
      busyWindow,
    );
    expect(byName.get('cpu')!.unavailable).toMatch(/cannot reach Prometheus: ECONNREFUSED/);
  });
});

describe('Prometheus authentication', () => {
  // Prometheus itself has no bearer-token auth; a proxy in front of it (as in most hosted setups) checks it.
  let proxy: Server;
  let proxyUrl: string;
  const seen: string[] = [];
  const TOKEN = 'tok-Very-Secret-4242';
  beforeAll(async () => {
    proxy = createServer(async (req, res) => {
      seen.push(req.headers.authorization ?? '');
      if (
        req.headers.authorization !== `Bearer ${TOKEN}` &&
        req.headers.authorization !== `Basic ${Buffer.from(`grafana:${TOKEN}`).toString('base64')}`
      ) {
        res
          .writeHead(401, { 'content-type': 'text/plain' })
          .end(`unauthorized: got ${req.headers.authorization ?? 'nothing'}`);
        return;
      }
      const upstream = await fetch(`${stack.url}${(req.url ?? '').replace(/^\/prom/, '')}`);
      res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text());
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/prom`;
  });
  afterAll(async () => {
    await new Promise((r) => proxy.close(r));
  });

  it('sends the bearer token from the environment and never prints it', async () => {
    seen.length = 0;
    const ok = await collect(
      { url: proxyUrl, 'bearer-token-env': 'PROM_TOKEN', metrics: [{ name: 'node_up', query: 'up{job="node"}' }] },
      busyWindow,
      {
        PROM_TOKEN: TOKEN,
      },
    );
    expect(seen).toEqual([`Bearer ${TOKEN}`]);
    expect(ok.byName.get('node_up')!.stats.max).toBe(1);

    // A rejected token: the proxy even echoes it back in its error body; none of it may reach the report or log.
    const bad = await collect(
      { url: proxyUrl, 'bearer-token-env': 'PROM_TOKEN', metrics: [{ name: 'node_up', query: 'up{job="node"}' }] },
      busyWindow,
      { PROM_TOKEN: `${TOKEN}-expired` },
    );
    expect(bad.byName.get('node_up')!.unavailable).toMatch(
      /Prometheus answered 401: check username\/password-env or bearer-token-env/,
    );
    for (const r of [ok, bad]) {
      const text = JSON.stringify(r.out) + r.log.lines.join('\n');
      expect(text).not.toContain(TOKEN);
    }
  });

  it('sends basic auth with the password from the environment', async () => {
    seen.length = 0;
    const { byName, out, log } = await collect(
      {
        url: proxyUrl,
        username: 'grafana',
        'password-env': 'PROM_PASSWORD',
        metrics: [{ name: 'node_up', query: 'up{job="node"}' }],
      },
      busyWindow,
      { PROM_PASSWORD: TOKEN },
    );
    expect(seen).toEqual([`Basic ${Buffer.from(`grafana:${TOKEN}`).toString('base64')}`]);
    expect(byName.get('node_up')!.stats.max).toBe(1);
    expect(JSON.stringify(out) + log.lines.join('\n')).not.toContain(TOKEN);
  });

  it('names the missing environment variable', async () => {
    const { byName } = await collect(
      { url: proxyUrl, 'bearer-token-env': 'PROM_TOKEN', metrics: [{ preset: 'node-cpu' }] },
      busyWindow,
      {},
    );
    expect(byName.get('cpu')!.unavailable).toBe('environment variable PROM_TOKEN (bearer-token-env) is not set');
  });
});
