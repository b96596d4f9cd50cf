// The built-in engine: an open-model HTTP load generator on its own HTTP/1.1 client (http1.ts). Arrivals come on the
// schedule whatever the target does (a slow target gets more concurrent requests, not fewer arrivals), which is what
// makes latency under a given load measurable without coordinated omission. The generator also reports on itself: an
// arrival it had to drop, or start late because this machine was saturated, means the target did not see the
// asked-for load, and the run is marked invalid rather than passed on numbers that describe a lighter test. Its parts:
// the arrival times (schedule.ts), the flows compiled once (flows.ts), the counts (recorder.ts), what the run says
// about itself (outcome.ts: progress, generator health, the RunResult) and an arrival's cookies (cookies.ts). BuiltinRun
// is one class chain: its state (run-state.ts), a journey's steps (steps.ts), the schedule's driving (driver.ts), and
// here the run's start, its end (a normal drain or an abort) and its interval reports.
import type { RunResult } from '../../model.js';
import type { Engine, EngineRunOptions } from '../types.js';
import type { IntervalProgress } from './recorder.js';
import { describeReason, fmtRate, fmtS, progressLine, runResult } from './outcome.js';
import { REASON_STOPPED } from './inflight.js';
import { messageOf } from '../../errors.js';
import { ScheduleDriver } from './driver.js';

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

class BuiltinRun extends ScheduleDriver {
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

  // ---- ending -----------------------------------------------------------------------------------------------

  protected override abort(reason: unknown): void {
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

  protected override checkIdle(): void {
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

  protected override progress(p: IntervalProgress): void {
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
