// The normalised run (results.json's `run`, and a confirmation's): totals, endpoints, the time series, the shape's
// stages, the phase analyses (steady part, stress, recovery), the generator's own health, the sources' metrics and
// the slowest requests.
import { z } from 'zod';
import { DECIDE_ON, ENGINES, RESULTS_SCHEMA_VERSION } from '../model.js';
import { checkFailures, count, counts, errorsByKind, histogram, latency, ms, served, slowRequest } from './measures.js';
import { databaseActivity, infraMetric, stoppedTaskFields } from './infra.js';

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

export const runSchema = z
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
