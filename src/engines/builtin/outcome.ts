// What a built-in run says about itself: the progress line of each interval, whether the generator delivered the
// load it was asked for (GeneratorHealth), what the journeys' checks found, and the RunResult. Read from the run's
// counters (RunTotals) once an interval closes or the run ends, never on the hot path.
import type { SlowestRequests } from './trace.js';
import type { Config } from '../../config/types.js';
import type { CompiledFlow } from './flows.js';
import type { ParsedTarget } from '../../flows/target.js';
import {
  OTHER_CAUSES_NOTE,
  RESULTS_SCHEMA_VERSION,
  type FlowResult,
  type GeneratorHealth,
  type RunResult,
  type Stage,
} from '../../model.js';
import type { Logger } from '../../log.js';
import type { IntervalProgress, Recorder } from './recorder.js';
import { round3 } from './recorder.js';
import type { ArrivalSchedule } from './schedule.js';

/** An arrival starting later than this after its due time does not count as delivered on schedule. */
export const LATE_MS = 1000;
/** Share of dropped arrivals, and of rate shortfall, above which the run is invalid. */
const MAX_DROPPED_SHARE = 0.01;
const MAX_RATE_SHORTFALL = 0.05;

/** The counters and settings of a run (BuiltinRun keeps them) that its progress, health and result are made of. */
export interface RunTotals {
  readonly config: Config;
  readonly log: Logger;
  readonly stages: Stage[];
  readonly schedule: ArrivalSchedule;
  readonly target: ParsedTarget;
  readonly flows: CompiledFlow[];
  readonly flowStarted: Float64Array;
  readonly flowCompleted: Float64Array;
  readonly flowFailed: Float64Array;
  readonly maxInFlight: number;
  readonly intervalMs: number;
  readonly tracing: boolean;
  readonly slowest: SlowestRequests;
  readonly rec: Recorder;
  readonly t0: number;
  readonly stopReason: string | undefined;
  readonly scheduled: number;
  readonly started: number;
  readonly dropped: number;
  readonly late: number;
  readonly maxLag: number;
  readonly abandoned: number;
  readonly pastDeadline: number;
  /** Why requests failed as `other` (a certificate, a protocol error, an unsendable value), counted by text. */
  readonly otherCauses: ReadonlyMap<string, number>;
  /** Set-Cookie values that could not be sent back (a control character in them): skipped, not stored. */
  readonly cookiesSkipped: number;
  readonly peakFlows: number;
  readonly firstStart: number;
  readonly lastEnd: number;
  readonly scheduleEndMs: number;
}

/** The progress line of an interval that just closed. */
export function progressLine(run: RunTotals, p: IntervalProgress): string {
  const iv = p.interval;
  const secs = iv.durationMs / 1000;
  const p99 = iv.latency.p99 !== undefined ? `${iv.latency.p99.toFixed(1)} ms` : '-';
  return (
    `builtin: ${fmtS(p.endMs)}/${fmtS(run.schedule.totalMs)}  ${stageLabel(run, iv.startMs + iv.durationMs / 2)}  target ${fmtRate(iv.targetRate ?? 0)}/s  ` +
    `started ${fmtRate((iv.arrivalsStarted ?? 0) / secs)}/s  ${iv.requests} req  p99 ${p99}  errors ${iv.errors}` +
    `  in flight ${iv.concurrency ?? 0}`
  );
}

/** `ramp-up` or `stage 2/3`: which part of the shape an interval belongs to, for the progress log. */
function stageLabel(run: RunTotals, tMs: number): string {
  if (tMs >= run.schedule.totalMs) return 'drain';
  const i = run.schedule.stageAt(tMs);
  const name = run.stages[i]?.name;
  return name ? `${name} (${i + 1}/${run.stages.length})` : `stage ${i + 1}/${run.stages.length}`;
}

export function generatorHealth(run: RunTotals): GeneratorHealth {
  const reasons: string[] = [];
  const { scheduled, dropped, started, late } = run;
  if (scheduled > 0 && dropped > scheduled * MAX_DROPPED_SHARE) {
    reasons.push(
      `${dropped} of ${scheduled} arrivals (${pct(dropped / scheduled)}) were dropped because ${run.maxInFlight} requests ` +
        `were already in flight (http.maxInFlight): the target answered too slowly for this rate, so it saw less load than asked`,
    );
  }
  // Arrivals that started more than LATE_MS after they were due came in a burst later, not at the asked rate.
  // Dropped ones are left out here: the rule above already speaks for them.
  const expected = scheduled - dropped;
  const onTime = started - late;
  const windowS = Math.max(run.scheduleEndMs, 1) / 1000;
  if (expected > 0 && onTime < expected * (1 - MAX_RATE_SHORTFALL)) {
    reasons.push(
      `the load generator started arrivals at ${fmtRate(onTime / windowS)}/s, ${pct(1 - onTime / expected)} below the ` +
        `${fmtRate(expected / windowS)}/s scheduled (${late} started more than ${LATE_MS / 1000} s late, worst ${Math.round(run.maxLag)} ms): ` +
        `the machine running the test could not keep up, so the target saw less load than asked`,
    );
  }
  return {
    arrivalsScheduled: scheduled,
    arrivalsStarted: started,
    arrivalsDropped: dropped,
    maxLagMs: round3(run.maxLag),
    maxInFlight: run.maxInFlight,
    valid: reasons.length === 0,
    invalidReasons: reasons,
  };
}

