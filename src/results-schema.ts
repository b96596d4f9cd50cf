// The shape of results.json (schema version 1), for the tools that read it: a zod schema of the model's RunResult
// and Verdict as written, turned into schema/results.schema.json by `npm run build`. The model's interfaces stay the
// types the code uses; the compile-time checks at the bottom fail when the two drift apart, and the schema test
// validates real results files of every engine against it.
import { z } from 'zod';
import {
  CAUSE_KINDS,
  COMPARISON_OPS,
  DECIDE_ON,
  ENGINES,
  ERROR_KINDS,
  SOURCE_KINDS,
  VERDICTS,
  RESULTS_SCHEMA_VERSION,
  type DatabaseActivity,
  type Diagnosis,
  type RunResult,
  type Target,
  type TargetResult,
  type Verdict,
} from './model.js';

export const RESULTS_SCHEMA_FILE = 'results.schema.json';

const ms = (what: string) => z.number().describe(`${what}, ms`);
const count = (what: string) => z.number().int().min(0).describe(what);
const counts = (what: string) => z.record(z.string(), z.number().int().min(0)).describe(what);

const histogram = z
  .strictObject({
    layout: z.literal('loglinear-us-1024').describe('Layout tag: log-linear buckets of microseconds, 0.1 % precision.'),
    count: count('Samples.'),
    minUs: z.number().describe('Exact minimum, µs.'),
    maxUs: z.number().describe('Exact maximum, µs.'),
    sumUs: z.number().describe('Exact sum, µs.'),
    buckets: z
      .array(z.tuple([z.number().int(), z.number().int()]))
      .describe('Sparse [bucket index, count] pairs, ascending.'),
  })
  .describe('A mergeable latency histogram.');

const latency = z
  .strictObject({
    count: count('Latency samples.'),
    min: ms('Minimum').optional(),
    mean: ms('Mean').optional(),
    p50: ms('Median').optional(),
    p90: ms('90th percentile').optional(),
    p95: ms('95th percentile').optional(),
    p99: ms('99th percentile').optional(),
    p999: ms('99.9th percentile').optional(),
    max: ms('Maximum').optional(),
  })
  .describe('Latency summary in ms; a statistic the source did not record is absent, never 0.');

const served = z
  .strictObject({
    requests: count('Successful responses (no error).'),
    latency,
    histogram: histogram.optional(),
  })
  .describe(
    'The successful responses only: latency targets are judged on their latency, throughput targets on their rate.',
  );

const errorsByKind = z
  .partialRecord(z.enum(ERROR_KINDS), z.number().int().min(0))
  .describe('Errors by kind: http_5xx, http_4xx, timeout, connection_refused, connection_reset, dns, check, other.');
const checkFailures = counts('Failed expectations and captures, by message.');

const endpoint = z
  .strictObject({
    name: z.string().describe("METHOD /path or the step name (built-in engine), the tool's request name otherwise."),
    requests: count('Completed requests.'),
    errors: count('Requests that counted as errors.'),
    latency,
    statusCodes: counts('Responses by status code.'),
    histogram: histogram.optional(),
    errorsByKind: errorsByKind.optional(),
    checkFailures: checkFailures.optional(),
  })
  .describe('One endpoint over the whole run.');

const intervalEndpoint = z.strictObject({
  requests: count('Completed requests.'),
  errors: count('Errors.'),
  latency,
  histogram: histogram.optional(),
  statusCodes: counts('Responses by status code.').optional(),
  errorsByKind: errorsByKind.optional(),
  checkFailures: checkFailures.optional(),
});

