// The built-in engine: an open-model HTTP load generator on its own HTTP/1.1 client (http1.ts). Arrivals come on the schedule whatever the
// target does (a slow target gets more concurrent requests, not fewer arrivals), which is what makes latency under
// a given load measurable without coordinated omission. The generator also reports on itself: an arrival it had
// to drop, or start late because this machine was saturated, means the target did not see the asked-for load, and
// the run is marked invalid rather than passed on numbers that describe a lighter test. Its parts: the arrival times
// (schedule.ts), the flows compiled once (flows.ts), the counts (recorder.ts), what the run says about itself
// (outcome.ts: progress, generator health, the RunResult) and an arrival's cookies (cookies.ts); this file drives them.
import type { Config } from '../../config/types.js';
import type { RunResult, Stage } from '../../model.js';
import type { Engine, EngineRunOptions } from '../types.js';
import { classifyError, compileFlows, describeFailure } from './flows.js';
import type { CompiledFlow, CompiledFlows, CompiledRequest } from './flows.js';
import { runChecks, type ResponseView } from '../../flows/checks.js';
import { renderJsonTemplate, renderTemplate, type ArrivalVars } from '../../flows/templates.js';
import { KIND, Recorder, round3 } from './recorder.js';
import { SlowestRequests, TraceIds, traceIdAt, traceOffset } from './trace.js';
import { cookieHeader, storeCookies } from './cookies.js';
import { describeReason, fmtRate, fmtS, LATE_MS, progressLine, runResult } from './outcome.js';
import type { IntervalProgress } from './recorder.js';
import { ArrivalSchedule } from './schedule.js';
import { InFlightSlots, REASON_STOPPED, REASON_TIMEOUT } from './inflight.js';
import type { Slot } from './inflight.js';
import { ConnectionPool, endpointOf, parseHead, requestBytes, setCookiesOf } from './http1.js';
import type { Http1Connection } from './http1.js';
import { UserError, messageOf } from '../../errors.js';
import type { Logger } from '../../log.js';
import { parseTarget, type ParsedTarget } from '../../flows/target.js';

export { ArrivalSchedule } from './schedule.js';
export { classifyError } from './flows.js';

export const builtinEngine: Engine = {
  name: 'builtin',
  run(options: EngineRunOptions): Promise<RunResult> {
    return new BuiltinRun(options).execute();
  },
};

/** How long in-flight requests get to finish after an abort (capped by the request timeout). */
const ABORT_GRACE_MS = 2000;
/** How long to wait for abandoned requests to unwind once they were cancelled. */
const SETTLE_MS = 1000;
/**
 * Arrivals started in one timer callback before yielding to I/O. Catching up a large backlog in one go would
 * block response handling for as long as it takes; yielding keeps responses timed honestly.
 */
const MAX_BATCH = 256;

/** At most this much of a body is kept for a step's checks; the rest is still read (and timed), not kept. */
const CHECK_BODY_LIMIT = 16 * 1024 * 1024;
/** Distinct causes of `other` failures kept for the notes (a run's causes are few; a hostile target's need no more). */
const MAX_CAUSES = 10;

/** What one request step left for the flow: go on, end (transport failure or stop), or a failed check. */
const STEP_OK = 0;
const STEP_END = 1;
const STEP_CHECK_FAILED = 2;

/**
 * One arrival's own state: its data row (a reference into the table), its capture slots and its cookie jar.
 * Arrivals never share one, so a token captured by one user is never sent by another.
 */
class Arrival implements ArrivalVars {
  jar: Map<string, string> | undefined = undefined;
  constructor(
    readonly row: readonly unknown[] | undefined,
    readonly caps: unknown[],
  ) {}
}

const NO_CAPS: unknown[] = [];
/** The headers checks see when none of them looks at headers (they are then not parsed). */
const NO_HEADERS: ResponseView['headers'] = Object.freeze({});

interface Sleeper {
  resolve: () => void;
  timer: NodeJS.Timeout | undefined;
  set: Set<Sleeper>;
}

function wake(s: Sleeper): void {
  s.set.delete(s);
  s.resolve();
}

