// A built-in run's state: its settings, the parts it drives (schedule, flows, connections, slots, recorder), its
// counters and its timers, set up once by the constructor. The layers above it act on this state: the journey's steps
// (steps.ts), the schedule's driving (driver.ts) and the run's start and end (index.ts). One object on one class chain,
// so a request's path reads its fields directly, as before the split: no extra object or call per request.
import type { Config } from '../../config/types.js';
import type { Stage } from '../../model.js';
import type { EngineRunOptions } from '../types.js';
import { compileFlows } from './flows.js';
import type { CompiledFlow, CompiledFlows } from './flows.js';
import { Recorder } from './recorder.js';
import type { IntervalProgress } from './recorder.js';
import { SlowestRequests, TraceIds } from './trace.js';
import { ArrivalSchedule } from './schedule.js';
import { InFlightSlots } from './inflight.js';
import { ConnectionPool, endpointOf } from './http1.js';
import { UserError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { parseTarget, type ParsedTarget } from '../../flows/target.js';

/** At most this much of a body is kept for a step's checks; the rest is still read (and timed), not kept. */
const CHECK_BODY_LIMIT = 16 * 1024 * 1024;

/** A flow asleep in a think step; stop() wakes it early. */
export interface Sleeper {
  resolve: () => void;
  timer: NodeJS.Timeout | undefined;
  set: Set<Sleeper>;
}

export abstract class RunState {
  readonly config: Config;
  readonly log: Logger;
  protected readonly signal: AbortSignal | undefined;
  protected readonly onInterval: EngineRunOptions['onInterval'];
  readonly stages: Stage[];
  readonly schedule: ArrivalSchedule;
  readonly target: ParsedTarget;
  protected readonly compiled: CompiledFlows;
  readonly flows: CompiledFlow[];
  readonly flowStarted: Float64Array;
  readonly flowCompleted: Float64Array;
  readonly flowFailed: Float64Array;
  protected readonly cumulative: Float64Array;
  protected readonly totalWeight: number;
  protected readonly timeoutMs: number;
  readonly maxInFlight: number;
  /** http.traceparent: ids written into every request, the slowest requests' kept (outcome.ts reads them). */
  readonly tracing: boolean;
  protected readonly traceIds = new TraceIds();
  readonly slowest = new SlowestRequests(10);
  readonly intervalMs: number;
  protected readonly pool: ConnectionPool;
  protected readonly hostHeader: string;
  readonly rec: Recorder;

  t0 = 0;
  /** No new steps start once set: flows finish their current request and leave. */
  protected stopped = false;
  protected aborted = false;
  stopReason: string | undefined;

  scheduled = 0;
  started = 0;
  dropped = 0;
  late = 0;
  maxLag = 0;
  abandoned = 0;
  /** Flow steps not sent because the hard deadline had passed. */
  pastDeadline = 0;
  protected activeFlows = 0;
  peakFlows = 0;
  firstStart = -1;
  lastEnd = -1;
  scheduleEndMs = 0;
  protected internalError: unknown;

  protected readonly inFlight: InFlightSlots;
  protected readonly sleepers = new Set<Sleeper>();
  protected schedTimer: NodeJS.Timeout | undefined;
  protected schedImmediate: NodeJS.Immediate | undefined;
  protected intervalTimer: NodeJS.Timeout | undefined;
  protected nextK = 0;
  protected nextDue = 0;
  protected onScheduleEnd: (() => void) | undefined;
  protected onIdle: (() => void) | undefined;
  protected idleGiveUp: ((graceMs: number) => void) | undefined;

  constructor(options: EngineRunOptions) {
    this.config = options.config;
    this.log = options.log;
    this.signal = options.signal;
    this.onInterval = options.onInterval;
    this.stages = options.stages;
    const http = this.config.http;
    if (!(Number.isFinite(http.timeoutMs) && http.timeoutMs > 0))
      throw new UserError('http.timeoutMs must be a positive number of ms');
    if (!(Number.isInteger(http.maxInFlight) && http.maxInFlight >= 1))
      throw new UserError('http.maxInFlight must be a whole number of at least 1');
    if (!(Number.isFinite(this.config.intervalMs) && this.config.intervalMs > 0))
      throw new UserError('intervalMs must be a positive number of ms');
    this.schedule = new ArrivalSchedule(this.stages);
    this.target = parseTarget(this.config.target);
    this.compiled = compileFlows(this.config, this.target);
    this.flows = this.compiled.flows;
    this.flowStarted = new Float64Array(this.flows.length);
    this.flowCompleted = new Float64Array(this.flows.length);
    this.flowFailed = new Float64Array(this.flows.length);
    this.cumulative = this.compiled.cumulative;
    this.totalWeight = this.compiled.totalWeight;
    this.timeoutMs = http.timeoutMs;
    this.maxInFlight = http.maxInFlight;
    this.tracing = http.traceparent !== false;
    this.intervalMs = this.config.intervalMs;
    this.rec = new Recorder(
      this.compiled.endpointNames,
      this.intervalMs,
      http.count4xxAsErrors,
      (t) => this.schedule.rateAt(t),
      (p) => this.progress(p),
    );
    // One connection per request we may have in flight, taken from a free list: the cap on concurrency is ours
    // (dropped arrivals), so no request ever waits behind a busy socket and adds that wait to its latency silently.
    // Connections have no timers of their own: the deadline timer (inflight.ts) ends a request at timeoutMs overall,
    // connecting included. Once the run ends, every connection is destroyed.
    const endpoint = endpointOf(this.target.origin);
    this.pool = new ConnectionPool(endpoint);
    this.hostHeader = endpoint.hostHeader;
    this.inFlight = new InFlightSlots(this.timeoutMs, CHECK_BODY_LIMIT);
  }

  protected onInternalError = (err: unknown): void => {
    this.internalError ??= err;
  };

  /** The interval just closed (the recorder calls it): index.ts logs it and tells the caller. */
  protected abstract progress(p: IntervalProgress): void;
}