const interval = z
  .strictObject({
    startMs: ms('Offset from the run start'),
    durationMs: ms('Length'),
    targetRate: z
      .number()
      .optional()
      .describe('Arrival rate the shape asked for at the middle of the interval, arrivals/s.'),
    arrivalsStarted: count('Arrivals started.').optional(),
    requests: count('Completed requests.'),
    errors: count('Errors.'),
    concurrency: z
      .number()
      .optional()
      .describe('Requests (built-in engine) or VUs (tools) in flight at the end of the interval.'),
    latency,
    histogram: histogram.optional(),
    endpoints: z
      .record(z.string(), intervalEndpoint)
      .optional()
      .describe('Per endpoint, when the engine records it (built-in engine).'),
    served: served
      .optional()
      .describe(
        "The interval's successful responses, when the run has served figures and the interval had errors (without errors, every response was one).",
      ),
  })
  .describe('One interval of the time series.');

const stage = z.strictObject({
  durationMs: ms('Length of the stage'),
  startRate: z.number().describe('Arrival rate at the start, arrivals/s.'),
  endRate: z.number().describe('Arrival rate at the end, arrivals/s.'),
  name: z.string().optional(),
});

const partSummary = z
  .strictObject({
    windows: z
      .array(z.strictObject({ startMs: z.number(), endMs: z.number(), stage: z.string().optional() }))
      .describe('Time windows of the run the part covers, ms from the start.'),
    intervals: count('Intervals in the part.'),
    intervalsTotal: count('Intervals in the run.'),
    durationMs: ms('Length of the part'),
    requests: count('Completed requests.'),
    errors: count('Errors.'),
    errorRate: z.number().optional().describe('Errors as a percentage of requests.'),
    throughputRps: z.number().optional().describe('Completed requests per second.'),
    latency,
  })
  .describe('Figures over a part of the run (histograms merged).');

const loadPoint = z.strictObject({
  atMs: ms('Start of the interval'),
  rps: z.number().describe('Completed requests per second in the interval.'),
  targetRate: z.number().optional(),
  vus: z.number().optional(),
  errorRate: z.number().describe("Percent of the interval's requests that were errors."),
  p99Ms: z.number().optional(),
});

const stress = z
  .strictObject({
    errorLimitPercent: z.number().describe('Error rate whose crossing marks the breaking point, %.'),
    firstError: loadPoint.optional().describe('The first interval with an error.'),
    breakingPoint: loadPoint
      .optional()
      .describe('The first interval past the error limit that the next intervals confirmed.'),
    peak: z
      .strictObject({
        rps: z.number(),
        targetRate: z.number().optional(),
        p99Ms: z.number().optional(),
        errorRate: z.number().optional(),
        intervals: z.number(),
      })
      .optional()
      .describe('The highest load reached.'),
    capacity: z
      .strictObject({
        rps: z.number().optional(),
        atMs: z.number().optional(),
        targetRate: z.number().optional(),
        held: z.boolean(),
        criteria: z.string(),
        limitedBy: z.string().optional(),
        breachAtMs: z.number().optional(),
        breachRps: z.number().optional(),
      })
      .optional()
      .describe('Capacity at the targets: the highest load at which every latency and error-rate target held.'),
    cascading: z.boolean().optional().describe('Errors kept rising while the load stayed at its highest.'),
    cascadingNote: z.string(),
  })
  .describe('Breaking point and capacity of a stress run.');

const recovery = z
  .strictObject({
    fromMs: ms('Start of the recovery clock (the ramp-down)'),
    criteria: z.strictObject({ p99Ms: z.number().optional(), errorRatePercent: z.number().optional() }),
    recovered: z.boolean(),
    recoveryMs: ms('Time to recover').optional(),
    lastBreachMs: z.number().optional(),
    note: z.string().optional(),
  })
  .describe('Recovery after the ramp-down.');

const analysis = z
  .strictObject({
    decideOn: z.enum(DECIDE_ON).describe('The part the config asked to judge.'),
    judged: z.enum(DECIDE_ON).describe('The part that was judged.'),
    judgedNote: z.string().optional(),
    endpointsNote: z.string().optional(),
    steady: partSummary.optional(),
    stress: stress.optional(),
    recovery: recovery.optional(),
    guards: z.array(z.string()).describe('Abort guards that watched the run.'),
    stoppedEarly: z
      .strictObject({ guard: z.string(), reason: z.string(), atMs: z.number() })
      .optional()
      .describe('The abort guard that stopped the run.'),
  })
  .describe('What the phase analyses found.');

