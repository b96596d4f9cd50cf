// The README example's auction journey, run by the bundled dist/index.js as the runner runs it against the auction
// app (JWT login, bids in a real PostgreSQL, switchable faults): shared by the built-in engine's end-to-end tests
// (journeys.e2e) and the Artillery ones (artillery-flows.e2e), so both engines run the very same flows.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, beforeEach } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { NO_FAULTS, startAuctionApp, writeUsersCsv, type AuctionApp, type AuctionUser } from './auction-app.js';
import { freePort, startPostgres, type PostgresServer } from './postgres.js';
import { runAction, type ActionRun } from './run-action.js';

/** The flows of examples/perf-gate.yml with the think times of 2 s and 3 s scaled down to 200 ms and 300 ms. */
export const EXAMPLE = parseYaml(readFileSync(resolve('examples/perf-gate.yml'), 'utf8')) as {
  flows: Array<{ steps: Array<Record<string, unknown>> }>;
};
for (const f of EXAMPLE.flows)
  for (const step of f.steps) if (typeof step.think === 'string') step.think = `${parseFloat(step.think) * 100}ms`;
export const FLOWS = stringifyYaml({ flows: EXAMPLE.flows });

/** Starts PostgreSQL and the auction app for the test file, and clears faults and data before each test. */
export function useAuctionApp(users = 100): { app: () => AuctionApp; postgres: () => PostgresServer } {
  let pg: PostgresServer;
  let app: AuctionApp;
  beforeAll(async () => {
    pg = await startPostgres();
    app = await startAuctionApp({ postgres: pg, users });
  });
  afterAll(async () => {
    await app?.stop();
    await pg?.stop();
  });
  beforeEach(async () => {
    app.setFaults(NO_FAULTS);
    await app.reset();
  });
  return { app: () => app, postgres: () => pg };
}

export interface JourneyRun extends ActionRun {
  results: any;
}

/** A 3 s warm-up of the journey at `rate` (default 12/s) with the config, data file and inputs given. */
export async function runJourney(
  app: AuctionApp,
  opts: {
    flows?: string;
    extra?: string;
    targets: string;
    users?: AuctionUser[];
    env?: NodeJS.ProcessEnv;
    rate?: number;
    inputs?: Record<string, string>;
  },
): Promise<JourneyRun> {
  const workspace = mkdtempSync(join(tmpdir(), 'perf-gate-journey-e2e-'));
  mkdirSync(join(workspace, '.github'));
  writeFileSync(join(workspace, '.github', 'perf-gate.yml'), `${opts.flows ?? FLOWS}${opts.extra ?? ''}`);
  writeUsersCsv(join(workspace, '.github', 'users.csv'), opts.users ?? app.users);
  const r = await runAction(
    {
      target: app.url,
      phase: 'warmup',
      duration: '3s',
      rate: String(opts.rate ?? 12),
      targets: opts.targets,
      comment: 'false',
      abort: 'none',
      ...opts.inputs,
    },
    {
      apiUrl: `http://127.0.0.1:${await freePort()}`,
      workspace,
      eventName: 'push',
      event: { repository: { full_name: 'ftw/shop', name: 'shop', owner: { login: 'ftw' } } },
      ...(opts.env ? { env: opts.env } : {}),
    },
  );
  const results = r.outputs.results ? JSON.parse(readFileSync(r.outputs.results, 'utf8')) : undefined;
  return { ...r, results };
}
