// perf-gate load shapes as Artillery phases, and the rule for when they replace the script's own phases.
import type { Config } from '../../config/types.js';
import type { Stage } from '../../model.js';
import { formatDurationCompact } from '../../format.js';
import { peakRate, PRESETS, shapeStages, totalDurationMs } from '../../phases/presets.js';

/** One entry of Artillery's `config.phases`. */
export interface ArtilleryPhase {
  name?: string;
  /** Seconds. */
  duration?: number;
  arrivalRate?: number;
  rampTo?: number;
  /** Arrivals spread evenly over `duration`: how a constant fractional rate is written (see toArtilleryPhases). */
  arrivalCount?: number;
  /** Seconds of no arrivals. */
  pause?: number;
}

/**
 * Stages as Artillery phases. Artillery ramps in whole seconds (it computes one arrival count per second of a
 * ramp), so phase boundaries are rounded to whole seconds; rounding the cumulative boundaries rather than each
 * duration keeps the total length within half a second of the asked-for one. A stage that rounds to nothing
 * is left out; a stage at rate 0 becomes a pause.
 *
 * A constant rate that is not a whole number (1.5/s, say: `rate` scales every stage, so recovery's hold is a tenth
 * of it) is written as the phase's arrival count instead: Artillery shares a constant `arrivalRate` among its
 * local workers in whole arrivals and stops with an assertion error on a fractional one (2.0.34, lib/dist.js
 * distribute(): "1.5 === 2"), while an `arrivalCount` runs in one worker, evenly spaced over the phase. A ramp
 * down to 0 from a fractional rate ends at RAMP_FLOOR instead, for the same reason.
 */
export function toArtilleryPhases(stages: Stage[]): ArtilleryPhase[] {
  const phases: ArtilleryPhase[] = [];
  let elapsedMs = 0;
  let boundaryS = 0;
  for (const s of stages) {
    elapsedMs += Math.max(0, s.durationMs);
    const endS = Math.round(elapsedMs / 1000);
    const duration = endS - boundaryS;
    boundaryS = endS;
    if (duration <= 0) continue;
    const named = s.name ? { name: s.name } : {};
    if (s.startRate === s.endRate) {
      const rate = round3(s.startRate);
      const count = Math.round(s.startRate * duration);
      if (rate > 0 && Number.isInteger(rate)) phases.push({ ...named, duration, arrivalRate: rate });
      else if (rate > 0 && count > 0) phases.push({ ...named, duration, arrivalCount: count });
      else phases.push({ ...named, pause: duration });
    } else {
      // Artillery tells a ramp by `!!rampTo`: a ramp to 0 is split among the workers like a constant rate, and a
      // fractional start rate then trips the same assertion. A ramp to a thousandth of an arrival per second is
      // a ramp to Artillery and creates the same whole arrivals per second as a ramp to 0.
      const from = round3(s.startRate);
      const to = round3(s.endRate);
      phases.push({
        ...named,
        duration,
        arrivalRate: from,
        rampTo: to === 0 && !Number.isInteger(from) ? RAMP_FLOOR : to,
      });
    }
  }
  return phases;
}

/** Artillery phases back as stages, for the report; undefined when a phase is not an arrival-rate phase. */
export function fromArtilleryPhases(phases: unknown[]): Stage[] | undefined {
  const stages: Stage[] = [];
  for (const p of phases) {
    if (typeof p !== 'object' || p === null) return undefined;
    const o = p as Record<string, unknown>;
    const name = typeof o.name === 'string' ? { name: o.name } : {};
    if (o.pause !== undefined) {
      const s = seconds(o.pause);
      if (s === undefined) return undefined;
      stages.push({ ...name, durationMs: s * 1000, startRate: 0, endRate: 0 });
      continue;
    }
    const d = seconds(o.duration);
    const rate = typeof o.arrivalRate === 'number' ? o.arrivalRate : undefined;
    if (d === undefined || rate === undefined || o.arrivalCount !== undefined) return undefined;
    const to = o.rampTo === undefined ? rate : typeof o.rampTo === 'number' ? o.rampTo : undefined;
    if (to === undefined) return undefined;
    stages.push({ ...name, durationMs: d * 1000, startRate: rate, endRate: to });
  }
  return stages.length ? stages : undefined;
}

/** Plain numbers are seconds; Artillery also takes `ms`-style strings such as "2m", which are not read here. */
function seconds(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isFinite(v) && v >= 0) return v;
  if (typeof v === 'string' && /^\d+(\.\d+)?$/.test(v.trim())) return Number(v);
  return undefined;
}

