// What perf-gate measured and found around the load, as the model holds it: the infrastructure metrics of the
// sources, the environment checked before the load, the database's activity, and the diagnosis of a failed run.
// Part of the typed model (model.ts re-exports it, so every stage imports it from there).
import type { MetricUnit } from './verdict.js';

export const SOURCE_KINDS = ['cloudwatch', 'prometheus', 'postgres', 'redis', 'cloudwatch-logs'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

/** One infrastructure metric over the run window. Missing data is `unavailable` with a reason, never zeros. */
export interface InfraMetric {
  /** The name a target uses: cpu, memory, db_connections, rds_cpu, alb_5xx, or the configured name. */
  name: string;
  source: SourceKind;
  /** What was queried, for the report (e.g. `AWS/ECS CPUUtilization cluster=prod`, a PromQL query). */
  query: string;
  unit: '%' | 'count' | 'ms' | 'bytes' | '/s';
  /** Statistics over the window; a statistic with no samples is absent. */
  stats: { min?: number; mean?: number; p95?: number; max?: number; last?: number };
  /** What a `% of max` target compares against (db_connections: max_connections). */
  limit?: number;
  /** Samples as [ms offset from the run start, value]. */
  series?: Array<[number, number]>;
  /** Why the metric could not be read; stats are then empty. */
  unavailable?: string;
  /**
   * `instances`: a count of instances (running tasks, healthy hosts, instances up), shown with when it changed;
   * `balance`: lowest ÷ highest per-instance share over the window (stats all that one number), with `shares`.
   */
  role?: 'instances' | 'balance';
  /** Per-instance share of the total over the run window, percent, by instance (role `balance`). */
  shares?: Record<string, number>;
}

export interface SlowQuery {
  query: string;
  calls: number;
  meanMs: number;
  totalMs: number;
  /** Rows returned or affected during the run (pg_stat_statements `rows`). */
  rows?: number;
  /** Shared-buffer hits during the run (pg_stat_statements `shared_blks_hit`). */
  sharedBlksHit?: number;
}

/** One line of the environment checks: what was checked, and what was found (never a secret's value). */
export interface EnvironmentCheck {
  /** The kind of check, as in the config: env, version, reachable, monitoring, ecs, target-health, instances, smoke. */
  kind: string;
  /** What was checked, e.g. `postgres 127.0.0.1:5432/app` or `ecs staging/api`. */
  name: string;
  ok: boolean;
  /** What was found: `3 running of 3 desired`, or why it failed. */
  detail: string;
}

/** One row of the database baseline: a value before the load, after it, and the change; missing stays missing. */
export interface BaselineRow {
  name: string;
  before?: number;
  after?: number;
  /** after − before, when both are known. */
  change?: number;
  /** Why a value is missing. */
  unavailable?: string;
}

export interface EnvironmentReport {
  checks: EnvironmentCheck[];
  /** The database baseline (the guide's table): values before the load and after it. */
  baseline?: BaselineRow[];
  /** The smoke pass: each flow once before the load; its requests are not part of the run's figures. */
  smoke?: {
    flows: Array<{ name: string; ok: boolean; requests: number; failure?: string; step?: string }>;
    skipped?: string;
  };
}

/**
 * The database's work during the run, from counters read at its start and end (pg_stat_statements,
 * pg_stat_user_tables, pg_stat_user_indexes, pg_stat_statements_info) and from the lock waits seen in the
 * pg_stat_activity samples. A part that could not be read is absent, and `notes` says why.
 */
export interface DatabaseActivity {
  /** The source's metric name (`db_connections`), telling two databases apart. */
  source: string;
  /** Execution time of all statements during the run, ms (perf-gate's own left out). */
  totalMs?: number;
  /** Statements by total time during the run, grouped by queryid across databases and users; the top ones. */
  statements?: DatabaseStatement[];
  /** Statements with calls during the run (all of them, not only those kept). */
  statementCount?: number;
  /** pg_stat_statements entries evicted during the run (pg_stat_statements_info.dealloc): the figures are then low. */
  dealloc?: number;
  /** Sequential and index scans per table of the source's database during the run, busiest first. */
  tables?: TableScans[];
  /** Connections seen waiting on a lock, by statement and table. */
  lockWaits?: LockWait[];
  notes?: string[];
}

export interface DatabaseStatement {
  /** pg_stat_statements queryid (or an md5 of the text where there is none). */
  queryid: string;
  /** Normalised text (constants as $n), cleaned of passwords and cut to 500 characters. */
  query: string;
  calls: number;
  totalMs: number;
  meanMs: number;
  /** Share of all statements' execution time during the run, percent. */
  sharePercent?: number;
  /** Shared blocks (8 KiB pages) hit or read per call: thousands mean it reads a whole table or index each time. */
  blocksPerCall?: number;
  /** The databases it ran in. */
  databases?: string[];
}

export interface TableScans {
  /** `schema.table`. */
  table: string;
  seqScan: number;
  /** Rows read by the sequential scans. */
  seqTupRead: number;
  idxScan: number;
  /** Live rows at the end of the run (pg_stat_user_tables.n_live_tup, an estimate). */
  liveRows?: number;
  /** Scans per index during the run. */
  indexes?: Array<{ name: string; scans: number }>;
}

export interface LockWait {
  /** The waiting statement: its pg_stat_statements text when known, else the text pg_stat_activity showed, cleaned. */
  statement: string;
  /** The table locked, when PostgreSQL says (a tuple or relation lock, or the table the waiting statement writes). */
  table?: string;
  /** pg_locks.locktype of the lock waited for (transactionid for a row held by another transaction). */
  lockType?: string;
  /** Samples it was seen in, and the most connections waiting at once. */
  samples: number;
  maxWaiting: number;
  /** First sample it was seen in, ms from the run start. */
  firstAtMs: number;
}

/**
 * Why a run failed, as far as the figures tell (src/diagnose): when the targets broke, what reached its limit
 * first, a throughput limit, the database's work, memory, errors. Every field is a figure read off the run;
 * `cause` is absent when no finding stands out ("no single cause found").
 */
export interface Diagnosis {
  /** The finding named as the cause; absent: no single cause found. */
  cause?: { kind: CauseKind; subject: string };
  when?: WhenFinding;
  /** Every series with a limit or a target that passed 80 % of it (or the target), earliest first. */
  saturation: SaturationFinding[];
  /** Series with a limit that stayed below it, for "nothing saturated" (name, peak share of the limit). */
  unsaturated: Array<{ name: string; peakPercent: number }>;
  throughputLimit?: ThroughputLimit;
  database?: DatabaseFinding;
  memory: MemoryFinding[];
  errors?: ErrorsFinding;
  /** The slowest requests with their trace ids (run.slowest), to open in the tracing backend. */
  slowest?: SlowRequest[];
  /** ECS tasks stopped during the run (run.stoppedTasks), and whether ECS says memory killed them. */
  stoppedTasks?: Array<StoppedTask & { outOfMemory: boolean }>;
  /** What the diagnosis could not look at, in words (no per-endpoint histograms, no database source, ...). */
  limits: string[];
}

export const CAUSE_KINDS = [
  'tasks-killed',
  'lock-waits',
  'sequential-scans',
  'saturation',
  'memory-leak',
  'throughput-limit',
  'slow-endpoint',
  'errors',
] as const;
export type CauseKind = (typeof CAUSE_KINDS)[number];

export interface WhenFinding {
  /** The target that broke (as written), or the regressed metric against its baseline value. */
  target: string;
  metric: string;
  /** The threshold it was judged against, in the metric's unit. */
  threshold: number;
  unit: MetricUnit;
  /** Start of the first interval past it, ms from the run start; absent for a target only the whole run broke. */
  atMs?: number;
  /** The interval's value. */
  value?: number;
  /** For a latency target: requests slower than the threshold over the run, and per endpoint (most first). */
  slow?: { requests: number; ofRequests: number; endpoints: Array<{ name: string; slow: number; requests: number }> };
}

export interface SaturationFinding {
  name: string;
  /** `limit` (80 % of it) or `target` (the value a target sets). */
  basis: 'limit' | 'target';
  /** The level it passed, and the limit or target it comes from. */
  threshold: number;
  limit: number;
  unit: InfraMetric['unit'] | 'requests';
  /** First sample past the threshold, ms from the run start, and the highest value. */
  firstAtMs: number;
  peak: number;
  /** Relative to the latency or error rise: before (or within one interval of it), after, or no rise to compare. */
  order: 'before' | 'with' | 'after' | 'no-rise';
}

export interface ThroughputLimit {
  /** From when served requests/s stayed flat while requests in flight rose, ms from the run start. */
  fromMs: number;
  toMs: number;
  /** Requests/s served over that part (median of its intervals), and asked for (arrivals × requests per arrival). */
  servedRps: number;
  askedRps?: number;
  inFlightFrom: number;
  inFlightTo: number;
  /** Little's law: in flight ÷ served rate, the time a request spent in the system at the end, ms. */
  littleMs: number;
}

export interface DatabaseFinding {
  source: string;
  totalMs?: number;
  /** The top statements by total time (copied from run.database). */
  top: DatabaseStatement[];
  dealloc?: number;
  /** Tables read by sequential scans under load (many scans of many rows, more than index scans). */
  seqScanTables: TableScans[];
  /** Statements that took 30 % or more of the database's time reading 1,000 blocks (8 MiB) or more per call. */
  heavyReads: DatabaseStatement[];
  lockWaits: LockWait[];
  /** Statements slower than in the baseline run, by mean time. */
  slower?: Array<{ queryid: string; query: string; meanMs: number; baselineMeanMs: number }>;
}

export interface MemoryFinding {
  name: string;
  unit: InfraMetric['unit'];
  /** Slope over the steady part (or the whole run), per minute, in the series' unit (bytes/min for bytes). */
  slopePerMin: number;
  /** Coefficient of determination of the line: near 1 for a steady rise. */
  r2: number;
  fromValue: number;
  toValue: number;
  samples: number;
  /** Rising steadily without levelling off (r² ≥ 0.9, ≥ 10 % over the part, the last third still rising). */
  leak: boolean;
}

export interface ErrorsFinding {
  /** Failing endpoints with their failing status codes or error kinds, most errors first. */
  endpoints: Array<{ name: string; errors: number; requests: number; codes: Record<string, number> }>;
  /** Top messages from the error logs, payment and authentication failures first, as their own groups. */
  logs: Array<{ group: 'payment' | 'auth' | 'other'; message: string; count: number; source: string }>;
}

/** One of the slowest requests of a run, with the trace id its `traceparent` header carried. */
export interface SlowRequest {
  traceId: string;
  endpoint: string;
  latencyMs: number;
  /** When it was sent, ms from the run start. */
  atMs: number;
  /** HTTP status; absent for a transport error (timeout, reset). */
  status?: number;
}

/** An ECS task that stopped during the run, in ECS's words. */
export interface StoppedTask {
  /** `cluster/service`. */
  service: string;
  taskArn: string;
  /** When it stopped, ms from the run start. */
  stoppedAtMs: number;
  stopCode?: string;
  stoppedReason?: string;
  containers: Array<{ name: string; exitCode?: number; reason?: string }>;
}
