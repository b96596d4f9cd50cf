// Counts and latencies of a built-in run. Every completed request is recorded twice: into its endpoint's histogram
// and into its endpoint's histogram of the current interval. The overall histogram, and each interval's, is the
// merge of the endpoint ones when it closes, which saves a third record per request. Counters are plain numbers and typed arrays indexed by status code or error kind,
// so the hot path neither allocates strings nor grows maps.
import { Histogram } from '../../metrics/histogram.js';
import { ERROR_KINDS } from '../../model.js';
import type { EndpointResult, ErrorKind, IntervalEndpoint, IntervalResult, ServedFigures } from '../../model.js';

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

/**
 * One endpoint's counts and latencies, over the whole run or over one interval: the same figures either way, so the
 * steady part of a run adds up from its intervals exactly as the whole run does.
 */
class EndpointCounts {
  requests = 0;
  errors = 0;
  readonly status = new Float64Array(STATUS_SLOTS);
  readonly byKind = new Float64Array(ERROR_KINDS.length);
  readonly hist = new Histogram();
  /**
   * Latencies of the successful responses, what latency targets are judged on. Created at the first error response:
   * until then every response was a success and `hist` holds them, so a run without errors records nothing twice.
   */
  ok: Histogram | undefined = undefined;
  /** Failed expectations and captures by message; created on the first one. */
  checks: Map<string, number> | undefined = undefined;

  /** The successful responses' latencies. */
  served(): Histogram {
    return this.ok ?? this.hist;
  }

  /** A response: `kind` is its error kind or -1, `error` whether it counts as an error (a 4xx may be kept apart). */
  response(status: number, latencyMs: number, kind: number, error: boolean, check: string | undefined): void {
    this.requests++;
    if (status >= 0 && status < STATUS_SLOTS) this.status[status]!++;
    if (kind >= 0) this.byKind[kind]!++;
    if (error) this.errors++;
    if (check !== undefined) {
      const checks = (this.checks ??= new Map());
      checks.set(check, (checks.get(check) ?? 0) + 1);
    }
    if (error) {
      if (!this.ok) {
        this.ok = new Histogram();
        this.ok.merge(this.hist);
      }
    } else this.ok?.recordMs(latencyMs);
    this.hist.recordMs(latencyMs);
  }

  failure(kind: number): void {
    this.requests++;
    this.errors++;
    this.byKind[kind]!++;
  }

  merge(o: EndpointCounts): void {
    if (this.ok || o.ok) {
      const ok = this.ok ?? Histogram.fromJSON(this.hist.toJSON());
      ok.merge(o.served());
      this.ok = ok;
    }
    this.requests += o.requests;
    this.errors += o.errors;
    this.hist.merge(o.hist);
    for (let k = 0; k < STATUS_SLOTS; k++) this.status[k]! += o.status[k]!;
    for (let k = 0; k < this.byKind.length; k++) this.byKind[k]! += o.byKind[k]!;
    if (o.checks) for (const [m, n] of o.checks) (this.checks ??= new Map()).set(m, (this.checks.get(m) ?? 0) + n);
  }

  /** The figures of an endpoint row (results.json), histogram left to the caller. */
  figures(): IntervalEndpoint & { statusCodes: Record<string, number> } {
    const out: IntervalEndpoint & { statusCodes: Record<string, number> } = {
      requests: this.requests,
      errors: this.errors,
      latency: this.hist.stats(),
      statusCodes: statusRecord(this.status),
      errorsByKind: kindRecord(this.byKind),
    };
    if (this.checks) out.checkFailures = Object.fromEntries(this.checks);
    return out;
  }
}

class EndpointAcc extends EndpointCounts {
  constructor(readonly name: string) {
    super();
  }
}

class IntervalAcc {
  requests = 0;
  errors = 0;
  arrivals = 0;
  readonly eps: Array<EndpointCounts | undefined>;
  constructor(
    readonly index: number,
    endpoints: number,
  ) {
    this.eps = new Array<EndpointCounts | undefined>(endpoints).fill(undefined);
  }

  ep(i: number): EndpointCounts {
    return (this.eps[i] ??= new EndpointCounts());
  }

  /** Fold another interval's endpoints into this one (the short tail of a run into the interval before). */
  absorb(other: IntervalAcc): void {
    other.eps.forEach((o, i) => {
      if (o) this.ep(i).merge(o);
    });
  }

  hist(): Histogram {
    let only: Histogram | undefined;
    let n = 0;
    for (const e of this.eps) {
      if (e) {
        only = e.hist;
        n++;
      }
    }
    if (n === 1) return only!;
    const h = new Histogram();
    for (const e of this.eps) if (e) h.merge(e.hist);
    return h;
  }

  /** The successful responses' latencies over the interval's endpoints. */
  servedHist(): Histogram {
    const h = new Histogram();
    for (const e of this.eps) if (e) h.merge(e.served());
    return h;
  }
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
  readonly checkFailures = new Map<string, number>();

  private cur: IntervalAcc;
  private curEnd: number;
  // The last closed interval is kept until the next one closes, so a short tail after the shape ends can be folded
  // into it instead of showing up as a 3 ms interval with an absurd rate.
  private prevAcc: IntervalAcc | undefined;

  constructor(
    endpointNames: readonly string[],
    private readonly intervalMs: number,
    private readonly count4xx: boolean,
    private readonly targetRateAt: (tMs: number) => number | undefined,
    private readonly onInterval: (p: IntervalProgress) => void,
  ) {
    this.endpoints = endpointNames.map((n) => new EndpointAcc(n));
    this.cur = new IntervalAcc(0, endpointNames.length);
    this.curEnd = intervalMs;
  }

