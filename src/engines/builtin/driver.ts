// The schedule's driving: every arrival started at its due time, whatever the target does (open model), late ones
// counted, those that find every slot busy dropped, a timer callback's work bounded so responses stay timed
// honestly, and the end of the shape told to the run. An arrival starts a journey (steps.ts).
import { LATE_MS } from './outcome.js';
import { Arrival, JourneySteps, NO_CAPS } from './steps.js';

/**
 * Arrivals started in one timer callback before yielding to I/O. Catching up a large backlog in one go would
 * block response handling for as long as it takes; yielding keeps responses timed honestly.
 */
const MAX_BATCH = 256;

export abstract class ScheduleDriver extends JourneySteps {
  /**
   * Start every arrival that is due, then sleep until the next one. Timers fire late by a millisecond or more,
   * so each wake-up catches up on everything due by now: at high rates that is a small batch per tick, and the
   * due times themselves never move.
   */
  protected tick = (): void => {
    // Nothing thrown in a timer may reach Node's uncaught-exception handler: that ends the process without
    // results.json or a report. A failure here ends the run as an engine failure, which is a verdict.
    try {
      this.tickUnguarded();
    } catch (e) {
      this.crash(e);
    }
  };

  protected crash(e: unknown): void {
    this.onInternalError(e);
    this.abort(new Error(`internal error: ${(e as Error)?.message ?? String(e)}`));
  }

  protected tickUnguarded(): void {
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
  protected override catchUp(): void {
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

  protected clearSchedule(): void {
    if (this.schedTimer) clearTimeout(this.schedTimer);
    if (this.schedImmediate) clearImmediate(this.schedImmediate);
    this.schedTimer = undefined;
    this.schedImmediate = undefined;
  }

  protected endSchedule = (): void => {
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

  protected arrive(due: number, now: number): void {
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

  /** End the run early (an abort, an internal error) (index.ts). */
  protected abstract abort(reason: unknown): void;
}
