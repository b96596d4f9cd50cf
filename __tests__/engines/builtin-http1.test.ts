// The built-in engine's own HTTP/1.1 client (src/engines/builtin/http1.ts) against real sockets: raw TCP servers on
// 127.0.0.1 that write scripted bytes (split across reads where that is the point), node:http servers where a real
// server is the point, undici as an oracle on the same bytes, and TLS with a certificate made by openssl.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createConnection, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { Agent, request as undiciRequest } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { classifyError } from '../../src/engines/builtin/flows.js';
import { headerProblem, pathProblem, requestBytes } from '../../src/engines/builtin/request-bytes.js';
import {
  ConnectionPool,
  endpointOf,
  HttpProtocolError,
  parseHead,
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

type Responder = (sock: Socket, req: RawRequest) => unknown;

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
async function rig(
  respond: Responder,
): Promise<{ raw: RawServer; pool: ConnectionPool; get: (o?: Send) => Promise<Result>; close: () => Promise<void> }> {
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

  it('connection refused by name (localhost: every address refused) -> connection_refused; an unresolvable name -> dns', async () => {
    const probe = createNetServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as { port: number }).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const pool = new ConnectionPool(endpointOf(`http://localhost:${port}`));
    const res = await send(pool, `localhost:${port}`);
    expect(res.completed).toBe(false);
    expect(classifyError(res.error)).toBe('connection_refused');
    pool.destroyAll();
    // RFC 6761: .invalid never resolves (a resolver that cannot be reached gives EAI_AGAIN, also 'dns').
    const nowhere = new ConnectionPool(endpointOf('http://perf-gate-test.invalid:81'));
    const dns = await send(nowhere, 'perf-gate-test.invalid:81', { limitMs: 10_000 });
    expect(dns.completed).toBe(false);
    expect(dns.error?.message).not.toMatch(/test: no answer/);
    expect(classifyError(dns.error)).toBe('dns');
    nowhere.destroyAll();
  });

  const bad: Array<[string, string | Buffer, RegExp]> = [
    [
      'a status line that is not HTTP/1.x',
      `HTTP/2 200 OK${CRLF}content-length: 0${CRLF}${CRLF}`,
      /not an HTTP\/1\.x response/,
    ],
    [
      'a status line from another protocol',
      `ICY 200 OK${CRLF}content-length: 0${CRLF}${CRLF}`,
      /not an HTTP\/1\.x response/,
    ],
    ['a status code with a letter', `HTTP/1.1 2x0 OK${CRLF}content-length: 0${CRLF}${CRLF}`, /bad status line/],
    ['a four-digit status', `HTTP/1.1 2000 OK${CRLF}content-length: 0${CRLF}${CRLF}`, /bad status line/],
    ['a status below 100', `HTTP/1.1 099 Odd${CRLF}content-length: 0${CRLF}${CRLF}`, /bad status line/],
    [
      'a non-numeric content-length',
      `HTTP/1.1 200 OK${CRLF}content-length: ten${CRLF}${CRLF}0123456789`,
      /bad content-length/,
    ],
    ['a negative content-length', `HTTP/1.1 200 OK${CRLF}content-length: -1${CRLF}${CRLF}`, /bad content-length/],
    ['an empty content-length', `HTTP/1.1 200 OK${CRLF}content-length:${CRLF}${CRLF}`, /bad content-length/],
    [
      'two different content-lengths',
      `HTTP/1.1 200 OK${CRLF}content-length: 3${CRLF}Content-Length: 4${CRLF}${CRLF}abcd`,
      /bad content-length/,
    ],
    ['a list of content-lengths', `HTTP/1.1 200 OK${CRLF}content-length: 3, 4${CRLF}${CRLF}abcd`, /bad content-length/],
    [
      'a bare CR inside a header value',
      `HTTP/1.1 200 OK${CRLF}x-a: a\rb${CRLF}content-length: 0${CRLF}${CRLF}`,
      /bare CR/,
    ],
    // undici refuses these two (HPE_INVALID_HEADER_TOKEN); read leniently, the content-length is lost and the body
    // would be read until a close that a keep-alive server never sends.
    [
      'a bare LF hiding a content-length',
      `HTTP/1.1 200 OK${CRLF}x-a: b\ncontent-length: 5${CRLF}${CRLF}hello`,
      /bare CR or LF/,
    ],
    ['a bare LF ending the status line', `HTTP/1.1 200 OK\ncontent-length: 5${CRLF}${CRLF}hello`, /bare CR or LF/],
    [
      'whitespace between a header name and its colon',
      `HTTP/1.1 200 OK${CRLF}Content-Length : 5${CRLF}${CRLF}hello`,
      /bad header line/,
    ],
    [
      'a header name that is not a token (a framing header lost in it)',
      `HTTP/1.1 200 OK${CRLF}conte t-length: 5${CRLF}${CRLF}hello`,
      /bad header line/,
    ],
    [
      'a comma in a header name',
      `HTTP/1.1 200 OK${CRLF},transfer-encoding: chunked${CRLF}${CRLF}0${CRLF}${CRLF}`,
      /bad header line/,
    ],
    [
      'a head whose lines end in bare LFs (it never shows a CRLFCRLF)',
      `HTTP/1.1 200 OK\ncontent-length: 5\n\nhello`,
      /bare CR or LF/,
    ],
    ['a head ending in LF CRLF', `HTTP/1.1 200 OK${CRLF}content-length: 5\n${CRLF}hello`, /bare CR or LF/],
    [
      'a header line without a colon',
      `HTTP/1.1 200 OK${CRLF}no colon here${CRLF}content-length: 0${CRLF}${CRLF}`,
      /bad header line/,
    ],
    [
      'a head over 64 KiB',
      `HTTP/1.1 200 OK${CRLF}x-big: ${'a'.repeat(70_000)}${CRLF}content-length: 0${CRLF}${CRLF}`,
      /head over 65536 bytes/,
    ],
    [
      'a chunk size that is not hex',
      `HTTP/1.1 200 OK${CRLF}transfer-encoding: chunked${CRLF}${CRLF}zz${CRLF}ab${CRLF}0${CRLF}${CRLF}`,
      /bad chunk size/,
    ],
    [
      'a negative chunk size',
      `HTTP/1.1 200 OK${CRLF}transfer-encoding: chunked${CRLF}${CRLF}-2${CRLF}ab${CRLF}0${CRLF}${CRLF}`,
      /bad chunk size/,
    ],
    [
      'an empty chunk size line',
      `HTTP/1.1 200 OK${CRLF}transfer-encoding: chunked${CRLF}${CRLF}${CRLF}0${CRLF}${CRLF}`,
      /bad chunk size/,
    ],
    [
      'chunk data longer than its size',
      `HTTP/1.1 200 OK${CRLF}transfer-encoding: chunked${CRLF}${CRLF}2${CRLF}abc${CRLF}0${CRLF}${CRLF}`,
      /not followed by CRLF/,
    ],
    // Chunk data one byte short of its size, its CR taken as data and a bare LF as the CRLF: it read as a success
    // with the body "ab\rde" before.
    [
      'a chunk one byte short of its size',
      `HTTP/1.1 200 OK${CRLF}transfer-encoding: chunked${CRLF}${CRLF}3${CRLF}ab${CRLF}2${CRLF}de${CRLF}0${CRLF}${CRLF}`,
      /not ended by CRLF/,
    ],
    [
      'a chunk size line ended by a bare LF',
      `HTTP/1.1 200 OK${CRLF}transfer-encoding: chunked${CRLF}${CRLF}2\nab${CRLF}0${CRLF}${CRLF}`,
      /not ended by CRLF/,
    ],
    [
      'a trailer line ended by a bare LF',
      `HTTP/1.1 200 OK${CRLF}transfer-encoding: chunked${CRLF}${CRLF}2${CRLF}ab${CRLF}0${CRLF}t: 1\n${CRLF}`,
      /not ended by CRLF/,
    ],
    [
      '101 Switching Protocols',
      `HTTP/1.1 101 Switching Protocols${CRLF}upgrade: websocket${CRLF}connection: upgrade${CRLF}${CRLF}`,
      /101 Switching Protocols/,
    ],
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

describe("through the engine's Slot", () => {
  it('an interim 100 and then silence is a timeout, not a response; a body over the limit is read to its end but not kept', async () => {
    const r = await rig((sock, req) => {
      if (req.conn === 0) sock.write(`HTTP/1.1 100 Continue${CRLF}${CRLF}`);
      else
        sock.write(
          `HTTP/1.1 200 OK${CRLF}transfer-encoding: chunked${CRLF}${CRLF}4${CRLF}abcd${CRLF}4${CRLF}efgh${CRLF}0${CRLF}${CRLF}`,
        );
    });
    const slots = new InFlightSlots(150, 6);
    try {
      const go = async (): Promise<Slot> => {
        const slot = slots.acquire(performance.now(), true);
        const conn = r.pool.acquire();
        slot.client = conn;
        conn.dispatch(requestBytes('GET', '/', 'x', {}, undefined) as string, false, false, slot);
        await new Promise<void>(slot.settled);
        r.pool.release(conn);
        return slot;
      };
      const interim = await go();
      expect(interim).toMatchObject({ status: -1, reason: REASON_TIMEOUT, failure: TIMEOUT_ERROR });
      expect((interim.client as Http1Connection).alive).toBe(false);
      slots.release(interim);
      const big = await go();
      expect(big).toMatchObject({ status: 200, truncated: true, size: 4, failure: undefined });
      expect(Buffer.concat(big.chunks!).toString()).toBe('abcd');
      expect((big.client as Http1Connection).alive).toBe(true);
      slots.release(big);
      expect(slots.size).toBe(0);
    } finally {
      slots.close();
      await r.close();
    }
  });
});

// ---- 1. framing --------------------------------------------------------------------------------------------------

describe('framing: where each response ends', () => {
  /**
   * Answer the first request with `response` (and `end` the socket after it if asked), later ones with "next": a
   * second request on the same connection proves the parser stopped exactly at the response's end.
   */
  async function framed(
    response: string | Buffer,
    o: Send & { endAfter?: boolean } = {},
  ): Promise<{ first: Result; second: Result; connections: number }> {
    const r = await rig((sock, req) => {
      if (req.conn === 0 && req.onConn === 0) {
        if (o.endAfter) sock.end(bytesOf(response));
        else sock.write(bytesOf(response));
      } else sock.write(withLength('next'));
    });
    try {
      const first = await r.get(o);
      const second = await r.get();
      expect(second).toMatchObject({ status: 200, text: 'next', completed: true });
      return { first, second, connections: r.raw.connections };
    } finally {
      await r.close();
    }
  }

  it('content-length body, and the connection is reused', async () => {
    const { first, second, connections } = await framed(withLength('hello world', `x-a: 1${CRLF}`));
    expect(first).toMatchObject({ status: 200, text: 'hello world', completed: true, error: undefined });
    expect(first.headers).toMatchObject({ 'content-length': '11', 'x-a': '1' });
    expect(second.conn).toBe(first.conn);
    expect(connections).toBe(1);
  });

  it('chunked body with chunk extensions and trailers', async () => {
    const response =
      `HTTP/1.1 200 OK${CRLF}Transfer-Encoding: chunked${CRLF}trailer: x-sum${CRLF}${CRLF}` +
      `5;name=value${CRLF}hello${CRLF}` +
      `1 ; quoted="a;b"${CRLF} ${CRLF}` +
      `A${CRLF}0123456789${CRLF}` +
      `0;last${CRLF}x-sum: 42${CRLF}x-other: y${CRLF}${CRLF}`;
    const { first, second, connections } = await framed(response);
    expect(first).toMatchObject({ status: 200, text: 'hello 0123456789', completed: true });
    expect(second.conn).toBe(first.conn);
    expect(connections).toBe(1);
  });

  it('transfer-encoding chunked overrides a content-length, and that connection is not trusted again', async () => {
    const { first, connections } = await framed(
      `HTTP/1.1 200 OK${CRLF}content-length: 100${CRLF}transfer-encoding: chunked${CRLF}${CRLF}3${CRLF}abc${CRLF}0${CRLF}${CRLF}`,
    );
    expect(first).toMatchObject({ status: 200, text: 'abc', completed: true });
    expect(first.conn.alive).toBe(false);
    expect(connections).toBe(2);
  });

  it('a body without length ends at the close, and that connection is not reused', async () => {
    const { first, second, connections } = await framed(
      `HTTP/1.1 200 OK${CRLF}content-type: text/plain${CRLF}${CRLF}all of it, then FIN`,
      { endAfter: true },
    );
    expect(first).toMatchObject({ status: 200, text: 'all of it, then FIN', completed: true });
    expect(first.conn.alive).toBe(false);
    expect(second.conn).not.toBe(first.conn);
    expect(connections).toBe(2);
  });

  it('a coding other than chunked last ends the body at the close', async () => {
    const { first, connections } = await framed(
      `HTTP/1.1 200 OK${CRLF}transfer-encoding: chunked, identity${CRLF}${CRLF}raw bytes`,
      { endAfter: true },
    );
    expect(first).toMatchObject({ status: 200, text: 'raw bytes', completed: true });
    expect(connections).toBe(2);
  });

  it('HEAD: a content-length with no body after it', async () => {
    const { first, second, connections } = await framed(`HTTP/1.1 200 OK${CRLF}content-length: 1234${CRLF}${CRLF}`, {
      method: 'HEAD',
    });
    expect(first).toMatchObject({ status: 200, text: '', completed: true });
    expect(first.headers?.['content-length']).toBe('1234');
    expect(second.conn).toBe(first.conn);
    expect(connections).toBe(1);
  });

  it('HEAD: a transfer-encoding chunked with no body after it', async () => {
    const { first, connections } = await framed(`HTTP/1.1 200 OK${CRLF}transfer-encoding: chunked${CRLF}${CRLF}`, {
      method: 'HEAD',
    });
    expect(first).toMatchObject({ status: 200, completed: true });
    expect(connections).toBe(1);
  });

  for (const status of ['204 No Content', '304 Not Modified']) {
    it(`${status} has no body, whatever its headers say`, async () => {
      const { first, second, connections } = await framed(
        `HTTP/1.1 ${status}${CRLF}content-length: 50${CRLF}etag: "x"${CRLF}${CRLF}`,
      );
      expect(first).toMatchObject({ status: Number(status.slice(0, 3)), text: '', completed: true });
      expect(second.conn).toBe(first.conn);
      expect(connections).toBe(1);
    });
  }

  it('interim 100 and 103 responses before the final one are skipped (and their headers are not the response)', async () => {
    const { first, connections } = await framed(
      `HTTP/1.1 100 Continue${CRLF}${CRLF}HTTP/1.1 103 Early Hints${CRLF}link: </a.css>; rel=preload${CRLF}${CRLF}` +
        withLength('final', `x-final: 1${CRLF}`),
    );
    expect(first).toMatchObject({ status: 200, text: 'final', completed: true });
    expect(first.headers?.['link']).toBeUndefined();
    expect(first.headers?.['x-final']).toBe('1');
    expect(connections).toBe(1);
  });

  it('interim responses in reads of their own', async () => {
    const r = await rig(async (sock) => {
      sock.write(`HTTP/1.1 100 Continue${CRLF}${CRLF}`);
      await sleep(5);
      sock.write(`HTTP/1.1 103 Early Hints${CRLF}link: </a.js>${CRLF}${CRLF}`);
      await sleep(5);
      sock.write(withLength('after hints'));
    });
    try {
      expect(await r.get()).toMatchObject({ status: 200, text: 'after hints', completed: true });
    } finally {
      await r.close();
    }
  });

  it('HTTP/1.0 without keep-alive is not reused; with connection: keep-alive it is', async () => {
    const plain = await framed(`HTTP/1.0 200 OK${CRLF}content-length: 2${CRLF}${CRLF}ok`);
    expect(plain.first).toMatchObject({ status: 200, text: 'ok', completed: true });
    expect(plain.first.conn.alive).toBe(false);
    expect(plain.connections).toBe(2);
    const kept = await framed(`HTTP/1.0 200 OK${CRLF}Connection: Keep-Alive${CRLF}content-length: 2${CRLF}${CRLF}ok`);
    expect(kept.first).toMatchObject({ status: 200, text: 'ok', completed: true });
    expect(kept.second.conn).toBe(kept.first.conn);
    expect(kept.connections).toBe(1);
  });

  it('HTTP/1.0 without a length reads to the close', async () => {
    const { first, connections } = await framed(`HTTP/1.0 200 OK${CRLF}${CRLF}old style`, { endAfter: true });
    expect(first).toMatchObject({ status: 200, text: 'old style', completed: true });
    expect(connections).toBe(2);
  });

  it('a status line without a reason phrase, and header names in any case', async () => {
    const { first, connections } = await framed(
      `HTTP/1.1 201${CRLF}CONTENT-LENGTH: 3${CRLF}Set-Cookie: a=1${CRLF}${CRLF}abc`,
    );
    expect(first).toMatchObject({ status: 201, text: 'abc', completed: true, setCookie: true, cookies: ['a=1'] });
    expect(connections).toBe(1);
  });

  it('a body is not kept when the sink does not ask for it, but the response is still read to its end', async () => {
    const r = await rig((sock, req) =>
      sock.write(
        req.onConn === 0
          ? `HTTP/1.1 200 OK${CRLF}transfer-encoding: chunked${CRLF}${CRLF}4${CRLF}abcd${CRLF}0${CRLF}${CRLF}`
          : withLength('two'),
      ),
    );
    try {
      const conn = r.pool.acquire();
      const sink = new Collect();
      sink.keepBody = false;
      conn.dispatch(requestBytes('GET', '/', 'x', {}, undefined) as string, false, false, sink);
      await sink.done;
      r.pool.release(conn);
      expect(sink).toMatchObject({ status: 200, completed: true, chunks: [] });
      expect(await r.get()).toMatchObject({ text: 'two', conn });
    } finally {
      await r.close();
    }
  });
});

// ---- 4. connection reuse -----------------------------------------------------------------------------------------

describe('connection reuse', () => {
  let server: HttpServer;
  let origin: string;
  let accepted = 0;
  const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: string }> = [];
  beforeAll(async () => {
    server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body });
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ method: req.method, url: req.url, body }));
      });
    });
    server.on('connection', () => accepted++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('keep-alive: sequential requests to a node:http server share one socket', async () => {
    const ep = endpointOf(origin);
    const pool = new ConnectionPool(ep);
    const before = accepted;
    const conns = new Set<Http1Connection>();
    for (let i = 0; i < 10; i++) {
      const res = await send(pool, ep.hostHeader, { path: `/n/${i}` });
      expect(res.status).toBe(200);
      expect(JSON.parse(res.text)).toMatchObject({ url: `/n/${i}` });
      conns.add(res.conn);
    }
    expect(conns.size).toBe(1);
    expect(accepted - before).toBe(1);
    expect(pool.opened).toBe(1);
    pool.destroyAll();
  });

  it('a step sending connection: close is not reused (node:http echoes it; the raw server below does not)', async () => {
    const ep = endpointOf(origin);
    const pool = new ConnectionPool(ep);
    const before = accepted;
    for (let i = 0; i < 3; i++) {
      const res = await send(pool, ep.hostHeader, { headers: { connection: 'close' }, closeAfter: true });
      expect(res).toMatchObject({ status: 200, completed: true });
      expect(res.conn.alive).toBe(false);
    }
    expect(accepted - before).toBe(3);
    expect(seen.slice(-3).map((r) => r.headers.connection)).toEqual(['close', 'close', 'close']);
    pool.destroyAll();
    // A server that keeps the connection open anyway: closeAfter alone keeps the client from reusing it.
    const r = await rig((sock) => sock.write(withLength('kept open')));
    try {
      const a = await r.get({ headers: { connection: 'close' }, closeAfter: true });
      const b = await r.get();
      expect(a).toMatchObject({ status: 200, text: 'kept open' });
      expect(b).toMatchObject({ status: 200, text: 'kept open' });
      expect(b.conn).not.toBe(a.conn);
      expect(r.raw.connections).toBe(2);
    } finally {
      await r.close();
    }
  });

  it('connection: close in the response is not reused, even when the server leaves the socket open', async () => {
    const r = await rig((sock) => sock.write(withLength('bye', `Connection: Close${CRLF}`)));
    try {
      const a = await r.get();
      const b = await r.get();
      expect(a).toMatchObject({ status: 200, text: 'bye', completed: true });
      expect(a.conn.alive).toBe(false);
      expect(b.conn).not.toBe(a.conn);
      expect(r.raw.connections).toBe(2);
    } finally {
      await r.close();
    }
  });

  it('keep-alive: timeout=2 allows reuse at once but not after 1.1 s idle; timeout=1 is never reused (as undici)', async () => {
    let hint = 'timeout=2';
    const r = await rig((sock) => sock.write(withLength('k', `keep-alive: ${hint}${CRLF}`)));
    try {
      const a = await r.get();
      const b = await r.get();
      expect(b.conn).toBe(a.conn);
      expect(r.raw.connections).toBe(1);
      await sleep(1100);
      // The server (which does not close here) would accept the write: only the hint makes the pool open anew.
      const c = await r.get();
      expect(c).toMatchObject({ status: 200, text: 'k' });
      expect(c.conn).not.toBe(a.conn);
      expect(r.raw.connections).toBe(2);
      // The next response (on c's connection, still within its 1 s) says timeout=1: 0 ms left, so not reused again.
      hint = 'timeout=1, max=100';
      const d = await r.get();
      expect(d.conn).toBe(c.conn);
      const e = await r.get();
      expect(e.conn).not.toBe(d.conn);
      expect(r.raw.connections).toBe(3);
    } finally {
      await r.close();
    }
  });

  it("node:http's own Keep-Alive hint: reused within (timeout - 1 s), a new connection after it", async () => {
    const server = createHttpServer((_req, res) => res.end('ka'));
    server.keepAliveTimeout = 2000;
    let accepted = 0;
    server.on('connection', () => accepted++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const ep = endpointOf(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
    const pool = new ConnectionPool(ep);
    try {
      const a = await send(pool, ep.hostHeader);
      expect(a.headers?.['keep-alive']).toBe('timeout=2');
      await sleep(500);
      const b = await send(pool, ep.hostHeader);
      expect(b.conn).toBe(a.conn);
      await sleep(1100);
      const c = await send(pool, ep.hostHeader);
      expect(c).toMatchObject({ status: 200, text: 'ka', error: undefined });
      expect(c.conn).not.toBe(a.conn);
      expect(accepted).toBe(2);
    } finally {
      pool.destroyAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  it('endpointOf: default ports, IPv6 literals, the host header', () => {
    expect(endpointOf('http://example.test')).toEqual({
      host: 'example.test',
      port: 80,
      tls: false,
      hostHeader: 'example.test',
    });
    expect(endpointOf('https://example.test')).toEqual({
      host: 'example.test',
      port: 443,
      tls: true,
      hostHeader: 'example.test',
    });
    expect(endpointOf('https://example.test:443/x?y')).toEqual({
      host: 'example.test',
      port: 443,
      tls: true,
      hostHeader: 'example.test',
    });
    expect(endpointOf('http://example.test:8080/base')).toEqual({
      host: 'example.test',
      port: 8080,
      tls: false,
      hostHeader: 'example.test:8080',
    });
    expect(endpointOf('http://[::1]:8080')).toEqual({ host: '::1', port: 8080, tls: false, hostHeader: '[::1]:8080' });
    expect(endpointOf('http://user:pw@127.0.0.1:81')).toEqual({
      host: '127.0.0.1',
      port: 81,
      tls: false,
      hostHeader: '127.0.0.1:81',
    });
  });

  it('a server that closes an idle connection at its keep-alive timeout: the next request is not written into it', async () => {
    const r = await rig((sock) => {
      sock.write(withLength('k', `keep-alive: timeout=1${CRLF}`));
      setTimeout(() => sock.end(), 1000).unref();
    });
    try {
      const a = await r.get();
      await sleep(1000);
      const b = await r.get();
      expect(b).toMatchObject({ status: 200, completed: true, error: undefined });
      expect(b.conn).not.toBe(a.conn);
    } finally {
      await r.close();
    }
  });

  it('a server that closed an idle connection (FIN): the pool drops it and the next request gets a new one', async () => {
    const r = await rig((sock, req) => {
      sock.write(withLength('once'));
      if (req.conn === 0) setTimeout(() => sock.end(), 20).unref();
    });
    try {
      const a = await r.get();
      await sleep(100);
      expect(a.conn.alive).toBe(false);
      const b = await r.get();
      expect(b).toMatchObject({ status: 200, text: 'once', error: undefined });
      expect(r.raw.connections).toBe(2);
    } finally {
      await r.close();
    }
  });

  it('bytes after a complete response (same read: an unrequested second response) fail the request and drop the connection', async () => {
    const r = await rig((sock, req) =>
      sock.write(
        req.conn === 0 ? withLength('first') + 'HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n' : withLength('clean'),
      ),
    );
    try {
      const a = await r.get();
      expect(a.completed).toBe(false);
      expect(a.error).toBeInstanceOf(HttpProtocolError);
      expect(a.error?.message).toMatch(/bytes after the end of the response/);
      expect(classifyError(a.error)).toBe('other');
      expect(a.conn.alive).toBe(false);
      const b = await r.get();
      expect(b).toMatchObject({ status: 200, text: 'clean' });
      expect(b.conn).not.toBe(a.conn);
      expect(r.raw.connections).toBe(2);
    } finally {
      await r.close();
    }
  });

  it('bytes after a complete chunked response, more than content-length, a body on HEAD, 204 and 304: an error of kind other, never a success', async () => {
    for (const [response, method, what] of [
      [
        `HTTP/1.1 200 OK${CRLF}transfer-encoding: chunked${CRLF}${CRLF}1${CRLF}a${CRLF}0${CRLF}${CRLF}junk`,
        'GET',
        'the response',
      ],
      [`HTTP/1.1 200 OK${CRLF}content-length: 2${CRLF}${CRLF}ok1234567`, 'GET', 'the response'],
      [`HTTP/1.1 200 OK${CRLF}content-length: 5${CRLF}${CRLF}hello`, 'HEAD', 'a HEAD response'],
      [`HTTP/1.1 204 No Content${CRLF}${CRLF}x`, 'GET', 'a 204 response'],
      [`HTTP/1.1 304 Not Modified${CRLF}content-length: 3${CRLF}${CRLF}abc`, 'GET', 'a 304 response'],
    ] as const) {
      const r = await rig((sock) => sock.write(response));
      try {
        const a = await r.get({ method });
        expect(a.completed, response).toBe(false);
        expect(a.error?.message).toContain(`bytes after the end of ${what}`);
        expect(classifyError(a.error)).toBe('other');
        expect(a.conn.alive).toBe(false);
      } finally {
        await r.close();
      }
    }
  });

  it('unsolicited bytes on an idle connection drop it; the next request gets a new one', async () => {
    const r = await rig(async (sock, req) => {
      sock.write(withLength('answer'));
      if (req.conn === 0) {
        await sleep(20);
        sock.write(withLength('nobody asked'));
      }
    });
    try {
      const a = await r.get();
      expect(a).toMatchObject({ status: 200, text: 'answer', completed: true });
      expect(a.conn.alive).toBe(true);
      await sleep(80);
      expect(a.conn.alive).toBe(false);
      const b = await r.get();
      expect(b).toMatchObject({ status: 200, text: 'answer' });
      expect(b.conn).not.toBe(a.conn);
      expect(r.raw.connections).toBe(2);
    } finally {
      await r.close();
    }
  });
});

// ---- 2. responses split across reads -----------------------------------------------------------------------------

type Framing = 'length' | 'chunked' | 'close';
interface Spec {
  status: number;
  body: Buffer;
  framing: Framing;
  /** Chunk sizes, used in turn until the body is cut up (chunked only). */
  chunks: number[];
  ext: boolean;
  trailers: boolean;
  interim: boolean;
}
interface Built {
  bytes: Buffer;
  /** Byte positions worth cutting at: inside each CRLFCRLF, inside a chunk-size line, between chunk data and its CRLF. */
  notable: number[];
}

function build(spec: Spec): Built {
  const parts: Buffer[] = [];
  const notable: number[] = [];
  let at = 0;
  const add = (b: Buffer | string): void => {
    const buf = bytesOf(b);
    parts.push(buf);
    at += buf.length;
  };
  if (spec.interim) {
    add(`HTTP/1.1 100 Continue${CRLF}${CRLF}`);
    notable.push(at - 3, at - 2, at - 1);
  }
  const framingHeader =
    spec.framing === 'length'
      ? `content-length: ${spec.body.length}${CRLF}`
      : spec.framing === 'chunked'
        ? `transfer-encoding: chunked${CRLF}`
        : '';
  add(`HTTP/1.1 ${spec.status} Something${CRLF}x-before: 1${CRLF}${framingHeader}x-after: 2${CRLF}${CRLF}`);
  notable.push(at - 4, at - 3, at - 2, at - 1);
  if (spec.framing !== 'chunked') add(spec.body);
  else {
    let from = 0;
    for (let i = 0; from < spec.body.length; i++) {
      const size = Math.min(
        spec.chunks.length ? spec.chunks[i % spec.chunks.length]! : spec.body.length,
        spec.body.length - from,
      );
      const sizeLine = size.toString(16) + (spec.ext ? `;ext${i}="v"` : '');
      notable.push(at + 1); // after the first digit of the size
      add(sizeLine + CRLF);
      notable.push(at - 1); // between the size line's CR and LF
      add(spec.body.subarray(from, from + size));
      notable.push(at, at + 1); // between the data and its CR, between CR and LF
      add(CRLF);
      from += size;
    }
    add(`0${spec.ext ? ';end' : ''}${CRLF}`);
    notable.push(at - 1);
    if (spec.trailers) add(`x-trailer: t${CRLF}`);
    add(CRLF);
    notable.push(at - 1);
  }
  return { bytes: Buffer.concat(parts), notable };
}

describe('responses split across reads at any byte', () => {
  let current: { built: Built; cuts: number[]; framing: Framing } | undefined;
  let r: Awaited<ReturnType<typeof rig>>;
  beforeAll(async () => {
    r = await rig(async (sock) => {
      const c = current!;
      await writePieces(sock, c.built.bytes, c.cuts, 2);
      if (c.framing === 'close') sock.end();
    });
  });
  afterAll(async () => r.close());

  async function check(spec: Spec, cuts: number[]): Promise<void> {
    const built = build(spec);
    current = { built, cuts, framing: spec.framing };
    const res = await r.get();
    expect(res.error).toBeUndefined();
    expect(res.completed).toBe(true);
    expect(res.status).toBe(spec.status);
    expect(res.body.equals(spec.body)).toBe(true);
    expect(res.headers).toMatchObject({ 'x-before': '1', 'x-after': '2' });
    // A response with a length or chunks leaves the connection reusable (the next run uses it); one read until
    // the close does not.
    expect(res.conn.alive).toBe(spec.framing !== 'close');
  }

  it('the harness: pieces written a few ms apart arrive as separate reads', async () => {
    const bytes = Buffer.from('0123456789abcdefghij');
    const cuts = [2, 4, 6, 8, 10, 12, 14, 16, 18];
    const srv = createNetServer((sock) => {
      sock.setNoDelay(true);
      void writePieces(sock, bytes, cuts, 2).then(() => sock.end());
    });
    await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', resolve));
    const reads: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const c = createConnection((srv.address() as { port: number }).port, '127.0.0.1');
      c.on('data', (b: Buffer) => reads.push(b.toString()));
      c.on('end', () => resolve());
      c.on('error', reject);
    });
    await new Promise<void>((resolve) => srv.close(() => resolve()));
    expect(reads.join('')).toBe(bytes.toString());
    // Loopback delivers each write on its own (10 reads here); a busy machine may merge a few, never most.
    expect(reads.length).toBeGreaterThanOrEqual(6);
  });

  it('a chunked response with an interim 100, extensions and a trailer, cut in two at every byte', async () => {
    const spec: Spec = {
      status: 200,
      body: Buffer.from('héllo, wörld: ✓ 日本', 'utf8'),
      framing: 'chunked',
      chunks: [3, 7, 1],
      ext: true,
      trailers: true,
      interim: true,
    };
    const { bytes } = build(spec);
    const before = r.raw.connections;
    for (let cut = 1; cut < bytes.length; cut++) await check(spec, [cut]);
    // Every one of them on the same connection: each response ended exactly where it should.
    expect(r.raw.connections - before).toBeLessThanOrEqual(1);
  });

  it('a content-length response cut in two at every byte, and cut into single bytes', async () => {
    const spec: Spec = {
      status: 201,
      body: Buffer.from('{"ok":true,"name":"Zoë"}', 'utf8'),
      framing: 'length',
      chunks: [],
      ext: false,
      trailers: false,
      interim: false,
    };
    const { bytes } = build(spec);
    for (let cut = 1; cut < bytes.length; cut++) await check(spec, [cut]);
    await check(
      spec,
      Array.from({ length: bytes.length }, (_, i) => i),
    );
  });

  it('property: random bodies, framings and chunkings, cut at random and at notable positions', async () => {
    const spec = fc.record({
      status: fc.constantFrom(200, 201, 404, 500, 503),
      body: fc.oneof(
        fc.string({ unit: 'binary', maxLength: 120 }).map((s) => Buffer.from(s, 'utf8')),
        fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
      ),
      framing: fc.constantFrom<Framing>('length', 'chunked', 'close'),
      chunks: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 5 }),
      ext: fc.boolean(),
      trailers: fc.boolean(),
      interim: fc.boolean(),
    });
    const cuts = fc.record({
      random: fc.array(fc.nat(), { maxLength: 5 }),
      picks: fc.array(fc.nat(), { maxLength: 4 }),
    });
    await fc.assert(
      fc.asyncProperty(spec, cuts, async (s, c) => {
        const { bytes, notable } = build(s);
        const at = [
          ...c.random.map((n) => 1 + (n % (bytes.length - 1))),
          ...c.picks.map((n) => notable[n % notable.length]!),
        ];
        await check(s, at);
      }),
      { numRuns: 120 },
    );
  });
});

