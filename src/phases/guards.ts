// Abort guards: `error_rate > 5% for 30s`, `p99 > 2s for 1m`. They are checked on every interval while the phase
// runs, so a deployment that is clearly broken stops taking load (and the job stops burning minutes) instead of
// being hammered to the end of an hour-long shape. A guard trips when its condition held on consecutive intervals
// spanning at least its `for` duration; without `for`, one interval is enough.
import type { ComparisonOp, EarlyStop, IntervalResult, MetricUnit } from '../model.js';
import { formatDuration, formatDurationCompact, formatValue } from '../format.js';
import { compare, parseTarget } from '../gate/targets.js';
import { matchEndpointNames, parseSelectorMetric } from '../gate/selectors.js';
import { parseDuration } from '../units.js';
import { UserError, messageOf } from '../errors.js';
import { builtinMetric, metricsWithScope, type MetricWithScope } from '../metrics/catalogue.js';

/** Metrics a single interval can answer for: the catalogue's `interval` scope. */
export const GUARD_METRICS = metricsWithScope('interval');
export type GuardMetric = MetricWithScope<'interval'>;
/** Metrics an interval's per-endpoint figures answer for (`error_rate{payment} > 5% for 30s`): scope `interval-endpoint`. */
export const ENDPOINT_GUARD_METRICS = metricsWithScope('interval-endpoint');

export interface AbortGuard {
  metric: GuardMetric;
  op: ComparisonOp;
  /** Threshold in the metric's canonical unit (ms, percent, per second, count per interval). */
  value: number;
  unit: MetricUnit;
  /** Endpoint selector as written (`payment`, `POST /api/payments`): the guard reads IntervalResult.endpoints. */
  endpoint?: string;
  /** How long the condition must hold, ms (0: one interval). */
  forMs: number;
  /** As written (or generated, for a preset's default). */
  source: string;
  /**
   * A preset's default guard is part of the load shape, so its `for` duration stretches and shrinks with the
   * shape's duration; a guard the user wrote is taken as written.
   */
  scalesWithShape?: boolean;
}

const FOR = /^(?<cond>.*?)\s+for\s+(?<dur>[\d.]+\s*[a-z]+(?:\s*[\d.]+\s*[a-z]+)*)\s*$/i;

export function parseGuard(text: string, where = 'abort'): AbortGuard {
  const line = text.trim();
  const m = FOR.exec(line);
  const cond = m?.groups ? m.groups.cond! : line;
  let forMs = 0;
  if (m?.groups) {
    const d = parseDuration(m.groups.dur!);
    if (d === undefined || d < 0)
      throw new UserError(`${where}: guard "${line}" has a bad duration "${m.groups.dur}"; expected e.g. 30s, 2m`);
    forMs = d;
  }
  let t;
  try {
    t = parseTarget(cond, where);
  } catch (e) {
    throw new UserError(
      `${messageOf(e).replace(/expected "<metric> <op> <value><unit>".*$/, '')}` +
        `expected "<metric> <op> <value><unit> [for <duration>]", for example "error_rate > 5% for 30s" or "p99 > 2s for 1m"`,
    );
  }
  if (t.rhsMetric)
    throw new UserError(`${where}: guard "${line}" compares two metrics; a guard compares one metric with a threshold`);
  const sel = parseSelectorMetric(t.metric);
  if (sel) {
    if (!(ENDPOINT_GUARD_METRICS as readonly string[]).includes(sel.base) || t.optional) {
      throw new UserError(
        `${where}: guard "${line}" watches "${sel.base}" of an endpoint, which is not measured per interval; allowed with an endpoint: ${ENDPOINT_GUARD_METRICS.join(', ')}`,
      );
    }
    return {
      metric: sel.base as GuardMetric,
      endpoint: sel.selector.endpoint,
      op: t.op,
      value: t.value,
      unit: t.unit,
      forMs,
      source: line,
    };
  }
  if (!(GUARD_METRICS as readonly string[]).includes(t.metric) || t.optional) {
    throw new UserError(
      `${where}: guard "${line}" watches "${t.metric}", which is not measured per interval; allowed: ${GUARD_METRICS.join(', ')} (and ${ENDPOINT_GUARD_METRICS.join(', ')} of an endpoint, as in error_rate{payment} > 5%)`,
    );
  }
  return { metric: t.metric as GuardMetric, op: t.op, value: t.value, unit: t.unit, forMs, source: line };
}

