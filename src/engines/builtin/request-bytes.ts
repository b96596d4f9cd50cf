// A request's bytes for the built-in engine's HTTP/1.1 client (http1.ts), and what a step's path and headers may be:
// a header perf-gate frames itself, a control character or a character outside latin-1 is refused when the flows are
// compiled, or, when a template rendered it, fails that request without taking a connection.

/** Header names a step may not set: perf-gate frames the request itself (one request per connection, no upgrade). */
const FRAMING_HEADERS = new Set([
  'content-length',
  'transfer-encoding',
  'keep-alive',
  'upgrade',
  'expect',
  'te',
  'trailer',
]);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** As undici: a request target is visible ASCII or latin-1, a header value has no control characters but tab. */
const BAD_PATH = /[^\u0021-\u00ff]/;
const BAD_VALUE = /[^\t\u0020-\u007e\u0080-\u00ff]/;

/** Why a header a step sets cannot be sent as written; undefined if it can. `value` undefined: it is a template. */
export function headerProblem(rawName: string, value: string | undefined): string | undefined {
  if (!TOKEN.test(rawName)) return `"${rawName}" is not a valid header name`;
  const name = rawName.toLowerCase();
  if (FRAMING_HEADERS.has(name)) return `perf-gate sets ${name} itself; remove it`;
  if (
    name === 'connection' &&
    value !== undefined &&
    value.toLowerCase() !== 'close' &&
    value.toLowerCase() !== 'keep-alive'
  ) {
    return `only "close" or "keep-alive" are allowed`;
  }
  // A header is written as latin-1: "日本" is refused too, and the message must not call it a line break.
  if (value !== undefined && BAD_VALUE.test(value))
    return 'the value has a control character (e.g. a line break) or a character outside latin-1';
  return undefined;
}

/** Whether a text cannot be sent as a header value (a control character, a character outside latin-1). */
export function unsendableHeaderValue(value: string): boolean {
  return BAD_VALUE.test(value);
}

/** Whether a text cannot be part of a request path as it is (a space, a control character, outside latin-1). */
export function unsendablePath(value: string): boolean {
  return BAD_PATH.test(value);
}

/** Whether a cookie from a Set-Cookie header can be sent back as written: its name a token, its value sendable. */
export function cookieSendable(name: string, value: string): boolean {
  return TOKEN.test(name) && !BAD_VALUE.test(value);
}

export function pathProblem(path: string): string | undefined {
  if (BAD_PATH.test(path))
    return 'the path has a space, a control character or a character outside latin-1 (percent-encode it)';
  return undefined;
}

const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH']);

/**
 * The bytes of one request, or an Error saying why it cannot be sent (a rendered template put a line break in a
 * header, a space in the path). Header names are lower-case and were checked when the flows were compiled.
 */
export function requestBytes(
  method: string,
  path: string,
  hostHeader: string,
  headers: Record<string, string>,
  body: string | undefined,
): Buffer | string | Error {
  if (BAD_PATH.test(path)) return new Error(`invalid request path: ${pathProblem(path)}`);
  let head = `${method} ${path} HTTP/1.1\r\n`;
  if (headers['host'] === undefined) head += `host: ${hostHeader}\r\n`;
  for (const name in headers) {
    const value = headers[name]!;
    if (BAD_VALUE.test(value))
      return new Error(
        `invalid value of header ${name}: it has a control character (e.g. a line break) or a character outside latin-1`,
      );
    head += `${name}: ${value}\r\n`;
  }
  if (body === undefined) {
    return BODY_METHODS.has(method) ? `${head}content-length: 0\r\n\r\n` : `${head}\r\n`;
  }
  const bodyLength = Buffer.byteLength(body, 'utf8');
  head += `content-length: ${bodyLength}\r\n\r\n`;
  const out = Buffer.allocUnsafe(head.length + bodyLength);
  out.write(head, 0, 'latin1');
  out.write(body, head.length, 'utf8');
  return out;
}
