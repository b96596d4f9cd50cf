// The arrival schedule is pure arithmetic: check it against the integral of the rate directly.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ArrivalSchedule } from '../../src/engines/builtin/schedule.js';
import { classifyError } from '../../src/engines/builtin/flows.js';
import type { Stage } from '../../src/model.js';
import { redactUrl } from '../../src/secrets.js';

function dueTimes(s: ArrivalSchedule): number[] {
  const out: number[] = [];
  for (let k = 0; k < s.totalArrivals; k++) out.push(s.dueMs(k));
  return out;
}

describe('ArrivalSchedule', () => {
  it('spaces a constant rate evenly, half a gap in from each end', () => {
    const s = new ArrivalSchedule([{ durationMs: 1000, startRate: 10, endRate: 10 }]);
    expect(s.totalArrivals).toBe(10);
    expect(s.totalMs).toBe(1000);
    dueTimes(s).forEach((t, k) => {
      expect(t).toBeCloseTo(50 + 100 * k, 9);
    });
  });

  it('delivers the integral of a ramp', () => {
    const s = new ArrivalSchedule([{ durationMs: 4000, startRate: 0, endRate: 200 }]);
    expect(s.totalArrivals).toBe(400);
    const due = dueTimes(s);
    const perSecond = [0, 0, 0, 0];
    for (const t of due) perSecond[Math.floor(t / 1000)]!++;
    expect(perSecond).toEqual([25, 75, 125, 175]);
    expect(s.rateAt(1000)).toBeCloseTo(50, 9);
    expect(s.arrivalsBy(2000)).toBeCloseTo(100, 9);
  });

  it('chains stages, skips quiet ones and ramps down', () => {
    const stages: Stage[] = [
      { durationMs: 1000, startRate: 100, endRate: 100 },
      { durationMs: 2000, startRate: 0, endRate: 0 },
      { durationMs: 1000, startRate: 100, endRate: 0 },
    ];
    const s = new ArrivalSchedule(stages);
    expect(s.totalArrivals).toBe(150);
    const due = dueTimes(s);
    expect(due.filter((t) => t >= 1000 && t < 3000)).toHaveLength(0);
    expect(due.filter((t) => t >= 3000)).toHaveLength(50);
    expect(s.rateAt(3500)).toBeCloseTo(50, 9);
    expect(s.rateAt(5000)).toBe(0);
    expect(s.peakRate).toBe(100);
  });

  it('is monotone and matches the integral for any shape', () => {
    const stage = fc.record({
      durationMs: fc.integer({ min: 1, max: 20_000 }),
      startRate: fc.double({ min: 0, max: 500, noNaN: true }),
      endRate: fc.double({ min: 0, max: 500, noNaN: true }),
    });
    fc.assert(
      fc.property(fc.array(stage, { minLength: 1, maxLength: 4 }), (stages) => {
        const s = new ArrivalSchedule(stages);
        const total = stages.reduce((n, st) => n + ((st.startRate + st.endRate) / 2) * (st.durationMs / 1000), 0);
        expect(Math.abs(s.totalArrivals - total)).toBeLessThanOrEqual(0.5 + 1e-6);
        let prev = -1;
        const step = Math.max(1, Math.floor(s.totalArrivals / 200));
        for (let k = 0; k < s.totalArrivals; k += step) {
          const t = s.dueMs(k);
          expect(t).toBeGreaterThanOrEqual(prev);
          expect(t).toBeLessThanOrEqual(s.totalMs);
          // The integral at the due time is k + 0.5, to float precision.
          expect(Math.abs(s.arrivalsBy(t) - (k + 0.5))).toBeLessThan(1e-6 * Math.max(1, k));
          prev = t;
        }
      }),
      { numRuns: 200 },
    );
  });

  it('rejects impossible stages', () => {
    expect(() => new ArrivalSchedule([])).toThrow(/no stages/);
    expect(() => new ArrivalSchedule([{ durationMs: 0, startRate: 1, endRate: 1 }])).toThrow(/duration/);
    expect(() => new ArrivalSchedule([{ durationMs: 10, startRate: Number.NaN, endRate: 1 }])).toThrow(/rates/);
  });
});

describe('classifyError', () => {
  const err = (code: string): Error => Object.assign(new Error(code), { code });
  it('maps socket codes to error kinds', () => {
    expect(classifyError(err('ECONNREFUSED'))).toBe('connection_refused');
    expect(classifyError(err('ECONNRESET'))).toBe('connection_reset');
    expect(classifyError(err('EPIPE'))).toBe('connection_reset');
    expect(classifyError(err('ENOTFOUND'))).toBe('dns');
    expect(classifyError(err('EAI_AGAIN'))).toBe('dns');
    expect(classifyError(err('ETIMEDOUT'))).toBe('timeout');
    // The HTTP/1.1 client's protocol errors and TLS failures are neither refused nor reset.
    expect(classifyError(err('PERF_GATE_HTTP_PROTOCOL'))).toBe('other');
    expect(classifyError(err('DEPTH_ZERO_SELF_SIGNED_CERT'))).toBe('other');
    expect(classifyError(new Error('boom'))).toBe('other');
    expect(classifyError('nope')).toBe('other');
  });
  it('looks inside AggregateError and causes', () => {
    expect(classifyError(new AggregateError([err('ECONNREFUSED'), err('ECONNREFUSED')]))).toBe('connection_refused');
    expect(classifyError(Object.assign(new Error('fetch failed'), { cause: err('ENOTFOUND') }))).toBe('dns');
  });
});

describe('redactUrl', () => {
  it('removes credentials and masks secret query values', () => {
    expect(redactUrl('https://user:pw@example.com')).toBe('https://example.com');
    expect(redactUrl('https://example.com/')).toBe('https://example.com/');
    expect(redactUrl('https://u:p@example.com/app?api_key=abc&x=1')).toBe('https://example.com/app?api_key=***&x=1');
  });
});
