// Tag values of a k6 NDJSON point, looked up in the line's raw bytes with a memory of where each key was and
// which values it had lately, so that the points of one request cost no search and no string.
import type { Obj } from './util.js';
import { BACKSLASH, Pattern, QUOTE, decodeEscaped, matchAt, viewOf } from './k6-ndjson-bytes.js';

/** How many recent places and recent values of a tag key are tried before searching and decoding. */
const TAG_MEMORY = 8;

/** A recent value of a tag key: its raw bytes (escapes and all) and its string. */
class TagValue {
  raw: Uint8Array;
  view: DataView;
  len = -1;
  value: string | undefined = undefined;

  constructor() {
    this.raw = new Uint8Array(64);
    this.view = viewOf(this.raw);
  }

  set(buf: Uint8Array, s: number, e: number, value: string | undefined): void {
    const n = e - s;
    if (n > this.raw.length) {
      this.raw = new Uint8Array(Math.max(n, this.raw.length * 2));
      this.view = viewOf(this.raw);
    }
    const raw = this.raw;
    for (let i = 0; i < n; i++) raw[i] = buf[s + i]!;
    this.len = n;
    this.value = value;
  }
}

/** A tag key as the parser looks it up in the raw bytes of a line. */
class TagKey {
  readonly needle: Buffer;
  readonly pattern: Pattern;
  // Offsets from the start of the tags object where the key was found lately: lines of one kind of request
  // have it at the same place, and trying a few places is much cheaper than a search.
  private readonly places = new Int32Array(TAG_MEMORY).fill(-1);
  private nextPlace = 0;
  // Next position of the key in the current chunk, found by a search from an earlier line: a key absent from
  // most lines (error_code) would otherwise be searched for to the end of the chunk on every line.
  private chunk = -1;
  private pos = -1;
  // Recent values: the points of one request repeat them, a script has a few names and checks. Handing back
  // the same string object spares the decoding, an allocation and a hash per Map lookup.
  private readonly values: TagValue[] = Array.from({ length: TAG_MEMORY }, () => new TagValue());
  private nextValue = 0;

  constructor(readonly key: string) {
    this.needle = Buffer.from(`"${key}":"`, 'utf8');
    this.pattern = new Pattern(Uint8Array.from(this.needle));
  }

  /** Where the key's needle is in buf[from, end), or -1. */
  find(buf: Buffer, dv: DataView, chunk: number, from: number, end: number): number {
    // In a JSON object the needle (quote, key, quote, colon, quote) can only be a key: inside a string value a
    // quote is escaped. So wherever it matches it is the key (k6 writes each key once).
    const places = this.places;
    const pat = this.pattern;
    for (let k = 0; k < TAG_MEMORY; k++) {
      const rel = places[k]!;
      if (rel < 0) break;
      if (matchAt(dv, buf, from + rel, end, pat)) return from + rel;
    }
    let i: number;
    if (this.chunk === chunk && (this.pos === -1 || this.pos >= from)) i = this.pos;
    else {
      i = buf.indexOf(this.needle, from);
      this.chunk = chunk;
      this.pos = i;
    }
    if (i === -1 || i >= end) return -1;
    places[this.nextPlace] = i - from;
    this.nextPlace = (this.nextPlace + 1) % TAG_MEMORY;
    return i;
  }

  /** The string value starting at buf[s] (after the needle), closed by a quote before end; undefined if none. */
  value(buf: Buffer, dv: DataView, s: number, end: number): string | undefined {
    // The same bytes as a recent value followed by a quote: the same value (the bytes before the quote scan
    // the same way, so that quote closes the string).
    for (let k = 0; k < TAG_MEMORY; k++) {
      const v = this.values[k]!;
      const n = v.len;
      if (n < 0) break;
      if (s + n >= end || buf[s + n] !== QUOTE) continue;
      const lv = v.view;
      let j = 0;
      for (; j + 4 <= n; j += 4) if (dv.getInt32(s + j, true) !== lv.getInt32(j, true)) break;
      if (j + 4 <= n) continue;
      const raw = v.raw;
      for (; j < n; j++) if (buf[s + j] !== raw[j]) break;
      if (j === n) return v.value;
    }
    let e = s;
    let escaped = false;
    for (; e < end; e++) {
      const c = buf[e];
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        escaped = true;
        e++;
      }
    }
    if (e >= end) return undefined;
    // Delimiters are ASCII, so a byte range between them is whole UTF-8 characters.
    const value = escaped ? decodeEscaped(buf, s, e) : buf.toString('utf8', s, e);
    this.values[this.nextValue]!.set(buf, s, e, value);
    this.nextValue = (this.nextValue + 1) % TAG_MEMORY;
    return value;
  }
}

/**
 * The tags of the point being processed: a byte range of the current chunk (fast path) or a parsed object
 * (slow path). One instance is reused for every point, so the fast path allocates nothing for it.
 */
export class Tags {
  buf: Buffer = Buffer.alloc(0);
  dv: DataView = viewOf(this.buf);
  chunk = 0;
  from = 0;
  end = 0;
  parsed: Obj | undefined = undefined;
  fromBytes = true;
  // The keys looked up, each with its memory of this reader's lines.
  readonly name = new TagKey('name');
  readonly url = new TagKey('url');
  readonly status = new TagKey('status');
  readonly errorCode = new TagKey('error_code');
  readonly check = new TagKey('check');
  readonly group = new TagKey('group');

  get(k: TagKey): string | undefined {
    if (!this.fromBytes) {
      const v = this.parsed?.[k.key];
      return typeof v === 'string' ? v : undefined;
    }
    const i = k.find(this.buf, this.dv, this.chunk, this.from, this.end);
    return i === -1 ? undefined : k.value(this.buf, this.dv, i + k.needle.length, this.end);
  }
}
