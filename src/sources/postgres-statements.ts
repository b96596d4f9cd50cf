// pg_stat_statements read and compared: the snapshot taken at the start, the end and the thirds of the steady
// part, the statements slow during the run (end minus start), the rows and buffer hits over the run, and the
// statement that slowed most from the first third of the steady part to the last. Kept apart from the source
// class because it is the statistics of two snapshots, testable without a session.
import type { Client } from 'pg';
import type { InfraMetric, SlowQuery } from '../model.js';
import { messageOf } from '../errors.js';
import { cleanStatement, MARK, snapshotSql, type Snapshot } from './postgres-activity.js';
import { reading } from './postgres-metrics.js';
import { oneLine } from './postgres-queries.js';
import { type MetricDescriptor, unavailable } from './types.js';

/** Calls a statement needs in each third for its slowdown to count. */
export const MIN_SLOWDOWN_CALLS = 10;

/** Statements by mean time during the run: the end snapshot minus the start snapshot. */
export function diffStatements(start: Snapshot, end: Snapshot, top: number): SlowQuery[] {
  const out: SlowQuery[] = [];
  for (const [key, e] of end) {
    if (e.query.includes(MARK) || e.query === '<insufficient privilege>') continue;
    const s = start.get(key);
    // A reset of pg_stat_statements during the run makes the end counters smaller: they then cover the run alone.
    const base = s && s.calls <= e.calls ? s : undefined;
    const calls = e.calls - (base?.calls ?? 0);
    const totalMs = e.total - (base?.total ?? 0);
    if (calls <= 0) continue;
    const q: SlowQuery = { query: cleanStatement(e.query), calls, meanMs: totalMs / calls, totalMs };
    if (e.rows !== undefined && Number.isFinite(e.rows)) q.rows = e.rows - (base?.rows ?? 0);
    if (e.hit !== undefined && Number.isFinite(e.hit)) q.sharedBlksHit = e.hit - (base?.hit ?? 0);
    out.push(q);
  }
  return out.sort((a, b) => b.meanMs - a.meanMs).slice(0, top);
}

/** Rows returned or affected and shared-buffer hits during the run, over every statement but perf-gate's own. */
export function diffTotals(start: Snapshot, end: Snapshot): { rows: number; hit: number } {
  let rows = 0;
  let hit = 0;
  for (const [key, e] of end) {
    if (e.query.includes(MARK)) continue;
    const s = start.get(key);
    const base = s && s.calls <= e.calls ? s : undefined;
    rows += (e.rows ?? 0) - (base?.rows ?? 0);
    hit += (e.hit ?? 0) - (base?.hit ?? 0);
  }
  return { rows, hit };
}

/** The statement whose mean time grew most between two pairs of snapshots. */
export interface Slowdown {
  ratio: number;
  query: string;
  /** Mean time in the first and the last third, ms. */
  first: number;
  last: number;
}

/**
 * The largest slowdown from the first third of the steady part (snapshots a to b) to the last (c to e); undefined
 * when no statement had MIN_SLOWDOWN_CALLS calls in both.
 */
export function worstSlowdown(a: Snapshot, b: Snapshot, c: Snapshot, e: Snapshot): Slowdown | undefined {
  const per = (from: Snapshot, to: Snapshot, key: string): { calls: number; mean: number } | undefined => {
    const x = to.get(key);
    const y = from.get(key);
    if (!x) return undefined;
    const calls = x.calls - (y && y.calls <= x.calls ? y.calls : 0);
    const total = x.total - (y && y.calls <= x.calls ? y.total : 0);
    return calls > 0 ? { calls, mean: total / calls } : undefined;
  };
  let worst: Slowdown | undefined;
  for (const [key, row] of e) {
    if (row.query.includes(MARK) || row.query === '<insufficient privilege>') continue;
    const first = per(a, b, key);
    const last = per(c, e, key);
    // Too few calls make a mean of noise: 10 in each third at least.
    if (!first || !last || first.calls < MIN_SLOWDOWN_CALLS || last.calls < MIN_SLOWDOWN_CALLS || !(first.mean > 0))
      continue;
    const ratio = last.mean / first.mean;
    if (!worst || ratio > worst.ratio)
      worst = { ratio, query: cleanStatement(row.query), first: first.mean, last: last.mean };
  }
  return worst;
}

/**
 * The statement-slowdown metric from the four snapshots of the steady part's thirds (start and end of the first,
 * start and end of the last); `whyNot` says why they were not planned. The worst statement goes into `notes`.
 */
export function slowdownMetric(
  d: MetricDescriptor,
  thirds: ReadonlyArray<Snapshot | undefined>,
  whyNot: string | undefined,
  notes: string[],
): InfraMetric {
  const [a, b, c, e] = [0, 1, 2, 3].map((i) => thirds[i]);
  if (!a || !b || !c || !e) {
    return unavailable(
      'postgres',
      d,
      whyNot ??
        'pg_stat_statements was not read at both ends of the first and last thirds of the steady part (a run stopped early, or the snapshots failed)',
    );
  }
  const worst = worstSlowdown(a, b, c, e);
  if (!worst)
    return unavailable(
      'postgres',
      d,
      `no statement had ${MIN_SLOWDOWN_CALLS} or more calls in both the first and the last third of the steady part`,
    );
  const v = worst.ratio;
  notes.push(
    `postgres: largest statement slowdown over the steady part ×${v.toFixed(2)} (mean ${worst.first.toFixed(2)} ms in the first third, ${worst.last.toFixed(2)} ms in the last): ${oneLine(worst.query).slice(0, 200)}`,
  );
  return { ...reading(d, v), query: `${d.query}; worst: ${oneLine(worst.query).slice(0, 200)}`, unit: 'count' };
}

type SnapshotRow = {
  key: string;
  qid: string;
  db: string;
  calls: number;
  total: number;
  rows: number;
  hit: number;
  blks: number;
  query: string;
};

/** Reads pg_stat_statements; remembers which name the server gives the total-time column. */
export class StatementReader {
  private totalColumn = 'total_exec_time';

  /** Whether the extension is installed in the session's database. */
  async installed(client: Client): Promise<boolean> {
    const ext = await client.query<{ installed: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS installed ${MARK}`,
    );
    return Boolean(ext.rows[0]?.installed);
  }

  /** The snapshot now; throws when the view cannot be read. */
  async read(client: Client): Promise<Snapshot> {
    let res;
    try {
      res = await client.query<SnapshotRow>(snapshotSql(this.totalColumn));
    } catch (e) {
      // PostgreSQL 12 and older call the column total_time.
      if (this.totalColumn === 'total_exec_time' && /total_exec_time/.test(messageOf(e))) {
        this.totalColumn = 'total_time';
        res = await client.query<SnapshotRow>(snapshotSql(this.totalColumn));
      } else throw e;
    }
    return new Map(
      res.rows.map((r) => [
        r.key,
        {
          calls: Number(r.calls),
          total: Number(r.total),
          rows: Number(r.rows),
          hit: Number(r.hit),
          query: r.query ?? '',
          qid: r.qid,
          db: r.db,
          blocks: Number(r.blks),
        },
      ]),
    );
  }
}
