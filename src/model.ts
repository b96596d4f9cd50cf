// The typed domain model every stage talks through. Engines and readers produce a RunResult; the gate turns it
// into a Verdict; renderers and publishers only read these shapes. The results JSON written beside the report
// is a RunResult plus the Verdict, so every figure shown can be traced back to it.

/** A latency histogram as stored and sent between stages (metrics/histogram.ts reads and writes the layout). */
export interface SerializedHistogram {
  /** Layout tag so a reader can refuse a histogram it does not understand. */
  layout: 'loglinear-us-1024';
  count: number;
  /** Exact extremes and sum in microseconds (buckets only know values to 0.1 %). */
  minUs: number;
  maxUs: number;
  sumUs: number;
  /** Sparse [bucketIndex, count] pairs, ascending. */
  buckets: Array<[number, number]>;
}

export const RESULTS_SCHEMA_VERSION = 1 as const;

export const ENGINES = ['builtin', 'artillery', 'k6', 'results'] as const;
export type EngineName = (typeof ENGINES)[number];

/** Beyond one machine: the tools' own distributed modes, never a cluster of ours. */
export const DISTRIBUTED_MODES = ['none', 'artillery-fargate', 'artillery-lambda', 'k6-cloud'] as const;
export type DistributedMode = (typeof DISTRIBUTED_MODES)[number];

export const PRESET_PHASES = ['warmup', 'sustained', 'stress', 'recovery'] as const;
export type PresetPhaseName = (typeof PRESET_PHASES)[number];

export const FAIL_ON = ['any', 'target', 'regression', 'never'] as const;
export type FailOn = (typeof FAIL_ON)[number];

export const COMMENT_MODES = ['auto', 'true', 'false'] as const;
export type CommentMode = (typeof COMMENT_MODES)[number];

/**
 * Which run a shard belongs to. Shards are merged only when all of them name the same commit, workflow run and
 * shape key: files of another commit or another load shape never add up to one run.
 */
export interface ShardInfo {
  /** 1-based. */
  index: number;
  count: number;
  /** The commit tested (GITHUB_SHA), when known. */
  commit?: string;
  /** The workflow run (GITHUB_RUN_ID), when known: a re-run job keeps it, another workflow run does not. */
  workflowRun?: string;
  /** Fingerprint of what the shards were told to do: phase, whole shape, shard count, target, flows, HTTP settings. */
  shapeKey: string;
}

/** Latency summary in milliseconds. A field the source did not record is absent, never 0 or guessed. */
export interface LatencyStats {
  count: number;
  min?: number;
  mean?: number;
  p50?: number;
  p90?: number;
  p95?: number;
  p99?: number;
  p999?: number;
  max?: number;
}

/**
 * Why a request counted as an error. `http_4xx` counts unless the request's `expect.status` lists the code (or
 * `http.count-4xx-as-errors: false`). `check`: a response whose `expect:` failed or whose `capture:` found
 * nothing; the message of each such failure is counted in `checkFailures`.
 */
export const ERROR_KINDS = ['http_5xx', 'http_4xx', 'timeout', 'connection_refused', 'connection_reset', 'dns', 'check', 'other'] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

export interface EndpointResult {
  /** `METHOD /path` for the built-in engine, the tool's request name otherwise. */
  name: string;
  requests: number;
  errors: number;
  latency: LatencyStats;
  statusCodes: Record<string, number>;
  histogram?: SerializedHistogram;
  errorsByKind?: Partial<Record<ErrorKind, number>>;
  /** Failed expectations and captures on this endpoint, by message (`expect status 401 ≠ 201 on login`). */
  checkFailures?: Record<string, number>;
}

/**
 * One endpoint's figures over one interval: for abort guards with an endpoint selector, per-endpoint charts, and
 * judging per-endpoint targets on the steady part (the optional fields make a part's endpoint figures exact: the
 * built-in engine writes them; tools' files do not have them). The histogram of an interval's only endpoint is the
 * interval's own and is not written twice: read it with `endpointHistogram`.
 */
export interface IntervalEndpoint {
  requests: number;
  errors: number;
  latency: LatencyStats;
  histogram?: SerializedHistogram;
  statusCodes?: Record<string, number>;
  errorsByKind?: Partial<Record<ErrorKind, number>>;
  checkFailures?: Record<string, number>;
}

