// The resource side of the "Why" block: what the database did (statements by total time, tables read by
// sequential scans, lock waits, statements slower than the baseline's), how memory moved over the steady part,
// and which errors the endpoints and the logs show. Pure functions over the run.
import { samplesOver } from '../metrics/series.js';
import type {
  BaselineStatement,
  DatabaseFinding,
  ErrorsFinding,
  MemoryFinding,
  RunResult,
  StoppedTask,
} from '../model.js';
import { round } from './signals.js';

/** A table counts as read by sequential scans under load with this many scans, of this many rows each on average. */
export const SEQ_SCAN_MIN_SCANS = 5;
export const SEQ_SCAN_MIN_ROWS = 10_000;
/** A statement reading this many shared blocks per call (8 MiB) reads a whole table, or a large part, each time. */
export const HEAVY_READ_BLOCKS = 1000;
/** ... and counts when it took this share of the database's time or more. */
export const HEAVY_READ_SHARE = 30;

/** The busiest database (most statement time): its top statements, tables read by sequential scans, lock waits. */
export function databaseFinding(run: RunResult, baseline?: BaselineStatement[]): DatabaseFinding | undefined {
  const dbs = run.database ?? [];
  if (!dbs.length) return undefined;
  const db = [...dbs].sort(
    (a, b) => (b.totalMs ?? 0) - (a.totalMs ?? 0) + ((b.lockWaits?.length ?? 0) - (a.lockWaits?.length ?? 0)) * 1e12,
  )[0]!;
  const out: DatabaseFinding = {
    source: db.source,
    top: (db.statements ?? []).slice(0, 5),
    seqScanTables: (db.tables ?? []).filter(
      (t) => t.seqScan >= SEQ_SCAN_MIN_SCANS && t.seqTupRead / t.seqScan >= SEQ_SCAN_MIN_ROWS && t.seqScan > t.idxScan,
    ),
    lockWaits: db.lockWaits ?? [],
    heavyReads: (db.statements ?? []).filter(
      (q) => q.calls >= 5 && (q.sharePercent ?? 0) >= HEAVY_READ_SHARE && (q.blocksPerCall ?? 0) >= HEAVY_READ_BLOCKS,
    ),
  };
  if (db.totalMs !== undefined) out.totalMs = db.totalMs;
  if (db.dealloc) out.dealloc = db.dealloc;
  if (baseline?.length && db.statements?.length) {
    const before = new Map(baseline.map((s) => [s.queryid, s]));
    const slower = db.statements
      .map((s) => ({ s, b: before.get(s.queryid) }))
      .filter(({ s, b }) => b && s.calls >= 5 && s.meanMs > 1.5 * b.meanMs && s.meanMs - b.meanMs >= 1)
      .map(({ s, b }) => ({ queryid: s.queryid, query: s.query, meanMs: s.meanMs, baselineMeanMs: b!.meanMs }));
    if (slower.length) out.slower = slower.slice(0, 5);
  }
  return out;
}

const MEMORY_NAME = /mem|rss|heap/i;

/**
 * Memory series (unit bytes, or a name that says memory): the least-squares slope over the steady part (the whole
 * run without one), per minute. A leak hint needs a steady rise (r² ≥ 0.9) of 10 % or more over the part that
 * is still rising in its last third (at least 30 % of the overall slope): a heap that grows and levels off is no leak.
 */
export function memoryFindings(run: RunResult): MemoryFinding[] {
  const windows = run.analysis?.steady?.windows.length
    ? run.analysis.steady.windows
    : [{ startMs: 0, endMs: run.durationMs }];
  const out: MemoryFinding[] = [];
  for (const m of run.infra ?? []) {
    if (m.unavailable || !m.series?.length || !(m.unit === 'bytes' || MEMORY_NAME.test(m.name))) continue;
    const pts = samplesOver(m.series, windows).filter(([t]) => t >= 0);
    if (pts.length < 5) continue;
    const fit = line(pts);
    if (!fit) continue;
    const from = pts[0]![1];
    const to = pts[pts.length - 1]![1];
    const tail = pts.slice(Math.min(Math.floor((pts.length * 2) / 3), pts.length - 3));
    const tailFit = line(tail);
    const leak =
      fit.slope > 0 &&
      fit.r2 >= 0.9 &&
      to - from >= 0.1 * Math.abs(from) &&
      tailFit !== undefined &&
      tailFit.slope >= 0.3 * fit.slope;
    out.push({
      name: m.name,
      unit: m.unit,
      slopePerMin: round(fit.slope * 60_000),
      r2: round(fit.r2),
      fromValue: from,
      toValue: to,
      samples: pts.length,
      leak,
    });
  }
  return out;
}

function line(pts: Array<[number, number]>): { slope: number; r2: number } | undefined {
  const n = pts.length;
  const mx = pts.reduce((a, [t]) => a + t, 0) / n;
  const my = pts.reduce((a, [, v]) => a + v, 0) / n;
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  for (const [t, v] of pts) {
    sxx += (t - mx) ** 2;
    sxy += (t - mx) * (v - my);
    syy += (v - my) ** 2;
  }
  if (sxx === 0) return undefined;
  const slope = sxy / sxx;
  return { slope, r2: syy === 0 ? 0 : (sxy * sxy) / (sxx * syy) };
}

/** Killed for memory: ECS's OutOfMemoryError reason on the task or a container. */
export function isOutOfMemory(t: StoppedTask): boolean {
  return (
    /OutOfMemory|\bOOM/i.test(t.stoppedReason ?? '') ||
    t.containers.some((k) => /OutOfMemory|\bOOM/i.test(k.reason ?? ''))
  );
}

/** Stopped by what ran in it (memory, an essential container that exited), not by a deployment or a person. */
export function killed(t: StoppedTask & { outOfMemory: boolean }): boolean {
  return t.outOfMemory || t.stopCode === 'EssentialContainerExited' || t.stopCode === 'TaskFailedToStart';
}

const PAYMENT = /payment|charge|card|billing|stripe|checkout|refund/i;
const AUTH = /auth|login|logon|sign[- ]?in|unauthori[sz]ed|forbidden|token|session|password|credential|\b40[13]\b/i;

/** Failing endpoints with their status codes and error kinds, and the error logs grouped (payment, auth, the rest). */
export function errorsFinding(run: RunResult): ErrorsFinding | undefined {
  const endpoints = run.endpoints
    .filter((e) => e.errors > 0)
    .map((e) => {
      const codes: Record<string, number> = {};
      for (const [code, n] of Object.entries(e.statusCodes)) if (Number(code) >= 400 && n > 0) codes[code] = n;
      for (const [kind, n] of Object.entries(e.errorsByKind ?? {})) if (!kind.startsWith('http_') && n) codes[kind] = n;
      return { name: e.name, errors: e.errors, requests: e.requests, codes };
    })
    .sort((a, b) => b.errors - a.errors || a.name.localeCompare(b.name))
    .slice(0, 5);
  const groupOf = (msg: string): ErrorsFinding['logs'][number]['group'] =>
    PAYMENT.test(msg) ? 'payment' : AUTH.test(msg) ? 'auth' : 'other';
  const rank = { payment: 0, auth: 1, other: 2 } as const;
  const logs = (run.logs ?? [])
    .flatMap((l) =>
      l.top.map((t) => ({ group: groupOf(t.message), message: t.message, count: t.count, source: l.source })),
    )
    .sort((a, b) => rank[a.group] - rank[b.group] || b.count - a.count)
    .slice(0, 8);
  if (!endpoints.length && !logs.length) return undefined;
  return { endpoints, logs };
}
