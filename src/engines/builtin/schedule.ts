// Arrival times of an open-model load shape. Each stage's rate moves linearly, so the number of arrivals due by
// time t is the integral of the rate: a quadratic per stage. Arrival k (0-based) is due when that integral reaches
// k + 0.5, i.e. in the middle of its share of the load, which makes a constant stage evenly spaced and lands the
// rounding of fractional totals symmetrically at both ends. Due times are computed from the run start every time,
// never by adding up gaps, so the scheduler cannot drift however long the run is.
import type { Stage } from '../../model.js';
import { UserError } from '../../errors.js';

export class ArrivalSchedule {
  /** Length of the whole shape, ms. */
  readonly totalMs: number;
  /** Number of arrivals the shape asks for. */
  readonly totalArrivals: number;
  /** Highest rate anywhere in the shape, arrivals/s. */
  readonly peakRate: number;

  private readonly n: number;
  private readonly startMs: Float64Array; // stage start offsets, n + 1 entries
  private readonly cum: Float64Array; // arrivals due by each stage start, n + 1 entries
  private readonly a: Float64Array; // start rate, arrivals per ms
  private readonly c: Float64Array; // slope, arrivals per ms²
  private cursor = 0; // stage of the last lookup: due times are asked for in order, so lookups are O(1)

  constructor(stages: readonly Stage[]) {
    if (stages.length === 0) throw new UserError('the load shape has no stages');
    const n = stages.length;
    this.n = n;
    this.startMs = new Float64Array(n + 1);
    this.cum = new Float64Array(n + 1);
    this.a = new Float64Array(n);
    this.c = new Float64Array(n);
    let peak = 0;
    for (let i = 0; i < n; i++) {
      const s = stages[i]!;
      const label = s.name ? `stage "${s.name}"` : `stage ${i + 1}`;
      if (!(Number.isFinite(s.durationMs) && s.durationMs > 0)) {
        throw new UserError(`${label}: duration must be a positive number of ms (got ${String(s.durationMs)})`);
      }
      if (!(Number.isFinite(s.startRate) && s.startRate >= 0) || !(Number.isFinite(s.endRate) && s.endRate >= 0)) {
        throw new UserError(`${label}: rates must be zero or more arrivals per second`);
      }
      const a = s.startRate / 1000;
      const c = (s.endRate - s.startRate) / 1000 / s.durationMs;
      this.a[i] = a;
      this.c[i] = c;
      this.startMs[i + 1] = this.startMs[i]! + s.durationMs;
      this.cum[i + 1] = this.cum[i]! + a * s.durationMs + (c * s.durationMs * s.durationMs) / 2;
      peak = Math.max(peak, s.startRate, s.endRate);
    }
    this.totalMs = this.startMs[n]!;
    this.peakRate = peak;
    // Arrival k exists when k + 0.5 <= total. The epsilon absorbs float noise such as 0.2/ms * 5000 ms.
    this.totalArrivals = Math.max(0, Math.floor(this.cum[n]! + 0.5 + 1e-9));
  }

  /** The rate asked for at `tMs` from the start, arrivals/s (0 outside the shape). */
  rateAt(tMs: number): number {
    if (!(tMs >= 0) || tMs >= this.totalMs) return 0;
    let i = 0;
    while (i < this.n - 1 && tMs >= this.startMs[i + 1]!) i++;
    return (this.a[i]! + this.c[i]! * (tMs - this.startMs[i]!)) * 1000;
  }

  /** Index of the stage running at `tMs` (the last one after the end, the first before the start). */
  stageAt(tMs: number): number {
    let i = 0;
    while (i < this.n - 1 && tMs >= this.startMs[i + 1]!) i++;
    return i;
  }

  /** Arrivals the shape asks for by `tMs` (the integral of the rate), fractional. */
  arrivalsBy(tMs: number): number {
    if (!(tMs > 0)) return 0;
    if (tMs >= this.totalMs) return this.cum[this.n]!;
    let i = 0;
    while (i < this.n - 1 && tMs >= this.startMs[i + 1]!) i++;
    const t = tMs - this.startMs[i]!;
    return this.cum[i]! + this.a[i]! * t + (this.c[i]! * t * t) / 2;
  }

  /** When arrival `k` (0-based) is due, ms from the start. */
  dueMs(k: number): number {
    const target = k + 0.5;
    const { cum, n } = this;
    if (target >= cum[n]!) return this.totalMs;
    let i = this.cursor;
    if (target < cum[i]!) i = 0;
    // Zero-rate stages have cum[i] === cum[i + 1] and are skipped here.
    while (i < n - 1 && target >= cum[i + 1]!) i++;
    this.cursor = i;
    const m = target - cum[i]!;
    const a = this.a[i]!;
    const c = this.c[i]!;
    // Root of a·t + c·t²/2 = m written as 2m / (a + √(a² + 2cm)): stable when c is tiny or zero (no 0/0), and
    // valid for ramps down (c < 0) because m never exceeds the stage's share.
    const disc = a * a + 2 * c * m;
    const denom = a + Math.sqrt(disc > 0 ? disc : 0);
    const dur = this.startMs[i + 1]! - this.startMs[i]!;
    const t = denom > 0 ? (2 * m) / denom : dur;
    return this.startMs[i]! + (t < dur ? t : dur);
  }
}
