// k6 `--out json=file.json` (optionally gzip): one JSON object per line, `{"type":"Metric",...}` definitions
// and `{"type":"Point","metric":...,"data":{"time","value","tags"}}` samples. Files reach gigabytes, so the
// reader streams and keeps histograms and counters, never the samples: memory depends on the number of
// metrics, endpoints and intervals, not on the number of lines.
//
// Speed: k6 writes every Point with the same key order (`{"metric":"m","type":"Point","data":{"time":"...",
// "value":v,"tags":{...}}}` since v0.4x, `{"type":"Point","data":{...},"metric":"m"}` before), so the fields are
// cut out of the raw bytes at known places and only lines that do not fit the pattern go through JSON.parse,
// which also decides whether such a line is corrupt. The fixed parts are compared four bytes at a time; the
// metric, a tag key's place, a tag value and the timestamp are first tried against recent ones (a request's
// points repeat them); numbers are read from the bytes; a metric's accumulator hangs off its name's entry. So a
// point costs no allocation and at most one map lookup (its endpoint). Plain files are read into two reused
// buffers, the next read running while the current one is parsed. `npm run bench -- ndjson`: 5-8 times the
// points/s of readline + JSON.parse per line doing the same aggregation, at ~0.6 of its peak RSS (1M and 10M
// points, ~3 GB).
import { open } from 'node:fs/promises';
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
/** Bytes per read of a plain file; two such buffers are all the file data held at once. */
const READ_BYTES = 1 << 20;

// The accumulators keep their running numbers in typed arrays, read through getters, not in number fields: a
// field that starts as a small integer and later holds a fraction or a large sum changes representation, which
// deprecates the shape of every such object and left the per-point code unoptimised for the rest of a run
// (see Histogram.stat). Typed arrays never change shape, and hold doubles without heap boxes.

class TrendAcc {
  readonly hist = new Histogram(HIST_START_BUCKETS);
  outOfRange = false;
  /** count, sum, min, max */
  readonly v = new Float64Array([0, 0, Infinity, -Infinity]);

  get count(): number {
    return this.v[0]!;
  }
  get sum(): number {
    return this.v[1]!;
  }
  get min(): number {
    return this.v[2]!;
  }
  get max(): number {
    return this.v[3]!;
  }
}

class GaugeAcc {
  /** value, time of the value, min, max */
  readonly v: Float64Array;

  constructor(value: number, time: number) {
    this.v = new Float64Array([value, time, value, value]);
  }

  get value(): number {
    return this.v[0]!;
  }
  get min(): number {
    return this.v[2]!;
  }
  get max(): number {
    return this.v[3]!;
  }
}

class IntervalAcc {
  hist: Histogram | null = null;
  packed: SerializedHistogram | null = null;
  /** requests, errors, the last vus value, its time (-Infinity without one) */
  readonly v = new Float64Array([0, 0, NaN, -Infinity]);

  get requests(): number {
    return this.v[0]!;
  }
  get errors(): number {
    return this.v[1]!;
  }
  get vus(): number | undefined {
    return this.v[3] === -Infinity ? undefined : this.v[2];
  }
}

class EndpointAcc {
  readonly statusCodes = new Map<string, number>();
  readonly hist = new Histogram(HIST_START_BUCKETS);
  /** requests, errors */
  readonly v = new Float64Array(2);

  get requests(): number {
    return this.v[0]!;
  }
  get errors(): number {
    return this.v[1]!;
  }
}

// Byte values of the characters the parser looks for.
const QUOTE = 34;
const BACKSLASH = 92;
const LBRACE = 123;
const RBRACE = 125;
const COLON = 58;
const COMMA = 44;
const NEWLINE = 10;