/** What the journeys' checks found, in the log too: a 401 on login must not be visible only in results.json. */
function logJourneys(run: RunTotals): void {
  const failures = [...run.rec.checkFailures].sort((a, b) => b[1] - a[1]);
  if (failures.length > 0) {
    const shown = failures.slice(0, 5).map(([m, n]) => `${m} (${n})`);
    if (failures.length > 5) shown.push(`${failures.length - 5} more in results.json`);
    run.log.info(`builtin: failed checks: ${shown.join('; ')}`);
  }
  run.flows.forEach((f, i) => {
    const failed = run.flowFailed[i]!;
    if (failed > 0) {
      run.log.info(
        `builtin: flow "${f.name}": ${run.flowStarted[i]} started, ${run.flowCompleted[i]} completed, ${failed} stopped at a failed check`,
      );
    }
  });
}

export function runResult(run: RunTotals, endT: number): RunResult {
  const rec = run.rec;
  const hist = rec.overallHistogram();
  const loadEnd = run.lastEnd >= 0 ? run.lastEnd : endT;
  const durationMs = run.firstStart >= 0 ? Math.max(0, loadEnd - run.firstStart) : 0;
  const notes: string[] = [];
  if (run.stopReason !== undefined) notes.push(`stopped early: ${run.stopReason}`);
  if (run.abandoned > 0) {
    notes.push(
      `${run.abandoned} request(s) were still in flight when the run had to end and were cancelled; they are not counted`,
    );
  }
  logJourneys(run);
  if (run.otherCauses.size > 0) {
    const causes = [...run.otherCauses].sort((a, b) => b[1] - a[1]).map(([c, n]) => `${c} (${n})`);
    notes.push(`${OTHER_CAUSES_NOTE} ${causes.join('; ')}`);
    run.log.info(`builtin: ${notes[notes.length - 1]}`);
  }
  if (run.cookiesSkipped > 0) {
    notes.push(
      `${run.cookiesSkipped} Set-Cookie value(s) from the target were skipped, not stored: a control character or a character outside latin-1 in the cookie's name or value cannot be sent back in a header`,
    );
  }
  if (run.pastDeadline > 0) {
    notes.push(
      `${run.pastDeadline} flow step(s) were not sent: they came due after the phase's end plus the request timeout`,
    );
  }
  const generator = generatorHealth(run);
  if (!generator.valid) for (const r of generator.invalidReasons) run.log.warning(`builtin: run invalid: ${r}`);
  const startedAtMs = performance.timeOrigin + run.t0;
  const out: RunResult = {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    engine: 'builtin',
    tool: { name: 'perf-gate builtin' },
    phase: run.config.phase.name,
    target: run.target.redacted,
    startedAt: new Date(startedAtMs).toISOString(),
    endedAt: new Date(startedAtMs + endT).toISOString(),
    durationMs: round3(durationMs),
    requests: rec.requests,
    errors: rec.errors,
    errorsByKind: rec.errorsByKind(),
    statusCodes: rec.statusCodes(),
    latency: hist.stats(),
    histogram: hist.toJSON(),
    served: rec.served(),
    vus: { max: run.peakFlows, created: run.started },
    endpoints: rec.endpointResults(),
    intervals: rec.intervals,
    intervalMs: run.intervalMs,
    generator,
    ...(run.tracing ? { slowest: run.slowest.list() } : {}),
    customMetrics: {},
    toolThresholds: [],
    notes,
    shape: { stages: run.stages, peakRate: run.schedule.peakRate },
    flows: run.flows.map(
      (f, i): FlowResult => ({
        name: f.name,
        started: run.flowStarted[i]!,
        completed: run.flowCompleted[i]!,
        failed: run.flowFailed[i]!,
      }),
    ),
  };
  const checkFailures = rec.checkFailureCounts();
  if (checkFailures) out.checkFailures = checkFailures;
  if (rec.requests > 0) {
    out.errorRate = (rec.errors / rec.requests) * 100;
    if (durationMs > 0) out.throughputRps = rec.requests / (durationMs / 1000);
  }
  return out;
}

export function fmtS(ms: number): string {
  return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
}

export function fmtRate(r: number): string {
  return r >= 100 ? r.toFixed(0) : r.toFixed(1);
}

function pct(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

/** Why the run stopped early, as the report says it. */
export function describeReason(reason: unknown): string {
  // A bare controller.abort() gives a DOMException whose message says nothing a report reader needs.
  if (reason instanceof Error && reason.name !== 'AbortError') return reason.message || reason.name;
  if (typeof reason === 'string' && reason) return reason;
  return 'aborted';
}
