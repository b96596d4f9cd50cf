// The load-side signals of the "Why" block: when a latency or error target first broke and on which endpoints
// the slow requests were, which series with a limit (or a target) passed it and when, against that rise, and a
// throughput limit (requests in flight rising while the requests served per second stay flat). Pure functions
// over the run; every figure they return is one the run holds, or arithmetic on those.
import { infraRef } from '../gate/metrics.js';
import { matchEndpointNames, parseSelectorMetric } from '../gate/selectors.js';
import { compare } from '../gate/targets.js';
import { countAboveMs } from '../metrics/histogram.js';
import type {
  IntervalResult,
  LatencyStats,
  RunResult,
  SaturationFinding,
  Target,
  ThroughputLimit,
  Verdict,
  WhenFinding,
} from '../model.js';

const LATENCY = new Set(['p50', 'p90', 'p95', 'p99', 'p999', 'max', 'mean']);

/** Share of a limit past which a series counts as saturated, when no target says otherwise. */
export const SATURATION_SHARE = 0.8;

type LatencyStat = 'p50' | 'p90' | 'p95' | 'p99' | 'p999' | 'max' | 'mean';

interface Criterion {
  target: string;
  /** The run-wide metric (`p99`, `error_rate`) or an infrastructure metric name. */
  metric: string;
  kind: 'latency' | 'error_rate' | 'infra';
  endpoint?: string;
  op: Target['op'];
  threshold: number;
  unit: WhenFinding['unit'];
}

/** The first failed latency, error-rate or infrastructure target; else a regressed latency or error rate against its baseline. */
function criterion(verdict: Verdict): Criterion | undefined {
  for (const t of verdict.targets) {
    if (t.status !== 'fail' || t.origin === 'tool' || t.rhs) continue;
    const tg = t.target;
    const sel = parseSelectorMetric(tg.metric);
    const base = sel ? sel.base : tg.metric;
    if (LATENCY.has(base))
      return {
        target: tg.source,
        metric: base,
        kind: 'latency',
        ...(tg.endpoint ? { endpoint: tg.endpoint } : {}),
        op: tg.op,
        threshold: tg.value,
        unit: 'ms',
      };
    if (base === 'error_rate' && !sel)
      return { target: tg.source, metric: base, kind: 'error_rate', op: tg.op, threshold: tg.value, unit: '%' };
  }
  for (const r of verdict.regressions ?? []) {
    if (r.status !== 'regressed' || r.acceptedBy || r.baseline === undefined) continue;
    if (LATENCY.has(r.metric))
      return {
        target: `${r.metric} regressed from ${r.baseline}`,
        metric: r.metric,
        kind: 'latency',
        op: '<=',
        threshold: r.baseline,
        unit: 'ms',
      };
    if (r.metric === 'error_rate')
      return {
        target: `error rate regressed from ${r.baseline}`,
        metric: r.metric,
        kind: 'error_rate',
        op: '<=',
        threshold: r.baseline,
        unit: '%',
      };
  }
  for (const t of verdict.targets) {
    if (t.status !== 'fail' || t.origin === 'tool' || t.rhs) continue;
    const ref = infraRef(t.target.metric);
    if (ref && !ref.ofMax)
      return {
        target: t.target.source,
        metric: ref.name,
        kind: 'infra',
        op: t.target.op,
        threshold: t.target.value,
        unit: t.target.unit,
      };
  }
  return undefined;
}

function intervalValue(iv: IntervalResult, c: Criterion): number | undefined {
  if (c.kind === 'error_rate') return iv.requests > 0 ? (iv.errors / iv.requests) * 100 : undefined;
  let lat: LatencyStats | undefined = iv.latency;
  if (c.endpoint) {
    // Percentiles of several endpoints cannot be combined here: only a selector naming one endpoint is followed.
    const names = matchEndpointNames(Object.keys(iv.endpoints ?? {}), c.endpoint);
    lat = names.length === 1 ? iv.endpoints![names[0]!]!.latency : undefined;
  }
  return lat && lat.count > 0 ? lat[c.metric as LatencyStat] : undefined;
}

