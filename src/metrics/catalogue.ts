// The metric catalogue: every metric perf-gate itself knows, once. Its name and the names people use for it, what
// kind of value it is (and so its unit), where it is measured (the whole run, an endpoint, one interval, an
// endpoint within one interval), whether a regression rule may name it and which way is better, and how its value
// is read. Targets (gate/targets.ts), regression rules (gate/regression-rules.ts), abort guards (phases/guards.ts),
// the gate's reading of a run (gate/metrics.ts) and the report's labels (report/common.ts) all read this table, so
// an alias or a scope added here works everywhere at once. docs/targets.md lists the same names for users.
import type { IntervalEndpoint, IntervalResult, LatencyStats, MetricUnit, RunResult } from '../model.js';

/** What a value is; it decides the units a target may use. `duration` is a span of the run (`recovery < 120`). */
export type MetricKind = 'latency' | 'percent' | 'rate' | 'count' | 'duration';

/**
 * Where a metric has a value: `run` the whole run (targets), `endpoint` an endpoint row (`p99{bid}`), `interval`
 * one interval of the run (abort guards), `interval-endpoint` an endpoint within one interval (`error_rate{pay}`).
 */
export type MetricScope = 'run' | 'endpoint' | 'interval' | 'interval-endpoint';

/** The endpoint rows of one interval a guard's selector matched, with their counts added up. */
export interface IntervalRows {
  rows: readonly IntervalEndpoint[];
  requests: number;
  errors: number;
}

export interface MetricDefinition {
  readonly name: string;
  /** Other spellings a target, a guard or a regression rule may use (k6's, Artillery's, everyday ones). */
  readonly aliases: readonly string[];
  readonly kind: MetricKind;
  readonly scopes: readonly MetricScope[];
  /** The report's name for it; absent: the report shows the metric as written, like a tool's own metric. */
  readonly label?: string;
  /** An abort guard's name for it in the reason it trips with. */
  readonly intervalLabel?: string;
  /**
   * A regression rule may name it: which way is better, the unit of its absolute tolerance, and its place in the
   * rule list (p999 came after the eight that messages and outputs already listed in this order).
   */
  readonly regression?: {
    readonly better: 'lower' | 'higher';
    readonly unit: 'ms' | 'pp' | '/s';
    readonly order: number;
  };
  /** The value over the whole run; undefined: not measured (never 0 in its place). */
  readonly value: (run: RunResult) => number | undefined;
  /** The value in one interval, for the metrics with the `interval` scope. */
  readonly intervalValue?: (iv: IntervalResult) => number | undefined;
  /** The value of an interval's matched endpoint rows, for the metrics with the `interval-endpoint` scope. */
  readonly intervalRowsValue?: (r: IntervalRows) => number | undefined;
}

export const UNIT_OF_KIND: Record<MetricKind, MetricUnit> = {
  latency: 'ms',
  percent: '%',
  rate: '/s',
  count: 'count',
  duration: 'ms',
};

type IntervalLatency = Exclude<keyof LatencyStats, 'count' | 'min'>;

// The readers of a latency statistic, shared by its run, interval and endpoint-in-interval scopes.
// Latency and throughput targets are judged on what was served (the successful responses), not on refusals.
const latencyOf = (k: keyof LatencyStats) => (run: RunResult) => servedLatency(run, k);

/** Requests that completed without being an error. */
export function servedCount(run: Pick<RunResult, 'requests' | 'errors'>): number {
  return Math.max(0, run.requests - run.errors);
}

/**
 * A latency statistic of the successful responses: the run's `served` figures where the engine has them, else every
 * response's (the engine cannot tell them apart; a note says so). None served: not measured, never a fast refusal.
 */
export function servedLatency(run: RunResult, stat: keyof LatencyStats): number | undefined {
  if (run.requests > 0 && servedCount(run) === 0) return undefined;
  return run.served ? run.served.latency[stat] : run.latency[stat];
}

/** Successful responses per second ("throughput > 100/s" means served): the run's rate times the share served. */
export function servedThroughput(run: RunResult): number | undefined {
  if (run.throughputRps === undefined || run.requests <= 0) return run.throughputRps;
  const ok = servedCount(run);
  return ok === 0 ? undefined : (run.throughputRps * ok) / run.requests;
}

const intervalLatencyOf = (k: IntervalLatency) => (iv: IntervalResult) => iv.latency[k];
const rowLatencyOf = (k: IntervalLatency) => (r: IntervalRows) =>
  r.rows.length === 1 ? r.rows[0]!.latency[k] : undefined;

/**
 * Responses with a status (`201`) or class (`2xx`), or all of them. Undefined when the source recorded no status
 * codes although requests completed (a k6 summary): 0 would claim none came back.
 */
export function responsesOf(
  codes: Record<string, number>,
  status: string | undefined,
  requests: number,
): number | undefined {
  const entries = Object.entries(codes);
  if (entries.length === 0) return requests === 0 ? 0 : undefined;
  const wanted =
    status === undefined
      ? () => true
      : /xx$/i.test(status)
        ? (c: string) => c[0] === status[0]
        : (c: string) => c === status;
  return entries.reduce((n, [c, v]) => (wanted(c) ? n + v : n), 0);
}

