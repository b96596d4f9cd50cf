// The line parser of the k6 NDJSON reader: k6's Point layout read in place from the bytes (fast path), any
// other line through JSON.parse (slow path); either way the point goes to the accumulator.
import { num, obj, str } from './util.js';
import {
  BACKSLASH,
  COLON,
  COMMA,
  LBRACE,
  NEW_AFTER_NAME,
  NEW_PREFIX,
  NULL_BYTES,
  OLD_METRIC,
  OLD_PREFIX,
  QUOTE,
  RBRACE,
  TAGS_KEY,
  VALUE_KEY,
  findByte,
  matchAt,
  viewOf,
} from './k6-ndjson-bytes.js';
import { Tags } from './k6-ndjson-tags.js';
import { MAX_KNOWN_NAMES, POINT, type MetricInfo, type NdjsonAccumulator } from './k6-ndjson-accumulator.js';
import { messageOf } from '../errors.js';

export class CorruptLine extends Error {}

const BY_LENGTH = 64;
// Places in LineParser.f.
const F_TIME = 0;
const F_NUM = 1;
const F_LAST_TIME = 2;
const F_MINUTE_OFFSET = 3;
const F_MINUTE_BASE = 4;

/**
 * Parses lines in place in the chunk's bytes: offsets instead of line strings, metric names matched against
 * the names already seen, numbers and timestamps read digit by digit. On the fast path a point costs some
 * word comparisons and no allocation. The layout is checked at the fixed characters k6 writes; a line that
 * deviates goes to JSON.parse, which decides whether it is corrupt.
 */
export class LineParser {
  private readonly tags = new Tags();
  private buf: Buffer = Buffer.alloc(0);
  private dv: DataView = viewOf(this.buf);
  private chunkNo = 0;
  // Known names by byte length (below BY_LENGTH in an array, longer ones in a map).
  private readonly byLength: Array<MetricInfo[] | undefined> = Array.from({ length: BY_LENGTH }, () => undefined);
  private readonly byLongLength = new Map<number, MetricInfo[]>();
  private knownNames = 0;
  // The minute of the last timestamp: its first 16 bytes (`YYYY-MM-DDTHH:MM`) as four words.
  private readonly minuteWords = new Int32Array(4);
  /**
   * Doubles in a typed array, not fields (see TrendAcc in k6-ndjson-accumulator.ts): the timestamp read by
   * isoTime, the number read by plainValue, the value of the last timestamp (lastTimeBytes), the zone offset and
   * epoch of minuteWords.
   */
  private readonly f = new Float64Array([NaN, NaN, NaN, NaN, NaN]);
  /** Where the timestamp read by isoTime ends (its closing quote). */
  private timeEnd = 0;
  // The last timestamp read by isoTime: its bytes (a request's points share it).
  private lastTimeBytes = new Uint8Array(64);
  private readonly lastTimeView = viewOf(this.lastTimeBytes);
  private lastTimeLen = -1;
  /** The metric of the last line read by the fast path. */
  private prevMetric: MetricInfo | undefined = undefined;
  /** Where the number read by plainValue ends (the comma after it). */
  private valueEnd = 0;

  constructor(private readonly acc: NdjsonAccumulator) {}

  /** The bytes the next lines are in (a read chunk, or a line joined across two). */
  setChunk(buf: Buffer): void {
    this.buf = buf;
    this.dv = viewOf(buf);
    this.chunkNo++;
    const tags = this.tags;
    tags.buf = buf;
    tags.dv = this.dv;
    tags.chunk = this.chunkNo;
  }

  text(s: number, e: number): string {
    return this.buf.toString('latin1', s, e);
  }

  /** Parse buf[s, e) (no newline); returns false for a blank line, throws CorruptLine for a bad one. */
  line(s: number, e: number): boolean {
    const buf = this.buf;
    while (e > s) {
      const c = buf[e - 1];
      if (c === 13 || c === 32 || c === 9) e--;
      else break;
    }
    while (s < e) {
      const c = buf[s];
      if (c === 32 || c === 9) s++;
      else break;
    }
    if (e === s) return false;
    if (!this.fast(s, e)) this.slow(buf.toString('utf8', s, e));
    return true;
  }

