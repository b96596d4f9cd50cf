// The built-in engine's requests in flight (src/engines/builtin/inflight.ts): response sinks in reused slots, and one
// deadline timer for every request's timeout instead of a timer and an AbortController per request. The engine's own
// connections (http1.ts) against a real server on 127.0.0.1 that answers after a delay given in the path.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestBytes } from '../../src/engines/builtin/request-bytes.js';
import { ConnectionPool, endpointOf } from '../../src/engines/builtin/http1.js';
import {
  InFlightSlots,
  REASON_NONE,
  REASON_STOPPED,
  REASON_TIMEOUT,
  TIMEOUT_ERROR,
  type Slot,
} from '../../src/engines/builtin/inflight.js';

let server: Server;
let origin: string;
let pool: ConnectionPool;

/** Hand GET `path` to a connection of the pool with `slot` as its sink (the connection is given back by the caller). */
function dispatch(path: string, slot: Slot): void {
  const conn = pool.acquire();
  slot.client = conn;
  const bytes = requestBytes('GET', path, 'localhost', {}, undefined);
  if (bytes instanceof Error) slot.onError(bytes);
  else conn.dispatch(bytes, false, false, slot);
}

function done(slots: InFlightSlots, slot: Slot): void {
  pool.release(slot.client as ConnectionOf<typeof pool>);
  slots.release(slot);
}
type ConnectionOf<P extends ConnectionPool> = ReturnType<P['acquire']>;

beforeAll(async () => {
  server = createServer((req, res) => {
    const ms = Number(/\/(\d+)/.exec(req.url ?? '')?.[1] ?? 0);
    if (req.url?.startsWith('/trickle/')) {
      // Headers and half the body at once, the rest after `ms`: the timeout must cover the body too.
      res.writeHead(200, { 'content-length': 4 });
      res.write('ab');
      setTimeout(() => res.end('cd'), ms).unref();
      return;
    }
    setTimeout(() => res.end('ok'), ms).unref();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  origin = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  pool = new ConnectionPool(endpointOf(origin));
});

afterAll(async () => {
  pool?.destroyAll();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => server?.close(() => resolve()));
});

/** Sends GET `path` through a slot; resolves with the slot and how long it took until it settled. */
async function send(
  slots: InFlightSlots,
  path: string,
  keepBody = false,
): Promise<{ slot: Slot; ms: number; status: number; reason: number; body: string | undefined; failure: unknown }> {
  const start = performance.now();
  const slot = slots.acquire(start, keepBody);
  const settled = new Promise<void>(slot.settled);
  dispatch(path, slot);
  await settled;
  const out = {
    slot,
    ms: slot.end - start,
    status: slot.status,
    reason: slot.reason,
    body: slot.chunks ? Buffer.concat(slot.chunks).toString() : undefined,
    failure: slot.failure,
  };
  done(slots, slot);
  return out;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('requests in flight and their deadline timer', () => {
  it('reads a response to its last byte and keeps the body only when asked', async () => {
    const slots = new InFlightSlots(2000, 1024);
    const kept = await send(slots, '/0', true);
    expect(kept).toMatchObject({ status: 200, reason: REASON_NONE, body: 'ok', failure: undefined });
    const dropped = await send(slots, '/0', false);
    expect(dropped).toMatchObject({ status: 200, body: undefined });
    // The slot is reused, not allocated again.
    expect(dropped.slot).toBe(kept.slot);
    expect(slots.size).toBe(0);
    slots.close();
  });

  it('times a slow request out at its own deadline, not at the timer tick of another one', async () => {
    const TIMEOUT = 200;
    // The timer's precision: a Node timer fires within a few ms; 60 ms leaves room for a busy test machine.
    const SLACK = 60;
    const slots = new InFlightSlots(TIMEOUT, 1024);
    // Started 0, 50 and 100 ms apart: one timer armed for the first deadline must be re-armed for the next ones.
    const a = send(slots, '/1000');
    await sleep(50);
    const b = send(slots, '/1000');
    const fast = send(slots, '/10');
    await sleep(50);
    const c = send(slots, '/trickle/1000');
    for (const r of await Promise.all([a, b, c])) {
      expect(r.reason).toBe(REASON_TIMEOUT);
      expect(r.status).toBe(-1);
      expect(r.failure).toBe(TIMEOUT_ERROR);
      expect(r.ms).toBeGreaterThanOrEqual(TIMEOUT - 1);
      expect(r.ms).toBeLessThan(TIMEOUT + SLACK);
    }
    // A request answered within the timeout in the middle of them is untouched.
    expect(await fast).toMatchObject({ status: 200, reason: REASON_NONE });
    expect(slots.size).toBe(0);
    slots.close();
  });

  it('settles a request that cannot be sent at once, for a promise made afterwards and for a callback', async () => {
    const slots = new InFlightSlots(2000, 1024);
    const slot = slots.acquire(performance.now(), false);
    // A path with a line break (a rendered template could make one): refused before anything is written.
    dispatch('/a\r\nx-injected: 1', slot);
    await new Promise<void>(slot.settled);
    expect(slot.status).toBe(-1);
    expect((slot.failure as Error).message).toMatch(/invalid request path/);
    done(slots, slot);
    const cb = slots.acquire(performance.now(), false);
    const got = new Promise<Slot>((resolve) => (cb.then_ = resolve));
    dispatch('/0', cb);
    expect((await got).status).toBe(200);
    done(slots, cb);
    expect(slots.size).toBe(0);
    slots.close();
  });

  it('cancels everything in flight at the end of a run', async () => {
    const slots = new InFlightSlots(5000, 1024);
    const pending = [send(slots, '/2000'), send(slots, '/2000')];
    await sleep(50);
    expect(slots.size).toBe(2);
    const t = performance.now();
    slots.cancelAll(REASON_STOPPED);
    const done = await Promise.all(pending);
    expect(performance.now() - t).toBeLessThan(500);
    for (const r of done) expect(r).toMatchObject({ reason: REASON_STOPPED, status: -1 });
    expect(slots.size).toBe(0);
    slots.close();
  });
});