/** A user journey of the built-in engine: how many arrivals started it, finished it, and were cut short. */
export interface FlowResult {
  name: string;
  started: number;
  completed: number;
  /** Arrivals whose flow stopped at a failed expectation or capture (the rest of their steps was not sent). */
  failed: number;
}

/** What an error-log source (CloudWatch Logs Insights) found for the run window. */
export interface LogSummary {
  /** The source's configured name. */
  source: string;
  query: string;
  /** Matching log lines in the window; absent when it could not be read. */
  count?: number;
  /** Most frequent messages, deduplicated (numbers and ids masked, cut to 200 characters). */
  top: Array<{ message: string; count: number }>;
  unavailable?: string;
}

export interface IntervalResult {
  /** Offset from the run start, in ms. */
  startMs: number;
  durationMs: number;
  /** Arrival rate the load shape asked for at the middle of this interval (arrivals/s), when known. */
  targetRate?: number;
  arrivalsStarted?: number;
  requests: number;
  errors: number;
  /** Requests in flight at the end of the interval (built-in engine) or concurrent VUs (tools). */
  concurrency?: number;
  latency: LatencyStats;
  histogram?: SerializedHistogram;
  /** Per endpoint label, when the engine records it (built-in engine). */
  endpoints?: Record<string, IntervalEndpoint>;
}

/** What the load generator itself achieved: a generator that could not send the load makes the run invalid. */
export interface GeneratorHealth {
  arrivalsScheduled?: number;
  arrivalsStarted?: number;
  arrivalsDropped?: number;
  /** Largest delay between when an arrival was due and when it started, ms. */
  maxLagMs?: number;
  /** The generator's own cap on requests in flight (built-in engine, `http.maxInFlight`): a limit it can saturate. */
  maxInFlight?: number;
  valid: boolean;
  invalidReasons: string[];
}

export interface CustomMetric {
  type: 'counter' | 'rate' | 'trend' | 'gauge';
  /** e.g. {count, rate} for a counter, {avg, p95, ...} for a trend, {rate} for a rate (0-1). */
  values: Record<string, number>;
}

export interface ToolThreshold {
  metric: string;
  expression: string;
  ok: boolean;
}

