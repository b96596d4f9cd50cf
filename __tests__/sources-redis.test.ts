// Redis source against real redis-server processes started for these tests (see helpers/redis.ts): evictions from
// a tiny maxmemory and rejected connections from a low maxclients are provoked for real, not simulated.
import { Redis } from 'ioredis';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide } from '../src/gate/evaluate.js';
import { parseTargets } from '../src/gate/targets.js';
import type { InfraMetric } from '../src/model.js';
import { sourcesSchema } from '../src/config/sources.js';
import { collectAll, createSources, startSources } from '../src/sources/index.js';
import { increases, parseInfo } from '../src/sources/redis.js';
import { freePort } from './helpers/postgres.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { sampleRun } from './helpers/sample-run.js';
import { memoryLog } from './helpers/memory-log.js';
import type { Logger } from '../src/log.js';
import { infraTargetProblems } from '../src/config/infra-targets.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function redisSources(source: Record<string, unknown>, env: NodeJS.ProcessEnv, log: Logger) {
  return createSources(sourcesSchema.parse([{ kind: 'redis', interval: '100ms', ...source }]), log, { env });
}

const byName = (infra: InfraMetric[]): Map<string, InfraMetric> => new Map(infra.map((m) => [m.name, m]));

async function infoNumber(client: Redis, key: string): Promise<number> {
  return Number(parseInfo(await client.info())?.get(key));
}

const PASSWORD = 'rds-Secret-pw-77';
let server: RedisServer;
beforeAll(async () => {
  server = await startRedis({ password: PASSWORD, maxmemory: '2mb', maxmemoryPolicy: 'volatile-lru', maxclients: 8 });
}, 30_000);
afterAll(async () => {
  await server?.stop();
});

