// The error-rate bound every phase keeps, whatever target list it is given: a list the user shortened to latency
// targets alone would otherwise pass a deployment that answers every request with a 500. Only the explicit
// `error_rate: not judged` line removes it. Kept apart from targets.ts, which parses what is written: this is the
// policy applied to the parsed list, and the one place that decides it.
import type { Target } from '../model.js';
import { ERRORS_NOT_JUDGED, parseTarget, parseTargets, targetLines } from './targets.js';

/** Whether a target list opts out of the error-rate bound (`error_rate: not judged`). */
export function errorsOptedOut(lines: string[] | string): boolean {
  return targetLines(lines).some((l) => ERRORS_NOT_JUDGED.test(l));
}

/** The guide's error budget, for a phase whose own targets hold no error-rate bound. */
export const GUIDE_ERROR_BOUND = 'error_rate < 0.5%';

/**
 * A run-wide error-rate bound that judges: `error_rate < x` or `<= x`, not optional. A count (`errors <= 50`) is no
 * bound on its own: 44 errors out of 44 requests stays under 50 in a short run.
 */
export function isErrorRateBound(t: Target): boolean {
  return (
    t.metric === 'error_rate' &&
    t.endpoint === undefined &&
    !t.rhsMetric &&
    !t.optional &&
    (t.op === '<' || t.op === '<=')
  );
}

/**
 * Every phase keeps an error-rate bound whatever targets are given: when none of `targets` is one, the phase's own
 * (from its default targets, else the guide's 0.5 %) is added as a row of its own, marked as kept.
 */
export function withErrorBound(targets: Target[], phaseDefaults: readonly string[], phaseName: string): Target[] {
  if (targets.some(isErrorRateBound)) return targets;
  const own = parseTargets([...phaseDefaults], `phase "${phaseName}" default targets`).find(isErrorRateBound);
  const bound = own ?? parseTarget(GUIDE_ERROR_BOUND, `phase "${phaseName}"`);
  return [...targets, { ...bound, kept: 'phase' }];
}
