// The `sources:` section of `.github/perf-gate.yml`: where infrastructure metrics come from. Keys are kebab-case
// like the rest of the file; the parsed value is a typed union with defaults filled in, so the sources never
// look at raw YAML. Secrets are never accepted inline: a config file is committed, so passwords and tokens are
// named by environment variable (`url-env`, `password-env`, `bearer-token-env`) and read when the source starts.
import { z } from 'zod';
import { SOURCE_KINDS } from '../model.js';
import { parseDuration } from '../units.js';
import { redactPatterns } from '../secrets.js';
import {
  CLOUDWATCH_PRESETS,
  INFRA_UNITS,
  POSTGRES_QUERY_AT,
  PRESET_NAMES,
  PROMETHEUS_PRESETS,
  postgresActivityNames,
  postgresSlowdownName,
  redisMetricNames,
  type CloudWatchLogsSourceConfig,
  type CloudWatchMetricConfig,
  type CloudWatchSourceConfig,
  type PostgresSourceConfig,
  type PrometheusMetricConfig,
  type PrometheusSourceConfig,
  type RedisSourceConfig,
  type SourceConfig,
} from './source-types.js';
import { refusedSql } from './postgres-guard.js';

// The typed configs live in source-types.ts; this module parses the YAML into them and re-exports them.
export * from './source-types.js';

/** Strings with credentials masked, for an error message's "got ..." part: a refused URL is not echoed. */
export function safeInput(value: unknown): unknown {
  if (typeof value === 'string') return redactPatterns(value);
  if (Array.isArray(value)) return value.map(safeInput);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, safeInput(v)]));
  return value;
}

/**
 * A custom issue whose received value is the field at `path`, credentials masked. Without an explicit input zod
 * reports the whole object, and the config loader prints it: a URL with a password in it, echoed in the log.
 */
function issue(
  ctx: { value: unknown; addIssue(i: { code: 'custom'; path: PropertyKey[]; message: string; input?: unknown }): void },
  path: PropertyKey[],
  message: string,
): void {
  let v: unknown = ctx.value;
  for (const k of path) v = v && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  ctx.addIssue({ code: 'custom', path, message, input: safeInput(v === undefined ? ctx.value : v) });
}

const durationMs = z.union([z.string(), z.number()]).transform((v, ctx) => {
  const ms = typeof v === 'number' ? v * 1000 : parseDuration(v);
  if (ms === undefined || !Number.isFinite(ms) || ms < 0) {
    ctx.addIssue({ code: 'custom', message: 'expected a duration such as 500ms, 30s, 2m (a bare number is seconds)' });
    return z.NEVER;
  }
  return ms;
});

const envName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected the name of an environment variable, e.g. DATABASE_URL');
const metricName = z
  .string()
  .regex(
    /^[A-Za-z_][\w.-]*$/,
    'metric names are letters, digits, _ . and -, starting with a letter (targets refer to them)',
  );
const unit = z.enum(INFRA_UNITS);
const labelMap = z.record(z.string(), z.union([z.string(), z.number()]).transform(String));

/** True when a URL carries a password (or a token-like query value) that would end up committed. */
function urlHasSecret(text: string): boolean {
  try {
    const u = new URL(text);
    if (u.password) return true;
    return [...u.searchParams.keys()].some((k) => /password|passwd|token|secret/i.test(k));
  } catch {
    // A libpq key=value string (`host=db password=...`) or a URL the parser refuses.
    return /\/\/[^/@\s]*:[^/@\s]*@/.test(text) || /\b(password|passwd|token|secret)\s*=/i.test(text);
  }
}

