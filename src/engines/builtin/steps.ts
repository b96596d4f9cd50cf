// A journey's steps: an arrival's own state (its data row, captures and cookie jar), a flow run step by step (think,
// request, the next request once the previous one settled), a one-request flow finished without a promise, a
// request's bytes rendered and sent, and a settled request recorded, its checks run and its cookies kept. The
// schedule (driver.ts) starts journeys; the run (index.ts) says when it is idle.
import type { CompiledFlow, CompiledRequest } from './flows.js';
import { classifyError, describeFailure } from './flows.js';
import { runChecks, type ResponseView } from '../../flows/checks.js';
import { renderJsonTemplate, renderTemplate, type ArrivalVars } from '../../flows/templates.js';
import { KIND, round3 } from './recorder.js';
import { traceIdAt, traceOffset } from './trace.js';
import { cookieHeader, storeCookies } from './cookies.js';
import { REASON_STOPPED, REASON_TIMEOUT } from './inflight.js';
import type { Slot } from './inflight.js';
import { requestBytes } from './request-bytes.js';
import { parseHead, setCookiesOf } from './http1.js';
import type { Http1Connection } from './http1.js';
import { RunState, type Sleeper } from './run-state.js';

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
export class Arrival implements ArrivalVars {
  jar: Map<string, string> | undefined = undefined;
  constructor(
    readonly row: readonly unknown[] | undefined,
    readonly caps: unknown[],
  ) {}
}

export const NO_CAPS: unknown[] = [];
/** The headers checks see when none of them looks at headers (they are then not parsed). */
const NO_HEADERS: ResponseView['headers'] = Object.freeze({});

function wake(s: Sleeper): void {
  s.set.delete(s);
  s.resolve();
}

export abstract class JourneySteps extends RunState {
  protected async runFlow(fi: number, flow: CompiledFlow, arrival: Arrival): Promise<void> {
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

  protected noteCause(failure: unknown): void {
    const cause = describeFailure(failure);
    const have = this.otherCauses.get(cause);
    if (have !== undefined) this.otherCauses.set(cause, have + 1);
    else if (this.otherCauses.size < MAX_CAUSES) this.otherCauses.set(cause, 1);
  }

  /** Set-Cookie values that could not be sent back (a control character in them): skipped and counted. */
  cookiesSkipped = 0;
  protected readonly skipCookie = (): void => {
    this.cookiesSkipped++;
  };

  protected think(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const s: Sleeper = { resolve, timer: undefined, set: this.sleepers };
      s.timer = setTimeout(wake, ms, s);
      this.sleepers.add(s);
    });
  }

  // ---- requests ---------------------------------------------------------------------------------------------

  /** Send one request and record it. Resolves to STEP_OK, STEP_END (transport error or stop) or STEP_CHECK_FAILED. */
  protected async request(step: CompiledRequest, arrival: Arrival): Promise<number> {
    const slot = this.send(step, arrival, undefined, 0);
    if (slot === undefined) return STEP_END;
    await new Promise<void>(slot.settled);
    return this.complete(slot);
  }

  /**
   * A flow of one request needs no async function, no promise and no loop over steps: it is started here and
   * finished by `singleDone`, called with the settled slot.
   */
  protected singleDone = (slot: Slot): void => {
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
  protected send(
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
  protected render(step: CompiledRequest, arrival: Arrival): Buffer | string | Error {
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
  protected complete(slot: Slot): number {
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

  /** Start the arrivals that came due while every slot was busy (driver.ts). */
  protected abstract catchUp(): void;
  /** Tell a waiting end of the run that nothing is in flight any more (index.ts). */
  protected abstract checkIdle(): void;
}