class BuiltinRun {
  readonly config: Config;
  readonly log: Logger;
  private readonly signal: AbortSignal | undefined;
  private readonly onInterval: EngineRunOptions['onInterval'];
  readonly stages: Stage[];
  readonly schedule: ArrivalSchedule;
  readonly target: ParsedTarget;
  private readonly compiled: CompiledFlows;
  readonly flows: CompiledFlow[];
  readonly flowStarted: Float64Array;
  readonly flowCompleted: Float64Array;
  readonly flowFailed: Float64Array;
  private readonly cumulative: Float64Array;
  private readonly totalWeight: number;
  private readonly timeoutMs: number;
  readonly maxInFlight: number;
  /** http.traceparent: ids written into every request, the slowest requests' kept (outcome.ts reads them). */
  readonly tracing: boolean;
  private readonly traceIds = new TraceIds();
  readonly slowest = new SlowestRequests(10);
  readonly intervalMs: number;
  private readonly pool: ConnectionPool;
  private readonly hostHeader: string;
  readonly rec: Recorder;

  t0 = 0;
  /** No new steps start once set: flows finish their current request and leave. */
  private stopped = false;
  private aborted = false;
  stopReason: string | undefined;

  scheduled = 0;
  started = 0;
  dropped = 0;
  late = 0;
  maxLag = 0;
  abandoned = 0;
  /** Flow steps not sent because the hard deadline had passed. */
  pastDeadline = 0;
  private activeFlows = 0;
  peakFlows = 0;
  firstStart = -1;
  lastEnd = -1;
  scheduleEndMs = 0;
  private internalError: unknown;

  private readonly inFlight: InFlightSlots;
  private readonly sleepers = new Set<Sleeper>();
  private schedTimer: NodeJS.Timeout | undefined;
  private schedImmediate: NodeJS.Immediate | undefined;
  private intervalTimer: NodeJS.Timeout | undefined;
  private nextK = 0;
  private nextDue = 0;
  private onScheduleEnd: (() => void) | undefined;
  private onIdle: (() => void) | undefined;
  private idleGiveUp: ((graceMs: number) => void) | undefined;

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

  async execute(): Promise<RunResult> {
    const signal = this.signal;
    const onAbort = (): void => this.abort(signal?.reason);
    try {
      this.t0 = performance.now();
      this.log.info(
        `builtin: ${this.schedule.totalArrivals} arrivals over ${fmtS(this.schedule.totalMs)} (peak ${fmtRate(this.schedule.peakRate)}/s) ` +
          `against ${this.target.redacted}, ${this.flows.length} flow(s), at most ${this.maxInFlight} requests in flight`,
      );
      if (signal?.aborted) {
        this.abort(signal.reason);
      } else {
        signal?.addEventListener('abort', onAbort, { once: true });
        this.armIntervalTimer();
        const scheduleEnded = new Promise<void>((resolve) => (this.onScheduleEnd = resolve));
        this.nextDue = this.schedule.totalArrivals > 0 ? this.schedule.dueMs(0) : Number.POSITIVE_INFINITY;
        this.tick();
        await scheduleEnded;
      }
      // Normal end: give every in-flight request its full timeout, plus the think time a flow started at the very
      // end still has to sleep. After an abort: a short grace, and no further steps.
      const grace = this.aborted
        ? Math.min(this.timeoutMs, ABORT_GRACE_MS)
        : this.timeoutMs + this.compiled.maxThinkMs + 100;
      if (!(await this.waitIdle(grace))) {
        this.stop();
        this.inFlight.cancelAll(REASON_STOPPED);
        await this.waitIdle(SETTLE_MS);
      }
      const endT = performance.now() - this.t0;
      if (this.intervalTimer) clearTimeout(this.intervalTimer);
      this.rec.finish(endT);
      if (this.internalError !== undefined) throw this.internalError;
      return this.result(endT);
    } finally {
      signal?.removeEventListener('abort', onAbort);
      this.clearSchedule();
      if (this.intervalTimer) clearTimeout(this.intervalTimer);
      this.stop();
      this.inFlight.close();
      this.pool.destroyAll();
    }
  }

  // ---- scheduling -------------------------------------------------------------------------------------------

  /**
   * Start every arrival that is due, then sleep until the next one. Timers fire late by a millisecond or more,
   * so each wake-up catches up on everything due by now: at high rates that is a small batch per tick, and the
   * due times themselves never move.
   */
  private tick = (): void => {
    // Nothing thrown in a timer may reach Node's uncaught-exception handler: that ends the process without
    // results.json or a report. A failure here ends the run as an engine failure, which is a verdict.
    try {
      this.tickUnguarded();
    } catch (e) {
      this.crash(e);
    }
  };

  private crash(e: unknown): void {
    this.onInternalError(e);
    this.abort(new Error(`internal error: ${(e as Error)?.message ?? String(e)}`));
  }