const infraMetric = z
  .strictObject({
    name: z.string().describe('The name a target uses (cpu, db_connections, ...).'),
    source: z.enum(SOURCE_KINDS),
    query: z.string().describe('What was queried.'),
    unit: z.enum(['%', 'count', 'ms', 'bytes', '/s']),
    stats: z.strictObject({
      min: z.number().optional(),
      mean: z.number().optional(),
      p95: z.number().optional(),
      max: z.number().optional(),
      last: z.number().optional(),
    }),
    limit: z.number().optional().describe('What a "% of max" target compares against.'),
    series: z
      .array(z.tuple([z.number(), z.number()]))
      .optional()
      .describe('Samples as [ms from the run start, value].'),
    unavailable: z.string().optional().describe('Why the metric could not be read.'),
    role: z
      .enum(['instances', 'balance'])
      .optional()
      .describe('instances: a count of instances; balance: lowest / highest per-instance share.'),
    shares: z
      .record(z.string(), z.number())
      .optional()
      .describe('Per-instance share of the total over the run window, percent.'),
  })
  .describe('One infrastructure metric over the run window.');

const statement = z
  .strictObject({
    queryid: z.string().describe('pg_stat_statements queryid (an md5 of the text where there is none).'),
    query: z.string().describe('Normalised text, passwords masked, cut to 500 characters.'),
    calls: z.number(),
    totalMs: ms('Execution time during the run'),
    meanMs: ms('Mean execution time'),
    sharePercent: z.number().optional().describe("Share of all statements' execution time, percent."),
    blocksPerCall: z.number().optional().describe('Shared blocks (8 KiB) hit or read per call.'),
    databases: z.array(z.string()).optional(),
  })
  .describe('A statement during the run, grouped by queryid across databases and users.');

const tableScans = z
  .strictObject({
    table: z.string().describe('schema.table'),
    seqScan: z.number(),
    seqTupRead: z.number().describe('Rows read by the sequential scans.'),
    idxScan: z.number(),
    liveRows: z.number().optional(),
    indexes: z.array(z.strictObject({ name: z.string(), scans: z.number() })).optional(),
  })
  .describe('Scans of one table during the run (pg_stat_user_tables, pg_stat_user_indexes).');

const lockWait = z
  .strictObject({
    statement: z.string().describe('The waiting statement.'),
    table: z.string().optional(),
    lockType: z.string().optional().describe('pg_locks.locktype of the lock waited for.'),
    samples: z.number(),
    maxWaiting: z.number().describe('Most connections waiting at once.'),
    firstAtMs: ms('First seen, from the run start'),
  })
  .describe('Connections seen waiting on a lock.');

const databaseActivity = z
  .strictObject({
    source: z.string().describe("The PostgreSQL source's metric name."),
    totalMs: z.number().optional(),
    statements: z.array(statement).optional(),
    statementCount: z.number().optional(),
    dealloc: z.number().optional().describe('pg_stat_statements entries evicted during the run.'),
    tables: z.array(tableScans).optional(),
    lockWaits: z.array(lockWait).optional(),
    notes: z.array(z.string()).optional(),
  })
  .describe("The database's work during the run.");

const slowRequest = z
  .strictObject({
    traceId: z.string().describe('The W3C trace id (32 hex digits) of its traceparent header.'),
    endpoint: z.string(),
    latencyMs: ms('Latency'),
    atMs: ms('Sent at, from the run start'),
    status: z.number().optional().describe('HTTP status; absent for a transport error.'),
  })
  .describe('One of the slowest requests.');

