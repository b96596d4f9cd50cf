// A small HTTP service to point perf-gate at: the bundled demo target for examples, tests and benchmarks.
// Standalone on purpose (node:http only, erasable TypeScript) so `node demo/server.ts --port 8080` runs it with
// Node 24 directly, and tests can import it. It binds loopback addresses only: it is a load-test target, and
// nothing on the network should be able to reach it.
//
// Routes:
//   GET  /                 small JSON
//   GET  /api/health       {status: "ok"}
//   POST /api/auth/login   {token}
//   POST /api/bids         reads a JSON body, answers 201 (400 on invalid JSON)
//   GET  /api/status       {status, uptimeS, requests}
//   GET  /slow?ms=N        answers after N ms (at most 60 s)
//   GET  /status/:code     answers with that status code (200-599)
//   GET  /flaky?rate=0.1   answers 503 with that probability, else 200
//
// Every answer takes baseLatencyMs plus up to jitterMs. With kneeRps set, the service degrades above that rate
// (measured over the last second): each 100 % over the knee adds kneeLatencyMs of latency and kneeErrorRate of 503s.
// With recoverAfterMs set, the service starts degraded (degradedLatencyMs extra, degradedErrorRate of 503s) and is
// healthy from recoverAfterMs after the first request it receives: a known recovery time to measure.
import http from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { randomBytes } from 'node:crypto';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

export interface DemoServerOptions {
  /** 0 or absent: any free port. */
  port?: number;
  /** Loopback only: 127.0.0.1 (default), another 127.x address, ::1 or localhost. */
  host?: string;
  /** Time every answer takes before any extra, ms (default 2). */
  baseLatencyMs?: number;
  /** Up to this much random extra latency, ms (default 1). */
  jitterMs?: number;
  /** Rate (requests/s over the last second) above which latency and 503s grow. Absent: no knee. */
  kneeRps?: number;
  /** Extra latency per 100 % of load above the knee, ms (default 50). */
  kneeLatencyMs?: number;
  /** Extra probability of a 503 per 100 % of load above the knee (default 0.2; capped at 0.95 overall). */
  kneeErrorRate?: number;
  /**
   * Degraded from the first request until this many ms later, then healthy: a service recovering after a
   * spike, with a known recovery time. Absent: never degraded.
   */
  recoverAfterMs?: number;
  /** Extra latency while degraded, ms (default 300). */
  degradedLatencyMs?: number;
  /** Probability of a 503 while degraded (default 0.3). */
  degradedErrorRate?: number;
  /** Called for every request as it arrives (tests use it for server-side timestamps). */
  onRequest?: (info: { method: string; path: string; atMs: number }) => void;
}

export interface DemoServer {
  url: string;
  port: number;
  close(): Promise<void>;
  stats(): { requests: number; byPath: Record<string, number>; rateLastSecond: number };
  /** The Authorization header of the latest request that had one (tests check credentials reach the target). */
  lastAuthorization(): string | undefined;
}

const MAX_SLOW_MS = 60_000;
const MAX_BODY_BYTES = 1 << 20;

// Requests per 100 ms slot over the last second: eleven counters (the current slot and ten whole ones), each
// tagged with the slot it belongs to, so a slot from a previous lap is recognised as stale without any timer.
class RateMeter {
  private counts = new Float64Array(11);
  private tags = new Float64Array(11).fill(-100);

  hit(nowMs: number): void {
    const slot = Math.floor(nowMs / 100);
    const i = slot % 11;
    if (this.tags[i] !== slot) {
      this.tags[i] = slot;
      this.counts[i] = 0;
    }
    this.counts[i]!++;
  }