/** When the first target broke, and for latency which endpoints carried the requests over it. */
export function whenFinding(run: RunResult, verdict: Verdict): WhenFinding | undefined {
  const c = criterion(verdict);
  if (!c) return undefined;
  const out: WhenFinding = { target: c.target, metric: c.metric, threshold: c.threshold, unit: c.unit };
  if (c.kind === 'infra') {
    const m = run.infra?.find((x) => x.name.toLowerCase() === c.metric.toLowerCase());
    const hit = m?.series?.find(([t, v]) => t >= 0 && !compare(v, c.op, c.threshold));
    if (hit) Object.assign(out, { atMs: hit[0], value: hit[1] });
    return out;
  }
  const ivs = [...run.intervals].sort((a, b) => a.startMs - b.startMs);
  for (const iv of ivs) {
    const v = intervalValue(iv, c);
    if (v !== undefined && !compare(v, c.op, c.threshold)) {
      out.atMs = iv.startMs;
      out.value = round(v);
      break;
    }
  }
  if (c.kind === 'latency') {
    const endpoints = run.endpoints
      .filter((e) => e.histogram)
      .map((e) => ({ name: e.name, slow: countAboveMs(e.histogram!, c.threshold), requests: e.latency.count }))
      .sort((a, b) => b.slow - a.slow || a.name.localeCompare(b.name));
    const all = run.histogram ? countAboveMs(run.histogram, c.threshold) : endpoints.reduce((n, e) => n + e.slow, 0);
    const ofRequests = run.histogram?.count ?? run.latency.count;
    if (run.histogram || endpoints.length)
      out.slow = { requests: all, ofRequests, endpoints: endpoints.filter((e) => e.slow > 0).slice(0, 5) };
  }
  return out;
}

/**
 * Series with a limit (a source's limit, 100 for a percentage, the generator's cap on requests in flight) or a
 * target on them: the first sample at 80 % of the limit or past the target, and the highest value. `unsaturated`
 * lists the ones with a limit that stayed below it, with their peak share of it.
 */
export function saturation(
  run: RunResult,
  verdict: Verdict,
  riseMs: number | undefined,
): { found: SaturationFinding[]; unsaturated: Array<{ name: string; peakPercent: number }> } {
  const found: SaturationFinding[] = [];
  const unsaturated: Array<{ name: string; peakPercent: number }> = [];
  const intervalMs = run.intervalMs ?? 1000;
  // "With the rise" is within one interval of it, or within two samples of a coarser series: a scraped gauge read
  // at time t describes the time since the scrape before, up to two steps back.
  const order = (t: number, step: number): SaturationFinding['order'] =>
    riseMs === undefined
      ? 'no-rise'
      : t < riseMs
        ? 'before'
        : t <= riseMs + Math.max(intervalMs, 2 * step)
          ? 'with'
          : 'after';
  // A sample at the run start (or before) reads the state before the load: a gauge evaluated there shows the last
  // scrape, which may be of the previous run.
  const inRun = (t: number): boolean => t > 0 && t <= run.durationMs + intervalMs;
  for (const m of run.infra ?? []) {
    if (m.unavailable || !m.series?.length) continue;
    const series = m.series.filter(([t, v]) => inRun(t) && Number.isFinite(v));
    if (!series.length) continue;
    const step = series.length > 1 ? (series[series.length - 1]![0] - series[0]![0]) / (series.length - 1) : intervalMs;
    const peak = Math.max(...series.map(([, v]) => v));
    const target = verdict.targets.find((t) => {
      const ref = t.origin !== 'tool' && !t.rhs ? infraRef(t.target.metric) : undefined;
      return ref && ref.name.toLowerCase() === m.name.toLowerCase() && (t.target.op === '<' || t.target.op === '<=');
    });
    const limit = m.limit ?? (m.unit === '%' ? 100 : undefined);
    let hit: [number, number] | undefined;
    let basis: SaturationFinding['basis'];
    let threshold: number;
    let of: number;
    if (target && (!infraRef(target.target.metric)!.ofMax || (limit !== undefined && limit > 0))) {
      const ofMax = infraRef(target.target.metric)!.ofMax;
      basis = 'target';
      of = ofMax ? (target.target.value / 100) * limit! : target.target.value;
      threshold = of;
      hit = series.find(([, v]) => !compare(v, target.target.op, of));
    } else if (limit !== undefined && limit > 0) {
      basis = 'limit';
      of = limit;
      threshold = SATURATION_SHARE * limit;
      hit = series.find(([, v]) => v >= threshold);
    } else continue;
    if (hit)
      found.push({
        name: m.name,
        basis,
        threshold: round(threshold),
        limit: of,
        unit: m.unit,
        firstAtMs: hit[0],
        peak: round(peak),
        order: order(hit[0], step),
      });
    else if (limit !== undefined && limit > 0)
      unsaturated.push({ name: m.name, peakPercent: round((peak / limit) * 100) });
  }
  // The load generator's own cap: requests in flight at the end of each interval against http.maxInFlight.
  const cap = run.generator.maxInFlight;
  const inflight = run.intervals.filter((iv) => iv.concurrency !== undefined);
  if (cap && inflight.length) {
    const peak = Math.max(...inflight.map((iv) => iv.concurrency!));
    const hit = inflight.find((iv) => iv.concurrency! >= SATURATION_SHARE * cap);
    const name = 'requests in flight (load generator)';
    if (hit) {
      const t = hit.startMs + hit.durationMs;
      found.push({
        name,
        basis: 'limit',
        threshold: SATURATION_SHARE * cap,
        limit: cap,
        unit: 'requests',
        firstAtMs: t,
        peak,
        order: order(t, intervalMs),
      });
    } else unsaturated.push({ name, peakPercent: round((peak / cap) * 100) });
  }
  // Two series first past their thresholds in the same sample: the one further past it first.
  found.sort((a, b) => a.firstAtMs - b.firstAtMs || b.peak / b.threshold - a.peak / a.threshold);
  return { found, unsaturated };
}