const stoppedTaskFields = {
  service: z.string().describe('cluster/service'),
  taskArn: z.string(),
  stoppedAtMs: ms('When it stopped, from the run start'),
  stopCode: z.string().optional(),
  stoppedReason: z.string().optional(),
  containers: z.array(
    z.strictObject({ name: z.string(), exitCode: z.number().optional(), reason: z.string().optional() }),
  ),
};

const saturationFinding = z.strictObject({
  name: z.string(),
  basis: z.enum(['limit', 'target']),
  threshold: z.number(),
  limit: z.number(),
  unit: z.enum(['%', 'count', 'ms', 'bytes', '/s', 'requests']),
  firstAtMs: ms('First sample past the threshold, from the run start'),
  peak: z.number(),
  order: z.enum(['before', 'with', 'after', 'no-rise']).describe('Against the latency or error rise.'),
});

const diagnosisSchema = z
  .strictObject({
    cause: z
      .strictObject({ kind: z.enum(CAUSE_KINDS), subject: z.string() })
      .optional()
      .describe('The cause named; absent: no single cause found.'),
    when: z
      .strictObject({
        target: z.string(),
        metric: z.string(),
        threshold: z.number(),
        unit: z.enum(['ms', '%', '/s', 'count']),
        atMs: z.number().optional(),
        value: z.number().optional(),
        slow: z
          .strictObject({
            requests: z.number(),
            ofRequests: z.number(),
            endpoints: z.array(z.strictObject({ name: z.string(), slow: z.number(), requests: z.number() })),
          })
          .optional(),
      })
      .optional()
      .describe('When the first target broke, and where the slow requests were.'),
    saturation: z
      .array(saturationFinding)
      .describe('Series past 80 % of their limit or past their target, earliest first.'),
    unsaturated: z.array(z.strictObject({ name: z.string(), peakPercent: z.number() })),
    throughputLimit: z
      .strictObject({
        fromMs: z.number(),
        toMs: z.number(),
        servedRps: z.number(),
        askedRps: z.number().optional(),
        inFlightFrom: z.number(),
        inFlightTo: z.number(),
        littleMs: z.number(),
      })
      .optional(),
    database: z
      .strictObject({
        source: z.string(),
        totalMs: z.number().optional(),
        top: z.array(statement),
        dealloc: z.number().optional(),
        seqScanTables: z.array(tableScans),
        heavyReads: z.array(statement),
        lockWaits: z.array(lockWait),
        slower: z
          .array(
            z.strictObject({ queryid: z.string(), query: z.string(), meanMs: z.number(), baselineMeanMs: z.number() }),
          )
          .optional(),
      })
      .optional(),
    memory: z.array(
      z.strictObject({
        name: z.string(),
        unit: z.enum(['%', 'count', 'ms', 'bytes', '/s']),
        slopePerMin: z.number(),
        r2: z.number(),
        fromValue: z.number(),
        toValue: z.number(),
        samples: z.number(),
        leak: z.boolean(),
      }),
    ),
    errors: z
      .strictObject({
        endpoints: z.array(
          z.strictObject({
            name: z.string(),
            errors: z.number(),
            requests: z.number(),
            codes: z.record(z.string(), z.number()),
          }),
        ),
        logs: z.array(
          z.strictObject({
            group: z.enum(['payment', 'auth', 'other']),
            message: z.string(),
            count: z.number(),
            source: z.string(),
          }),
        ),
      })
      .optional(),
    slowest: z.array(slowRequest).optional().describe('The slowest requests with their trace ids.'),
    stoppedTasks: z
      .array(z.strictObject({ ...stoppedTaskFields, outOfMemory: z.boolean() }))
      .optional()
      .describe('ECS tasks stopped during the run.'),
    limits: z.array(z.string()).describe('What the diagnosis could not look at.'),
  })
  .describe('Why the run failed, as far as its figures tell (the report\'s "Why" block).');

