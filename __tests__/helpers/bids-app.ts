// A small bid API for the sources tests: POST /bids stores the bid in PostgreSQL 200 ms after it arrived (a slow
// write, so bids are still in flight when a schedule ends), then writes 60 kB into Redis (a small maxmemory fills
// up and evicts) and answers 201. `dropEvery: n` acknowledges every n-th bid without storing it: lost writes.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import { freePort, startPostgres, type PostgresServer } from './postgres.js';
import { startRedis, type RedisServer } from './redis.js';

export interface BidsApp {
  url: string;
  faults: { dropEvery: number };
  /** Empties the table and the request counter. */
  reset(): Promise<void>;
  close(): Promise<void>;
}

export async function startBidsApp(opts: { databaseUrl: string; redisPort: number }): Promise<BidsApp> {
  const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 20 });
  await pool.query(
    'CREATE TABLE IF NOT EXISTS bids (id serial PRIMARY KEY, amount int NOT NULL, created_at timestamptz NOT NULL DEFAULT clock_timestamp())',
  );
  const redis = new Redis({ port: opts.redisPort, host: '127.0.0.1' });
  const big = 'x'.repeat(60_000);
  const faults = { dropEvery: 0 };
  let seen = 0;
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', async () => {
      try {
        if (req.method === 'POST' && req.url === '/bids') {
          const n = ++seen;
          await new Promise((r) => setTimeout(r, 200));
          const amount = Number((JSON.parse(body || '{}') as { amount?: number }).amount ?? 1);
          if (!(faults.dropEvery > 0 && n % faults.dropEvery === 0))
            await pool.query('INSERT INTO bids (amount) VALUES ($1)', [amount]);
          await redis.set(`bid:${n}`, big);
          await redis.get(`bid:${n - 1}`);
          res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: n }));
        } else res.writeHead(404).end();
      } catch (e) {
        res.writeHead(500).end(String(e));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    faults,
    async reset() {
      seen = 0;
      await pool.query('TRUNCATE bids');
    },
    async close() {
      await new Promise((r) => server.close(r));
      redis.disconnect();
      await pool.end();
    },
  };
}

/** The bids app with its own PostgreSQL and a small Redis (2 MB, allkeys-lru, so it evicts). */
export interface BidsStack {
  db: PostgresServer;
  cache: RedisServer;
  app: BidsApp;
}

/** Call at the top level of a test file: the stack is started before its tests (its fields are set then) and stopped after. */
export function useBidsStack(): BidsStack {
  const stack = {} as BidsStack;
  beforeAll(async () => {
    [stack.db, stack.cache] = await Promise.all([
      startPostgres(),
      startRedis({ maxmemory: '2mb', maxmemoryPolicy: 'allkeys-lru' }),
    ]);
    stack.app = await startBidsApp({ databaseUrl: stack.db.url, redisPort: stack.cache.port });
  }, 90_000);
  afterAll(async () => {
    await stack.app?.close();
    await Promise.all([stack.db?.stop(), stack.cache?.stop()]);
  });
  return stack;
}

/**
 * The perf-gate config of the sources tests: 40 bids in 2 s, a PostgreSQL source (URL from PERF_DATABASE_URL)
 * counting the stored bids at the end, the stack's Redis, and a second Redis named `sessions` on a port nobody
 * listens on.
 */
export async function bidsGateConfig(stack: BidsStack, targets: string[]): Promise<Record<string, unknown>> {
  const downPort = await freePort();
  return {
    flows: [{ name: 'bid', steps: [{ post: '/bids', json: { amount: 5 } }] }],
    phases: { quick: { stages: [{ duration: '2s', rate: 20 }], targets } },
    sources: [
      {
        kind: 'postgres',
        'url-env': 'PERF_DATABASE_URL',
        interval: '200ms',
        queries: [
          { name: 'bids_stored', sql: 'select count(*) from bids where created_at between $1 and $2', at: 'end' },
        ],
      },
      { kind: 'redis', url: `redis://127.0.0.1:${stack.cache.port}`, interval: '200ms' },
      { kind: 'redis', name: 'sessions', url: `redis://127.0.0.1:${downPort}`, 'connect-timeout': '500ms' },
    ],
  };
}