/**
 * A throughput limit: from some interval to the end of the load, the requests served per second stay flat (within
 * 20 % of their median) and below what was asked, while requests in flight rise by half and by 5 or more. By
 * Little's law (in flight = throughput × time in the system) the extra requests are waiting, not being served.
 */
export function throughputLimit(run: RunResult): ThroughputLimit | undefined {
  const step = run.intervalMs ?? run.intervals[0]?.durationMs ?? 1000;
  const ivs = [...run.intervals]
    .filter((iv) => iv.durationMs >= step / 2 && iv.concurrency !== undefined)
    .sort((a, b) => a.startMs - b.startMs);
  if (ivs.length < 4) return undefined;
  const started = run.generator.arrivalsStarted;
  const perArrival = started && run.requests > 0 ? run.requests / started : undefined;
  const served = ivs.map((iv) => iv.requests / (iv.durationMs / 1000));
  const asked = ivs.map((iv) =>
    iv.targetRate !== undefined && perArrival !== undefined ? iv.targetRate * perArrival : undefined,
  );
  const inflight = ivs.map((iv) => iv.concurrency!);
  for (let s = 0; s + 2 < ivs.length; s++) {
    // The segment runs while the load holds: a ramp-down after it is recovery, not a limit.
    let e = s;
    while (e + 1 < ivs.length && (asked[s] === undefined || (asked[e + 1] ?? 0) >= 0.9 * asked[s]!)) e++;
    if (e - s < 2) continue;
    const seg = served.slice(s, e + 1);
    const med = median(seg);
    if (med <= 0 || seg.some((v) => v < 0.8 * med || v > 1.2 * med)) continue;
    const askedSeg = asked.slice(s, e + 1).filter((v): v is number => v !== undefined);
    if (askedSeg.length && median(askedSeg) < 1.15 * med) continue;
    const from = inflight[s]!;
    const to = inflight[e]!;
    if (to < Math.max(1.5 * from, from + 5)) continue;
    const out: ThroughputLimit = {
      fromMs: ivs[s]!.startMs,
      toMs: ivs[e]!.startMs + ivs[e]!.durationMs,
      servedRps: round(med),
      inFlightFrom: from,
      inFlightTo: to,
      littleMs: round((to / med) * 1000),
    };
    if (askedSeg.length) out.askedRps = round(median(askedSeg));
    return out;
  }
  return undefined;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

export function round(n: number): number {
  return Math.round(n * 100) / 100;
}