const runSchema = z
  .strictObject({
    schemaVersion: z.literal(RESULTS_SCHEMA_VERSION),
    engine: z.enum(ENGINES),
    tool: z
      .strictObject({ name: z.string(), version: z.string().optional() })
      .optional()
      .describe('The tool that generated the load.'),
    sourceFiles: z.array(z.string()).optional().describe('Files read or written by the tool.'),
    phase: z.string(),
    target: z.string().optional().describe('Target URL, credentials removed.'),
    startedAt: z.string().describe('ISO 8601.'),
    endedAt: z.string().describe('ISO 8601.'),
    durationMs: ms('Length of the run'),
    requests: count('Completed requests: a response or an error (timeout, refused, ...).'),
    errors: count('Requests that counted as errors.'),
    errorsByKind,
    statusCodes: counts('Responses by status code.'),
    errorRate: z.number().optional().describe('Errors as a percentage of requests; absent when no request completed.'),
    throughputRps: z.number().optional().describe('Completed requests per second over the run.'),
    latency,
    histogram: histogram.optional(),
    served: served
      .optional()
      .describe(
        'Latency of the successful responses, what latency targets are judged on; absent when the engine cannot tell them apart (latency is then judged on every response, and a note says so).',
      ),
    vus: z.strictObject({ created: z.number().optional(), max: z.number().optional() }).optional(),
    endpoints: z.array(endpoint),
    intervals: z.array(interval),
    intervalMs: z.number().optional().describe('Width of the intervals, ms.'),
    generator: z
      .strictObject({
        arrivalsScheduled: z.number().optional(),
        arrivalsStarted: z.number().optional(),
        arrivalsDropped: z.number().optional(),
        maxLagMs: z.number().optional(),
        maxInFlight: z.number().optional().describe("The generator's cap on requests in flight (http.max-in-flight)."),
        valid: z.boolean().describe('false: the generator could not send the load asked for (verdict error).'),
        invalidReasons: z.array(z.string()),
      })
      .describe('What the load generator achieved.'),
    customMetrics: z
      .record(
        z.string(),
        z.strictObject({
          type: z.enum(['counter', 'rate', 'trend', 'gauge']),
          values: z.record(z.string(), z.number()),
        }),
      )
      .describe('Tool metrics by name.'),
    toolThresholds: z
      .array(z.strictObject({ metric: z.string(), expression: z.string(), ok: z.boolean() }))
      .describe('Artillery ensure checks and k6 thresholds.'),
    checkFailures: checkFailures.optional(),
    flows: z
      .array(z.strictObject({ name: z.string(), started: z.number(), completed: z.number(), failed: z.number() }))
      .optional()
      .describe('Per user journey.'),
    logs: z
      .array(
        z.strictObject({
          source: z.string(),
          query: z.string(),
          count: z.number().optional(),
          top: z.array(z.strictObject({ message: z.string(), count: z.number() })),
          unavailable: z.string().optional(),
        }),
      )
      .optional()
      .describe('Error logs for the run window.'),
    shard: z
      .strictObject({
        index: z.number(),
        count: z.number(),
        commit: z.string().optional(),
        workflowRun: z.string().optional(),
        shapeKey: z.string(),
      })
      .optional()
      .describe('Set on one shard of a sharded run.'),
    notes: z.array(z.string()).describe('Remarks for the report.'),
    shape: z
      .strictObject({
        stages: z.array(stage),
        peakRate: z.number().optional(),
        durationScale: z.number().optional(),
        source: z.enum(['perf-gate', 'script']).optional(),
      })
      .optional()
      .describe('The load shape that was asked for.'),
    infra: z.array(infraMetric).optional(),
    slowQueries: z
      .array(
        z.strictObject({
          query: z.string(),
          calls: z.number(),
          meanMs: z.number(),
          totalMs: z.number(),
          rows: z.number().optional(),
          sharedBlksHit: z.number().optional(),
        }),
      )
      .optional()
      .describe('Top statements by mean time during the run (pg_stat_statements).'),
    analysis: analysis.optional(),
    environment: z
      .strictObject({
        checks: z
          .array(
            z.strictObject({
              kind: z.string().describe('env, version, reachable, monitoring, ecs, target-health or instances.'),
              name: z.string().describe('What was checked (a variable, a source, a service, a target group, a query).'),
              ok: z.boolean(),
              detail: z.string().describe("What was found, or why the check failed; never a secret's value."),
            }),
          )
          .describe('The checks: before the load, one line each; any failure is verdict error and no load.'),
        baseline: z
          .array(
            z.strictObject({
              name: z.string(),
              before: z.number().optional().describe("Right before the load's first request."),
              after: z.number().optional().describe('After the run.'),
              change: z.number().optional().describe('after - before.'),
              unavailable: z.string().optional(),
            }),
          )
          .optional()
          .describe('The database baseline: queries at: start and at: change, and the connections.'),
        smoke: z
          .strictObject({
            flows: z.array(
              z.strictObject({
                name: z.string(),
                ok: z.boolean(),
                requests: count('Requests sent by the smoke pass for this flow.'),
                failure: z.string().optional(),
                step: z.string().optional(),
              }),
            ),
            skipped: z.string().optional(),
          })
          .optional()
          .describe("The smoke pass: each flow once before the load; its requests are not in the run's figures."),
      })
      .optional()
      .describe('The environment before the load: checks, the smoke pass and the database baseline.'),
    database: z
      .array(databaseActivity)
      .optional()
      .describe('What each PostgreSQL source saw of the database during the run.'),
    slowest: z
      .array(slowRequest)
      .optional()
      .describe('The slowest requests with their trace ids, slowest first (built-in engine, http.traceparent).'),
    stoppedTasks: z
      .array(z.strictObject(stoppedTaskFields))
      .optional()
      .describe('ECS tasks of the checked services that stopped during the run (stoppedReason, stopCode, containers).'),
  })
  .describe('The normalised run.');

