// `queries:` that cannot do harm, against a real PostgreSQL (helpers/postgres.ts): a superuser and roles holding a
// dangerous grant are refused before any query runs, naming the role and the grant; functions that act on other
// sessions or on the server are refused by name (when the config is read, and again before sending); each batch
// runs on a session of its own that is closed afterwards; a query that does not return a number is named with the
// type it returned, never the value. The least-privilege role of the README (pg_read_all_stats + SELECT) runs them.
import { existsSync, rmSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourcesSchema, type SourceConfig } from '../src/config/sources.js';
import { collectAll, createSources, startSources } from '../src/sources/index.js';
import { refusedSql } from '../src/config/postgres-guard.js';
import { memoryLog } from './helpers/memory-log.js';
import { startPostgres, type PostgresServer } from './helpers/postgres.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

let server: PostgresServer;
let admin: pg.Client;
const urlOf = (role: string): string =>
  server.url.replace(`postgres:${encodeURIComponent(server.password)}@`, `${role}:pw-${role}@`);

beforeAll(async () => {
  server = await startPostgres({ maxConnections: 40 });
  admin = new pg.Client({ connectionString: server.url });
  await admin.connect();
  await admin.query('CREATE TABLE secrets (v text)');
  await admin.query("INSERT INTO secrets VALUES ('s3cret-row-value')");
  await admin.query("CREATE ROLE super_app LOGIN SUPERUSER PASSWORD 'pw-super_app'");
  await admin.query("CREATE ROLE program_runner LOGIN PASSWORD 'pw-program_runner'");
  await admin.query('GRANT pg_execute_server_program TO program_runner');
  await admin.query("CREATE ROLE file_writer LOGIN PASSWORD 'pw-file_writer'");
  await admin.query('GRANT pg_write_server_files TO file_writer');
  await admin.query("CREATE ROLE killer LOGIN PASSWORD 'pw-killer'");
  await admin.query('GRANT pg_signal_backend, pg_read_all_stats TO killer');
  await admin.query('CREATE ROLE admins SUPERUSER NOLOGIN');
  await admin.query("CREATE ROLE in_admins LOGIN PASSWORD 'pw-in_admins' IN ROLE admins");
}, 90_000);
afterAll(async () => {
  await admin?.end();
  await server?.stop();
});

function sources(url: string, queries: Array<Record<string, unknown>>, parse = true) {
  const log = memoryLog();
  const raw = [{ kind: 'postgres', 'url-env': 'DB', interval: '150ms', 'slow-queries': false, queries }];
  // parse = false hands the source a config the schema never saw: the check before sending must hold on its own.
  const cfg: SourceConfig[] = parse
    ? sourcesSchema.parse(raw)
    : (sourcesSchema
        .parse([{ ...raw[0], queries: queries.map((q) => ({ ...q, sql: 'select 1' })) }])
        .map((c) => ({ ...c, queries: queries.map((q) => ({ at: 'end', unit: 'count', ...q })) })) as SourceConfig[]);
  return { log, list: createSources(cfg, log, { env: { DB: url } }) };
}

async function runOnce(url: string, queries: Array<Record<string, unknown>>, parse = true, waitMs = 400) {
  const s = sources(url, queries, parse);
  await startSources(s.list, s.log);
  const start = new Date();
  await sleep(waitMs);
  const out = await collectAll(s.list, { start, end: new Date() }, s.log);
  return { by: new Map(out.infra.map((m) => [m.name, m])), log: s.log, out };
}

describe('the role is checked before any query runs', () => {
  const q = [{ name: 'rows', sql: 'select count(*) from pg_stat_activity', at: 'end' }];

  it('a superuser is refused, naming the role and what to do; the query never ran', async () => {
    const before = Number(
      (await admin.query("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'perf-gate queries'")).rows[0]
        .count,
    );
    const { by, log } = await runOnce(urlOf('super_app'), q);
    expect(by.get('rows')!.unavailable).toMatch(
      /^query "rows" failed: role "super_app" is a superuser \(rolsuper\): queries: are not run with it; connect as a role with only pg_read_all_stats and SELECT on the tables the queries read \(or ALTER ROLE super_app NOSUPERUSER\)$/,
    );
    expect(log.lines.join('\n')).toMatch(/role "super_app" is a superuser/);
    expect(before).toBe(0);
    // The connection samples are perf-gate's own fixed statements: they still run.
    expect(by.get('db_connections')!.unavailable).toBeUndefined();
  });

  it("the test cluster's own superuser (postgres) is refused too", async () => {
    const { by } = await runOnce(server.url, q);
    expect(by.get('rows')!.unavailable).toMatch(/role "postgres" is a superuser/);
  });

  for (const [role, grant] of [
    ['program_runner', 'pg_execute_server_program'],
    ['file_writer', 'pg_write_server_files'],
    ['killer', 'pg_signal_backend'],
  ] as const) {
    it(`a member of ${grant} is refused, naming the grant to revoke`, async () => {
      const { by } = await runOnce(urlOf(role), q);
      const why = by.get('rows')!.unavailable!;
      expect(why).toContain(`role "${role}" is a member of ${grant}`);
      expect(why).toContain(`REVOKE ${grant} FROM ${role}`);
    });
  }

  it('a member of a superuser role is refused', async () => {
    const { by } = await runOnce(urlOf('in_admins'), q);
    expect(by.get('rows')!.unavailable).toMatch(/role "in_admins" is a member of a superuser role/);
  });

  it("the README's role (pg_read_all_stats and SELECT) runs the queries", async () => {
    const { by } = await runOnce(server.readerUrl, [
      ...q,
      { name: 'secret_rows', sql: 'select count(*) from secrets', at: 'end' },
    ]);
    expect(by.get('rows')!.unavailable).toBeUndefined();
    expect(by.get('rows')!.stats.last).toBeGreaterThanOrEqual(1);
    expect(by.get('secret_rows')!.stats.last).toBe(1);
  });
});

