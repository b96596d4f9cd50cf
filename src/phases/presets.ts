// The guide's four phases as open-model load shapes (arrivals per second). Each arrival runs the configured flow,
// so with the guide's login-bid-health flow 100 arrivals/s are about 300 requests/s.
import type { DecideOn, PresetPhaseName, Stage } from '../model.js';
import type { PhaseAnalysisKind } from './analysis.js';

export interface PhaseDefinition {
  name: string;
  /** Arrival-rate stages (open model). */
  stages: Stage[];
  /** Targets that apply to this phase when the user sets none. */
  defaultTargets: string[];
  description: string;
  /** Which part the targets are judged on unless the config says otherwise (default: steady). */
  decideOn?: DecideOn;
  /** Analyses this phase is for: the breaking point of a stress run, the recovery time after a ramp-down. */
  analyses?: PhaseAnalysisKind[];
  /** Abort guards that apply unless the config sets its own `abort` list. */
  defaultGuards?: string[];
  /** The default guards' `for` durations stretch and shrink with the shape (presets: they are part of it). */
  guardsScaleWithShape?: boolean;
}

const MIN = 60_000;

const constant = (durationMs: number, rate: number, name: string): Stage => ({
  durationMs,
  startRate: rate,
  endRate: rate,
  name,
});
const ramp = (durationMs: number, from: number, to: number, name: string): Stage => ({
  durationMs,
  startRate: from,
  endRate: to,
  name,
});

export const PRESETS: Record<PresetPhaseName, PhaseDefinition> = {
  warmup: {
    name: 'warmup',
    description: 'light load to warm caches and connection pools; a small error budget',
    stages: [ramp(30_000, 1, 10, 'ramp-up'), constant(90_000, 10, 'steady')],
    // The guide tolerates a few errors while warming up and sets no throughput floor at this rate. Its
    // `--max-errors 50` is meant for a 30-minute warm-up: a count says nothing of a 5-second one (44 errors of 44
    // requests stay under 50), so a rate bound goes with it.
    defaultTargets: ['p99 < 500ms', 'p95 < 300ms', 'error_rate < 1%', 'errors <= 50'],
    // The ramp is what a warm-up is for (cold caches, new connections): its error budget covers the whole phase,
    // so judging only the steady hold would let cold-start errors through unseen.
    decideOn: 'all',
  },
  sustained: {
    name: 'sustained',
    description: '100 arrivals/s for an hour: the normal peak the system must hold',
    stages: [constant(60 * MIN, 100, 'steady')],
    defaultTargets: ['p99 < 500ms', 'p95 < 300ms', 'error_rate < 0.5%', 'throughput > 100/s'],
  },
  stress: {
    name: 'stress',
    description: 'ramp up to the breaking point',
    stages: [ramp(80 * MIN, 50, 500, 'ramp-up'), constant(10 * MIN, 500, 'peak')],
    defaultTargets: ['p99 < 500ms', 'p95 < 300ms', 'error_rate < 0.5%', 'throughput > 100/s'],
    analyses: ['stress'],
    // Past the breaking point more load only measures a broken system (and may take down what shares it): a minute
    // of more than 10 % errors ends the run. The minute scales with the shape, like the stages.
    defaultGuards: ['error_rate > 10% for 1m'],
    guardsScaleWithShape: true,
  },
  recovery: {
    name: 'recovery',
    description: 'ramp down 100 -> 50 -> 10 arrivals/s, then hold: the system must settle',
    stages: [ramp(5 * MIN, 100, 50, 'ramp-down'), ramp(5 * MIN, 50, 10, 'ramp-down'), constant(10 * MIN, 10, 'hold')],
    // Recovery is a property of the service, not of the shape: two minutes whatever the duration scale.
    defaultTargets: ['p99 < 500ms', 'p95 < 300ms', 'error_rate < 0.5%', 'recovery < 2m'],
    analyses: ['recovery'],
  },
};

export function totalDurationMs(stages: Stage[]): number {
  return stages.reduce((n, s) => n + s.durationMs, 0);
}

export function peakRate(stages: Stage[]): number {
  return stages.reduce((m, s) => Math.max(m, s.startRate, s.endRate), 0);
}

/**
 * Applies the `duration`, `duration-scale` and `rate` overrides: stages keep their proportions, so a 2-minute
 * warm-up asked to run for 30 s (or scaled by 0.25) becomes a 7.5 s ramp and a 22.5 s hold, and `rate` sets the
 * peak the other stages scale to. `duration` wins over `scale`; config loading refuses both at once.
 */
export function shapeStages(
  stages: Stage[],
  overrides: { durationMs?: number; rate?: number; scale?: number },
): Stage[] {
  const peak = peakRate(stages);
  const timeFactor = timeFactorOf(stages, overrides);
  const rateFactor = overrides.rate !== undefined && peak > 0 ? overrides.rate / peak : 1;
  return stages.map((s) => ({
    ...s,
    // A stage scaled below a millisecond still exists: dropping it would change the shape's sequence.
    durationMs: Math.max(1, Math.round(s.durationMs * timeFactor)),
    startRate: s.startRate * rateFactor,
    endRate: s.endRate * rateFactor,
  }));
}

/** How much the overrides stretch the shape in time: 1 when neither `duration` nor `duration-scale` is set. */
export function timeFactorOf(stages: Stage[], overrides: { durationMs?: number; scale?: number }): number {
  const total = totalDurationMs(stages);
  if (overrides.durationMs !== undefined && total > 0) return overrides.durationMs / total;
  if (overrides.scale !== undefined && overrides.scale > 0) return overrides.scale;
  return 1;
}
