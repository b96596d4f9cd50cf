// Counts and latencies of a built-in run. Every completed request is recorded twice: into its endpoint's histogram
// and into the current interval's. The overall histogram is the merge of the endpoint ones at the end, which saves
// a third record per request. Counters are plain numbers and typed arrays indexed by status code or error kind,
// so the hot path neither allocates strings nor grows maps.
import { Histogram } from '../../metrics/histogram.js';
import { ERROR_KINDS } from '../../model.js';
import type { EndpointResult, ErrorKind, IntervalResult } from '../../model.js';

export const KIND = {
  http_5xx: 0,
  http_4xx: 1,
  timeout: 2,
  connection_refused: 3,
  connection_reset: 4,
  dns: 5,
  check: 6,
  other: 7,
} as const satisfies Record<ErrorKind, number>;

const STATUS_SLOTS = 1000; // HTTP status codes have three digits

class EndpointAcc {
  requests = 0;
  errors = 0;
  readonly status = new Float64Array(STATUS_SLOTS);
  readonly hist = new Histogram();
  constructor(readonly name: string) {}
}

class IntervalAcc {
  requests = 0;
  errors = 0;
  arrivals = 0;
  hist = new Histogram();
  constructor(readonly index: number) {}
}

export interface IntervalProgress {
  interval: IntervalResult;
  /** End of the interval, ms from the run start. */
  endMs: number;
}

export class Recorder {
  requests = 0;
  errors = 0;
  /** Requests in flight now; the engine keeps it current, intervals sample it at their end. */
  inFlight = 0;
  readonly byKind = new Float64Array(ERROR_KINDS.length);
  readonly status = new Float64Array(STATUS_SLOTS);
  readonly endpoints: EndpointAcc[];
  readonly intervals: IntervalResult[] = [];

  private cur: IntervalAcc;
  private curEnd: number;
  // The last closed interval keeps its histogram until the next one closes, so a short tail after the shape ends
  // can be folded into it instead of showing up as a 3 ms interval with an absurd rate.
  private prevHist: Histogram | undefined;

  constructor(
    endpointNames: readonly string[],
    private readonly intervalMs: number,
    private readonly count4xx: boolean,
    private readonly targetRateAt: (tMs: number) => number | undefined,
    private readonly onInterval: (p: IntervalProgress) => void,
  ) {
    this.endpoints = endpointNames.map((n) => new EndpointAcc(n));
    this.cur = new IntervalAcc(0);
    this.curEnd = intervalMs;
  }

  /** An arrival started its flow at `tMs`. */
  arrival(tMs: number): void {
    if (tMs >= this.curEnd) this.roll(tMs);
    this.cur.arrivals++;
  }

  /** A response came back (whatever the status) after `latencyMs`, at `tMs`. */
  response(endpoint: number, tMs: number, status: number, latencyMs: number): void {
    if (tMs >= this.curEnd) this.roll(tMs);
    const ep = this.endpoints[endpoint]!;
    const cur = this.cur;
    this.requests++;
    ep.requests++;
    cur.requests++;
    if (status >= 0 && status < STATUS_SLOTS) {
      this.status[status]!++;
      ep.status[status]!++;
    }
    let error = false;
    if (status >= 500) {
      this.byKind[KIND.http_5xx]!++;
      error = true;
    } else if (status >= 400) {
      this.byKind[KIND.http_4xx]!++;
      error = this.count4xx;
    }
    if (error) {
      this.errors++;
      ep.errors++;
      cur.errors++;
    }
    ep.hist.recordMs(latencyMs);
    cur.hist.recordMs(latencyMs);
  }

  /**
   * A request failed without a response (refused, reset, DNS, timeout). It counts as a request and an error, but
   * records no latency: there is no response whose time could be measured, and a timeout's "latency" would only be
   * the configured limit, which would drag percentiles towards an arbitrary number.
   */
  failure(endpoint: number, tMs: number, kind: number): void {
    if (tMs >= this.curEnd) this.roll(tMs);
    const ep = this.endpoints[endpoint]!;
    this.requests++;
    this.errors++;
    this.byKind[kind]!++;
    ep.requests++;
    ep.errors++;
    this.cur.requests++;
    this.cur.errors++;
  }

