// Built-in journeys (data rows, templates, captures, expectations, cookies) run by the engine itself against the
// auction app (JWT login, bids in PostgreSQL, switchable faults). The config goes through the real loader, so the
// YAML a user writes is what runs. Every run is a second or two at a low rate.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config/load.js';
import type { Config } from '../../src/config/types.js';
import { builtinEngine } from '../../src/engines/builtin/index.js';
import type { RunResult, Stage } from '../../src/model.js';
import { auctionUsers, startAuctionApp, writeUsersCsv, type AuctionApp } from '../helpers/auction-app.js';
import { startPostgres, type PostgresServer } from '../helpers/postgres.js';
import { memoryLog } from '../helpers/memory-log.js';
import { flowSecrets } from '../../src/flows/target.js';

let pgServer: PostgresServer;
let app: AuctionApp;
const USERS = 40;

beforeAll(async () => {
  pgServer = await startPostgres();
  app = await startAuctionApp({ postgres: pgServer, users: USERS });
});
afterAll(async () => {
  await app?.stop();
  await pgServer?.stop();
});
beforeEach(async () => {
  app.setFaults({ lostWrites: 0, errorBody: false, failingPayments: 0, slowBids: 0 });
  await app.reset();
});

const BID_FLOW = `
flows:
  - name: place a bid
    data: users.csv
    steps:
      - post: /api/auth/login
        name: login
        json: { email: "{{ email }}", password: "{{ password }}" }
        capture: { token: $.token, sameToken: { regex: '"token":"([^"]+)"' }, contentType: { header: content-type } }
        expect: { status: 200, header: { content-type: application/json } }
      - think: 20ms
      - post: /api/bids
        name: bid
        headers: { authorization: "Bearer {{ token }}" }
        json: { auctionId: "{{ $randomInt(1, 100) }}", amount: 10 }
        capture: { bidId: $.id }
        expect: { status: 201, json: { $.id: exists } }
      - get: /api/session
        headers: { authorization: "Bearer {{ sameToken }}", accept: "{{ contentType }}" }
        expect: { status: 200, json: { $.email: exists } }
      - think: 20ms
      - get: /api/health
`;

function workspace(yaml: string, users = auctionUsers(USERS)): string {
  const dir = mkdtempSync(join(tmpdir(), 'perf-gate-journeys-'));
  writeFileSync(join(dir, 'perf-gate.yml'), yaml);
  writeUsersCsv(join(dir, 'users.csv'), users);
  return dir;
}

function load(yaml: string, opts: { users?: ReturnType<typeof auctionUsers>; count4xx?: boolean } = {}): Config {
  const dir = workspace(yaml, opts.users);
  const config = resolveConfig({ target: app.url, config: 'perf-gate.yml' }, { workspace: dir });
  config.http = {
    ...config.http,
    timeoutMs: 5000,
    ...(opts.count4xx !== undefined ? { count4xxAsErrors: opts.count4xx } : {}),
  };
  config.intervalMs = 500;
  return config;
}

const STAGES: Stage[] = [{ durationMs: 1500, startRate: 30, endRate: 30 }];

async function run(config: Config, stages = STAGES): Promise<{ r: RunResult; log: string[] }> {
  const log = memoryLog('warnings');
  const r = await builtinEngine.run({ config, stages, log });
  return { r, log: log.lines };
}

const ep = (r: RunResult, name: string) => r.endpoints.find((e) => e.name === name);

