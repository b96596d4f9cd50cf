// What the PostgreSQL source measures, named and described: the descriptors it declares before the run (the
// connection count, the pg_stat_activity breakdown, the pg_stat_statements totals and slowdown, each query of
// one's own with when it runs), and the metric of a single reading. Kept apart from the source class so what a
// source promises is readable in one place, apart from how it measures it.
import type { InfraMetric } from '../model.js';
import { postgresActivityNames, postgresSlowdownName, type PostgresSourceConfig } from '../config/sources.js';
import { oneLine } from './postgres-queries.js';
import type { MetricDescriptor } from './types.js';

/** The source's metrics, in the order they are reported; `where` names the database (no password). */
export function describeMetrics(cfg: PostgresSourceConfig, where: string): MetricDescriptor[] {
  const metrics: MetricDescriptor[] = [
    {
      name: cfg.name,
      unit: 'count',
      query: `client connections in pg_stat_activity every ${cfg.intervalMs} ms, against max_connections (${where})`,
    },
  ];
  const a = postgresActivityNames(cfg);
  if (a) {
    const every = `every ${cfg.intervalMs} ms`;
    metrics.push(
      { name: a.active, unit: 'count', query: `client connections in state active, pg_stat_activity ${every}` },
      {
        name: a.idleInTransaction,
        unit: 'count',
        query: `client connections idle in transaction, pg_stat_activity ${every}`,
      },
      {
        name: a.lockWaits,
        unit: 'count',
        query: `client connections waiting on a lock (wait_event_type Lock), pg_stat_activity ${every}`,
      },
      {
        name: a.longestTransaction,
        unit: 'ms',
        query: `age of the oldest open transaction (xact_start), pg_stat_activity ${every}`,
      },
    );
    if (a.statementRows)
      metrics.push({
        name: a.statementRows,
        unit: 'count',
        query: 'rows returned or affected during the run, pg_stat_statements (end - start)',
      });
    if (a.sharedBlksHit)
      metrics.push({
        name: a.sharedBlksHit,
        unit: 'count',
        query: 'shared buffer hits during the run, pg_stat_statements (end - start)',
      });
  }
  const slowdownName = postgresSlowdownName(cfg);
  if (slowdownName) {
    metrics.push({
      name: slowdownName,
      unit: 'count',
      query:
        "largest ratio of a statement's mean time, last third of the steady part ÷ first third (pg_stat_statements)",
    });
  }
  for (const q of cfg.queries) {
    const when = {
      end: 'once after the run',
      interval: `every ${cfg.intervalMs} ms`,
      start: 'once before the load',
      change: 'before and after the run: after − before',
    }[q.at];
    metrics.push({ name: q.name, unit: q.unit, query: `${oneLine(q.sql)} (${when})` });
  }
  return metrics;
}

/** A metric of one reading (a query run once, a difference of two snapshots): every statistic is that value. */
export function reading(d: MetricDescriptor, v: number, atMs?: number): InfraMetric {
  const m: InfraMetric = {
    name: d.name,
    source: 'postgres',
    query: d.query,
    unit: d.unit,
    stats: { min: v, mean: v, p95: v, max: v, last: v },
  };
  if (atMs !== undefined) m.series = [[atMs, v]];
  return m;
}