const target = z.strictObject({
  metric: z.string().describe('Canonical metric name (p99, error_rate, p99{bid}, cpu, ...).'),
  op: z.enum(COMPARISON_OPS),
  value: z.number().describe("Threshold in the metric's unit."),
  unit: z.enum(['ms', '%', '/s', 'count']),
  source: z.string().describe('The expression as written.'),
  optional: z.boolean(),
  endpoint: z.string().optional(),
  status: z.string().optional(),
  rhsMetric: z.strictObject({ metric: z.string(), factor: z.number(), label: z.string() }).optional(),
  warn: z.number().optional().describe('Warning level, in the unit of value.'),
  kept: z
    .literal('phase')
    .optional()
    .describe(
      "The phase's error-rate bound, kept because the targets given named none (only `error_rate: not judged` removes it).",
    ),
});

const targetResult = z.strictObject({
  target,
  actual: z.number().optional(),
  status: z.enum(['pass', 'fail', 'not_measured']),
  rhs: z.strictObject({ label: z.string(), value: z.number().optional() }).optional(),
  origin: z.enum(['target', 'tool']).optional(),
  note: z.string().optional(),
  warning: z.boolean().optional().describe('The target held, but past its warning level.'),
});

const verdictSchema = z
  .strictObject({
    status: z
      .enum(VERDICTS)
      .describe('pass, fail, error, or shard (one shard of a sharded run, judged after the merge).'),
    failsCheck: z.boolean().describe('Whether the check fails under fail-on.'),
    targets: z.array(targetResult),
    reasons: z.array(z.string()),
    regressions: z
      .array(
        z.strictObject({
          metric: z.string(),
          current: z.number().optional(),
          baseline: z.number().optional(),
          changePercent: z.number().optional(),
          status: z.enum(['pass', 'regressed', 'improved', 'no_baseline', 'not_comparable']),
          reason: z.string().optional(),
          acceptedBy: z.string().optional(),
          floor: z
            .strictObject({
              value: z.number().describe("In the metric's unit."),
              unit: z.enum(['ms', 'pp']),
              basis: z
                .enum(['rule', 'history', 'sampling', 'resolution'])
                .describe(
                  "rule: written in the rule; history: twice the history's spread; sampling: twice the two runs' sampling noise; resolution: two histogram buckets",
                ),
              why: z.string().describe("As the report's Method line says it, e.g. 2× the history's spread."),
              detail: z.string().optional().describe('The figures behind it, e.g. SD 2.8 ms over 5 runs.'),
            })
            .optional()
            .describe('The absolute floor a worsening had to exceed, and why that much.'),
        }),
      )
      .optional(),
    baseline: z
      .strictObject({
        sha: z.string().optional(),
        createdAt: z.string().optional(),
        source: z.string(),
        note: z.string().optional(),
        method: z.string().optional(),
        trend: z
          .array(
            z.strictObject({
              sha: z.string().optional(),
              createdAt: z.string(),
              p99: z.number().optional(),
              errorRate: z.number().optional(),
            }),
          )
          .optional(),
        statements: z
          .array(z.strictObject({ queryid: z.string(), meanMs: z.number(), calls: z.number() }))
          .optional()
          .describe("The baseline run's top statements as recorded, for the Why block's slower statements."),
      })
      .optional(),
  })
  .describe('The verdict and every target and regression row behind it.');

