// Sampling during the run for the sources that read a live server (PostgreSQL, Redis): a fixed cadence, but never
// two samples at once, so a slow server delays the next sample instead of piling requests onto it. Timers are
// unref'd: a sampler can never keep the process alive after the run.
import { sleep } from './stats.js';

export class Sampler {
  private timer?: NodeJS.Timeout;
  private inFlight?: Promise<void>;
  private on = false;

  constructor(
    private readonly intervalMs: number,
    private readonly sample: () => Promise<void>,
  ) {}

  get running(): boolean {
    return this.on;
  }

  /** First sample now, or after one interval when the caller already took one. */
  start(opts: { now: boolean }): void {
    this.on = true;
    if (opts.now) this.tick();
    else this.arm(this.intervalMs);
  }

  /** No further samples; waits for one in progress, at most `graceMs`, so the series stays complete. */
  async stop(graceMs: number): Promise<void> {
    this.halt();
    if (this.inFlight) await Promise.race([this.inFlight, sleep(graceMs)]);
  }

  /** No further samples, without waiting (the source is closing its connection anyway). */
  halt(): void {
    this.on = false;
    clearTimeout(this.timer);
  }

  private arm(ms: number): void {
    this.timer = setTimeout(() => this.tick(), ms);
    this.timer.unref();
  }

  private tick(): void {
    if (!this.on) return;
    const began = Date.now();
    this.inFlight = this.sample().finally(() => {
      this.inFlight = undefined;
      if (this.on) this.arm(Math.max(0, this.intervalMs - (Date.now() - began)));
    });
  }
}
