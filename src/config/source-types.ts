// What the `sources:` section parses into (config/sources.ts holds the schema): a typed union per source kind with
// its defaults filled in, the presets, and the metric names each source reports under.
import type { InfraMetric, SourceKind } from '../model.js';

export type InfraUnit = InfraMetric['unit'];
export const INFRA_UNITS = ['%', 'count', 'ms', 'bytes', '/s'] as const satisfies readonly InfraUnit[];

export const CLOUDWATCH_PRESETS = [
  'ecs-cpu',
  'ecs-memory',
  'rds-cpu',
  'rds-connections',
  'alb-requests',
  'alb-5xx',
  'alb-target-p99',
  'ecs-running-tasks',
  'alb-healthy-hosts',
  'alb-unhealthy-hosts',
] as const;
export type CloudWatchPreset = (typeof CLOUDWATCH_PRESETS)[number];

export const PROMETHEUS_PRESETS = [
  'node-cpu',
  'node-memory',
  'container-cpu',
  'container-memory',
  'instances-up',
] as const;
export type PrometheusPreset = (typeof PROMETHEUS_PRESETS)[number];

/** The name a preset's metric gets when the user gives none: the names the guide's success criteria use. */
export const PRESET_NAMES: Record<CloudWatchPreset | PrometheusPreset, string> = {
  'ecs-cpu': 'cpu',
  'ecs-memory': 'memory',
  'rds-cpu': 'rds_cpu',
  'rds-connections': 'db_connections',
  'alb-requests': 'alb_requests',
  'alb-5xx': 'alb_5xx',
  'alb-target-p99': 'alb_target_p99',
  'ecs-running-tasks': 'tasks',
  'alb-healthy-hosts': 'healthy_hosts',
  'alb-unhealthy-hosts': 'unhealthy_hosts',
  'instances-up': 'instances',
  'node-cpu': 'cpu',
  'node-memory': 'memory',
  'container-cpu': 'cpu',
  'container-memory': 'memory',
};

export interface CloudWatchMetricConfig {
  name: string;
  preset?: CloudWatchPreset;
  /** ECS presets. */
  cluster?: string;
  service?: string;
  /** RDS presets: the DB instance identifier. */
  instance?: string;
  /** ALB presets: `app/<name>/<id>` (an ARN is accepted and cut down to that). */
  loadBalancer?: string;
  targetGroup?: string;
  /** `% of max` limit (rds-connections: the instance's max_connections). */
  limit?: number;
  /** Custom metrics. */
  namespace?: string;
  metric?: string;
  dimensions: Record<string, string>;
  /** CloudWatch statistic (Average, Maximum, Sum, p99, ...); presets have their own default. */
  stat?: string;
  unit?: InfraUnit;
  /** Published at high resolution (sub-minute periods are only kept for those). */
  highResolution: boolean;
}

export interface CloudWatchSourceConfig {
  kind: 'cloudwatch';
  region?: string;
  /** Endpoint override (VPC endpoints, LocalStack, the tests' stub). */
  endpoint?: string;
  /** Queried before and after the run, for context in the series; stats use the run window only. */
  marginMs: number;
  /** Requested period, seconds; raised to the finest CloudWatch still keeps for data of that age. */
  periodS: number;
  /** CloudWatch publishes a minute or two late: how long after the run end to keep asking for the last point. */
  lagWaitMs: number;
  /** Pause between those attempts. */
  lagRetryMs: number;
  /** Keep the stats of a series whose last point never arrived (with a note) instead of marking it unavailable. */
  allowIncomplete: boolean;
  /** Per HTTP request. */
  requestTimeoutMs: number;
  /** Throttling and transient errors: attempts after the first, and the first backoff (doubled each time). */
  retries: number;
  retryDelayMs: number;
  metrics: CloudWatchMetricConfig[];
}

export interface PrometheusMetricConfig {
  name: string;
  preset?: PrometheusPreset;
  /** Custom PromQL; must return one series (aggregate with max/avg/sum otherwise). */
  query?: string;
  /** Label matchers added to a preset's selectors, e.g. {instance: "web-1:9100"}. */
  labels: Record<string, string>;
  /** container-* presets. */
  container?: string;
  unit: InfraUnit;
  limit?: number;
  /**
   * The query returns one series per instance (`sum by (instance) (...)`): the metric is the load balance, lowest
   * share ÷ highest over the run window, with each instance's share; the label names the instances.
   */
  sharesBy?: string;
}

export interface PrometheusSourceConfig {
  kind: 'prometheus';
  url: string;
  stepMs: number;
  /** Range of `rate()` in the presets. */
  rateWindow: string;
  bearerTokenEnv?: string;
  username?: string;
  passwordEnv?: string;
  requestTimeoutMs: number;
  retries: number;
  metrics: PrometheusMetricConfig[];
}

