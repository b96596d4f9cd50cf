// engine "artillery" without a script: the config's flows (the README's auction journey, as journeys.e2e.test.ts
// runs them on the built-in engine) translated to an Artillery script and run by the real Artillery 2.0.x, through
// the bundled dist/index.js as the runner runs it, against the auction app (JWT login, bids in a real PostgreSQL,
// switchable faults). The same flow and shape on the built-in engine gives the same endpoint rows and request
// counts within the arrival noise, and the same faults fail the same targets.
// Artillery is installed by the engine into the tool cache on first use (see engine-artillery.test.ts).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import type { AuctionApp, AuctionUser } from './helpers/auction-app.js';
import { EXAMPLE, runJourney, useAuctionApp, type JourneyRun as ActionRun } from './helpers/auction-journey.js';

const USERS = 100;
const auction = useAuctionApp(USERS);
let app: AuctionApp;
beforeAll(() => {
  app = auction.app();
});

function runAction(opts: {
  engine: 'artillery' | 'builtin';
  targets: string;
  users?: AuctionUser[];
  rate?: number;
  flows?: string;
  env?: NodeJS.ProcessEnv;
  extra?: string;
}): Promise<ActionRun> {
  const { engine, ...rest } = opts;
  return runJourney(app, { ...rest, inputs: { engine } });
}

type Row = {
  name: string;
  requests: number;
  errors: number;
  statusCodes: Record<string, number>;
  errorsByKind?: Record<string, number>;
};
const endpoint = (r: ActionRun, name: string): Row | undefined =>
  (r.results.run.endpoints as Row[]).find((e) => e.name === name);
// For the tests about what the load itself records: without it the smoke pass would stop the phase first.
const NO_SMOKE = '\nsmoke: false\n';
const targetRow = (r: ActionRun, source: RegExp) =>
  (r.results.verdict.targets as Array<{ target: { source: string }; status: string }>).find((t) =>
    source.test(t.target.source),
  )!;