  /** Close every interval that ended by `tMs` (also called by a timer, so quiet intervals are closed too). */
  roll(tMs: number): void {
    while (tMs >= this.curEnd) {
      const acc = this.cur;
      const startMs = acc.index * this.intervalMs;
      const result = this.makeInterval(acc, startMs, this.intervalMs, this.inFlight);
      this.intervals.push(result);
      this.prevHist = acc.hist;
      this.cur = new IntervalAcc(acc.index + 1);
      this.curEnd += this.intervalMs;
      this.onInterval({ interval: result, endMs: startMs + this.intervalMs });
    }
  }

  /**
   * Close the last, partial interval at `endMs`. A tail shorter than half an interval is folded into the interval
   * before it (which then reports a longer durationMs), because a rate computed over a few ms is noise.
   */
  finish(endMs: number): void {
    this.roll(endMs);
    const acc = this.cur;
    const startMs = acc.index * this.intervalMs;
    const tail = endMs - startMs;
    const empty = acc.requests === 0 && acc.arrivals === 0;
    if (tail <= 0 || (empty && tail < this.intervalMs / 2)) return;
    const prev = this.intervals[this.intervals.length - 1];
    if (tail < this.intervalMs / 2 && prev && this.prevHist) {
      this.prevHist.merge(acc.hist);
      const merged = new IntervalAcc(acc.index - 1);
      merged.hist = this.prevHist;
      merged.requests = prev.requests + acc.requests;
      merged.errors = prev.errors + acc.errors;
      merged.arrivals = (prev.arrivalsStarted ?? 0) + acc.arrivals;
      const folded = this.makeInterval(merged, prev.startMs, prev.durationMs + tail, this.inFlight);
      // The target rate stays the one at the middle of the original interval: the tail asked for no arrivals of
      // its own unless the shape was cut short.
      if (prev.targetRate !== undefined) folded.targetRate = prev.targetRate;
      this.intervals[this.intervals.length - 1] = folded;
      return;
    }
    this.intervals.push(this.makeInterval(acc, startMs, tail, this.inFlight));
  }

  private makeInterval(acc: IntervalAcc, startMs: number, durationMs: number, concurrency: number): IntervalResult {
    const out: IntervalResult = {
      startMs,
      durationMs: round3(durationMs),
      arrivalsStarted: acc.arrivals,
      requests: acc.requests,
      errors: acc.errors,
      concurrency,
      latency: acc.hist.stats(),
      histogram: acc.hist.toJSON(),
    };
    const rate = this.targetRateAt(startMs + durationMs / 2);
    if (rate !== undefined) out.targetRate = round3(rate);
    return out;
  }

  errorsByKind(): Partial<Record<ErrorKind, number>> {
    const out: Partial<Record<ErrorKind, number>> = {};
    ERROR_KINDS.forEach((k) => {
      const n = this.byKind[KIND[k]]!;
      if (n > 0) out[k] = n;
    });
    return out;
  }

  statusCodes(): Record<string, number> {
    return statusRecord(this.status);
  }

  endpointResults(): EndpointResult[] {
    return this.endpoints.map((ep) => ({
      name: ep.name,
      requests: ep.requests,
      errors: ep.errors,
      latency: ep.hist.stats(),
      statusCodes: statusRecord(ep.status),
      histogram: ep.hist.toJSON(),
    }));
  }

  overallHistogram(): Histogram {
    const h = new Histogram();
    for (const ep of this.endpoints) h.merge(ep.hist);
    return h;
  }
}

function statusRecord(counts: Float64Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < counts.length; i++) if (counts[i]! > 0) out[String(i)] = counts[i]!;
  return out;
}

export function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
