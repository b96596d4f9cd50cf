// The database's work during the run, for the "Why" block: statements by total time grouped by queryid across
// databases, entries pg_stat_statements evicted meanwhile, sequential against index scans per table, and the
// statements seen waiting on a lock with the table. Counters are read at the start and the end of the run and
// subtracted; lock waits are sampled with the connection counts. SQL and pure arithmetic only: the PostgreSQL
// source (postgres.ts) runs the statements on its one read-only session.
import type { DatabaseStatement, LockWait, TableScans } from '../model.js';

/** Marks perf-gate's own statements so they can be left out of what the database did for the service. */
export const MARK = '/* perf-gate */';

/** pg_stat_statements by user, database and queryid, with the queryid and the database's name. */
export const snapshotSql = (totalColumn: string): string =>
  `SELECT s.key, s.qid, coalesce(d.datname, s.dbid::text) AS db, sum(s.calls)::float8 AS calls, sum(s.total)::float8 AS total, ` +
  `sum(s.rows)::float8 AS rows, sum(s.hit)::float8 AS hit, sum(s.blks)::float8 AS blks, min(s.query) AS query FROM (` +
  `SELECT userid::text || ':' || dbid::text || ':' || coalesce(queryid::text, md5(query)) AS key, ` +
  `coalesce(queryid::text, md5(query)) AS qid, dbid, calls, ${totalColumn} AS total, rows, shared_blks_hit AS hit, ` +
  `shared_blks_hit + shared_blks_read AS blks, query ` +
  `FROM pg_stat_statements) s LEFT JOIN pg_database d ON d.oid = s.dbid GROUP BY 1, 2, 3 ${MARK}`;

export interface StatementRow {
  calls: number;
  total: number;
  rows?: number;
  hit?: number;
  /** Shared blocks hit or read. */
  blocks?: number;
  query: string;
  /** queryid (md5 of the text without one) and database name; absent in snapshots of older shape. */
  qid?: string;
  db?: string;
}
export type Snapshot = Map<string, StatementRow>;

/** PostgreSQL 14+: entries evicted since the last reset. */
export const DEALLOC_SQL = `SELECT dealloc::float8 AS dealloc FROM pg_stat_statements_info ${MARK}`;

export const TABLES_SQL =
  `SELECT schemaname || '.' || relname AS t, coalesce(seq_scan, 0)::float8 AS seq, coalesce(seq_tup_read, 0)::float8 AS seq_rows, ` +
  `coalesce(idx_scan, 0)::float8 AS idx, coalesce(n_live_tup, 0)::float8 AS live FROM pg_stat_user_tables ${MARK}`;
export const INDEXES_SQL = `SELECT schemaname || '.' || relname AS t, indexrelname AS i, coalesce(idx_scan, 0)::float8 AS idx FROM pg_stat_user_indexes ${MARK}`;

export interface TableRow {
  seq: number;
  seqRows: number;
  idx: number;
  live: number;
  indexes: Map<string, number>;
}
export type TableSnapshot = Map<string, TableRow>;

export function tableSnapshot(
  tables: Array<{ t: string; seq: number; seq_rows: number; idx: number; live: number }>,
  indexes: Array<{ t: string; i: string; idx: number }>,
): TableSnapshot {
  const out: TableSnapshot = new Map();
  for (const r of tables)
    out.set(r.t, {
      seq: Number(r.seq),
      seqRows: Number(r.seq_rows),
      idx: Number(r.idx),
      live: Number(r.live),
      indexes: new Map(),
    });
  for (const r of indexes) out.get(r.t)?.indexes.set(r.i, Number(r.idx));
  return out;
}

/**
 * Connections waiting on a lock: the statement (its queryid where PostgreSQL 14+ has one, so the text can be the
 * normalised one), the table of the lock waited for, or else the table the waiting statement holds a lock on
 * (a row lock is waited for as the other transaction's transactionid, which names no table).
 */
export const LOCK_WAITS_SQL =
  `SELECT w.qid, w.query, coalesce(w.rel, w.held) AS tbl, w.locktype, count(*)::int AS n FROM (SELECT ` +
  `QID_EXPR AS qid, left(a.query, 2000) AS query, ` +
  `(SELECT l.relation::regclass::text FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted AND l.relation IS NOT NULL LIMIT 1) AS rel, ` +
  `(SELECT min(c.oid::regclass::text) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation WHERE l.pid = a.pid AND l.granted ` +
  `AND l.locktype = 'relation' AND l.mode = 'RowExclusiveLock' AND c.relkind IN ('r', 'p') AND c.relnamespace <> 'pg_catalog'::regnamespace) AS held, ` +
  `(SELECT l.locktype FROM pg_locks l WHERE l.pid = a.pid AND NOT l.granted LIMIT 1) AS locktype ` +
  `FROM pg_stat_activity a WHERE a.wait_event_type = 'Lock' AND a.pid <> pg_backend_pid()) w GROUP BY 1, 2, 3, 4 ${MARK}`;
export const lockWaitsSql = (withQueryId: boolean): string =>
  LOCK_WAITS_SQL.replace('QID_EXPR', withQueryId ? 'a.query_id::text' : 'NULL::text');

export interface LockSample {
  t: number;
  rows: Array<{ qid: string | null; query: string; tbl: string | null; locktype: string | null; n: number }>;
}