/** In the order messages list them. */
export const METRIC_CATALOGUE = [
  {
    name: 'p50',
    aliases: ['median', 'med', 'p(50)'],
    kind: 'latency',
    scopes: ['run', 'endpoint', 'interval', 'interval-endpoint'],
    label: 'p50 latency',
    intervalLabel: 'p50 latency',
    regression: { better: 'lower', unit: 'ms', order: 0 },
    value: latencyOf('p50'),
    intervalValue: intervalLatencyOf('p50'),
    intervalRowsValue: rowLatencyOf('p50'),
  },
  {
    name: 'p90',
    aliases: ['p(90)'],
    kind: 'latency',
    scopes: ['run', 'endpoint', 'interval', 'interval-endpoint'],
    label: 'p90 latency',
    intervalLabel: 'p90 latency',
    regression: { better: 'lower', unit: 'ms', order: 1 },
    value: latencyOf('p90'),
    intervalValue: intervalLatencyOf('p90'),
    intervalRowsValue: rowLatencyOf('p90'),
  },
  {
    name: 'p95',
    aliases: ['p(95)'],
    kind: 'latency',
    scopes: ['run', 'endpoint', 'interval', 'interval-endpoint'],
    label: 'p95 latency',
    intervalLabel: 'p95 latency',
    regression: { better: 'lower', unit: 'ms', order: 2 },
    value: latencyOf('p95'),
    intervalValue: intervalLatencyOf('p95'),
    intervalRowsValue: rowLatencyOf('p95'),
  },
  {
    name: 'p99',
    aliases: ['p(99)'],
    kind: 'latency',
    scopes: ['run', 'endpoint', 'interval', 'interval-endpoint'],
    label: 'p99 latency',
    intervalLabel: 'p99 latency',
    regression: { better: 'lower', unit: 'ms', order: 3 },
    value: latencyOf('p99'),
    intervalValue: intervalLatencyOf('p99'),
    intervalRowsValue: rowLatencyOf('p99'),
  },
  {
    name: 'p999',
    aliases: ['p99.9', 'p(99.9)'],
    kind: 'latency',
    scopes: ['run', 'endpoint', 'interval', 'interval-endpoint'],
    label: 'p99.9 latency',
    intervalLabel: 'p999 latency',
    regression: { better: 'lower', unit: 'ms', order: 8 },
    value: latencyOf('p999'),
    intervalValue: intervalLatencyOf('p999'),
    intervalRowsValue: rowLatencyOf('p999'),
  },
  {
    name: 'max',
    aliases: [],
    kind: 'latency',
    scopes: ['run', 'endpoint', 'interval', 'interval-endpoint'],
    label: 'max latency',
    intervalLabel: 'max latency',
    regression: { better: 'lower', unit: 'ms', order: 4 },
    value: latencyOf('max'),
    intervalValue: intervalLatencyOf('max'),
    intervalRowsValue: rowLatencyOf('max'),
  },
  {
    name: 'min',
    aliases: [],
    kind: 'latency',
    scopes: ['run', 'endpoint'],
    label: 'min latency',
    value: latencyOf('min'),
  },
  {
    name: 'mean',
    aliases: ['avg', 'average'],
    kind: 'latency',
    scopes: ['run', 'endpoint', 'interval', 'interval-endpoint'],
    label: 'mean latency',
    intervalLabel: 'mean latency',
    regression: { better: 'lower', unit: 'ms', order: 5 },
    value: latencyOf('mean'),
    intervalValue: intervalLatencyOf('mean'),
    intervalRowsValue: rowLatencyOf('mean'),
  },
  {
    name: 'error_rate',
    aliases: ['errors_rate', 'error-rate', 'errorrate', 'http_req_failed'],
    kind: 'percent',
    scopes: ['run', 'endpoint', 'interval', 'interval-endpoint'],
    label: 'error rate',
    intervalLabel: 'error rate',
    regression: { better: 'lower', unit: 'pp', order: 6 },
    value: (run: RunResult) => run.errorRate,
    intervalValue: (iv: IntervalResult) => (iv.requests > 0 ? (iv.errors / iv.requests) * 100 : undefined),
    intervalRowsValue: (r: IntervalRows) => (r.requests > 0 ? (r.errors / r.requests) * 100 : undefined),
  },
  {
    name: 'errors',
    aliases: [],
    kind: 'count',
    scopes: ['run', 'endpoint', 'interval', 'interval-endpoint'],
    label: 'errors',
    intervalLabel: 'errors per interval',
    // Requests completed but the error rate could not be measured (a k6 summary read with 4xx not counted): the
    // count is not perf-gate's either, so neither is measured.
    value: (run: RunResult) =>
      run.requests > 0 && run.errorRate === undefined
        ? undefined
        : run.requests > 0 || run.errors > 0
          ? run.errors
          : undefined,
    intervalValue: (iv: IntervalResult) => iv.errors,
    intervalRowsValue: (r: IntervalRows) => r.errors,
  },
  {
    name: 'throughput',
    aliases: ['rps', 'req_rate', 'request_rate'],
    kind: 'rate',
    scopes: ['run', 'interval'],
    label: 'throughput',
    intervalLabel: 'throughput',
    regression: { better: 'higher', unit: '/s', order: 7 },
    value: servedThroughput,
    intervalValue: (iv: IntervalResult) =>
      iv.durationMs / 1000 > 0 ? iv.requests / (iv.durationMs / 1000) : undefined,
  },
  {
    name: 'requests',
    aliases: ['reqs', 'http_reqs'],
    kind: 'count',
    scopes: ['run', 'endpoint'],
    label: 'requests',
    value: (run: RunResult) => run.requests,
  },
  // Responses received (any status); per endpoint and status: `responses{bid, 201}`. No label: the report keeps
  // the name as written, selector and all.
  {
    name: 'responses',
    aliases: ['http_responses'],
    kind: 'count',
    scopes: ['run', 'endpoint'],
    value: (run: RunResult) => responsesOf(run.statusCodes, undefined, run.requests),
  },
  {
    name: 'vus',
    aliases: ['vus_max', 'concurrent_users', 'users'],
    kind: 'count',
    scopes: ['run'],
    label: 'VUs (max)',
    value: (run: RunResult) => run.vus?.max,
  },
  // Phase analyses (src/phases/analysis.ts): time to recover after the ramp-down, load at which errors passed the limit.
  {
    name: 'recovery',
    aliases: ['recovery_time', 'recovery-time', 'recovery_seconds'],
    kind: 'duration',
    scopes: ['run'],
    label: 'recovery time',
    value: (run: RunResult) => {
      const r = run.analysis?.recovery;
      return r?.recovered ? r.recoveryMs : undefined;
    },
  },
  {
    name: 'breaking_point',
    aliases: ['breaking-point', 'breaking_point_rps', 'breakingpoint'],
    kind: 'rate',
    scopes: ['run'],
    label: 'breaking point',
    // A run that never broke held up to its highest load: that is the lower bound a `>` target is judged on.
    value: (run: RunResult) => run.analysis?.stress?.breakingPoint?.rps ?? run.analysis?.stress?.peak?.rps,
  },
  {
    name: 'capacity',
    aliases: ['capacity_rps', 'capacity-rps'],
    kind: 'rate',
    scopes: ['run'],
    label: 'capacity at the targets',
    // Absent when the targets never held (src/phases/analysis.ts), so `>` fails as unmeasured.
    value: (run: RunResult) => run.analysis?.stress?.capacity?.rps,
  },
] as const satisfies readonly MetricDefinition[];

