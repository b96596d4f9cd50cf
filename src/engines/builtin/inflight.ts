// Requests in flight, without a timer, an AbortController or a promise per request. Each request is a reused slot
// that is the connection's response sink itself (status, where the head is and the body's chunks land in it),
// and the slots in flight form one list in start order. Every request has the same timeout, so that order is also
// deadline order: one timer, armed for the oldest request's deadline, finds every expired request at the head of the
// list. The timer is re-armed only when it fires (or when the list was empty), so its cost does not grow with the
// request rate, and a timeout still ends a request at its deadline to within the timer's precision (about a ms).
import type { ResponseSink } from './http1.js';

export const REASON_NONE = 0;
export const REASON_TIMEOUT = 1;
export const REASON_STOPPED = 2;
// Preallocated abort reasons: aborting with an Error we already have costs no stack capture per timeout.
export const TIMEOUT_ERROR = Object.assign(new Error('request timed out'), { code: 'PERF_GATE_TIMEOUT' });
export const STOPPED_ERROR = Object.assign(new Error('run stopped'), { code: 'PERF_GATE_STOPPED' });

/** One request in flight: the sink of its response, its place in the deadline list and what came back. */
export class Slot implements ResponseSink {
  prev: Slot | undefined = undefined;
  next: Slot | undefined = undefined;
  linked = false;
  deadline = 0;
  reason = REASON_NONE;
  private abortFn: ((err: Error) => void) | undefined = undefined;
  /** Status of a response read to its last byte; -1 until then (and after a failure). */
  status = -1;
  /** The response head is headBuf[headStart, headEnd), decoded only if a cookie or a check needs it. */
  headBuf: Buffer | undefined = undefined;
  headStart = 0;
  headEnd = 0;
  /** The head has a set-cookie header. */
  setCookie = false;
  /** Keep the body (up to `bodyLimit` bytes) for the step's checks; otherwise it is read, timed and dropped. */
  keepBody = false;
  chunks: Buffer[] | undefined = undefined;
  size = 0;
  truncated = false;
  failure: unknown = undefined;
  /** performance.now() when the last byte arrived or the request failed. */
  end = 0;
  /** performance.now() when the request was handed to its connection (the latency clock's start). */
  start = 0;
  /** What the engine needs back when the request settles (its step, arrival and flow); opaque here. */
  step: unknown = undefined;
  arrival: unknown = undefined;
  flow = 0;
  /** The connection carrying the request. */
  client: unknown = undefined;
  /** The request's own bytes and where its trace id is in them (-1: not traced). */
  wire: Buffer | undefined = undefined;
  traceOff = -1;
  private done: (() => void) | undefined = undefined;
  private isSettled = false;
  /** For `new Promise(slot.settled)`: resolves when the request settled (at once if it already has). */
  readonly settled: (resolve: () => void) => void = (resolve) => {
    if (this.isSettled) resolve();
    else this.done = resolve;
  };
  /**
   * Or, without a promise: called with the slot in a microtask once it settled. A microtask, not inside the connection's
   * callback, so what the callback starts next (another request) never re-enters the response parser.
   */
  then_: ((s: Slot) => void) | undefined = undefined;
  private readonly fire = (): void => {
    const cb = this.then_;
    this.then_ = undefined;
    cb?.(this);
  };

  constructor(
    private readonly owner: InFlightSlots,
    private readonly bodyLimit: number,
  ) {}

  reset(keepBody: boolean): void {
    this.reason = REASON_NONE;
    this.abortFn = undefined;
    this.status = -1;
    this.headBuf = undefined;
    this.setCookie = false;
    this.keepBody = keepBody;
    this.chunks = undefined;
    this.size = 0;
    this.truncated = false;
    this.failure = undefined;
    this.done = undefined;
    this.then_ = undefined;
    this.isSettled = false;
  }

  /** End the request now with `reason` (timeout or stop); a request not on a socket yet is ended when it gets one. */
  cancel(reason: number): void {
    this.reason = reason;
    this.abortFn?.(reason === REASON_TIMEOUT ? TIMEOUT_ERROR : STOPPED_ERROR);
  }

