// PostgreSQL watched during the run: connections sampled from pg_stat_activity against max_connections, and the
// statements that were slow during the run from two pg_stat_statements snapshots (start and end). One read-only
// session with a short statement_timeout; samples never overlap, a failed sample is counted, not thrown, and the
// timers are unref'd, so the sampler can neither block nor crash the load test. `pg` is imported only when used.
import type { Client, ClientConfig } from 'pg';
import type { Logger } from '../config/types.js';
import type { InfraMetric, SlowQuery } from '../model.js';
import type { PostgresSourceConfig } from './config.js';
import { Redactor } from './redact.js';
import { summarize, within, type Series } from '../metrics/series.js';
import { sleep } from './stats.js';
import { unavailable, type MetricDescriptor, type Source, type SourceResult, type TimeWindow } from './types.js';

// Marks perf-gate's own statements so they can be left out of the slow-query list.
const MARK = '/* perf-gate */';

const COUNT_SQL = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid() ${MARK}`;
// PostgreSQL < 10 has no backend_type; background processes then show with an empty query and are left out that way.
const COUNT_SQL_OLD = `SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid <> pg_backend_pid() ${MARK}`;

const snapshotSql = (totalColumn: string): string =>
  `SELECT userid::text || ':' || dbid::text || ':' || coalesce(queryid::text, md5(query)) AS key, ` +
  `sum(calls)::float8 AS calls, sum(${totalColumn})::float8 AS total, min(query) AS query ` +
  `FROM pg_stat_statements GROUP BY 1 ${MARK}`;

interface StatementRow {
  calls: number;
  total: number;
  query: string;
}

type Snapshot = Map<string, StatementRow>;

export interface PostgresDeps {
  loadPg?: () => Promise<typeof import('pg')>;
  env?: NodeJS.ProcessEnv;
}

/** Utility statements are recorded verbatim by pg_stat_statements, `ALTER ROLE ... PASSWORD '...'` included. */
export function cleanStatement(query: string): string {
  const text = query
    .replace(/\b(PASSWORD)\s+('(?:[^']|'')*'|\$\d+)/gi, "$1 '***'")
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > 500 ? `${text.slice(0, 497)}...` : text;
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
    out.push({ query: cleanStatement(e.query), calls, meanMs: totalMs / calls, totalMs });
  }
  return out.sort((a, b) => b.meanMs - a.meanMs).slice(0, top);
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
  private countSql = COUNT_SQL;
  private totalColumn = 'total_exec_time';
  private startSnapshot?: Snapshot;
  private readonly samples: Series = [];
  private sampleFailures = 0;
  private lastSampleError?: string;
  private timer?: NodeJS.Timeout;
  private inFlight?: Promise<void>;
  private sampling = false;
  private readonly notes: string[] = [];
  private stopped = false;

  constructor(
    private readonly cfg: PostgresSourceConfig,
    private readonly log: Logger,
    private readonly deps: PostgresDeps = {},
  ) {
    this.env = deps.env ?? process.env;
    this.redactor.add(this.env.PGPASSWORD);
    let where = 'libpq environment (PGHOST, ...)';
    try {
      this.connectionConfig = this.resolveConnection();
      const c = this.connectionConfig;
      if (c.connectionString) where = this.redactor.redact(describeUrl(c.connectionString));
      else if (c.host || c.database) where = `${c.user ? `${c.user}@` : ''}${c.host ?? 'localhost'}:${c.port ?? 5432}/${c.database ?? ''}`;
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
    this.collectTimeoutMs = cfg.connectTimeoutMs + 3 * (cfg.statementTimeoutMs + 1000) + 5000;
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
    } catch (e) {
      const msg = this.redactor.error(e);
      this.startError = /timeout/i.test(msg)
        ? `cannot connect: ${msg} (connect-timeout ${this.cfg.connectTimeoutMs} ms)`
        : `cannot connect: ${msg}`;
      this.log.warning(`${this.label}: ${this.startError}`);
      return;
    }
    this.sampling = true;
    this.tick();
  }

  private tick(): void {
    if (!this.sampling) return;
    const began = Date.now();
    this.inFlight = this.sample().finally(() => {
      this.inFlight = undefined;
      if (!this.sampling) return;
      // Fixed cadence, but never two samples at once: a slow sample delays the next instead of piling up.
      this.timer = setTimeout(() => this.tick(), Math.max(0, this.cfg.intervalMs - (Date.now() - began)));
      this.timer.unref();
    });
  }

  private async sample(): Promise<void> {
    try {
      const client = await this.connect();
      let res;
      try {
        res = await client.query<{ n: number }>(this.countSql);
      } catch (e) {
        if (this.countSql === COUNT_SQL && /backend_type/.test(String((e as Error).message))) {
          this.countSql = COUNT_SQL_OLD;
          res = await client.query<{ n: number }>(this.countSql);
        } else throw e;
      }
      const n = res.rows[0]?.n;
      if (typeof n === 'number') this.samples.push([Date.now(), n]);
    } catch (e) {
      this.sampleFailures++;
      this.lastSampleError = this.redactor.error(e);
    }
  }

  private async snapshot(client: Client, when: 'start' | 'end'): Promise<Snapshot | undefined> {
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
        res = await client.query<{ key: string; calls: number; total: number; query: string }>(snapshotSql(this.totalColumn));
      } catch (e) {
        // PostgreSQL 12 and older call the column total_time.
        if (this.totalColumn === 'total_exec_time' && /total_exec_time/.test(String((e as Error).message))) {
          this.totalColumn = 'total_time';
          res = await client.query<{ key: string; calls: number; total: number; query: string }>(snapshotSql(this.totalColumn));
        } else throw e;
      }
      return new Map(res.rows.map((r) => [r.key, { calls: Number(r.calls), total: Number(r.total), query: r.query ?? '' }]));
    } catch (e) {
      this.notes.push(`postgres: slow queries not reported: pg_stat_statements could not be read (${this.redactor.error(e)})`);
      return undefined;
    }
  }

  async collect(window: TimeWindow, signal?: AbortSignal): Promise<SourceResult> {
    await this.stopSampling();
    const desc = this.metrics[0]!;
    const reason = this.configError ?? this.startError;
    if (reason) return { infra: [unavailable('postgres', desc, reason)], notes: [...this.notes] };

    const startMs = window.start.getTime();
    const durationMs = window.end.getTime() - startMs;
    const series: Series = this.samples.map(([t, v]) => [t - startMs, v]);
    let inWindow = within(series, 0, durationMs);
    // A run shorter than the sampling interval has no sample inside it: the samples just around it are the best
    // there is. Samples far from the window (a window read from an old results file) say nothing about it.
    if (inWindow.length === 0) inWindow = within(series, -this.cfg.intervalMs, durationMs + this.cfg.intervalMs);
    const metric: InfraMetric = { name: desc.name, source: 'postgres', query: desc.query, unit: 'count', stats: summarize(inWindow), series };
    if (this.maxConnections !== undefined) metric.limit = this.maxConnections;
    if (series.length === 0) metric.unavailable = `no connection sample succeeded${this.lastSampleError ? `: ${this.lastSampleError}` : ''}`;
    else if (inWindow.length === 0) {
      metric.stats = {};
      metric.unavailable = 'no connection sample during the run window (connections are sampled only while perf-gate runs the load)';
    } else if (this.sampleFailures > 0) {
      this.notes.push(
        `postgres: ${this.sampleFailures} of ${this.sampleFailures + series.length} connection samples failed` +
          (this.lastSampleError ? ` (${this.lastSampleError})` : ''),
      );
    }

    let slowQueries: SlowQuery[] | undefined;
    if (this.startSnapshot && !signal?.aborted) {
      try {
        const end = await this.snapshot(await this.connect(), 'end');
        if (end) slowQueries = diffStatements(this.startSnapshot, end, this.cfg.top);
      } catch (e) {
        this.notes.push(`postgres: slow queries not reported: ${this.redactor.error(e)}`);
      }
    }
    await this.stop();
    const out: SourceResult = { infra: [metric], notes: [...this.notes] };
    if (slowQueries) out.slowQueries = slowQueries;
    return out;
  }

  private async stopSampling(): Promise<void> {
    this.sampling = false;
    clearTimeout(this.timer);
    // A sample in progress is bounded by query_timeout; waiting for it keeps the series complete.
    if (this.inFlight) await Promise.race([this.inFlight, sleep(this.cfg.statementTimeoutMs + 1500)]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.sampling = false;
    clearTimeout(this.timer);
    const client = this.client ?? (this.connecting ? await this.connecting.catch(() => undefined) : undefined);
    this.client = undefined;
    if (client) await Promise.race([client.end().catch(() => undefined), sleep(2000)]);
  }
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
