// The bundled dist/index.js run as the GitHub runner runs it, with PostgreSQL and Redis sources against the bids
// app (helpers/bids-app.ts): a healthy run passes, one that loses 2 % of its acknowledged writes fails on the
// bids_stored query, a full Redis shows its evictions, a Redis that is down is unavailable without blocking the
// load, and the database password reaches neither the log, the summary nor results.json.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBidsApp, type BidsApp } from './helpers/bids-app.js';
import { freePort, startPostgres, type PostgresServer } from './helpers/postgres.js';
import { startRedis, type RedisServer } from './helpers/redis.js';

const ACTION = resolve('dist/index.js');

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
  const outputFile = join(workspace, 'github_output');
  const summaryFile = join(workspace, 'step_summary.md');
  const eventFile = join(workspace, 'event.json');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  writeFileSync(eventFile, JSON.stringify({ ref: 'refs/heads/main', repository: { full_name: 'ftw/shop', name: 'shop', owner: { login: 'ftw' } } }));
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: workspace,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_EVENT_PATH: eventFile,
    GITHUB_EVENT_NAME: 'workflow_dispatch',
    GITHUB_REPOSITORY: 'ftw/shop',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ID: '42',
    GITHUB_API_URL: 'http://127.0.0.1:9',
    INPUT_TARGET: app.url,
    INPUT_PHASE: 'quick',
    INPUT_COMMENT: 'false',
    PERF_DATABASE_URL: db.url,
  };
  const child = spawn(process.execPath, [ACTION], { cwd: workspace, env });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stdout += d));
  const code = await new Promise<number>((res) => child.on('exit', (c) => res(c ?? -1)));
  const outputs: Record<string, string> = {};
  const re = /^([\w-]+)<<(ghadelimiter_[\w-]+)\n([\s\S]*?)\n?\2$/gm;
  const text = readFileSync(outputFile, 'utf8');
  for (let m = re.exec(text); m; m = re.exec(text)) outputs[m[1]!] = m[3]!;
  const resultsText = outputs.results ? readFileSync(outputs.results, 'utf8') : '';
  return { code, stdout, outputs, summary: readFileSync(summaryFile, 'utf8'), resultsText };
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