// ---- 6. requests -------------------------------------------------------------------------------------------------

describe('request bytes', () => {
  const text = (b: Buffer | string | Error): string => {
    if (b instanceof Error) throw b;
    return typeof b === 'string' ? b : b.toString('latin1');
  };

  it('content-length counts the UTF-8 bytes of a multibyte body, and the body is UTF-8 after a latin-1 head', () => {
    const body = '{"name":"Zoë","mark":"✓","jp":"日本","emoji":"🙂"}';
    const bytes = requestBytes(
      'POST',
      '/bids',
      'example.test:8080',
      { 'content-type': 'application/json', 'x-note': 'café' },
      body,
    );
    expect(Buffer.isBuffer(bytes)).toBe(true);
    const buf = bytes as Buffer;
    const end = buf.indexOf('\r\n\r\n');
    const head = buf.toString('latin1', 0, end);
    expect(head.split('\r\n')).toEqual([
      'POST /bids HTTP/1.1',
      'host: example.test:8080',
      'content-type: application/json',
      'x-note: café',
      `content-length: ${Buffer.byteLength(body, 'utf8')}`,
    ]);
    expect(Buffer.byteLength(body, 'utf8')).toBeGreaterThan(body.length);
    expect(buf.subarray(end + 4).toString('utf8')).toBe(body);
    expect(buf.length).toBe(end + 4 + Buffer.byteLength(body, 'utf8'));
    // The latin-1 header value is one byte per character on the wire.
    expect(buf.indexOf(Buffer.from([0x63, 0x61, 0x66, 0xe9]))).toBeGreaterThan(0);
  });

  it('content-length: 0 for POST, PUT and PATCH without a body; none for GET, HEAD, DELETE', () => {
    for (const m of ['POST', 'PUT', 'PATCH'])
      expect(text(requestBytes(m, '/', 'h', {}, undefined))).toBe(
        `${m} / HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n\r\n`,
      );
    for (const m of ['GET', 'HEAD', 'DELETE', 'OPTIONS'])
      expect(text(requestBytes(m, '/', 'h', {}, undefined))).toBe(`${m} / HTTP/1.1\r\nhost: h\r\n\r\n`);
    expect(text(requestBytes('POST', '/', 'h', {}, ''))).toBe(
      'POST / HTTP/1.1\r\nhost: h\r\ncontent-length: 0\r\n\r\n',
    );
  });

  it('a host header of the step replaces the default one', () => {
    const t = text(requestBytes('GET', '/', '127.0.0.1:1234', { host: 'api.example.test', accept: '*/*' }, undefined));
    expect(t).toBe('GET / HTTP/1.1\r\nhost: api.example.test\r\naccept: */*\r\n\r\n');
    expect(t.match(/^host:/gim)).toHaveLength(1);
  });

  it('a header value or a path with CR/LF (a rendered template) is an Error, never bytes', () => {
    for (const v of ['a\r\nx-injected: 1', 'a\nb', 'a\rb', 'nul\u0000', 'del\u007f', '日本']) {
      const out = requestBytes('GET', '/', 'h', { 'x-a': v }, undefined);
      expect(out).toBeInstanceOf(Error);
      expect((out as Error).message).toMatch(/header x-a/);
    }
    for (const p of ['/a\r\nx: 1', '/a b', '/\n', '/日本', '/tab\there']) {
      const out = requestBytes('GET', p, 'h', {}, undefined);
      expect(out).toBeInstanceOf(Error);
      expect((out as Error).message).toMatch(/invalid request path/);
    }
    // A tab and latin-1 in a value are fine; so are a query and percent-escapes in a path.
    expect(requestBytes('GET', '/a?b=c%20d&e=%E6%97%A5', 'h', { 'x-a': 'one\ttwo é' }, undefined)).not.toBeInstanceOf(
      Error,
    );
  });

  it('headerProblem refuses framing headers, a connection other than close/keep-alive, bad names and control characters', () => {
    for (const n of ['content-length', 'transfer-encoding', 'upgrade', 'expect', 'te', 'trailer', 'keep-alive']) {
      expect(headerProblem(n, 'x')).toMatch(/sets .* itself/);
      expect(headerProblem(n, undefined)).toMatch(/sets .* itself/);
      // Header names are case-insensitive: the check does not rely on its caller lower-casing them.
      expect(headerProblem(n.toUpperCase(), 'x')).toMatch(/sets .* itself/);
    }
    expect(headerProblem('Connection', 'upgrade')).toMatch(/only "close" or "keep-alive"/);
    expect(headerProblem('connection', 'upgrade')).toMatch(/only "close" or "keep-alive"/);
    expect(headerProblem('connection', 'close, upgrade')).toMatch(/only "close" or "keep-alive"/);
    expect(headerProblem('connection', 'Close')).toBeUndefined();
    expect(headerProblem('connection', 'keep-alive')).toBeUndefined();
    for (const n of ['', 'x a', 'x:y', 'x\r\ny', 'café', 'x"y', '(x)'])
      expect(headerProblem(n, 'v')).toMatch(/not a valid header name/);
    expect(headerProblem('x-a', 'line\nbreak')).toMatch(/control character/);
    // Text outside latin-1 cannot be written in a header: said as such, not as a line break.
    expect(headerProblem('x-a', '日本')).toMatch(/outside latin-1/);
    expect((requestBytes('GET', '/', 'h', { 'x-a': '🙂' }, undefined) as Error).message).toMatch(/outside latin-1/);
    expect(headerProblem('authorization', 'Bearer abc.def')).toBeUndefined();
    expect(headerProblem('x-api-key', undefined)).toBeUndefined();
    expect(headerProblem("x-!#$%&'*+.^_`|~1", 'v')).toBeUndefined();
    expect(pathProblem('/a b')).toMatch(/percent-encode/);
    expect(pathProblem('/a/b?c=d')).toBeUndefined();
  });

  it('a real node:http server receives the method, url, headers and body as written', async () => {
    const seen: Array<{ method: string; url: string; headers: IncomingMessage['headers']; body: Buffer }> = [];
    const server = createHttpServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ method: req.method!, url: req.url!, headers: req.headers, body: Buffer.concat(chunks) });
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const ep = endpointOf(`http://127.0.0.1:${(server.address() as { port: number }).port}`);
    const pool = new ConnectionPool(ep);
    try {
      const body = '{"bid":12.5,"bidder":"Zoë ✓ 日本 🙂"}';
      const steps: Send[] = [
        {
          method: 'POST',
          path: '/bids?x=1&y=%20',
          headers: { 'content-type': 'application/json', 'x-note': 'café', authorization: 'Bearer t' },
          body,
        },
        { method: 'PUT', path: '/empty' },
        { method: 'PATCH', path: '/p', body: 'ü' },
        { method: 'GET', path: '/get', headers: { host: 'virtual.example.test' } },
        { method: 'DELETE', path: '/d' },
        { method: 'HEAD', path: '/h' },
      ];
      for (const s of steps) expect(await send(pool, ep.hostHeader, s)).toMatchObject({ status: 200, completed: true });
      expect(pool.opened).toBe(1);
      const [post, put, patch, get, del, head] = seen;
      expect(post).toMatchObject({ method: 'POST', url: '/bids?x=1&y=%20' });
      expect(post!.headers).toMatchObject({
        host: ep.hostHeader,
        'content-type': 'application/json',
        'x-note': 'café',
        authorization: 'Bearer t',
        'content-length': String(Buffer.byteLength(body)),
      });
      expect(post!.body.toString('utf8')).toBe(body);
      expect(put).toMatchObject({ method: 'PUT', url: '/empty' });
      expect(put!.headers['content-length']).toBe('0');
      expect(put!.body.length).toBe(0);
      expect(patch!.body.toString('utf8')).toBe('ü');
      expect(patch!.headers['content-length']).toBe('2');
      expect(get).toMatchObject({ method: 'GET', url: '/get' });
      expect(get!.headers.host).toBe('virtual.example.test');
      expect(get!.headers['content-length']).toBeUndefined();
      expect(get!.headers['transfer-encoding']).toBeUndefined();
      expect(del!.headers['content-length']).toBeUndefined();
      expect(head).toMatchObject({ method: 'HEAD', url: '/h' });
    } finally {
      pool.destroyAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

// ---- 3. undici as an oracle --------------------------------------------------------------------------------------

describe('the same bytes read by undici and by http1.ts agree', () => {
  let current: Buffer = Buffer.alloc(0);
  let r: Awaited<ReturnType<typeof rig>>;
  let agent: Agent;
  beforeAll(async () => {
    r = await rig((sock) => sock.write(current));
    agent = new Agent({ pipelining: 1 });
  });
  afterAll(async () => {
    await agent.close();
    await r.close();
  });

  async function both(response: Buffer): Promise<{
    ours: Result;
    theirs: { status: number; headers: Record<string, string | string[] | undefined>; body: Buffer };
  }> {
    current = response;
    const ours = await r.get();
    const res = await undiciRequest(r.raw.origin + '/', { dispatcher: agent });
    const body = Buffer.from(await res.body.arrayBuffer());
    return { ours, theirs: { status: res.statusCode, headers: res.headers, body } };
  }

  const word = fc.constantFrom('Zoë', '日本語', 'naïve café', '✓ ok', '🙂', 'plain');
  const ascii = fc.stringMatching(/^[!-~]([ -~]{0,24}[!-~])?$/);
  const value = fc.oneof(
    ascii,
    word,
    fc.tuple(ascii, word).map(([a, w]) => `${a} ${w}`),
  );
  const name = fc.oneof(
    fc.stringMatching(/^x-[A-Za-z0-9-]{1,12}$/),
    fc.constantFrom('X-Dup', 'x-dup', 'Content-Type', 'cache-control', 'ETag'),
  );
  const cookie = fc.tuple(
    fc.stringMatching(/^[a-z]{1,8}$/),
    fc.stringMatching(/^[A-Za-z0-9]{0,12}$/),
    fc.constantFrom('', '; Path=/', '; HttpOnly; Secure', '; Max-Age=60; SameSite=Lax'),
  );
  const response = fc.record({
    status: fc.integer({ min: 200, max: 599 }).filter((s) => s !== 204 && s !== 205 && s !== 304),
    reason: fc.constantFrom(' OK', ' Something Else', ' ', ''),
    headers: fc.array(fc.tuple(name, value), { maxLength: 8 }),
    cookies: fc.array(cookie, { maxLength: 3 }),
    cookieName: fc.constantFrom('set-cookie', 'Set-Cookie', 'SET-COOKIE'),
    chunked: fc.boolean(),
    chunks: fc.array(fc.integer({ min: 1, max: 30 }), { minLength: 1, maxLength: 4 }),
    body: fc.string({ unit: 'binary', maxLength: 100 }),
  });

  function render(s: typeof response extends fc.Arbitrary<infer T> ? T : never): Buffer {
    const body = Buffer.from(s.body, 'utf8');
    const lines = [`HTTP/1.1 ${s.status}${s.reason}`];
    for (const [n, v] of s.headers) lines.push(`${n}: ${v}`);
    for (const [n, v, attrs] of s.cookies) lines.push(`${s.cookieName}: ${n}=${v}${attrs}`);
    let tail: Buffer;
    if (s.chunked) {
      lines.push('Transfer-Encoding: chunked');
      const parts: Buffer[] = [];
      for (let from = 0, i = 0; from < body.length; i++) {
        const size = Math.min(s.chunks[i % s.chunks.length]!, body.length - from);
        parts.push(Buffer.from(`${size.toString(16)}\r\n`), body.subarray(from, from + size), Buffer.from('\r\n'));
        from += size;
      }
      parts.push(Buffer.from('0\r\n\r\n'));
      tail = Buffer.concat(parts);
    } else {
      lines.push(`Content-Length: ${body.length}`);
      tail = body;
    }
    return Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n', 'utf8'), tail]);
  }

  it('property: status, body, headers and set-cookie values', async () => {
    await fc.assert(
      fc.asyncProperty(response, async (s) => {
        const { ours, theirs } = await both(render(s));
        expect(ours.error).toBeUndefined();
        expect(ours.status).toBe(theirs.status);
        expect(ours.body.equals(theirs.body)).toBe(true);
        expect(ours.text).toBe(s.body);
        expect(ours.headers).toEqual(theirs.headers);
        const theirCookies = theirs.headers['set-cookie'];
        expect(ours.cookies).toEqual(theirCookies === undefined ? [] : ([] as string[]).concat(theirCookies));
        expect(ours.setCookie).toBe(s.cookies.length > 0);
      }),
      { numRuns: 80 },
    );
    // Both kept their one connection the whole time.
    expect(r.raw.connections).toBe(2);
  });

  it('an obsolete folded header line continues the value before it (RFC 9112 5.2), as undici reads it', async () => {
    const { ours, theirs } = await both(
      bytesOf(
        `HTTP/1.1 200 OK${CRLF}x-a: one${CRLF} two${CRLF}x-b: 1${CRLF}\t d: e${CRLF}x-c: 3${CRLF}content-length: 2${CRLF}${CRLF}ok`,
      ),
    );
    expect(ours).toMatchObject({ status: 200, text: 'ok', completed: true });
    expect(ours.headers).toEqual(theirs.headers);
    expect(ours.headers).toMatchObject({ 'x-a': 'one two', 'x-b': '1\t d: e', 'x-c': '3' });
    expect(ours.cookies).toEqual([]);
    expect(ours.headers?.['d']).toBeUndefined();
  });
});

// ---- 7. TLS ------------------------------------------------------------------------------------------------------

function hasOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const OPENSSL = hasOpenssl();
if (!OPENSSL) console.warn('builtin-http1: openssl is not installed; the TLS tests are skipped');

describe.skipIf(!OPENSSL)('TLS for https:// targets (a self-signed certificate made by openssl)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perf-gate-http1-tls-'));
  const keyFile = join(dir, 'key.pem');
  const certFile = join(dir, 'cert.pem');
  let server: ReturnType<typeof createHttpsServer>;
  let port = 0;
  let handshakes = 0;
  beforeAll(async () => {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-days',
        '2',
        '-keyout',
        keyFile,
        '-out',
        certFile,
      ],
      { stdio: 'ignore' },
    );
    const { readFileSync } = await import('node:fs');
    server = createHttpsServer({ key: readFileSync(keyFile), cert: readFileSync(certFile) }, (req, res) => {
      res.setHeader('x-alpn', String((req.socket as import('node:tls').TLSSocket).alpnProtocol));
      res.end(`tls ${req.method} ${req.url} ${req.headers.host}`);
    });
    server.on('secureConnection', () => handshakes++);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    server?.closeAllConnections();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('fails certificate verification by default, and that is not classified as connection_refused', async () => {
    const ep = endpointOf(`https://localhost:${port}`);
    expect(ep).toMatchObject({ host: 'localhost', port, tls: true, hostHeader: `localhost:${port}` });
    const pool = new ConnectionPool(ep);
    const res = await send(pool, ep.hostHeader);
    pool.destroyAll();
    expect(res.completed).toBe(false);
    expect(res.error?.code).toMatch(/SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
    expect(classifyError(res.error)).not.toBe('connection_refused');
    expect(classifyError(res.error)).toBe('other');
    expect(res.conn.alive).toBe(false);
  });

  it('with NODE_EXTRA_CA_CERTS (in a child process) requests over TLS succeed, by name and by IP, on one connection each', async () => {
    const { build } = await import('esbuild');
    const here = fileURLToPath(new URL('.', import.meta.url));
    await build({
      entryPoints: [
        join(here, '../../src/engines/builtin/http1.ts'),
        join(here, '../../src/engines/builtin/request-bytes.ts'),
      ],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outdir: dir,
      outExtension: { '.js': '.mjs' },
      logLevel: 'silent',
    });
    writeFileSync(
      join(dir, 'child.mjs'),
      `import { ConnectionPool, endpointOf, parseHead } from './http1.mjs';
import { requestBytes } from './request-bytes.mjs';
setTimeout(() => { console.log(JSON.stringify({ error: 'child timed out' })); process.exit(2); }, 8000).unref();
const out = [];
for (const origin of process.argv.slice(2)) {
  const ep = endpointOf(origin);
  const pool = new ConnectionPool(ep);
  for (let i = 0; i < 3; i++) {
    const conn = pool.acquire();
    const r = await new Promise((resolve) => {
      let status = -1, head, chunks = [];
      conn.dispatch(requestBytes('GET', '/r' + i, ep.hostHeader, {}, undefined), false, false, {
        keepBody: true,
        onConnect() {},
        onHead(s, buf, start, end) { status = s; head = parseHead(buf, start, end); },
        onData(c) { chunks.push(Buffer.from(c)); },
        onComplete() { resolve({ status, alpn: head['x-alpn'], body: Buffer.concat(chunks).toString() }); },
        onError(err) { resolve({ error: err.code ?? err.message }); },
      });
    });
    pool.release(conn);
    out.push(r);
  }
  out.push({ origin, opened: pool.opened });
  pool.destroyAll();
}
console.log(JSON.stringify(out));
`,
    );
    const before = handshakes;
    const stdout = await new Promise<string>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [join(dir, 'child.mjs'), `https://localhost:${port}`, `https://127.0.0.1:${port}`],
        {
          env: { ...process.env, NODE_EXTRA_CA_CERTS: certFile },
          stdio: ['ignore', 'pipe', 'pipe'],
        },
      );
      let out = '';
      let err = '';
      child.stdout.on('data', (b: Buffer) => (out += b.toString()));
      child.stderr.on('data', (b: Buffer) => (err += b.toString()));
      child.on('error', reject);
      child.on('close', (code) =>
        code === 0 ? resolve(out) : reject(new Error(`child exited ${code}: ${out} ${err}`)),
      );
    });
    const results = JSON.parse(stdout.trim().split('\n').pop()!) as Array<Record<string, unknown>>;
    expect(results).toEqual([
      { status: 200, alpn: 'http/1.1', body: `tls GET /r0 localhost:${port}` },
      { status: 200, alpn: 'http/1.1', body: `tls GET /r1 localhost:${port}` },
      { status: 200, alpn: 'http/1.1', body: `tls GET /r2 localhost:${port}` },
      { origin: `https://localhost:${port}`, opened: 1 },
      { status: 200, alpn: 'http/1.1', body: `tls GET /r0 127.0.0.1:${port}` },
      { status: 200, alpn: 'http/1.1', body: `tls GET /r1 127.0.0.1:${port}` },
      { status: 200, alpn: 'http/1.1', body: `tls GET /r2 127.0.0.1:${port}` },
      { origin: `https://127.0.0.1:${port}`, opened: 1 },
    ]);
    expect(handshakes - before).toBe(2);
  });
});
