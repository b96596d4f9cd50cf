// PostgreSQL watched during the run: connections sampled from pg_stat_activity against max_connections (and by
// state and wait event, lock waits, the longest open transaction), the statements that were slow during the run
// from two pg_stat_statements snapshots (start and end), and queries of one's own (`queries:`, one number each,
// sampled or run once after the run). One read-only session with a short statement_timeout; samples never overlap,
// a failed sample is counted, not thrown, and the timers are unref'd, so the sampler can neither block nor crash
// the load test. `pg` is imported only when used.
import type { Client, ClientConfig } from 'pg';
import type { BaselineRow, DatabaseActivity, InfraMetric, SlowQuery } from '../model.js';
import {
  postgresActivityNames,
  postgresSlowdownName,
  type PostgresQueryConfig,
  type PostgresSourceConfig,
} from '../config/sources.js';
import {
  isNumericType,
  refusedSql,
  roleProblem,
  ROLE_CHECK_SQL,
  typeName,
  type RoleCheckRow,
} from '../config/postgres-guard.js';
import { summarize, within, type Series } from '../metrics/series.js';
import { sleep } from './stats.js';
import { Sampler } from './sampler.js';
import {
  cleanStatement,
  DEALLOC_SQL,
  INDEXES_SQL,
  lockWaits,
  lockWaitsSql,
  MARK,
  snapshotSql,
  statementsByTotal,
  statementTexts,
  tableScans,
  tableSnapshot,
  TABLES_SQL,
  type LockSample,
  type Snapshot,
  type TableSnapshot,
} from './postgres-activity.js';

export { cleanStatement } from './postgres-activity.js';
import {
  unavailable,
  type LoadPlan,
  type MetricDescriptor,
  type Source,
  type SourceResult,
  type TimeWindow,
} from './types.js';

/** Calls a statement needs in each third for its slowdown to count. */
const MIN_SLOWDOWN_CALLS = 10;
import type { Logger } from '../log.js';
import { Redactor } from '../secrets.js';
import { messageOf } from '../errors.js';

/** The application_name of the sessions `queries:` run on (one per batch): left out of the connection counts. */
const QUERIES_APP = 'perf-gate queries';

// Client connections grouped by state and wait event, with the age of the oldest open transaction in each group.
const activitySql = (where: string): string =>
  `SELECT coalesce(state, 'unknown') AS state, coalesce(wait_event_type, '') AS wait, count(*)::int AS n, ` +
  `coalesce(max(extract(epoch FROM clock_timestamp() - xact_start) * 1000), 0)::float8 AS xact_ms ` +
  `FROM pg_stat_activity WHERE ${where}pid <> pg_backend_pid() AND coalesce(application_name, '') <> '${QUERIES_APP}' GROUP BY 1, 2 ${MARK}`;
const ACTIVITY_SQL = activitySql(`backend_type = 'client backend' AND `);
// PostgreSQL < 10 has no backend_type; background processes then show with an empty query and are left out that way.
const ACTIVITY_SQL_OLD = activitySql('');

/** One pg_stat_activity sample. */
interface ActivitySample {
  t: number;
  total: number;
  byState: Record<string, number>;
  byWait: Record<string, number>;
  lockWaits: number;
  longestXactMs: number;
}

/**
 * What a query of one's own returned, or why it is not one number. The value itself never goes into a message: a
 * query can read any table the role may read, and a message reaches the log, the report and the PR comment.
 */
export function oneNumber(name: string, rows: unknown[][], fields: ReadonlyArray<{ dataTypeID: number }>): number {
  if (rows.length !== 1) return fail(`returned ${rows.length} rows`);
  if (fields.length !== 1) return fail(`returned ${fields.length} columns`);
  const type = fields[0]!.dataTypeID;
  const v = rows[0]![0];
  if (v === null || v === undefined) return fail('returned NULL');
  if (!isNumericType(type))
    return fail(`returned a value of type ${typeName(type)}, not a number (cast it, e.g. ::numeric, if it holds one)`);
  // count(*) and numeric come back as text (bigint and numeric exceed a JavaScript number in general).
  const n =
    typeof v === 'number' ? v : typeof v === 'string' && /^\s*-?\d+(\.\d+)?(e[+-]?\d+)?\s*$/i.test(v) ? Number(v) : NaN;
  if (!Number.isFinite(n)) return fail(`returned a ${typeName(type)} that is not a finite number (NaN or Infinity)`);
  return n;

  function fail(what: string): never {
    throw new Error(`query "${name}" ${what}; it must return one row with one number`);
  }
}

/** The highest $n a statement uses: parameters are passed only up to it (an unused $1 has no type PostgreSQL can infer). */
export function parameterCount(sql: string): number {
  let max = 0;
  for (const m of sql.matchAll(/\$(\d+)\b/g)) max = Math.max(max, Number(m[1]));
  return max;
}

