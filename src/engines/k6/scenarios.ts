// perf-gate load shapes as k6 scenarios. k6 takes scenarios from the command line only through a `--config`
// JSON file, so the engine writes `{"scenarios": toK6Scenarios(stages)}` there.
//
// k6 option precedence is: config file < script `options` < environment < flags, and an execution setting in a
// higher layer (scenarios, stages, duration, iterations) replaces all execution settings of the lower ones.
// A script that sets its own load shape therefore always wins over this file; the engine leaves the file out
// in that case only so the log and the report say plainly whose shape ran.
import type { Stage } from '../../model.js';
import { UserError } from '../../errors.js';

export const SCENARIO_NAME = 'perf_gate';

interface ArrivalRateBase {
  timeUnit: string;
  preAllocatedVUs: number;
  maxVUs: number;
}

export interface K6ConstantArrivalRate extends ArrivalRateBase {
  executor: 'constant-arrival-rate';
  rate: number;
  duration: string;
}

export interface K6RampingArrivalRate extends ArrivalRateBase {
  executor: 'ramping-arrival-rate';
  startRate: number;
  stages: Array<{ target: number; duration: string }>;
}

export type K6Scenario = K6ConstantArrivalRate | K6RampingArrivalRate;

export interface K6ScenarioOptions {
  /** Hard cap on concurrent iterations (k6 drops arrivals beyond it and counts dropped_iterations). Default 1000. */
  maxVUs?: number;
}

/** VUs started before the test; k6 starts more on the fly, up to maxVUs, when iterations take longer. */
const MAX_PREALLOCATED_VUS = 100;

/** Go duration text k6 accepts: whole seconds as `30s`, anything else in milliseconds. */
export function k6Duration(ms: number): string {
  const r = Math.max(0, Math.round(ms));
  return r % 1000 === 0 ? `${r / 1000}s` : `${r}ms`;
}

/**
 * k6 arrival rates are whole numbers of iterations per `timeUnit`. A fractional rate per second (0.5/s, 2.5/s)
 * is written per 10, 60, 100 or 1000 seconds instead, the first unit that makes every rate whole.
 */
function timeUnitFor(rates: number[]): number {
  for (const unit of [1, 10, 60, 100, 1000]) {
    if (rates.every((r) => Math.abs(r * unit - Math.round(r * unit)) < 1e-6)) return unit;
  }
  return 1000;
}

/**
 * One open-model scenario for the stages: `constant-arrival-rate` when the whole phase runs at one rate,
 * otherwise `ramping-arrival-rate`, with a zero-length stage wherever one stage starts at another rate than the
 * previous one ended (k6 then jumps to the new rate). Iterations run the script's default function.
 *
 * VUs: one per arrival per second of the peak rate is preallocated (enough for iterations up to 1 s), at most
 * 100; maxVUs is the cap on concurrent iterations, like the built-in engine's max-in-flight.
 */
export function toK6Scenarios(stages: Stage[], opts: K6ScenarioOptions = {}): Record<string, K6Scenario> {
  const live = stages.filter((s) => s.durationMs > 0);
  if (live.length === 0) throw new UserError('The phase has no stage with a duration, so there is no load to send.');
  if (
    live.some(
      (s) => !(s.startRate >= 0 && s.endRate >= 0 && Number.isFinite(s.startRate) && Number.isFinite(s.endRate)),
    )
  ) {
    throw new UserError('The phase has a stage with a negative or invalid arrival rate.');
  }
  const rates = live.flatMap((s) => [s.startRate, s.endRate]);
  const peak = Math.max(...rates);
  if (peak <= 0) throw new UserError('The phase asks for no arrivals (every rate is 0).');
  const unit = timeUnitFor(rates);
  const scaled = (r: number): number => Math.round(r * unit);
  const maxVUs = Math.max(1, Math.ceil(opts.maxVUs ?? 1000));
  const preAllocatedVUs = Math.min(maxVUs, MAX_PREALLOCATED_VUS, Math.max(1, Math.ceil(peak)));
  const base: ArrivalRateBase = { timeUnit: `${unit}s`, preAllocatedVUs, maxVUs };

  const first = live[0]!;
  const constant = live.every((s) => s.startRate === first.startRate && s.endRate === first.startRate);
  const totalMs = live.reduce((n, s) => n + s.durationMs, 0);
  // k6 rejects a constant-arrival-rate shorter than one second; the ramping executor has no such minimum.
  if (constant && totalMs >= 1000) {
    return {
      [SCENARIO_NAME]: {
        executor: 'constant-arrival-rate',
        rate: scaled(first.startRate),
        duration: k6Duration(totalMs),
        ...base,
      },
    };
  }
  const out: K6RampingArrivalRate = {
    executor: 'ramping-arrival-rate',
    startRate: scaled(first.startRate),
    ...base,
    stages: [],
  };
  let current = first.startRate;
  for (const s of live) {
    if (s.startRate !== current) out.stages.push({ target: scaled(s.startRate), duration: '0s' });
    out.stages.push({ target: scaled(s.endRate), duration: k6Duration(s.durationMs) });
    current = s.endRate;
  }
  return { [SCENARIO_NAME]: out };
}

/**
 * Whether a k6 script sets its own load shape: an exported `options` with scenarios, stages, duration,
 * iterations or vus. Read from the source text (k6 scripts are not run here), so it is a heuristic; k6's
 * precedence makes a wrong guess harmless for the run itself (see the top of this file).
 */
export function scriptSetsLoadShape(source: string): boolean {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:\\])\/\/.*$/gm, '$1');
  const exportsOptions =
    /export\s+(const|let|var)\s+options\b/.test(code) || /export\s*\{[^}]*\boptions\b[^}]*\}/.test(code);
  if (!exportsOptions) return false;
  return /(^|[\s{,])["']?(scenarios|stages|duration|iterations|vus)["']?\s*:/m.test(code);
}
