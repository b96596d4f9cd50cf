// The built-in engine's own HTTP/1.1 client (src/engines/builtin/http1.ts) against real sockets: raw TCP servers on
// 127.0.0.1 that write scripted bytes (split across reads where that is the point), node:http servers where a real
// server is the point, undici as an oracle on the same bytes, and TLS with a certificate made by openssl.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { Agent, request as undiciRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyError } from '../../src/engines/builtin/flows.js';
import {
  ConnectionPool,
  endpointOf,
  headerProblem,
  HttpProtocolError,
  parseHead,
  pathProblem,
  requestBytes,
  setCookiesOf,
  type Http1Connection,
  type ResponseSink,
} from '../../src/engines/builtin/http1.js';
import { InFlightSlots, REASON_TIMEOUT, TIMEOUT_ERROR, type Slot } from '../../src/engines/builtin/inflight.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const CRLF = '\r\n';

// ---- a raw server: scripted bytes per request ------------------------------------------------------------------

interface RawRequest {
  head: string;
  body: Buffer;
  /** Which connection (0-based, in accept order) carried it, and its index on that connection. */
  conn: number;
  onConn: number;
}

type Responder = (sock: Socket, req: RawRequest) => void | Promise<void>;

class RawServer {
  connections = 0;
  readonly requests: RawRequest[] = [];
  readonly sockets = new Set<Socket>();
  origin = '';
  port = 0;
  private constructor(
    private readonly server: NetServer,
    public respond: Responder,
  ) {}

  static async start(respond: Responder): Promise<RawServer> {
    const server = createNetServer();
    const raw = new RawServer(server, respond);
    server.on('connection', (sock) => raw.accept(sock));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    raw.port = typeof addr === 'object' && addr ? addr.port : 0;
    raw.origin = `http://127.0.0.1:${raw.port}`;
    return raw;
  }