  private metricName(s: number, e: number): MetricInfo {
    const len = e - s;
    const list = len < BY_LENGTH ? this.byLength[len] : this.byLongLength.get(len);
    const buf = this.buf;
    const dv = this.dv;
    if (list) {
      const tail = len >= 4 ? dv.getInt32(e - 4, true) : 0;
      for (let i = 0; i < list.length; i++) {
        const k = list[i]!;
        // The last four bytes first: k6's names of equal length share prefixes (http_req_sending, http_req_waiting).
        if (k.raw.tail === tail && matchAt(dv, buf, s, e, k.raw)) return k;
      }
    }
    const m = this.acc.metric(buf.toString('utf8', s, e));
    // (A name whose bytes are not valid UTF-8 does not come back as the same bytes: not indexed.)
    if (this.knownNames < MAX_KNOWN_NAMES && m.raw.length === len && matchAt(dv, buf, s, e, m.raw)) {
      this.knownNames++;
      if (list) list.push(m);
      else if (len < BY_LENGTH) this.byLength[len] = [m];
      else this.byLongLength.set(len, [m]);
    }
    return m;
  }

  /**
   * k6's RFC 3339 timestamp (`2025-11-18T21:02:01.094663+07:00`, `...Z`) starting at p and closed by a quote
   * before e, read digit by digit; the epoch of the minute is computed once per minute and zone. NaN for any
   * other shape (then Date.parse decides). Sets timeEnd.
   */
  private isoTime(p: number, e: number): boolean {
    const buf = this.buf;
    const dv = this.dv;
    const n = this.lastTimeLen;
    if (n > 0 && p + n < e && buf[p + n] === QUOTE) {
      const lv = this.lastTimeView;
      let j = 0;
      for (; j + 4 <= n; j += 4) if (dv.getInt32(p + j, true) !== lv.getInt32(j, true)) break;
      if (j + 4 > n) {
        for (; j < n; j++) if (buf[p + j] !== this.lastTimeBytes[j]) break;
        if (j === n) {
          this.timeEnd = p + n;
          this.f[F_TIME] = this.f[F_LAST_TIME]!;
          return true;
        }
      }
    }
    if (p + 20 > e || buf[p + 16] !== COLON) return false;
    const s1 = buf[p + 17]! - 48;
    const s2 = buf[p + 18]! - 48;
    if (s1 < 0 || s1 > 9 || s2 < 0 || s2 > 9) return false;
    const sec = s1 * 10 + s2;
    if (sec > 60) return false;
    let i = p + 19;
    let ms = 0;
    if (buf[i] === 46) {
      i++;
      let n = 0;
      for (; i < e; i++, n++) {
        const c = buf[i]!;
        if (c < 48 || c > 57) break;
        if (n < 3) ms = ms * 10 + (c - 48);
      }
      if (n === 0) return false;
      for (; n < 3; n++) ms *= 10;
    }
    let offsetMin = 0;
    let end: number;
    const z = buf[i];
    if (z === 90 /* Z */) end = i + 1;
    else if ((z === 43 || z === 45) && buf[i + 3] === COLON) {
      const oh = digits(buf, i + 1, 2);
      const om = digits(buf, i + 4, 2);
      if (oh < 0 || om < 0) return false;
      offsetMin = (z === 45 ? -1 : 1) * (oh * 60 + om);
      end = i + 6;
    } else return false;
    if (end >= e || buf[end] !== QUOTE) return false;
    this.timeEnd = end;
    const w0 = dv.getInt32(p, true);
    const w1 = dv.getInt32(p + 4, true);
    const w2 = dv.getInt32(p + 8, true);
    const w3 = dv.getInt32(p + 12, true);
    const mw = this.minuteWords;
    const f = this.f;
    if (w0 !== mw[0] || w1 !== mw[1] || w2 !== mw[2] || w3 !== mw[3] || offsetMin !== f[F_MINUTE_OFFSET]) {
      const base = minuteEpoch(buf, p, offsetMin);
      if (Number.isNaN(base)) return false;
      mw[0] = w0;
      mw[1] = w1;
      mw[2] = w2;
      mw[3] = w3;
      f[F_MINUTE_OFFSET] = offsetMin;
      f[F_MINUTE_BASE] = base;
    }
    const t = f[F_MINUTE_BASE]! + sec * 1000 + ms;
    f[F_TIME] = t;
    const len = end - p;
    if (len <= this.lastTimeBytes.length) {
      const last = this.lastTimeBytes;
      for (let j = 0; j < len; j++) last[j] = buf[p + j]!;
      this.lastTimeLen = len;
      f[F_LAST_TIME] = t;
    }
    return true;
  }