describe("the config's flows on the real Artillery, against the auction app", () => {
  it('runs the journey as the built-in engine does: same endpoint rows, request counts within the arrival noise', async () => {
    const art = await runAction({ engine: 'artillery', targets: 'error_rate < 0.5%' });
    expect(art.code, art.stdout).toBe(0);
    expect(art.outputs.verdict).toBe('pass');
    expect(art.results.run.engine).toBe('artillery');
    const appCounts = app.counts();
    await app.reset();
    const builtin = await runAction({ engine: 'builtin', targets: 'error_rate < 0.5%' });
    expect(builtin.code, builtin.stdout).toBe(0);

    // The generated script is in output-dir, for the user to read, with the processor for the whole-value $randomInt.
    const dir = join(art.outputs.results!, '..');
    const script = readFileSync(join(dir, 'artillery-script.yml'), 'utf8');
    expect(script).toContain('name: login');
    expect(script).toContain('useOnlyRequestNames: true');
    expect(existsSync(join(dir, 'artillery-processor.cjs'))).toBe(true);

    const names = (r: ActionRun) => (r.results.run.endpoints as Row[]).map((e) => e.name).sort();
    expect(names(art)).toEqual(['GET /api/health', 'bid', 'login', 'payment']);
    expect(names(art)).toEqual(names(builtin));
    const counts = (r: ActionRun) =>
      Object.fromEntries((r.results.run.endpoints as Row[]).map((e) => [e.name, e.requests]));
    const a = counts(art);
    console.log(`endpoint requests, artillery ${JSON.stringify(a)}; builtin ${JSON.stringify(counts(builtin))}`);
    const b = counts(builtin);
    // Every arrival logs in: 3 s at 12/s on both engines. The split between bid and pay is a 9:1 draw per arrival.
    expect(Math.abs(a.login! - b.login!), JSON.stringify({ a, b })).toBeLessThanOrEqual(Math.max(3, 0.1 * b.login!));
    expect(a.bid! + a.payment!).toBe(a.login);
    expect(a['GET /api/health']).toBe(a.bid);
    expect(art.results.run.errors).toBe(0);
    // What Artillery reported is what the app saw: every bid acknowledged and stored, no token refused. The smoke
    // pass ran each flow once before the load (one bid, two logins), and the results do not count it.
    expect(art.results.run.environment.smoke.flows.map((f: { name: string; ok: boolean }) => [f.name, f.ok])).toEqual([
      ['place a bid', true],
      ['pay', true],
    ]);
    expect(appCounts.bidsAcknowledged).toBe(a.bid! + 1);
    expect(appCounts.bidsUnauthorized).toBe(0);
    expect(appCounts.logins).toBe(a.login! + 2);
    expect(appCounts.distinctUsers).toBeGreaterThan(1);
    // The data file's passwords are not in the log (the CSV is referenced, not copied).
    expect(art.stdout).not.toContain('-Secret');
  });

  it('fails wrong passwords in the data file: login 401 is a failed check and nothing is sent after it', async () => {
    const wrong = app.users.map((u) => ({ ...u, password: `${u.password}-typo` }));
    const r = await runAction({ engine: 'artillery', targets: 'error_rate < 0.5%', users: wrong, extra: NO_SMOKE });
    expect(r.code, r.stdout).toBe(1);
    expect(r.outputs.verdict).toBe('fail');
    const logins = endpoint(r, 'login')!;
    expect(logins.requests).toBeGreaterThan(20);
    expect(logins.errors).toBe(logins.requests);
    // Artillery ends the virtual user at the failed expectation before metrics-by-endpoint records the response, so
    // the row has the request as a check error; the run's status codes have the 401s.
    expect(logins.errorsByKind).toEqual({ check: logins.requests });
    expect(r.results.run.statusCodes).toEqual({ '401': logins.requests });
    expect(r.results.run.errors).toBe(logins.requests);
    expect(app.counts().failedLogins).toBe(logins.requests);
    expect(targetRow(r, /^error_rate/).status).toBe('fail');
    const routes = Object.keys(app.counts().byRoute).filter((x) => x.includes('/api/'));
    expect(routes).toEqual(['POST /api/auth/login']);
    expect(r.stdout).not.toContain('-typo');
  });

  it('fails bids answered 200 with an error body, through the expectations', async () => {
    app.setFaults({ errorBody: true });
    const r = await runAction({ engine: 'artillery', targets: 'error_rate{bid} == 0', extra: NO_SMOKE });
    expect(r.code, r.stdout).toBe(1);
    expect(r.outputs.verdict).toBe('fail');
    const bid = endpoint(r, 'bid')!;
    expect(bid.requests).toBeGreaterThan(10);
    expect(bid.errors).toBe(bid.requests);
    expect(bid.errorsByKind).toEqual({ check: bid.requests });
    expect(targetRow(r, /^error_rate\{bid\}/).status).toBe('fail');
    // A failed check ends the virtual user's flow, as it ends the built-in arrival's: no health check after a bad bid.
    expect(app.counts().health).toBe(0);
  });

  it('fails a capture that finds nothing as a check on its endpoint, as the built-in engine does', async () => {
    // The bid step without its expect: only the capture of $.id notices the 200 {"error": ...} body.
    const flows = structuredClone(EXAMPLE.flows);
    delete flows[0]!.steps.find((st) => st.name === 'bid')!.expect;
    app.setFaults({ errorBody: true });
    const r = await runAction({
      engine: 'artillery',
      targets: 'error_rate{bid} == 0',
      flows: stringifyYaml({ flows }),
      extra: NO_SMOKE,
    });
    expect(r.code, r.stdout).toBe(1);
    const bid = endpoint(r, 'bid')!;
    expect(bid.requests).toBeGreaterThan(10);
    expect(bid).toMatchObject({ errors: bid.requests, errorsByKind: { check: bid.requests } });
    expect(targetRow(r, /^error_rate\{bid\}/).status).toBe('fail');
    expect(app.counts().health).toBe(0);
  });

  it('fails failing payments through error_rate{payment} == 0', async () => {
    // About 90 arrivals, one in ten paying: no payment at all has a chance of 0.9^90, below 1e-4.
    app.setFaults({ failingPayments: 1 });
    const r = await runAction({ engine: 'artillery', targets: 'error_rate{payment} == 0', rate: 30, extra: NO_SMOKE });
    expect(r.code, r.stdout).toBe(1);
    expect(r.outputs.verdict).toBe('fail');
    expect(app.counts().paymentsFailed).toBeGreaterThan(0);
    expect(targetRow(r, /^error_rate\{payment\}/).status).toBe('fail');
    const payment = endpoint(r, 'payment')!;
    expect(payment).toMatchObject({ requests: app.counts().paymentsFailed, errors: app.counts().paymentsFailed });
    expect(r.results.run.statusCodes['500']).toBe(app.counts().paymentsFailed);
  });

  it('sends {{ env.NAME }} values from the environment, never writing them into the script, the log or the results', async () => {
    const flows = structuredClone(EXAMPLE.flows);
    const bid = flows[0]!.steps.find((st) => st.name === 'bid')!;
    bid.headers = { ...(bid.headers as Record<string, string>), 'x-payment-key': '{{ env.PAYMENT_KEY }}' };
    // A whole JSON value from the environment: text that is a JSON number is sent as a number (the app insists).
    bid.json = { ...(bid.json as Record<string, unknown>), amount: '{{ env.BID_AMOUNT }}' };
    const secret = 'pk-live-9f8e7d6c5b4a';
    const r = await runAction({
      engine: 'artillery',
      targets: 'error_rate < 0.5%',
      flows: stringifyYaml({ flows }),
      env: { PAYMENT_KEY: secret, BID_AMOUNT: '7321.25' },
    });
    expect(r.code, r.stdout).toBe(0);
    expect(app.counts().bidsAcknowledged).toBeGreaterThan(0);
    expect(r.stdout).toContain(`::add-mask::${secret}`);
    expect(r.stdout.replace(/^::add-mask::.*$/gm, '')).not.toContain(secret);
    const dir = join(r.outputs.results!, '..');
    for (const f of [
      'artillery-script.yml',
      'artillery-processor.cjs',
      'artillery-report.json',
      'results.json',
      'report.md',
      '../LOAD_TEST_RESULTS.md',
    ]) {
      expect(readFileSync(join(dir, f), 'utf8'), f).not.toContain(secret);
    }
    expect(readFileSync(join(dir, 'artillery-script.yml'), 'utf8')).toContain('{{ $env.PAYMENT_KEY }}');
  });
});
