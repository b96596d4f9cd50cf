// Input handling in time linear in the input's size: data files (wide, long, JSON), response heads (headers and
// Set-Cookie), the cookie jar, captures (JSON and regex) and JSON depth checks. Each property grows a random unit of
// input to 10x, 100x and 1000x a base size and requires the time per unit at 1000x to stay within a small factor of
// the time per unit at 10x: linear work keeps the ratio near 1, quadratic work (the duplicate-column check that took
// 13 s for 100,000 columns) makes it about 100. Sizes are kept small enough that the whole file runs in seconds.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { compileChecks, runChecks } from '../src/flows/checks.js';
import { cookieHeader, storeCookies } from '../src/engines/builtin/cookies.js';
import { parseCsv, readDataFile } from '../src/flows/data.js';
import { parseHead, setCookiesOf } from '../src/engines/builtin/http1.js';
import { jsonDepthOver } from '../src/json.js';

/** The best of a few timings of `run` (the large sizes once: they dominate anyway). */
function time(run: () => void, repeat: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < repeat; i++) {
    const t = performance.now();
    run();
    best = Math.min(best, performance.now() - t);
  }
  return best;
}

/**
 * Time per unit of input at 1000x the base size, over the time per unit at 10x. Linear: about 1 (often below, as
 * fixed costs spread out); quadratic: about 100.
 */
function growth<T>(
  base: number,
  make: (n: number) => T,
  run: (input: T) => void,
): { ratio: number; perUnitUs: number[] } {
  const perUnit: number[] = [];
  for (const k of [10, 100, 1000]) {
    const n = base * k;
    const input = make(n);
    run(input); // warm up
    perUnit.push(time(() => run(input), k === 1000 ? 2 : 5) / n);
  }
  return { ratio: perUnit[2]! / perUnit[0]!, perUnitUs: perUnit.map((t) => t * 1000) };
}

// Linear work stays near 1; the slack covers GC and cache effects at the large size on a busy machine.
const LIMIT = 12;
const word = fc.stringMatching(/^[a-z][a-z0-9_]{0,7}$/);
const cell = fc.string({ maxLength: 8 }).map((s) => s.replace(/[\r\n",]/g, 'x'));

const dir = mkdtempSync(join(tmpdir(), 'perf-gate-linear-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('data files are read in time linear in their size', () => {
  it('a CSV header of 1,000 to 100,000 columns (the duplicate check is one pass)', () => {
    fc.assert(
      fc.property(word, (name) => {
        const { ratio } = growth(
          100,
          (n) =>
            `${Array.from({ length: n }, (_, i) => `${name}${i}`).join(',')}\n${Array.from({ length: n }, () => '1').join(',')}\n`,
          (text) => parseCsv(text, 'wide.csv', 'test'),
        );
        expect(ratio).toBeLessThan(LIMIT);
      }),
      { numRuns: 2 },
    );
  });

  it('a CSV of 1,000 to 100,000 rows with quoted cells, doubled quotes and CRLF', () => {
    fc.assert(
      fc.property(cell, (c) => {
        const row = `"${c}""q",${c},"a\r\nb"\r\n`;
        const { ratio } = growth(
          100,
          (n) => `a,b,c\r\n${row.repeat(n)}`,
          (text) => parseCsv(text, 'long.csv', 'test'),
        );
        expect(ratio).toBeLessThan(LIMIT);
      }),
      { numRuns: 2 },
    );
  });

  it('a JSON data file of 1,000 to 100,000 rows, each with its own keys', () => {
    fc.assert(
      fc.property(word, (key) => {
        let file = 0;
        const { ratio } = growth(
          100,
          (n) => {
            const path = join(dir, `rows${file++}.json`);
            writeFileSync(
              path,
              JSON.stringify(Array.from({ length: n }, (_, i) => ({ [key]: i, [`k${i % 50}`]: 'v' }))),
            );
            return path;
          },
          (path) => readDataFile({ file: path, source: 'rows.json', order: 'sequential' } as never, 'test'),
        );
        expect(ratio).toBeLessThan(LIMIT);
      }),
      { numRuns: 2 },
    );
  });
});

describe('response heads, cookies and captures are handled in time linear in their size', () => {
  const head = (n: number, line: string): { buf: Buffer; end: number } => {
    const text = `HTTP/1.1 200 OK\r\n${Array.from({ length: n }, (_, i) => line.replace('#', String(i))).join('\r\n')}\r\n\r\n`;
    const buf = Buffer.from(text, 'latin1');
    return { buf, end: buf.length - 4 };
  };

  it('headers and Set-Cookie lines: 100 to 10,000 of them, folded lines included', () => {
    fc.assert(
      fc.property(word, cell, (name, value) => {
        const { ratio } = growth(
          10,
          (n) =>
            head(n, `x-${name}-#: ${value}\r\n folded ${value}\r\nset-cookie: c#=${value || 'v'}; Path=/; Max-Age=60`),
          ({ buf, end }) => {
            parseHead(buf, 0, end);
            setCookiesOf(buf, 0, end);
          },
        );
        expect(ratio).toBeLessThan(LIMIT);
      }),
      { numRuns: 2 },
    );
  });

  it('the cookie jar: storing 100 to 10,000 cookies and writing the Cookie header', () => {
    fc.assert(
      fc.property(word, (name) => {
        const { ratio } = growth(
          10,
          (n) =>
            Array.from(
              { length: n },
              (_, i) => `${name}${i}=v${i}; Path=/; Expires=Wed, 09 Jun 2100 10:18:14 GMT;${' '.repeat(i % 7)}`,
            ),
          (lines) => {
            const jar = storeCookies(undefined, lines, () => undefined);
            cookieHeader(jar!);
          },
        );
        expect(ratio).toBeLessThan(LIMIT);
      }),
      { numRuns: 2 },
    );
  });

  it('captures: a JSON capture and a regex capture on bodies of 10 KB to 1 MB, and the depth check on 1 MB', () => {
    const checks = compileChecks(
      'x',
      undefined,
      { token: { kind: 'json', path: '$.items[0].id' }, tail: { kind: 'regex', pattern: 'end-(\\d+)' } },
      () => 0,
      'test',
    )!;
    fc.assert(
      fc.property(cell, (v) => {
        const { ratio } = growth(
          10,
          (n) => JSON.stringify({ items: Array.from({ length: n }, (_, i) => ({ id: i, v })), tail: 'end-1' }),
          (body) => {
            runChecks(checks, { status: 200, headers: {}, body, truncated: false }, []);
            jsonDepthOver(body);
          },
        );
        expect(ratio).toBeLessThan(LIMIT);
      }),
      { numRuns: 2 },
    );
  });
});
