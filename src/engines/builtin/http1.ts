// The built-in engine's own HTTP/1.1 client. A load generator asks little of HTTP: one request at a time per
// connection, the status, the time of the last byte, and the headers or body only when a step's checks look at them.
// A general client (undici) pays per request for what we never use: a Request object with validated headers, a
// header list of Buffers, its own queue and timers. Here a connection writes bytes it was handed (built once per
// step when nothing in the request changes between arrivals) and frames the response by reading the few headers that
// decide framing straight from the socket's bytes; nothing else is decoded unless asked for.
//
// What it handles, because real targets do it: content-length and chunked bodies (extensions and trailers), bodies
// that end with the connection, HEAD and 204/304 without a body, interim 1xx responses, `connection: close`, HTTP/1.0
// keep-alive, the server's `keep-alive: timeout=` hint (an idle connection is not reused past it, so a request is
// never written into a socket the server is closing), responses split across reads at any byte, and TLS for https://
// targets. What it refuses (the request fails, the connection is dropped): a malformed status line or header (a bare
// CR or LF, a header name that is not a token), a chunked body whose lines do not end in CRLF, a head over 64 KiB,
// bytes after a complete response in the same read (a body on HEAD/204/304, more than content-length, a second
// response: no pipelining; the request is an error of kind `other`, never a success), 101 Switching Protocols.
// Bytes arriving on an idle connection drop it (nobody is waiting for them). A request's bytes, and what a step's
// path and headers may be, are request-bytes.ts.
import { isIP, connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';

/** What a connection reports one request's response to (the engine's Slot). */
export interface ResponseSink {
  /** Read the body's bytes into onData; otherwise they are only counted. */
  readonly keepBody: boolean;
  /** Called once the request is on a connection, with a function that ends it at once. */
  onConnect(abort: (err: Error) => void): void;
  /** Status and where the head is (the bytes stay valid: a read's buffer is never reused). */
  onHead(status: number, buf: Buffer, start: number, end: number, setCookie: boolean): void;
  onData(chunk: Buffer): void;
  onComplete(): void;
  onError(err: Error): void;
}

const MAX_HEAD = 64 * 1024;
const MAX_LINE = 16 * 1024;
/** How long before the server's advertised keep-alive timeout we stop reusing an idle connection (as undici). */
const KEEP_ALIVE_MARGIN_MS = 1000;
/** Without a hint from the server: Node's own server closes idle connections after 5 s. */
const DEFAULT_KEEP_ALIVE_MS = 4000;
const MAX_KEEP_ALIVE_MS = 600_000;

const S_IDLE: number = 0;
const S_HEAD: number = 1;
const S_LENGTH: number = 2;
const S_CHUNK_SIZE: number = 3;
const S_CHUNK_DATA: number = 4;
const S_CHUNK_CRLF: number = 5;
const S_TRAILER: number = 6;
const S_UNTIL_CLOSE: number = 7;

const CRLFCRLF = Buffer.from('\r\n\r\n', 'latin1');

export class HttpProtocolError extends Error {
  readonly code = 'PERF_GATE_HTTP_PROTOCOL';
}

function closedEarly(): Error {
  return Object.assign(new Error('the target closed the connection before the response was complete'), {
    code: 'ECONNRESET',
  });
}

/** Where to connect: host, port and whether to speak TLS, from the target's origin. */
export interface Endpoint {
  host: string;
  port: number;
  tls: boolean;
  /** The Host header's value. */
  hostHeader: string;
}

export function endpointOf(origin: string): Endpoint {
  const url = new URL(origin);
  const tls = url.protocol === 'https:';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  return { host, port: url.port ? Number(url.port) : tls ? 443 : 80, tls, hostHeader: url.host };
}

/** One keep-alive connection carrying one request at a time. */
export class Http1Connection {
  /** False once the socket is gone or must not be reused; the pool then drops the connection. */
  alive = true;
  private socket: Socket | undefined = undefined;
  private sink: ResponseSink | undefined = undefined;
  private state = S_IDLE;
  private isHead = false;
  private reusable = true;
  private pending: Buffer | undefined = undefined;
  private line = '';
  private remaining = 0;
  private lastStatus = 0;
  idleSince = 0;
  keepAliveMs = DEFAULT_KEEP_ALIVE_MS;

  constructor(
    private readonly endpoint: Endpoint,
    private readonly onGone: (c: Http1Connection) => void,
  ) {}

  /** Write one request (its complete bytes) and report its response to `sink`. */
  dispatch(request: Buffer | string, isHead: boolean, closeAfter: boolean, sink: ResponseSink): void {
    const socket = this.socket ?? this.open();
    this.sink = sink;
    this.state = S_HEAD;
    this.isHead = isHead;
    this.reusable = !closeAfter;
    this.line = '';
    sink.onConnect(this.abort);
    // onConnect may have ended the request already (cancelled before it got here).
    if (this.sink !== sink) return;
    if (typeof request === 'string') socket.write(request, 'latin1');
    else socket.write(request);
  }

  /** Close the socket without reporting anything (the end of the run). */
  destroy(): void {
    this.sink = undefined;
    this.drop();
  }

  private readonly abort = (err: Error): void => this.fail(err);

  private open(): Socket {
    const { host, port } = this.endpoint;
    const s: Socket = this.endpoint.tls
      ? tlsConnect({ host, port, servername: isIP(host) ? undefined : host, ALPNProtocols: ['http/1.1'] })
      : netConnect({ host, port, noDelay: true });
    if (this.endpoint.tls) s.setNoDelay(true);
    this.socket = s;
    s.on('data', (b: Buffer) => {
      if (this.socket === s) this.read(b);
    });
    s.on('end', () => {
      if (this.socket !== s) return;
      if (this.sink !== undefined && this.state === S_UNTIL_CLOSE) this.complete(false);
      else if (this.sink !== undefined) this.fail(closedEarly());
      else this.drop();
    });
    s.on('error', (err: Error) => {
      if (this.socket !== s) return;
      if (this.sink !== undefined) this.fail(err);
      else this.drop();
    });
    s.on('close', () => {
      if (this.socket !== s) return;
      if (this.sink !== undefined) this.fail(closedEarly());
      else this.drop();
    });
    return s;
  }

  private drop(): void {
    const s = this.socket;
    this.state = S_IDLE;
    this.pending = undefined;
    if (this.alive) {
      this.alive = false;
      this.onGone(this);
    }
    if (s !== undefined) {
      this.socket = undefined;
      s.destroy();
    }
  }

  private fail(err: Error): void {
    const sink = this.sink;
    this.sink = undefined;
    this.drop();
    sink?.onError(err);
  }

  private complete(extraBytes: boolean): void {
    // Bytes after a complete response (a body on HEAD, 204 or 304, more than content-length said, a second response
    // nobody asked for): the server and we disagree on where this response ended, so it is no success. The request
    // fails (kind `other`) and the connection, out of step with us, is dropped.
    if (extraBytes) return this.fail(new HttpProtocolError(this.extraWhat()));
    const sink = this.sink!;
    this.sink = undefined;
    this.state = S_IDLE;
    this.pending = undefined;
    this.idleSince = performance.now();
    if (!this.reusable || extraBytes) this.drop();
    sink.onComplete();
  }

  private extraWhat(): string {
    const what = this.isHead
      ? 'a HEAD response'
      : this.lastStatus === 204 || this.lastStatus === 304
        ? `a ${this.lastStatus} response`
        : 'the response';
    return `bytes after the end of ${what} (a body where none may be, more than its content-length, or a response nobody asked for)`;
  }

  private read(chunk: Buffer): void {
    const sink = this.sink;
    if (sink === undefined) {
      // Bytes nobody asked for: the connection is out of step with us.
      this.drop();
      return;
    }
    let buf = chunk;
    let pos = 0;
    while (this.sink === sink) {
      if (pos >= buf.length) return;
      switch (this.state) {
        case S_HEAD: {
          if (this.pending !== undefined) {
            buf = Buffer.concat([this.pending, buf.subarray(pos)]);
            pos = 0;
            this.pending = undefined;
          }
          const end = buf.indexOf(CRLFCRLF, pos);
          if (end < 0) {
            if (buf.length - pos > MAX_HEAD)
              return this.fail(new HttpProtocolError(`response head over ${MAX_HEAD} bytes`));
            // A head whose lines end in bare LFs never shows a CRLFCRLF: refuse it now (a bare LF is refused once the
            // head is complete anyway) instead of waiting for a close or the timeout. Only on this path, a split head.
            for (let lf = buf.indexOf(10, pos); lf >= 0; lf = buf.indexOf(10, lf + 1)) {
              if (lf === pos || buf[lf - 1] !== 13)
                return this.fail(new HttpProtocolError('bare CR or LF in response head'));
            }
            this.pending = buf.subarray(pos);
            return;
          }
          if (end - pos > MAX_HEAD) return this.fail(new HttpProtocolError(`response head over ${MAX_HEAD} bytes`));
          const next = this.head(sink, buf, pos, end);
          if (next < 0) return;
          pos = next;
          if (this.state === S_IDLE) return this.complete(pos < buf.length);
          break;
        }
        case S_LENGTH:
        case S_CHUNK_DATA: {
          const n = Math.min(this.remaining, buf.length - pos);
          if (sink.keepBody) sink.onData(buf.subarray(pos, pos + n));
          this.remaining -= n;
          pos += n;
          if (this.remaining === 0) {
            if (this.state === S_LENGTH) return this.complete(pos < buf.length);
            this.state = S_CHUNK_CRLF;
          }
          break;
        }
        case S_CHUNK_SIZE:
        case S_CHUNK_CRLF:
        case S_TRAILER: {
          const nl = buf.indexOf(10, pos);
          if (nl < 0) {
            this.line += buf.toString('latin1', pos);
            if (this.line.length > MAX_LINE) return this.fail(new HttpProtocolError('chunked body: line too long'));
            return;
          }
          let text = this.line + buf.toString('latin1', pos, nl);
          this.line = '';
          pos = nl + 1;
          // Every line of a chunked body ends in CRLF. Taking a bare LF as the CRLF after chunk data accepted a chunk one
          // byte short of its size ("3\r\nab\r\n" read as "ab\r") as a success with a wrong body; undici refuses it.
          if (!text.endsWith('\r')) return this.fail(new HttpProtocolError('chunked body: a line not ended by CRLF'));
          text = text.slice(0, -1);
          if (this.state === S_CHUNK_SIZE) {
            const semi = text.indexOf(';');
            const hex = (semi < 0 ? text : text.slice(0, semi)).trim();
            if (!/^[0-9a-fA-F]{1,12}$/.test(hex))
              return this.fail(new HttpProtocolError(`chunked body: bad chunk size "${hex.slice(0, 20)}"`));
            const size = parseInt(hex, 16);
            if (size === 0) this.state = S_TRAILER;
            else {
              this.remaining = size;
              this.state = S_CHUNK_DATA;
            }
          } else if (this.state === S_CHUNK_CRLF) {
            if (text !== '') return this.fail(new HttpProtocolError('chunked body: chunk not followed by CRLF'));
            this.state = S_CHUNK_SIZE;
          } else if (text === '') {
            return this.complete(pos < buf.length);
          }
          break;
        }
        case S_UNTIL_CLOSE: {
          if (sink.keepBody) sink.onData(pos === 0 ? buf : buf.subarray(pos));
          return;
        }
        default:
          return this.drop();
      }
    }
  }

  /**
   * Read one response head in buf[start, end) (end: the blank line's CRLFCRLF) and set up for its body. Returns
   * where the body starts, or -1 after failing the request. An interim 1xx response leaves the state at S_HEAD.
   */
  private head(sink: ResponseSink, buf: Buffer, start: number, end: number): number {
    // "HTTP/1.x SSS" at least.
    if (
      end - start < 12 ||
      buf[start] !== 0x48 ||
      buf[start + 1] !== 0x54 ||
      buf[start + 2] !== 0x54 ||
      buf[start + 3] !== 0x50 ||
      buf[start + 4] !== 0x2f ||
      buf[start + 5] !== 0x31 ||
      buf[start + 6] !== 0x2e ||
      (buf[start + 7] !== 0x31 && buf[start + 7] !== 0x30) ||
      buf[start + 8] !== 0x20
    ) {
      this.fail(
        new HttpProtocolError(`not an HTTP/1.x response: "${printable(buf, start, Math.min(end, start + 40))}"`),
      );
      return -1;
    }
    const d0 = buf[start + 9]! - 48;
    const d1 = buf[start + 10]! - 48;
    const d2 = buf[start + 11]! - 48;
    // After the code: a space and the reason phrase, or nothing (`HTTP/1.1 200` and its line end).
    if (
      d0 < 1 ||
      d0 > 9 ||
      d1 < 0 ||
      d1 > 9 ||
      d2 < 0 ||
      d2 > 9 ||
      (end > start + 12 && buf[start + 12] !== 0x20 && buf[start + 12] !== 0x0d)
    ) {
      this.fail(new HttpProtocolError(`bad status line: "${printable(buf, start, Math.min(end, start + 40))}"`));
      return -1;
    }
    const status = d0 * 100 + d1 * 10 + d2;
    const http10 = buf[start + 7] === 0x30;
    let contentLength = -1;
    let chunked = false;
    let encoded = false;
    let close = false;
    let keepAlive = false;
    let setCookie = false;
    // Every line ends in CRLF: a bare LF inside a line would hide the header after it (a content-length lost means a
    // body read until a close that never comes), and a bare CR is no line end either. undici refuses both.
    let ls = buf.indexOf(13, start);
    if (buf.indexOf(10, start) !== ls + 1) {
      this.fail(new HttpProtocolError('bare CR or LF in response head'));
      return -1;
    }
    ls = ls < 0 || ls >= end ? end : ls + 2;
    while (ls < end) {
      let le = buf.indexOf(13, ls);
      if (le < 0 || le > end) le = end;
      if (buf.indexOf(10, ls) !== le + 1) {
        this.fail(new HttpProtocolError('bare CR or LF in response head'));
        return -1;
      }
      if (buf[ls] === 0x20 || buf[ls] === 0x09) {
        // An obsolete folded continuation line carries no framing header: skip it.
      } else {
        // A header name is a token (RFC 9110 5.6.2). One with a space, a comma or a semicolon in it (even
        // "Content-Length : 5") is not one we can match, and a framing header lost that way left the body read until a
        // close that a keep-alive server never sends. undici refuses them too.
        let colon = ls;
        while (colon < le && TOKEN_BYTE[buf[colon]!] === 1) colon++;
        if (colon === ls || buf[colon] !== 0x3a) {
          this.fail(new HttpProtocolError(`bad header line: "${printable(buf, ls, Math.min(le, ls + 40))}"`));
          return -1;
        }
        const n = colon - ls;
        if (n === 14 && eqi(buf, ls, 'content-length')) {
          const v = parseLength(buf, colon + 1, le);
          if (v < 0 || (contentLength >= 0 && v !== contentLength)) {
            this.fail(
              new HttpProtocolError(
                `bad content-length: "${printable(buf, colon + 1, Math.min(le, colon + 40)).trim()}"`,
              ),
            );
            return -1;
          }
          contentLength = v;
        } else if (n === 17 && eqi(buf, ls, 'transfer-encoding')) {
          encoded = true;
          const codings = buf
            .toString('latin1', colon + 1, le)
            .toLowerCase()
            .split(',');
          chunked = codings[codings.length - 1]!.trim() === 'chunked';
        } else if (n === 10) {
          const c = buf[ls]! | 0x20;
          if (c === 0x63 && eqi(buf, ls, 'connection')) {
            const v = buf.toString('latin1', colon + 1, le).toLowerCase();
            if (v.includes('close')) close = true;
            if (v.includes('keep-alive')) keepAlive = true;
          } else if (c === 0x6b && eqi(buf, ls, 'keep-alive')) {
            const m = /timeout\s*=\s*(\d+)/i.exec(buf.toString('latin1', colon + 1, le));
            if (m)
              this.keepAliveMs = Math.min(MAX_KEEP_ALIVE_MS, Math.max(0, Number(m[1]) * 1000 - KEEP_ALIVE_MARGIN_MS));
          } else if (c === 0x73 && eqi(buf, ls, 'set-cookie')) {
            setCookie = true;
          }
        }
      }
      ls = le + 2;
    }
    const bodyStart = end + 4;
    if (status < 200) {
      if (status === 101) {
        this.fail(new HttpProtocolError('101 Switching Protocols: the built-in engine speaks HTTP/1.1 only'));
        return -1;
      }
      return bodyStart; // interim response: the real one follows
    }
    if (close || (http10 && !keepAlive)) this.reusable = false;
    this.lastStatus = status;
    sink.onHead(status, buf, start, end, setCookie);
    if (this.sink !== sink) return -1;
    if (this.isHead || status === 204 || status === 304) {
      this.state = S_IDLE;
    } else if (chunked) {
      this.state = S_CHUNK_SIZE;
      // Both framings at once: chunked wins (RFC 9112 6.3), but the connection is not trusted with another request.
      if (contentLength >= 0) this.reusable = false;
    } else if (encoded) {
      // A coding other than chunked last: the body ends with the connection (RFC 9112 6.3).
      this.state = S_UNTIL_CLOSE;
      this.reusable = false;
    } else if (contentLength >= 0) {
      if (contentLength === 0) this.state = S_IDLE;
      else {
        this.remaining = contentLength;
        this.state = S_LENGTH;
      }
    } else {
      this.state = S_UNTIL_CLOSE;
      this.reusable = false;
    }
    return bodyStart;
  }
}

/** 1 for the bytes of a token (RFC 9110 5.6.2), the characters of a header name. */
const TOKEN_BYTE = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
  TOKEN_BYTE[c.charCodeAt(0)] = 1;

/** Case-insensitive match of buf at `at` against a lower-case ASCII name. */
function eqi(buf: Buffer, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    if ((buf[at + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}

/** A decimal content-length between optional whitespace; -1 if it is not one. */
function parseLength(buf: Buffer, from: number, to: number): number {
  let i = from;
  while (i < to && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
  let j = to;
  while (j > i && (buf[j - 1] === 0x20 || buf[j - 1] === 0x09)) j--;
  if (i === j || j - i > 15) return -1;
  let v = 0;
  for (let k = i; k < j; k++) {
    const d = buf[k]! - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}

function printable(buf: Buffer, from: number, to: number): string {
  return buf.toString('latin1', from, to).replace(/[^\x20-\x7e]/g, '?');
}

/** Header names and values of a response head (names lower-cased; a repeated name gives a list), as checks see them. */
export function parseHead(buf: Buffer, start: number, end: number): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  forEachHeader(buf, start, end, (name, value) => {
    const have = out[name];
    if (have === undefined) out[name] = value;
    else if (Array.isArray(have)) have.push(value);
    else out[name] = [have, value];
  });
  return out;
}

/** The values of every `set-cookie` header of a response head. */
export function setCookiesOf(buf: Buffer, start: number, end: number): string[] {
  const out: string[] = [];
  forEachHeader(buf, start, end, (name, value) => {
    if (name === 'set-cookie') out.push(value);
  });
  return out;
}

function forEachHeader(buf: Buffer, start: number, end: number, fn: (name: string, value: string) => void): void {
  const text = buf.toString('utf8', start, end);
  const lines = text.split('\r\n');
  let name: string | undefined;
  let value = '';
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!;
    const c0 = line.charCodeAt(0);
    if ((c0 === 0x20 || c0 === 0x09) && name !== undefined) {
      // An obsolete folded line continues the value above it (RFC 9112 5.2); read alone it cut that value short and
      // made a header of its own out of any colon in it. Joined as undici joins it: the line break dropped.
      value += line;
      continue;
    }
    if (name !== undefined) fn(name, value.trim());
    name = undefined;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    name = line.slice(0, colon).trim().toLowerCase();
    value = line.slice(colon + 1);
  }
  if (name !== undefined) fn(name, value.trim());
}

/**
 * Connections not carrying a request, most recently used last (it is the likeliest to still be open), and every
 * open one, so the end of the run can close them all.
 */
export class ConnectionPool {
  private readonly idle: Http1Connection[] = [];
  private readonly open = new Set<Http1Connection>();
  /** Connections made in the run (a target that closes every connection shows here). */
  opened = 0;
  private readonly gone = (c: Http1Connection): void => {
    this.open.delete(c);
  };

  constructor(private readonly endpoint: Endpoint) {}

  acquire(): Http1Connection {
    const now = performance.now();
    for (let c = this.idle.pop(); c !== undefined; c = this.idle.pop()) {
      if (c.alive && now - c.idleSince < c.keepAliveMs) return c;
      c.destroy();
    }
    const c = new Http1Connection(this.endpoint, this.gone);
    this.open.add(c);
    this.opened++;
    return c;
  }

  release(c: Http1Connection): void {
    if (c.alive) this.idle.push(c);
  }

  destroyAll(): void {
    for (const c of this.open) c.destroy();
    this.open.clear();
    this.idle.length = 0;
  }
}