const cloudwatchMetric = z
  .strictObject({
    preset: z.enum(CLOUDWATCH_PRESETS).optional(),
    name: metricName.optional(),
    cluster: z.string().min(1).optional(),
    service: z.string().min(1).optional(),
    instance: z.string().min(1).optional(),
    'load-balancer': z.string().min(1).optional(),
    'target-group': z.string().min(1).optional(),
    'max-connections': z.number().positive().optional(),
    limit: z.number().positive().optional(),
    namespace: z.string().min(1).optional(),
    metric: z.string().min(1).optional(),
    dimensions: labelMap.optional(),
    // CloudWatch checks the statistic itself (Average, Sum, p99, tm90, ...); its message is passed on.
    stat: z.string().min(1).optional(),
    unit: unit.optional(),
    'high-resolution': z.boolean().optional(),
  })
  .superRefine((m, ctx) => {
    const need = (key: keyof typeof m, why: string): void => {
      if (m[key] === undefined) issue(ctx, [key], `${why} needs "${key}"`);
    };
    switch (m.preset) {
      case 'ecs-cpu':
      case 'ecs-memory':
        need('cluster', `preset ${m.preset}`);
        break;
      case 'rds-cpu':
      case 'rds-connections':
        need('instance', `preset ${m.preset}`);
        break;
      case 'alb-requests':
      case 'alb-5xx':
      case 'alb-target-p99':
        need('load-balancer', `preset ${m.preset}`);
        break;
      case 'ecs-running-tasks':
        need('cluster', `preset ${m.preset}`);
        need('service', `preset ${m.preset}`);
        break;
      case 'alb-healthy-hosts':
      case 'alb-unhealthy-hosts':
        // Published per target group and load balancer: both dimensions, or CloudWatch returns nothing.
        need('load-balancer', `preset ${m.preset}`);
        need('target-group', `preset ${m.preset}`);
        break;
      case undefined:
        need('name', 'a custom CloudWatch metric (no preset)');
        need('namespace', 'a custom CloudWatch metric (no preset)');
        need('metric', 'a custom CloudWatch metric (no preset)');
        break;
    }
    if (m.preset !== undefined && (m.namespace !== undefined || m.metric !== undefined)) {
      issue(ctx, ['preset'], 'give either a preset or namespace/metric, not both');
    }
  })
  .transform(
    (m): CloudWatchMetricConfig => ({
      name: m.name ?? PRESET_NAMES[m.preset!],
      preset: m.preset,
      cluster: m.cluster,
      service: m.service,
      instance: m.instance,
      loadBalancer: m['load-balancer'] === undefined ? undefined : albDimension(m['load-balancer']),
      targetGroup: m['target-group'] === undefined ? undefined : targetGroupDimension(m['target-group']),
      limit: m['max-connections'] ?? m.limit,
      namespace: m.namespace,
      metric: m.metric,
      dimensions: m.dimensions ?? {},
      stat: m.stat,
      unit: m.unit,
      highResolution: m['high-resolution'] ?? false,
    }),
  );

/** CloudWatch's LoadBalancer dimension is `app/<name>/<id>`; people usually have the ARN at hand. */
export function albDimension(value: string): string {
  const i = value.indexOf(':loadbalancer/');
  return i >= 0 ? value.slice(i + ':loadbalancer/'.length) : value;
}

function targetGroupDimension(value: string): string {
  const i = value.indexOf(':targetgroup/');
  return i >= 0 ? value.slice(i + 1) : value;
}

const cloudwatchSource = z
  .strictObject({
    kind: z.literal('cloudwatch'),
    region: z.string().min(1).optional(),
    endpoint: z.url().optional(),
    margin: durationMs.optional(),
    period: z.union([z.number().int().positive(), z.string()]).optional(),
    'lag-wait': durationMs.optional(),
    'lag-retry': durationMs.optional(),
    'allow-incomplete': z.boolean().optional(),
    timeout: durationMs.optional(),
    retries: z.number().int().min(0).max(10).optional(),
    'retry-delay': durationMs.optional(),
    metrics: z.array(cloudwatchMetric).min(1),
  })
  .transform((s, ctx): CloudWatchSourceConfig => {
    let periodS = 60;
    if (typeof s.period === 'number') periodS = s.period;
    else if (typeof s.period === 'string') {
      const ms = parseDuration(s.period);
      if (ms === undefined || ms < 1000 || ms % 1000 !== 0) {
        issue(ctx, ['period'], 'expected whole seconds such as 60, 1m or 5s');
        return z.NEVER;
      }
      periodS = ms / 1000;
    }
    return {
      kind: 'cloudwatch',
      region: s.region,
      endpoint: s.endpoint,
      marginMs: s.margin ?? 60_000,
      periodS,
      lagWaitMs: s['lag-wait'] ?? 180_000,
      lagRetryMs: s['lag-retry'] ?? 20_000,
      allowIncomplete: s['allow-incomplete'] ?? false,
      requestTimeoutMs: s.timeout ?? 15_000,
      retries: s.retries ?? 4,
      retryDelayMs: s['retry-delay'] ?? 1000,
      metrics: s.metrics,
    };
  });

