// The connection sample taken every interval from pg_stat_activity: client connections by state and wait event,
// lock waits and the oldest open transaction, perf-gate's own sessions left out; and how the busiest sample is
// picked and described for the notes. Kept apart from the source class: it is what one sample is, not when it
// is taken.
import type { Client } from 'pg';
import { messageOf } from '../errors.js';
import { MARK } from './postgres-activity.js';
import { QUERIES_APP } from './postgres-queries.js';

// Client connections grouped by state and wait event, with the age of the oldest open transaction in each group.
const activitySql = (where: string): string =>
  `SELECT coalesce(state, 'unknown') AS state, coalesce(wait_event_type, '') AS wait, count(*)::int AS n, ` +
  `coalesce(max(extract(epoch FROM clock_timestamp() - xact_start) * 1000), 0)::float8 AS xact_ms ` +
  `FROM pg_stat_activity WHERE ${where}pid <> pg_backend_pid() AND coalesce(application_name, '') <> '${QUERIES_APP}' GROUP BY 1, 2 ${MARK}`;
const ACTIVITY_SQL = activitySql(`backend_type = 'client backend' AND `);
// PostgreSQL < 10 has no backend_type; background processes then show with an empty query and are left out that way.
const ACTIVITY_SQL_OLD = activitySql('');

/** One pg_stat_activity sample. */
export interface ActivitySample {
  t: number;
  total: number;
  byState: Record<string, number>;
  byWait: Record<string, number>;
  lockWaits: number;
  longestXactMs: number;
}

/** Takes pg_stat_activity samples; remembers whether the server knows backend_type. */
export class ActivityReader {
  private sql = ACTIVITY_SQL;

  async read(client: Client): Promise<ActivitySample> {
    type Row = { state: string; wait: string; n: number; xact_ms: number };
    let res;
    try {
      res = await client.query<Row>(this.sql);
    } catch (e) {
      if (this.sql === ACTIVITY_SQL && /backend_type/.test(messageOf(e))) {
        this.sql = ACTIVITY_SQL_OLD;
        res = await client.query<Row>(this.sql);
      } else throw e;
    }
    const t = Date.now();
    const a: ActivitySample = { t, total: 0, byState: {}, byWait: {}, lockWaits: 0, longestXactMs: 0 };
    for (const r of res.rows) {
      const n = Number(r.n);
      a.total += n;
      a.byState[r.state] = (a.byState[r.state] ?? 0) + n;
      if (r.wait) a.byWait[r.wait] = (a.byWait[r.wait] ?? 0) + n;
      if (r.wait === 'Lock') a.lockWaits += n;
      a.longestXactMs = Math.max(a.longestXactMs, Number(r.xact_ms) || 0);
    }
    return a;
  }
}

/** The busiest of the samples: the one with most connections doing something, then most connections at all. */
export function busiest(samples: ActivitySample[]): ActivitySample | undefined {
  return samples.reduce<ActivitySample | undefined>(
    (best, s) => (!best || busyness(s) > busyness(best) ? s : best),
    undefined,
  );
}

/** Connections doing something (not idle), then connections at all: an idle pool is not the busiest moment. */
function busyness(s: ActivitySample): number {
  return (s.total - (s.byState.idle ?? 0)) * 1e6 + s.total;
}

export function describeSample(s: ActivitySample): string {
  const list = (r: Record<string, number>): string =>
    Object.entries(r)
      .sort((x, y) => y[1] - x[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
  const waits = list(s.byWait);
  return `by state ${list(s.byState) || 'none'}; by wait event type ${waits || 'none'}; ${s.lockWaits} waiting on a lock; oldest transaction ${Math.round(s.longestXactMs)} ms`;
}