  /**
   * The larger of the last ten whole slots (exactly one second: a steady rate reads as itself, where counting the
   * current, partly filled slot would read up to 10 % low) and the current slot with the nine before it (so a
   * burst counts at once).
   */
  perSecond(nowMs: number): number {
    const slot = Math.floor(nowMs / 100);
    let whole = 0;
    let recent = 0;
    for (let i = 0; i < 11; i++) {
      const age = slot - this.tags[i]!;
      if (age >= 1 && age <= 10) whole += this.counts[i]!;
      if (age >= 0 && age <= 9) recent += this.counts[i]!;
    }
    return Math.max(whole, recent);
  }
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export async function startDemoServer(opts: DemoServerOptions = {}): Promise<DemoServer> {
  const host = opts.host ?? '127.0.0.1';
  if (!isLoopback(host))
    throw new Error(`demo target: refusing to bind ${host}; it only listens on loopback (127.0.0.1, ::1)`);
  const base = Math.max(0, opts.baseLatencyMs ?? 2);
  const jitter = Math.max(0, opts.jitterMs ?? 1);
  const knee = opts.kneeRps !== undefined && opts.kneeRps > 0 ? opts.kneeRps : undefined;
  const kneeLatency = opts.kneeLatencyMs ?? 50;
  const kneeErrors = opts.kneeErrorRate ?? 0.2;
  const onRequest = opts.onRequest;
  const recoverAfter = opts.recoverAfterMs !== undefined && opts.recoverAfterMs > 0 ? opts.recoverAfterMs : undefined;
  const degradedLatency = Math.max(0, opts.degradedLatencyMs ?? 300);
  const degradedErrors = Math.min(1, Math.max(0, opts.degradedErrorRate ?? 0.3));
  // The recovery clock starts with the first request, so the known delay lines up with the test's own start.
  let firstRequestAt: number | undefined;
  const startedAt = performance.now();
  const meter = new RateMeter();
  const byPath: Record<string, number> = Object.create(null) as Record<string, number>;
  let requests = 0;
  let lastAuthorization: string | undefined;
  const timers = new Set<NodeJS.Timeout>();

  // Answer after `ms`, tracking the timer so close() does not have to wait for slow answers.
  function later(ms: number, fn: () => void): void {
    if (ms <= 0) {
      fn();
      return;
    }
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  }

  function send(res: ServerResponse, status: number, body: unknown, delayMs: number): void {
    later(delayMs, () => {
      if (res.destroyed) return;
      const text = JSON.stringify(body);
      res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  }

  function readBody(req: IncomingMessage, done: (err: Error | undefined, text: string) => void): void {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY_BYTES) chunks.push(c);
    });
    req.on('end', () =>
      done(size > MAX_BODY_BYTES ? new Error('body too large') : undefined, Buffer.concat(chunks).toString('utf8')),
    );
    req.on('error', (e) => done(e, ''));
  }

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const now = performance.now() - startedAt;
    const rawUrl = req.url ?? '/';
    const q = rawUrl.indexOf('?');
    const path = q < 0 ? rawUrl : rawUrl.slice(0, q);
    const query = new URLSearchParams(q < 0 ? '' : rawUrl.slice(q + 1));
    const method = req.method ?? 'GET';
    requests++;
    byPath[path] = (byPath[path] ?? 0) + 1;
    meter.hit(now);
    if (req.headers.authorization !== undefined) lastAuthorization = req.headers.authorization;
    onRequest?.({ method, path, atMs: performance.timeOrigin + performance.now() });

    let delay = base + (jitter > 0 ? Math.random() * jitter : 0);
    firstRequestAt ??= now;
    if (recoverAfter !== undefined && now - firstRequestAt < recoverAfter) {
      delay += degradedLatency;
      if (Math.random() < degradedErrors) {
        send(res, 503, { error: 'degraded' }, delay);
        req.resume();
        return;
      }
    }
    if (knee !== undefined) {
      const over = (meter.perSecond(now) - knee) / knee;
      if (over > 0) {
        delay += over * kneeLatency;
        if (Math.random() < Math.min(0.95, over * kneeErrors)) {
          send(res, 503, { error: 'overloaded' }, delay);
          req.resume();
          return;
        }
      }
    }

