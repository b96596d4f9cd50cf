// PostgreSQL source against a real PostgreSQL server started for these tests (see helpers/postgres.ts).
import { createServer, type Server, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decide } from '../src/gate/evaluate.js';
import { parseTargets } from '../src/gate/targets.js';
import type { RunResult } from '../src/model.js';
import { sampleRun } from './helpers/sample-run.js';
import { sourcesSchema } from '../src/config/sources.js';
import { collectAll, createSources, startSources, stopSources } from '../src/sources/index.js';
import { cleanStatement } from '../src/sources/postgres-activity.js';
import { diffStatements, diffTotals } from '../src/sources/postgres-statements.js';
import { freePort, startPostgres, type PostgresServer } from './helpers/postgres.js';
import { memoryLog } from './helpers/memory-log.js';
import type { Logger } from '../src/log.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const runWith = (over: Partial<RunResult>): RunResult => sampleRun(over);

function pgSources(extra: Record<string, unknown>, env: NodeJS.ProcessEnv, log: Logger) {
  return createSources(
    sourcesSchema.parse([{ kind: 'postgres', 'url-env': 'TEST_DATABASE_URL', interval: '100ms', ...extra }]),
    log,
    { env },
  );
}

let server: PostgresServer;
beforeAll(async () => {
  server = await startPostgres({ maxConnections: 40 });
}, 90_000);
afterAll(async () => {
  await server?.stop();
});