  private tickUnguarded(): void {
    this.schedTimer = undefined;
    this.schedImmediate = undefined;
    if (this.aborted) return;
    const t0 = this.t0;
    const total = this.schedule.totalArrivals;
    let now = performance.now() - t0;
    let batch = 0;
    // Hard stop: arrivals still owed this long after the shape ended can no longer be sent as asked (the machine
    // fell behind, or the shape asked for more than it can start); they are dropped in one go, not sent late.
    if (this.nextK < total && now > this.schedule.totalMs + LATE_MS) {
      const owed = total - this.nextK;
      this.scheduled += owed;
      this.dropped += owed;
      this.nextK = total;
      this.nextDue = Number.POSITIVE_INFINITY;
    }
    while (this.nextK < total && this.nextDue <= now) {
      this.arrive(this.nextDue, now);
      this.nextK++;
      this.nextDue = this.nextK < total ? this.schedule.dueMs(this.nextK) : Number.POSITIVE_INFINITY;
      now = performance.now() - t0;
      if (++batch >= MAX_BATCH) {
        this.schedImmediate = setImmediate(this.tick);
        return;
      }
    }
    if (this.nextK >= total) {
      // All arrivals are out; the shape still lasts until its end (a trailing quiet stage is part of it).
      const rest = this.schedule.totalMs - now;
      if (rest > 0) {
        this.schedTimer = setTimeout(this.endSchedule, rest);
      } else {
        this.endSchedule();
      }
      return;
    }
    this.schedTimer = setTimeout(this.tick, this.nextDue - now);
  }

  /**
   * Start the arrivals due by now, between two timer ticks (called when a request ends and frees its slot). The
   * timer or immediate of tick() stays pending, so whatever this leaves (a batch's worth at most) is still picked up.
   */
  private catchUp(): void {
    if (this.aborted || this.onScheduleEnd === undefined) return;
    const t0 = this.t0;
    const total = this.schedule.totalArrivals;
    let now = performance.now() - t0;
    // Past the shape's end the hard stop in tick() decides what is still owed.
    if (now > this.schedule.totalMs) return;
    let batch = 0;
    while (this.nextK < total && this.nextDue <= now && batch++ < MAX_BATCH) {
      this.arrive(this.nextDue, now);
      this.nextK++;
      this.nextDue = this.nextK < total ? this.schedule.dueMs(this.nextK) : Number.POSITIVE_INFINITY;
      now = performance.now() - t0;
    }
  }

  private clearSchedule(): void {
    if (this.schedTimer) clearTimeout(this.schedTimer);
    if (this.schedImmediate) clearImmediate(this.schedImmediate);
    this.schedTimer = undefined;
    this.schedImmediate = undefined;
  }

  private endSchedule = (): void => {
    this.schedTimer = undefined;
    // Node's timers run off a cached loop clock and can fire a fraction of a millisecond before performance.now()
    // says the time is up; ending then would make the last interval a hair short and misplace its target rate.
    const early = this.schedule.totalMs - (performance.now() - this.t0);
    if (early > 0 && !this.aborted) {
      this.schedTimer = setTimeout(this.endSchedule, Math.max(1, Math.ceil(early)));
      return;
    }
    // The window the rates are judged over is the shape, even if this timer fired late.
    this.scheduleEndMs = Math.min(performance.now() - this.t0, this.schedule.totalMs);
    const done = this.onScheduleEnd;
    this.onScheduleEnd = undefined;
    done?.();
  };

  private arrive(due: number, now: number): void {
    this.scheduled++;
    if (this.rec.inFlight >= this.maxInFlight) {
      this.dropped++;
      return;
    }
    const lag = now - due;
    if (lag > this.maxLag) this.maxLag = lag;
    if (lag > LATE_MS) this.late++;
    this.started++;
    if (this.firstStart < 0) this.firstStart = now;
    this.rec.arrival(now);
    // Pick a flow by weight with a single random draw over the cumulative weights.
    const r = Math.random() * this.totalWeight;
    const cum = this.cumulative;
    let i = 0;
    while (i < cum.length - 1 && cum[i]! <= r) i++;
    this.activeFlows++;
    if (this.activeFlows > this.peakFlows) this.peakFlows = this.activeFlows;
    const flow = this.flows[i]!;
    let row: readonly unknown[] | undefined;
    const data = flow.data;
    if (data) {
      const n = data.rows.length;
      if (flow.random) {
        row = data.rows[Math.floor(Math.random() * n)];
      } else {
        row = data.rows[flow.next];
        flow.next = flow.next + 1 === n ? 0 : flow.next + 1;
      }
    }
    this.flowStarted[i]!++;
    const arrival = new Arrival(row, flow.slots > 0 ? new Array<unknown>(flow.slots) : NO_CAPS);
    // The flow's first request is sent synchronously, inside this tick, so its start time is the arrival's.
    const only = flow.steps.length === 1 ? flow.steps[0]! : undefined;
    if (only !== undefined && !only.think) {
      if (this.stopped || this.send(only, arrival, this.singleDone, i) === undefined) {
        this.activeFlows--;
        this.checkIdle();
      }
      return;
    }
    this.runFlow(i, flow, arrival).catch(this.onInternalError);
  }

