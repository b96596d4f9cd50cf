import { describe, expect, it } from 'vitest';
import { describeTarget, parseTarget, parseTargets } from '../src/gate/targets.js';
import { UserError } from '../src/errors.js';

describe('parseTarget', () => {
  it.each([
    ['p99 < 500ms', 'p99', '<', 500, 'ms'],
    ['p95 < 300ms', 'p95', '<', 300, 'ms'],
    ['error_rate < 0.5%', 'error_rate', '<', 0.5, '%'],
    ['throughput > 100/s', 'throughput', '>', 100, '/s'],
    ['vus >= 500', 'vus', '>=', 500, 'count'],
    ['max < 2s', 'max', '<', 2000, 'ms'],
    ['p50 <= 120ms', 'p50', '<=', 120, 'ms'],
    ['p(99)<500', 'p99', '<', 500, 'ms'],
    ['p(95) < 1.5s', 'p95', '<', 1500, 'ms'],
    ['median < 80', 'p50', '<', 80, 'ms'],
    ['p99.9 < 1s', 'p999', '<', 1000, 'ms'],
    ['errors <= 50', 'errors', '<=', 50, 'count'],
    ['rps > 6000/m', 'throughput', '>', 100, '/s'],
    ['avg = 10ms', 'mean', '==', 10, 'ms'],
  ] as const)('%s', (text, metric, op, value, unit) => {
    const t = parseTarget(text);
    expect(t).toMatchObject({ metric, op, value, unit, source: text, optional: false });
  });

  it('marks optional targets', () => {
    expect(parseTarget('optional: p999 < 1s').optional).toBe(true);
    expect(parseTarget('p999 < 1s?').optional).toBe(true);
  });

  it('keeps custom metric names', () => {
    expect(parseTarget('checkout_duration.p95 < 800ms')).toMatchObject({
      metric: 'checkout_duration.p95',
      value: 800,
      unit: 'ms',
    });
  });

  it.each([
    ['p99 500ms', /cannot read target "p99 500ms"/],
    ['p99 < fast', /cannot read target/],
    ['error_rate < 0.5', /unit "\(none\)" for error_rate; allowed: %/],
    ['p99 < 5%', /unit "%" for p99; allowed: ms, s, m/],
    ['requests > 10/s', /allowed: a plain number/],
    ['p99 < -5ms', /negative threshold/],
  ])('rejects %s with a clear message', (text, message) => {
    expect(() => parseTarget(text, 'input "targets"')).toThrow(UserError);
    expect(() => parseTarget(text, 'input "targets"')).toThrow(message);
  });

  it('names the line of a multi-line input', () => {
    expect(() => parseTargets('p99 < 500ms\n\n# comment\np95 < nope', 'input "targets"')).toThrow(
      /input "targets"\[3\]: cannot read target "p95 < nope"/,
    );
  });

  it('describes targets in display units', () => {
    expect(describeTarget(parseTarget('max < 2s'))).toBe('< 2 s');
    expect(describeTarget(parseTarget('error_rate < 0.5%'))).toBe('< 0.5 %');
    expect(describeTarget(parseTarget('throughput > 100/s'))).toBe('> 100/s');
  });
});
