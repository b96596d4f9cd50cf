// Redis watched during the run through INFO, sampled every interval with ioredis (imported only when a Redis source
// is configured). Gauges (clients, memory, blocked clients) are series; counters (commands, evictions, rejected
// connections, keyspace hits and misses) become their increase since the sample taken before the run, with one
// more INFO after the run so the totals cover all of it. As with PostgreSQL, a failed sample is counted, not thrown,
// commands fail fast instead of queueing while disconnected, and the timers are unref'd: Redis cannot hold up the
// load test. One node is read: for Cluster or Sentinel, see docs/sources.md.
import type { Redis, RedisOptions } from 'ioredis';
import type { InfraMetric } from '../model.js';
import { redisMetricNames, type RedisSourceConfig } from '../config/sources.js';
import { summarize, type Series } from '../metrics/series.js';
import { sleep } from './stats.js';
import { Sampler } from './sampler.js';
import { unavailable, type MetricDescriptor, type Source, type SourceResult, type TimeWindow } from './types.js';
import type { Logger } from '../log.js';
import { Redactor } from '../secrets.js';

type IoRedis = typeof import('ioredis');

/** An INFO reply is a few KiB (about 5 KiB on Redis 7); anything past this is not one, and is not read further. */
export const MAX_INFO_BYTES = 1024 * 1024;

export interface RedisDeps {
  loadClient?: () => Promise<IoRedis>;
  env?: NodeJS.ProcessEnv;
}

/** `INFO` text as key -> value (sections and comments dropped). */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) out.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return out;
}

/** The fields perf-gate reads from one INFO. */
export interface InfoSample {
  t: number;
  clients: number;
  blocked: number;
  usedMemory: number;
  maxMemory?: number;
  maxClients?: number;
  commands: number;
  evicted: number;
  rejected: number;
  hits: number;
  misses: number;
}

export function infoSample(t: number, info: Map<string, string>): InfoSample {
  if (info.has('sentinel_masters')) {
    throw new Error(
      "this is a Redis Sentinel, which holds no data: give the master's address (perf-gate does not ask Sentinel for it)",
    );
  }
  const num = (key: string): number => {
    const v = Number(info.get(key));
    if (!info.has(key) || !Number.isFinite(v)) throw new Error(`INFO has no ${key} (is this a Redis server?)`);
    return v;
  };
  const optional = (key: string): number | undefined => {
    const v = Number(info.get(key));
    return info.has(key) && Number.isFinite(v) ? v : undefined;
  };
  const s: InfoSample = {
    t,
    clients: num('connected_clients'),
    blocked: num('blocked_clients'),
    usedMemory: num('used_memory'),
    commands: num('total_commands_processed'),
    evicted: num('evicted_keys'),
    rejected: num('rejected_connections'),
    hits: num('keyspace_hits'),
    misses: num('keyspace_misses'),
  };
  const maxMemory = optional('maxmemory');
  // Redis 7 lists maxclients in INFO; older servers are asked with CONFIG GET (often disabled on managed Redis).
  const maxClients = optional('maxclients');
  if (maxMemory !== undefined) s.maxMemory = maxMemory;
  if (maxClients !== undefined) s.maxClients = maxClients;
  return s;
}

/** Increase of a counter from `base` over `samples`; a counter that went down was reset (a restart) and restarts the sum. */
export function increases(base: number, values: number[]): number[] {
  let total = 0;
  let prev = base;
  return values.map((v) => {
    total += v >= prev ? v - prev : v;
    prev = v;
    return total;
  });
}

export class RedisSource implements Source {
  readonly kind = 'redis' as const;
  readonly label: string;
  readonly metrics: MetricDescriptor[];
  readonly collectTimeoutMs: number;
  private readonly names: ReturnType<typeof redisMetricNames>;
  private readonly redactor = new Redactor();
  private readonly options?: RedisOptions & { url?: string };
  private configError?: string;
  private startError?: string;
  private client?: Redis;
  private readonly samples: InfoSample[] = [];
  private maxClients?: number;
  private sampleFailures = 0;
  private lastError?: string;
  private readonly sampler: Sampler;

