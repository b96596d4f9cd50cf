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

// Targets, their results, regressions and the Verdict: src/model/verdict.ts, part of this model.
export * from './model/verdict.js';
export * from './model/findings.js';
import type { BaselineStatement } from './model/verdict.js';
import type {
  DatabaseActivity,
  EnvironmentReport,
  InfraMetric,
  SlowQuery,
  SlowRequest,
  StoppedTask,
} from './model/findings.js';

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
export const ERROR_KINDS = [
  'http_5xx',
  'http_4xx',
  'timeout',
  'connection_refused',
  'connection_reset',
  'dns',
  'check',
  'other',
] as const;
export type ErrorKind = (typeof ERROR_KINDS)[number];

/**
 * The successful responses (those that were no error): latency targets are judged on their latency, throughput
 * targets on their rate. A refused login answered in 2 ms is not a fast login.
 */
export interface ServedFigures {
  /** Successful responses. */
  requests: number;
  latency: LatencyStats;
  histogram?: SerializedHistogram;
}

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
  /**
   * The interval's successful responses, when the run has `served` and the interval had errors; an interval of a
   * run with `served` but without errors served every response, so `latency` and `histogram` are its served figures.
   */
  served?: ServedFigures;
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
  /**
   * Latency of the successful responses only, what latency targets are judged on (`latency` above is of every
   * response). Absent when the engine's figures cannot tell them apart: latency is then judged on every response
   * (said in a note), and a run without any successful response has no latency measured at all.
   */
  served?: ServedFigures;
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

/** One stage of an open-model load shape: the arrival rate moves linearly from `startRate` to `endRate`. */
export interface Stage {
  durationMs: number;
  startRate: number;
  endRate: number;
  name?: string;
}

/** A RunResult with nothing measured yet: every count 0, every statistic absent. Engines and readers fill it in. */
/** An interval endpoint's latency histogram: its own, or the interval's when it is the interval's only endpoint. */
export function endpointHistogram(iv: IntervalResult, e: IntervalEndpoint): SerializedHistogram | undefined {
  if (e.histogram) return e.histogram;
  const eps = iv.endpoints ? Object.keys(iv.endpoints).length : 0;
  return eps === 1 && e.requests === iv.requests && e.latency.count === iv.latency.count ? iv.histogram : undefined;
}

export function blankRunResult(
  base: Pick<RunResult, 'engine' | 'phase' | 'startedAt' | 'endedAt' | 'durationMs'> & Partial<RunResult>,
): RunResult {
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

/** How a run's note on the causes of `other` failures starts (the built-in engine writes it, the gate quotes it). */
export const OTHER_CAUSES_NOTE = 'requests that failed as `other`:';
