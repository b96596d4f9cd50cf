// PostgreSQL watched during the run: connections sampled from pg_stat_activity against max_connections (and by
// state and wait event, lock waits, the longest open transaction), the statements that were slow during the run
// from two pg_stat_statements snapshots (start and end), and queries of one's own (`queries:`, one number each,
// sampled or run once after the run). One read-only session with a short statement_timeout; samples never overlap,
// a failed sample is counted, not thrown, and the timers are unref'd, so the sampler can neither block nor crash
// the load test. `pg` is imported only when used. This file is the source's lifecycle (connect, start, sample,
// collect, stop); its parts live beside it: postgres-connection.ts (where and how a session connects),
// postgres-sampling.ts (one pg_stat_activity sample), postgres-statements.ts (pg_stat_statements read and
// compared), postgres-queries.ts (queries of one's own and their guards), postgres-metrics.ts (what it reports),
// postgres-activity.ts (the database's work for the "Why" block).
import type { Client, ClientConfig } from 'pg';
import type { BaselineRow, DatabaseActivity, InfraMetric, SlowQuery } from '../model.js';
import {
  postgresActivityNames,
  postgresSlowdownName,
  type PostgresQueryConfig,
  type PostgresSourceConfig,
} from '../config/sources.js';
import { summarize, within, type Series } from '../metrics/series.js';
import type { Logger } from '../log.js';
import { Redactor } from '../secrets.js';
import { sleep } from './stats.js';
import { Sampler } from './sampler.js';
import {
  DEALLOC_SQL,
  INDEXES_SQL,
  lockWaits,
  lockWaitsSql,
  MARK,
  statementsByTotal,
  statementTexts,
  tableScans,
  tableSnapshot,
  TABLES_SQL,
  type LockSample,
  type Snapshot,
  type TableSnapshot,
} from './postgres-activity.js';
import { configureSession, describeConnection, resolveConnection } from './postgres-connection.js';
import { QueryRunner } from './postgres-queries.js';
import { describeMetrics, reading } from './postgres-metrics.js';
import { messageOf } from '../errors.js';
import { ActivityReader, busiest, describeSample, type ActivitySample } from './postgres-sampling.js';
import { diffStatements, diffTotals, slowdownMetric, StatementReader } from './postgres-statements.js';
import {
  unavailable,
  type LoadPlan,
  type MetricDescriptor,
  type Source,
  type SourceResult,
  type TimeWindow,
} from './types.js';

export interface PostgresDeps {
  loadPg?: () => Promise<typeof import('pg')>;
  env?: NodeJS.ProcessEnv;
}

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
  private readonly activityReader = new ActivityReader();
  private readonly statementReader = new StatementReader();
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
  /** Runs `queries:`, each batch on a session of its own, after checking the role. */
  private readonly queries: QueryRunner;
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
      this.connectionConfig = resolveConnection(cfg, this.env, this.redactor);
      where = describeConnection(this.connectionConfig, this.redactor) ?? where;
    } catch (e) {
      this.configError = this.redactor.error(e);
    }
    this.label = `postgres ${where}`;
    this.queries = new QueryRunner({
      loadPg: deps.loadPg ?? (() => import('pg')),
      connectionConfig: this.connectionConfig,
      statementTimeoutMs: cfg.statementTimeoutMs,
      redactor: this.redactor,
      log,
      label: this.label,
    });
    this.activityNames = postgresActivityNames(cfg);
    this.slowdownName = postgresSlowdownName(cfg);
    this.metrics = describeMetrics(cfg, where);
    for (const q of cfg.queries) if (q.at === 'interval') this.custom.set(q.name, { series: [], failures: 0 });
    const endQueries = cfg.queries.filter((q) => q.at === 'end' || q.at === 'change').length;
    // The end queries get a session of their own: one more connect.
    this.collectTimeoutMs = 2 * cfg.connectTimeoutMs + (3 + endQueries) * (cfg.statementTimeoutMs + 1000) + 5000;
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
        await configureSession(client, this.cfg.statementTimeoutMs);
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
      if (this.cfg.queries.length > 0) await this.queries.checkRole(client);
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

  /** The database baseline, after the checks and the smoke pass and before the load's first request: $1 = $2 = now. */
  async beforeLoad(plan: LoadPlan = {}): Promise<void> {
    if (this.configError || this.startError) return;
    if (this.slowdownName) this.planThirds(plan);
    const queries = this.cfg.queries.filter((q) => q.at === 'start' || q.at === 'change');
    if (queries.length === 0) return;
    const now = new Date();
    await this.queries.runBatch(queries, [now, now], (q, v) =>
      this.before.set(q.name, typeof v === 'number' ? v : this.queries.queryError(q, v)),
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
    return slowdownMetric(d, this.thirds, this.thirdsPlan, this.notes);
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
      const a = await this.activityReader.read(client);
      const t = a.t;
      this.samples.push([t, a.total]);
      this.activity.push(a);
      if (a.lockWaits > 0 && this.cfg.activity) await this.sampleLocks(client, t);
    } catch (e) {
      this.sampleFailures++;
      this.lastSampleError = this.redactor.error(e);
      return;
    }
    if (!this.sampler.running) return;
    await this.queries.runBatch(
      this.cfg.queries.filter((q) => q.at === 'interval'),
      [this.samplingStart, new Date()],
      (q, v) => {
        const c = this.custom.get(q.name)!;
        if (typeof v === 'number') c.series.push([Date.now(), v]);
        else {
          c.failures++;
          c.lastError = this.queries.queryError(q, v);
        }
      },
    );
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
      if (!(await this.statementReader.installed(client))) {
        if (when === 'start') {
          this.notes.push(
            'postgres: pg_stat_statements is not installed in this database, so slow queries are not reported ' +
              '(CREATE EXTENSION pg_stat_statements, with pg_stat_statements in shared_preload_libraries)',
          );
        }
        return undefined;
      }
      return await this.statementReader.read(client);
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
      const top = busiest(
        this.activity.filter(
          (s) => s.t >= startMs - this.cfg.intervalMs && s.t <= startMs + durationMs + this.cfg.intervalMs,
        ),
      );
      if (top)
        this.notes.push(
          `postgres: busiest sample, ${top.total} connection(s) at ${((top.t - startMs) / 1000).toFixed(1)} s: ${describeSample(top)}`,
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
      if (typeof v === 'number') infra.push(reading(d, v, durationMs));
      else infra.push(unavailable('postgres', d, this.queries.queryError(q, v)));
    };
    if (signal?.aborted) for (const q of endQueries) pushEnd(q, new Error('no time left to run it'));
    else await this.queries.runBatch(endQueries, [window.start, window.end], pushEnd);

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
    else await this.queries.runBatch(changeQueries, [window.start, window.end], (q, v) => afterValues.set(q.name, v));
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
        infra.push(reading(d, before, 0));
        baseline.push({ name: q.name, before });
        continue;
      }
      try {
        const after = afterValues.get(q.name) ?? new Error('it did not run after the load');
        if (after instanceof Error) throw after;
        const v = after - before;
        infra.push(reading(d, v, durationMs));
        baseline.push({ name: q.name, before, after, change: v });
      } catch (e) {
        const why = this.queries.queryError(q, e);
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
        infra.push(v === undefined ? unavailable('postgres', d, totalsMissing) : reading(d, v, durationMs));
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

export function createPostgresSource(cfg: PostgresSourceConfig, log: Logger, deps?: PostgresDeps): Source {
  return new PostgresSource(cfg, log, deps);
}
