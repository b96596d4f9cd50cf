// Bounds on every input that sizes work: how much load, for how long, how many things at once, how much text to
// read. Past them a run would only exhaust the runner (or never end), so the value is refused before any load is
// sent, in one line naming the input. The "Limits" table of docs/failure-behaviour.md lists the same numbers.

export const LIMITS = {
  /** Arrivals per second at the peak (the `rate` input, and every stage rate of a custom phase). */
  rate: 100_000,
  /** Length of the phase as it will run (after `duration` or `duration-scale`), ms: a day. */
  phaseMs: 24 * 3_600_000,
  /** `duration-scale` factor. */
  durationScale: 1000,
  /** `count` of distributed load generators. */
  count: 1000,
  /** `http.timeout`, ms: 10 ms to 10 minutes. */
  timeoutMinMs: 10,
  timeoutMaxMs: 10 * 60_000,
  /** `http.max-in-flight`: one socket each. */
  maxInFlight: 10_000,
  /** A `think` step, ms. */
  thinkMs: 10 * 60_000,
  /** `interval`, ms, and how many intervals a phase may be cut into. */
  intervalMinMs: 100,
  intervalMaxMs: 3_600_000,
  intervals: 100_000,
  /** Stages of a custom phase, flows, and steps of one flow. */
  stages: 1000,
  flows: 100,
  steps: 1000,
  /** The config file, bytes (YAML parsing time grows fast with size). */
  configBytes: 1024 * 1024,
} as const;

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}