export const resultsFileSchema = z
  .strictObject({
    schemaVersion: z.literal(RESULTS_SCHEMA_VERSION),
    run: runSchema,
    verdict: verdictSchema,
    confirmation: z
      .strictObject({
        run: runSchema,
        pooled: z.strictObject({
          requests: z.number(),
          errors: z.number(),
          errorRate: z.number().optional(),
          throughputRps: z.number().optional(),
          latency,
        }),
      })
      .optional()
      .describe('After a confirmation run: that run, and the pooled figures the regressions were judged on.'),
    why: diagnosisSchema.optional(),
  })
  .describe('perf-gate results.json: the normalised run and its verdict.');

export function resultsJsonSchema(): Record<string, unknown> {
  // Shapes used in several places (latency, histograms, the run of a confirmation) are written once, as definitions.
  const { $schema, ...rest } = z.toJSONSchema(resultsFileSchema, {
    target: 'draft-7',
    io: 'output',
    reused: 'ref',
  }) as Record<string, unknown>;
  return {
    $schema,
    $id: `https://raw.githubusercontent.com/ftw/perf-gate/v1/schema/${RESULTS_SCHEMA_FILE}`,
    title: 'perf-gate results.json',
    ...rest,
  };
}

// The schema and the model must describe the same file: each must be assignable to the other.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Expect<T extends true> = T;
export type RunMatchesModel = Expect<Same<z.infer<typeof runSchema>, RunResult>>;
export type VerdictMatchesModel = Expect<Same<z.infer<typeof verdictSchema>, Verdict>>;
// Assignability forgives an optional key missing on one side: the key lists must match too.
export type RunKeysMatch = Expect<Same<keyof z.infer<typeof runSchema>, keyof RunResult>>;
export type VerdictKeysMatch = Expect<Same<keyof z.infer<typeof verdictSchema>, keyof Verdict>>;
export type DiagnosisMatchesModel = Expect<Same<z.infer<typeof diagnosisSchema>, Diagnosis>>;
export type DiagnosisKeysMatch = Expect<Same<keyof z.infer<typeof diagnosisSchema>, keyof Diagnosis>>;
export type DatabaseMatchesModel = Expect<Same<z.infer<typeof databaseActivity>, DatabaseActivity>>;
export type TargetKeysMatch = Expect<Same<keyof z.infer<typeof target>, keyof Target>>;
export type TargetResultKeysMatch = Expect<Same<keyof z.infer<typeof targetResult>, keyof TargetResult>>;
