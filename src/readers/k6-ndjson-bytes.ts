// The raw-byte matching the fast path of the k6 NDJSON reader is built on: fixed parts of k6's Point layout as
// patterns compared four bytes at a time, and the few byte searches and decodes around them.
// Byte values of the characters the parser looks for.
export const QUOTE = 34;
export const BACKSLASH = 92;
export const LBRACE = 123;
export const RBRACE = 125;
export const COLON = 58;
export const COMMA = 44;
export const NEWLINE = 10;

/** A byte string compared four bytes at a time (DataView reads are inlined by V8; a byte loop is 4x slower). */
export class Pattern {
  readonly bytes: Uint8Array;
  readonly words: Int32Array;
  readonly length: number;
  /** The last four bytes as a little-endian int32 (0 below four bytes): a quick first test. */
  readonly tail: number;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.length = bytes.length;
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.words = new Int32Array(bytes.length >> 2);
    for (let i = 0; i < this.words.length; i++) this.words[i] = dv.getInt32(i * 4, true);
    this.tail = bytes.length >= 4 ? dv.getInt32(bytes.length - 4, true) : 0;
  }
}

export function pattern(s: string): Pattern {
  return new Pattern(Uint8Array.from(Buffer.from(s, 'latin1')));
}

/** buf[pos, pos + p.length) equals p and lies before `end`; dv views the same bytes as buf. */
export function matchAt(dv: DataView, buf: Uint8Array, pos: number, end: number, p: Pattern): boolean {
  const n = p.length;
  if (pos < 0 || pos + n > end) return false;
  const w = p.words;
  const nw = w.length;
  for (let i = 0; i < nw; i++) if (dv.getInt32(pos + 4 * i, true) !== w[i]) return false;
  const b = p.bytes;
  for (let i = nw * 4; i < n; i++) if (buf[pos + i] !== b[i]) return false;
  return true;
}

export function viewOf(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

export const NEW_PREFIX = pattern('{"metric":"');
export const NEW_AFTER_NAME = pattern('","type":"Point","data":{"time":"');
export const OLD_PREFIX = pattern('{"type":"Point","data":{"time":"');
export const OLD_METRIC = pattern(',"metric":"');
export const VALUE_KEY = pattern('","value":');
export const TAGS_KEY = pattern('"tags":');
export const NULL_BYTES = pattern('null');

/** First `byte` in buf[from, end), or -1. */
export function findByte(buf: Uint8Array, byte: number, from: number, end: number): number {
  for (let i = from; i < end; i++) if (buf[i] === byte) return i;
  return -1;
}

/** A JSON string value with escapes (Go writes & as \u0026 in URLs, a quote as \") in buf[s, e), e its closing quote. */
export function decodeEscaped(buf: Buffer, s: number, e: number): string | undefined {
  try {
    const v: unknown = JSON.parse(buf.toString('utf8', s - 1, e + 1));
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}
