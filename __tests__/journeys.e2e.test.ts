// The guide's user journey (login -> think -> bid with the captured token -> think -> health, plus a pay flow)
// run by the bundled dist/index.js as the runner runs it, against the auction app (JWT login, bids in a real
// PostgreSQL, switchable faults). Runs are a few seconds at a low rate with the think times scaled down.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import type { AuctionApp } from './helpers/auction-app.js';
import { EXAMPLE, FLOWS, runJourney, useAuctionApp, type JourneyRun as ActionRun } from './helpers/auction-journey.js';
import type { PostgresServer } from './helpers/postgres.js';

const USERS = 100;
const auction = useAuctionApp(USERS);
let app: AuctionApp;
let pgServer: PostgresServer;
beforeAll(() => {
  app = auction.app();
  pgServer = auction.postgres();
});
const runAction = (opts: Parameters<typeof runJourney>[1]): Promise<ActionRun> => runJourney(app, opts);

// The data check of the README's example: the bids PostgreSQL stored during the run, counted once it is over
// (the smoke pass's bid, stored before the run started, is not one of them).
const BIDS_STORED_SOURCE = `
sources:
  - kind: postgres
    url-env: AUCTION_DATABASE_URL
    queries:
      - name: bids_stored
        sql: SELECT count(*) FROM bids WHERE created_at BETWEEN $1 AND $2
        at: end
`;
// For the tests about what the load itself records: without it the smoke pass would stop the phase first.
const NO_SMOKE = '\nsmoke: false\n';

const endpoint = (r: ActionRun, name: string) =>
  (r.results.run.endpoints as Array<{ name: string; requests: number; statusCodes: Record<string, number> }>).find(
    (e) => e.name === name,
  );
const targetRow = (r: ActionRun, source: RegExp) =>
  (
    r.results.verdict.targets as Array<{
      target: { source: string };
      status: string;
      actual?: number;
      rhs?: { value?: number };
    }>
  ).find((t) => source.test(t.target.source))!;
const flow = (r: ActionRun, name: string) =>
  (r.results.run.flows as Array<{ name: string; started: number; completed: number; failed: number }>).find(
    (f) => f.name === name,
  )!;