/** The end of a ramp "to 0" from a fractional rate (see toArtilleryPhases). */
export const RAMP_FLOOR = 0.001;

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}

export const NO_OWN_PHASES = 'the script has no phases of its own';

export type PhaseChoice =
  | { use: 'perf-gate'; phases: ArtilleryPhase[]; reason: string }
  /**
   * The script's own phases: as written (`phases` absent), or reshaped by `duration`, `duration-scale` or `rate`
   * (`phases` holds them, scaled in proportion, and `reshaped` says how). `stages`: what will run, when known.
   */
  | {
      use: 'script';
      reason: string;
      stages?: Stage[];
      phases?: ArtilleryPhase[];
      reshaped?: string;
      original?: Stage[];
    };

/**
 * Whose phases run. The rule, in order:
 *  1. the script has no `config.phases`: perf-gate's phase (so a bare scenario file just works);
 *  2. a phase defined in the perf-gate config rather than a built-in preset: perf-gate's phase replaces the script's;
 *  3. `duration`, `duration-scale` or `rate` given: they reshape the script's own phases, in proportion, as they
 *     reshape a preset (a script's hour scaled ×0.0167 runs a minute); phases perf-gate cannot read (arrivalCount,
 *     "2m" strings) are replaced by perf-gate's phase instead, never run unscaled;
 *  4. otherwise (only a preset, possibly the default one, was in play): the script's own phases, unchanged, because
 *     a script that states its phases says more about the intended load than a default preset name does.
 */
export function choosePhases(config: Config, stages: Stage[], scriptPhases: unknown): PhaseChoice {
  const has = Array.isArray(scriptPhases) && scriptPhases.length > 0;
  if (!has) return { use: 'perf-gate', phases: toArtilleryPhases(stages), reason: NO_OWN_PHASES };
  if (!isPreset(config.phase)) {
    return {
      use: 'perf-gate',
      phases: toArtilleryPhases(stages),
      reason: `phase "${config.phase.name}" is defined in the perf-gate config`,
    };
  }
  const asked: string[] = [];
  if (config.durationMs !== undefined) asked.push(`duration ${formatDurationCompact(config.durationMs)}`);
  if (config.durationScale !== undefined) asked.push(`duration-scale ${config.durationScale}`);
  if (config.rate !== undefined) asked.push(`rate ${config.rate}/s`);
  const own = fromArtilleryPhases(scriptPhases as unknown[]);
  if (asked.length) {
    if (!own) {
      return {
        use: 'perf-gate',
        phases: toArtilleryPhases(stages),
        reason: `${asked.join(' and ')} given, and the script's phases are not all arrival-rate phases in seconds perf-gate can scale, so perf-gate's "${config.phase.name}" shape replaces them`,
      };
    }
    const reshaped = shapeStages(own, {
      durationMs: config.durationMs,
      rate: config.rate,
      scale: config.durationScale,
    });
    return {
      use: 'script',
      phases: toArtilleryPhases(reshaped),
      stages: reshaped,
      original: own,
      reshaped: asked.join(' and '),
      reason: `the script's own phases, reshaped by ${asked.join(' and ')}`,
    };
  }
  return {
    use: 'script',
    reason: `the script has its own phases and only the preset "${config.phase.name}" was chosen; they run unchanged (set duration, duration-scale or rate to reshape them)`,
    ...(own ? { stages: own } : {}),
  };
}

/** The shape a choice sends, in words, for the line that opens a run. */
export function describeChoice(choice: PhaseChoice): string {
  const shape = (st: Stage[] | undefined): string =>
    st && st.length
      ? `${formatDurationCompact(totalDurationMs(st))} up to ${round3(peakRate(st))} arrivals/s`
      : 'a shape perf-gate cannot read';
  if (choice.use === 'perf-gate') return `perf-gate's phase as Artillery phases (${choice.reason})`;
  if (choice.reshaped)
    return `the script's own phases (${shape(choice.original)}) reshaped by ${choice.reshaped} to ${shape(choice.stages)}`;
  return `the script's own phases, unchanged: ${shape(choice.stages)} (only the preset was chosen; duration, duration-scale or rate would reshape them)`;
}

function isPreset(phase: Config['phase']): boolean {
  const preset = (PRESETS as Record<string, Config['phase'] | undefined>)[phase.name];
  if (!preset) return false;
  if (preset === phase) return true;
  // A phase under a preset's name but with other stages was defined (overridden) in the perf-gate config.
  return JSON.stringify(preset.stages) === JSON.stringify(phase.stages);
}