/** A byte string compared four bytes at a time (DataView reads are inlined by V8; a byte loop is 4x slower). */
class Pattern {
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

function pattern(s: string): Pattern {
  return new Pattern(Uint8Array.from(Buffer.from(s, 'latin1')));
}

/** buf[pos, pos + p.length) equals p and lies before `end`; dv views the same bytes as buf. */
function matchAt(dv: DataView, buf: Uint8Array, pos: number, end: number, p: Pattern): boolean {
  const n = p.length;
  if (pos < 0 || pos + n > end) return false;
  const w = p.words;
  const nw = w.length;
  for (let i = 0; i < nw; i++) if (dv.getInt32(pos + 4 * i, true) !== w[i]) return false;
  const b = p.bytes;
  for (let i = nw * 4; i < n; i++) if (buf[pos + i] !== b[i]) return false;
  return true;
}

function viewOf(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

const NEW_PREFIX = pattern('{"metric":"');
const NEW_AFTER_NAME = pattern('","type":"Point","data":{"time":"');
const OLD_PREFIX = pattern('{"type":"Point","data":{"time":"');
const OLD_METRIC = pattern(',"metric":"');
const VALUE_KEY = pattern('","value":');
const TAGS_KEY = pattern('"tags":');
const NULL_BYTES = pattern('null');

/** First `byte` in buf[from, end), or -1. */
function findByte(buf: Uint8Array, byte: number, from: number, end: number): number {
  for (let i = from; i < end; i++) if (buf[i] === byte) return i;
  return -1;
}

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
class Tags {
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

/** A JSON string value with escapes (Go writes & as \u0026 in URLs, a quote as \") in buf[s, e), e its closing quote. */
function decodeEscaped(buf: Buffer, s: number, e: number): string | undefined {
  try {
    const v: unknown = JSON.parse(buf.toString('utf8', s - 1, e + 1));
    return typeof v === 'string' ? v : undefined;
  } catch {
    return undefined;
  }
}

// The time (ms since the epoch) and value of the point being handed to the accumulator. In a typed array, not
// as arguments: a double passed to or returned from a function V8 does not inline is boxed in a new heap
// object, several per line, and that garbage made the young generation grow.
const POINT = new Float64Array(2);

// What the accumulator does with a metric's points besides the generic handling by type.
const K_OTHER = 0;
const K_REQS = 1;
const K_DURATION = 2;
const K_FAILED = 3;
const K_CHECKS = 4;
const K_VUS = 5;

function builtinKind(name: string): number {
  switch (name) {
    case 'http_reqs':
      return K_REQS;
    case 'http_req_duration':
      return K_DURATION;
    case 'http_req_failed':
      return K_FAILED;
    case 'checks':
      return K_CHECKS;
    case 'vus':
      return K_VUS;
    default:
      return K_OTHER;
  }
}

/** A metric name with its bytes and, once resolved, its type and accumulator. */
class MetricInfo {
  readonly kind: number;
  readonly raw: Pattern;
  /**
   * The name and what follows it in a Point line of k6 >= 0.4x (`name","type":"Point","data":{"time":"`), for a
   * name the fast path reads as is (no quote or backslash, UTF-8 that decodes back to it); else null.
   */
  readonly withLayout: Pattern | null;
  /** The metric of the line that followed this one's last time: k6 writes a request's points in one order. */
  next: MetricInfo | undefined = undefined;
  /** NdjsonAccumulator.typesVersion when `type` was looked up. */
  typesVersion = -1;
  type: K6MetricType | undefined = undefined;
  trend: TrendAcc | undefined = undefined;
  gauge: GaugeAcc | undefined = undefined;
  rate: [number, number] | undefined = undefined;

  constructor(readonly name: string) {
    this.kind = builtinKind(name);
    const bytes = Buffer.from(name, 'utf8');
    this.raw = new Pattern(Uint8Array.from(bytes));
    const plain = !name.includes('"') && !name.includes('\\') && bytes.toString('utf8') === name;
    this.withLayout = plain ? new Pattern(Uint8Array.from(Buffer.concat([bytes, NEW_AFTER_NAME.bytes]))) : null;
  }
}

class NdjsonAccumulator {
  readonly intervalMs: number;
  readonly types = new Map<string, K6MetricType>();
  typesVersion = 0;
  readonly thresholdDefs = new Map<string, string[]>();
  /** requests, errors, requests without a status tag, earliest and latest point time */
  private readonly v = new Float64Array([0, 0, 0, Infinity, -Infinity]);
  get requests(): number {
    return this.v[0]!;
  }
  get errors(): number {
    return this.v[1]!;
  }
  /** Requests whose status tag is missing (the script's systemTags can leave it out). */
  get withoutStatus(): number {
    return this.v[2]!;
  }
  get minTime(): number {
    return this.v[3]!;
  }
  get maxTime(): number {
    return this.v[4]!;
  }
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
  /** The key of the last interval looked up (lastAcc) and the newest key seen. */
  private readonly keys = new Float64Array([NaN, -Infinity]);
  private lastAcc: IntervalAcc | undefined;
  intervalsCapped = false;
  readonly endpoints = new Map<string, EndpointAcc>();
  private lastEndpointName: string | undefined = undefined;
  private lastEndpoint: EndpointAcc | undefined = undefined;
  endpointsCapped = false;
  customCapped = false;
  undefinedPoints = new Map<string, number>();
  points = 0;
  implausible = 0;
  private readonly metrics = new Map<string, MetricInfo>();

  constructor(
    readonly opts: ReadOptions,
    intervalMs: number,
  ) {
    this.intervalMs = intervalMs;
  }

  /** The entry of a metric name (a fresh one past MAX_KNOWN_NAMES distinct names: correct, only slower). */
  metric(name: string): MetricInfo {
    let m = this.metrics.get(name);
    if (!m) {
      m = new MetricInfo(name);
      if (this.metrics.size < MAX_KNOWN_NAMES) this.metrics.set(name, m);
    }
    return m;
  }

  defineMetric(data: Obj): void {
    const name = str(data.name);
    const type = str(data.type);
    if (!name || name.includes('{')) return;
    if (type === 'counter' || type === 'gauge' || type === 'rate' || type === 'trend') {
      this.types.set(name, type);
      this.typesVersion++;
    }
    if (Array.isArray(data.thresholds)) {
      const exprs: string[] = [];
      for (const t of data.thresholds) {
        const e = typeof t === 'string' ? t : str(obj(t)?.threshold);
        if (e) exprs.push(e);
      }
      if (exprs.length) this.thresholdDefs.set(name, exprs);
    }
  }

  /** The interval of the current point (POINT[0]), undefined past MAX_INTERVALS. */
  private interval(): IntervalAcc | undefined {
    const key = Math.floor(POINT[0]! / this.intervalMs);
    const keys = this.keys;
    if (key === keys[0]) return this.lastAcc;
    let acc = this.intervals.get(key);
    if (!acc) {
      if (this.intervals.size >= MAX_INTERVALS) {
        this.intervalsCapped = true;
        return undefined;
      }
      acc = new IntervalAcc();
      this.intervals.set(key, acc);
    }
    if (key > keys[1]!) {
      keys[1] = key;
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
    keys[0] = key;
    this.lastAcc = acc;
    return acc;
  }

  private intervalHist(acc: IntervalAcc): Histogram {
    if (acc.hist) return acc.hist;
    acc.hist = acc.packed ? Histogram.fromJSON(acc.packed) : new Histogram();
    acc.packed = null;
    this.activeIntervals.add(Math.floor(POINT[0]! / this.intervalMs));
    return acc.hist;
  }

  private endpoint(src: Tags): EndpointAcc {
    const name = src.get(src.name) ?? src.get(src.url) ?? '(no name)';
    // Consecutive points are mostly of one request; a name keeps its entry once it has one.
    if (name === this.lastEndpointName) return this.lastEndpoint!;
    let e = this.endpoints.get(name);
    if (!e) {
      if (this.endpoints.size >= MAX_ENDPOINTS) {
        this.endpointsCapped = true;
        e = this.endpoints.get(OTHER_ENDPOINTS);
        if (!e) {
          e = new EndpointAcc();
          this.endpoints.set(OTHER_ENDPOINTS, e);
        }
      } else {
        e = new EndpointAcc();
        this.endpoints.set(name, e);
      }
    }
    this.lastEndpointName = name;
    this.lastEndpoint = e;
    return e;
  }

  /** A point of metric m at POINT[0] with the value POINT[1]. */
  point(m: MetricInfo, src: Tags): void {
    const t = POINT[0]!;
    const value = POINT[1]!;
    if (!(value <= MAX_PLAUSIBLE && value >= -MAX_PLAUSIBLE)) {
      this.implausible++;
      return;
    }
    this.points++;
    const v = this.v;
    if (t < v[3]!) v[3] = t;
    if (t > v[4]!) v[4] = t;
    switch (m.kind) {
      case K_REQS: {
        if (!(value >= 0)) return; // a request count below zero is not data
        const status = src.get(src.status);
        let isError = false;
        if (status !== undefined) {
          this.statusCodes.set(status, (this.statusCodes.get(status) ?? 0) + value);
          const code = Number(status);
          if (code === 0) {
            // k6 tags a request that got no response with status 0 and an error_code saying why.
            const ec = src.get(src.errorCode);
            addCount(this.errorsByKind, k6ErrorCodeKind(ec !== undefined ? Number(ec) : undefined), value);
            isError = true;
          } else if (code >= 400) {
            const kind = statusKind(code);
            if (kind) addCount(this.errorsByKind, kind, value);
            isError = statusIsError(code, this.opts);
          }
        } else v[2]! += value;
        v[0]! += value;
        if (isError) v[1]! += value;
        const acc = this.interval();
        if (acc) {
          acc.v[0]! += value;
          if (isError) acc.v[1]! += value;
        }
        const ep = this.endpoint(src);
        ep.v[0]! += value;
        if (isError) ep.v[1]! += value;
        if (status !== undefined) ep.statusCodes.set(status, (ep.statusCodes.get(status) ?? 0) + value);
        return;
      }
      case K_DURATION: {
        // recordMs(value) is recordUs(Math.round(value * 1000)); an integer is passed without boxing.
        const us = Math.round(value * 1000);
        this.latency.recordUs(us);
        const acc = this.interval();
        if (acc) this.intervalHist(acc).recordUs(us);
        this.endpoint(src).hist.recordUs(us);
        return;
      }
      case K_FAILED:
        this.failedTotal++;
        if (value !== 0) this.failedTrues++;
        return;
      case K_CHECKS: {
        const ok = value !== 0;
        this.checksTotal++;
        if (ok) this.checksPass++;
        const name = src.get(src.check);
        if (name !== undefined) bump(this.checksByName, name, ok);
        const group = src.get(src.group);
        if (group) bump(this.checksByGroup, group, ok);
        return;
      }
      case K_VUS: {
        const acc = this.interval();
        if (acc && t >= acc.v[3]!) {
          acc.v[2] = value;
          acc.v[3] = t;
        }
        break; // also kept as a gauge below
      }
    }
    this.generic(m);
  }

  private generic(m: MetricInfo): void {
    const t = POINT[0]!;
    const value = POINT[1]!;
    const metric = m.name;
    if (m.typesVersion !== this.typesVersion) {
      m.typesVersion = this.typesVersion;
      m.type = this.types.get(metric);
    }
    switch (m.type) {
      case undefined:
        this.undefinedPoints.set(metric, (this.undefinedPoints.get(metric) ?? 0) + 1);
        return;
      case 'counter':
        if (!this.counters.has(metric) && this.tooManyCustom()) return;
        this.counters.set(metric, (this.counters.get(metric) ?? 0) + value);
        return;
      case 'gauge': {
        const g = m.gauge ?? (m.gauge = this.gauges.get(metric));
        if (!g) {
          if (this.tooManyCustom()) return;
          this.gauges.set(metric, (m.gauge = new GaugeAcc(value, t)));
          return;
        }
        const gv = g.v;
        if (t >= gv[1]!) {
          gv[0] = value;
          gv[1] = t;
        }
        if (value < gv[2]!) gv[2] = value;
        if (value > gv[3]!) gv[3] = value;
        return;
      }
      case 'rate': {
        let r = m.rate ?? (m.rate = this.rates.get(metric));
        if (!r) {
          if (this.tooManyCustom()) return;
          r = m.rate = [0, 0];
          this.rates.set(metric, r);
        }
        if (value !== 0) r[0]++;
        r[1]++;
        return;
      }
      case 'trend': {
        let tr = m.trend ?? (m.trend = this.trends.get(metric));
        if (!tr) {
          if (this.tooManyCustom()) return;
          tr = m.trend = new TrendAcc();
          this.trends.set(metric, tr);
        }
        const tv = tr.v;
        tv[0]! += 1;
        tv[1]! += value;
        if (value < tv[2]!) tv[2] = value;
        if (value > tv[3]!) tv[3] = value;
        // The histogram holds 0 to ~2.1e9 in thousandths; a trend of other units may not fit.
        if (value < 0 || value * 1000 > MAX_TREND_US) tr.outOfRange = true;
        else tr.hist.recordUs(Math.round(value * 1000)); // = recordMs(value)
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
class LineParser {
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
   * Doubles in a typed array, not fields (see TrendAcc): the timestamp read by isoTime, the number read by
   * plainValue, the value of the last timestamp (lastTimeBytes), the zone offset and epoch of minuteWords.
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
      if (buf[ns - 1] !== QUOTE || !matchAt(dv, buf, ns - OLD_METRIC.length, e, OLD_METRIC) || buf[ns - OLD_METRIC.length - 1] !== RBRACE) return false;
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

/**
 * The (decompressed) content in chunks. A plain file is read into two buffers in turn, the next read running
 * while the caller parses the current chunk: a chunk is valid until the caller asks for the next one.
 */
async function* contentChunks(path: string, gzip: boolean): AsyncGenerator<Buffer> {
  if (gzip) {
    const stream = openContent(path, true);
    try {
      for await (const chunk of stream) yield chunk as Buffer;
    } finally {
      stream.destroy();
    }
    return;
  }
  const fh = await open(path, 'r');
  const bufs = [Buffer.allocUnsafe(READ_BYTES), Buffer.allocUnsafe(READ_BYTES)];
  let which = 0;
  let position = 0;
  const read = (buf: Buffer) => {
    const p = fh.read(buf, 0, buf.length, position);
    p.catch(() => undefined); // awaited below; an early exit must not leave it unhandled
    return p;
  };
  let next: ReturnType<typeof read> | undefined = read(bufs[0]!);
  try {
    for (;;) {
      const { bytesRead, buffer } = await next;
      next = undefined;
      if (bytesRead === 0) return;
      position += bytesRead;
      which ^= 1;
      next = read(bufs[which]!);
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    if (next) await next.catch(() => undefined);
    await fh.close();
  }
}

export async function readNdjson(path: string, opts: ReadOptions): Promise<RunResult> {
  const info = await inspectFile(path);
  const intervalMs = opts.intervalMs && opts.intervalMs > 0 ? opts.intervalMs : DEFAULT_INTERVAL_MS;
  const acc = new NdjsonAccumulator(opts, intervalMs);
  const notes: string[] = [];
  const parser = new LineParser(acc);
  let carry: Buffer | null = null;
  let lineNo = 0;
  // A line that failed to parse: an error if anything follows it, a truncated last line if nothing does.
  let pending: { line: number; reason: string } | undefined;

  const handle = (s: number, e: number): void => {
    lineNo++;
    if (pending) {
      if (!/\S/.test(parser.text(s, e))) return;
      throw new UserError(`Results file ${path}, line ${pending.line}: not a valid k6 JSON line (${pending.reason}).`);
    }
    try {
      parser.line(s, e);
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
    for await (const buf of contentChunks(path, info.gzip)) {
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
        parser.setChunk(joined);
        handle(0, joined.length);
        s = nl + 1;
        nl = buf.indexOf(NEWLINE, s);
      }
      parser.setChunk(buf);
      while (nl !== -1) {
        handle(s, nl);
        s = nl + 1;
        nl = buf.indexOf(NEWLINE, s);
      }
      // A copy: the chunk's buffer is read into again.
      if (s < buf.length) {
        carry = Buffer.from(buf.subarray(s));
        if (carry.length > MAX_LINE_BYTES) throw tooLong();
      }
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    if (info.gzip && isTruncatedGzip(err)) gzipTruncated = true;
    else throw inputError(path, err);
  }
  if (carry && carry.length > 0) {
    parser.setChunk(carry);
    handle(0, carry.length);
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
