// The bundled dist/index.js run as the GitHub runner runs it, with PostgreSQL and Redis sources against the bids
// app (helpers/bids-app.ts): a healthy run passes, one that loses 2 % of its acknowledged writes fails on the
// bids_stored query, a full Redis shows its evictions, a Redis that is down is unavailable without blocking the
// load, and the database password reaches neither the log, the summary nor results.json.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBidsApp, type BidsApp } from './helpers/bids-app.js';
import { freePort, startPostgres, type PostgresServer } from './helpers/postgres.js';
import { startRedis, type RedisServer } from './helpers/redis.js';
import { runAction as runActionAs } from './helpers/run-action.js';


let db: PostgresServer;
let cache: RedisServer;
let app: BidsApp;

beforeAll(async () => {
  [db, cache] = await Promise.all([startPostgres(), startRedis({ maxmemory: '2mb', maxmemoryPolicy: 'allkeys-lru' })]);
  app = await startBidsApp({ databaseUrl: db.url, redisPort: cache.port });
}, 90_000);

afterAll(async () => {
  await app?.close();
  await Promise.all([db?.stop(), cache?.stop()]);
});

async function runAction(targets: string[]) {
  const workspace = mkdtempSync(join(tmpdir(), 'perf-gate-sources-e2e-'));
  mkdirSync(join(workspace, '.github'));
  const downPort = await freePort();
  writeFileSync(
    join(workspace, '.github/perf-gate.yml'),
    JSON.stringify({
      flows: [{ name: 'bid', steps: [{ post: '/bids', json: { amount: 5 } }] }],
      phases: { quick: { stages: [{ duration: '2s', rate: 20 }], targets } },
      sources: [
        {
          kind: 'postgres',
          'url-env': 'PERF_DATABASE_URL',
          interval: '200ms',
          queries: [{ name: 'bids_stored', sql: 'select count(*) from bids where created_at between $1 and $2', at: 'end' }],
        },
        { kind: 'redis', url: `redis://127.0.0.1:${cache.port}`, interval: '200ms' },
        { kind: 'redis', name: 'sessions', url: `redis://127.0.0.1:${downPort}`, 'connect-timeout': '500ms' },
      ],
    }),
  );
  const r = await runActionAs(
    { target: app.url, phase: 'quick', comment: 'false' },
    {
      apiUrl: 'http://127.0.0.1:9',
      workspace,
      eventName: 'workflow_dispatch',
      event: { ref: 'refs/heads/main', repository: { full_name: 'ftw/shop', name: 'shop', owner: { login: 'ftw' } } },
      env: { PERF_DATABASE_URL: db.url },
    },
  );
  const resultsText = r.outputs.results ? readFileSync(r.outputs.results, 'utf8') : '';
  return { ...r, resultsText };
}

type Saved = { run: { requests: number; infra: Array<{ name: string; stats: { max?: number; last?: number }; unavailable?: string }> }; verdict: { status: string } };

describe('dist/index.js with PostgreSQL and Redis sources', () => {
  it('passes a healthy run: every bid stored, evictions seen, the Redis that is down unavailable', async () => {
    app.faults.dropEvery = 0;
    await app.reset();
    const r = await runAction(['bids_stored >= 40', 'redis_evictions > 0', 'max(lock_waits) == 0']);
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.verdict).toBe('pass');
    const saved = JSON.parse(r.resultsText) as Saved;
    const infra = new Map(saved.run.infra.map((m) => [m.name, m]));
    expect(saved.run.requests).toBe(40);
    expect(infra.get('bids_stored')!.stats.last).toBe(40);
    expect(infra.get('redis_evictions')!.stats.max!).toBeGreaterThan(0);
    expect(infra.get('sessions_clients')!.unavailable).toMatch(/cannot connect/);
    expect(r.summary).toMatch(/\|\s*`redis_evictions`\s*\|\s*Redis\s*\|/);
    for (const text of [r.stdout, r.summary, r.resultsText]) expect(text).not.toContain(db.password);
  }, 60_000);

  it('fails a run that loses 2 % of its acknowledged writes', async () => {
    app.faults.dropEvery = 20;
    await app.reset();
    const r = await runAction(['bids_stored >= 40']);
    expect(r.code, r.stdout).toBe(1);
    expect(r.outputs.verdict).toBe('fail');
    const saved = JSON.parse(r.resultsText) as Saved;
    expect(saved.run.infra.find((m) => m.name === 'bids_stored')!.stats.last).toBe(38);
  }, 60_000);
});