describe('built-in journeys against the auction app', () => {
  it('logs users in from the data file, sends each one its own token and cookie, and stores every bid', async () => {
    const { r } = await run(load(BID_FLOW));
    const arrivals = r.flows![0]!.started;
    expect(arrivals).toBeGreaterThanOrEqual(40);
    expect(r.errors).toBe(0);
    expect(r.checkFailures).toBeUndefined();
    expect(r.flows).toEqual([{ name: 'place a bid', started: arrivals, completed: arrivals, failed: 0 }]);
    expect(r.endpoints.map((e) => e.name)).toEqual(['login', 'bid', 'GET /api/session', 'GET /api/health']);
    expect(ep(r, 'bid')!.statusCodes).toEqual({ '201': arrivals });
    expect(ep(r, 'GET /api/session')!.statusCodes).toEqual({ '200': arrivals });
    // Sequential rows, wrapping: with at least 40 arrivals every one of the 40 users logged in.
    expect(app.loggedInUsers().sort()).toEqual(
      auctionUsers(USERS)
        .map((u) => u.email)
        .sort(),
    );
    const counts = app.counts();
    expect(counts.bidsAcknowledged).toBe(arrivals);
    expect(counts.bidsUnauthorized).toBe(0);
    expect(await app.storedBids()).toBe(arrivals);
    // Per-interval, per-endpoint figures for guards with selectors.
    const withBids = r.intervals.filter((iv) => iv.endpoints?.['bid']);
    expect(withBids.length).toBeGreaterThan(0);
    expect(withBids.reduce((n, iv) => n + iv.endpoints!['bid']!.requests, 0)).toBe(arrivals);
    expect(withBids[0]!.endpoints!['bid']!.latency.p99).toBeGreaterThan(0);
    for (const iv of r.intervals) {
      expect(Object.values(iv.endpoints ?? {}).reduce((n, e) => n + e.requests, 0)).toBe(iv.requests);
    }
  });

  it('stops an arrival at a failed login: 401s are check failures, and no bid is sent without a token', async () => {
    const wrong = auctionUsers(USERS).map((u) => ({ ...u, password: 'wrong-password' }));
    const { r, log } = await run(load(BID_FLOW, { users: wrong }));
    const arrivals = r.flows![0]!.started;
    expect(log).toContain(`builtin: failed checks: expect status 401 ≠ 200 on login (${arrivals})`);
    expect(log).toContain(
      `builtin: flow "place a bid": ${arrivals} started, 0 completed, ${arrivals} stopped at a failed check`,
    );
    expect(arrivals).toBeGreaterThan(0);
    expect(r.flows![0]).toEqual({ name: 'place a bid', started: arrivals, completed: 0, failed: arrivals });
    expect(r.checkFailures).toEqual({ 'expect status 401 ≠ 200 on login': arrivals });
    expect(r.errorsByKind).toEqual({ check: arrivals });
    expect(r.errors).toBe(arrivals);
    expect(ep(r, 'login')).toMatchObject({
      requests: arrivals,
      errors: arrivals,
      statusCodes: { '401': arrivals },
      errorsByKind: { check: arrivals },
      checkFailures: { 'expect status 401 ≠ 200 on login': arrivals },
    });
    expect(ep(r, 'bid')!.requests).toBe(0);
    expect(app.counts().byRoute['POST /api/bids']).toBeUndefined();
    expect(app.counts().byRoute['GET /api/health']).toBeUndefined();
  });

  it('fails a bid answered 200 with an error body through expect', async () => {
    app.setFaults({ errorBody: true });
    const { r } = await run(load(BID_FLOW));
    const arrivals = r.flows![0]!.started;
    expect(r.checkFailures).toEqual({ 'expect status 200 ≠ 201 on bid': arrivals });
    expect(ep(r, 'bid')).toMatchObject({ errors: arrivals, errorsByKind: { check: arrivals } });
    expect(ep(r, 'GET /api/health')!.requests).toBe(0);
    // Without expect.status the JSON check alone catches it.
    const loose = load(
      BID_FLOW.replace('expect: { status: 201, json: { $.id: exists } }', 'expect: { json: { $.id: exists } }'),
    );
    const again = (await run(loose)).r;
    expect(again.checkFailures).toEqual({ 'expect json $.id exists: found nothing on bid': again.flows![0]!.started });
  });

  it('counts a 4xx as an error unless expect.status lists it, with count-4xx-as-errors deciding the rest', async () => {
    const yaml = `
flows:
  - name: anonymous
    steps:
      - post: /api/bids
        name: listed
        json: { auctionId: 1, amount: 1 }
        expect: { status: [201, 401] }
      - post: /api/bids
        name: unlisted
        json: { auctionId: 1, amount: 1 }
`;
    const on = (await run(load(yaml, { count4xx: true }), [{ durationMs: 500, startRate: 20, endRate: 20 }])).r;
    const n = on.flows![0]!.started;
    expect(ep(on, 'listed')).toMatchObject({ requests: n, errors: 0, statusCodes: { '401': n }, errorsByKind: {} });
    expect(ep(on, 'unlisted')).toMatchObject({
      requests: n,
      errors: n,
      statusCodes: { '401': n },
      errorsByKind: { http_4xx: n },
    });
    expect(on.flows![0]).toMatchObject({ completed: n, failed: 0 });
    const off = (await run(load(yaml, { count4xx: false }), [{ durationMs: 500, startRate: 20, endRate: 20 }])).r;
    expect(ep(off, 'unlisted')).toMatchObject({ errors: 0, errorsByKind: { http_4xx: off.flows![0]!.started } });
    expect(off.errors).toBe(0);
  });

  it('refuses, before any request, a template that names nothing, naming the step and what is defined', async () => {
    const config = load(BID_FLOW.replace('Bearer {{ token }}', 'Bearer {{ tokn }}'));
    await expect(run(config)).rejects.toThrow(
      /^perf-gate\.yml: flows\[0\]\.steps\[2\] \(bid\): headers\.authorization: template "\{\{ tokn \}\}" names nothing defined here \(data columns: email, password; captures of earlier steps: token, sameToken, contentType; also env\.NAME/,
    );
    // A capture is only visible after the step that takes it.
    const early = load(BID_FLOW.replace('password: "{{ password }}"', 'password: "{{ token }}"'));
    await expect(run(early)).rejects.toThrow(
      /flows\[0\]\.steps\[0\] \(login\): json: template "\{\{ token \}\}" names nothing.*no captures before this step/,
    );
    const noData = load(BID_FLOW.replace('data: users.csv', 'data: { file: missing.csv, order: random }'));
    await expect(run(noData)).rejects.toThrow(
      /^perf-gate\.yml: flows\[0\]\.data: data file "missing\.csv" does not exist/,
    );
    expect(app.counts().byRoute).toEqual({});
  });

  it('sends {{ env.NAME }} values but never writes them, and hands them to the caller to mask', async () => {
    process.env.PERF_GATE_TEST_BID_KEY = 'env-Secret-Value-123';
    try {
      const config = load(
        BID_FLOW.replace('Bearer {{ token }}', 'Bearer {{ token }}').replace(
          '- get: /api/health',
          '- get: /api/health?api_key={{ env.PERF_GATE_TEST_BID_KEY }}',
        ),
      );
      expect(flowSecrets(config)).toEqual(['env-Secret-Value-123']);
      expect(
        flowSecrets({ flows: [], http: { ...config.http, headers: { 'x-key': '{{ env.PERF_GATE_TEST_BID_KEY }}' } } }),
      ).toEqual(['env-Secret-Value-123']);
      const { r, log } = await run(config);
      expect(r.errors).toBe(0);
      expect(app.counts().health).toBe(r.flows![0]!.started);
      expect(JSON.stringify(r)).not.toContain('env-Secret-Value-123');
      expect(log.join('\n')).not.toContain('env-Secret-Value-123');
      expect(r.endpoints.map((e) => e.name)).toContain('GET /api/health?api_key=***');
    } finally {
      delete process.env.PERF_GATE_TEST_BID_KEY;
    }
  });

  it('takes rows from a JSON data file, keeping numbers numbers, in random order when asked', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'perf-gate-journeys-'));
    const users = auctionUsers(USERS).map((u, i) => ({ ...u, auction: i + 1, amount: 2.5 * (i + 1), note: 'x' }));
    writeFileSync(join(dir, 'users.json'), JSON.stringify(users));
    writeFileSync(
      join(dir, 'perf-gate.yml'),
      BID_FLOW.replace('data: users.csv', 'data: { file: users.json, order: random }').replace(
        'json: { auctionId: "{{ $randomInt(1, 100) }}", amount: 10 }',
        'json: { auctionId: "{{ auction }}", amount: "{{ amount }}", note: "{{ note }}-{{ $uuid }}" }',
      ),
    );
    const config = resolveConfig({ target: app.url, config: 'perf-gate.yml' }, { workspace: dir });
    config.intervalMs = 500;
    const { r } = await run(config, [{ durationMs: 1000, startRate: 30, endRate: 30 }]);
    expect(r.errors).toBe(0);
    const n = r.flows![0]!.started;
    expect(await app.storedBids()).toBe(n);
    // Random rows: some user logged in twice while another never did (with about 30 draws from 40 rows, all
    // distinct has a chance of about 2e-7; at 25 draws, 6e-5).
    expect(n).toBeGreaterThanOrEqual(25);
    expect(app.loggedInUsers().length).toBeLessThan(n);
  });

  it('gives a shard every count-th data row, starting at its index', async () => {
    const config = load(BID_FLOW);
    config.shard = { index: 2, count: 3 };
    const { r } = await run(config, [{ durationMs: 1000, startRate: 20, endRate: 20 }]);
    expect(r.errors).toBe(0);
    // Rows 1, 4, 7, ... (0-based), taken in order and wrapping: the first arrivals log in as those users.
    const mine = auctionUsers(USERS)
      .filter((_, i) => i % 3 === 1)
      .map((u) => u.email);
    const n = Math.min(mine.length, r.flows![0]!.started);
    expect(n).toBeGreaterThan(5);
    expect(app.loggedInUsers().sort()).toEqual(mine.slice(0, n).sort());
  });
});
