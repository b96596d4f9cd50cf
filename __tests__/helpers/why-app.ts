// The "Why" test bed's service, run as a process of its own (node strips the types) so that its CPU, memory and
// event loop are its own and not the load generator's. A small auction API on real PostgreSQL and Redis with a
// switchable root cause (POST /__mode {"mode": ...}):
//   healthy  every request fast enough
//   lock     every bid updates one hot row and holds its lock for the bid's 120 ms (lock waits)
//   seqscan  the search runs a query no index can serve over a table of 300,000 rows, again for 200 ms (sequential scans)
//   pool     a connection pool of 2 for the same work (requests wait for a connection; the database is idle)
//   cpu      logins hash the password for 70 ms of the event loop (CPU at its limit, lag)
//   leak     every request keeps 512 KiB (memory rising through the run)
//   slow     the price endpoint's downstream call takes 600 ms (that endpoint alone; the database idle)
// Its own metrics (CPU %, RSS, event-loop lag and utilisation, pool use) are served by a worker thread, so a blocked event loop
// cannot stop Prometheus from scraping them. It prints {"port", "metricsPort"} on stdout once it listens.
import { pbkdf2Sync } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Worker } from 'node:worker_threads';
import { Redis } from 'ioredis';
import pg from 'pg';

export const MODES = ['healthy', 'lock', 'seqscan', 'pool', 'cpu', 'leak', 'slow'] as const;
export type Mode = (typeof MODES)[number];

const BID_HOLD_S = 0.12;

