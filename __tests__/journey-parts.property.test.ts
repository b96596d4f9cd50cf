// Templates, JSONPath, data files and capture regexes on hostile input: whatever a config, a data file or a
// response holds, nothing reaches Object.prototype, nothing is evaluated, data values come out exactly as they
// went in (never expanded again), and a capture regex either is rejected at start or runs in bounded time.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { compileCaptureRegex, compileChecks, REGEX_INPUT_LIMIT, runChecks } from '../src/flows/checks.js';
import { readDataFile } from '../src/flows/data.js';
import { compileJsonPath, evalJsonPath } from '../src/flows/jsonpath.js';
import {
  captureRef,
  compileJsonTemplate,
  compileTemplate,
  dataRef,
  renderJsonTemplate,
  renderTemplate,
  TemplateError,
  type Scope,
} from '../src/flows/templates.js';
import { UserError } from '../src/errors.js';

const tmp = mkdtempSync(join(tmpdir(), 'perf-gate-journey-prop-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

const PROTO_KEYS = Object.getOwnPropertyNames(Object.prototype).sort();
const DANGEROUS = [
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'valueOf',
  'hasOwnProperty',
  'polluted',
  '__defineGetter__',
];
const key = fc.oneof(fc.constantFrom(...DANGEROUS), fc.string({ maxLength: 8 }));
/** Strings full of what a template, JSON or a JS template literal would treat specially. */
const hostileText = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom(
    '{{ email }}',
    '{{ env.HOME }}',
    '${process.exit(1)}',
    '`',
    '"',
    '\\',
    '\\u0000',
    '}}{{',
    '__proto__',
    '123',
    '-0',
    '1e400',
    '0x10',
    '  7 ',
  ),
  fc
    .array(fc.constantFrom('{{', '}}', '"', '\\', '$', '{', 'x', ' ', '\n', '\u2028'), { maxLength: 12 })
    .map((a) => a.join('')),
);

function prototypeIntact(): void {
  expect(Object.getOwnPropertyNames(Object.prototype).sort()).toEqual(PROTO_KEYS);
  expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
}

function scope(columns: string[], captures: string[] = []): Scope {
  const names = new Map<string, ReturnType<typeof dataRef>>();
  columns.forEach((c, i) => {
    names.set(c, dataRef(i));
  });
  captures.forEach((c, i) => {
    names.set(c, captureRef(i));
  });
  return { names, env: {}, secrets: new Set(), describe: () => 'test scope' };
}

/** Own-key walk, the reference the JSONPath evaluator must agree with. */
function ownWalk(root: unknown, keys: Array<string | number>): unknown {
  let cur = root;
  for (const k of keys) {
    if (cur === null || typeof cur !== 'object') return undefined;
    if (Array.isArray(cur)) {
      if (typeof k !== 'number') return undefined;
      const i = k < 0 ? cur.length + k : k;
      if (i < 0 || i >= cur.length) return undefined;
      cur = cur[i];
    } else {
      const s = String(k);
      if (!Object.hasOwn(cur, s)) return undefined;
      cur = (cur as Record<string, unknown>)[s];
    }
  }
  return cur;
}

describe('JSONPath on hostile input', () => {
  it('parses any string into a path or an Error, never anything else', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ maxLength: 60 }),
          fc.string({ maxLength: 20 }).map((s) => `$${s}`),
        ),
        (text) => {
          try {
            const p = compileJsonPath(text);
            expect(Array.isArray(p.segments)).toBe(true);
          } catch (e) {
            expect(e).toBeInstanceOf(Error);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('reads only own keys of any JSON body: prototype names find nothing unless the body has them', () => {
    fc.assert(
      fc.property(
        fc.jsonValue({ maxDepth: 4 }),
        fc.array(fc.oneof(key, fc.integer({ min: -3, max: 5 })), { maxLength: 5 }),
        (value, keys) => {
          // A body comes through JSON.parse, which makes `__proto__` an own key like any other.
          const body = JSON.parse(JSON.stringify(value)) as unknown;
          const path = `$${keys.map((k) => (typeof k === 'number' ? `[${k}]` : `[${JSON.stringify(k)}]`)).join('')}`;
          const got = evalJsonPath(compileJsonPath(path), body);
          expect(got).toEqual(ownWalk(body, keys));
          if (got !== undefined && keys.length > 0) expect(typeof got === 'function').toBe(false);
          prototypeIntact();
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('finds nothing for prototype members of objects that do not own them', () => {
    for (const name of DANGEROUS) {
      expect(evalJsonPath(compileJsonPath(`$['${name}']`), {})).toBeUndefined();
      expect(evalJsonPath(compileJsonPath(`$.a['${name}']`), { a: [] })).toBeUndefined();
    }
  });
});

describe('templates on hostile input', () => {
  it('renders data and captured values literally: valid JSON, the same value back, never expanded again', () => {
    fc.assert(
      fc.property(
        fc.array(hostileText, { minLength: 3, maxLength: 3 }),
        fc.jsonValue({ maxDepth: 2 }),
        (row, captured) => {
          const sc = scope(['a', 'b', 'c'], ['cap']);
          const vars = { row, caps: [captured] };
          const t = compileJsonTemplate(
            { a: '{{ a }}', mixed: 'x{{ b }}y', nested: ['{{ c }}', { k: '{{ cap }}' }] },
            sc,
          )!;
          const out = JSON.parse(renderJsonTemplate(t, vars)) as {
            a: unknown;
            mixed: string;
            nested: [unknown, { k: unknown }];
          };
          // A value that is exactly a JSON number becomes that number; anything else stays the same string.
          const asValue = (v: string): unknown =>
            /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/.test(v) ? JSON.parse(v) : v;
          expect(out.a).toEqual(asValue(row[0]!));
          expect(out.mixed).toBe(`x${row[1]}y`);
          expect(out.nested[0]).toEqual(asValue(row[2]!));
          if (typeof captured === 'string') expect(out.nested[1].k).toEqual(asValue(captured));
          else expect(out.nested[1].k).toEqual(JSON.parse(JSON.stringify(captured)));
          expect(renderTemplate(compileTemplate('/p/{{ a }}/{{b}}?q={{ c }}', sc), vars)).toBe(
            `/p/${row[0]}/${row[1]}?q=${row[2]}`,
          );
          prototypeIntact();
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('compiles any config text into parts or a TemplateError; prototype names are never defined by accident', () => {
    fc.assert(
      fc.property(hostileText, fc.constantFrom(...DANGEROUS), (text, name) => {
        const sc = scope(['email']);
        try {
          const t = compileTemplate(text, sc);
          expect(t.parts.length).toBeGreaterThanOrEqual(0);
        } catch (e) {
          expect(e).toBeInstanceOf(TemplateError);
        }
        expect(() => compileTemplate(`{{ ${name} }}`, sc)).toThrow(TemplateError);
        prototypeIntact();
      }),
      { numRuns: 2000 },
    );
  });

  it('writes JSON keys from the config literally, `__proto__` included', () => {
    const sc = scope(['a']);
    const value = JSON.parse('{"__proto__": {"polluted": "{{ a }}"}, "constructor": "{{ a }}"}') as unknown;
    const out = renderJsonTemplate(compileJsonTemplate(value, sc)!, { row: ['yes'], caps: [] });
    expect(out).toBe('{"__proto__":{"polluted":"yes"},"constructor":"yes"}');
    prototypeIntact();
  });
});

describe('data files and captures on hostile input', () => {
  it('reads any CSV into a table or a UserError, never another exception', () => {
    let i = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.string({ maxLength: 20 }),
            fc.constantFrom(',', '"', '\n', '\r\n', '__proto__', 'email,password\n'),
          ),
          { maxLength: 30 },
        ),
        (pieces) => {
          const file = join(tmp, `f${i++}.csv`);
          writeFileSync(file, pieces.join(''));
          try {
            const t = readDataFile({ file, source: 'f.csv', order: 'sequential' }, 'w');
            for (const r of t.rows) expect(r).toHaveLength(t.columns.length);
          } catch (e) {
            expect(e).toBeInstanceOf(UserError);
          }
          prototypeIntact();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('accepts a capture regex only if it runs on 64 KiB of hostile body in bounded time', () => {
    const atoms = [
      'a',
      'a*',
      'a+',
      '(a+)+',
      '(a|aa)*',
      '.*',
      '(.*)',
      '\\d+',
      '[a-z]+',
      '(?:a*)*',
      '\\1',
      '(?=a)',
      'x',
      '(\\w+)',
      '{2,}',
      '|',
    ];
    const body = 'a'.repeat(REGEX_INPUT_LIMIT);
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...atoms), { minLength: 1, maxLength: 5 }), (parts) => {
        const pattern = parts.join('');
        let re: RegExp;
        try {
          re = compileCaptureRegex(pattern);
        } catch (e) {
          expect((e as Error).message).toMatch(/regex rejected|not a valid regex/);
          return;
        }
        const t = performance.now();
        re.exec(`${body}!`.slice(0, REGEX_INPUT_LIMIT));
        // Linear time: tens of ms here; a backtracking engine takes seconds to hours on these.
        expect(performance.now() - t).toBeLessThan(3000);
      }),
      { numRuns: 60 },
    );
  });

  it('puts nothing of a response into a failure message', () => {
    const slots = new Map<string, number>();
    const c = compileChecks(
      'login',
      { status: [200], json: [{ path: '$.role', value: 'admin' }] },
      { token: { kind: 'json', path: '$.token' } },
      (n) => slots.get(n) ?? (slots.set(n, slots.size), slots.size - 1),
      'w',
    )!;
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 599 }), fc.string({ maxLength: 30 }), (status, secret) => {
        const body = JSON.stringify({ role: `r-${secret}`, token: secret });
        const msg = runChecks(c, { status, headers: {}, body, truncated: false }, []);
        if (status !== 200) expect(msg).toBe(`expect status ${status} ≠ 200 on login`);
        else expect(msg).toBe('expect json $.role == "admin": got another value on login');
      }),
      { numRuns: 500 },
    );
  });
});
