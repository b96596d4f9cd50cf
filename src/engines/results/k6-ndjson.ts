// k6 `--out json=file.json` (optionally gzip): one JSON object per line, `{"type":"Metric",...}` definitions
// and `{"type":"Point","metric":...,"data":{"time","value","tags"}}` samples. Files reach gigabytes, so the
// reader streams and keeps histograms and counters, never the samples: memory depends on the number of
// metrics, endpoints and intervals, not on the number of lines.
//
// Speed: k6 writes every Point with the same key order (`{"metric":"m","type":"Point","data":{"time":"...",
// "value":v,"tags":{...}}}` since v0.4x, `{"type":"Point","data":{...},"metric":"m"}` before), so the fields are
// cut out of the raw bytes at known places and only lines that do not fit the pattern go through JSON.parse,
// which also decides whether such a line is corrupt. On k6 output this is 2-3 times faster than JSON.parse
// per line (bench: a 300 MB file).
import { UserError } from '../../config/types.js';
import { Histogram, type SerializedHistogram } from '../../metrics/histogram.js';
import type { CustomMetric, EndpointResult, ErrorKind, IntervalResult, RunResult, ToolThreshold } from '../../model.js';
import { k6CustomName, type K6MetricType } from './k6-summary-common.js';
import { statsFromHistogram } from './stats.js';
import type { ReadOptions, ResultReader } from './types.js';
import {
  DEFAULT_INTERVAL_MS,
  MAX_PLAUSIBLE,
  addCount,
  emptyResult,
  finishRates,
  inputError,
  inspectFile,
  isTruncatedGzip,
  k6ErrorCodeKind,
  num,
  obj,
  openContent,
  percentileKey,
  setMeta,
  setTimes,
  statusIsError,
  statusKind,
  str,
  type Obj,
} from './util.js';

const MAX_LINE_BYTES = 64 * 1024 * 1024;
const MAX_ENDPOINTS = 1000;
const MAX_INTERVALS = 200_000;
const MAX_CUSTOM_METRICS = 2000;
const OTHER_ENDPOINTS = '(other endpoints)';
// Interval histograms older than this many intervals behind the newest are packed into their sparse form;
// k6 writes samples in near time order, so a late sample that has to unpack one is rare.
const ACTIVE_INTERVALS = 3;
const HIST_START_BUCKETS = 64;
const MAX_TREND_US = 2 ** 31 - 1;


interface TrendAcc {
  hist: Histogram;
  count: number;
  sum: number;
  min: number;
  max: number;
  outOfRange: boolean;
}

interface GaugeAcc {
  value: number;
  time: number;
  min: number;
  max: number;
}

interface IntervalAcc {
  requests: number;
  errors: number;
  hist: Histogram | null;
  packed: SerializedHistogram | null;
  vus?: number;
  vusTime: number;
}

interface EndpointAcc {
  requests: number;
  errors: number;
  statusCodes: Map<string, number>;
  hist: Histogram;
}

// Byte values of the characters the parser looks for.
const QUOTE = 34;
const BACKSLASH = 92;
const LBRACE = 123;
const RBRACE = 125;
const COLON = 58;
const COMMA = 44;
const NEWLINE = 10;

function bytesOf(s: string): Uint8Array {
  return Buffer.from(s, 'latin1');
}

const NEW_PREFIX = bytesOf('{"metric":"');
const NEW_AFTER_NAME = bytesOf('","type":"Point","data":{"time":"');
const OLD_PREFIX = bytesOf('{"type":"Point","data":{"time":"');
const OLD_METRIC = bytesOf(',"metric":"');
const VALUE_KEY = bytesOf('","value":');
const TAGS_KEY = bytesOf('"tags":');
const NULL_BYTES = bytesOf('null');

/** buf[pos, pos + pat.length) equals pat. A byte loop: cheaper than a native call for these short patterns. */
function bytesAt(buf: Uint8Array, pos: number, pat: Uint8Array): boolean {
  const n = pat.length;
  if (pos < 0 || pos + n > buf.length) return false;
  for (let i = 0; i < n; i++) if (buf[pos + i] !== pat[i]) return false;
  return true;
}

/** First `byte` in buf[from, end), or -1. */
function findByte(buf: Uint8Array, byte: number, from: number, end: number): number {
  for (let i = from; i < end; i++) if (buf[i] === byte) return i;
  return -1;
}

const TAG_NEEDLES = new Map<string, Buffer>();
function tagNeedle(key: string): Buffer {
  let n = TAG_NEEDLES.get(key);
  if (!n) {
    n = Buffer.from(`"${key}":"`, 'utf8');
    TAG_NEEDLES.set(key, n);
  }
  return n;
}

/**
 * The tags of the point being processed: a byte range of the current chunk (fast path) or a parsed object
 * (slow path). One instance is reused for every point, so the fast path allocates nothing for it.
 */
