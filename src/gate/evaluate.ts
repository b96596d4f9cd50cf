// Targets -> Verdict. `error` is reserved for runs whose numbers cannot be trusted (no data, an unreachable
// target, a generator that could not send the load): such a run never passes, whatever the targets say.
import type { FailOn, RunResult, Target, TargetResult, Verdict, VerdictStatus } from '../model.js';
import { compare } from './targets.js';
import { findInfra, infraNotMeasuredReason, infraRef, metricValue } from './metrics.js';

const TRANSPORT_KINDS = ['timeout', 'connection_refused', 'connection_reset', 'dns', 'other'] as const;

export function runProblems(run: RunResult): string[] {
  const problems: string[] = [];
  if (!run.generator.valid) {
    problems.push(...(run.generator.invalidReasons.length ? run.generator.invalidReasons : ['the load generator marked the run invalid']));
  }
  if (run.requests === 0) {
    problems.push('no request completed: there is nothing to judge');
  } else {
    const transport = TRANSPORT_KINDS.reduce((n, k) => n + (run.errorsByKind[k] ?? 0), 0);
    if (transport === run.requests) {
      const kinds = TRANSPORT_KINDS.filter((k) => run.errorsByKind[k]).join(', ');
      problems.push(`the target never answered: all ${run.requests} requests failed without a response (${kinds})`);
    }
  }
  return problems;
}

export function evaluateTargets(run: RunResult, targets: Target[]): TargetResult[] {
  return targets.map((target) => {
    const actual = metricValue(run, target.metric);
    if (actual === undefined || Number.isNaN(actual)) return { target, status: 'not_measured' };
    return { target, actual, status: compare(actual, target.op, target.value) ? 'pass' : 'fail' };
  });
}

/**
 * `judged` is the part of the run the targets are evaluated on (the steady part, from src/phases/analysis.ts);
 * whether the run can be judged at all is always decided on the whole run.
 */
export function decide(run: RunResult, targets: Target[], failOn: FailOn, extraProblems: string[] = [], judged: RunResult = run): Verdict {
  const results = evaluateTargets(judged, targets);
  const problems = [...extraProblems, ...runProblems(run), ...unreadableSources(run, targets)];
  let status: VerdictStatus;
  const reasons: string[] = [];
  if (problems.length) {
    status = 'error';
    reasons.push(...problems);
  } else {
    for (const r of results) {
      if (r.status === 'fail') reasons.push(`${r.target.source}: measured ${round(r.actual!)}${unitText(r.target.unit)}`);
      else if (r.status === 'not_measured' && !r.target.optional) {
        const why = infraNotMeasuredReason(judged, r.target.metric);
        reasons.push(`${r.target.source}: not measured${why ? ` (${why})` : ''}`);
      }
    }
    status = reasons.length ? 'fail' : 'pass';
  }
  return { status, failsCheck: failsCheck(status, failOn), targets: results, reasons };
}

/**
 * A target that needs an infrastructure metric whose source failed cannot be judged: that is an `error` (say what
 * broke), not a `fail` (which would blame the service). A source failing with no target on it is only shown.
 */
function unreadableSources(run: RunResult, targets: Target[]): string[] {
  const out: string[] = [];
  for (const t of targets) {
    if (t.optional) continue;
    const ref = infraRef(t.metric);
    const m = ref && findInfra(run, ref.name);
    if (m?.unavailable) out.push(`${t.source}: ${m.name} could not be read from ${m.source}: ${m.unavailable}`);
  }
  return out;
}

/** An `error` always fails the check: a run that could not be judged must never let a deploy through. */
export function failsCheck(status: VerdictStatus, failOn: FailOn): boolean {
  if (status === 'error') return true;
  if (status === 'pass' || status === 'shard') return false;
  switch (failOn) {
    case 'any':
    case 'target':
      return true;
    case 'regression':
    case 'never':
      return false;
  }
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function unitText(unit: Target['unit']): string {
  return unit === 'count' ? '' : unit === '/s' ? '/s' : ` ${unit}`;
}
