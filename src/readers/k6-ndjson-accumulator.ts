// What the k6 NDJSON reader keeps of the points: counters, histograms and gauges per metric, endpoint and
// interval, never the samples themselves.
import { Histogram } from '../metrics/histogram.js';
import type { ErrorKind, SerializedHistogram } from '../model.js';
import type { K6MetricType } from './k6-summary-common.js';
import type { ReadOptions } from './types.js';
import { MAX_PLAUSIBLE, addCount, k6ErrorCodeKind, obj, statusIsError, statusKind, str, type Obj } from './util.js';
import { NEW_AFTER_NAME, Pattern } from './k6-ndjson-bytes.js';
import type { Tags } from './k6-ndjson-tags.js';

export const MAX_ENDPOINTS = 1000;
export const MAX_INTERVALS = 200_000;
export const MAX_CUSTOM_METRICS = 2000;
export const OTHER_ENDPOINTS = '(other endpoints)';
// Interval histograms older than this many intervals behind the newest are packed into their sparse form;
// k6 writes samples in near time order, so a late sample that has to unpack one is rare.
const ACTIVE_INTERVALS = 3;
const HIST_START_BUCKETS = 64;
const MAX_TREND_US = 2 ** 31 - 1;
export const MAX_KNOWN_NAMES = 5000;

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

// The time (ms since the epoch) and value of the point being handed to the accumulator. In a typed array, not
// as arguments: a double passed to or returned from a function V8 does not inline is boxed in a new heap
// object, several per line, and that garbage made the young generation grow.
export const POINT = new Float64Array(2);

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
export class MetricInfo {
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

export class NdjsonAccumulator {
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