describe('the guide journey through dist/index.js against the auction app', () => {
  it('passes a healthy app: every acknowledged bid is stored and many distinct users logged in', async () => {
    expect(FLOWS).toContain('think: 200ms');
    expect(FLOWS).toContain('data: users.csv');
    const r = await runAction({
      targets: 'error_rate < 0.5%\np99 < 500ms\nrequests >= 20\nbids_stored == responses{bid, 201}',
      extra: BIDS_STORED_SOURCE,
      env: { AUCTION_DATABASE_URL: app.readerUrl },
    });
    expect(r.code, r.stdout).toBe(0);
    // The smoke pass ran each flow once before the load: one bid and one payment the run's figures do not count.
    expect(r.results.run.environment.smoke.flows).toEqual([
      { name: 'place a bid', ok: true, requests: 3 },
      { name: 'pay', ok: true, requests: 2 },
    ]);
    const smokeBids = 1;
    expect(targetRow(r, /^bids_stored/)).toMatchObject({
      status: 'pass',
      actual: (await app.storedBids()) - smokeBids,
    });
    expect(r.outputs.verdict).toBe('pass');
    const bids = flow(r, 'place a bid');
    expect(bids.started).toBeGreaterThan(10);
    expect(bids).toMatchObject({ completed: bids.started, failed: 0 });
    expect(flow(r, 'pay').failed).toBe(0);
    const acknowledged = endpoint(r, 'bid')!.statusCodes['201']!;
    expect(acknowledged).toBe(bids.started);
    expect(app.counts().bidsAcknowledged).toBe(acknowledged + smokeBids);
    expect(await app.storedBids()).toBe(acknowledged + smokeBids);
    expect(app.counts().bidsUnauthorized).toBe(0);
    expect(app.counts().distinctUsers).toBeGreaterThanOrEqual(Math.min(bids.started, USERS));
    expect(r.results.run.endpoints.map((e: { name: string }) => e.name).sort()).toEqual([
      'GET /api/health',
      'bid',
      'login',
      'payment',
    ]);
    expect(r.results.run.errors).toBe(0);
  });

  it('fails bids answered 200 with an error body, through expect', async () => {
    app.setFaults({ errorBody: true });
    const r = await runAction({ targets: 'error_rate < 0.5%', extra: NO_SMOKE });
    expect(r.code).toBe(1);
    expect(r.outputs.verdict).toBe('fail');
    const bids = flow(r, 'place a bid');
    expect(bids.started).toBeGreaterThan(0);
    expect(bids).toMatchObject({ completed: 0, failed: bids.started });
    expect(r.results.run.checkFailures).toEqual({ 'expect status 200 ≠ 201 on bid': bids.started });
    expect(r.results.run.errorsByKind).toEqual({ check: bids.started });
    expect(await app.storedBids()).toBe(0);
    expect(app.counts().health).toBe(0);
  });

  it('fails wrong passwords in the data file (401 on login) and sends nothing after the login', async () => {
    const wrong = app.users.map((u) => ({ ...u, password: `${u.password}-typo` }));
    const r = await runAction({ targets: 'error_rate < 0.5%', users: wrong, extra: NO_SMOKE });
    expect(r.code).toBe(1);
    expect(r.outputs.verdict).toBe('fail');
    const logins = endpoint(r, 'login')!;
    expect(logins.statusCodes).toEqual({ '401': logins.requests });
    expect(r.results.run.checkFailures).toEqual({ 'expect status 401 ≠ 200 on login': logins.requests });
    expect(flow(r, 'place a bid').completed + flow(r, 'pay').completed).toBe(0);
    // (GET / is the action's reachability check before the load.)
    const routes = Object.keys(app.counts().byRoute).filter((r) => r.includes('/api/'));
    expect(routes).toEqual(['POST /api/auth/login']);
    // The data file's passwords never reach the log or the results.
    expect(r.stdout).not.toContain('-typo');
    expect(JSON.stringify(r.results)).not.toContain('-typo');
  });

  it('refuses a template that names nothing before any load: verdict error naming the step, no stack trace', async () => {
    const r = await runAction({
      targets: 'error_rate < 0.5%',
      flows: FLOWS.replace('Bearer {{ token }}', 'Bearer {{ tokn }}'),
    });
    expect(r.code).toBe(1);
    expect(r.outputs.verdict).toBe('error');
    expect(r.stdout).toMatch(
      /::error::.*\.github\/perf-gate\.yml: flows\[0\]\.steps\[2\] \(bid\): headers\.authorization: template "\{\{ tokn \}\}" names nothing defined here/,
    );
    expect(r.stdout).not.toMatch(/\n\s+at /);
    expect(Object.keys(app.counts().byRoute).filter((k) => k.includes('/api/'))).toEqual([]);
  });

  it('masks {{ env.NAME }} values in the log and writes them nowhere', async () => {
    const secret = 'pay-Key-9f8e7d6c5b4a';
    const withKey = structuredClone(EXAMPLE.flows);
    const bid = withKey[0]!.steps.find((st) => st.name === 'bid')!;
    bid.headers = { ...(bid.headers as object), 'x-api-key': '{{ env.PAYMENT_KEY }}' };
    const flows = stringifyYaml({ flows: withKey });
    expect(flows).toContain('{{ env.PAYMENT_KEY }}');
    const r = await runAction({ targets: 'error_rate < 0.5%', flows, env: { PAYMENT_KEY: secret } });
    expect(r.code, r.stdout).toBe(0);
    expect(app.counts().bidsAcknowledged).toBeGreaterThan(0);
    expect(r.stdout).toContain(`::add-mask::${secret}`);
    expect(r.stdout.replace(/^::add-mask::.*$/gm, '')).not.toContain(secret);
    expect(JSON.stringify(r.results)).not.toContain(secret);
    for (const f of ['report.md', '../LOAD_TEST_RESULTS.md'])
      expect(readFileSync(join(r.outputs.results!, '..', f), 'utf8')).not.toContain(secret);
  });

  it('fails failing payments through error_rate{payment} == 0', async () => {
    // About 90 arrivals, one in ten paying: no payment at all has a chance of 0.9^90, below 1e-4.
    app.setFaults({ failingPayments: 1 });
    const r = await runAction({ targets: 'error_rate{payment} == 0', rate: 30, extra: NO_SMOKE });
    expect(r.code).toBe(1);
    expect(r.outputs.verdict).toBe('fail');
    expect(app.counts().paymentsFailed).toBeGreaterThan(0);
    const row = targetRow(r, /^error_rate\{payment\}/);
    expect(row.status).toBe('fail');
    expect(r.stdout).toMatch(/error_rate\{payment\} == 0/);
  });

  it('stops a run early through an abort guard on one endpoint (error_rate{payment}), read from the live intervals', async () => {
    app.setFaults({ failingPayments: 1 });
    const started = Date.now();
    // 12 s asked for; payments all fail, every other endpoint is healthy, so only the endpoint guard can stop it.
    const r = await runAction({
      targets: 'error_rate{login} == 0',
      rate: 30,
      extra: NO_SMOKE,
      inputs: { duration: '12s', abort: 'error_rate{payment} > 50% for 1s' },
    });
    const tookMs = Date.now() - started;
    expect(app.counts().paymentsFailed).toBeGreaterThan(0);
    expect(r.results.run.analysis.stoppedEarly).toMatchObject({ guard: 'error_rate{payment} > 50% for 1s' });
    expect(r.results.run.analysis.stoppedEarly.atMs).toBeLessThan(8_000);
    expect(tookMs).toBeLessThan(11_000);
    // A run a guard stopped never passes, whatever its own targets said.
    expect(r.outputs.verdict).not.toBe('pass');
    expect(r.code).toBe(1);
    expect(
      r.results.run.intervals.some(
        (iv: { endpoints?: Record<string, { errors: number }> }) => (iv.endpoints?.payment?.errors ?? 0) > 0,
      ),
    ).toBe(true);
  });

  it('fails slow bids through p99{bid}', async () => {
    app.setFaults({ slowBids: 250 });
    const r = await runAction({ targets: 'p99{bid} < 200ms' });
    expect(r.code).toBe(1);
    expect(r.outputs.verdict).toBe('fail');
    const bid = targetRow(r, /^p99\{bid\}/);
    expect(bid.status).toBe('fail');
    expect(bid.actual).toBeGreaterThanOrEqual(250);
  });

  it('fails lost writes: the bids PostgreSQL stored fall short of the 201s the bid endpoint answered', async () => {
    app.setFaults({ lostWrites: 0.3 });
    const r = await runAction({
      targets: 'bids_stored == responses{bid, 201}',
      extra: `${BIDS_STORED_SOURCE}${NO_SMOKE}`,
      env: { AUCTION_DATABASE_URL: app.readerUrl },
    });
    expect(r.code).toBe(1);
    expect(r.outputs.verdict).toBe('fail');
    const stored = await app.storedBids();
    const acknowledged = endpoint(r, 'bid')!.statusCodes['201']!;
    expect(stored).toBeLessThan(acknowledged);
    const row = targetRow(r, /^bids_stored/);
    expect(row.status).toBe('fail');
    expect(row.actual).toBe(stored);
    expect(row.rhs?.value).toBe(acknowledged);
    // The database password never leaves the process.
    expect(r.stdout).not.toContain(pgServer.password);
    expect(JSON.stringify(r.results)).not.toContain(pgServer.password);
  });
});