    if (path === '/' && method === 'GET') return send(res, 200, { name: 'perf-gate demo target', ok: true }, delay);
    if (path === '/api/health' && method === 'GET') return send(res, 200, { status: 'ok' }, delay);
    if (path === '/api/status' && method === 'GET') {
      return send(res, 200, { status: 'ok', uptimeS: Math.round(now / 1000), requests }, delay);
    }
    if (path === '/api/auth/login' && method === 'POST') {
      return readBody(req, (err) => {
        if (err) return send(res, 413, { error: err.message }, delay);
        send(res, 200, { token: randomBytes(12).toString('hex') }, delay);
      });
    }
    if (path === '/api/bids' && method === 'POST') {
      return readBody(req, (err, text) => {
        if (err) return send(res, 413, { error: err.message }, delay);
        let bid: unknown;
        try {
          bid = JSON.parse(text);
        } catch {
          return send(res, 400, { error: 'expected a JSON body' }, delay);
        }
        send(res, 201, { id: randomBytes(6).toString('hex'), bid }, delay);
      });
    }
    if (path === '/slow' && method === 'GET') {
      const ms = Number(query.get('ms') ?? '1000');
      const wait = Number.isFinite(ms) && ms >= 0 ? Math.min(ms, MAX_SLOW_MS) : 1000;
      return send(res, 200, { slept: wait }, delay + wait);
    }
    if (path.startsWith('/status/') && method === 'GET') {
      const code = Number(path.slice('/status/'.length));
      if (!Number.isInteger(code) || code < 200 || code > 599)
        return send(res, 400, { error: 'status must be 200-599' }, delay);
      return send(res, code, { status: code }, delay);
    }
    if (path === '/flaky' && method === 'GET') {
      const rate = Number(query.get('rate') ?? '0.1');
      const p = Number.isFinite(rate) ? Math.min(1, Math.max(0, rate)) : 0.1;
      return Math.random() < p ? send(res, 503, { error: 'flaky' }, delay) : send(res, 200, { ok: true }, delay);
    }
    const known =
      ['/', '/api/health', '/api/status', '/api/auth/login', '/api/bids', '/slow', '/flaky'].includes(path) ||
      path.startsWith('/status/');
    req.resume();
    send(res, known ? 405 : 404, { error: known ? 'method not allowed' : 'not found' }, delay);
  }

  const server = http.createServer({ keepAliveTimeout: 30_000 }, handle);
  // Slow answers must not be cut by Node's default request timeouts; the client under test decides.
  server.requestTimeout = 0;
  server.headersTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : 0;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${urlHost}:${port}`,
    port,
    close(): Promise<void> {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    stats() {
      return { requests, byPath: { ...byPath }, rateLastSecond: meter.perSecond(performance.now() - startedAt) };
    },
    lastAuthorization: () => lastAuthorization,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '8080' },
      host: { type: 'string', default: '127.0.0.1' },
      'base-latency': { type: 'string' },
      jitter: { type: 'string' },
      'knee-rps': { type: 'string' },
      'knee-latency': { type: 'string' },
      'knee-error-rate': { type: 'string' },
      'recover-after': { type: 'string' },
      'degraded-latency': { type: 'string' },
      'degraded-error-rate': { type: 'string' },
    },
  });
  const num = (v: string | undefined, name: string): number | undefined => {
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name}: expected a number, got "${v}"`);
    return n;
  };
  const server = await startDemoServer({
    port: num(values.port, 'port') ?? 8080,
    host: values.host ?? '127.0.0.1',
    baseLatencyMs: num(values['base-latency'], 'base-latency'),
    jitterMs: num(values.jitter, 'jitter'),
    kneeRps: num(values['knee-rps'], 'knee-rps'),
    kneeLatencyMs: num(values['knee-latency'], 'knee-latency'),
    kneeErrorRate: num(values['knee-error-rate'], 'knee-error-rate'),
    recoverAfterMs: num(values['recover-after'], 'recover-after'),
    degradedLatencyMs: num(values['degraded-latency'], 'degraded-latency'),
    degradedErrorRate: num(values['degraded-error-rate'], 'degraded-error-rate'),
  });
  console.log(`demo target listening on ${server.url}`);
  const shutdown = (): void => {
    void server.close().then(() => process.exit(0));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

// Run as a program only when this file is the entry point. The name check keeps a bundle that merely includes this
// module (where import.meta.url is the bundle's) from starting a server on its own.
const entry = process.argv[1];
if (entry && import.meta.url === pathToFileURL(entry).href && /server\.[cm]?[jt]s$/.test(entry)) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exit(1);
  });
}