describe('Redis source on a real redis-server', () => {
  it('reads clients against maxclients, memory against maxmemory, ops, evictions, rejected connections, hit rate and blocked clients', async () => {
    const log = memoryLog();
    const env = { REDIS_PW: PASSWORD };
    const sources = redisSources({ host: '127.0.0.1', port: server.port, 'password-env': 'REDIS_PW' }, env, log);
    await startSources(sources, log);
    const client = new Redis({ port: server.port, host: '127.0.0.1', password: PASSWORD, lazyConnect: true });
    const blocker = new Redis({ port: server.port, host: '127.0.0.1', password: PASSWORD, lazyConnect: true });
    await Promise.all([client.connect(), blocker.connect()]);
    const evictedBefore = await infoNumber(client, 'evicted_keys');
    const rejectedBefore = await infoNumber(client, 'rejected_connections');
    const start = new Date();

    // 60 hits and 40 misses: a 60 % hit rate. The fillers have a TTL, so volatile-lru evicts only them.
    await client.set('hit', 'v');
    for (let i = 0; i < 60; i++) await client.get('hit');
    for (let i = 0; i < 40; i++) await client.get(`missing:${i}`);
    const big = 'x'.repeat(10_000);
    for (let i = 0; i < 400; i++) await client.set(`filler:${i}`, big, 'EX', 600);

    // One client blocked in BLPOP for 600 ms.
    const blocked = blocker.blpop('nothing-here', 0.6);
    await sleep(300);

    // 3 connections open (source, client, blocker) of maxclients 8: 8 more sockets, 5 accepted and 3 refused.
    const sockets: Socket[] = [];
    const answers = await Promise.all(
      Array.from(
        { length: 8 },
        () =>
          new Promise<string>((resolve) => {
            const s = connect(server.port, '127.0.0.1');
            sockets.push(s);
            let got = '';
            s.on('data', (d) => (got += d.toString()));
            s.on('error', () => undefined);
            setTimeout(() => resolve(got), 400);
          }),
      ),
    );
    const refused = answers.filter((a) => /max number of clients reached/.test(a)).length;
    expect(refused).toBe(3);
    await blocked;
    for (const s of sockets) s.destroy();
    await sleep(250);
    const end = new Date();
    const evicted = (await infoNumber(client, 'evicted_keys')) - evictedBefore;
    const rejected = (await infoNumber(client, 'rejected_connections')) - rejectedBefore;
    const out = await collectAll(sources, { start, end }, log);
    await Promise.all([client.quit(), blocker.quit()]);

    const m = byName(out.infra);
    expect([...m.keys()]).toEqual([
      'redis_clients',
      'redis_memory',
      'redis_ops',
      'redis_evictions',
      'redis_rejected_connections',
      'redis_hit_rate',
      'redis_blocked',
    ]);
    for (const metric of out.infra) expect(metric.unavailable, metric.name).toBeUndefined();
    expect(m.get('redis_clients')).toMatchObject({ source: 'redis', unit: 'count', limit: 8 });
    expect(m.get('redis_clients')!.stats.max).toBe(8);
    expect(m.get('redis_memory')!.unit).toBe('%');
    expect(m.get('redis_memory')!.stats.max!).toBeGreaterThan(50);
    expect(evicted).toBeGreaterThan(0);
    expect(m.get('redis_evictions')!.stats.max).toBe(evicted);
    expect(m.get('redis_evictions')!.stats.last).toBe(evicted);
    expect(rejected).toBe(3);
    expect(m.get('redis_rejected_connections')!.stats.max).toBe(3);
    expect(m.get('redis_hit_rate')!.stats.max).toBeCloseTo(60, 9);
    expect(m.get('redis_hit_rate')!.query).toMatch(/60 hits, 40 misses/);
    expect(m.get('redis_blocked')!.stats.max).toBe(1);
    expect(m.get('redis_blocked')!.stats.min).toBe(0);
    // 500+ commands in about 1-2 s.
    expect(m.get('redis_ops')!.stats.max!).toBeGreaterThan(50);

    const verdict = decide(
      sampleRun({ infra: out.infra }),
      parseTargets([
        'redis_clients < 80% of max',
        'redis_evictions == 0',
        'redis_rejected_connections == 0',
        'redis_hit_rate > 50%',
        'max(redis_blocked) <= 1',
        'redis_memory < 200%',
      ]),
      'any',
    );
    expect(verdict.targets.map((t) => t.status)).toEqual(['fail', 'fail', 'fail', 'pass', 'pass', 'pass']);
    expect(verdict.targets[0]!.actual).toBe(100);

    const everything =
      JSON.stringify(out) + log.lines.join('\n') + sources.map((s) => s.label + JSON.stringify(s.metrics)).join('');
    expect(everything).not.toContain(PASSWORD);
  }, 30_000);

  it('is unavailable, quickly, when Redis is down, and never holds up the load', async () => {
    const log = memoryLog();
    const port = await freePort();
    const sources = redisSources({ url: `redis://127.0.0.1:${port}`, 'connect-timeout': '300ms' }, {}, log);
    const t0 = Date.now();
    await startSources(sources, log, { timeoutMs: 3000 });
    expect(Date.now() - t0).toBeLessThan(2500);
    const out = await collectAll(sources, { start: new Date(t0), end: new Date() }, log);
    expect(out.infra).toHaveLength(7);
    for (const metric of out.infra) expect(metric.unavailable).toMatch(/^cannot connect: .*ECONNREFUSED/);
    const verdict = decide(sampleRun({ infra: out.infra }), parseTargets(['redis_evictions == 0']), 'any');
    expect(verdict.targets[0]!.status).toBe('not_measured');
    expect(verdict.status).toBe('error');
  });

  it('does not hold up the load when the server accepts connections and never answers', async () => {
    const sockets: Socket[] = [];
    const silent = createServer((sock) => sockets.push(sock));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const log = memoryLog();
      const sources = redisSources(
        {
          url: `redis://127.0.0.1:${(silent.address() as AddressInfo).port}`,
          'connect-timeout': '500ms',
          timeout: '500ms',
        },
        {},
        log,
      );
      const t0 = Date.now();
      await startSources(sources, log, { timeoutMs: 5000 });
      expect(Date.now() - t0).toBeLessThan(2500);
      const out = await collectAll(sources, { start: new Date(t0), end: new Date() }, log);
      expect(Date.now() - t0).toBeLessThan(4000);
      for (const metric of out.infra)
        expect(metric.unavailable).toMatch(/^cannot (connect|read INFO): .*(timed out|timeout)/i);
    } finally {
      for (const sock of sockets) sock.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('keeps going when Redis dies mid-run and says how many samples failed', async () => {
    const victim = await startRedis();
    const log = memoryLog();
    const sources = redisSources({ url: `redis://127.0.0.1:${victim.port}`, timeout: '300ms' }, {}, log);
    await startSources(sources, log);
    const start = new Date();
    await sleep(400);
    await victim.stop();
    await sleep(500);
    const t0 = Date.now();
    const out = await collectAll(sources, { start, end: new Date() }, log);
    expect(Date.now() - t0).toBeLessThan(3000);
    const m = byName(out.infra);
    expect(m.get('redis_clients')!.unavailable).toBeUndefined(); // the samples before it died
    expect(out.notes.join('\n')).toMatch(/redis: \d+ of \d+ INFO samples failed/);
    // No key was read: the hit rate is missing, not 0 % and not 100 %.
    expect(m.get('redis_hit_rate')!.unavailable).toMatch(/no key was read during the run/);
  });

  it('reports memory in bytes without maxmemory, takes the URL from the environment, and hides a wrong password', async () => {
    const plain = await startRedis();
    try {
      const log = memoryLog();
      const sources = redisSources(
        { 'url-env': 'REDIS_URL', name: 'cache' },
        { REDIS_URL: `redis://127.0.0.1:${plain.port}/0` },
        log,
      );
      await startSources(sources, log);
      const start = new Date();
      await sleep(300);
      const out = await collectAll(sources, { start, end: new Date() }, log);
      const mem = byName(out.infra).get('cache_memory')!;
      expect(mem).toMatchObject({
        unit: 'bytes',
        query: 'used_memory in bytes (no maxmemory is set, so no percentage)',
      });
      expect(mem.stats.max!).toBeGreaterThan(100_000);
      expect(byName(out.infra).get('cache_clients')!.limit).toBe(10_000); // Redis's default maxclients
    } finally {
      await plain.stop();
    }

    const log = memoryLog();
    const wrong = 'Wrong-Pass-123456';
    const sources = redisSources(
      { 'url-env': 'REDIS_URL' },
      { REDIS_URL: `redis://default:${wrong}@127.0.0.1:${server.port}` },
      log,
    );
    await startSources(sources, log);
    const out = await collectAll(sources, { start: new Date(), end: new Date() }, log);
    expect(out.infra[0]!.unavailable).toMatch(/^cannot connect: WRONGPASS/);
    expect(JSON.stringify(out) + log.lines.join('\n') + sources[0]!.label).not.toContain(wrong);
  });

  it('refuses a Sentinel address with a message saying what to give instead', async () => {
    const sentinel = await startRedis({ sentinelOf: server.port });
    try {
      const log = memoryLog();
      const sources = redisSources({ host: '127.0.0.1', port: sentinel.port }, {}, log);
      await startSources(sources, log);
      const out = await collectAll(sources, { start: new Date(), end: new Date() }, log);
      for (const metric of out.infra) {
        expect(metric.unavailable).toBe(
          "cannot read INFO: this is a Redis Sentinel, which holds no data: give the master's address (perf-gate does not ask Sentinel for it)",
        );
      }
    } finally {
      await sentinel.stop();
    }
  });

  it('checks the config: no password in url, a limit for redis_clients only', () => {
    expect(() => sourcesSchema.parse([{ kind: 'redis', url: 'redis://:pw-in-url@cache:6379' }])).toThrow(
      /the URL carries a password/,
    );
    expect(() => sourcesSchema.parse([{ kind: 'redis' }])).toThrow(/needs \\"url\\", \\"url-env\\" or \\"host\\"/);
    const configs = sourcesSchema.parse([{ kind: 'redis', host: 'cache' }]);
    expect(
      infraTargetProblems(parseTargets(['redis_clients < 80% of max', 'max(redis_evictions) == 0']), configs),
    ).toEqual([]);
    expect(infraTargetProblems(parseTargets(['redis_ops < 80% of max']), configs)[0]).toMatch(/"redis_ops" has none/);
  });
});

describe('Redis counters', () => {
  it('sums increases across a reset', () => {
    expect(increases(10, [12, 15, 3, 5])).toEqual([2, 5, 8, 10]);
  });
});