class Tags {
  buf: Buffer = Buffer.alloc(0);
  chunk = 0;
  from = 0;
  end = 0;
  parsed: Obj | undefined = undefined;
  fromBytes = true;
  // Next position of each tag key in the current chunk, found by a search from an earlier line: a key absent
  // from most lines (error_code) would otherwise be searched for to the end of the chunk on every line.
  private readonly nextPos = new Map<string, { chunk: number; pos: number }>();
  // The last value read per key: the points of one request repeat it, and reusing the string object spares an
  // allocation and a hash per Map lookup.
  private readonly lastValue = new Map<string, string>();

  get(key: string): string | undefined {
    if (!this.fromBytes) {
      const v = this.parsed?.[key];
      return typeof v === 'string' ? v : undefined;
    }
    const needle = tagNeedle(key);
    const buf = this.buf;
    let cached = this.nextPos.get(key);
    let i: number;
    if (cached && cached.chunk === this.chunk && (cached.pos === -1 || cached.pos >= this.from)) i = cached.pos;
    else {
      i = buf.indexOf(needle, this.from);
      if (!cached) this.nextPos.set(key, (cached = { chunk: this.chunk, pos: i }));
      else {
        cached.chunk = this.chunk;
        cached.pos = i;
      }
    }
    if (i === -1 || i >= this.end) return undefined;
    const s = i + needle.length;
    let e = s;
    let ascii = true;
    for (; e < this.end; e++) {
      const c = buf[e]!;
      if (c === QUOTE) break;
      if (c === BACKSLASH) return decodeEscaped(buf, s, this.end);
      if (c >= 0x80) ascii = false;
    }
    if (e >= this.end) return undefined;
    const last = this.lastValue.get(key);
    if (ascii && last !== undefined && last.length === e - s) {
      let same = true;
      for (let j = 0; j < last.length; j++) {
        if (last.charCodeAt(j) !== buf[s + j]) {
          same = false;
          break;
        }
      }
      if (same) return last;
    }
    // Delimiters are ASCII, so a byte range between them is whole UTF-8 characters.
    const v = ascii ? buf.toString('latin1', s, e) : buf.toString('utf8', s, e);
    this.lastValue.set(key, v);
    return v;
  }
}