  private async runFlow(fi: number, flow: CompiledFlow, arrival: Arrival): Promise<void> {
    const steps = flow.steps;
    try {
      for (let s = 0; s < steps.length; s++) {
        if (this.stopped) return;
        const step = steps[s]!;
        if (step.think) {
          await this.think(step.ms);
          continue;
        }
        const outcome = await this.request(step, arrival);
        if (outcome === STEP_OK) continue;
        // A failed expectation or capture ends the flow: sending the next step with an empty token would only
        // produce errors that hide the real one. A transport failure ends it too, as in k6 and Artillery.
        if (outcome === STEP_CHECK_FAILED) this.flowFailed[fi]!++;
        return;
      }
      this.flowCompleted[fi]!++;
    } finally {
      this.activeFlows--;
      this.checkIdle();
    }
  }

  /** Why requests failed as `other` (a certificate, a protocol error, an unsendable value), counted by text. */
  readonly otherCauses = new Map<string, number>();

  private noteCause(failure: unknown): void {
    const cause = describeFailure(failure);
    const have = this.otherCauses.get(cause);
    if (have !== undefined) this.otherCauses.set(cause, have + 1);
    else if (this.otherCauses.size < MAX_CAUSES) this.otherCauses.set(cause, 1);
  }

  /** Set-Cookie values that could not be sent back (a control character in them): skipped and counted. */
  cookiesSkipped = 0;
  private readonly skipCookie = (): void => {
    this.cookiesSkipped++;
  };

  private onInternalError = (err: unknown): void => {
    this.internalError ??= err;
  };