describe('functions that act on other sessions or the server are refused by name', () => {
  const harmful: Array<[string, RegExp]> = [
    ["COPY (SELECT 1) TO PROGRAM 'touch /tmp/perf-gate-pwned'", /COPY \.\.\. PROGRAM/],
    ['select pg_terminate_backend(pid)::int from pg_stat_activity limit 1', /pg_terminate_backend/],
    ['SELECT PG_CANCEL_BACKEND(1)::int', /pg_cancel_backend/],
    ['select 1 from pg_advisory_lock(42)', /advisory locks/],
    ['select pg_try_advisory_xact_lock(1)::int', /advisory locks/],
    ["select lo_import('/etc/passwd')::int", /large-object/],
    ["select count(*) from dblink('dbname=postgres', 'select 1') as t(x int)", /dblink/],
    ['select pg_catalog.pg_terminate_backend /* hidden */ (1)::int', /pg_terminate_backend/],
    ['DO $$ BEGIN PERFORM 1; END $$', /DO and CALL/],
    ["select length(pg_read_file('/etc/passwd'))", /server file/],
  ];

  it('when the config is read: an error naming the query and the function', () => {
    for (const [sql, what] of harmful) {
      const r = sourcesSchema.safeParse([{ kind: 'postgres', 'url-env': 'DB', queries: [{ name: 'q', sql }] }]);
      expect(r.success, sql).toBe(false);
      const message = r.error!.issues.map((i) => i.message).join('\n');
      expect(message, sql).toMatch(/query "q" uses /);
      expect(message, sql).toMatch(what);
    }
  });

  it('does not refuse ordinary reads whose names only look alike', () => {
    for (const sql of [
      'select count(*) from bids',
      "select count(*) from copy_log where program = 'x'",
      'select count(*) from pg_stat_activity -- pg_terminate_backend in a comment is not a call',
      'select count(*) from logos',
    ]) {
      expect(refusedSql(sql), sql).toBeUndefined();
    }
  });

  it('again before sending, with a config the schema never checked: no lock is taken, no program runs', async () => {
    const marker = '/tmp/perf-gate-pwned';
    rmSync(marker, { force: true });
    const { by } = await runOnce(
      server.readerUrl,
      [
        { name: 'lock', sql: 'select 1 from pg_advisory_lock(42)' },
        { name: 'program', sql: `COPY (SELECT 1) TO PROGRAM 'touch ${marker}'` },
      ],
      false,
    );
    expect(by.get('lock')!.unavailable).toMatch(/query "lock" uses advisory locks/);
    expect(by.get('program')!.unavailable).toMatch(/query "program" uses COPY \.\.\. PROGRAM/);
    expect(Number((await admin.query("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")).rows[0].count)).toBe(
      0,
    );
    expect(existsSync(marker)).toBe(false);
  });
});

describe('each batch runs on a session of its own, closed afterwards', () => {
  it("sampled queries see a new backend every sample, and no session of perf-gate's outlives the run", async () => {
    const s = sources(server.readerUrl, [{ name: 'backend', sql: 'select pg_backend_pid()' }]);
    await startSources(s.list, s.log);
    const start = new Date();
    await sleep(800);
    const out = await collectAll(s.list, { start, end: new Date() }, s.log);
    const series = out.infra.find((m) => m.name === 'backend')!.series!;
    expect(series.length).toBeGreaterThanOrEqual(3);
    // A pid is a session: one per batch.
    expect(new Set(series.map(([, pid]) => pid)).size).toBe(series.length);
    await sleep(200);
    const left = await admin.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name IN ('perf-gate', 'perf-gate queries')",
    );
    expect(left.rows[0].n).toBe(0);
  });
});

describe('a query returns a number; anything else is named by its type, never its value', () => {
  it('text, varchar, json, a date: the type in the message, the value nowhere', async () => {
    const { by, out, log } = await runOnce(server.readerUrl, [
      { name: 'leak_text', sql: 'select v from secrets', at: 'end' },
      { name: 'leak_varchar', sql: 'select v::varchar from secrets', at: 'end' },
      { name: 'leak_json', sql: "select json_build_object('v', v) from secrets", at: 'end' },
      { name: 'a_date', sql: "select date '2026-12-08'", at: 'end' },
      { name: 'number_as_text', sql: "select '42'", at: 'end' },
      { name: 'cast', sql: "select '42'::numeric", at: 'end' },
    ]);
    expect(by.get('leak_text')!.unavailable).toBe(
      'query "leak_text" returned a value of type text, not a number (cast it, e.g. ::numeric, if it holds one); it must return one row with one number',
    );
    expect(by.get('leak_varchar')!.unavailable).toMatch(/returned a value of type character varying, not a number/);
    expect(by.get('leak_json')!.unavailable).toMatch(/returned a value of type json, not a number/);
    expect(by.get('a_date')!.unavailable).toMatch(/returned a value of type date, not a number/);
    expect(by.get('number_as_text')!.unavailable).toMatch(/returned a value of type text/);
    expect(by.get('cast')!.stats.last).toBe(42);
    const everything = JSON.stringify(out) + log.lines.join('\n');
    expect(everything).not.toContain('s3cret-row-value');
  });
});