export interface PostgresDeps {
  loadPg?: () => Promise<typeof import('pg')>;
  env?: NodeJS.ProcessEnv;
}

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

export class PostgresSource implements Source {
  readonly kind = 'postgres' as const;
  readonly label: string;
  readonly metrics: MetricDescriptor[];
  readonly collectTimeoutMs: number;
  private readonly redactor = new Redactor();
  private readonly env: NodeJS.ProcessEnv;
  private client?: Client;
  private connecting?: Promise<Client>;
  private connectionConfig?: ClientConfig;
  private configError?: string;
  private startError?: string;
  private maxConnections?: number;
  private activitySql = ACTIVITY_SQL;
  private totalColumn = 'total_exec_time';
  private startSnapshot?: Snapshot;
  private startTables?: TableSnapshot;
  private startDealloc?: number;
  private lockSamples: LockSample[] = [];
  private lockSqlWithQueryId = true;
  private readonly activityNotes: string[] = [];
  private readonly samples: Series = [];
  private readonly activity: ActivitySample[] = [];
  private readonly activityNames: ReturnType<typeof postgresActivityNames>;
  /** Interval queries: their samples, failures and last error, by name. */
  private readonly custom = new Map<string, { series: Series; failures: number; lastError?: string }>();
  /** $1 of interval queries: when sampling began (the run starts right after). */
  private samplingStart = new Date();
  private sampleFailures = 0;
  /** Set when the role may not run `queries:` (see checkRole): every query is then unavailable with this reason. */
  private queriesRefused?: string;
  private roleChecked = false;
  private lastSampleError?: string;
  private readonly sampler: Sampler;
  private readonly notes: string[] = [];
  private readonly slowdownName: string | undefined;
  /** pg_stat_statements at the start and end of the steady part's first and last thirds (statement-slowdown). */
  private readonly thirds: Array<Snapshot | undefined> = [];
  private readonly thirdTimers: NodeJS.Timeout[] = [];
  private thirdsPlan?: string;
  /** Values of the `start` and `change` queries before the load, or why they failed. */
  private readonly before = new Map<string, number | string>();
  private stopped = false;