export interface RunResult {
  schemaVersion: typeof RESULTS_SCHEMA_VERSION;
  engine: EngineName;
  tool?: { name: string; version?: string };
  /** Files read (results engine) or written by the tool, relative to the workspace when possible. */
  sourceFiles?: string[];
  phase: string;
  /** Target URL with credentials removed. */
  target?: string;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  /** Requests that completed: a response or an error (timeout, refused, ...). */
  requests: number;
  /** Requests that counted as errors under the run's error definition. */
  errors: number;
  errorsByKind: Partial<Record<ErrorKind, number>>;
  statusCodes: Record<string, number>;
  /** Percent of requests that were errors; absent when no request completed. */
  errorRate?: number;
  /** Completed requests per second over the run. */
  throughputRps?: number;
  latency: LatencyStats;
  histogram?: SerializedHistogram;
  vus?: { created?: number; max?: number };
  endpoints: EndpointResult[];
  intervals: IntervalResult[];
  intervalMs?: number;
  generator: GeneratorHealth;
  customMetrics: Record<string, CustomMetric>;
  toolThresholds: ToolThreshold[];
  /** Failed expectations and captures over the run, by message; absent when the engine checks no responses. */
  checkFailures?: Record<string, number>;
  /** Per user journey (built-in engine flows). */
  flows?: FlowResult[];
  /** Error logs for the run window (log sources). */
  logs?: LogSummary[];
  /** Set on a shard of a sharded run (`shard: 2/4`): it ran 1/count of the load and is merged before judging. */
  shard?: ShardInfo;
  /** Plain-language remarks for the report (estimates, truncated files, early stops). */
  notes: string[];
  /** The load shape that was asked for, for the report. */
  shape?: {
    stages: Stage[];
    peakRate?: number;
    durationScale?: number;
    /** `script`: the tool ran the script's own load shape (known stages, or none when the tool does not say). */
    source?: 'perf-gate' | 'script';
  };
  /** Infrastructure metrics for the run window (CloudWatch, Prometheus, PostgreSQL). */
  infra?: InfraMetric[];
  /** Top statements by mean time during the run (pg_stat_statements difference of two snapshots). */
  slowQueries?: SlowQuery[];
  /** What the phase analyses found: the steady part, breaking point, recovery time, an early stop. */
  analysis?: PhaseAnalysis;
  /** The environment before the load: the `checks:` and the smoke pass (src/checks). */
  environment?: EnvironmentReport;
  /** What each PostgreSQL source saw of the database's work during the run (src/sources/postgres-activity.ts). */
  database?: DatabaseActivity[];
  /** The slowest requests with their W3C trace ids, slowest first (built-in engine with http.traceparent). */
  slowest?: SlowRequest[];
  /** ECS tasks of the checked services (`checks: ecs`) that stopped during the run, first first. */
  stoppedTasks?: StoppedTask[];
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
  smoke?: { flows: Array<{ name: string; ok: boolean; requests: number; failure?: string; step?: string }>; skipped?: string };
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

export const CAUSE_KINDS = ['tasks-killed', 'lock-waits', 'sequential-scans', 'saturation', 'memory-leak', 'throughput-limit', 'slow-endpoint', 'errors'] as const;
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

/** Which part of a run the targets are judged on: its steady part (constant-rate stages) or all of it. */
export const DECIDE_ON = ['steady', 'all'] as const;
export type DecideOn = (typeof DECIDE_ON)[number];

/** Figures over a part of the run, built from its intervals (histograms merged, never percentiles averaged). */
export interface PartSummary {
  /** Time windows of the run the part covers, ms from the run start. */
  windows: Array<{ startMs: number; endMs: number; stage?: string }>;
  /** Intervals in the part, and of the whole run. */
  intervals: number;
  intervalsTotal: number;
  durationMs: number;
  requests: number;
  errors: number;
  errorRate?: number;
  throughputRps?: number;
  latency: LatencyStats;
}

/** The load and the service's state over one interval, for breaking points. */
export interface LoadPoint {
  /** Start of the interval, ms from the run start. */
  atMs: number;
  /** Completed requests per second in the interval. */
  rps: number;
  /** Arrival rate the shape asked for there, arrivals/s. */
  targetRate?: number;
  /** Requests (built-in engine) or VUs (tools) in flight at the end of the interval. */
  vus?: number;
  /** Percent of the interval's requests that were errors. */
  errorRate: number;
  p99Ms?: number;
}

export interface StressAnalysis {
  /** Error rate (percent) whose crossing marks the breaking point. */
  errorLimitPercent: number;
  /** The first interval with an error. */
  firstError?: LoadPoint;
  /** The first interval past the error limit that the next interval confirmed; absent when never reached. */
  breakingPoint?: LoadPoint;
  /** The highest load reached: its rate, and latency and errors over the intervals at it. */
  peak?: { rps: number; targetRate?: number; p99Ms?: number; errorRate?: number; intervals: number };
  /**
   * Capacity at the targets: the highest load (requests/s served in one interval) at which every latency and
   * error-rate target (the guide's p99 500 ms and 0.5 % without them) still held, up to the first confirmed breach.
   * `rps` absent: the targets were missed from the first interval. `held`: never breached up to the highest load.
   */
  capacity?: {
    rps?: number;
    atMs?: number;
    targetRate?: number;
    held: boolean;
    /** The limits, in words (`p99 ≤ 500 ms, error rate ≤ 0.5 %`). */
    criteria: string;
    /** What broke first, in words (`p99 612 ms > 500 ms`), and where. */
    limitedBy?: string;
    breachAtMs?: number;
    breachRps?: number;
  };
  /** Errors kept rising after the load stopped rising; absent when it could not be told (say why in the note). */
  cascading?: boolean;
  cascadingNote: string;
}

export interface RecoveryAnalysis {
  /** When the recovery clock starts, ms from the run start: the start of the ramp-down. */
  fromMs: number;
  /** What "back within targets" means: the p99 and error-rate targets of the run. */
  criteria: { p99Ms?: number; errorRatePercent?: number };
  recovered: boolean;
  /** From `fromMs` until the first interval after which every interval stayed within the criteria. */
  recoveryMs?: number;
  /** Start of the last interval outside the criteria, ms from the run start. */
  lastBreachMs?: number;
  note?: string;
}

/** An abort guard that stopped the run. */
export interface EarlyStop {
  guard: string;
  /** The guard's finding in words, e.g. "error rate 12 % for 30 s". */
  reason: string;
  /** End of the interval that tripped it, ms from the run start. */
  atMs: number;
}

export interface PhaseAnalysis {
  /** What the config asked to judge, and what was judged (steady falls back to all when the run has no steady part). */
  decideOn: DecideOn;
  judged: DecideOn;
  /** Why `judged` differs from `decideOn`. */
  judgedNote?: string;
  /**
   * Why per-endpoint targets were judged on the whole run although the rest was judged on the steady part (the
   * intervals of a tool's file carry no per-endpoint histograms to add up).
   */
  endpointsNote?: string;
  steady?: PartSummary;
  stress?: StressAnalysis;
  recovery?: RecoveryAnalysis;
  /** Abort guards that were watching the run. */
  guards: string[];
  stoppedEarly?: EarlyStop;
}

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

/** A regression rule's outcome for one metric, against the chosen baseline. */
export interface RegressionResult {
  metric: string;
  current?: number;
  baseline?: number;
  /** Relative change in percent (positive = the value went up). */
  changePercent?: number;
  status: 'pass' | 'regressed' | 'improved' | 'no_baseline' | 'not_comparable';
  /** One line: why it regressed, or what the noise band was. */
  reason?: string;
  /** A regression the PR's accept label turned into a pass: who applied the label (`@login`). */
  acceptedBy?: string;
  /** The absolute floor a worsening had to exceed, and why that much (absent for throughput, which has none). */
  floor?: RegressionFloor;
}

/**
 * The absolute part of a regression tolerance. `rule`: written by the user (`+20ms`); otherwise derived from the
 * measurement: `history` (twice the history's own spread), `sampling` (twice the two runs' sampling noise, no
 * history yet) or `resolution` (two histogram buckets, when the spread is smaller than that).
 */
export interface RegressionFloor {
  /** In the metric's unit: ms for latency, percentage points for the error rate. */
  value: number;
  unit: 'ms' | 'pp';
  basis: 'rule' | 'history' | 'sampling' | 'resolution';
  /** Why, in words, as the report's Method line says it: `2× the history's spread`. */
  why: string;
  /** The figures behind it: `SD 2.8 ms over 5 runs; ±3.1 ms for one run against their mean`. */
  detail?: string;
}

/** One stage of an open-model load shape: the arrival rate moves linearly from `startRate` to `endRate`. */
export interface Stage {
  durationMs: number;
  startRate: number;
  endRate: number;
  name?: string;
}

export const COMPARISON_OPS = ['<', '<=', '>', '>=', '==', '!='] as const;
export type ComparisonOp = (typeof COMPARISON_OPS)[number];

export type MetricUnit = 'ms' | '%' | '/s' | 'count';

export interface Target {
  /** Canonical metric name: p50, p90, p95, p99, p999, max, min, mean, error_rate, throughput, requests, errors, vus, or a custom metric. */
  metric: string;
  op: ComparisonOp;
  /** Threshold in the metric's canonical unit (ms, percent, per second, count). */
  value: number;
  unit: MetricUnit;
  /** The expression as the user wrote it. */
  source: string;
  /** A target on an unmeasured metric fails the gate unless optional. */
  optional: boolean;
  /**
   * Endpoint selector (`p99{bid}`, `errors{POST /api/payments}`, k6's `{name:bid}`): the endpoint label as written.
   * `metric` then carries it too, canonically (`p99{bid}`, `responses{bid, 201}`), so that a per-endpoint row is
   * never mistaken for the run-wide metric of the same name.
   */
  endpoint?: string;
  /** HTTP status (`201`) or class (`2xx`) of a `responses{endpoint, status}` target. */
  status?: string;
  /**
   * A right-hand side that is a metric (`bids_stored == responses{bid, 201}`, `bids_stored >= requests{bid} * 0.99`):
   * `value` is then filled in when the target is evaluated (the right side's value times `factor`), 0 before.
   */
  rhsMetric?: { metric: string; factor: number; label: string };
  /**
   * Warning level (`p99 < 500ms warn 400ms`), in the unit of `value` and on the passing side of it: a value past it
   * that still meets the target passes with a warning (⚠️), never failing the check.
   */
  warn?: number;
}

export type TargetStatus = 'pass' | 'fail' | 'not_measured';

export interface TargetResult {
  target: Target;
  actual?: number;
  status: TargetStatus;
  /**
   * A target whose right-hand side is a metric (`bids_stored == responses{bid, 201}`): that side as written and
   * its value, so the report can show both sides and the difference.
   */
  rhs?: { label: string; value?: number };
  /** Where the row comes from: a perf-gate target (default) or a tool's own threshold (Artillery ensure, k6). */
  origin?: 'target' | 'tool';
  /** Why the row is not measured (an endpoint selector that matched nothing names the endpoints there are). */
  note?: string;
  /** The target held but its value is past the target's warning level (`warn`): shown with ⚠️, not a failure. */
  warning?: boolean;
}

/** `shard`: one shard of a sharded run, not judged on its own (the job merging the shards judges them). */
export const VERDICTS = ['pass', 'fail', 'error', 'shard'] as const;
export type VerdictStatus = (typeof VERDICTS)[number];

export interface Verdict {
  status: VerdictStatus;
  /** Would the check fail under the configured fail-on policy. */
  failsCheck: boolean;
  targets: TargetResult[];
  /** Reasons for `error` (invalid run, no data) or the summary of failures. */
  reasons: string[];
  /** Regression checks against a baseline, when one was configured. */
  regressions?: RegressionResult[];
  /** Which baseline was compared with: commit, age, where it came from. */
  baseline?: BaselineInfo;
}

export interface BaselineInfo {
  sha?: string;
  createdAt?: string;
  source: string;
  note?: string;
  /** How a change was judged, in one line (noise band over N runs, histogram test, confirmation). */
  method?: string;
  /** The comparable runs up to the baseline, oldest first, for the trend chart: their figures as recorded. */
  trend?: TrendPoint[];
  /** The baseline run's top statements as recorded, for "slower than the baseline". */
  statements?: BaselineStatement[];
}

/** One earlier run in the trend chart. */
export interface TrendPoint {
  sha?: string;
  createdAt: string;
  p99?: number;
  /** Percent. */
  errorRate?: number;
}

/** A RunResult with nothing measured yet: every count 0, every statistic absent. Engines and readers fill it in. */
/** An interval endpoint's latency histogram: its own, or the interval's when it is the interval's only endpoint. */
export function endpointHistogram(iv: IntervalResult, e: IntervalEndpoint): SerializedHistogram | undefined {
  if (e.histogram) return e.histogram;
  const eps = iv.endpoints ? Object.keys(iv.endpoints).length : 0;
  return eps === 1 && e.requests === iv.requests && e.latency.count === iv.latency.count ? iv.histogram : undefined;
}

export function blankRunResult(base: Pick<RunResult, 'engine' | 'phase' | 'startedAt' | 'endedAt' | 'durationMs'> & Partial<RunResult>): RunResult {
  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    requests: 0,
    errors: 0,
    errorsByKind: {},
    statusCodes: {},
    latency: { count: 0 },
    endpoints: [],
    intervals: [],
    generator: { valid: true, invalidReasons: [] },
    customMetrics: {},
    toolThresholds: [],
    notes: [],
    ...base,
  };
}