const prometheusMetric = z
  .strictObject({
    preset: z.enum(PROMETHEUS_PRESETS).optional(),
    name: metricName.optional(),
    query: z.string().min(1).optional(),
    labels: labelMap.optional(),
    container: z.string().min(1).optional(),
    unit: unit.optional(),
    limit: z.number().positive().optional(),
    'shares-by': z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'expected a label name such as instance')
      .optional(),
  })
  .superRefine((m, ctx) => {
    if (m['shares-by'] !== undefined && m.query === undefined)
      issue(
        ctx,
        ['shares-by'],
        '"shares-by" needs a query with one series per instance, e.g. sum by (instance) (rate(http_requests_total[1m]))',
      );
    if (m.preset === undefined) {
      if (m.query === undefined) issue(ctx, ['query'], 'a metric without a preset needs "query" (PromQL)');
      if (m.name === undefined) issue(ctx, ['name'], 'a custom PromQL metric needs "name"');
    } else if (m.query !== undefined) {
      issue(ctx, ['query'], 'give either a preset or a query, not both');
    }
    if ((m.preset === 'container-cpu' || m.preset === 'container-memory') && m.container === undefined) {
      issue(ctx, ['container'], `preset ${m.preset} needs "container" (the container label)`);
    }
  })
  .transform(
    (m): PrometheusMetricConfig => ({
      name: m.name ?? PRESET_NAMES[m.preset!],
      preset: m.preset,
      query: m.query,
      labels: m.labels ?? {},
      container: m.container,
      unit: m.unit ?? (m.preset && m.preset !== 'instances-up' ? '%' : 'count'),
      limit: m.limit,
      ...(m['shares-by'] !== undefined ? { sharesBy: m['shares-by'] } : {}),
    }),
  );

const prometheusSource = z
  .strictObject({
    kind: z.literal('prometheus'),
    url: z.url({ protocol: /^https?$/ }),
    step: durationMs.optional(),
    'rate-window': z
      .string()
      .regex(/^\d+(ms|s|m|h)$/, 'expected a PromQL duration such as 1m or 30s')
      .optional(),
    'bearer-token-env': envName.optional(),
    username: z.string().min(1).optional(),
    'password-env': envName.optional(),
    timeout: durationMs.optional(),
    retries: z.number().int().min(0).max(10).optional(),
    metrics: z.array(prometheusMetric).min(1),
  })
  .superRefine((s, ctx) => {
    if (urlHasSecret(s.url)) {
      issue(
        ctx,
        ['url'],
        'the URL carries credentials; a config file is committed: use "username" with "password-env", or "bearer-token-env"',
      );
    }
    if (s['password-env'] !== undefined && s.username === undefined) {
      issue(ctx, ['username'], '"password-env" needs "username" (basic auth)');
    }
    if (s['bearer-token-env'] !== undefined && s['password-env'] !== undefined) {
      issue(ctx, ['bearer-token-env'], 'use either a bearer token or basic auth, not both');
    }
    const step = s.step ?? 15_000;
    if (step < 1000 || step % 1000 !== 0) issue(ctx, ['step'], 'expected whole seconds, at least 1s');
  })
  .transform(
    (s): PrometheusSourceConfig => ({
      kind: 'prometheus',
      url: s.url,
      stepMs: s.step ?? 15_000,
      rateWindow: s['rate-window'] ?? '1m',
      bearerTokenEnv: s['bearer-token-env'],
      username: s.username,
      passwordEnv: s['password-env'],
      requestTimeoutMs: s.timeout ?? 10_000,
      retries: s.retries ?? 2,
      metrics: s.metrics,
    }),
  );

