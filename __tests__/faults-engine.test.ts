// Nothing runs away: whatever the shape asks for, the built-in generator sends no request after its phase's end
// plus the request timeout. A server that counts (and timestamps) every request it receives is the witness.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../src/config/types.js';
import { builtinEngine } from '../src/engines/builtin/index.js';
import type { Stage } from '../src/model.js';
import { engineConfig } from './helpers/engine-config.js';
import type { Logger } from '../src/log.js';
import type { Flow } from '../src/flows/steps.js';

let server: Server;
let url = '';
let hits: number[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    hits.push(performance.now());
    req.resume();
    res.end('ok');
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

function config(stages: Stage[], flows: Flow[], timeoutMs: number, maxInFlight = 100): Config {
  return engineConfig(url, stages, { flows, http: { timeoutMs, maxInFlight, count4xxAsErrors: false, headers: {} } });
}

const quiet: Logger = { info: () => undefined, warning: () => undefined, debug: () => undefined };
const GET: Flow['steps'][number] = { kind: 'request', method: 'GET', path: '/' };

describe('the built-in generator stops at its deadline', () => {
  it('sends nothing after the end plus the request timeout at rate 1000000000 for 3 s, and says the load was not sent as asked', async () => {
    hits = [];
    const stages: Stage[] = [{ durationMs: 3000, startRate: 1e9, endRate: 1e9 }];
    const before = performance.now();
    const r = await builtinEngine.run({
      config: config(stages, [{ name: 'f', weight: 1, steps: [GET] }], 1000),
      stages,
      log: quiet,
    });
    const elapsed = performance.now() - before;
    expect(hits.length).toBeGreaterThan(0);
    const last = Math.max(...hits) - before;
    // End of phase (3 s) plus the request timeout (1 s), plus a little for the request to cross loopback.
    expect(last).toBeLessThan(3000 + 1000 + 250);
    // And the run itself ends: the timeout's grace, and no backlog of three billion arrivals worked through.
    expect(elapsed).toBeLessThan(3000 + 1000 + 1000 + 3000);
    expect(r.generator.valid).toBe(false);
    expect(r.generator.arrivalsScheduled).toBe(3e9);
    expect(r.generator.arrivalsDropped).toBeGreaterThan(2.9e9);
  }, 30_000);

  it('does not send a flow step that comes due after the deadline (a long think at the end of the phase)', async () => {
    hits = [];
    const stages: Stage[] = [{ durationMs: 1000, startRate: 5, endRate: 5 }];
    const flow: Flow = { name: 'f', weight: 1, steps: [GET, { kind: 'think', ms: 3000 }, GET] };
    const before = performance.now();
    const r = await builtinEngine.run({ config: config(stages, [flow], 500), stages, log: quiet });
    // Only the first step of each of the five arrivals: every second step would leave at 3 s or later.
    expect(hits.length).toBe(5);
    expect(Math.max(...hits) - before).toBeLessThan(1000 + 500 + 250);
    expect(r.notes.join('\n')).toMatch(
      /5 flow step\(s\) were not sent: they came due after the phase's end plus the request timeout/,
    );
  }, 30_000);
});