  /** A plain decimal at vs followed by a comma (sets num and valueEnd), else false (then the general path decides). */
  private plainValue(vs: number, e: number): boolean {
    const buf = this.buf;
    let i = vs;
    let neg = false;
    if (buf[i] === 45) {
      neg = true;
      i++;
    }
    let int = 0;
    let nd = 0;
    let c = 0;
    while (i < e && (c = buf[i]!) >= 48 && c <= 57) {
      int = int * 10 + (c - 48);
      i++;
      nd++;
    }
    if (nd === 0) return false;
    let v = int;
    if (c === 46) {
      i++;
      let frac = 0;
      let scale = 1;
      let fd = 0;
      while (i < e && (c = buf[i]!) >= 48 && c <= 57) {
        frac = frac * 10 + (c - 48);
        scale *= 10;
        i++;
        fd++;
      }
      if (fd === 0) return false;
      nd += fd;
      v = int + frac / scale;
    }
    if (i >= e || buf[i] !== COMMA || nd > 15) return false;
    this.valueEnd = i;
    this.f[F_NUM] = neg ? -v : v;
    return true;
  }

  private fast(s: number, e: number): boolean {
    const buf = this.buf;
    const dv = this.dv;
    if (buf[e - 1] !== RBRACE) return false;
    let m: MetricInfo;
    let p: number;
    let newShape = false;
    if (matchAt(dv, buf, s, e, NEW_PREFIX)) {
      newShape = true;
      const ns = s + NEW_PREFIX.length;
      // First the metric that followed the previous line's last time, name and layout in one comparison.
      const prev = this.prevMetric;
      const guess = prev !== undefined ? prev.next : undefined;
      if (guess !== undefined && matchAt(dv, buf, ns, e, guess.withLayout!)) {
        m = guess;
        p = ns + guess.withLayout!.length;
      } else {
        let ne = ns;
        for (; ne < e; ne++) {
          const c = buf[ne];
          if (c === QUOTE) break;
          if (c === BACKSLASH) return false;
        }
        if (ne >= e || !matchAt(dv, buf, ne, e, NEW_AFTER_NAME)) return false;
        m = this.metricName(ns, ne);
        p = ne + NEW_AFTER_NAME.length;
        if (prev !== undefined && m.withLayout !== null) prev.next = m;
      }
    } else if (matchAt(dv, buf, s, e, OLD_PREFIX)) {
      if (buf[e - 2] !== QUOTE) return false;
      // The metric name closes the line: `...},"metric":"name"}`.
      let ns = e - 2;
      while (ns > s && buf[ns - 1] !== QUOTE && buf[ns - 1] !== BACKSLASH) ns--;
      if (
        buf[ns - 1] !== QUOTE ||
        !matchAt(dv, buf, ns - OLD_METRIC.length, e, OLD_METRIC) ||
        buf[ns - OLD_METRIC.length - 1] !== RBRACE
      )
        return false;
      m = this.metricName(ns, e - 2);
      p = s + OLD_PREFIX.length;
    } else return false;

    // Both ways leave the results in this.f: a local fed by a double on one branch and a function's result on
    // the other would be boxed on the fast one too.
    let te: number;
    if (this.isoTime(p, e)) te = this.timeEnd;
    else {
      te = findByte(buf, QUOTE, p, e);
      if (te === -1) return false;
      this.f[F_TIME] = Date.parse(buf.toString('latin1', p, te));
    }
    if (!matchAt(dv, buf, te, e, VALUE_KEY)) return false;
    const vs = te + VALUE_KEY.length;
    let ve: number;
    if (this.plainValue(vs, e)) ve = this.valueEnd;
    else {
      ve = findByte(buf, COMMA, vs, e);
      if (ve === -1) return false;
      this.f[F_NUM] = parseNumber(buf, vs, ve);
    }
    if (!matchAt(dv, buf, ve + 1, e, TAGS_KEY)) return false;
    const t = this.f[F_TIME]!;
    const value = this.f[F_NUM]!;
    if (!Number.isFinite(value) || !Number.isFinite(t)) return false;
    const tagsFrom = ve + 1 + TAGS_KEY.length;
    // The tags object (or null) must close the line the way k6 writes it.
    if (matchAt(dv, buf, tagsFrom, e, NULL_BYTES)) {
      if (newShape ? e !== tagsFrom + 6 || buf[e - 2] !== RBRACE : buf[tagsFrom + 4] !== RBRACE) return false;
    } else if (buf[tagsFrom] !== LBRACE || (newShape && (buf[e - 2] !== RBRACE || buf[e - 3] !== RBRACE))) return false;
    const tags = this.tags;
    tags.fromBytes = true;
    tags.from = tagsFrom;
    tags.end = e;
    this.prevMetric = m;
    POINT[0] = t;
    POINT[1] = value;
    this.acc.point(m, tags);
    return true;
  }

