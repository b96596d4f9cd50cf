// The sources section of the config, the isolation collectAll promises (a broken source never breaks the run),
// secrets redaction, and the lazy loading of the heavy clients.
import { build } from 'esbuild';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/load.js';
import { sourcesSchema, type SourceConfig } from '../src/config/sources.js';
import { collectAll, createSources, startSources, stopSources, type Source } from '../src/sources/index.js';
import { summarize } from '../src/metrics/series.js';
import type { MetricDescriptor, SourceResult } from '../src/sources/types.js';
import { memoryLog } from './helpers/memory-log.js';
import { Redactor, redactPatterns } from '../src/secrets.js';

function issues(input: unknown): string[] {
  const r = sourcesSchema.safeParse(input);
  if (r.success) return [];
  return r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('sources config', () => {
  it('parses every kind with defaults filled in', () => {
    const parsed = sourcesSchema.parse([
      {
        kind: 'cloudwatch',
        region: 'eu-west-1',
        metrics: [
          { preset: 'ecs-cpu', cluster: 'prod', service: 'api' },
          { preset: 'rds-connections', instance: 'db', 'max-connections': 500, name: 'rds_connections' },
          {
            name: 'queue',
            namespace: 'AWS/SQS',
            metric: 'ApproximateNumberOfMessagesVisible',
            dimensions: { QueueName: 'jobs' },
            stat: 'Maximum',
          },
        ],
      },
      {
        kind: 'prometheus',
        url: 'http://prometheus:9090',
        'bearer-token-env': 'PROM_TOKEN',
        metrics: [{ preset: 'node-memory' }],
      },
      { kind: 'postgres', 'url-env': 'DATABASE_URL' },
    ]);
    expect(parsed[0]).toMatchObject({
      kind: 'cloudwatch',
      region: 'eu-west-1',
      marginMs: 60_000,
      periodS: 60,
      lagWaitMs: 180_000,
      allowIncomplete: false,
      metrics: [
        { name: 'cpu', preset: 'ecs-cpu', cluster: 'prod', service: 'api', highResolution: false },
        { name: 'rds_connections', limit: 500 },
        { name: 'queue', namespace: 'AWS/SQS', dimensions: { QueueName: 'jobs' }, stat: 'Maximum' },
      ],
    });
    expect(parsed[1]).toMatchObject({
      kind: 'prometheus',
      stepMs: 15_000,
      rateWindow: '1m',
      bearerTokenEnv: 'PROM_TOKEN',
      metrics: [{ name: 'memory', unit: '%' }],
    });
    expect(parsed[2]).toEqual({
      kind: 'postgres',
      urlEnv: 'DATABASE_URL',
      name: 'db_connections',
      intervalMs: 1000,
      slowQueries: true,
      statementSlowdown: false,
      top: 10,
      statementTimeoutMs: 2000,
      connectTimeoutMs: 5000,
      activity: true,
      queries: [],
      url: undefined,
      host: undefined,
      port: undefined,
      user: undefined,
      database: undefined,
      passwordEnv: undefined,
    } satisfies SourceConfig);
  });

  it.each([
    [
      [{ kind: 'cloudwatch', metrics: [{ preset: 'ecs-cpu' }] }],
      /0\.metrics\.0\.cluster: preset ecs-cpu needs "cluster"/,
    ],
    [
      [{ kind: 'cloudwatch', metrics: [{ name: 'x', namespace: 'AWS/X' }] }],
      /metric: a custom CloudWatch metric \(no preset\) needs "metric"/,
    ],
    [
      [{ kind: 'cloudwatch', metrics: [{ preset: 'rds-cpu', instance: 'db', namespace: 'AWS/RDS' }] }],
      /either a preset or namespace\/metric/,
    ],
    [[{ kind: 'prometheus', url: 'http://p:9090', metrics: [{ query: 'up' }] }], /needs "name"/],
    [[{ kind: 'prometheus', url: 'http://p:9090', metrics: [{ preset: 'container-cpu' }] }], /needs "container"/],
    [[{ kind: 'prometheus', url: 'http://p:9090', step: '1.5s', metrics: [{ preset: 'node-cpu' }] }], /whole seconds/],
    [[{ kind: 'postgres', url: 'postgres://app@db/app', 'url-env': 'DATABASE_URL' }], /either "url" or "url-env"/],
    [[{ kind: 'postgres', 'url-env': 'not a name' }], /name of an environment variable/],
    [[{ kind: 'datadog' }], /a source needs "kind": cloudwatch, prometheus, postgres, redis, cloudwatch-logs/],
    [[{ kind: 'cloudwatch-logs', 'log-groups': [] }], /log-groups/],
    [[{ kind: 'cloudwatch-logs', 'log-groups': '/ecs/api', pattern: 'a/b' }], /cannot contain "\/"/],
    [
      [
        { kind: 'cloudwatch', metrics: [{ preset: 'ecs-cpu', cluster: 'c' }] },
        { kind: 'prometheus', url: 'http://p:9090', metrics: [{ preset: 'node-cpu' }] },
      ],
      /metric name "cpu" is used twice \(also in sources\[0\]\); give one of them a "name:"/,
    ],
  ])('rejects %j', (input, message) => {
    expect(issues(input).join('\n')).toMatch(message);
  });

  it('refuses secrets written into the committed file, without repeating them', () => {
    const pg = issues([{ kind: 'postgres', url: 'postgres://app:Sup3r-Secret@db:5432/app' }]);
    expect(pg.join('\n')).toMatch(/url: the URL carries a password.*use "url-env: DATABASE_URL" or "password-env"/);
    expect(pg.join('\n')).not.toContain('Sup3r-Secret');
    const prom = issues([
      { kind: 'prometheus', url: 'https://u:Sup3r-Secret@prom.example.com', metrics: [{ preset: 'node-cpu' }] },
    ]);
    expect(prom.join('\n')).toMatch(/the URL carries credentials/);
    expect(prom.join('\n')).not.toContain('Sup3r-Secret');
  });

  it('refuses a password inline through the config loader without echoing it in "got ..."', () => {
    const SECRET = 'Hunter2-Very-Secret';
    const attempts: unknown[] = [
      { kind: 'postgres', url: `postgres://app:${SECRET}@db:5432/app` },
      { kind: 'postgres', url: `postgres://app:${SECRET}@db:5432/app`, 'url-env': 'DATABASE_URL' },
      { kind: 'postgres', url: `postgres://app:${SECRET}@db:5432/app`, interval: '10ms' },
      { kind: 'prometheus', url: `https://grafana:${SECRET}@prom.example.com`, metrics: [{ preset: 'node-cpu' }] },
      { kind: 'prometheus', url: `https://prom.example.com/?token=${SECRET}`, metrics: [{ preset: 'container-cpu' }] },
      { kind: 'postgress', url: `postgres://app:${SECRET}@db:5432/app` },
      { kind: 'redis', url: `redis://default:${SECRET}@cache:6379` },
      { kind: 'postgres', url: `host=db user=app password=${SECRET}` },
      { kind: 'redis', url: `rediss://:${SECRET}@cache:6379`, tls: 'yes' },
    ];
    for (const source of attempts) {
      let message = '';
      try {
        resolveConfig(
          { target: 'http://127.0.0.1:1' },
          { workspace: '/nowhere', readFile: () => JSON.stringify({ sources: [source] }), fileExists: () => true },
        );
      } catch (e) {
        message = (e as Error).message;
      }
      expect(message, JSON.stringify(source)).toMatch(/^\.github\/perf-gate\.yml: sources\[0\]/);
      expect(message).not.toContain(SECRET);
    }
  });

  it('is a config section: kebab-case keys, unknown keys rejected', () => {
    expect(issues([{ kind: 'postgres', 'url-env': 'DATABASE_URL', urlEnv: 'X' }]).join('\n')).toMatch(/urlEnv/);
  });
});

/** A scripted source for the isolation tests. */
function fake(
  name: string,
  behaviour: Partial<Pick<Source, 'start' | 'collect' | 'stop'>> & { timeoutMs?: number; metrics?: string[] },
): Source & { stopped: number } {
  const metrics: MetricDescriptor[] = (behaviour.metrics ?? [name]).map((n) => ({
    name: n,
    unit: '%',
    query: `${n} query`,
  }));
  const s = {
    kind: 'prometheus' as const,
    label: `fake ${name}`,
    metrics,
    collectTimeoutMs: behaviour.timeoutMs ?? 1000,
    stopped: 0,
    start: behaviour.start ?? (async () => {}),
    collect:
      behaviour.collect ??
      (async (): Promise<SourceResult> => ({
        infra: metrics.map((d) => ({
          name: d.name,
          source: 'prometheus',
          query: d.query,
          unit: '%',
          stats: { max: 1 },
        })),
      })),
    async stop() {
      s.stopped++;
      await behaviour.stop?.();
    },
  };
  return s;
}

describe('collectAll', () => {
  it('keeps each source to itself: a throw, a hang, a failed start and a missing metric become unavailable rows', async () => {
    const log = memoryLog();
    const ok = fake('ok', {});
    const throws = fake('throws', {
      collect: async () => {
        throw new Error('boom at postgres://app:Leaky-Pass@db/app');
      },
    });
    const hangs = fake('hangs', { timeoutMs: 100, collect: () => new Promise(() => {}) });
    const noStart = fake('nostart', {
      start: async () => {
        throw new Error('cannot connect');
      },
    });
    const slowStart = fake('slowstart', { start: () => new Promise(() => {}) });
    const partial = fake('partial', {
      metrics: ['a', 'b'],
      collect: async () => ({
        infra: [{ name: 'a', source: 'prometheus', query: 'a', unit: '%', stats: { max: 2 } }],
        notes: ['partial note'],
      }),
    });
    const sources = [ok, throws, hangs, noStart, slowStart, partial];
    const t0 = Date.now();
    await startSources(sources, log, { timeoutMs: 200 });
    expect(Date.now() - t0).toBeLessThan(1000);
    const out = await collectAll(sources, { start: new Date(t0), end: new Date() }, log);
    expect(Date.now() - t0).toBeLessThan(2000);
    const by = Object.fromEntries(out.infra.map((m) => [m.name, m]));
    expect(by.ok!.stats.max).toBe(1);
    expect(by.throws!.unavailable).toBe('boom at postgres://app:***@db/app');
    expect(by.hangs!.unavailable).toMatch(/no result within/);
    expect(by.nostart!.unavailable).toBe('cannot connect');
    expect(by.slowstart!.unavailable).toMatch(/did not start within/);
    expect(by.a!.stats.max).toBe(2);
    expect(by.b!.unavailable).toMatch(/returned no value/);
    expect(out.notes).toEqual(['partial note']);
    expect(out.slowQueries).toBeUndefined();
    for (const s of sources) expect(s.stopped).toBeGreaterThanOrEqual(1);
    expect(log.lines.join('\n')).not.toContain('Leaky-Pass');
    await stopSources(sources);
  });

  it('creates sources by kind without loading any client library', async () => {
    let sdkLoads = 0;
    let pgLoads = 0;
    const configs = sourcesSchema.parse([
      { kind: 'cloudwatch', metrics: [{ preset: 'ecs-cpu', cluster: 'c' }] },
      { kind: 'prometheus', url: 'http://127.0.0.1:9', metrics: [{ preset: 'node-memory' }] },
      { kind: 'postgres', 'url-env': 'NOPE' },
      { kind: 'redis', 'url-env': 'NOPE_EITHER' },
      { kind: 'cloudwatch-logs', 'log-groups': '/ecs/api' },
    ]);
    let redisLoads = 0;
    let logsLoads = 0;
    const sources = createSources(configs, memoryLog(), {
      env: {},
      redis: {
        loadClient: async () => {
          redisLoads++;
          throw new Error('not in this test');
        },
      },
      cloudwatchLogs: {
        loadSdk: async () => {
          logsLoads++;
          throw new Error('not in this test');
        },
      },
      cloudwatch: {
        loadSdk: async () => {
          sdkLoads++;
          throw new Error('not in this test');
        },
      },
      postgres: {
        loadPg: async () => {
          pgLoads++;
          throw new Error('not in this test');
        },
      },
    });
    expect(sources.map((s) => s.kind)).toEqual(['cloudwatch', 'prometheus', 'postgres', 'redis', 'cloudwatch-logs']);
    await startSources(sources, memoryLog());
    // A postgres or redis source without its URL never loads its client; the AWS SDKs load when collecting.
    expect([sdkLoads, pgLoads, redisLoads, logsLoads]).toEqual([0, 0, 0, 0]);
    const out = await collectAll(sources.slice(3), { start: new Date(), end: new Date() }, memoryLog());
    expect(out.infra.every((m) => m.unavailable)).toBe(true);
    expect(out.infra[0]!.unavailable).toBe('environment variable NOPE_EITHER (url-env) is not set');
    expect(out.logs).toEqual([
      expect.objectContaining({
        source: 'log_errors',
        unavailable: 'the AWS SDK could not be loaded: not in this test',
      }),
    ]);
    expect([redisLoads, logsLoads]).toEqual([0, 1]);
    await stopSources(sources);
  });
});

describe('lazy loading of the AWS SDK, pg and ioredis', () => {
  it('imports them only as types or dynamically', () => {
    const dir = join(import.meta.dirname, '../src/sources');
    for (const file of readdirSync(dir)) {
      const text = readFileSync(join(dir, file), 'utf8');
      for (const line of text.split('\n')) {
        if (/^import\s/.test(line) && /from '(@aws-sdk\/[^']+|pg|ioredis)'/.test(line))
          expect(line, `${file}: ${line}`).toMatch(/^import type /);
      }
    }
  });

  it('keeps them out of the entry chunk of an esbuild bundle with splitting (as scripts/build.mjs builds)', async () => {
    const out = mkdtempSync(join(tmpdir(), 'perf-gate-sources-bundle-'));
    try {
      const result = await build({
        entryPoints: { entry: join(import.meta.dirname, '../src/sources/index.ts') },
        bundle: true,
        platform: 'node',
        format: 'esm',
        splitting: true,
        outdir: out,
        metafile: true,
        logLevel: 'silent',
      });
      const outputs = Object.entries(result.metafile.outputs).filter(([file]) => file.endsWith('.js'));
      const inputsOf = (file: string): string[] => Object.keys(result.metafile.outputs[file]!.inputs);
      const entry = outputs.find(([, o]) => o.entryPoint !== undefined)![0];
      const heavy = /node_modules\/(@aws-sdk|@smithy|pg|pg-protocol|pg-pool|ioredis)\//;
      // zod (the config schema) is in the entry; the clients are not, and are reached only through import().
      expect(inputsOf(entry).filter((p) => heavy.test(p))).toEqual([]);
      const lazy = outputs.filter(([file]) => file !== entry).flatMap(([file]) => inputsOf(file));
      expect(lazy.some((p) => p.includes('node_modules/@aws-sdk/client-cloudwatch/'))).toBe(true);
      expect(lazy.some((p) => p.includes('node_modules/pg/'))).toBe(true);
      expect(lazy.some((p) => p.includes('node_modules/ioredis/'))).toBe(true);
      expect(lazy.some((p) => p.includes('node_modules/@aws-sdk/client-cloudwatch-logs/'))).toBe(true);
      expect(readFileSync(join(entry), 'utf8')).toMatch(/import\("\.\/[^"]+\.js"\)/);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});

describe('redaction and statistics', () => {
  it('removes registered secrets and credential patterns', () => {
    const r = new Redactor().add('p@ss w0rd!');
    expect(r.redact('postgres://u:p%40ss%20w0rd!@h/db failed; password=p@ss w0rd!')).not.toMatch(/p@ss|p%40ss/);
    expect(redactPatterns('Authorization: Bearer abcdefghijkl')).toBe('Authorization: Bearer ***');
    expect(redactPatterns('host=db password=hunter22 user=app')).toBe('host=db password=*** user=app');
    expect(redactPatterns('https://user:secret@example.com/x')).toBe('https://user:***@example.com/x');
  });

  it('summarizes a series with nearest-rank p95 and the latest value as last', () => {
    const series: Array<[number, number]> = Array.from({ length: 20 }, (_, i) => [i * 1000, i + 1]);
    expect(summarize(series)).toEqual({ min: 1, mean: 10.5, p95: 19, max: 20, last: 20 });
    expect(
      summarize([
        [2000, 5],
        [1000, 9],
      ]),
    ).toMatchObject({ last: 5 });
    expect(summarize([])).toEqual({});
  });
});
