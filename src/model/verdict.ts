// The gate's side of the model: targets as parsed, their results, regression results and the Verdict with its
// baseline. Part of the typed model (model.ts re-exports it, so every stage imports it from there); kept apart
// because it is the judged half, and the run half (RunResult and what it holds) is large on its own.

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
  /**
   * Set on the phase's error-rate bound when the targets given named none: it was kept, not written by the user
   * (every phase keeps an error-rate bound unless the targets say `error_rate: not judged`).
   */
  kept?: 'phase';
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

/** A statement of a recorded run: its queryid, mean time and calls during that run. */
export interface BaselineStatement {
  queryid: string;
  meanMs: number;
  calls: number;
}
