// Targets -> Verdict. `error` is reserved for runs whose numbers cannot be trusted (no data, an unreachable
// target, a generator that could not send the load): such a run never passes, whatever the targets say.
import type {
  ComparisonOp,
  FailOn,
  RunResult,
  Target,
  TargetResult,
  ToolThreshold,
  Verdict,
  VerdictStatus,
} from '../model.js';
import { OTHER_CAUSES_NOTE } from '../model.js';
import { compare, isInfraName } from './targets.js';
import { builtinMetric } from '../metrics/catalogue.js';
import { findInfra, infraRef, metricValue, notMeasuredReason } from './metrics.js';
import { targetMetrics } from './selectors.js';

const TRANSPORT_KINDS = ['timeout', 'connection_refused', 'connection_reset', 'dns', 'other'] as const;

export function runProblems(run: RunResult): string[] {
  const problems: string[] = [];
  if (!run.generator.valid) {
    problems.push(
      ...(run.generator.invalidReasons.length
        ? run.generator.invalidReasons
        : ['the load generator marked the run invalid']),
    );
  }
  if (run.requests === 0) {
    problems.push('no request completed: there is nothing to judge');
  } else {
    const transport = TRANSPORT_KINDS.reduce((n, k) => n + (run.errorsByKind[k] ?? 0), 0);
    if (transport === run.requests) {
      const kinds = TRANSPORT_KINDS.filter((k) => run.errorsByKind[k]).join(', ');
      // `other` says little by itself: the engine's note names the cause (a certificate check, a protocol error).
      const cause = run.notes.find((n) => n.startsWith(OTHER_CAUSES_NOTE));
      const why = cause ? `; ${cause.slice(OTHER_CAUSES_NOTE.length).trim()}` : '';
      problems.push(
        `the target never answered: all ${run.requests} requests failed without a response (${kinds})${why}`,
      );
    }
  }
  return problems;
}

/**
 * What no target list can let through: a run in which at least half the requests failed, or in which every journey
 * was cut short, is never a pass (it fails, naming why), whatever the targets, even with `error_rate: not judged`.
 */
export function brokenRun(run: RunResult): string[] {
  const out: string[] = [];
  if (run.requests > 0 && run.errors * 2 >= run.requests) {
    out.push(
      `${run.errors} of ${run.requests} requests failed (${round((run.errors / run.requests) * 100)} %): a run in which at least half the requests fail never passes`,
    );
  }
  const flows = run.flows ?? [];
  const started = flows.reduce((n, f) => n + f.started, 0);
  const completed = flows.reduce((n, f) => n + f.completed, 0);
  const failed = flows.reduce((n, f) => n + f.failed, 0);
  if (started > 0 && completed === 0 && failed > 0) {
    out.push(
      `every journey was cut short: none of the ${started} arrivals finished its flow (${failed} stopped at a failed check or capture)`,
    );
  }
  // A tool's virtual users are its journeys: Artillery counts those that ended on an error.
  const vu = run.customMetrics['artillery.vusers.failed']?.values;
  if (!run.flows && vu && (vu.total ?? 0) > 0 && vu.count !== undefined && vu.count >= vu.total!) {
    out.push(`every journey was cut short: all ${vu.total} of Artillery's virtual users failed`);
  }
  return out;
}

export function evaluateTargets(run: RunResult, targets: Target[]): TargetResult[] {
  return targets.map((target) => {
    const actual = metricValue(run, target.metric);
    const measured = actual !== undefined && !Number.isNaN(actual);
    if (target.rhsMetric) return evaluateAgainstMetric(run, target, measured ? actual : undefined);
    if (!measured) {
      const note = notMeasuredReason(run, target.metric);
      return { target, status: 'not_measured', ...(note ? { note } : {}) };
    }
    if (!compare(actual, target.op, target.value)) return { target, actual, status: 'fail' };
    // Past the warning level but within the target: a pass that says so.
    return {
      target,
      actual,
      status: 'pass',
      ...(target.warn !== undefined && !compare(actual, target.op, target.warn) ? { warning: true } : {}),
    };
  });
}

/**
 * `bids_stored == responses{bid, 201}`: the right side times its factor becomes the threshold, written into the
 * result's copy of the target so every reader shows the figure compared with. Either side unmeasured: not measured,
 * never a pass.
 */
function evaluateAgainstMetric(run: RunResult, target: Target, actual: number | undefined): TargetResult {
  const rhs = target.rhsMetric!;
  const raw = metricValue(run, rhs.metric);
  const value = raw === undefined || Number.isNaN(raw) ? undefined : raw * rhs.factor;
  const side = { label: rhs.label, ...(value !== undefined ? { value } : {}) };
  if (actual === undefined || value === undefined) {
    const why =
      actual === undefined
        ? (notMeasuredReason(run, target.metric) ?? `${target.metric} was not measured`)
        : (notMeasuredReason(run, rhs.metric) ?? `${rhs.label} was not measured`);
    return { target, status: 'not_measured', rhs: side, note: why, ...(actual !== undefined ? { actual } : {}) };
  }
  return {
    target: { ...target, value },
    actual,
    rhs: side,
    status: compare(actual, target.op, value) ? 'pass' : 'fail',
  };
}