  constructor(
    private readonly cfg: PostgresSourceConfig,
    private readonly log: Logger,
    private readonly deps: PostgresDeps = {},
  ) {
    this.sampler = new Sampler(cfg.intervalMs, () => this.sample());
    this.env = deps.env ?? process.env;
    this.redactor.add(this.env.PGPASSWORD);
    let where = 'libpq environment (PGHOST, ...)';
    try {
      this.connectionConfig = this.resolveConnection();
      const c = this.connectionConfig;
      if (c.connectionString) where = this.redactor.redact(describeUrl(c.connectionString));
      else if (c.host || c.database)
        where = `${c.user ? `${c.user}@` : ''}${c.host ?? 'localhost'}:${c.port ?? 5432}/${c.database ?? ''}`;
    } catch (e) {
      this.configError = this.redactor.error(e);
    }
    this.label = `postgres ${where}`;
    this.metrics = [
      {
        name: cfg.name,
        unit: 'count',
        query: `client connections in pg_stat_activity every ${cfg.intervalMs} ms, against max_connections (${where})`,
      },
    ];
    this.activityNames = postgresActivityNames(cfg);
    const a = this.activityNames;
    if (a) {
      const every = `every ${cfg.intervalMs} ms`;
      this.metrics.push(
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
        this.metrics.push({
          name: a.statementRows,
          unit: 'count',
          query: 'rows returned or affected during the run, pg_stat_statements (end - start)',
        });
      if (a.sharedBlksHit)
        this.metrics.push({
          name: a.sharedBlksHit,
          unit: 'count',
          query: 'shared buffer hits during the run, pg_stat_statements (end - start)',
        });
    }
    this.slowdownName = postgresSlowdownName(cfg);
    if (this.slowdownName) {
      this.metrics.push({
        name: this.slowdownName,
        unit: 'count',
        query:
          "largest ratio of a statement's mean time, last third of the steady part ÷ first third (pg_stat_statements)",
      });
    }
    for (const q of cfg.queries) {
      const when = {
        end: 'once after the run',
        interval: every(cfg.intervalMs),
        start: 'once before the load',
        change: 'before and after the run: after − before',
      }[q.at];
      this.metrics.push({ name: q.name, unit: q.unit, query: `${oneLine(q.sql)} (${when})` });
      if (q.at === 'interval') this.custom.set(q.name, { series: [], failures: 0 });
    }
    const endQueries = cfg.queries.filter((q) => q.at === 'end' || q.at === 'change').length;
    // The end queries get a session of their own: one more connect.
    this.collectTimeoutMs = 2 * cfg.connectTimeoutMs + (3 + endQueries) * (cfg.statementTimeoutMs + 1000) + 5000;
  }

  private resolveConnection(): ClientConfig {
    const { cfg, env } = this;
    let connectionString: string | undefined;
    if (cfg.urlEnv) {
      connectionString = env[cfg.urlEnv];
      if (!connectionString) throw new Error(`environment variable ${cfg.urlEnv} (url-env) is not set`);
    } else connectionString = cfg.url;
    if (connectionString) {
      this.redactor.add(connectionString);
      try {
        const u = new URL(connectionString);
        if (u.password) this.redactor.add(decodeURIComponent(u.password)).add(u.password);
      } catch {
        // Not URL-shaped (a libpq key=value string): the pattern rules cover `password=`.
      }
    }
    let password: string | undefined;
    if (cfg.passwordEnv) {
      password = env[cfg.passwordEnv];
      if (password === undefined) throw new Error(`environment variable ${cfg.passwordEnv} (password-env) is not set`);
      this.redactor.add(password);
    }
    const out: ClientConfig = {
      application_name: 'perf-gate',
      connectionTimeoutMillis: cfg.connectTimeoutMs,
      // Client-side guard in case the server ignores statement_timeout (a pooler in between).
      query_timeout: cfg.statementTimeoutMs + 1000,
    };
    if (connectionString) out.connectionString = connectionString;
    if (cfg.host) out.host = cfg.host;
    if (cfg.port) out.port = cfg.port;
    if (cfg.user) out.user = cfg.user;
    if (cfg.database) out.database = cfg.database;
    if (password !== undefined) out.password = password;
    return out;
  }

  private async connect(): Promise<Client> {
    if (this.client) return this.client;
    if (this.stopped) throw new Error('the PostgreSQL source was stopped');
    this.connecting ??= (async () => {
      const pg = await (this.deps.loadPg ?? (() => import('pg')))();
      const client = new pg.Client(this.connectionConfig);
      // Without a listener a dropped connection is an uncaught 'error' event: it would kill the load test.
      client.on('error', (e) => {
        this.lastSampleError = this.redactor.error(e);
        if (this.client === client) this.client = undefined;
      });
      try {
        await client.connect();
        // SET rather than startup parameters: poolers such as PgBouncer reject unknown startup parameters.
        await client.query(`SET statement_timeout = ${Math.round(this.cfg.statementTimeoutMs)} ${MARK}`);
        await client.query(`SET default_transaction_read_only = on ${MARK}`);
      } catch (e) {
        await client.end().catch(() => undefined);
        throw e;
      }
      if (this.stopped) {
        // stop() ran while this connection was being opened: it must not outlive the source.
        await client.end().catch(() => undefined);
        throw new Error('the PostgreSQL source was stopped');
      }
      this.client = client;
      return client;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  async start(): Promise<void> {
    if (this.configError) return;
    try {
      const client = await this.connect();
      const mc = await client.query<{ max: number }>(`SELECT current_setting('max_connections')::int AS max ${MARK}`);
      this.maxConnections = mc.rows[0]?.max;
      this.metrics[0]!.limit = this.maxConnections;
      if (this.cfg.slowQueries) this.startSnapshot = await this.snapshot(client, 'start');
      if (this.cfg.activity) {
        this.startTables = await this.tables(client);
        if (this.startSnapshot) this.startDealloc = await this.dealloc(client);
      }
      if (this.cfg.queries.length > 0) await this.checkRole(client);
    } catch (e) {
      const msg = this.redactor.error(e);
      this.startError = /timeout/i.test(msg)
        ? `cannot connect: ${msg} (connect-timeout ${this.cfg.connectTimeoutMs} ms)`
        : `cannot connect: ${msg}`;
      this.log.warning(`${this.label}: ${this.startError}`);
      return;
    }
    this.samplingStart = new Date();
    this.sampler.start({ now: true });
  }

  /**
   * Before any query of one's own runs: a role that could do harm (a superuser, a member of pg_execute_server_program,
   * pg_write_server_files or pg_signal_backend) is refused, naming it and the grant to remove; its queries are then
   * unavailable with that message, and nothing of them is sent.
   */
  private async checkRole(client: Client): Promise<void> {
    this.roleChecked = true;
    try {
      const res = await client.query<RoleCheckRow>(`${ROLE_CHECK_SQL} ${MARK}`);
      const row = res.rows[0];
      this.queriesRefused = row ? roleProblem(row) : 'the role could not be checked (no row)';
    } catch (e) {
      this.queriesRefused = `the role could not be checked before running queries (${this.redactor.error(e)}), so none is run`;
    }
    if (this.queriesRefused) this.log.warning(`${this.label}: ${this.queriesRefused}`);
  }

  /**
   * Run a batch of queries of one's own on a session of its own, closed afterwards whatever happened: a lock or a
   * setting a query took cannot outlive the batch, and the sampling session never runs a statement of the config's.
   */
  private async runBatch(
    queries: PostgresQueryConfig[],
    window: [Date, Date],
    each: (q: PostgresQueryConfig, v: number | Error) => void,
  ): Promise<void> {
    if (queries.length === 0) return;
    if (this.queriesRefused) {
      for (const q of queries) each(q, new Error(this.queriesRefused));
      return;
    }
    let client: Client | undefined;
    try {
      const pg = await (this.deps.loadPg ?? (() => import('pg')))();
      client = new pg.Client({ ...this.connectionConfig, application_name: QUERIES_APP });
      client.on('error', () => undefined);
      await client.connect();
      await client.query(`SET statement_timeout = ${Math.round(this.cfg.statementTimeoutMs)} ${MARK}`);
      await client.query(`SET default_transaction_read_only = on ${MARK}`);
      // Whoever runs first (start() or a batch before it), the role is checked before any query is sent.
      if (!this.roleChecked) await this.checkRole(client);
    } catch (e) {
      await client?.end().catch(() => undefined);
      for (const q of queries) each(q, e as Error);
      return;
    }
    if (this.queriesRefused) {
      await client.end().catch(() => undefined);
      for (const q of queries) each(q, new Error(this.queriesRefused));
      return;
    }
    try {
      for (const q of queries) {
        try {
          each(q, await this.runQuery(client, q, window));
        } catch (e) {
          each(q, e as Error);
        }
      }
    } finally {
      await Promise.race([client.end().catch(() => undefined), sleep(2000)]);
    }
  }

  /** The database baseline, after the checks and the smoke pass and before the load's first request: $1 = $2 = now. */
  async beforeLoad(plan: LoadPlan = {}): Promise<void> {
    if (this.configError || this.startError) return;
    if (this.slowdownName) this.planThirds(plan);
    const queries = this.cfg.queries.filter((q) => q.at === 'start' || q.at === 'change');
    if (queries.length === 0) return;
    const now = new Date();
    await this.runBatch(queries, [now, now], (q, v) =>
      this.before.set(q.name, typeof v === 'number' ? v : this.queryError(q, v)),
    );
  }

  /** Snapshots at both ends of the first and the last third of the steady part; unref'd, so they hold nothing up. */
  private planThirds(plan: LoadPlan): void {
    const steady = plan.steady;
    if (!steady || steady.endMs - steady.startMs < 3000) {
      this.thirdsPlan = steady ? 'the steady part is shorter than 3 s' : 'the phase has no constant-rate stage';
      return;
    }
    const third = (steady.endMs - steady.startMs) / 3;
    const at = [steady.startMs, steady.startMs + third, steady.endMs - third, steady.endMs];
    at.forEach((ms, i) => {
      const timer = setTimeout(() => {
        if (this.stopped) return;
        this.connect()
          .then((c) => this.snapshot(c, 'mid'))
          .then((snap) => (this.thirds[i] = snap))
          .catch(() => undefined);
      }, ms);
      timer.unref();
      this.thirdTimers.push(timer);
    });
  }

  /** The statement whose mean time grew most from the first third of the steady part to the last. */
  private slowdown(): InfraMetric {
    const d = this.metrics.find((x) => x.name === this.slowdownName)!;
    const [a, b, c, e] = [0, 1, 2, 3].map((i) => this.thirds[i]);
    if (!a || !b || !c || !e) {
      return unavailable(
        'postgres',
        d,
        this.thirdsPlan ??
          'pg_stat_statements was not read at both ends of the first and last thirds of the steady part (a run stopped early, or the snapshots failed)',
      );
    }
    const per = (from: Snapshot, to: Snapshot, key: string): { calls: number; mean: number } | undefined => {
      const x = to.get(key);
      const y = from.get(key);
      if (!x) return undefined;
      const calls = x.calls - (y && y.calls <= x.calls ? y.calls : 0);
      const total = x.total - (y && y.calls <= x.calls ? y.total : 0);
      return calls > 0 ? { calls, mean: total / calls } : undefined;
    };
    let worst: { ratio: number; query: string; first: number; last: number } | undefined;
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
    if (!worst)
      return unavailable(
        'postgres',
        d,
        `no statement had ${MIN_SLOWDOWN_CALLS} or more calls in both the first and the last third of the steady part`,
      );
    const v = worst.ratio;
    this.notes.push(
      `postgres: largest statement slowdown over the steady part ×${v.toFixed(2)} (mean ${worst.first.toFixed(2)} ms in the first third, ${worst.last.toFixed(2)} ms in the last): ${oneLine(worst.query).slice(0, 200)}`,
    );
    return {
      name: d.name,
      source: 'postgres',
      query: `${d.query}; worst: ${oneLine(worst.query).slice(0, 200)}`,
      unit: 'count',
      stats: { min: v, mean: v, p95: v, max: v, last: v },
    };
  }

  async ready(): Promise<string | undefined> {
    if (this.configError) return this.configError;
    if (this.startError) return this.startError;
    try {
      const client = await this.connect();
      await client.query(`SELECT 1 ${MARK}`);
      return undefined;
    } catch (e) {
      return `SELECT 1 failed: ${this.redactor.error(e)}`;
    }
  }

  private async sample(): Promise<void> {
    let client: Client;
    try {
      client = await this.connect();
      type Row = { state: string; wait: string; n: number; xact_ms: number };
      let res;
      try {
        res = await client.query<Row>(this.activitySql);
      } catch (e) {
        if (this.activitySql === ACTIVITY_SQL && /backend_type/.test(messageOf(e))) {
          this.activitySql = ACTIVITY_SQL_OLD;
          res = await client.query<Row>(this.activitySql);
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
      this.samples.push([t, a.total]);
      this.activity.push(a);
      if (a.lockWaits > 0 && this.cfg.activity) await this.sampleLocks(client, t);
    } catch (e) {
      this.sampleFailures++;
      this.lastSampleError = this.redactor.error(e);
      return;
    }
    if (!this.sampler.running) return;
    await this.runBatch(
      this.cfg.queries.filter((q) => q.at === 'interval'),
      [this.samplingStart, new Date()],
      (q, v) => {
        const c = this.custom.get(q.name)!;
        if (typeof v === 'number') c.series.push([Date.now(), v]);
        else {
          c.failures++;
          c.lastError = this.queryError(q, v);
        }
      },
    );
  }

  /**
   * A query of one's own, in a transaction of its own that is read-only whatever the session says, sent with the
   * extended protocol (one statement: no `SET ...; INSERT` smuggled in) and rolled back. Throws unless one number.
   */
  private async runQuery(client: Client, q: PostgresQueryConfig, window: [Date, Date]): Promise<number> {
    // Refused when the config was read already; checked again here, where the statement would be sent.
    const refused = refusedSql(q.sql);
    if (refused) throw new Error(`query "${q.name}" ${refused}`);
    await client.query(`BEGIN TRANSACTION READ ONLY ${MARK}`);
    try {
      const config = {
        text: `${q.sql.replace(/;\s*$/, '')}\n${MARK}`,
        values: window.slice(0, parameterCount(q.sql)).map((d) => d.toISOString()),
        rowMode: 'array' as const,
        queryMode: 'extended',
      };
      const res = await client.query<unknown[]>(config);
      return oneNumber(q.name, res.rows, res.fields);
    } finally {
      await client.query(`ROLLBACK ${MARK}`).catch(() => undefined);
    }
  }

  private queryError(q: PostgresQueryConfig, e: unknown): string {
    const msg = this.redactor.error(e);
    if (msg.startsWith(`query "${q.name}"`)) return msg;
    const hint = /statement timeout/i.test(msg)
      ? ` (statement-timeout ${this.cfg.statementTimeoutMs} ms)`
      : /read-only transaction/i.test(msg)
        ? ' (queries are read-only)'
        : '';
    return `query "${q.name}" failed: ${msg}${hint}`;
  }

  /** Who waits on a lock, on what: only when the sample just taken saw a lock wait. A failure is a note, once. */
  private async sampleLocks(client: Client, t: number): Promise<void> {
    try {
      let res;
      try {
        res = await client.query<LockSample['rows'][number]>(lockWaitsSql(this.lockSqlWithQueryId));
      } catch (e) {
        // query_id is PostgreSQL 14+.
        if (!this.lockSqlWithQueryId || !/query_id/.test(messageOf(e))) throw e;
        this.lockSqlWithQueryId = false;
        res = await client.query<LockSample['rows'][number]>(lockWaitsSql(false));
      }
      this.lockSamples.push({ t, rows: res.rows.map((r) => ({ ...r, query: this.redactor.redact(r.query ?? '') })) });
    } catch (e) {
      const note = `postgres: lock waits not broken down by statement: ${this.redactor.error(e)}`;
      if (!this.activityNotes.includes(note)) this.activityNotes.push(note);
    }
  }

  /** Scans per table and index of the source's database; undefined (with a note) when they cannot be read. */
  private async tables(client: Client): Promise<TableSnapshot | undefined> {
    try {
      const t = await client.query<{ t: string; seq: number; seq_rows: number; idx: number; live: number }>(TABLES_SQL);
      const i = await client.query<{ t: string; i: string; idx: number }>(INDEXES_SQL);
      return tableSnapshot(t.rows, i.rows);
    } catch (e) {
      this.activityNotes.push(
        `postgres: table scans not reported: pg_stat_user_tables could not be read (${this.redactor.error(e)})`,
      );
      return undefined;
    }
  }

  /** pg_stat_statements_info.dealloc (PostgreSQL 14+); undefined where there is none. */
  private async dealloc(client: Client): Promise<number | undefined> {
    try {
      const r = await client.query<{ dealloc: number }>(DEALLOC_SQL);
      const v = Number(r.rows[0]?.dealloc);
      return Number.isFinite(v) ? v : undefined;
    } catch {
      return undefined;
    }
  }

  private async snapshot(client: Client, when: 'start' | 'end' | 'mid'): Promise<Snapshot | undefined> {
    try {
      const ext = await client.query<{ installed: boolean }>(
        `SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements') AS installed ${MARK}`,
      );
      if (!ext.rows[0]?.installed) {
        if (when === 'start') {
          this.notes.push(
            'postgres: pg_stat_statements is not installed in this database, so slow queries are not reported ' +
              '(CREATE EXTENSION pg_stat_statements, with pg_stat_statements in shared_preload_libraries)',
          );
        }
        return undefined;
      }
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
    } catch (e) {
      if (when !== 'mid')
        this.notes.push(
          `postgres: slow queries not reported: pg_stat_statements could not be read (${this.redactor.error(e)})`,
        );
      return undefined;
    }
  }

  async collect(window: TimeWindow, signal?: AbortSignal): Promise<SourceResult> {
    await this.stopSampling();
    const desc = this.metrics[0]!;
    const reason = this.configError ?? this.startError;
    if (reason) return { infra: this.metrics.map((d) => unavailable('postgres', d, reason)), notes: [...this.notes] };

    const startMs = window.start.getTime();
    const durationMs = window.end.getTime() - startMs;
    // A run shorter than the sampling interval has no sample inside it: the samples just around it are the best
    // there is. Samples far from the window (a window read from an old results file) say nothing about it.
    const inRun = (series: Series): Series => {
      const inside = within(series, 0, durationMs);
      return inside.length ? inside : within(series, -this.cfg.intervalMs, durationMs + this.cfg.intervalMs);
    };
    const series: Series = this.samples.map(([t, v]) => [t - startMs, v]);
    const inWindow = inRun(series);
    const metric: InfraMetric = {
      name: desc.name,
      source: 'postgres',
      query: desc.query,
      unit: 'count',
      stats: summarize(inWindow),
      series,
    };
    if (this.maxConnections !== undefined) metric.limit = this.maxConnections;
    if (series.length === 0)
      metric.unavailable = `no connection sample succeeded${this.lastSampleError ? `: ${this.lastSampleError}` : ''}`;
    else if (inWindow.length === 0) {
      metric.stats = {};
      metric.unavailable =
        'no connection sample during the run window (connections are sampled only while perf-gate runs the load)';
    } else if (this.sampleFailures > 0) {
      this.notes.push(
        `postgres: ${this.sampleFailures} of ${this.sampleFailures + series.length} connection samples failed` +
          (this.lastSampleError ? ` (${this.lastSampleError})` : ''),
      );
    }

    const infra: InfraMetric[] = [metric];
    const sampled = (d: MetricDescriptor, values: Series, why: () => string | undefined): InfraMetric => {
      const shifted: Series = values.map(([t, v]) => [t - startMs, v]);
      const inside = inRun(shifted);
      const m: InfraMetric = {
        name: d.name,
        source: 'postgres',
        query: d.query,
        unit: d.unit,
        stats: summarize(inside),
        series: shifted,
      };
      if (inside.length === 0) {
        m.stats = {};
        m.unavailable = why() ?? 'no sample during the run window';
      }
      return m;
    };
    const a = this.activityNames;
    if (a) {
      const pick = (f: (s: ActivitySample) => number): Series => this.activity.map((s) => [s.t, f(s)]);
      const why = (): string | undefined => metric.unavailable;
      const d = (name: string): MetricDescriptor => this.metrics.find((x) => x.name === name)!;
      infra.push(
        sampled(
          d(a.active),
          pick((s) => s.byState.active ?? 0),
          why,
        ),
        sampled(
          d(a.idleInTransaction),
          pick((s) => (s.byState['idle in transaction'] ?? 0) + (s.byState['idle in transaction (aborted)'] ?? 0)),
          why,
        ),
        sampled(
          d(a.lockWaits),
          pick((s) => s.lockWaits),
          why,
        ),
        sampled(
          d(a.longestTransaction),
          pick((s) => s.longestXactMs),
          why,
        ),
      );
      const busiest = this.activity
        .filter((s) => s.t >= startMs - this.cfg.intervalMs && s.t <= startMs + durationMs + this.cfg.intervalMs)
        .reduce<ActivitySample | undefined>((best, s) => (!best || busyness(s) > busyness(best) ? s : best), undefined);
      if (busiest)
        this.notes.push(
          `postgres: busiest sample, ${busiest.total} connection(s) at ${((busiest.t - startMs) / 1000).toFixed(1)} s: ${describeSample(busiest)}`,
        );
    }
    for (const q of this.cfg.queries) {
      if (q.at !== 'interval') continue;
      const c = this.custom.get(q.name)!;
      const m = sampled(
        this.metrics.find((x) => x.name === q.name)!,
        c.series,
        () => c.lastError ?? metric.unavailable,
      );
      if (!m.unavailable && c.failures > 0)
        this.notes.push(
          `postgres: ${c.failures} of ${c.failures + c.series.length} samples of query "${q.name}" failed (${c.lastError})`,
        );
      infra.push(m);
    }
    // Table scans are read before the queries run at the end, which would add scans of their own.
    let endTables: TableSnapshot | undefined;
    if (this.startTables && !signal?.aborted) {
      const client = await this.connect().catch(() => undefined);
      if (client) endTables = await this.tables(client);
    }
    // After the run: the engine has returned, so the requests it sent have been answered (or given up on).
    const endQueries = this.cfg.queries.filter((q) => q.at === 'end');
    const pushEnd = (q: PostgresQueryConfig, v: number | Error): void => {
      const d = this.metrics.find((x) => x.name === q.name)!;
      if (typeof v === 'number')
        infra.push({
          name: d.name,
          source: 'postgres',
          query: d.query,
          unit: d.unit,
          stats: { min: v, mean: v, p95: v, max: v, last: v },
          series: [[durationMs, v]],
        });
      else infra.push(unavailable('postgres', d, this.queryError(q, v)));
    };
    if (signal?.aborted) for (const q of endQueries) pushEnd(q, new Error('no time left to run it'));
    else await this.runBatch(endQueries, [window.start, window.end], pushEnd);

    // The baseline: connections at the first and last sample, and the queries run before the load (and after it).
    const baseline: BaselineRow[] = [];
    if (series.length > 0) {
      const before = series[0]![1];
      const after = series.at(-1)![1];
      baseline.push({ name: desc.name, before, after, change: after - before });
    }
    // The `change` queries' second reading, in one batch on a session of its own like every query of one's own.
    const afterValues = new Map<string, number | Error>();
    const changeQueries = this.cfg.queries.filter(
      (q) => q.at === 'change' && typeof this.before.get(q.name) === 'number',
    );
    if (signal?.aborted) for (const q of changeQueries) afterValues.set(q.name, new Error('no time left to run it'));
    else await this.runBatch(changeQueries, [window.start, window.end], (q, v) => afterValues.set(q.name, v));
    for (const q of this.cfg.queries) {
      if (q.at !== 'start' && q.at !== 'change') continue;
      const d = this.metrics.find((x) => x.name === q.name)!;
      const before = this.before.get(q.name);
      if (typeof before !== 'number') {
        const why = before ?? 'it did not run before the load';
        infra.push(unavailable('postgres', d, why));
        baseline.push({ name: q.name, unavailable: why });
        continue;
      }
      if (q.at === 'start') {
        infra.push({
          name: d.name,
          source: 'postgres',
          query: d.query,
          unit: d.unit,
          stats: { min: before, mean: before, p95: before, max: before, last: before },
          series: [[0, before]],
        });
        baseline.push({ name: q.name, before });
        continue;
      }
      try {
        const after = afterValues.get(q.name) ?? new Error('it did not run after the load');
        if (after instanceof Error) throw after;
        const v = after - before;
        infra.push({
          name: d.name,
          source: 'postgres',
          query: d.query,
          unit: d.unit,
          stats: { min: v, mean: v, p95: v, max: v, last: v },
          series: [[durationMs, v]],
        });
        baseline.push({ name: q.name, before, after, change: v });
      } catch (e) {
        const why = this.queryError(q, e);
        infra.push(unavailable('postgres', d, why));
        baseline.push({ name: q.name, before, unavailable: why });
      }
    }

    for (const t of this.thirdTimers) clearTimeout(t);
    if (this.slowdownName) infra.push(this.slowdown());

    let slowQueries: SlowQuery[] | undefined;
    let endSnapshot: Snapshot | undefined;
    let totals: { rows: number; hit: number } | undefined;
    let totalsMissing = 'pg_stat_statements could not be read (see the notes)';
    if (this.startSnapshot && !signal?.aborted) {
      try {
        const end = await this.snapshot(await this.connect(), 'end');
        endSnapshot = end;
        if (end) {
          slowQueries = diffStatements(this.startSnapshot, end, this.cfg.top);
          totals = diffTotals(this.startSnapshot, end);
        }
      } catch (e) {
        this.notes.push(`postgres: slow queries not reported: ${this.redactor.error(e)}`);
      }
    } else if (this.cfg.slowQueries && !this.startSnapshot) {
      totalsMissing = 'pg_stat_statements is not available in this database';
    }
    if (a?.statementRows && a.sharedBlksHit) {
      for (const [name, v] of [
        [a.statementRows, totals?.rows],
        [a.sharedBlksHit, totals?.hit],
      ] as const) {
        const d = this.metrics.find((x) => x.name === name)!;
        infra.push(
          v === undefined
            ? unavailable('postgres', d, totalsMissing)
            : {
                name,
                source: 'postgres',
                query: d.query,
                unit: d.unit,
                stats: { min: v, mean: v, p95: v, max: v, last: v },
                series: [[durationMs, v]],
              },
        );
      }
    }
    const database = this.cfg.activity
      ? await this.databaseActivity(startMs, endSnapshot, endTables, signal)
      : undefined;
    await this.stop();
    const out: SourceResult = { infra, notes: [...this.notes] };
    if (slowQueries) out.slowQueries = slowQueries;
    if (baseline.length > 0 && this.cfg.queries.some((q) => q.at === 'start' || q.at === 'change'))
      out.baseline = baseline;
    if (database) out.database = [database];
    return out;
  }

  /** Statements by total time, evictions, table scans and lock waits during the run (src/sources/postgres-activity.ts). */
  private async databaseActivity(
    startMs: number,
    end: Snapshot | undefined,
    endTables: TableSnapshot | undefined,
    signal?: AbortSignal,
  ): Promise<DatabaseActivity> {
    const out: DatabaseActivity = { source: this.cfg.name };
    if (this.startSnapshot && end) {
      const s = statementsByTotal(this.startSnapshot, end, Math.max(this.cfg.top, 10));
      out.totalMs = s.totalMs;
      out.statements = s.statements;
      out.statementCount = s.count;
      if (this.startDealloc !== undefined && !signal?.aborted) {
        const after = await this.connect()
          .then((c) => this.dealloc(c))
          .catch(() => undefined);
        if (after !== undefined) out.dealloc = Math.max(0, after - this.startDealloc);
      }
    }
    if (this.startTables && endTables) out.tables = tableScans(this.startTables, endTables);
    const waits = lockWaits(
      this.lockSamples.filter((x) => x.t >= startMs - this.cfg.intervalMs),
      startMs,
      statementTexts(end ?? this.startSnapshot),
    );
    if (waits.length) out.lockWaits = waits;
    const notes = [...this.activityNotes];
    if (notes.length) out.notes = notes;
    return out;
  }

  private async stopSampling(): Promise<void> {
    // A sample in progress is bounded by query_timeout; waiting for it keeps the series complete.
    await this.sampler.stop(this.cfg.statementTimeoutMs + 1500);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.thirdTimers) clearTimeout(t);
    this.sampler.halt();
    const client = this.client ?? (this.connecting ? await this.connecting.catch(() => undefined) : undefined);
    this.client = undefined;
    if (client) await Promise.race([client.end().catch(() => undefined), sleep(2000)]);
  }
}

/** Connections doing something (not idle), then connections at all: an idle pool is not the busiest moment. */
function busyness(s: ActivitySample): number {
  return (s.total - (s.byState.idle ?? 0)) * 1e6 + s.total;
}

function describeSample(s: ActivitySample): string {
  const list = (r: Record<string, number>): string =>
    Object.entries(r)
      .sort((x, y) => y[1] - x[1])
      .map(([k, n]) => `${k} ${n}`)
      .join(', ');
  const waits = list(s.byWait);
  return `by state ${list(s.byState) || 'none'}; by wait event type ${waits || 'none'}; ${s.lockWaits} waiting on a lock; oldest transaction ${Math.round(s.longestXactMs)} ms`;
}

const every = (ms: number): string => `every ${ms} ms`;

function oneLine(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 197)}...` : flat;
}

function describeUrl(text: string): string {
  try {
    const u = new URL(text);
    return `${u.username ? `${decodeURIComponent(u.username)}@` : ''}${u.host}${u.pathname}`;
  } catch {
    return 'connection string';
  }
}

export function createPostgresSource(cfg: PostgresSourceConfig, log: Logger, deps?: PostgresDeps): Source {
  return new PostgresSource(cfg, log, deps);
}
