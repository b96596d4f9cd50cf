// The phase-specific steps of the pipeline, kept here so src/pipeline.ts only calls them: the shape after the
// overrides, the abort guards watching the run, and afterwards the analyses and the part of the run to judge.
import { formatDurationCompact } from '../format.js';
import { failsCheck } from '../gate/evaluate.js';
import type {
  DecideOn,
  EarlyStop,
  EngineName,
  FailOn,
  IntervalResult,
  RunResult,
  Stage,
  Target,
  Verdict,
} from '../model.js';
import { analyzeRun, type PhaseAnalysisKind } from './analysis.js';
import { fitGuards, GuardMonitor, type AbortGuard } from './guards.js';
import { peakRate, shapeStages, timeFactorOf, totalDurationMs, type PhaseDefinition } from './presets.js';
import type { Logger } from '../log.js';

export interface PhasePlan {
  stages: Stage[];
  /** How much `duration` or `duration-scale` stretched the shape (1: as defined). */
  timeFactor: number;
  guards: AbortGuard[];
  decideOn: DecideOn;
  analyses: PhaseAnalysisKind[];
}

/** The part of the Config (config/types.ts) a phase's plan and analysis read; a Config is one. */
export interface PhaseSettings {
  phase: PhaseDefinition;
  engine: EngineName;
  targets: Target[];
  durationMs?: number;
  durationScale?: number;
  rate?: number;
  decideOn?: DecideOn;
  guards?: AbortGuard[];
  intervalMs: number;
}

export function planPhase(config: PhaseSettings): PhasePlan {
  const overrides = { durationMs: config.durationMs, rate: config.rate, scale: config.durationScale };
  const stages = shapeStages(config.phase.stages, overrides);
  const timeFactor = timeFactorOf(config.phase.stages, overrides);
  return {
    stages,
    timeFactor,
    guards: fitGuards(config.guards ?? [], timeFactor, config.intervalMs),
    decideOn: config.decideOn ?? config.phase.decideOn ?? 'steady',
    analyses: config.phase.analyses ?? [],
  };
}

/** `1 h scaled ×0.0167 to 1 min` for the log line that opens a run. */
export function describeScale(config: PhaseSettings, plan: PhasePlan): string {
  if (plan.timeFactor === 1) return '';
  const full = formatDurationCompact(totalDurationMs(config.phase.stages));
  return ` (${full} scaled ×${roundFactor(plan.timeFactor)})`;
}

export function roundFactor(f: number): number {
  return Number(f.toPrecision(3));
}

export interface GuardWatch {
  signal: AbortSignal;
  onInterval: (interval: IntervalResult) => void;
  /** The guard that stopped the run, if one did. */
  stopped(): EarlyStop | undefined;
}

/** Feeds each closed interval to the guards and aborts the run the first time one trips. */
export function watchGuards(guards: AbortGuard[], log: Logger): GuardWatch {
  const controller = new AbortController();
  const monitor = new GuardMonitor(guards);
  if (guards.length) log.info(`abort guards: ${guards.map((g) => g.source).join('; ')}`);
  return {
    signal: controller.signal,
    onInterval(interval) {
      const trip = monitor.observe(interval);
      if (!trip || controller.signal.aborted) return;
      log.warning(`stopping the run at ${formatDurationCompact(trip.atMs)}: ${trip.reason}`);
      // The engine turns the reason into its "stopped early" note, so the report says why in the guard's words.
      controller.abort(new Error(trip.reason));
    },
    stopped: () => monitor.stop,
  };
}

/**
 * Runs the analyses on a finished run and returns the RunResult the targets are judged on. Files judged by the
 * results engine came from a run whose load shape perf-gate never saw, so their steady part cannot be placed.
 */
export function analyzePhase(
  run: RunResult,
  config: PhaseSettings,
  plan: PhasePlan,
  stop: EarlyStop | undefined,
): RunResult {
  // A tool that ran its script's own shape reports it, and merged shards bring the shape they were sent; perf-gate's
  // plan in this job would describe a load that was not sent.
  const ownShape = run.shape?.source === 'script';
  const fromShards = config.engine === 'results' && run.shape?.source === 'perf-gate';
  if (!ownShape && !fromShards) {
    run.shape = { ...(run.shape ?? { stages: plan.stages }), stages: plan.stages, peakRate: peakRate(plan.stages) };
    if (plan.timeFactor !== 1) run.shape.durationScale = roundFactor(plan.timeFactor);
  }
  const stages = ownShape || fromShards ? run.shape!.stages : plan.stages;
  const shapeKnown = (config.engine !== 'results' || fromShards) && stages.length > 0;
  const { analysis, judged } = analyzeRun(run, {
    stages: shapeKnown ? stages : [],
    decideOn: plan.decideOn,
    analyses: plan.analyses,
    targets: config.targets,
    guards: plan.guards.map((g) => g.source),
    ...(stop ? { stoppedEarly: stop } : {}),
  });
  if (!shapeKnown && plan.decideOn === 'steady') {
    analysis.judgedNote = ownShape
      ? "judged on the whole run: the script's own load shape is not known, so its steady part cannot be placed"
      : 'judged on the whole run: the load shape of result files is not known, so their steady part cannot be placed';
  }
  return judged;
}

/**
 * What the phase adds to the gate's verdict. A run a guard stopped did not hold its phase, whatever the targets say
 * about the part that ran: it fails. A stress run is the exception: ending at the breaking point is what its guard
 * is for, and its targets (such as `breaking_point > 300/s`) say whether that point was good enough. And a
 * `recovery` target without a value means the service never recovered, which the reason should say rather than
 * "not measured".
 */
export function phaseVerdict(verdict: Verdict, run: RunResult, failOn: FailOn): Verdict {
  const recovery = run.analysis?.recovery;
  let out = verdict;
  if (recovery && !recovery.recovered) {
    const why = `not recovered by the end of the run${recovery.note ? ` (${recovery.note})` : ''}`;
    out = { ...out, reasons: out.reasons.map((r) => r.replace(/^(recovery[^:]*): not measured$/i, `$1: ${why}`)) };
  }
  const stop = run.analysis?.stoppedEarly;
  if (!stop || run.analysis?.stress || out.status === 'error') return out;
  const reasons = [...out.reasons, `stopped early at ${formatDurationCompact(stop.atMs)}: ${stop.reason}`];
  return { ...out, status: 'fail', failsCheck: failsCheck('fail', failOn), reasons };
}