  /** An arrival started its flow at `tMs`. */
  arrival(tMs: number): void {
    if (tMs >= this.curEnd) this.roll(tMs);
    this.cur.arrivals++;
  }

  /**
   * A response came back (whatever the status) after `latencyMs`, at `tMs`. `expected`: the step's `expect.status`
   * lists this status, so a 4xx is what the journey wanted, not an error. `check`: the message of a failed
   * expectation or capture; the request is then an error of kind `check` (one error per request, whatever its
   * status: the status codes still show what came back).
   */
  response(
    endpoint: number,
    tMs: number,
    status: number,
    latencyMs: number,
    expected: boolean,
    check: string | undefined,
  ): void {
    if (tMs >= this.curEnd) this.roll(tMs);
    let kind = -1;
    let error = false;
    if (check !== undefined) {
      kind = KIND.check;
      error = true;
      this.checkFailures.set(check, (this.checkFailures.get(check) ?? 0) + 1);
    } else if (status >= 500) {
      kind = KIND.http_5xx;
      error = true;
    } else if (status >= 400 && !expected) {
      // Kept in errorsByKind even when not counted, so the report can say what came back.
      kind = KIND.http_4xx;
      error = this.count4xx;
    }
    this.requests++;
    if (status >= 0 && status < STATUS_SLOTS) this.status[status]!++;
    if (kind >= 0) this.byKind[kind]!++;
    const cur = this.cur;
    cur.requests++;
    if (error) {
      this.errors++;
      cur.errors++;
    }
    this.endpoints[endpoint]!.response(status, latencyMs, kind, error, check);
    cur.ep(endpoint).response(status, latencyMs, kind, error, check);
  }

  /**
   * A request failed without a response (refused, reset, DNS, timeout). It counts as a request and an error, but
   * records no latency: there is no response whose time could be measured, and a timeout's "latency" would only be
   * the configured limit, which would drag percentiles towards an arbitrary number.
   */
  failure(endpoint: number, tMs: number, kind: number): void {
    if (tMs >= this.curEnd) this.roll(tMs);
    this.requests++;
    this.errors++;
    this.byKind[kind]!++;
    this.cur.requests++;
    this.cur.errors++;
    this.endpoints[endpoint]!.failure(kind);
    this.cur.ep(endpoint).failure(kind);
  }

  /** Close every interval that ended by `tMs` (also called by a timer, so quiet intervals are closed too). */
  roll(tMs: number): void {
    while (tMs >= this.curEnd) {
      const acc = this.cur;
      const startMs = acc.index * this.intervalMs;
      const result = this.makeInterval(acc, startMs, this.intervalMs, this.inFlight);
      this.intervals.push(result);
      this.prevAcc = acc;
      this.cur = new IntervalAcc(acc.index + 1, this.endpoints.length);
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
    if (tail < this.intervalMs / 2 && prev && this.prevAcc) {
      const merged = this.prevAcc;
      merged.absorb(acc);
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
    const hist = acc.hist();
    const endpoints: Record<string, IntervalEndpoint> = {};
    // An interval's only endpoint has the interval's histogram (see endpointHistogram): half the size of results.json
    // for a one-request flow.
    const only = acc.eps.filter((e) => e !== undefined).length === 1;
    acc.eps.forEach((e, i) => {
      if (e) endpoints[this.endpoints[i]!.name] = only ? e.figures() : { ...e.figures(), histogram: e.hist.toJSON() };
    });
    const out: IntervalResult = {
      startMs,
      durationMs: round3(durationMs),
      arrivalsStarted: acc.arrivals,
      requests: acc.requests,
      errors: acc.errors,
      concurrency,
      latency: hist.stats(),
      histogram: hist.toJSON(),
      endpoints,
    };
    if (acc.errors > 0) {
      const served = acc.servedHist();
      out.served = { requests: acc.requests - acc.errors, latency: served.stats(), histogram: served.toJSON() };
    }
    const rate = this.targetRateAt(startMs + durationMs / 2);
    if (rate !== undefined) out.targetRate = round3(rate);
    return out;
  }

  errorsByKind(): Partial<Record<ErrorKind, number>> {
    return kindRecord(this.byKind);
  }

  statusCodes(): Record<string, number> {
    return statusRecord(this.status);
  }

  endpointResults(): EndpointResult[] {
    return this.endpoints.map((ep) => ({ name: ep.name, ...ep.figures(), histogram: ep.hist.toJSON() }));
  }

  checkFailureCounts(): Record<string, number> | undefined {
    return this.checkFailures.size > 0 ? Object.fromEntries(this.checkFailures) : undefined;
  }

  overallHistogram(): Histogram {
    const h = new Histogram();
    for (const ep of this.endpoints) h.merge(ep.hist);
    return h;
  }

  /** The successful responses of the whole run: their histogram only when some response was an error. */
  served(): ServedFigures {
    const h = new Histogram();
    for (const ep of this.endpoints) h.merge(ep.served());
    const requests = this.requests - this.errors;
    return { requests, latency: h.stats(), ...(this.errors > 0 ? { histogram: h.toJSON() } : {}) };
  }
}

function kindRecord(counts: Float64Array): Partial<Record<ErrorKind, number>> {
  const out: Partial<Record<ErrorKind, number>> = {};
  ERROR_KINDS.forEach((k) => {
    const n = counts[KIND[k]]!;
    if (n > 0) out[k] = n;
  });
  return out;
}

function statusRecord(counts: Float64Array): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < counts.length; i++) if (counts[i]! > 0) out[String(i)] = counts[i]!;
  return out;
}

export function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
