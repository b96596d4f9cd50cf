// results.json's layout (src/metrics/json.ts): the same value as JSON.stringify, with lists of numbers on one line.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Histogram } from '../src/metrics/histogram.js';
import { stringifyReadable } from '../src/metrics/json.js';

describe('stringifyReadable', () => {
  it('parses back to what JSON.stringify gives, for any JSON value and for undefined, NaN and toJSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (v) => {
        expect(JSON.parse(stringifyReadable(v))).toEqual(JSON.parse(JSON.stringify(v)));
      }),
      { numRuns: 300 },
    );
    const odd = {
      a: undefined,
      b: [1, undefined, NaN, () => 1],
      c: new Date(0),
      d: { toJSON: () => 'x' },
      e: Infinity,
    };
    expect(JSON.parse(stringifyReadable(odd))).toEqual(JSON.parse(JSON.stringify(odd)));
    expect(stringifyReadable({})).toBe('{}');
    expect(stringifyReadable([])).toBe('[]');
  });

  it("keeps a histogram's buckets and a series of samples on one line each, and indents the rest", () => {
    const h = new Histogram();
    for (let ms = 1; ms <= 200; ms++) h.recordMs(ms);
    const doc = {
      run: {
        histogram: h.toJSON(),
        infra: [
          {
            name: 'cpu',
            series: [
              [0, 10.5],
              [1000, 12],
            ],
          },
        ],
        notes: ['a', 'b'],
      },
    };
    const text = stringifyReadable(doc);
    expect(JSON.parse(text)).toEqual(JSON.parse(JSON.stringify(doc)));
    expect(text).toMatch(/^ {6}"buckets": \[\[\d+,1\],\[\d+,1\],.*\]\]$/m);
    expect(text).toContain('"series": [[0,10.5],[1000,12]]');
    expect(text).toContain('    "notes": [\n      "a",\n      "b"\n    ]');
    // Four fifths shorter than fully indented here: 200 bucket pairs at four lines each.
    expect(text.length).toBeLessThan(JSON.stringify(doc, null, 2).length / 4);
  });
});
