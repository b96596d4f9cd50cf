// W3C traceparent on the built-in engine's requests: a valid header with fresh ids on every request (fixed and
// templated steps alike), a traceparent of the user's own kept as written, none with http.traceparent false, and
// the slowest requests' trace ids in the run, matching the ids the server received for them.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinEngine } from '../../src/engines/builtin/index.js';
import {
  SlowestRequests,
  TRACE_PLACEHOLDER,
  TraceIds,
  traceIdAt,
  traceOffset,
} from '../../src/engines/builtin/trace.js';
import type { Flow } from '../../src/flows/steps.js';
import { engineConfig } from '../helpers/engine-config.js';
import { memoryLog } from '../helpers/memory-log.js';

const W3C = /^00-([0-9a-f]{32})-([0-9a-f]{16})-01$/;

let server: Server;
let url: string;
/** traceparent of every request, and how long the server held it. */
const seen: Array<{ path: string; traceparent: string | undefined; delay: number }> = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    // `/slow?ms=n` answers after n ms, so the slowest requests are known.
    const ms = Number(/ms=(\d+)/.exec(req.url ?? '')?.[1] ?? 0);
    const traceparent = req.headers.traceparent as string | undefined;
    seen.push({ path: req.url ?? '', traceparent, delay: ms });
    setTimeout(() => res.end('ok'), ms);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

async function run(flows: Flow[], traceparent?: boolean) {
  seen.length = 0;
  const stages = [{ durationMs: 1000, startRate: 40, endRate: 40 }];
  const config = engineConfig(url, stages, {
    flows,
    http: {
      timeoutMs: 5000,
      maxInFlight: 100,
      count4xxAsErrors: false,
      headers: {},
      ...(traceparent === undefined ? {} : { traceparent }),
    },
  });
  return builtinEngine.run({ config, stages, log: memoryLog() });
}

describe('traceparent on the built-in engine', () => {
  it("sends a valid W3C header with fresh ids on every request and keeps the slowest requests' trace ids", async () => {
    const r = await run([
      {
        name: 'mixed',
        weight: 1,
        steps: [
          { kind: 'request', method: 'GET', path: '/fast', name: 'fast' },
          { kind: 'request', method: 'GET', path: '/slow?ms={{ $randomInt(100, 150) }}', name: 'slow' },
        ],
      },
    ]);
    expect(r.requests).toBe(80);
    expect(seen).toHaveLength(80);
    const ids = seen.map((s) => W3C.exec(s.traceparent ?? ''));
    expect(ids.every(Boolean)).toBe(true);
    expect(new Set(ids.map((m) => m![1])).size).toBe(80);
    expect(new Set(ids.map((m) => m![2])).size).toBe(80);
    expect(ids.some((m) => m![1] === '0'.repeat(32))).toBe(false);

    // The ten slowest, slowest first, each a request the server saw, on the slow endpoint (on a busy machine a
    // fast one may be held up as long; the slowest of all is a slow one).
    expect(r.slowest).toHaveLength(10);
    expect(r.slowest![0]!.endpoint).toBe('slow');
    expect(r.slowest!.filter((s) => s.endpoint === 'slow').length).toBeGreaterThanOrEqual(8);
    const lat = r.slowest!.map((s) => s.latencyMs);
    expect([...lat].sort((a, b) => b - a)).toEqual(lat);
    for (const s of r.slowest!) {
      const got = seen.find((x) => x.traceparent?.slice(3, 35) === s.traceId);
      expect(got, s.traceId).toBeDefined();
      expect(s.status).toBe(200);
      // Timers may fire a little early: the server held it about as long as asked.
      expect(s.latencyMs).toBeGreaterThanOrEqual(got!.delay - 2);
    }
  });

  it("keeps a traceparent of the user's own, and sends none with http.traceparent false", async () => {
    const own = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await run([
      {
        name: 'own',
        weight: 1,
        steps: [{ kind: 'request', method: 'GET', path: '/x', headers: { traceparent: own } }],
      },
    ]);
    expect(seen.every((s) => s.traceparent === own)).toBe(true);
    const off = await run([{ name: 'off', weight: 1, steps: [{ kind: 'request', method: 'GET', path: '/x' }] }], false);
    expect(seen.length).toBe(40);
    expect(seen.every((s) => s.traceparent === undefined)).toBe(true);
    expect(off.slowest).toBeUndefined();
  });

  it('stamps a copy and never the shared bytes; keeps the n slowest', () => {
    const wire = Buffer.from(`GET / HTTP/1.1\r\nhost: x\r\ntraceparent: ${TRACE_PLACEHOLDER}\r\n\r\n`, 'latin1');
    const off = traceOffset(wire);
    const ids = new TraceIds();
    const a = ids.stamp(wire, off);
    const b = ids.stamp(wire, off);
    expect(wire.toString('latin1')).toContain(TRACE_PLACEHOLDER);
    expect(traceIdAt(a, off)).toMatch(/^[0-9a-f]{32}$/);
    expect(traceIdAt(a, off)).not.toBe(traceIdAt(b, off));
    expect(a.toString('latin1')).toMatch(/\r\ntraceparent: 00-[0-9a-f]{32}-[0-9a-f]{16}-01\r\n\r\n$/);
    expect(traceOffset(Buffer.from('GET / HTTP/1.1\r\n\r\n'))).toBe(-1);

    const top = new SlowestRequests(3);
    for (const ms of [5, 9, 1, 7, 3, 8])
      if (top.wants(ms)) top.add({ traceId: String(ms), endpoint: 'e', latencyMs: ms, atMs: 0 });
    expect(top.list().map((x) => x.latencyMs)).toEqual([9, 8, 7]);
    expect(top.wants(6)).toBe(false);
  });
});