// ---- the history a baseline is made of (baseline/ stores these entries, gate/ compares a run with them) ----

/** The headline numbers kept per run. Latency in ms, error_rate in percent, throughput in requests/s. */
export interface HeadlineMetrics {
  p50?: number;
  p90?: number;
  p95?: number;
  p99?: number;
  /** Stored since regression rules may name p999 (`p99.9`); older entries lack it, and compare as not comparable. */
  p999?: number;
  max?: number;
  mean?: number;
  error_rate?: number;
  throughput?: number;
}

/** One recorded run. Small on purpose: thirty of them must fit comfortably in one file of the contents API. */
export interface BaselineEntry {
  /** Unique per workflow run attempt, so a concurrent writer's entry is merged, never duplicated. */
  id: string;
  sha?: string;
  branch?: string;
  createdAt: string;
  engine: EngineName;
  phase: string;
  environment: string;
  /** Hash of the load shape (stages and duration scale): runs with different shapes are not comparable. */
  shape: string;
  /** Readable form of the shape, for the not-comparable reason. */
  shapeSummary?: string;
  durationScale?: number;
  requests: number;
  errors: number;
  metrics: HeadlineMetrics;
  /** The latency histogram coarsened to about 1 % resolution (see compactHistogram). */
  histogram?: SerializedHistogram;
  runUrl?: string;
  /** The run's top statements (PostgreSQL source), for "slower than the baseline" in the Why block. */
  statements?: BaselineStatement[];
}

/** A statement of a recorded run: its queryid, mean time and calls during that run. */
export interface BaselineStatement {
  queryid: string;
  meanMs: number;
  calls: number;
}

/** How a run's note on the causes of `other` failures starts (the built-in engine writes it, the gate quotes it). */
export const OTHER_CAUSES_NOTE = 'requests that failed as `other`:';