  constructor(
    private readonly cfg: RedisSourceConfig,
    private readonly log: Logger,
    private readonly deps: RedisDeps = {},
  ) {
    this.sampler = new Sampler(cfg.intervalMs, () => this.sample());
    const env = deps.env ?? process.env;
    let where = `${cfg.host ?? ''}:${cfg.port ?? 6379}`;
    try {
      let url: string | undefined = cfg.url;
      if (cfg.urlEnv) {
        url = env[cfg.urlEnv];
        if (!url) throw new Error(`environment variable ${cfg.urlEnv} (url-env) is not set`);
        this.redactor.add(url);
      }
      let password: string | undefined;
      if (cfg.passwordEnv) {
        password = env[cfg.passwordEnv];
        if (password === undefined)
          throw new Error(`environment variable ${cfg.passwordEnv} (password-env) is not set`);
        this.redactor.add(password);
      }
      const options: RedisOptions & { url?: string } = {
        connectionName: 'perf-gate',
        lazyConnect: true,
        connectTimeout: cfg.connectTimeoutMs,
        commandTimeout: cfg.commandTimeoutMs,
        // Fail a command at once while disconnected instead of queueing it behind the reconnection.
        enableOfflineQueue: false,
        maxRetriesPerRequest: 0,
        // Keep reconnecting at the sampling pace: a Redis restarted mid-run is sampled again when it is back.
        retryStrategy: () => Math.max(cfg.intervalMs, 200),
        enableReadyCheck: false,
        // A command cut off at the reply cap is not sent again on the next connection (it would be answered alike).
        autoResendUnfulfilledCommands: false,
      };
      if (url) {
        const u = new URL(url);
        if (u.password) this.redactor.add(decodeURIComponent(u.password)).add(u.password);
        options.host = u.hostname.replace(/^\[|\]$/g, '');
        options.port = u.port ? Number(u.port) : 6379;
        if (u.username) options.username = decodeURIComponent(u.username);
        if (u.password) options.password = decodeURIComponent(u.password);
        const db = u.pathname.replace(/^\//, '');
        if (db) options.db = Number(db);
        if (u.protocol === 'rediss:') options.tls = {};
        where = `${u.hostname}:${options.port}`;
      } else {
        options.host = cfg.host!;
        options.port = cfg.port ?? 6379;
      }
      if (cfg.username) options.username = cfg.username;
      if (password !== undefined) options.password = password;
      if (cfg.tls) options.tls = {};
      this.options = options;
    } catch (e) {
      this.configError = this.redactor.error(e);
      if (cfg.urlEnv) where = `$${cfg.urlEnv}`;
    }
    this.label = `redis ${this.redactor.redact(where)}`;
    this.names = redisMetricNames(cfg);
    const n = this.names;
    const every = `INFO every ${cfg.intervalMs} ms`;
    this.metrics = [
      {
        name: n.clients,
        unit: 'count',
        query: `connected_clients (perf-gate's own connection included), ${every}, against maxclients`,
      },
      { name: n.memory, unit: '%', query: `used_memory as % of maxmemory (bytes when no maxmemory is set), ${every}` },
      { name: n.ops, unit: '/s', query: `commands per second (total_commands_processed between samples), ${every}` },
      { name: n.evictions, unit: 'count', query: 'evicted_keys: increase over the run' },
      { name: n.rejected, unit: 'count', query: 'rejected_connections (maxclients reached): increase over the run' },
      { name: n.hitRate, unit: '%', query: 'keyspace_hits / (keyspace_hits + keyspace_misses) during the run' },
      { name: n.blocked, unit: 'count', query: `blocked_clients (BLPOP, WAIT, ...), ${every}` },
    ];
    this.collectTimeoutMs = cfg.connectTimeoutMs + 3 * (cfg.commandTimeoutMs + 500) + 5000;
  }

  async start(): Promise<void> {
    if (this.configError) return;
    try {
      const mod = await (this.deps.loadClient ?? (() => import('ioredis')))();
      const RedisClient = mod.Redis ?? mod.default;
      const client = new RedisClient(this.options!);
      // Without a listener a dropped connection is an uncaught 'error' event: it would kill the load test.
      client.on('error', (e: unknown) => {
        this.lastError = this.redactor.error(e);
      });
      this.client = client;
      try {
        await Promise.race([
          client.connect(),
          sleep(this.cfg.connectTimeoutMs + 500).then(() => {
            throw new Error(`no connection within ${this.cfg.connectTimeoutMs} ms (connect-timeout)`);
          }),
        ]);
      } catch (e) {
        // ioredis rejects connect() with "Connection is closed."; the 'error' event said why (ECONNREFUSED, WRONGPASS).
        const msg = this.redactor.error(e);
        throw new Error(
          `cannot connect: ${this.lastError && /connection is closed/i.test(msg) ? this.lastError : msg}`,
        );
      }
      let first: InfoSample;
      try {
        first = await this.readInfo(client);
      } catch (e) {
        throw new Error(`cannot read INFO: ${this.redactor.error(e)}`);
      }
      if (first.maxClients === undefined) {
        const got = (await client.call('CONFIG', 'GET', 'maxclients').catch(() => undefined)) as unknown;
        const v = Array.isArray(got) ? Number(got[1]) : NaN;
        if (Number.isFinite(v)) this.maxClients = v;
      } else this.maxClients = first.maxClients;
      this.samples.push(first);
    } catch (e) {
      this.startError = this.redactor.error(e);
      this.log.warning(`${this.label}: ${this.startError}`);
      await this.stop();
      return;
    }
    this.sampler.start({ now: false });
  }

  async ready(): Promise<string | undefined> {
    if (this.configError) return this.configError;
    if (this.startError) return this.startError;
    if (!this.client) return 'not connected';
    try {
      const pong = await this.client.ping();
      return pong === 'PONG' ? undefined : `PING answered ${JSON.stringify(pong).slice(0, 40)}`;
    } catch (e) {
      return `PING failed: ${this.redactor.error(e)}`;
    }
  }

  private async readInfo(client: Redis): Promise<InfoSample> {
    // The reply is capped in bytes while it arrives, not only in time: a server answering INFO with 600 MB fast had
    // perf-gate's memory at 1.86 GB before the command timeout fired. At the cap the connection is closed (the next
    // sample reconnects); ioredis's parser holds at most the cap plus one read.
    const stream = (client as unknown as { stream?: NodeJS.EventEmitter & { destroy(): void } }).stream;
    let received = 0;
    let over = false;
    const count = (b: Buffer): void => {
      received += b.length;
      if (received > MAX_INFO_BYTES && !over) {
        over = true;
        stream!.destroy();
      }
    };
    stream?.on('data', count);
    let reply: unknown;
    try {
      // Plain INFO (the default sections): Redis before 7 takes a single section name, and that would need three calls.
      reply = await client.info();
    } catch (e) {
      if (over)
        throw new Error(
          `the INFO reply passed ${MAX_INFO_BYTES / 1024} KiB (a real one is a few KiB); the connection was closed at the cap`,
        );
      throw e;
    } finally {
      stream?.off('data', count);
    }
    if (over)
      throw new Error(
        `the INFO reply passed ${MAX_INFO_BYTES / 1024} KiB (a real one is a few KiB); the connection was closed at the cap`,
      );
    if (typeof reply !== 'string') {
      const what =
        reply === null || reply === undefined
          ? 'nil'
          : Array.isArray(reply)
            ? 'an array'
            : typeof reply === 'number'
              ? 'an integer'
              : typeof reply;
      throw new Error(`INFO was answered with ${what}, not the INFO text (is this a Redis server?)`);
    }
    return infoSample(Date.now(), parseInfo(reply));
  }

  private async sample(): Promise<void> {
    try {
      this.samples.push(await this.readInfo(this.client!));
    } catch (e) {
      this.sampleFailures++;
      this.lastError = this.redactor.error(e);
    }
  }

  async collect(window: TimeWindow, signal?: AbortSignal): Promise<SourceResult> {
    await this.sampler.stop(this.cfg.commandTimeoutMs + 500);
    const reason = this.configError ?? this.startError;
    if (reason) return { infra: this.metrics.map((d) => unavailable('redis', d, reason)) };
    // One more INFO now that the run is over, so the counters' increase covers all of it.
    if (!signal?.aborted) await this.sample();
    await this.stop();

    const startMs = window.start.getTime();
    const endMs = window.end.getTime();
    const notes: string[] = [];
    const all = this.samples;
    // The counters' base: the last sample before the run (the one start() took at the latest).
    const before = all.filter((s) => s.t <= startMs);
    const base = before[before.length - 1];
    // Gauges inside the window; a run shorter than the interval falls back to the samples just around it.
    let inside = all.filter((s) => s.t >= startMs && s.t <= endMs);
    if (inside.length === 0)
      inside = all.filter((s) => s.t >= startMs - this.cfg.intervalMs && s.t <= endMs + this.cfg.intervalMs);
    // Counters: every sample after the base up to the first one after the end (which covers the run's last part).
    const firstAfter = all.find((s) => s.t >= endMs);
    const counting = base ? all.filter((s) => s.t > base.t && s.t <= (firstAfter?.t ?? Number.POSITIVE_INFINITY)) : [];
    const d = (name: string): MetricDescriptor => this.metrics.find((m) => m.name === name)!;
    const n = this.names;
    const noSample =
      all.length <= 1
        ? `no INFO sample succeeded after the first${this.lastError ? `: ${this.lastError}` : ''}`
        : 'no INFO sample during the run window (Redis is sampled only while perf-gate runs the load)';

    const gauge = (name: string, f: (s: InfoSample) => number, extra: Partial<InfraMetric> = {}): InfraMetric => {
      const desc = d(name);
      const series: Series = all.map((s) => [s.t - startMs, f(s)]);
      const m: InfraMetric = { name, source: 'redis', query: desc.query, unit: desc.unit, stats: {}, series, ...extra };
      if (inside.length === 0) m.unavailable = noSample;
      else m.stats = summarize(inside.map((s) => [s.t - startMs, f(s)]));
      return m;
    };
    const counter = (name: string, f: (s: InfoSample) => number): InfraMetric => {
      const desc = d(name);
      if (!base || counting.length === 0)
        return unavailable('redis', desc, base ? noSample : 'no INFO sample before the run to count from');
      const totals = increases(f(base), counting.map(f));
      const series: Series = counting.map((s, i) => [s.t - startMs, totals[i]!]);
      return { name, source: 'redis', query: desc.query, unit: desc.unit, stats: summarize(series), series };
    };

    const infra: InfraMetric[] = [];
    infra.push(gauge(n.clients, (s) => s.clients, this.maxClients !== undefined ? { limit: this.maxClients } : {}));
    const maxMemory = all.find((s) => s.maxMemory !== undefined)?.maxMemory;
    if (maxMemory && maxMemory > 0) {
      infra.push(gauge(n.memory, (s) => (s.usedMemory / maxMemory) * 100));
    } else {
      const m = gauge(n.memory, (s) => s.usedMemory);
      m.unit = 'bytes';
      m.query = 'used_memory in bytes (no maxmemory is set, so no percentage)';
      infra.push(m);
    }
    // Commands per second between consecutive samples; perf-gate's own INFO is one command per sample.
    {
      const desc = d(n.ops);
      const pts: Series = [];
      for (let i = 1; i < all.length; i++) {
        const a = all[i - 1]!;
        const b = all[i]!;
        const dt = (b.t - a.t) / 1000;
        if (dt > 0 && b.t > startMs && a.t < endMs)
          pts.push([
            b.t - startMs,
            Math.max(0, (b.commands >= a.commands ? b.commands - a.commands : b.commands) - 1) / dt,
          ]);
      }
      infra.push(
        pts.length
          ? { name: n.ops, source: 'redis', query: desc.query, unit: '/s', stats: summarize(pts), series: pts }
          : unavailable('redis', desc, noSample),
      );
    }
    infra.push(counter(n.evictions, (s) => s.evicted));
    infra.push(counter(n.rejected, (s) => s.rejected));
    {
      const desc = d(n.hitRate);
      const last = counting[counting.length - 1];
      if (!base || !last)
        infra.push(unavailable('redis', desc, base ? noSample : 'no INFO sample before the run to count from'));
      else {
        const hits = increases(
          base.hits,
          counting.map((s) => s.hits),
        ).at(-1)!;
        const misses = increases(
          base.misses,
          counting.map((s) => s.misses),
        ).at(-1)!;
        if (hits + misses === 0)
          infra.push(unavailable('redis', desc, 'no key was read during the run (no keyspace hits or misses)'));
        else {
          const v = (hits / (hits + misses)) * 100;
          infra.push({
            name: n.hitRate,
            source: 'redis',
            query: `${desc.query}: ${hits} hits, ${misses} misses`,
            unit: '%',
            stats: { min: v, mean: v, p95: v, max: v, last: v },
            series: [[last.t - startMs, v]],
          });
        }
      }
    }
    infra.push(gauge(n.blocked, (s) => s.blocked));
    if (this.sampleFailures > 0) {
      notes.push(
        `redis: ${this.sampleFailures} of ${this.sampleFailures + all.length} INFO samples failed${this.lastError ? ` (${this.lastError})` : ''}`,
      );
    }
    return { infra, notes };
  }

  async stop(): Promise<void> {
    this.sampler.halt();
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    // quit() waits for an answer that a dead server never gives: bounded, then the socket is dropped.
    await Promise.race([client.quit().catch(() => undefined), sleep(1000)]);
    client.disconnect();
  }
}

export function createRedisSource(cfg: RedisSourceConfig, log: Logger, deps?: RedisDeps): Source {
  return new RedisSource(cfg, log, deps);
}