const TOOL_EXPR = /(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)/;

/**
 * A tool's own thresholds (Artillery `ensure`, k6 thresholds) as rows of the results table. A failed one fails the
 * verdict like a target, except an Artillery check marked optional, which Artillery itself lets pass.
 */
export function toolThresholdResults(thresholds: readonly ToolThreshold[], run?: RunResult): TargetResult[] {
  return thresholds.map((t) => {
    const m = TOOL_EXPR.exec(t.expression);
    const optional = /\(optional\)$/.test(t.expression);
    const target: Target = {
      // A tool metric spelled like one of perf-gate's (a k6 script's own `errors`) is kept apart from it, so that no
      // reader takes the row for perf-gate's figure: `k6.errors`.
      metric:
        builtinMetric(t.metric) !== undefined || isInfraName(t.metric)
          ? `${run?.tool?.name ?? 'tool'}.${t.metric}`
          : t.metric,
      op: (m ? m[1] : '==') as ComparisonOp,
      value: m ? Number(m[2]) : 0,
      unit: 'count',
      source: t.metric && !t.expression.startsWith(t.metric) ? `${t.metric}: ${t.expression}` : t.expression,
      optional,
    };
    const actual = run && m ? toolActual(run, t) : undefined;
    return { target, status: t.ok ? 'pass' : 'fail', origin: 'tool', ...(actual !== undefined ? { actual } : {}) };
  });
}

const K6_STAT_KEY: Record<string, string> = {
  med: 'p50',
  avg: 'avg',
  min: 'min',
  max: 'max',
  count: 'count',
  rate: 'rate',
  value: 'value',
};

/**
 * The figure a tool's threshold compared, where the run holds it as the tool named it: k6's `p(95)<500` on
 * `http_req_duration` (its values under `k6.<metric>` or the script's metric name), Artillery's
 * `http.response_time.p99 < 1` or a counter such as `vusers.failed < 1`. Undefined (shown as missing) otherwise.
 */
function toolActual(run: RunResult, t: ToolThreshold): number | undefined {
  const k6 = /^\s*(?<stat>[a-z]+|p\(\d+(?:\.\d+)?\))\s*(?:<=|>=|==|!=|<|>)/.exec(t.expression)?.groups;
  if (k6 && !t.expression.trim().startsWith(t.metric)) {
    const metric = run.customMetrics[`k6.${t.metric}`] ?? run.customMetrics[t.metric];
    const p = /^p\((\d+(?:\.\d+)?)\)$/.exec(k6.stat!);
    const key = p ? `p${p[1]!.replace('.', '')}` : K6_STAT_KEY[k6.stat!];
    return key !== undefined ? (metric?.values[key] ?? (p ? metric?.values[k6.stat!] : undefined)) : undefined;
  }
  const art = /^http\.response_time\.(?<stat>min|max|mean|median|p50|p90|p95|p99|p999)$/.exec(t.metric)?.groups;
  if (art)
    return run.latency[
      (art.stat === 'median' ? 'p50' : art.stat) as 'min' | 'max' | 'mean' | 'p50' | 'p90' | 'p95' | 'p99' | 'p999'
    ];
  const c = run.customMetrics[t.metric] ?? run.customMetrics[`artillery.${t.metric}`];
  if (!c) return undefined;
  return c.type === 'counter' || c.type === 'rate' ? c.values.count : c.type === 'gauge' ? c.values.value : undefined;
}

/**
 * `judged` is the part of the run the targets are evaluated on (the steady part, from src/phases/analysis.ts);
 * whether the run can be judged at all is always decided on the whole run.
 */
export function decide(
  run: RunResult,
  targets: Target[],
  failOn: FailOn,
  extraProblems: string[] = [],
  judged: RunResult = run,
): Verdict {
  // The tool judged its thresholds on the whole run, so they are read off the run, not the judged part.
  const results = [...evaluateTargets(judged, targets), ...toolThresholdResults(run.toolThresholds, run)];
  const problems = [...extraProblems, ...runProblems(run), ...unreadableSources(run, targets)];
  let status: VerdictStatus;
  const reasons: string[] = [];
  if (problems.length) {
    status = 'error';
    reasons.push(...problems);
  } else {
    for (const r of results) {
      if (r.origin === 'tool') {
        if (r.status === 'fail' && !r.target.optional)
          reasons.push(`${r.target.source}: failed (the tool's own threshold)`);
      } else if (r.status === 'fail') {
        const against = r.rhs ? ` against ${r.rhs.label} = ${round(r.rhs.value!)}${unitText(r.target.unit)}` : '';
        reasons.push(`${r.target.source}: measured ${round(r.actual!)}${unitText(r.target.unit)}${against}`);
      } else if (r.status === 'not_measured' && !r.target.optional) {
        reasons.push(`${r.target.source}: not measured${r.note ? ` (${r.note})` : ''}`);
      }
    }
    reasons.push(...brokenRun(run));
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
    for (const metric of targetMetrics(t)) {
      const ref = infraRef(metric);
      const m = ref && findInfra(run, ref.name);
      if (m?.unavailable) out.push(`${t.source}: ${m.name} could not be read from ${m.source}: ${m.unavailable}`);
    }
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
