// The "Why" stage: after the gate, before the report. It reads the run and the verdict and says what the
// figures show about why the run failed: when the targets broke and where, what reached its limit first, a
// throughput limit, the database's work, memory and errors. It names a cause only when one finding stands out
// by the rules below, in this order; otherwise "no single cause found". It never reads anything but the run,
// the verdict and the baseline's statements, so every figure it gives is in results.json.
import type { BaselineStatement, CauseKind, Diagnosis, RunResult, Verdict } from '../model.js';
import { databaseFinding, errorsFinding, isOutOfMemory, killed, memoryFindings } from './resources.js';
import { saturation, throughputLimit, whenFinding } from './signals.js';

export { SATURATION_SHARE } from './signals.js';
export { HEAVY_READ_BLOCKS, HEAVY_READ_SHARE, SEQ_SCAN_MIN_ROWS, SEQ_SCAN_MIN_SCANS } from './resources.js';

export interface DiagnoseOptions {
  /** The baseline run's statements; the verdict's baseline carries them when it has them. */
  baselineStatements?: BaselineStatement[];
}

/** A run that completed no request, or a shard, has nothing to diagnose. */
export function diagnose(run: RunResult, verdict: Verdict, opts: DiagnoseOptions = {}): Diagnosis | undefined {
  if (run.requests === 0 || verdict.status === 'shard') return undefined;
  const when = whenFinding(run, verdict);
  const sat = saturation(run, verdict, when?.atMs);
  const d: Diagnosis = { saturation: sat.found, unsaturated: sat.unsaturated, memory: memoryFindings(run), limits: [] };
  if (when) d.when = when;
  const tl = throughputLimit(run);
  if (tl) d.throughputLimit = tl;
  const db = databaseFinding(run, opts.baselineStatements ?? verdict.baseline?.statements);
  if (db) d.database = db;
  const errors = errorsFinding(run);
  if (errors) d.errors = errors;
  if (run.slowest?.length) d.slowest = run.slowest.slice(0, 5);
  if (run.stoppedTasks?.length) d.stoppedTasks = run.stoppedTasks.map((t) => ({ ...t, outOfMemory: isOutOfMemory(t) }));
  const cause = chooseCause(d, run, verdict);
  if (cause) d.cause = cause;
  d.limits = limitsOf(run, d);
  return d;
}

/** Share of the slow requests one endpoint must carry to be named, and the most of all requests it may have. */
const ENDPOINT_SHARE = 0.8;
const ENDPOINT_TRAFFIC = 0.6;

/**
 * The rules, strongest evidence first. ECS tasks killed during the run (memory, an essential container exited); lock waits and tables read by sequential scans are direct observations of
 * the database; a saturated series counts only when it passed its limit before the latency rose or with it (one
 * that saturated later is a consequence); a leak only when memory passed its limit or target; then a throughput
 * limit with nothing saturated; then one endpoint carrying the slow requests; then errors on one endpoint.
 */
function chooseCause(d: Diagnosis, run: RunResult, verdict: Verdict): Diagnosis['cause'] {
  const named = (kind: CauseKind, subject: string): Diagnosis['cause'] => ({ kind, subject });
  // A task ECS stopped for memory, or whose essential container exited, during the run: ECS's own account.
  const dead = d.stoppedTasks?.find(killed);
  if (dead) return named('tasks-killed', dead.service);
  const db = d.database;
  const waits = db?.lockWaits.filter((w) => w.maxWaiting >= 2 || w.samples >= 2) ?? [];
  if (waits.length) return named('lock-waits', waits[0]!.table ?? waits[0]!.statement);
  // A statement that reads thousands of blocks per call and takes a large share of the database's time is read
  // off pg_stat_statements, which is current at the end of the run; the table is named only when the table
  // counters (which PostgreSQL publishes up to seconds late) show sequential scans of a table its text mentions.
  const heavy = db?.heavyReads[0];
  if (heavy) {
    const table = db!.seqScanTables.find((t) =>
      new RegExp(`\\b${escapeRegExp(t.table.split('.').pop()!)}\\b`, 'i').test(heavy.query),
    );
    return named('sequential-scans', table?.table ?? heavy.query);
  }
  const leak = d.memory.find((m) => m.leak && d.saturation.some((s) => s.name === m.name));
  if (leak) return named('memory-leak', leak.name);
  const first = d.saturation.find(
    (s) => s.order === 'before' || s.order === 'with' || (s.order === 'no-rise' && failedOn(verdict, s.name)),
  );
  if (first) return named('saturation', first.name);
  if (d.throughputLimit && !d.saturation.length) return named('throughput-limit', `${d.throughputLimit.servedRps}`);
  const slow = d.when?.slow;
  const ep = slow?.endpoints[0];
  if (
    slow &&
    ep &&
    slow.requests > 0 &&
    ep.slow >= ENDPOINT_SHARE * slow.requests &&
    ep.requests <= ENDPOINT_TRAFFIC * slow.ofRequests
  )
    return named('slow-endpoint', ep.name);
  const e = d.errors?.endpoints[0];
  if (
    d.when?.metric === 'error_rate' &&
    e &&
    run.errors > 0 &&
    e.errors >= ENDPOINT_SHARE * run.errors &&
    e.requests <= ENDPOINT_TRAFFIC * run.requests
  )
    return named('errors', e.name);
  return undefined;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function failedOn(verdict: Verdict, name: string): boolean {
  const key = name.toLowerCase();
  return verdict.targets.some(
    (t) =>
      t.status === 'fail' &&
      t.target.metric
        .toLowerCase()
        .replace(/^[a-z0-9]+\((.+)\)$/, '$1')
        .replace(/%max$/, '') === key,
  );
}

/** What the diagnosis could not look at with what this run measured. */
function limitsOf(run: RunResult, d: Diagnosis): string[] {
  const out: string[] = [];
  if (d.when?.unit === 'ms' && !d.when.slow)
    out.push('no latency histograms per endpoint: which endpoint carried the slow requests is not known');
  if (!d.saturation.length && !d.unsaturated.length)
    out.push(
      'no infrastructure series with a limit or a target: nothing could be called saturated (give sources a limit, or targets)',
    );
  if (!run.database?.length) out.push('no PostgreSQL source: statements, scans and lock waits were not looked at');
  else if (!run.database.some((x) => x.statements))
    out.push('pg_stat_statements was not read: statements by time are not known');
  if (!run.intervals.some((iv) => iv.concurrency !== undefined))
    out.push('no requests-in-flight series: a throughput limit cannot be told');
  return out;
}