  private accept(sock: Socket): void {
    const conn = this.connections++;
    this.sockets.add(sock);
    sock.setNoDelay(true);
    sock.on('error', () => {});
    sock.on('close', () => this.sockets.delete(sock));
    let buf = Buffer.alloc(0);
    let onConn = 0;
    sock.on('data', (b: Buffer) => {
      buf = Buffer.concat([buf, b]);
      // Requests from our client: a head, then a body of its content-length. Bounded by what arrived.
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.toString('latin1', 0, end);
        const len = Number(/\r\ncontent-length: *(\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + len) return;
        const req: RawRequest = { head, body: buf.subarray(end + 4, end + 4 + len), conn, onConn: onConn++ };
        buf = buf.subarray(end + 4 + len);
        this.requests.push(req);
        void this.respond(sock, req);
      }
    });
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Write `bytes` cut at `cuts` (byte positions), pausing between the pieces so they arrive as separate reads. */
async function writePieces(sock: Socket, bytes: Buffer, cuts: number[], pauseMs = 3): Promise<void> {
  const at = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((a, b) => a - b);
  let from = 0;
  for (const c of [...at, bytes.length]) {
    if (sock.destroyed) return;
    sock.write(bytes.subarray(from, c));
    from = c;
    if (c < bytes.length) await sleep(pauseMs);
  }
}

const bytesOf = (s: string | Buffer): Buffer => (typeof s === 'string' ? Buffer.from(s, 'latin1') : s);

// ---- a response sink that collects everything -------------------------------------------------------------------

interface Result {
  status: number;
  body: Buffer;
  text: string;
  headers: Record<string, string | string[]> | undefined;
  setCookie: boolean;
  cookies: string[];
  completed: boolean;
  error: (Error & { code?: string }) | undefined;
  conn: Http1Connection;
}

class Collect implements ResponseSink {
  keepBody = true;
  status = -1;
  head: { buf: Buffer; start: number; end: number } | undefined = undefined;
  setCookie = false;
  chunks: Buffer[] = [];
  completed = false;
  error: Error | undefined = undefined;
  heads = 0;
  abort: ((err: Error) => void) | undefined = undefined;
  private resolve!: () => void;
  readonly done = new Promise<void>((r) => (this.resolve = r));
  onConnect(abort: (err: Error) => void): void {
    this.abort = abort;
  }
  onHead(status: number, buf: Buffer, start: number, end: number, setCookie: boolean): void {
    this.heads++;
    this.status = status;
    this.head = { buf, start, end };
    this.setCookie = setCookie;
  }
  onData(chunk: Buffer): void {
    this.chunks.push(Buffer.from(chunk));
  }
  onComplete(): void {
    if (this.completed || this.error) throw new Error('settled twice');
    this.completed = true;
    this.resolve();
  }
  onError(err: Error): void {
    if (this.completed || this.error) throw new Error('settled twice');
    this.error = err;
    this.resolve();
  }
}

interface Send {
  method?: string;
  path?: string;
  headers?: Record<string, string>;
  body?: string;
  closeAfter?: boolean;
  /** Give up (abort the request) after this long: a test never hangs on a parser that waits for ever. */
  limitMs?: number;
}

/** One request through the pool, as the engine sends it: acquire, dispatch, wait, release. */
async function send(pool: ConnectionPool, hostHeader: string, o: Send = {}): Promise<Result> {
  const method = o.method ?? 'GET';
  const bytes = requestBytes(method, o.path ?? '/', hostHeader, o.headers ?? {}, o.body);
  if (bytes instanceof Error) throw bytes;
  const conn = pool.acquire();
  const sink = new Collect();
  conn.dispatch(bytes, method === 'HEAD', o.closeAfter ?? false, sink);
  const limit = setTimeout(() => sink.abort?.(new Error('test: no answer in time')), o.limitMs ?? 3000);
  await sink.done;
  clearTimeout(limit);
  pool.release(conn);
  const body = Buffer.concat(sink.chunks);
  const h = sink.head;
  return {
    status: sink.status,
    body,
    text: body.toString('utf8'),
    headers: h ? parseHead(h.buf, h.start, h.end) : undefined,
    setCookie: sink.setCookie,
    cookies: h ? setCookiesOf(h.buf, h.start, h.end) : [],
    completed: sink.completed,
    error: sink.error,
    conn,
  };
}

/** A raw server, a pool against it, and a way to send. */
async function rig(respond: Responder): Promise<{ raw: RawServer; pool: ConnectionPool; get: (o?: Send) => Promise<Result>; close: () => Promise<void> }> {
  const raw = await RawServer.start(respond);
  const ep = endpointOf(raw.origin);
  const pool = new ConnectionPool(ep);
  return {
    raw,
    pool,
    get: (o) => send(pool, ep.hostHeader, o),
    close: async () => {
      pool.destroyAll();
      await raw.close();
    },
  };
}

/** A response with a content-length for `body`. */
function withLength(body: string, extra = ''): string {
  return `HTTP/1.1 200 OK${CRLF}content-length: ${Buffer.byteLength(body, 'latin1')}${CRLF}${extra}${CRLF}${body}`;
}

// ---- 5. failures -----------------------------------------------------------------------------------------------

describe('failures: the request fails with the right kind, and the connection leaves the pool', () => {
  it('a server closing mid-body (FIN) fails with ECONNRESET -> connection_reset', async () => {
    const r = await rig(async (sock) => {
      sock.write(`HTTP/1.1 200 OK${CRLF}content-length: 10${CRLF}${CRLF}12345`);
      await sleep(5);
      sock.end();
    });
    try {
      const res = await r.get();
      expect(res.completed).toBe(false);
      expect(res.error?.code).toBe('ECONNRESET');
      expect(classifyError(res.error)).toBe('connection_reset');
      expect(res.conn.alive).toBe(false);
      expect(r.pool.acquire()).not.toBe(res.conn);
    } finally {
      await r.close();
    }
  });

  it('a server resetting mid-body (RST) and one closing before any byte of the head: connection_reset', async () => {
    const r = await rig(async (sock, req) => {
      if (req.conn === 0) {
        sock.write(`HTTP/1.1 200 OK${CRLF}transfer-encoding: chunked${CRLF}${CRLF}5${CRLF}ab`);
        await sleep(5);
        sock.resetAndDestroy();
      } else {
        sock.end();
      }
    });
    try {
      for (let i = 0; i < 2; i++) {
        const res = await r.get();
        expect(res.completed).toBe(false);
        expect(res.error?.code).toBe('ECONNRESET');
        expect(classifyError(res.error)).toBe('connection_reset');
        expect(res.conn.alive).toBe(false);
      }
      expect(r.raw.connections).toBe(2);
    } finally {
      await r.close();
    }
  });

  it('a body that ends with the connection is complete at the close, but a chunked body cut by the close is not', async () => {
    const r = await rig(async (sock, req) => {
      if (req.conn === 0) sock.end(`HTTP/1.1 200 OK${CRLF}${CRLF}until close`);
      else sock.end(`HTTP/1.1 200 OK${CRLF}transfer-encoding: chunked${CRLF}${CRLF}5${CRLF}abcde${CRLF}`);
    });
    try {
      const ok = await r.get();
      expect(ok).toMatchObject({ status: 200, completed: true, text: 'until close' });
      const cut = await r.get();
      expect(cut.completed).toBe(false);
      expect(classifyError(cut.error)).toBe('connection_reset');
    } finally {
      await r.close();
    }
  });

  it('connection refused -> connection_refused', async () => {
    const probe = createNetServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const pool = new ConnectionPool(endpointOf(`http://127.0.0.1:${port}`));
    const res = await send(pool, `127.0.0.1:${port}`);
    expect(res.completed).toBe(false);
    expect(res.error?.code).toBe('ECONNREFUSED');
    expect(classifyError(res.error)).toBe('connection_refused');
    expect(res.conn.alive).toBe(false);
    pool.destroyAll();
  });

  const bad: Array<[string, string | Buffer, RegExp]> = [
    ['a status line that is not HTTP/1.x', `HTTP/2 200 OK${CRLF}content-length: 0${CRLF}${CRLF}`, /not an HTTP\/1\.x response/],
    ['a status line from another protocol', `ICY 200 OK${CRLF}content-length: 0${CRLF}${CRLF}`, /not an HTTP\/1\.x response/],
    ['a status code with a letter', `HTTP/1.1 2x0 OK${CRLF}content-length: 0${CRLF}${CRLF}`, /bad status line/],
    ['a four-digit status', `HTTP/1.1 2000 OK${CRLF}content-length: 0${CRLF}${CRLF}`, /bad status line/],
    ['a status below 100', `HTTP/1.1 099 Odd${CRLF}content-length: 0${CRLF}${CRLF}`, /bad status line/],
    ['a non-numeric content-length', `HTTP/1.1 200 OK${CRLF}content-length: ten${CRLF}${CRLF}0123456789`, /bad content-length/],
    ['a negative content-length', `HTTP/1.1 200 OK${CRLF}content-length: -1${CRLF}${CRLF}`, /bad content-length/],
    ['an empty content-length', `HTTP/1.1 200 OK${CRLF}content-length:${CRLF}${CRLF}`, /bad content-length/],
    ['two different content-lengths', `HTTP/1.1 200 OK${CRLF}content-length: 3${CRLF}Content-Length: 4${CRLF}${CRLF}abcd`, /bad content-length/],
    ['a list of content-lengths', `HTTP/1.1 200 OK${CRLF}content-length: 3, 4${CRLF}${CRLF}abcd`, /bad content-length/],
    ['a bare CR inside a header value', `HTTP/1.1 200 OK${CRLF}x-a: a\rb${CRLF}content-length: 0${CRLF}${CRLF}`, /bare CR/],
    ['a header line without a colon', `HTTP/1.1 200 OK${CRLF}no colon here${CRLF}content-length: 0${CRLF}${CRLF}`, /bad header line/],
    ['a head over 64 KiB', `HTTP/1.1 200 OK${CRLF}x-big: ${'a'.repeat(70_000)}${CRLF}content-length: 0${CRLF}${CRLF}`, /head over 65536 bytes/],
    ['a chunk size that is not hex', `HTTP/1.1 200 OK${CRLF}transfer-encoding: chunked${CRLF}${CRLF}zz${CRLF}ab${CRLF}0${CRLF}${CRLF}`, /bad chunk size/],
    ['a negative chunk size', `HTTP/1.1 200 OK${CRLF}transfer-encoding: chunked${CRLF}${CRLF}-2${CRLF}ab${CRLF}0${CRLF}${CRLF}`, /bad chunk size/],
    ['an empty chunk size line', `HTTP/1.1 200 OK${CRLF}transfer-encoding: chunked${CRLF}${CRLF}${CRLF}0${CRLF}${CRLF}`, /bad chunk size/],
    ['chunk data longer than its size', `HTTP/1.1 200 OK${CRLF}transfer-encoding: chunked${CRLF}${CRLF}2${CRLF}abc${CRLF}0${CRLF}${CRLF}`, /not followed by CRLF/],
    ['101 Switching Protocols', `HTTP/1.1 101 Switching Protocols${CRLF}upgrade: websocket${CRLF}connection: upgrade${CRLF}${CRLF}`, /101 Switching Protocols/],
  ];
  for (const [what, response, message] of bad) {
    it(`${what} -> HttpProtocolError (other), connection dropped, the next request gets a new one`, async () => {
      const r = await rig((sock, req) => {
        // The socket stays open: the failure must come from the parser, not from a close.
        if (req.conn === 0) sock.write(bytesOf(response));
        else sock.write(withLength('fine'));
      });
      try {
        const res = await r.get();
        expect(res.completed).toBe(false);
        expect(res.error).toBeInstanceOf(HttpProtocolError);
        expect(res.error?.message).toMatch(message);
        expect(classifyError(res.error)).toBe('other');
        expect(res.conn.alive).toBe(false);
        const next = await r.get();
        expect(next).toMatchObject({ status: 200, text: 'fine', completed: true });
        expect(next.conn).not.toBe(res.conn);
        expect(r.raw.connections).toBe(2);
      } finally {
        await r.close();
      }
    });
  }

  it('a head over 64 KiB that never ends fails while the socket is still open (no unbounded buffering)', async () => {
    const r = await rig(async (sock) => {
      sock.write(`HTTP/1.1 200 OK${CRLF}`);
      for (let i = 0; i < 40 && !sock.destroyed; i++) {
        sock.write(`x-h${i}: ${'b'.repeat(2000)}${CRLF}`);
        await sleep(1);
      }
    });
    try {
      const res = await r.get();
      expect(res.error).toBeInstanceOf(HttpProtocolError);
      expect(res.error?.message).toMatch(/head over/);
    } finally {
      await r.close();
    }
  });

  it('a target that never answers is timed out by the Slot deadline; the connection is dropped, a late answer is not read', async () => {
    let late: Socket | undefined;
    const r = await rig((sock, req) => {
      if (req.conn === 0) {
        // Half a head, then silence until after the deadline.
        sock.write(`HTTP/1.1 200 OK${CRLF}content-le`);
        late = sock;
      } else sock.write(withLength('second'));
    });
    const slots = new InFlightSlots(150, 1024);
    try {
      const slot: Slot = slots.acquire(performance.now(), true);
      const conn = r.pool.acquire();
      const t = performance.now();
      const bytes = requestBytes('GET', '/', 'x', {}, undefined) as string;
      conn.dispatch(bytes, false, false, slot);
      await new Promise<void>(slot.settled);
      expect(performance.now() - t).toBeGreaterThanOrEqual(140);
      expect(slot.reason).toBe(REASON_TIMEOUT);
      expect(slot.failure).toBe(TIMEOUT_ERROR);
      expect(slot.status).toBe(-1);
      expect(classifyError(slot.failure)).toBe('other'); // the engine maps REASON_TIMEOUT to 'timeout' itself
      expect(conn.alive).toBe(false);
      r.pool.release(conn);
      slots.release(slot);
      late?.write(`ngth: 0${CRLF}${CRLF}`);
      const next = await r.get();
      expect(next).toMatchObject({ status: 200, text: 'second' });
      expect(next.conn).not.toBe(conn);
      expect(slots.size).toBe(0);
    } finally {
      slots.close();
      await r.close();
    }
  });
});