/** Utility statements are recorded verbatim by pg_stat_statements, `ALTER ROLE ... PASSWORD '...'` included. */
export function cleanStatement(query: string): string {
  const text = query
    .replace(/\b(PASSWORD)\s+('(?:[^']|'')*'|\$\d+)/gi, "$1 '***'")
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > 500 ? `${text.slice(0, 497)}...` : text;
}

/** The start counters a key is measured from; a reset during the run (end below start) means from zero. */
function baseOf(start: Snapshot, key: string, e: StatementRow): StatementRow | undefined {
  const s = start.get(key);
  return s && s.calls <= e.calls ? s : undefined;
}

/**
 * Statements by total time during the run, grouped by queryid across databases and users: the top `top`, the
 * total of all statements, and how many had calls.
 */
export function statementsByTotal(
  start: Snapshot,
  end: Snapshot,
  top: number,
): { statements: DatabaseStatement[]; totalMs: number; count: number } {
  const groups = new Map<
    string,
    { calls: number; totalMs: number; blocks?: number; query: string; dbs: Set<string> }
  >();
  let totalMs = 0;
  for (const [key, e] of end) {
    if (e.query.includes(MARK) || e.query === '<insufficient privilege>') continue;
    const base = baseOf(start, key, e);
    const calls = e.calls - (base?.calls ?? 0);
    const ms = e.total - (base?.total ?? 0);
    if (calls <= 0) continue;
    totalMs += ms;
    const qid = e.qid ?? key;
    const g = groups.get(qid) ?? { calls: 0, totalMs: 0, query: cleanStatement(e.query), dbs: new Set<string>() };
    g.calls += calls;
    g.totalMs += ms;
    if (e.blocks !== undefined && Number.isFinite(e.blocks))
      g.blocks = (g.blocks ?? 0) + e.blocks - (base?.blocks ?? 0);
    if (e.db) g.dbs.add(e.db);
    groups.set(qid, g);
  }
  const statements = [...groups]
    .map(([queryid, g]): DatabaseStatement => {
      const s: DatabaseStatement = {
        queryid,
        query: g.query,
        calls: g.calls,
        totalMs: round3(g.totalMs),
        meanMs: round3(g.totalMs / g.calls),
      };
      if (totalMs > 0) s.sharePercent = round3((g.totalMs / totalMs) * 100);
      if (g.blocks !== undefined) s.blocksPerCall = round3(g.blocks / g.calls);
      if (g.dbs.size) s.databases = [...g.dbs].sort();
      return s;
    })
    .sort((a, b) => b.totalMs - a.totalMs || b.calls - a.calls);
  return { statements: statements.slice(0, top), totalMs: round3(totalMs), count: statements.length };
}

/** Tables with scans during the run: sequential scans (and rows read by them) against index scans, busiest first. */
export function tableScans(start: TableSnapshot, end: TableSnapshot, top = 10): TableScans[] {
  const out: TableScans[] = [];
  for (const [table, e] of end) {
    const s = start.get(table);
    // A table created during the run counts from zero; counters that went down were reset: from zero too.
    const reset = s !== undefined && (e.seq < s.seq || e.idx < s.idx);
    const b = s && !reset ? s : undefined;
    const seqScan = e.seq - (b?.seq ?? 0);
    const idxScan = e.idx - (b?.idx ?? 0);
    if (seqScan <= 0 && idxScan <= 0) continue;
    const row: TableScans = { table, seqScan, seqTupRead: e.seqRows - (b?.seqRows ?? 0), idxScan, liveRows: e.live };
    const indexes = [...e.indexes].map(([name, n]) => ({ name, scans: n - (b?.indexes.get(name) ?? 0) }));
    if (indexes.length) row.indexes = indexes.sort((x, y) => y.scans - x.scans);
    out.push(row);
  }
  return out
    .sort((a, b) => b.seqTupRead - a.seqTupRead || b.seqScan + b.idxScan - (a.seqScan + a.idxScan))
    .slice(0, top);
}

/** Lock-wait samples by statement and table: in how many samples, the most waiting at once, the first seen. */
export function lockWaits(samples: LockSample[], startMs: number, texts: Map<string, string>): LockWait[] {
  const by = new Map<string, LockWait>();
  for (const s of samples) {
    const perSample = new Map<string, number>();
    for (const r of s.rows) {
      const statement = (r.qid && texts.get(r.qid)) || cleanStatement(r.query);
      const key = `${statement}\u0000${r.tbl ?? ''}`;
      let w = by.get(key);
      if (!w) {
        w = { statement, samples: 0, maxWaiting: 0, firstAtMs: s.t - startMs };
        if (r.tbl) w.table = r.tbl;
        if (r.locktype) w.lockType = r.locktype;
        by.set(key, w);
      }
      perSample.set(key, (perSample.get(key) ?? 0) + Number(r.n));
    }
    for (const [key, n] of perSample) {
      const w = by.get(key)!;
      w.samples++;
      w.maxWaiting = Math.max(w.maxWaiting, n);
    }
  }
  return [...by.values()].sort((a, b) => b.samples * b.maxWaiting - a.samples * a.maxWaiting).slice(0, 10);
}

/** queryid -> normalised text, from a pg_stat_statements snapshot. */
export function statementTexts(snapshot: Snapshot | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of snapshot?.values() ?? []) if (r.qid && !out.has(r.qid)) out.set(r.qid, cleanStatement(r.query));
  return out;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