type Entry = (typeof METRIC_CATALOGUE)[number];
/** A built-in metric's canonical name. */
export type BuiltinMetric = Entry['name'];
/** The metrics with a value in a scope, as a type: `MetricWithScope<'interval'>` is what an abort guard may watch. */
export type MetricWithScope<S extends MetricScope> = Entry extends infer E
  ? E extends { readonly name: infer N; readonly scopes: readonly (infer Sc)[] }
    ? S extends Sc
      ? N
      : never
    : never
  : never;
/** The metrics a regression rule may name. */
export type RegressionMetric = Extract<Entry, { readonly regression: object }>['name'];

const BY_NAME = new Map<string, MetricDefinition>(METRIC_CATALOGUE.map((m) => [m.name, m]));
const BY_SPELLING = new Map<string, MetricDefinition>();
for (const m of METRIC_CATALOGUE as readonly MetricDefinition[]) {
  BY_SPELLING.set(m.name, m);
  for (const a of m.aliases) BY_SPELLING.set(a, m);
}

/** Every built-in metric's canonical name, in catalogue order. */
export const BUILTIN_METRICS: readonly BuiltinMetric[] = METRIC_CATALOGUE.map((m) => m.name);

/** The built-in metric of this canonical name (`p99`, not `p(99)`); undefined for any other name. */
export function builtinMetric(name: string): MetricDefinition | undefined {
  return BY_NAME.get(name);
}

/** The built-in metric a lower-case spelling names, alias or name; k6's `p(N)` is also read as `pN`. */
export function metricBySpelling(spelling: string): MetricDefinition | undefined {
  return BY_SPELLING.get(spelling) ?? BY_SPELLING.get(spelling.replace(/^p\((\d+(?:\.\d+)?)\)$/, 'p$1'));
}

/** The metrics with a value in a scope, in catalogue order. */
export function metricsWithScope<S extends MetricScope>(scope: S): readonly MetricWithScope<S>[] {
  return (METRIC_CATALOGUE as readonly MetricDefinition[])
    .filter((m) => m.scopes.includes(scope))
    .map((m) => m.name as MetricWithScope<S>);
}

/** The metrics a regression rule may name, in the order rules are listed. */
export const REGRESSION_METRICS: readonly RegressionMetric[] = (METRIC_CATALOGUE as readonly MetricDefinition[])
  .filter((m) => m.regression)
  .sort((a, b) => a.regression!.order - b.regression!.order)
  .map((m) => m.name as RegressionMetric);