async function main(): Promise<void> {
  const databaseUrl = process.env.DATABASE_URL!;
  const redis = new Redis({ host: '127.0.0.1', port: Number(process.env.REDIS_PORT) });
  let mode: Mode = 'healthy';
  // Both pools are opened up front and kept: opening 20 connections (SCRAM hashing on the event loop) mid-run
  // would itself be a lag of its own.
  const pools = {
    2: new pg.Pool({ connectionString: databaseUrl, max: 2, idleTimeoutMillis: 0 }),
    20: new pg.Pool({ connectionString: databaseUrl, max: 20, idleTimeoutMillis: 0 }),
  };
  for (const [size, p] of Object.entries(pools)) {
    const clients = await Promise.all(Array.from({ length: Number(size) }, () => p.connect()));
    for (const c of clients) c.release();
  }
  let pool = pools[20];
  let poolMax = 20;
  const leaked: Buffer[] = [];

  // [0] worst event-loop lag since the last scrape (ms), [1] last heartbeat (ms since the epoch), [2] pool in use,
  // [3] waiting, [4] pool size, [5] event-loop utilisation over the last 250 ms or more (%)
  const shared = new Float64Array(new SharedArrayBuffer(8 * 8));
  let last = Date.now();
  let elu = performance.eventLoopUtilization();
  let eluAt = last;
  setInterval(() => {
    const now = Date.now();
    if (now - eluAt >= 250) {
      const next = performance.eventLoopUtilization();
      shared[5] = performance.eventLoopUtilization(next, elu).utilization * 100;
      elu = next;
      eluAt = now;
    }
    shared[0] = Math.max(shared[0]!, now - last - 10);
    shared[1] = now;
    last = now;
    shared[2] = pool.totalCount - pool.idleCount;
    shared[3] = pool.waitingCount;
    shared[4] = poolMax;
  }, 10);
  const metricsPort = await new Promise<number>((resolve, reject) => {
    const w = new Worker(METRICS_WORKER, { eval: true, workerData: { shared } });
    w.once('message', (port: number) => resolve(port));
    w.once('error', reject);
    w.unref();
  });

  // The downstream the price endpoint calls: 5 ms, or 600 ms in `slow` mode.
  const downstream = createServer((req, res) => setTimeout(() => res.end('{"price":42}'), mode === 'slow' ? 600 : 5));
  await new Promise<void>((r) => downstream.listen(0, '127.0.0.1', r));
  const downstreamUrl = `http://127.0.0.1:${(downstream.address() as AddressInfo).port}/`;

  const body = (req: IncomingMessage): Promise<string> =>
    new Promise((resolve) => {
      let b = '';
      req.on('data', (c) => (b += c));
      req.on('end', () => resolve(b));
    });
  const json = (res: ServerResponse, status: number, v: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(v));
  };

  const server = createServer(async (req, res) => {
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      const text = await body(req);
      if (mode === 'leak') leaked.push(Buffer.alloc(512 * 1024, 1));
      if (req.method === 'POST' && url.pathname === '/__mode') {
        const next = (JSON.parse(text) as { mode: Mode }).mode;
        poolMax = next === 'pool' ? 2 : 20;
        pool = pools[poolMax as 2 | 20];
        leaked.length = 0;
        mode = next;
        return json(res, 200, { mode });
      }
      if (req.method === 'POST' && url.pathname === '/login') {
        // The cpu fault hashes for a fixed 70 ms of the event loop, not a fixed number of rounds: at 20 logins/s that
        // asks 1.4 s of CPU per second on any machine, so the service saturates on a fast idle one as well.
        if (mode === 'cpu') {
          const until = performance.now() + 70;
          while (performance.now() < until) pbkdf2Sync('correct horse battery staple', 'salt', 2_000, 32, 'sha256');
        } else pbkdf2Sync('correct horse battery staple', 'salt', 1, 32, 'sha256');
        const token = Math.random().toString(36).slice(2);
        await redis.set(`session:${token}`, '1', 'EX', 60);
        return json(res, 200, { token });
      }
      if (req.method === 'POST' && url.pathname === '/bid') {
        const item = mode === 'lock' ? 1 : 2 + Math.floor(Math.random() * 999);
        const c = await pool.connect();
        try {
          await c.query('BEGIN');
          await c.query('UPDATE items SET price = price + 1 WHERE id = $1', [item]);
          await c.query('SELECT pg_sleep($1)', [BID_HOLD_S]);
          await c.query('COMMIT');
        } finally {
          c.release();
        }
        return json(res, 201, { item });
      }
      if (req.method === 'GET' && url.pathname === '/search') {
        const tag = `t${Math.floor(Math.random() * 3000)}`;
        // The seqscan fault scans the table again until 200 ms have passed: at 20 searches/s that asks about four
        // cores of the database on any machine (one scan each was fast enough on an idle one to pass the target).
        let r = await pool.query(
          mode === 'seqscan'
            ? "SELECT count(*) AS n FROM events WHERE lower(tag) = $1 AND payload <> ''"
            : 'SELECT count(*) AS n FROM events WHERE tag = $1',
          [tag],
        );
        for (const until = performance.now() + 200; mode === 'seqscan' && performance.now() < until; )
          r = await pool.query("SELECT count(*) AS n FROM events WHERE lower(tag) = $1 AND payload <> ''", [tag]);
        return json(res, 200, { n: Number(r.rows[0].n) });
      }
      if (req.method === 'GET' && url.pathname === '/price') {
        const r = await fetch(downstreamUrl);
        return json(res, 200, await r.json());
      }
      json(res, 404, { error: 'not found' });
    } catch (e) {
      json(res, 500, { error: String(e) });
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  process.stdout.write(`${JSON.stringify({ port: (server.address() as AddressInfo).port, metricsPort })}\n`);
  process.on('SIGTERM', () => process.exit(0));
}

const METRICS_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const shared = workerData.shared;
let cpu = process.cpuUsage();
let wall = Date.now();
const server = http.createServer((req, res) => {
  const now = Date.now();
  const used = process.cpuUsage(cpu);
  const percent = wall === now ? 0 : ((used.user + used.system) / 1000 / (now - wall)) * 100;
  cpu = process.cpuUsage();
  wall = now;
  const lag = Math.max(shared[0], now - shared[1] - 10, 0);
  shared[0] = 0;
  res.setHeader('content-type', 'text/plain; version=0.0.4');
  res.end([
    '# TYPE app_cpu_percent gauge', 'app_cpu_percent ' + percent.toFixed(2),
    '# TYPE app_rss_bytes gauge', 'app_rss_bytes ' + process.memoryUsage.rss(),
    '# TYPE app_event_loop_lag_ms gauge', 'app_event_loop_lag_ms ' + lag.toFixed(1),
    '# TYPE app_pool_in_use gauge', 'app_pool_in_use ' + shared[2],
    '# TYPE app_pool_waiting gauge', 'app_pool_waiting ' + shared[3],
    '# TYPE app_pool_size gauge', 'app_pool_size ' + shared[4],
    '# TYPE app_event_loop_utilization_percent gauge', 'app_event_loop_utilization_percent ' + shared[5].toFixed(1),
    '',
  ].join('\\n'));
});
server.listen(Number(process.env.METRICS_PORT || 0), '127.0.0.1', () => parentPort.postMessage(server.address().port));
`;

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split('/').pop()!)) void main();