export function parseGuards(lines: string[] | string, where = 'abort'): AbortGuard[] {
  const list = typeof lines === 'string' ? lines.split(/\r?\n/) : lines;
  const out: AbortGuard[] = [];
  list.forEach((raw, i) => {
    const line = raw.replace(/\s+#.*$/, '').trim();
    if (line === '' || line.startsWith('#')) return;
    out.push(parseGuard(line, list.length > 1 ? `${where}[${i}]` : where));
  });
  return out;
}

/**
 * Fits the guards to the shape that will run: a preset's default `for` is scaled with the shape, and never shorter
 * than two intervals, because one noisy interval of a shortened run should not end it.
 */
export function fitGuards(guards: AbortGuard[], timeFactor: number, intervalMs: number): AbortGuard[] {
  return guards.map((g) => {
    if (!g.scalesWithShape) return g;
    const forMs = Math.max(Math.round(g.forMs * timeFactor), 2 * intervalMs);
    // Written back in config syntax, so the report shows a guard the user could copy.
    return {
      ...g,
      forMs,
      source: forMs === g.forMs ? g.source : `${g.source.replace(FOR, '$<cond>')} for ${formatDurationCompact(forMs)}`,
    };
  });
}

/**
 * A guard's metric in one interval; undefined when the interval has nothing to say (no request completed). With an
 * endpoint, the interval's figures for the endpoints the selector matches (counts add up; a latency statistic needs
 * exactly one); undefined when the engine recorded no per-endpoint figures or none of them matched.
 */
export function intervalMetric(iv: IntervalResult, metric: GuardMetric, endpoint?: string): number | undefined {
  const def = builtinMetric(metric)!;
  if (endpoint === undefined) return def.intervalValue?.(iv);
  if (!iv.endpoints) return undefined;
  const names = matchEndpointNames(Object.keys(iv.endpoints), endpoint);
  const rows = names.map((n) => iv.endpoints![n]!);
  if (rows.length === 0) return undefined;
  const requests = rows.reduce((n, r) => n + r.requests, 0);
  const errors = rows.reduce((n, r) => n + r.errors, 0);
  return def.intervalRowsValue?.({ rows, requests, errors });
}

interface GuardState {
  /** Start of the current streak of intervals where the condition held, ms from the run start. */
  since?: number;
  held: number;
  worst?: number;
}

/** Watches intervals as they close and says when a guard trips. */
export class GuardMonitor {
  private readonly states: GuardState[];
  private tripped: EarlyStop | undefined;

  constructor(readonly guards: readonly AbortGuard[]) {
    this.states = guards.map(() => ({ held: 0 }));
  }

  get stop(): EarlyStop | undefined {
    return this.tripped;
  }

  /** Feed the next closed interval; returns the trip the first time a guard trips. */
  observe(iv: IntervalResult): EarlyStop | undefined {
    if (this.tripped) return undefined;
    for (let i = 0; i < this.guards.length; i++) {
      const g = this.guards[i]!;
      const st = this.states[i]!;
      const v = intervalMetric(iv, g.metric, g.endpoint);
      // An interval in which nothing completed says nothing either way: a hung target must not reset the streak.
      if (v === undefined) continue;
      if (!compare(v, g.op, g.value)) {
        st.since = undefined;
        st.held = 0;
        st.worst = undefined;
        continue;
      }
      st.since ??= iv.startMs;
      st.held += iv.durationMs;
      st.worst = st.worst === undefined ? v : g.op.startsWith('<') ? Math.min(st.worst, v) : Math.max(st.worst, v);
      if (st.held >= g.forMs) {
        const span = g.forMs > 0 ? ` for ${formatDuration(st.held)}` : '';
        this.tripped = {
          guard: g.source,
          reason: `guard "${g.source}" tripped: ${guardLabel(g.metric)}${g.endpoint !== undefined ? ` of ${g.endpoint}` : ''} reached ${formatValue(st.worst, g.unit)}${span}`,
          atMs: iv.startMs + iv.durationMs,
        };
        return this.tripped;
      }
    }
    return undefined;
  }
}

function guardLabel(metric: GuardMetric): string {
  return builtinMetric(metric)!.intervalLabel!;
}