  private slow(line: string): void {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw new CorruptLine(messageOf(err));
    }
    const o = obj(v);
    if (!o) throw new CorruptLine('the line is not a JSON object');
    const type = o.type;
    const data = obj(o.data);
    if (type === 'Metric') {
      if (data) this.acc.defineMetric({ ...data, name: str(data.name) ?? str(o.metric) });
      return;
    }
    if (type !== 'Point') return; // other record types from newer k6 versions carry nothing used here
    const metric = str(o.metric);
    if (!metric || !data) throw new CorruptLine('a Point without "metric" or "data"');
    const value = num(data.value);
    const t = typeof data.time === 'string' ? Date.parse(data.time) : NaN;
    if (value === undefined || !Number.isFinite(t))
      throw new CorruptLine('a Point without a numeric value and a valid time');
    const tags = this.tags;
    tags.fromBytes = false;
    tags.parsed = obj(data.tags);
    POINT[0] = t;
    POINT[1] = value;
    this.acc.point(this.acc.metric(metric), tags);
  }
}

/**
 * The epoch (ms) of the minute written `YYYY-MM-DDTHH:MM:` at buf[p] in a zone `offsetMin` minutes east of
 * UTC, or NaN if that is not a valid date and time.
 */
function minuteEpoch(buf: Buffer, p: number, offsetMin: number): number {
  if (buf[p + 4] !== 45 || buf[p + 7] !== 45 || buf[p + 10] !== 84 || buf[p + 13] !== COLON) return NaN;
  const y = digits(buf, p, 4);
  const mo = digits(buf, p + 5, 2);
  const d = digits(buf, p + 8, 2);
  const h = digits(buf, p + 11, 2);
  const mi = digits(buf, p + 14, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59) return NaN;
  const day = Date.UTC(y, mo - 1, d);
  // Date.UTC rolls over invalid days (Feb 30); Date.parse would refuse them.
  if (new Date(day).getUTCDate() !== d) return NaN;
  return day - offsetMin * 60_000 + (h * 60 + mi) * 60_000;
}

/** The non-negative integer written with `n` digits at buf[s], or -1. */
function digits(buf: Buffer, s: number, n: number): number {
  let v = 0;
  for (let i = s; i < s + n; i++) {
    const c = buf[i]!;
    if (c < 48 || c > 57) return -1;
    v = v * 10 + (c - 48);
  }
  return v;
}

/**
 * A JSON number in buf[s, e): plain decimals digit by digit (within one unit in the last place of Number(),
 * far below the histogram's precision), anything else (exponent, long mantissa) through Number(). NaN if it
 * is not a JSON number.
 */
function parseNumber(buf: Buffer, s: number, e: number): number {
  let i = s;
  let neg = false;
  if (buf[i] === 45) {
    neg = true;
    i++;
  }
  let int = 0;
  let digits = 0;
  let c = 0;
  while (i < e && (c = buf[i]!) >= 48 && c <= 57) {
    int = int * 10 + (c - 48);
    i++;
    digits++;
  }
  if (digits === 0) return NaN;
  let v = int;
  let fracDigits = 0;
  if (i < e && buf[i] === 46) {
    i++;
    let frac = 0;
    let scale = 1;
    while (i < e && (c = buf[i]!) >= 48 && c <= 57) {
      frac = frac * 10 + (c - 48);
      scale *= 10;
      i++;
      fracDigits++;
    }
    if (fracDigits === 0) return NaN;
    v = int + frac / scale;
  }
  if (i !== e || digits + fracDigits > 15) {
    const text = buf.toString('latin1', s, e);
    return /^-?(0|[1-9]\d*)(\.\d+)?([eE][-+]?\d+)?$/.test(text) ? Number(text) : NaN;
  }
  return neg ? -v : v;
}