const postgresSource = z
  .strictObject({
    kind: z.literal('postgres'),
    url: z.string().min(1).optional(),
    'url-env': envName.optional(),
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    user: z.string().min(1).optional(),
    database: z.string().min(1).optional(),
    'password-env': envName.optional(),
    name: metricName.optional(),
    interval: durationMs.optional(),
    'slow-queries': z.boolean().optional(),
    'statement-slowdown': z.boolean().optional(),
    top: z.number().int().min(1).max(100).optional(),
    'statement-timeout': durationMs.optional(),
    'connect-timeout': durationMs.optional(),
    activity: z.boolean().optional(),
    queries: z
      .array(
        z.strictObject({
          name: metricName,
          sql: z.string().trim().min(1, 'expected an SQL statement returning one number'),
          at: z.enum(POSTGRES_QUERY_AT).optional(),
          unit: unit.optional(),
        }),
      )
      .optional(),
  })
  .superRefine((s, ctx) => {
    (s.queries ?? []).forEach((q, i) => {
      // $3 and beyond would reach PostgreSQL as a missing parameter; say so here, before any load is sent.
      const extra = /\$([3-9]|\d{2,})\b/.exec(q.sql);
      if (extra)
        issue(ctx, ['queries', i, 'sql'], `only $1 (run start) and $2 (run end) are defined, got $${extra[1]}`);
      const refused = refusedSql(q.sql);
      if (refused) issue(ctx, ['queries', i, 'sql'], `query "${q.name}" ${refused}`);
    });
    if (s['statement-slowdown'] && s['slow-queries'] === false)
      issue(ctx, ['statement-slowdown'], 'needs pg_stat_statements snapshots: remove "slow-queries: false"');
    if (s.url !== undefined && s['url-env'] !== undefined) {
      issue(ctx, ['url'], 'give either "url" or "url-env", not both');
    }
    if (s.url !== undefined && urlHasSecret(s.url)) {
      issue(
        ctx,
        ['url'],
        'the URL carries a password; a config file is committed: use "url-env: DATABASE_URL" or "password-env"',
      );
    }
    if (
      (s.url !== undefined || s['url-env'] !== undefined) &&
      (s.host !== undefined || s.port !== undefined || s.database !== undefined)
    ) {
      issue(ctx, ['host'], 'give either a URL or host/port/database, not both');
    }
    const interval = s.interval ?? 1000;
    if (interval < 50) issue(ctx, ['interval'], 'expected at least 50ms');
  })
  .transform(
    (s): PostgresSourceConfig => ({
      kind: 'postgres',
      url: s.url,
      urlEnv: s['url-env'],
      host: s.host,
      port: s.port,
      user: s.user,
      database: s.database,
      passwordEnv: s['password-env'],
      name: s.name ?? 'db_connections',
      intervalMs: s.interval ?? 1000,
      slowQueries: s['slow-queries'] ?? true,
      statementSlowdown: s['statement-slowdown'] ?? false,
      top: s.top ?? 10,
      statementTimeoutMs: s['statement-timeout'] ?? 2000,
      connectTimeoutMs: s['connect-timeout'] ?? 5000,
      activity: s.activity ?? true,
      queries: (s.queries ?? []).map((q) => ({
        name: q.name,
        sql: q.sql,
        at: q.at ?? 'interval',
        unit: q.unit ?? 'count',
      })),
    }),
  );

