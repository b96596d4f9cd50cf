// Queries of one's own (`queries:`) and the guards around them: the role is checked before the first one is sent
// (a role that could do harm is refused), each batch runs on a session of its own that is closed afterwards, each
// query in a read-only transaction that is rolled back, and what comes back must be one number. Kept apart from
// the source class because these guards are what makes running a config's SQL safe, and they read best together.
import type { Client, ClientConfig } from 'pg';
import type { PostgresQueryConfig } from '../config/sources.js';
import {
  isNumericType,
  refusedSql,
  roleProblem,
  ROLE_CHECK_SQL,
  typeName,
  type RoleCheckRow,
} from '../config/postgres-guard.js';
import type { Logger } from '../log.js';
import type { Redactor } from '../secrets.js';
import { sleep } from './stats.js';
import { MARK } from './postgres-activity.js';
import { configureSession } from './postgres-connection.js';

/** The application_name of the sessions `queries:` run on (one per batch): left out of the connection counts. */
export const QUERIES_APP = 'perf-gate queries';

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

/** The SQL on one line, at most 200 characters: for metric descriptions and notes. */
export function oneLine(sql: string): string {
  const flat = sql.replace(/\s+/g, ' ').trim();
  return flat.length > 200 ? `${flat.slice(0, 197)}...` : flat;
}

/** What the query runner needs of its source. */
export interface QueryRunnerOptions {
  loadPg: () => Promise<typeof import('pg')>;
  connectionConfig: ClientConfig | undefined;
  statementTimeoutMs: number;
  redactor: Redactor;
  log: Logger;
  /** The source's label, for the warning about a refused role. */
  label: string;
}

/** Runs batches of queries of one's own; checks the role once, before the first query is sent. */
export class QueryRunner {
  /** Set when the role may not run `queries:` (see checkRole): every query is then unavailable with this reason. */
  private queriesRefused?: string;
  private roleChecked = false;

  constructor(private readonly o: QueryRunnerOptions) {}

  /**
   * Before any query of one's own runs: a role that could do harm (a superuser, a member of pg_execute_server_program,
   * pg_write_server_files or pg_signal_backend) is refused, naming it and the grant to remove; its queries are then
   * unavailable with that message, and nothing of them is sent.
   */
  async checkRole(client: Client): Promise<void> {
    this.roleChecked = true;
    try {
      const res = await client.query<RoleCheckRow>(`${ROLE_CHECK_SQL} ${MARK}`);
      const row = res.rows[0];
      this.queriesRefused = row ? roleProblem(row) : 'the role could not be checked (no row)';
    } catch (e) {
      this.queriesRefused = `the role could not be checked before running queries (${this.o.redactor.error(e)}), so none is run`;
    }
    if (this.queriesRefused) this.o.log.warning(`${this.o.label}: ${this.queriesRefused}`);
  }

  /**
   * Run a batch of queries of one's own on a session of its own, closed afterwards whatever happened: a lock or a
   * setting a query took cannot outlive the batch, and the sampling session never runs a statement of the config's.
   */
  async runBatch(
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
      const pg = await this.o.loadPg();
      client = new pg.Client({ ...this.o.connectionConfig, application_name: QUERIES_APP });
      client.on('error', () => undefined);
      await client.connect();
      await configureSession(client, this.o.statementTimeoutMs);
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
          each(q, await runQuery(client, q, window));
        } catch (e) {
          each(q, e as Error);
        }
      }
    } finally {
      await Promise.race([client.end().catch(() => undefined), sleep(2000)]);
    }
  }

  /** Why a query gave no number, redacted, with the setting to look at where one is obvious. */
  queryError(q: PostgresQueryConfig, e: unknown): string {
    const msg = this.o.redactor.error(e);
    if (msg.startsWith(`query "${q.name}"`)) return msg;
    const hint = /statement timeout/i.test(msg)
      ? ` (statement-timeout ${this.o.statementTimeoutMs} ms)`
      : /read-only transaction/i.test(msg)
        ? ' (queries are read-only)'
        : '';
    return `query "${q.name}" failed: ${msg}${hint}`;
  }
}

/**
 * A query of one's own, in a transaction of its own that is read-only whatever the session says, sent with the
 * extended protocol (one statement: no `SET ...; INSERT` smuggled in) and rolled back. Throws unless one number.
 */
async function runQuery(client: Client, q: PostgresQueryConfig, window: [Date, Date]): Promise<number> {
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