  private think(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const s: Sleeper = { resolve, timer: undefined, set: this.sleepers };
      s.timer = setTimeout(wake, ms, s);
      this.sleepers.add(s);
    });
  }

  // ---- requests ---------------------------------------------------------------------------------------------

  /** Send one request and record it. Resolves to STEP_OK, STEP_END (transport error or stop) or STEP_CHECK_FAILED. */
  private async request(step: CompiledRequest, arrival: Arrival): Promise<number> {
    const slot = this.send(step, arrival, undefined, 0);
    if (slot === undefined) return STEP_END;
    await new Promise<void>(slot.settled);
    return this.complete(slot);
  }

  /**
   * A flow of one request needs no async function, no promise and no loop over steps: it is started here and
   * finished by `singleDone`, called with the settled slot.
   */
  private singleDone = (slot: Slot): void => {
    const fi = slot.flow;
    try {
      const outcome = this.complete(slot);
      if (outcome === STEP_OK) this.flowCompleted[fi]!++;
      else if (outcome === STEP_CHECK_FAILED) this.flowFailed[fi]!++;
    } catch (e) {
      this.onInternalError(e);
    } finally {
      this.activeFlows--;
      this.checkIdle();
    }
  };

  /**
   * Render and hand one request to a connection; undefined when it is past the hard deadline (not sent). `then`: call
   * it with the settled slot instead of resolving a promise (see Slot.then_).
   */
  private send(
    step: CompiledRequest,
    arrival: Arrival,
    then: ((s: Slot) => void) | undefined,
    flow: number,
  ): Slot | undefined {
    // Hard deadline, whatever the shape, the flows or the machine: no request leaves after the phase's end plus the
    // request timeout (the time an answer to the last arrival may take).
    if (performance.now() - this.t0 > this.schedule.totalMs + this.timeoutMs) {
      this.pastDeadline++;
      return undefined;
    }
    // Templates and cookies are rendered, and the request's bytes built, before the clock starts: they are the
    // client's work, not the target's. A step without templates sends the bytes built when the flows were compiled.
    let wire: Buffer | string | Error | undefined = step.wire;
    let traceOff = -1;
    if (wire === undefined || arrival.jar !== undefined) {
      wire = this.render(step, arrival);
      if (this.tracing && !(wire instanceof Error)) {
        if (typeof wire === 'string') wire = Buffer.from(wire, 'latin1');
        traceOff = traceOffset(wire);
        if (traceOff >= 0) this.traceIds.write(wire, traceOff);
      }
    } else if (step.traceOff >= 0) {
      // The step's bytes are shared by every request of it: each gets a copy with its own ids.
      traceOff = step.traceOff;
      wire = this.traceIds.stamp(wire, traceOff);
    }
    this.rec.inFlight++;
    const start = performance.now();
    const slot = this.inFlight.acquire(start, step.checks?.needsBody === true);
    slot.start = start;
    slot.step = step;
    slot.arrival = arrival;
    slot.flow = flow;
    slot.then_ = then;
    if (traceOff >= 0) {
      slot.wire = wire as Buffer;
      slot.traceOff = traceOff;
    }
    // The body is read to its last byte whatever its size (latency is "until the last byte arrived"), and kept only
    // when the step's checks need it. A request that cannot be sent (a rendered template put a line break in a
    // header) fails like a transport error, at once, without taking a connection; the slot remembers, so a promise
    // made afterwards still resolves.
    if (wire instanceof Error) {
      slot.client = undefined;
      slot.onError(wire);
    } else {
      const conn = this.pool.acquire();
      slot.client = conn;
      conn.dispatch(wire, step.isHead, step.closeAfter, slot);
    }
    return slot;
  }

  /**
   * A templated step's bytes for one arrival, or an Error saying why they cannot be sent. A value no template can
   * render (a RangeError from a value nested too deep, anything unforeseen) fails that request, never the run.
   */
  private render(step: CompiledRequest, arrival: Arrival): Buffer | string | Error {
    try {
      const path = step.pathT ? renderTemplate(step.pathT, arrival) : step.path;
      let headers = step.headers;
      if (step.headerT !== undefined || arrival.jar !== undefined) {
        headers = { ...headers };
        if (step.headerT) for (const [k, t] of step.headerT) headers[k] = renderTemplate(t, arrival);
        if (arrival.jar) {
          const jar = cookieHeader(arrival.jar);
          headers['cookie'] = headers['cookie'] ? `${headers['cookie']}; ${jar}` : jar;
        }
      }
      const body = step.bodyJson
        ? renderJsonTemplate(step.bodyJson, arrival)
        : step.bodyT
          ? renderTemplate(step.bodyT, arrival)
          : step.body;
      return requestBytes(step.method, path, this.hostHeader, headers, body);
    } catch (e) {
      return new Error(
        `the request could not be rendered: ${e instanceof RangeError ? 'a value is nested too deep' : 'a template value is unusable'}`,
      );
    }
  }

  /** Record a settled request and give its slot back. Returns STEP_OK, STEP_END or STEP_CHECK_FAILED. */
  private complete(slot: Slot): number {
    const step = slot.step as CompiledRequest;
    const arrival = slot.arrival as Arrival;
    const checks = step.checks;
    const t0 = this.t0;
    const start = slot.start;
    const end = slot.end;
    const status = slot.status;
    const reason = slot.reason;
    const failure = slot.failure;
    const traceOff = slot.traceOff;
    const wire = slot.wire;
    let failed: string | undefined;
    if (status >= 0) {
      const head = slot.headBuf;
      if (head !== undefined && slot.setCookie)
        arrival.jar = storeCookies(arrival.jar, setCookiesOf(head, slot.headStart, slot.headEnd), this.skipCookie);
      if (checks) {
        const text =
          slot.chunks !== undefined
            ? Buffer.concat(slot.chunks, slot.size).toString('utf8')
            : slot.keepBody
              ? ''
              : undefined;
        const view: ResponseView = {
          status,
          headers:
            head !== undefined && checks.needsHeaders ? parseHead(head, slot.headStart, slot.headEnd) : NO_HEADERS,
          body: text,
          truncated: slot.truncated,
        };
        // Checks run after the clock stopped: parsing a body is our work, not the target's latency. Whatever a
        // response holds, it fails this request's check at worst: it never ends the run.
        try {
          failed = runChecks(checks, view, arrival.caps);
        } catch {
          failed = checks.uncheckable;
        }
      }
    }
    if (slot.client !== undefined) this.pool.release(slot.client as Http1Connection);
    this.inFlight.release(slot);
    this.rec.inFlight--;
    if (reason === REASON_STOPPED) {
      // Cut off by the end of the run, not by the target: not a request of this test.
      this.abandoned++;
      this.checkIdle();
      return STEP_END;
    }
    this.lastEnd = end - t0;
    if (traceOff >= 0 && this.slowest.wants(end - start)) {
      this.slowest.add({
        traceId: traceIdAt(wire!, traceOff),
        endpoint: this.compiled.endpointNames[step.endpoint] ?? '',
        latencyMs: round3(end - start),
        atMs: round3(start - t0),
        ...(status >= 0 ? { status } : {}),
      });
    }
    // A slot just came free: start the arrivals that came due meanwhile now rather than at the scheduler's next
    // timer, which would leave the slot idle for up to a millisecond (their due times do not move; lag is measured).
    if (this.nextDue <= end - t0) this.catchUp();
    if (status >= 0) {
      const expected = step.expected !== undefined && step.expected.includes(status);
      this.rec.response(step.endpoint, end - t0, status, end - start, expected, failed);
      this.checkIdle();
      return failed === undefined ? STEP_OK : STEP_CHECK_FAILED;
    }
    const kind = reason === REASON_TIMEOUT ? KIND.timeout : KIND[classifyError(failure)];
    if (kind === KIND.other) this.noteCause(failure);
    this.rec.failure(step.endpoint, end - t0, kind);
    this.checkIdle();
    return STEP_END;
  }

  // ---- ending -----------------------------------------------------------------------------------------------

  private abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.stopReason = describeReason(reason);
    this.log.info(`builtin: stopping early: ${this.stopReason}`);
    this.clearSchedule();
    this.stop();
    this.idleGiveUp?.(Math.min(this.timeoutMs, ABORT_GRACE_MS));
    this.checkIdle();
    if (this.onScheduleEnd) {
      this.scheduleEndMs = performance.now() - this.t0;
      const done = this.onScheduleEnd;
      this.onScheduleEnd = undefined;
      done();
    }
  }

  /** Let no flow take another step, and wake the ones sleeping in a think step so they can leave. */
  private stop(): void {
    this.stopped = true;
    for (const s of this.sleepers) {
      clearTimeout(s.timer);
      s.resolve();
    }
    this.sleepers.clear();
  }

  private checkIdle(): void {
    if (this.onIdle && this.inFlight.size === 0 && (this.activeFlows === 0 || this.aborted)) {
      const done = this.onIdle;
      this.onIdle = undefined;
      done();
    }
  }

  /**
   * Wait until nothing is in flight (after an abort: no request; otherwise: no flow either), at most `ms`.
   * Resolves true when idle.
   */
  private waitIdle(ms: number): Promise<boolean> {
    if (this.inFlight.size === 0 && (this.activeFlows === 0 || this.aborted)) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const giveUp = (): void => {
        this.onIdle = undefined;
        this.idleGiveUp = undefined;
        resolve(false);
      };
      let timer = setTimeout(giveUp, ms);
      this.onIdle = () => {
        clearTimeout(timer);
        this.idleGiveUp = undefined;
        resolve(true);
      };
      // An abort while draining shortens the wait to the abort grace.
      this.idleGiveUp = (graceMs: number) => {
        clearTimeout(timer);
        timer = setTimeout(giveUp, graceMs);
      };
    });
  }

  // ---- reporting --------------------------------------------------------------------------------------------

  private armIntervalTimer(): void {
    const now = performance.now() - this.t0;
    const next = (Math.floor(now / this.intervalMs) + 1) * this.intervalMs;
    this.intervalTimer = setTimeout(() => {
      try {
        this.rec.roll(performance.now() - this.t0);
        this.armIntervalTimer();
      } catch (e) {
        this.crash(e);
      }
    }, next - now);
  }

  private progress(p: IntervalProgress): void {
    this.log.info(progressLine(this, p));
    const cb = this.onInterval;
    if (cb) {
      // Deferred: the interval closes inside the recorder, in the middle of an arrival or a response. A guard that
      // aborts from here must find the engine between two steps, not halfway through one.
      queueMicrotask(() => {
        try {
          cb(p.interval);
        } catch (e) {
          this.log.warning(`builtin: interval callback failed: ${messageOf(e)}`);
        }
      });
    }
  }

  private result(endT: number): RunResult {
    return runResult(this, endT);
  }
}