export interface PostgresSourceConfig {
  kind: 'postgres';
  url?: string;
  urlEnv?: string;
  host?: string;
  port?: number;
  user?: string;
  database?: string;
  passwordEnv?: string;
  /** Metric name of the connection count. */
  name: string;
  intervalMs: number;
  slowQueries: boolean;
  /**
   * Query performance stable: each statement's mean time in the last third of the steady part against the first
   * third (pg_stat_statements snapshots at both ends of each third), as the metric `statement_slowdown`.
   */
  statementSlowdown?: boolean;
  top: number;
  statementTimeoutMs: number;
  connectTimeoutMs: number;
  /** Connections by state, lock waits, longest transaction, and statement rows and block hits (pg_stat_statements). */
  activity: boolean;
  queries: PostgresQueryConfig[];
}

export const POSTGRES_QUERY_AT = ['end', 'interval', 'start', 'change'] as const;
export type PostgresQueryAt = (typeof POSTGRES_QUERY_AT)[number];

/** A query of one's own: one number, read-only, `$1`/`$2` = run start and end (interval: sampling start and now). */
export interface PostgresQueryConfig {
  name: string;
  sql: string;
  /**
   * `end`: once after the run (after the engine returned, so in-flight requests have finished); `interval`: sampled;
   * `start`: once before the load (the database baseline); `change`: before and after, the metric is after − before.
   */
  at: PostgresQueryAt;
  unit: InfraUnit;
}

/** The metric of `statement-slowdown: true`, prefixed like the activity metrics; undefined when not asked for. */
export function postgresSlowdownName(
  cfg: Pick<PostgresSourceConfig, 'name' | 'statementSlowdown'>,
): string | undefined {
  if (!cfg.statementSlowdown) return undefined;
  return `${cfg.name === 'db_connections' ? '' : `${cfg.name}_`}statement_slowdown`;
}

/** The metrics `activity` adds, prefixed with the source's name when it has its own (two databases). */
export function postgresActivityNames(cfg: Pick<PostgresSourceConfig, 'name' | 'slowQueries' | 'activity'>):
  | {
      active: string;
      idleInTransaction: string;
      lockWaits: string;
      longestTransaction: string;
      statementRows?: string;
      sharedBlksHit?: string;
    }
  | undefined {
  if (!cfg.activity) return undefined;
  const p = cfg.name === 'db_connections' ? '' : `${cfg.name}_`;
  return {
    active: `${p}connections_active`,
    idleInTransaction: `${p}connections_idle_in_transaction`,
    lockWaits: `${p}lock_waits`,
    longestTransaction: `${p}longest_transaction`,
    ...(cfg.slowQueries ? { statementRows: `${p}statement_rows`, sharedBlksHit: `${p}shared_blks_hit` } : {}),
  };
}

export interface RedisSourceConfig {
  kind: 'redis';
  url?: string;
  urlEnv?: string;
  host?: string;
  port?: number;
  username?: string;
  passwordEnv?: string;
  tls: boolean;
  /** Metric names are `<name>_clients`, `<name>_memory`, ...; `redis` unless a second Redis needs its own. */
  name: string;
  intervalMs: number;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
}

/** The metrics a Redis source reports, by what they are. */
export function redisMetricNames(cfg: Pick<RedisSourceConfig, 'name'>) {
  const p = cfg.name;
  return {
    clients: `${p}_clients`,
    memory: `${p}_memory`,
    ops: `${p}_ops`,
    evictions: `${p}_evictions`,
    rejected: `${p}_rejected_connections`,
    hitRate: `${p}_hit_rate`,
    blocked: `${p}_blocked`,
  };
}

export interface CloudWatchLogsSourceConfig {
  kind: 'cloudwatch-logs';
  /** The LogSummary's source name and the metric name (`log_errors` unless given). */
  name: string;
  region?: string;
  endpoint?: string;
  logGroups: string[];
  /** Logs Insights query; the default counts messages matching ERROR|Exception|panic. */
  query?: string;
  /** Regular expression of the default query. */
  pattern: string;
  /** Most frequent messages kept. */
  top: number;
  /** Logs arrive a little late: the query waits this long after the run end before it starts. */
  delayMs: number;
  /** Bound on polling GetQueryResults. */
  queryTimeoutMs: number;
  pollMs: number;
  requestTimeoutMs: number;
  retries: number;
  retryDelayMs: number;
}

export type SourceConfig =
  | CloudWatchSourceConfig
  | PrometheusSourceConfig
  | PostgresSourceConfig
  | RedisSourceConfig
  | CloudWatchLogsSourceConfig;

// Compile-time check that the union covers exactly the kinds the model knows.
type _Kinds = [SourceConfig['kind']] extends [SourceKind]
  ? [SourceKind] extends [SourceConfig['kind']]
    ? true
    : never
  : never;
const _kindsCovered: _Kinds = true;
void _kindsCovered;
