// W3C Trace Context for the built-in engine: every request carries `traceparent: 00-<trace id>-<span id>-01`, so
// a reviewer can open the trace of a slow request in the service's tracing backend. The request bytes are still
// built once per step: they hold a placeholder header, and each request copies them and writes 24 random bytes as
// hex over it (ids from a pooled buffer of random bytes, refilled 170 requests at a time). The slowest requests
// keep their trace ids for the results file; the rest are never turned into strings.
import { randomFillSync } from 'node:crypto';
import type { SlowRequest } from '../../model.js';

export const TRACEPARENT = 'traceparent';
/** Version 00, zero ids (an invalid id, so a placeholder that escaped unstamped would be ignored), sampled. */
export const TRACE_PLACEHOLDER = '00-00000000000000000000000000000000-0000000000000000-01';
/** Where the trace id starts within the header value, and the span id. */
const TRACE_AT = 3;
const TRACE_LEN = 32;
const SPAN_LEN = 16;

const HEX = Buffer.from('0123456789abcdef', 'latin1');
const POOL = 4096;

/** Offset of the header value's trace id in a request's bytes, or -1 when the request has no placeholder. */
export function traceOffset(wire: Buffer): number {
  const at = wire.indexOf(`${TRACEPARENT}: ${TRACE_PLACEHOLDER}\r\n`, 0, 'latin1');
  return at < 0 ? -1 : at + TRACEPARENT.length + 2 + TRACE_AT;
}

export class TraceIds {
  private readonly pool = Buffer.allocUnsafe(POOL);
  private pos = POOL;

  /** A copy of `wire` with fresh ids written at `off` (from traceOffset). */
  stamp(wire: Buffer, off: number): Buffer {
    const out = Buffer.allocUnsafe(wire.length);
    wire.copy(out, 0, 0, wire.length);
    this.write(out, off);
    return out;
  }

  /** Fresh ids written in place at `off`, into bytes of this request only. */
  write(out: Buffer, off: number): void {
    if (this.pos + 24 > POOL) {
      randomFillSync(this.pool);
      this.pos = 0;
    }
    const pool = this.pool;
    let p = this.pos;
    // A trace id of all zeros is invalid; the chance is 2^-128, and a zero byte at the front is fine.
    for (let i = 0; i < TRACE_LEN / 2; i++, p++) {
      const b = pool[p]!;
      out[off + 2 * i] = HEX[b >> 4]!;
      out[off + 2 * i + 1] = HEX[b & 15]!;
    }
    const span = off + TRACE_LEN + 1;
    for (let i = 0; i < SPAN_LEN / 2; i++, p++) {
      const b = pool[p]!;
      out[span + 2 * i] = HEX[b >> 4]!;
      out[span + 2 * i + 1] = HEX[b & 15]!;
    }
    this.pos = p;
  }
}

/** The trace id (32 hex digits) written at `off`. */
export function traceIdAt(wire: Buffer, off: number): string {
  return wire.toString('latin1', off, off + TRACE_LEN);
}

/** The `n` slowest requests seen, slowest first; `offer` is a comparison for all but the few that enter. */
export class SlowestRequests {
  private readonly items: SlowRequest[] = [];
  private floor = -1;

  constructor(private readonly n = 10) {}

  /** True when a request of this latency would enter the list (call `add` then). */
  wants(latencyMs: number): boolean {
    return this.items.length < this.n || latencyMs > this.floor;
  }

  add(r: SlowRequest): void {
    const items = this.items;
    let i = items.length;
    while (i > 0 && items[i - 1]!.latencyMs < r.latencyMs) i--;
    items.splice(i, 0, r);
    if (items.length > this.n) items.pop();
    this.floor = items.length >= this.n ? items[items.length - 1]!.latencyMs : -1;
  }

  list(): SlowRequest[] {
    return [...this.items];
  }
}