describe('PostgreSQL source', () => {
  it('has pg_stat_statements on this server (the Debian server package ships it)', () => {
    expect(server.hasStatStatements).toBe(true);
  });

  it('samples connections during the run, reads max_connections, and reports the slow statements', async () => {
    const log = memoryLog();
    const env = { TEST_DATABASE_URL: server.url };
    const sources = pgSources({}, env, log);
    await startSources(sources, log);

    const start = new Date();
    const N = 12;
    const clients = Array.from({ length: N }, () => new pg.Client({ connectionString: server.url }));
    await Promise.all(clients.map((c) => c.connect()));
    for (let i = 0; i < 10; i++) await clients[0]!.query('SELECT pg_sleep(0.05)');
    await clients[1]!.query('SELECT count(*) FROM generate_series(1, 1000)');
    await sleep(400);
    await Promise.all(clients.map((c) => c.end()));
    await sleep(250);
    const end = new Date();

    const out = await collectAll(sources, { start, end }, log);
    expect(out.infra.map((m) => m.name)).toEqual([
      'db_connections',
      'connections_active',
      'connections_idle_in_transaction',
      'lock_waits',
      'longest_transaction',
      'statement_rows',
      'shared_blks_hit',
    ]);
    const db = out.infra[0]!;
    expect(db).toMatchObject({ name: 'db_connections', source: 'postgres', unit: 'count', limit: 40 });
    expect(db.unavailable).toBeUndefined();
    expect(db.stats.max).toBeGreaterThanOrEqual(N);
    expect(db.stats.min).toBeLessThan(N); // after the clients closed
    expect(db.series!.length).toBeGreaterThanOrEqual(8);
    expect(db.stats.mean).toBeGreaterThan(0);

    // 12+ of 40 is 30 % or more: under 80 % of max, over 20 % of max.
    const run = runWith({ infra: out.infra });
    const verdict = decide(
      run,
      parseTargets(['db_connections < 80% of max', 'max(db_connections) < 20% of max', 'mean(db_connections) < 1000']),
      'any',
    );
    expect(verdict.targets.map((t) => t.status)).toEqual(['pass', 'fail', 'pass']);
    expect(verdict.targets[0]!.actual).toBeCloseTo((db.stats.max! / 40) * 100, 6);

    const slow = out.slowQueries!;
    expect(slow.length).toBeGreaterThan(0);
    expect(slow.length).toBeLessThanOrEqual(10);
    const sleepStmt = slow.find((q) => /pg_sleep/.test(q.query));
    expect(sleepStmt).toBeDefined();
    expect(sleepStmt!.calls).toBe(10);
    expect(sleepStmt!.rows).toBe(10); // one row per pg_sleep call
    const series = slow.find((q) => /generate_series/.test(q.query))!;
    expect(series.rows).toBe(1);
    expect(series.sharedBlksHit).toBeGreaterThanOrEqual(0);
    expect(sleepStmt!.meanMs).toBeGreaterThan(45);
    expect(sleepStmt!.meanMs).toBeLessThan(1000);
    expect(sleepStmt!.totalMs).toBeCloseTo(sleepStmt!.meanMs * 10, 3);
    expect(slow[0]!.query).toMatch(/pg_sleep/); // the slowest by mean
    // perf-gate's own sampling statements are left out.
    expect(slow.some((q) => q.query.includes('perf-gate'))).toBe(false);
    expect(slow.map((q) => q.meanMs)).toEqual([...slow.map((q) => q.meanMs)].sort((a, b) => b - a));

    // The password never shows up anywhere a user could see it.
    const everything =
      JSON.stringify(out) + log.lines.join('\n') + sources.map((s) => s.label + JSON.stringify(s.metrics)).join('');
    expect(everything).not.toContain(server.password);
    expect(everything).not.toContain(encodeURIComponent(server.password));
  });

  it('keeps sampling when its connection is killed mid-run', async () => {
    const log = memoryLog();
    const sources = pgSources({}, { TEST_DATABASE_URL: server.url }, log);
    await startSources(sources, log);
    const start = new Date();
    await sleep(300);
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    const killed = await admin.query(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'perf-gate'`,
    );
    expect(killed.rowCount).toBe(1);
    await sleep(500);
    await admin.end();
    const out = await collectAll(sources, { start, end: new Date() }, log);
    const db = out.infra[0]!;
    expect(db.unavailable).toBeUndefined();
    const after = db.series!.filter(([t]) => t > 400);
    expect(after.length).toBeGreaterThan(0); // it reconnected
    expect(out.slowQueries).toBeDefined();
  });

  it('notes a database without pg_stat_statements and still samples connections', async () => {
    const admin = new pg.Client({ connectionString: server.url });
    await admin.connect();
    await admin.query('DROP DATABASE IF EXISTS nostats');
    await admin.query('CREATE DATABASE nostats');
    await admin.end();
    const log = memoryLog();
    const url = server.url.replace(/\/postgres$/, '/nostats');
    const sources = pgSources({}, { TEST_DATABASE_URL: url }, log);
    await startSources(sources, log);
    const start = new Date();
    await sleep(250);
    const out = await collectAll(sources, { start, end: new Date() }, log);
    expect(out.infra[0]!.stats.max).toBeGreaterThanOrEqual(0);
    expect(out.slowQueries).toBeUndefined();
    expect(out.notes.join('\n')).toMatch(/pg_stat_statements is not installed in this database/);
  });

  it('reports a wrong password as unavailable without printing either password', async () => {
    const log = memoryLog();
    const wrong = 'Wr0ng-Passw0rd-xyz';
    const url = server.url.replace(encodeURIComponent(server.password), wrong);
    const sources = pgSources({}, { TEST_DATABASE_URL: url }, log);
    await startSources(sources, log);
    const out = await collectAll(sources, { start: new Date(Date.now() - 1000), end: new Date() }, log);
    const db = out.infra[0]!;
    expect(db.stats).toEqual({});
    expect(db.unavailable).toMatch(/password authentication failed/);
    const text = JSON.stringify(out) + log.lines.join('\n');
    expect(text).not.toContain(wrong);
    expect(text).not.toContain(server.password);
    const verdict = decide(runWith({ infra: out.infra }), parseTargets(['db_connections < 80% of max']), 'any');
    expect(verdict.targets[0]!.status).toBe('not_measured');
    // The source could not be read under a target: the run cannot be judged, and the reason says why.
    expect(verdict.status).toBe('error');
    expect(verdict.reasons[0]).toMatch(
      /^db_connections < 80% of max: db_connections could not be read from postgres: .*password authentication failed/,
    );
    expect(verdict.reasons.join(' ')).not.toContain(wrong);
  });

  it('does not hold up the load test when the server never answers', async () => {
    // Accepts TCP connections and never says a word: the worst case for a client without timeouts.
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => sockets.push(s));
    const port = await freePort();
    await new Promise<void>((r) => silent.listen(port, '127.0.0.1', r));
    try {
      const log = memoryLog();
      const url = `postgres://app:Hush-${port}-secret@127.0.0.1:${port}/app`;
      const sources = pgSources({ 'connect-timeout': '300ms' }, { TEST_DATABASE_URL: url }, log);
      const t0 = Date.now();
      await startSources(sources, log, { timeoutMs: 2000 });
      expect(Date.now() - t0).toBeLessThan(2500);
      const out = await collectAll(sources, { start: new Date(t0), end: new Date() }, log);
      expect(out.infra[0]!.unavailable).toMatch(/timeout|timed out/i);
      expect(JSON.stringify(out) + log.lines.join('\n')).not.toContain(`Hush-${port}-secret`);
      await stopSources(sources);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('does not pass off samples from now as a window long past', async () => {
    const log = memoryLog();
    const sources = pgSources({}, { TEST_DATABASE_URL: server.url }, log);
    await startSources(sources, log);
    await sleep(250);
    const hourAgo = Date.now() - 3_600_000;
    const out = await collectAll(sources, { start: new Date(hourAgo), end: new Date(hourAgo + 60_000) }, log);
    expect(out.infra[0]!.stats).toEqual({});
    expect(out.infra[0]!.unavailable).toMatch(/no connection sample during the run window/);
  });

  it('says which environment variable is missing', async () => {
    const log = memoryLog();
    const sources = pgSources({}, {}, log);
    await startSources(sources, log);
    const out = await collectAll(sources, { start: new Date(), end: new Date() }, log);
    expect(out.infra[0]!.unavailable).toBe('environment variable TEST_DATABASE_URL (url-env) is not set');
  });
});

describe("PostgreSQL from inside and queries of one's own", () => {
  const admin = (): pg.Client => new pg.Client({ connectionString: server.url });

  it("runs a query of one's own once after the run, over the run window ($1, $2)", async () => {
    const c = admin();
    await c.connect();
    await c.query('DROP TABLE IF EXISTS bids');
    await c.query(
      'CREATE TABLE bids (id serial PRIMARY KEY, amount int, created_at timestamptz NOT NULL DEFAULT clock_timestamp())',
    );
    await c.query('INSERT INTO bids (amount) SELECT g FROM generate_series(1, 7) g'); // before the run: not counted
    await sleep(50);
    const log = memoryLog();
    const sources = pgSources(
      {
        queries: [
          { name: 'bids_stored', sql: 'select count(*) from bids where created_at between $1 and $2;', at: 'end' },
          { name: 'bids_so_far', sql: 'select count(*) from bids where created_at >= $1' },
          {
            name: 'idle_in_transaction',
            sql: "select count(*) from pg_stat_activity where state = 'idle in transaction'",
          },
        ],
      },
      { TEST_DATABASE_URL: server.readerUrl },
      log,
    );
    await startSources(sources, log);
    const start = new Date();
    for (let i = 0; i < 20; i++) {
      await c.query('INSERT INTO bids (amount) VALUES ($1)', [i]);
      await sleep(15);
    }
    const end = new Date();
    await sleep(50);
    await c.query('INSERT INTO bids (amount) VALUES (0)'); // after the run: not counted
    const out = await collectAll(sources, { start, end }, log);
    await c.end();
    const by = new Map(out.infra.map((m) => [m.name, m]));
    const stored = by.get('bids_stored')!;
    expect(stored.unavailable).toBeUndefined();
    expect(stored).toMatchObject({
      source: 'postgres',
      unit: 'count',
      stats: { min: 20, max: 20, last: 20, mean: 20 },
    });
    expect(stored.query).toBe('select count(*) from bids where created_at between $1 and $2; (once after the run)');
    // Sampled every 100 ms while the rows arrived: it rose from 0 towards 20.
    const sofar = by.get('bids_so_far')!;
    expect(sofar.unavailable).toBeUndefined();
    expect(sofar.series!.length).toBeGreaterThanOrEqual(2);
    expect(sofar.stats.min!).toBeLessThan(sofar.stats.max!);
    expect(sofar.stats.max!).toBeLessThanOrEqual(21);
    expect(by.get('idle_in_transaction')!.stats.max).toBe(0);

    // The number a target compares: 20 stored of 20 acknowledged passes, of 21 would not.
    const verdict = decide(
      runWith({ infra: out.infra }),
      parseTargets(['bids_stored >= 20', 'bids_stored >= 21']),
      'any',
    );
    expect(verdict.targets.map((t) => t.status)).toEqual(['pass', 'fail']);
  });

  it('refuses writes, bounds every statement, and names the query that does not give one number', async () => {
    const c = admin();
    await c.connect();
    await c.query('DROP TABLE IF EXISTS ledger');
    await c.query('CREATE TABLE ledger (n int)');
    const log = memoryLog();
    const sources = pgSources(
      {
        'statement-timeout': '300ms',
        queries: [
          { name: 'writes', sql: 'insert into ledger values (1) returning 1', at: 'end' },
          {
            name: 'smuggled',
            sql: 'set default_transaction_read_only = off; insert into ledger values (2)',
            at: 'end',
          },
          { name: 'unlocked', sql: "select set_config('transaction_read_only', 'off', true)", at: 'end' },
          { name: 'slow', sql: 'select 1 from pg_sleep(2)', at: 'end' },
          { name: 'two_rows', sql: 'select 1 from generate_series(1, 2)', at: 'end' },
          { name: 'two_columns', sql: 'select 1, 2', at: 'end' },
          { name: 'text', sql: "select 'many'", at: 'end' },
          { name: 'nothing', sql: 'select null::int', at: 'end' },
          { name: 'sampled_write', sql: 'insert into ledger values (3) returning 1' },
        ],
      },
      { TEST_DATABASE_URL: server.readerUrl },
      log,
    );
    await startSources(sources, log);
    const start = new Date();
    await sleep(300);
    const t0 = Date.now();
    const out = await collectAll(sources, { start, end: new Date() }, log);
    const by = new Map(out.infra.map((m) => [m.name, m]));
    expect(by.get('writes')!.unavailable).toBe(
      'query "writes" failed: cannot execute INSERT in a read-only transaction (queries are read-only)',
    );
    expect(by.get('smuggled')!.unavailable).toBe(
      'query "smuggled" failed: cannot insert multiple commands into a prepared statement',
    );
    // The query runs in a transaction begun read-only: PostgreSQL refuses to make it read-write.
    expect(by.get('unlocked')!.unavailable).toBe(
      'query "unlocked" failed: transaction read-write mode must be set before any query',
    );
    expect(by.get('slow')!.unavailable).toBe(
      'query "slow" failed: canceling statement due to statement timeout (statement-timeout 300 ms)',
    );
    expect(by.get('two_rows')!.unavailable).toBe(
      'query "two_rows" returned 2 rows; it must return one row with one number',
    );
    expect(by.get('two_columns')!.unavailable).toBe(
      'query "two_columns" returned 2 columns; it must return one row with one number',
    );
    // The type, never the value: a query can read what the PR comment must not show.
    expect(by.get('text')!.unavailable).toBe(
      'query "text" returned a value of type text, not a number (cast it, e.g. ::numeric, if it holds one); it must return one row with one number',
    );
    expect(by.get('nothing')!.unavailable).toBe(
      'query "nothing" returned NULL; it must return one row with one number',
    );
    expect(by.get('sampled_write')!.unavailable).toBe(
      'query "sampled_write" failed: cannot execute INSERT in a read-only transaction (queries are read-only)',
    );
    expect(Date.now() - t0).toBeLessThan(5000); // the 2 s sleep was cut at 300 ms
    expect((await c.query('SELECT count(*)::int AS n FROM ledger')).rows[0].n).toBe(0);
    // A target on a query that failed cannot pass.
    const verdict = decide(runWith({ infra: out.infra }), parseTargets(['writes == 1']), 'any');
    expect(verdict.targets[0]!.status).toBe('not_measured');
    await c.end();
  });

  it('sees lock waits, idle transactions and the longest one, and statement rows and block hits', async () => {
    const holder = admin();
    const waiter = admin();
    const worker = admin();
    await Promise.all([holder.connect(), waiter.connect(), worker.connect()]);
    await holder.query('DROP TABLE IF EXISTS hot');
    await holder.query('CREATE TABLE hot (n int)');
    const log = memoryLog();
    const sources = pgSources({}, { TEST_DATABASE_URL: server.url }, log);
    await startSources(sources, log);
    const start = new Date();
    await worker.query('SELECT g FROM generate_series(1, 5000) g');
    await holder.query('BEGIN');
    await holder.query('LOCK TABLE hot IN ACCESS EXCLUSIVE MODE');
    const blocked = waiter.query('SELECT count(*) FROM hot'); // waits on the lock
    await sleep(700);
    await holder.query('COMMIT');
    await blocked;
    await sleep(250);
    const out = await collectAll(sources, { start, end: new Date() }, log);
    await Promise.all([holder.end(), waiter.end(), worker.end()]);
    const by = new Map(out.infra.map((m) => [m.name, m]));
    for (const m of out.infra) expect(m.unavailable, m.name).toBeUndefined();
    expect(by.get('lock_waits')!.stats.max).toBe(1);
    expect(by.get('lock_waits')!.stats.last).toBe(0);
    expect(by.get('connections_idle_in_transaction')!.stats.max).toBeGreaterThanOrEqual(1);
    expect(by.get('connections_active')!.stats.max).toBeGreaterThanOrEqual(1); // the waiter
    expect(by.get('longest_transaction')!).toMatchObject({ unit: 'ms' });
    expect(by.get('longest_transaction')!.stats.max!).toBeGreaterThanOrEqual(500);
    expect(by.get('longest_transaction')!.stats.max!).toBeLessThan(5000);
    expect(by.get('statement_rows')!.stats.max!).toBeGreaterThanOrEqual(5000);
    expect(by.get('shared_blks_hit')!.stats.max!).toBeGreaterThanOrEqual(0);
    expect(out.notes.join('\n')).toMatch(
      /postgres: busiest sample, \d+ connection\(s\) at [\d.]+ s: by state .*idle in transaction 1.*; by wait event type .*Lock 1.*; 1 waiting on a lock; oldest transaction \d+ ms/,
    );

    const verdict = decide(
      runWith({ infra: out.infra }),
      parseTargets(['max(lock_waits) == 0', 'max(longest_transaction) < 10000']),
      'any',
    );
    expect(verdict.targets.map((t) => t.status)).toEqual(['fail', 'pass']);
  });

  it('can leave the activity metrics out', async () => {
    const log = memoryLog();
    const sources = pgSources({ activity: false, name: 'orders_db' }, { TEST_DATABASE_URL: server.url }, log);
    await startSources(sources, log);
    const start = new Date();
    await sleep(250);
    const out = await collectAll(sources, { start, end: new Date() }, log);
    expect(out.infra.map((m) => m.name)).toEqual(['orders_db']);
  });
});

describe('pg_stat_statements difference', () => {
  it('subtracts the start snapshot, survives a reset, and keeps the top N by mean', () => {
    const start = new Map([
      ['a', { calls: 100, total: 1000, rows: 400, hit: 20, query: 'SELECT a' }],
      ['b', { calls: 50, total: 5000, query: 'SELECT b' }],
      ['c', { calls: 10, total: 10, query: 'SELECT c' }],
    ]);
    const end = new Map([
      ['a', { calls: 110, total: 3000, rows: 500, hit: 70, query: 'SELECT a' }], // 10 calls, 2000 ms during the run
      ['b', { calls: 50, total: 5000, query: 'SELECT b' }], // not called during the run
      ['c', { calls: 4, total: 40, query: 'SELECT c' }], // reset during the run
      ['d', { calls: 1, total: 5, query: 'SELECT d /* perf-gate */' }],
      ['e', { calls: 2, total: 10, query: '<insufficient privilege>' }],
    ]);
    expect(diffStatements(start, end, 10)).toEqual([
      { query: 'SELECT a', calls: 10, meanMs: 200, totalMs: 2000, rows: 100, sharedBlksHit: 50 },
      { query: 'SELECT c', calls: 4, meanMs: 10, totalMs: 40 },
    ]);
    expect(diffStatements(start, end, 1)).toHaveLength(1);
    // The run's totals over every statement but perf-gate's own.
    expect(diffTotals(start, end)).toEqual({ rows: 100, hit: 50 });
  });

  it('blanks passwords in recorded utility statements', () => {
    expect(cleanStatement("ALTER ROLE app  WITH\n PASSWORD 'it''s secret'")).toBe("ALTER ROLE app WITH PASSWORD '***'");
  });
});