const redisSource = z
  .strictObject({
    kind: z.literal('redis'),
    url: z
      .string()
      .regex(/^rediss?:\/\//, 'expected a redis:// or rediss:// URL')
      .optional(),
    'url-env': envName.optional(),
    host: z.string().min(1).optional(),
    port: z.number().int().min(1).max(65535).optional(),
    username: z.string().min(1).optional(),
    'password-env': envName.optional(),
    tls: z.boolean().optional(),
    name: metricName.optional(),
    interval: durationMs.optional(),
    'connect-timeout': durationMs.optional(),
    timeout: durationMs.optional(),
  })
  .superRefine((s, ctx) => {
    if (s.url !== undefined && s['url-env'] !== undefined)
      issue(ctx, ['url'], 'give either "url" or "url-env", not both');
    if (s.url !== undefined && urlHasSecret(s.url)) {
      issue(
        ctx,
        ['url'],
        'the URL carries a password; a config file is committed: use "url-env: REDIS_URL" or "password-env"',
      );
    }
    if ((s.url !== undefined || s['url-env'] !== undefined) && (s.host !== undefined || s.port !== undefined)) {
      issue(ctx, ['host'], 'give either a URL or host/port, not both');
    }
    if (s.url === undefined && s['url-env'] === undefined && s.host === undefined) {
      issue(ctx, ['host'], 'a Redis source needs "url", "url-env" or "host"');
    }
    if ((s.interval ?? 1000) < 50) issue(ctx, ['interval'], 'expected at least 50ms');
  })
  .transform(
    (s): RedisSourceConfig => ({
      kind: 'redis',
      url: s.url,
      urlEnv: s['url-env'],
      host: s.host,
      port: s.port,
      username: s.username,
      passwordEnv: s['password-env'],
      tls: s.tls ?? false,
      name: s.name ?? 'redis',
      intervalMs: s.interval ?? 1000,
      connectTimeoutMs: s['connect-timeout'] ?? 5000,
      commandTimeoutMs: s.timeout ?? 2000,
    }),
  );

const cloudwatchLogsSource = z
  .strictObject({
    kind: z.literal('cloudwatch-logs'),
    name: metricName.optional(),
    region: z.string().min(1).optional(),
    endpoint: z.url().optional(),
    'log-groups': z.union([
      z
        .string()
        .min(1)
        .transform((g) => [g]),
      z.array(z.string().min(1)).min(1).max(50),
    ]),
    query: z.string().trim().min(1).optional(),
    pattern: z.string().min(1).optional(),
    top: z.number().int().min(1).max(50).optional(),
    delay: durationMs.optional(),
    'query-timeout': durationMs.optional(),
    poll: durationMs.optional(),
    timeout: durationMs.optional(),
    retries: z.number().int().min(0).max(10).optional(),
    'retry-delay': durationMs.optional(),
  })
  .superRefine((s, ctx) => {
    if (s.query !== undefined && s.pattern !== undefined)
      issue(ctx, ['pattern'], 'give either "query" or "pattern", not both');
    if (s.pattern !== undefined) {
      try {
        new RegExp(s.pattern);
      } catch {
        issue(ctx, ['pattern'], 'expected a regular expression such as ERROR|Exception|panic');
      }
      if (s.pattern.includes('/')) issue(ctx, ['pattern'], 'a Logs Insights pattern cannot contain "/"');
    }
  })
  .transform(
    (s): CloudWatchLogsSourceConfig => ({
      kind: 'cloudwatch-logs',
      name: s.name ?? 'log_errors',
      region: s.region,
      endpoint: s.endpoint,
      logGroups: s['log-groups'],
      query: s.query,
      pattern: s.pattern ?? 'ERROR|Exception|panic',
      top: s.top ?? 10,
      // Lines written in the run's last seconds reach Logs Insights a little later; missing them would be a false pass.
      delayMs: s.delay ?? 15_000,
      queryTimeoutMs: s['query-timeout'] ?? 60_000,
      pollMs: s.poll ?? 1000,
      requestTimeoutMs: s.timeout ?? 15_000,
      retries: s.retries ?? 4,
      retryDelayMs: s['retry-delay'] ?? 1000,
    }),
  );

// The kind is checked first so a typo in one key is reported against the right source, not as "no union matched".
const sourceSchema = z.preprocess(
  (value, ctx) => {
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      const kind = (value as Record<string, unknown>).kind;
      if (typeof kind !== 'string' || !(SOURCE_KINDS as readonly string[]).includes(kind)) {
        ctx.addIssue({
          code: 'custom',
          input: safeInput(kind),
          path: ['kind'],
          message: `a source needs "kind": ${SOURCE_KINDS.join(', ')}`,
        });
      }
    }
    return value;
  },
  z.discriminatedUnion('kind', [cloudwatchSource, prometheusSource, postgresSource, redisSource, cloudwatchLogsSource]),
);

/** Names the targets refer to, one per metric. */
export function sourceMetricNames(config: SourceConfig): string[] {
  switch (config.kind) {
    case 'cloudwatch':
    case 'prometheus':
      return config.metrics.map((m) => m.name);
    case 'postgres':
      return [
        config.name,
        ...Object.values(postgresActivityNames(config) ?? {}),
        ...[postgresSlowdownName(config)].filter((n): n is string => n !== undefined),
        ...(config.queries ?? []).map((q) => q.name),
      ];
    case 'redis':
      return Object.values(redisMetricNames(config));
    case 'cloudwatch-logs':
      return [config.name];
  }
}

export const sourcesSchema = z.array(sourceSchema).superRefine((list, ctx) => {
  const seen = new Map<string, number>();
  list.forEach((source, i) => {
    // zod runs this even when an entry failed its own checks; such an entry has no names worth comparing.
    if (!source || typeof source !== 'object' || !('kind' in source)) return;
    const names = (() => {
      try {
        return sourceMetricNames(source).filter((n): n is string => typeof n === 'string');
      } catch {
        return [];
      }
    })();
    for (const name of names) {
      const key = name.toLowerCase();
      const first = seen.get(key);
      if (first !== undefined) {
        issue(
          ctx,
          [i],
          `metric name "${name}" is used twice (also in sources[${first}]); give one of them a "name:" so targets can tell them apart`,
        );
      } else seen.set(key, i);
    }
  });
});

export type SourcesInput = z.input<typeof sourcesSchema>;