/** A JSON string value with escapes (Go writes & as \u0026 in URLs, a quote as \"), starting at byte `s`. */
function decodeEscaped(buf: Buffer, s: number, end: number): string | undefined {
  let j = s;
  while (j < end) {
    const c = buf[j];
    if (c === BACKSLASH) j += 2;
    else if (c === QUOTE) break;
    else j++;
  }
  if (j >= end) return undefined;
  try {
    const v: unknown = JSON.parse(buf.toString('utf8', s - 1, j + 1));
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

class NdjsonAccumulator {
  readonly intervalMs: number;
  readonly types = new Map<string, K6MetricType>();
  readonly thresholdDefs = new Map<string, string[]>();
  requests = 0;
  errors = 0;
  readonly errorsByKind: Partial<Record<ErrorKind, number>> = {};
  readonly statusCodes = new Map<string, number>();
  readonly latency = new Histogram(HIST_START_BUCKETS);
  failedTrues = 0;
  failedTotal = 0;
  checksPass = 0;
  checksTotal = 0;
  readonly checksByName = new Map<string, [number, number]>();
  readonly checksByGroup = new Map<string, [number, number]>();
  readonly counters = new Map<string, number>();
  readonly gauges = new Map<string, GaugeAcc>();
  readonly rates = new Map<string, [number, number]>();
  readonly trends = new Map<string, TrendAcc>();
  readonly intervals = new Map<number, IntervalAcc>();
  private readonly activeIntervals = new Set<number>();
  private newestKey = -Infinity;
  private lastKey = NaN;
  private lastAcc: IntervalAcc | undefined;
  intervalsCapped = false;
  readonly endpoints = new Map<string, EndpointAcc>();
  endpointsCapped = false;
  customCapped = false;
  minTime = Infinity;
  maxTime = -Infinity;
  undefinedPoints = new Map<string, number>();
  points = 0;
  implausible = 0;
  /** Requests whose status tag is missing (the script's systemTags can leave it out). */
  withoutStatus = 0;

  constructor(
    readonly opts: ReadOptions,
    intervalMs: number,
  ) {
    this.intervalMs = intervalMs;
  }

  defineMetric(data: Obj): void {
    const name = str(data.name);
    const type = str(data.type);
    if (!name || name.includes('{')) return;
    if (type === 'counter' || type === 'gauge' || type === 'rate' || type === 'trend') this.types.set(name, type);
    if (Array.isArray(data.thresholds)) {
      const exprs: string[] = [];
      for (const t of data.thresholds) {
        const e = typeof t === 'string' ? t : str(obj(t)?.threshold);
        if (e) exprs.push(e);
      }
      if (exprs.length) this.thresholdDefs.set(name, exprs);
    }
  }

  private interval(t: number): IntervalAcc | undefined {
    const key = Math.floor(t / this.intervalMs);
    if (key === this.lastKey) return this.lastAcc;
    let acc = this.intervals.get(key);
    if (!acc) {
      if (this.intervals.size >= MAX_INTERVALS) {
        this.intervalsCapped = true;
        return undefined;
      }
      acc = { requests: 0, errors: 0, hist: null, packed: null, vusTime: -Infinity };
      this.intervals.set(key, acc);
    }
    if (key > this.newestKey) {
      this.newestKey = key;
      for (const k of this.activeIntervals) {
        if (k < key - ACTIVE_INTERVALS) {
          const a = this.intervals.get(k)!;
          if (a.hist) {
            a.packed = a.hist.toJSON();
            a.hist = null;
          }
          this.activeIntervals.delete(k);
        }
      }
    }
    this.lastKey = key;
    this.lastAcc = acc;
    return acc;
  }

  private intervalHist(acc: IntervalAcc, t: number): Histogram {
    if (acc.hist) return acc.hist;
    acc.hist = acc.packed ? Histogram.fromJSON(acc.packed) : new Histogram();
    acc.packed = null;
    this.activeIntervals.add(Math.floor(t / this.intervalMs));
    return acc.hist;
  }

  private endpoint(src: Tags): EndpointAcc {
    const name = src.get('name') ?? src.get('url') ?? '(no name)';
    let e = this.endpoints.get(name);
    if (e) return e;
    if (this.endpoints.size >= MAX_ENDPOINTS) {
      this.endpointsCapped = true;
      e = this.endpoints.get(OTHER_ENDPOINTS);
      if (e) return e;
      e = { requests: 0, errors: 0, statusCodes: new Map(), hist: new Histogram(HIST_START_BUCKETS) };
      this.endpoints.set(OTHER_ENDPOINTS, e);
      return e;
    }
    e = { requests: 0, errors: 0, statusCodes: new Map(), hist: new Histogram(HIST_START_BUCKETS) };
    this.endpoints.set(name, e);
    return e;
  }

  point(metric: string, t: number, value: number, src: Tags): void {
    if (!(value <= MAX_PLAUSIBLE && value >= -MAX_PLAUSIBLE)) {
      this.implausible++;
      return;
    }
    this.points++;
    if (t < this.minTime) this.minTime = t;
    if (t > this.maxTime) this.maxTime = t;
    switch (metric) {
      case 'http_reqs': {
        if (!(value >= 0)) return; // a request count below zero is not data
        const status = src.get('status');
        let isError = false;
        if (status !== undefined) {
          this.statusCodes.set(status, (this.statusCodes.get(status) ?? 0) + value);
          const code = Number(status);
          if (code === 0) {
            // k6 tags a request that got no response with status 0 and an error_code saying why.
            const ec = src.get('error_code');
            addCount(this.errorsByKind, k6ErrorCodeKind(ec !== undefined ? Number(ec) : undefined), value);
            isError = true;
          } else if (code >= 400) {
            const kind = statusKind(code);
            if (kind) addCount(this.errorsByKind, kind, value);
            isError = statusIsError(code, this.opts);
          }
        } else this.withoutStatus += value;
        this.requests += value;
        if (isError) this.errors += value;
        const acc = this.interval(t);
        if (acc) {
          acc.requests += value;
          if (isError) acc.errors += value;
        }
        const ep = this.endpoint(src);
        ep.requests += value;
        if (isError) ep.errors += value;
        if (status !== undefined) ep.statusCodes.set(status, (ep.statusCodes.get(status) ?? 0) + value);
        return;
      }
      case 'http_req_duration': {
        this.latency.recordMs(value);
        const acc = this.interval(t);
        if (acc) this.intervalHist(acc, t).recordMs(value);
        this.endpoint(src).hist.recordMs(value);
        return;
      }
      case 'http_req_failed':
        this.failedTotal++;
        if (value !== 0) this.failedTrues++;
        return;
      case 'checks': {
        const ok = value !== 0;
        this.checksTotal++;
        if (ok) this.checksPass++;
        const name = src.get('check');
        if (name !== undefined) bump(this.checksByName, name, ok);
        const group = src.get('group');
        if (group) bump(this.checksByGroup, group, ok);
        return;
      }
      case 'vus': {
        const acc = this.interval(t);
        if (acc && t >= acc.vusTime) {
          acc.vus = value;
          acc.vusTime = t;
        }
        break; // also kept as a gauge below
      }
    }
    this.generic(metric, t, value);
  }

  private generic(metric: string, t: number, value: number): void {
    const type = this.types.get(metric);
    switch (type) {
      case undefined:
        this.undefinedPoints.set(metric, (this.undefinedPoints.get(metric) ?? 0) + 1);
        return;
      case 'counter':
        if (!this.counters.has(metric) && this.tooManyCustom()) return;
        this.counters.set(metric, (this.counters.get(metric) ?? 0) + value);
        return;
      case 'gauge': {
        const g = this.gauges.get(metric);
        if (!g) {
          if (this.tooManyCustom()) return;
          this.gauges.set(metric, { value, time: t, min: value, max: value });
          return;
        }
        if (t >= g.time) {
          g.value = value;
          g.time = t;
        }
        if (value < g.min) g.min = value;
        if (value > g.max) g.max = value;
        return;
      }
      case 'rate': {
        let r = this.rates.get(metric);
        if (!r) {
          if (this.tooManyCustom()) return;
          r = [0, 0];
          this.rates.set(metric, r);
        }
        if (value !== 0) r[0]++;
        r[1]++;
        return;
      }
      case 'trend': {
        let tr = this.trends.get(metric);
        if (!tr) {
          if (this.tooManyCustom()) return;
          tr = { hist: new Histogram(HIST_START_BUCKETS), count: 0, sum: 0, min: Infinity, max: -Infinity, outOfRange: false };
          this.trends.set(metric, tr);
        }
        tr.count++;
        tr.sum += value;
        if (value < tr.min) tr.min = value;
        if (value > tr.max) tr.max = value;
        // The histogram holds 0 to ~2.1e9 in thousandths; a trend of other units may not fit.
        if (value < 0 || value * 1000 > MAX_TREND_US) tr.outOfRange = true;
        else tr.hist.recordMs(value);
        return;
      }
    }
  }

  private tooManyCustom(): boolean {
    if (this.counters.size + this.gauges.size + this.rates.size + this.trends.size < MAX_CUSTOM_METRICS) return false;
    this.customCapped = true;
    return true;
  }

}

function bump(m: Map<string, [number, number]>, key: string, ok: boolean): void {
  let a = m.get(key);
  if (!a) {
    a = [0, 0];
    m.set(key, a);
  }
  if (ok) a[0]++;
  else a[1]++;
}

class CorruptLine extends Error {}

const MAX_KNOWN_NAMES = 5000;

interface KnownName {
  name: string;
  bytes: Uint8Array;
}

/**
 * Parses lines in place in the chunk's bytes: offsets instead of line strings, metric names matched against
 * the names already seen, the time compared with the previous one before Date.parse, numbers read digit by
 * digit. On the fast path a point costs some byte comparisons and no allocation. The layout is checked at the
 * fixed characters k6 writes; a line that deviates goes to JSON.parse, which decides whether it is corrupt.
 */
class LineParser {
  private readonly tags = new Tags();
  private readonly namesByLength = new Map<number, KnownName[]>();
  private knownNames = 0;
  private dayKey = -1;
  private dayBase = 0;

  constructor(private readonly acc: NdjsonAccumulator) {}

  /** Parse buf[s, e) (no newline); returns false for a blank line, throws CorruptLine for a bad one. */
  line(buf: Buffer, chunk: number, s: number, e: number): boolean {
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
    if (!this.fast(buf, chunk, s, e)) this.slow(buf.toString('utf8', s, e));
    return true;
  }

  private metricName(buf: Buffer, s: number, e: number): string {
    const len = e - s;
    const list = this.namesByLength.get(len);
    if (list) {
      for (const k of list) {
        const b = k.bytes;
        let same = true;
        // Back to front: k6's names of equal length share prefixes (http_req_sending, http_req_waiting).
        for (let i = len - 1; i >= 0; i--) {
          if (b[i] !== buf[s + i]) {
            same = false;
            break;
          }
        }
        if (same) return k.name;
      }
    }
    const name = buf.toString('utf8', s, e);
    if (this.knownNames < MAX_KNOWN_NAMES) {
      this.knownNames++;
      const entry = { name, bytes: Uint8Array.from(buf.subarray(s, e)) };
      if (list) list.push(entry);
      else this.namesByLength.set(len, [entry]);
    }
    return name;
  }

  private time(buf: Buffer, p: number, te: number): number {
    const t = this.isoTime(buf, p, te);
    return Number.isNaN(t) ? Date.parse(buf.toString('latin1', p, te)) : t;
  }

  /**
   * k6's RFC 3339 timestamps (`2025-11-18T21:02:01.094663+07:00`, `...Z`) read digit by digit; the epoch of
   * the day is computed once per day and zone. NaN for any other shape (then Date.parse decides).
   */
  private isoTime(buf: Buffer, p: number, te: number): number {
    if (te - p < 20 || buf[p + 4] !== 45 || buf[p + 7] !== 45 || buf[p + 10] !== 84 || buf[p + 13] !== COLON || buf[p + 16] !== COLON) return NaN;
    const y = digits(buf, p, 4);
    const mo = digits(buf, p + 5, 2);
    const d = digits(buf, p + 8, 2);
    const h = digits(buf, p + 11, 2);
    const mi = digits(buf, p + 14, 2);
    const sec = digits(buf, p + 17, 2);
    if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60) return NaN;
    let i = p + 19;
    let ms = 0;
    if (buf[i] === 46) {
      i++;
      let n = 0;
      for (; i < te; i++, n++) {
        const c = buf[i]!;
        if (c < 48 || c > 57) break;
        if (n < 3) ms = ms * 10 + (c - 48);
      }
      if (n === 0) return NaN;
      for (; n < 3; n++) ms *= 10;
    }
    let offsetMin = 0;
    const z = buf[i];
    if (z === 90 /* Z */ && i + 1 === te) offsetMin = 0;
    else if ((z === 43 || z === 45) && i + 6 === te && buf[i + 3] === COLON) {
      const oh = digits(buf, i + 1, 2);
      const om = digits(buf, i + 4, 2);
      if (oh < 0 || om < 0) return NaN;
      offsetMin = (z === 45 ? -1 : 1) * (oh * 60 + om);
    } else return NaN;
    const dayKey = ((y * 16 + mo) * 32 + d) * 4096 + (offsetMin + 2048);
    if (dayKey !== this.dayKey) {
      this.dayKey = dayKey;
      this.dayBase = Date.UTC(y, mo - 1, d) - offsetMin * 60_000;
      // Date.UTC rolls over invalid days (Feb 30); Date.parse would refuse them.
      if (new Date(Date.UTC(y, mo - 1, d)).getUTCDate() !== d) this.dayBase = NaN;
    }
    return this.dayBase + ((h * 60 + mi) * 60 + sec) * 1000 + ms;
  }

  private fast(buf: Buffer, chunk: number, s: number, e: number): boolean {
    if (buf[e - 1] !== RBRACE) return false;
    let metric: string;
    let p: number;
    let newShape = false;
    if (bytesAt(buf, s, NEW_PREFIX)) {
      newShape = true;
      const ns = s + NEW_PREFIX.length;
      let ne = ns;
      for (; ne < e; ne++) {
        const c = buf[ne];
        if (c === QUOTE) break;
        if (c === BACKSLASH) return false;
      }
      if (ne >= e || !bytesAt(buf, ne, NEW_AFTER_NAME)) return false;
      metric = this.metricName(buf, ns, ne);
      p = ne + NEW_AFTER_NAME.length;
    } else if (bytesAt(buf, s, OLD_PREFIX)) {
      if (buf[e - 2] !== QUOTE) return false;
      // The metric name closes the line: `...},"metric":"name"}`.
      let ns = e - 2;
      while (ns > s && buf[ns - 1] !== QUOTE && buf[ns - 1] !== BACKSLASH) ns--;
      if (buf[ns - 1] !== QUOTE || !bytesAt(buf, ns - OLD_METRIC.length, OLD_METRIC) || buf[ns - OLD_METRIC.length - 1] !== RBRACE) return false;
      metric = this.metricName(buf, ns, e - 2);
      p = s + OLD_PREFIX.length;
    } else return false;

    const te = findByte(buf, QUOTE, p, e);
    if (te === -1 || !bytesAt(buf, te, VALUE_KEY)) return false;
    const vs = te + VALUE_KEY.length;
    const ve = findByte(buf, COMMA, vs, e);
    if (ve === -1 || !bytesAt(buf, ve + 1, TAGS_KEY)) return false;
    const value = parseNumber(buf, vs, ve);
    if (!Number.isFinite(value)) return false;
    const t = this.time(buf, p, te);
    if (!Number.isFinite(t)) return false;
    const tagsFrom = ve + 1 + TAGS_KEY.length;
    // The tags object (or null) must close the line the way k6 writes it.
    if (bytesAt(buf, tagsFrom, NULL_BYTES)) {
      if (newShape ? e !== tagsFrom + 6 || buf[e - 2] !== RBRACE : buf[tagsFrom + 4] !== RBRACE) return false;
    } else if (buf[tagsFrom] !== LBRACE || (newShape && (buf[e - 2] !== RBRACE || buf[e - 3] !== RBRACE))) return false;
    const tags = this.tags;
    tags.fromBytes = true;
    tags.buf = buf;
    tags.chunk = chunk;
    tags.from = tagsFrom;
    tags.end = e;
    this.acc.point(metric, t, value, tags);
    return true;
  }

  private slow(line: string): void {
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (err) {
      throw new CorruptLine(err instanceof Error ? err.message : String(err));
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
    if (value === undefined || !Number.isFinite(t)) throw new CorruptLine('a Point without a numeric value and a valid time');
    const tags = this.tags;
    tags.fromBytes = false;
    tags.parsed = obj(data.tags);
    this.acc.point(metric, t, value, tags);
  }
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

// ---------------------------------------------------------------------------------------------------------
// Thresholds: the NDJSON output lists each metric's threshold expressions but not k6's verdict, so they are
// evaluated here from the same data k6 would use.

const THRESHOLD_RE = /^\s*(avg|min|max|med|count|rate|value|p\(\s*(\d+(?:\.\d+)?)\s*\))\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*$/;

function compare(a: number, op: string, b: number): boolean {
  switch (op) {
    case '<':
      return a < b;
    case '<=':
      return a <= b;
    case '>':
      return a > b;
    case '>=':
      return a >= b;
    case '==':
    case '===':
      return a === b;
    default:
      return a !== b;
  }
}

function evaluateThreshold(expr: string, stat: (agg: string, p?: number) => number | undefined): boolean | undefined {
  const m = THRESHOLD_RE.exec(expr);
  if (!m) return undefined;
  const agg = m[2] !== undefined ? 'p' : m[1]!;
  const actual = stat(agg, m[2] !== undefined ? Number(m[2]) : undefined);
  if (actual === undefined) return undefined;
  return compare(actual, m[3]!, Number(m[4]));
}

function trendStat(h: Histogram, agg: string, p?: number): number | undefined {
  if (h.count === 0) return undefined;
  switch (agg) {
    case 'avg':
      return h.sumUs / h.count / 1000;
    case 'min':
      return h.minUs / 1000;
    case 'max':
      return h.maxUs / 1000;
    case 'med':
      return h.interpolatedPercentileMs(50);
    case 'count':
      return h.count;
    case 'p':
      return p === undefined ? undefined : h.interpolatedPercentileMs(p);
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------

function trendValues(h: Histogram | undefined, exact: { count: number; sum: number; min: number; max: number }): Record<string, number> {
  const v: Record<string, number> = { count: exact.count };
  if (exact.count === 0) return v;
  v.min = exact.min;
  v.max = exact.max;
  v.avg = exact.sum / exact.count;
  if (h && h.count > 0) {
    for (const p of [50, 90, 95, 99, 99.9]) v[percentileKey(p)] = h.interpolatedPercentileMs(p)!;
  }
  return v;
}

function buildResult(acc: NdjsonAccumulator, path: string, opts: ReadOptions, notes: string[]): RunResult {
  const r = emptyResult(path, opts, 'k6');
  const hasPoints = Number.isFinite(acc.minTime);
  const start = hasPoints ? acc.minTime : 0;
  const end = hasPoints ? acc.maxTime : 0;
  setTimes(r, start, end);
  if (!hasPoints) notes.push('The file has no data points.');

  r.requests = acc.requests;
  r.errors = acc.errors;
  r.errorsByKind = acc.errorsByKind;
  r.statusCodes = Object.fromEntries(acc.statusCodes);
  r.latency = statsFromHistogram(acc.latency, 'interpolated');
  if (acc.latency.count > 0) r.histogram = acc.latency.toJSON();

  const endpoints: EndpointResult[] = [];
  for (const [name, e] of acc.endpoints) {
    if (e.requests === 0 && e.hist.count === 0) continue;
    const ep: EndpointResult = {
      name,
      requests: e.requests,
      errors: e.errors,
      latency: statsFromHistogram(e.hist, 'interpolated'),
      statusCodes: Object.fromEntries(e.statusCodes),
    };
    if (e.hist.count > 0) ep.histogram = e.hist.toJSON();
    endpoints.push(ep);
  }
  r.endpoints = endpoints.sort((a, b) => b.requests - a.requests || a.name.localeCompare(b.name));

  // Intervals aligned to wall-clock multiples of the width (like Artillery's periods, so files from several
  // instances line up); the first and last are clipped to the run. Empty intervals inside the run are kept.
  const keys = [...acc.intervals.keys()].sort((a, b) => a - b);
  const intervals: IntervalResult[] = [];
  if (keys.length > 0) {
    const first = keys[0]!;
    const last = keys[keys.length - 1]!;
    const dense = last - first < MAX_INTERVALS;
    const all = dense ? Array.from({ length: last - first + 1 }, (_, i) => first + i) : keys;
    for (const k of all) {
      const a = acc.intervals.get(k);
      const s = Math.max(k * acc.intervalMs, start);
      const e = Math.max(s, Math.min((k + 1) * acc.intervalMs, end));
      const h = a ? (a.packed ?? a.hist?.toJSON()) : undefined;
      const iv: IntervalResult = {
        startMs: s - start,
        durationMs: e - s,
        requests: a?.requests ?? 0,
        errors: a?.errors ?? 0,
        latency: h ? statsFromHistogram(h, 'interpolated') : { count: 0 },
      };
      if (h && h.count > 0) iv.histogram = h;
      if (a?.vus !== undefined) iv.concurrency = a.vus;
      intervals.push(iv);
    }
  }
  r.intervals = intervals;
  r.intervalMs = acc.intervalMs;
  if (acc.intervalsCapped) notes.push(`The points span more than ${MAX_INTERVALS} intervals; later intervals were dropped from the time series.`);

  const durS = r.durationMs / 1000;
  const custom: Record<string, CustomMetric> = {};
  const trendHistograms = new Map<string, Histogram>();
  const trendOutOfRange = new Set<string>();
  if (acc.requests > 0 || acc.types.has('http_reqs')) {
    custom['k6.http_reqs'] = { type: 'counter', values: durS > 0 ? { count: acc.requests, rate: acc.requests / durS } : { count: acc.requests } };
  }
  if (acc.latency.count > 0) {
    custom['k6.http_req_duration'] = {
      type: 'trend',
      values: trendValues(acc.latency, {
        count: acc.latency.count,
        sum: acc.latency.sumUs / 1000,
        min: acc.latency.minUs / 1000,
        max: acc.latency.maxUs / 1000,
      }),
    };
    trendHistograms.set('k6.http_req_duration', acc.latency);
  }
  if (acc.failedTotal > 0) {
    custom['k6.http_req_failed'] = { type: 'rate', values: { rate: acc.failedTrues / acc.failedTotal, count: acc.failedTrues, total: acc.failedTotal } };
  }
  if (acc.checksTotal > 0) {
    custom.checks = { type: 'rate', values: { rate: acc.checksPass / acc.checksTotal, count: acc.checksPass, total: acc.checksTotal } };
    for (const [name, [p, f]] of acc.checksByName) custom[`checks{check:${name}}`] = { type: 'rate', values: { rate: p / (p + f), count: p, total: p + f } };
    for (const [group, [p, f]] of acc.checksByGroup) custom[`checks{group:${group}}`] = { type: 'rate', values: { rate: p / (p + f), count: p, total: p + f } };
  }
  for (const [name, count] of acc.counters) {
    custom[k6CustomName(name)] = { type: 'counter', values: durS > 0 ? { count, rate: count / durS } : { count } };
  }
  for (const [name, g] of acc.gauges) custom[k6CustomName(name)] = { type: 'gauge', values: { value: g.value, min: g.min, max: g.max } };
  for (const [name, [trues, total]] of acc.rates) {
    custom[k6CustomName(name)] = { type: 'rate', values: { rate: total ? trues / total : 0, count: trues, total } };
  }
  for (const [name, tr] of acc.trends) {
    const key = k6CustomName(name);
    custom[key] = { type: 'trend', values: trendValues(tr.outOfRange ? undefined : tr.hist, tr) };
    if (tr.outOfRange) trendOutOfRange.add(key);
    else trendHistograms.set(key, tr.hist);
  }
  r.customMetrics = custom;
  if (trendOutOfRange.size > 0) {
    notes.push(`Percentiles of ${[...trendOutOfRange].join(', ')} are not given: the values are negative or too large for the histogram (count, min, max and avg are exact).`);
  }
  if (acc.implausible > 0) notes.push(`${acc.implausible} point${acc.implausible === 1 ? '' : 's'} with values beyond ${MAX_PLAUSIBLE} were ignored as not data.`);
  if (acc.customCapped) notes.push(`More than ${MAX_CUSTOM_METRICS} metrics: the rest were ignored.`);
  if (acc.endpointsCapped) {
    notes.push(`More than ${MAX_ENDPOINTS} distinct request names (k6 names a request by its URL unless the script sets a name tag): the rest are grouped as "${OTHER_ENDPOINTS}".`);
  }
  if (acc.undefinedPoints.size > 0) {
    const names = [...acc.undefinedPoints.keys()];
    notes.push(`Points of ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''} came without a Metric definition line (type unknown) and were ignored.`);
  }

  const vusMax = acc.gauges.get('vus')?.max ?? acc.gauges.get('vus_max')?.max;
  if (vusMax !== undefined) r.vus = { max: vusMax };

  const dropped = acc.counters.get('dropped_iterations') ?? 0;
  if (dropped > 0) {
    r.generator = {
      arrivalsDropped: dropped,
      valid: false,
      invalidReasons: [
        `k6 dropped ${dropped} iteration${dropped === 1 ? '' : 's'} (dropped_iterations: no free VU when an arrival was due): the load asked for was not sent.`,
      ],
    };
  }

  r.toolThresholds = thresholds(acc, durS, notes);
  r.notes = notes;
  // Without a status a request cannot be classified; k6's own failure count is the same definition only when
  // 4xx count as errors.
  let errorsKnown = true;
  if (acc.withoutStatus > 0) {
    if (opts.count4xxAsErrors && acc.failedTotal > 0 && acc.withoutStatus === acc.requests) {
      r.errors = acc.failedTrues;
      notes.push("The requests carry no status tag (k6's systemTags leave it out): errors are k6's http_req_failed count, the same definition with 4xx counted as errors.");
    } else {
      errorsKnown = false;
      notes.push(
        `${acc.withoutStatus} request${acc.withoutStatus === 1 ? ' has' : 's have'} no status tag (k6's systemTags leave it out), so the error rate is not measured; k6's own failure rate is customMetrics "k6.http_req_failed".`,
      );
    }
  }
  finishRates(r, { errorsKnown });
  setMeta(r, { percentileMethod: 'interpolated', trendHistograms, trendOutOfRange });
  return r;
}

function thresholds(acc: NdjsonAccumulator, durS: number, notes: string[]): ToolThreshold[] {
  const out: ToolThreshold[] = [];
  const skipped: string[] = [];
  for (const [metric, exprs] of acc.thresholdDefs) {
    const stat = (agg: string, p?: number): number | undefined => {
      if (metric === 'http_req_duration') return trendStat(acc.latency, agg, p);
      if (metric === 'http_req_failed') return agg === 'rate' && acc.failedTotal > 0 ? acc.failedTrues / acc.failedTotal : undefined;
      if (metric === 'checks') return agg === 'rate' && acc.checksTotal > 0 ? acc.checksPass / acc.checksTotal : undefined;
      if (metric === 'http_reqs') return agg === 'count' ? acc.requests : agg === 'rate' && durS > 0 ? acc.requests / durS : undefined;
      switch (acc.types.get(metric)) {
        case 'trend': {
          const tr = acc.trends.get(metric);
          if (!tr || tr.count === 0) return undefined;
          if (agg === 'avg') return tr.sum / tr.count;
          if (agg === 'min') return tr.min;
          if (agg === 'max') return tr.max;
          if (agg === 'count') return tr.count;
          return tr.outOfRange ? undefined : trendStat(tr.hist, agg, p);
        }
        case 'counter': {
          const c = acc.counters.get(metric) ?? 0;
          return agg === 'count' ? c : agg === 'rate' && durS > 0 ? c / durS : undefined;
        }
        case 'rate': {
          const r = acc.rates.get(metric);
          return agg === 'rate' && r && r[1] > 0 ? r[0] / r[1] : undefined;
        }
        case 'gauge': {
          const g = acc.gauges.get(metric);
          return !g ? undefined : agg === 'value' ? g.value : agg === 'min' ? g.min : agg === 'max' ? g.max : undefined;
        }
        case undefined:
          return undefined;
      }
    };
    for (const expression of exprs) {
      const ok = evaluateThreshold(expression, stat);
      if (ok === undefined) skipped.push(`${metric}: ${expression}`);
      else out.push({ metric, expression, ok });
    }
  }
  if (out.length > 0) {
    notes.push(
      'k6 thresholds were evaluated by perf-gate from the points (the NDJSON output records the expressions, not k6\'s verdict); percentiles agree with k6 to within 0.1 %.',
    );
  }
  if (skipped.length > 0) notes.push(`Thresholds not evaluated (no data or unsupported expression): ${skipped.slice(0, 5).join('; ')}${skipped.length > 5 ? '; ...' : ''}.`);
  return out;
}

export async function readNdjson(path: string, opts: ReadOptions): Promise<RunResult> {
  const info = await inspectFile(path);
  const intervalMs = opts.intervalMs && opts.intervalMs > 0 ? opts.intervalMs : DEFAULT_INTERVAL_MS;
  const acc = new NdjsonAccumulator(opts, intervalMs);
  const notes: string[] = [];
  const parser = new LineParser(acc);
  const stream = openContent(path, info.gzip);
  let carry: Buffer | null = null;
  let lineNo = 0;
  let chunkNo = 0;
  // A line that failed to parse: an error if anything follows it, a truncated last line if nothing does.
  let pending: { line: number; reason: string } | undefined;

  const handle = (buf: Buffer, s: number, e: number): void => {
    lineNo++;
    if (pending) {
      if (!/\S/.test(buf.toString('latin1', s, e))) return;
      throw new UserError(`Results file ${path}, line ${pending.line}: not a valid k6 JSON line (${pending.reason}).`);
    }
    try {
      parser.line(buf, chunkNo, s, e);
    } catch (err) {
      if (!(err instanceof CorruptLine)) throw err;
      pending = { line: lineNo, reason: err.message };
    }
  };
  const tooLong = () => new UserError(`Results file ${path}, line ${lineNo + 1}: longer than ${MAX_LINE_BYTES / 1024 / 1024} MB, not k6 NDJSON.`);

  // Lines are split on the newline byte and parsed as bytes: UTF-8 never uses the bytes of ASCII delimiters
  // inside a multi-byte character, so no decoding is needed until a string value is taken out.
  let gzipTruncated = false;
  try {
    for await (const chunk of stream) {
      const buf = chunk as Buffer;
      let s = 0;
      let nl = buf.indexOf(NEWLINE);
      if (carry) {
        if (nl === -1) {
          carry = Buffer.concat([carry, buf]);
          if (carry.length > MAX_LINE_BYTES) throw tooLong();
          continue;
        }
        const joined = Buffer.concat([carry, buf.subarray(0, nl)]);
        carry = null;
        chunkNo++;
        handle(joined, 0, joined.length);
        s = nl + 1;
        nl = buf.indexOf(NEWLINE, s);
      }
      chunkNo++;
      while (nl !== -1) {
        handle(buf, s, nl);
        s = nl + 1;
        nl = buf.indexOf(NEWLINE, s);
      }
      if (s < buf.length) {
        carry = Buffer.from(buf.subarray(s));
        if (carry.length > MAX_LINE_BYTES) throw tooLong();
      }
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    if (info.gzip && isTruncatedGzip(err)) gzipTruncated = true;
    else throw inputError(path, err);
  } finally {
    stream.destroy();
  }
  if (carry && carry.length > 0) {
    chunkNo++;
    handle(carry, 0, carry.length);
  }
  if (pending) {
    notes.push(`The last line (${pending.line}) is incomplete and was ignored: the file was probably cut off while k6 was writing it.`);
  }
  if (gzipTruncated) notes.push('The gzip file ends early (cut off while being written or copied): the points up to that place were read.');
  return buildResult(acc, path, opts, notes);
}

export const k6NdjsonReader: ResultReader = {
  format: 'k6-ndjson',
  detect(head: string): boolean {
    const s = head.replace(/^\s+/, '');
    const nl = s.indexOf('\n');
    const first = nl === -1 ? s : s.slice(0, nl);
    return first.startsWith('{') && /"type"\s*:\s*"(Metric|Point)"/.test(first) && /"metric"\s*:\s*"/.test(first);
  },
  read: readNdjson,
};