  onConnect(abort: (err: Error) => void): void {
    if (this.reason !== REASON_NONE) abort(this.reason === REASON_TIMEOUT ? TIMEOUT_ERROR : STOPPED_ERROR);
    else this.abortFn = abort;
  }

  onHead(status: number, buf: Buffer, start: number, end: number, setCookie: boolean): void {
    this.status = status;
    this.headBuf = buf;
    this.headStart = start;
    this.headEnd = end;
    this.setCookie = setCookie;
  }

  onData(chunk: Buffer): void {
    if (this.keepBody) {
      if (this.size + chunk.length <= this.bodyLimit) {
        (this.chunks ??= []).push(chunk);
        this.size += chunk.length;
      } else {
        this.truncated = true;
      }
    }
  }

  onComplete(): void {
    this.end = performance.now();
    // Aborted after the last byte was parsed but before this callback: the request was cut off by us.
    if (this.reason !== REASON_NONE) this.status = -1;
    this.settle();
  }

  onError(err: Error): void {
    this.end = performance.now();
    this.status = -1;
    this.failure = err;
    this.settle();
  }

  private settle(): void {
    this.isSettled = true;
    this.abortFn = undefined;
    this.owner.unlink(this);
    if (this.then_ !== undefined) {
      queueMicrotask(this.fire);
      return;
    }
    const done = this.done;
    this.done = undefined;
    done?.();
  }
}

export class InFlightSlots {
  /** Requests in flight now. */
  size = 0;
  private head: Slot | undefined = undefined;
  private tail: Slot | undefined = undefined;
  private free: Slot[] = [];
  private timer: NodeJS.Timeout | undefined = undefined;

  constructor(
    private readonly timeoutMs: number,
    private readonly bodyLimit: number,
  ) {}

  /** A slot for a request starting at `startMs` (performance.now()), linked in as the newest. */
  acquire(startMs: number, keepBody: boolean): Slot {
    const s = this.free.pop() ?? new Slot(this, this.bodyLimit);
    s.reset(keepBody);
    s.deadline = startMs + this.timeoutMs;
    s.prev = this.tail;
    s.next = undefined;
    if (this.tail) this.tail.next = s;
    else this.head = s;
    this.tail = s;
    s.linked = true;
    this.size++;
    if (this.timer === undefined) this.arm(s.deadline);
    return s;
  }

  /** Give a settled slot back once its results were read. */
  release(s: Slot): void {
    s.chunks = undefined;
    s.headBuf = undefined;
    s.failure = undefined;
    s.step = undefined;
    s.arrival = undefined;
    s.client = undefined;
    s.wire = undefined;
    s.traceOff = -1;
    this.free.push(s);
  }

  unlink(s: Slot): void {
    if (!s.linked) return;
    s.linked = false;
    this.size--;
    if (s.prev) s.prev.next = s.next;
    else this.head = s.next;
    if (s.next) s.next.prev = s.prev;
    else this.tail = s.prev;
    s.prev = undefined;
    s.next = undefined;
  }

  /** Cancel every request in flight (the end of the run). */
  cancelAll(reason: number): void {
    for (let s = this.head; s !== undefined; ) {
      const next = s.next;
      s.cancel(reason);
      s = next;
    }
  }

  /** Stop the deadline timer (requests still in flight are then not timed out any more). */
  close(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private arm(deadline: number): void {
    this.timer = setTimeout(this.sweep, Math.max(1, Math.ceil(deadline - performance.now())));
  }

  private sweep = (): void => {
    this.timer = undefined;
    const now = performance.now();
    // A cancelled slot normally leaves the list at once (its connection reports the abort synchronously); move past
    // any that has not, rather than cancelling it twice.
    let s = this.head;
    while (s !== undefined && s.deadline <= now) {
      const next = s.next;
      if (s.reason === REASON_NONE) s.cancel(REASON_TIMEOUT);
      s = next;
    }
    if (s !== undefined) this.arm(s.deadline);
  };
}
