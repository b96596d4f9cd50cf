// The pieces of built-in journeys on their own: JSONPath subset, templates, data files, checks and the capture
// regex guard. Hostile-input properties are in journey-parts.property.test.ts.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/load.js';
import { compileJsonPath, evalJsonPath } from '../src/flows/jsonpath.js';
import {
  compileCaptureRegex,
  compileChecks,
  REGEX_INPUT_LIMIT,
  runChecks,
  unsafeRegexReason,
} from '../src/flows/checks.js';
import { readDataFile } from '../src/flows/data.js';
import { compileFlows } from '../src/engines/builtin/flows.js';
import {
  captureRef,
  compileJsonTemplate,
  compileTemplate,
  dataRef,
  renderJsonTemplate,
  renderTemplate,
  type Ref,
  type Scope,
} from '../src/flows/templates.js';
import { parseTarget } from '../src/flows/target.js';

function scope(names: Record<string, Ref> = {}, env: NodeJS.ProcessEnv = {}): Scope {
  const m = new Map(Object.entries(names));
  return { names: m, env, secrets: new Set(), describe: () => `defined: ${[...m.keys()].join(', ') || 'none'}` };
}

describe('JSONPath subset', () => {
  const doc = { a: { b: [10, { c: 'x' }] }, 'odd key': 1, list: [1, 2, 3] };
  it.each([
    ['$', doc],
    ['$.a.b[0]', 10],
    ['$.a.b[1].c', 'x'],
    ["$['odd key']", 1],
    ['$["a"]["b"][1]["c"]', 'x'],
    ['$.list[-1]', 3],
    ['$.list[3]', undefined],
    ['$.missing.deeper', undefined],
    ['$.constructor', undefined],
    ['$.__proto__', undefined],
    ['$.a.toString', undefined],
    ['$.list.length', undefined],
  ])('%s', (path, want) => {
    expect(evalJsonPath(compileJsonPath(path), doc)).toEqual(want);
  });
  it.each(['a.b', '$..x', '$.a[*]', '$[?(@.x)]', '$.', '$a'])('rejects %s', (path) => {
    expect(() => compileJsonPath(path)).toThrow(/JSONPath/);
  });
});

describe('templates', () => {
  const vars = { row: ['ann@x.test', 'pw"1', '42', '007'], caps: ['tok-1'] };
  const sc = () =>
    scope(
      { email: dataRef(0), password: dataRef(1), amount: dataRef(2), code: dataRef(3), token: captureRef(0) },
      { API_KEY: 'k-secret' },
    );

  it('renders data columns, captures, env values and built-ins in text', () => {
    const s = sc();
    const t = compileTemplate('/u/{{ email }}?t={{token}}&k={{ env.API_KEY }}&n={{ $randomInt(5, 5) }}', s);
    expect(renderTemplate(t, vars)).toBe('/u/ann@x.test?t=tok-1&k=k-secret&n=5');
    expect([...s.secrets]).toEqual(['k-secret']);
    expect(renderTemplate(compileTemplate('{{ $uuid }}', s), vars)).toMatch(/^[0-9a-f-]{36}$/);
    const ts = Number(renderTemplate(compileTemplate('{{ $timestamp }}', s), vars));
    expect(Math.abs(ts - Date.now())).toBeLessThan(5000);
  });

  it('keeps a JSON value that is exactly one template of a number a number, and escapes strings', () => {
    const t = compileJsonTemplate(
      {
        email: '{{ email }}',
        password: '{{ password }}',
        amount: '{{ amount }}',
        code: '{{ code }}',
        id: '{{ $randomInt(1, 1) }}',
        note: 'hi {{ email }} "q"',
        fixed: [1, true, null, 'x'],
      },
      sc(),
    )!;
    expect(JSON.parse(renderJsonTemplate(t, vars))).toEqual({
      email: 'ann@x.test',
      password: 'pw"1',
      amount: 42,
      code: '007',
      id: 1,
      note: 'hi ann@x.test "q"',
      fixed: [1, true, null, 'x'],
    });
    expect(compileJsonTemplate({ a: 1, b: 'plain' }, sc())).toBeUndefined();
  });

  it('names what is missing at compile time', () => {
    expect(() => compileTemplate('{{ tokn }}', sc())).toThrow(/"\{\{ tokn \}\}" names nothing defined here/);
    expect(() => compileTemplate('{{ env.NOPE }}', sc())).toThrow(/environment variable NOPE is not set/);
    expect(() => compileTemplate('{{ $randomInt(5, 1) }}', sc())).toThrow(/a <= b/);
    expect(() => compileTemplate('{{ a + b }}', sc())).toThrow(/is not a name/);
    expect(() => compileTemplate('x {{ email', sc())).toThrow(/without a closing/);
  });
});

describe('data files', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perf-gate-data-'));
  const file = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return { file: join(dir, name), source: name, order: 'sequential' as const };
  };
  it('reads CSV with quotes and CRLF, and JSON arrays of objects', () => {
    expect(readDataFile(file('a.csv', 'email,password\r\n"a,b@x",p1\r\n\r\nc@x,"say ""hi"""\n'), 'w')).toEqual({
      columns: ['email', 'password'],
      rows: [
        ['a,b@x', 'p1'],
        ['c@x', 'say "hi"'],
      ],
    });
    expect(readDataFile(file('a.json', '[{"id": 1, "name": "x"}, {"id": 2, "extra": true}]'), 'w')).toEqual({
      columns: ['id', 'name', 'extra'],
      rows: [
        [1, 'x', undefined],
        [2, undefined, true],
      ],
    });
  });
  it('refuses missing, empty, headerless and ragged files without printing their data', () => {
    expect(() =>
      readDataFile({ file: join(dir, 'nope.csv'), source: 'nope.csv', order: 'sequential' }, 'cfg: flows[0].data'),
    ).toThrow(/^cfg: flows\[0\]\.data: data file "nope.csv" does not exist/);
    expect(() => readDataFile(file('e.csv', '\n \n'), 'w')).toThrow(/is empty/);
    expect(() => readDataFile(file('h.csv', 'email,password\n'), 'w')).toThrow(/has no data rows/);
    const headerless = () => readDataFile(file('n.csv', 'ann@x.test,Sup3rSecret\nbob@x.test,pw2\n'), 'w');
    expect(headerless).toThrow(/has no header row/);
    expect(headerless).not.toThrow(/Sup3rSecret|ann@x/);
    expect(() => readDataFile(file('r.csv', 'a,b\n1,2\n3\n'), 'w')).toThrow(/line 3 has 1 field/);
    expect(() => readDataFile(file('o.json', '{"a": 1}'), 'w')).toThrow(/JSON array of objects/);
  });
});

describe('checks', () => {
  const slots = new Map<string, number>();
  const slotOf = (n: string) => slots.get(n) ?? (slots.set(n, slots.size), slots.size - 1);
  const res = (status: number, body: string | undefined, headers: Record<string, string> = {}) => ({
    status,
    body,
    headers,
    truncated: false,
  });

  it('reports each kind of failure by a stable message', () => {
    const c = compileChecks('login', { status: [200] }, { token: { kind: 'json', path: '$.token' } }, slotOf, 'w')!;
    const caps: unknown[] = [];
    expect(runChecks(c, res(401, '{"error":"no"}'), caps)).toBe('expect status 401 ≠ 200 on login');
    expect(runChecks(c, res(200, '{"error":"no"}'), caps)).toBe('capture token ($.token) found nothing on login');
    expect(runChecks(c, res(200, 'not json'), caps)).toBe('response body is not JSON on login');
    expect(runChecks(c, res(200, '{"token":"abc"}'), caps)).toBeUndefined();
    expect(caps).toEqual(['abc']);
    const b = compileChecks(
      'bid',
      {
        status: [201, 409],
        json: [
          { path: '$.id', exists: true },
          { path: '$.state', value: { ok: true, n: 1 } },
        ],
        contains: ['id'],
        header: [{ name: 'x-a', exists: true }],
      },
      undefined,
      slotOf,
      'w',
    )!;
    expect(runChecks(b, res(500, '{}'), [])).toBe('expect status 500 ≠ 201 or 409 on bid');
    expect(runChecks(b, res(200, '{"error":"auction closed"}'), [])).toBe('expect status 200 ≠ 201 or 409 on bid');
    expect(runChecks(b, res(201, '{"error":"auction closed"}'), [])).toBe(
      'expect json $.id exists: found nothing on bid',
    );
    expect(runChecks(b, res(201, '{"id":1,"state":{"ok":false}}'), [])).toBe(
      'expect json $.state == {"n":1,"ok":true}: got another value on bid',
    );
    expect(runChecks(b, res(201, '{"id":1,"state":{"n":1,"ok":true}}'), [])).toBe(
      'expect header x-a exists: not found on bid',
    );
    expect(runChecks(b, res(201, '{"state":{"n":1,"ok":true},"id":1}', { 'x-a': '1' }), [])).toBeUndefined();
  });

  it('captures headers and regex groups', () => {
    const c = compileChecks(
      's',
      undefined,
      { rid: { kind: 'header', name: 'x-request-id' }, n: { kind: 'regex', pattern: 'id=(\\d+)' } },
      slotOf,
      'w',
    )!;
    const caps: unknown[] = [];
    expect(runChecks(c, res(200, 'ok id=77;', { 'x-request-id': 'r-1' }), caps)).toBeUndefined();
    expect(caps.slice(-2)).toEqual(['r-1', '77']);
    expect(runChecks(c, res(200, 'nothing', { 'x-request-id': 'r-1' }), caps)).toBe(
      'capture n (regex) found nothing on s',
    );
  });

  it.each([
    ['id=(\\d+)', undefined],
    ['"token":"([^"]+)"', undefined],
    ['(?:ab)+c', undefined],
    ['(\\d{3})-(\\d+)', undefined],
    ['(a+)+$', /repeated group/],
    ['(a|ab)*c', /repeated group/],
    ['([a-z]+)*', /repeated group/],
    ['(x+){2,}', /repeated group/],
    ['(\\w+)\\1', /back-references/],
    ['.*a.*b.*c.*d', /more than three/],
  ])('fallback guard (no linear engine): regex %s', (pattern, want) => {
    const r = unsafeRegexReason(pattern);
    if (want === undefined) expect(r).toBeUndefined();
    else expect(r).toMatch(want);
  });

  it('runs capture regexes in linear time, and rejects what needs backtracking and bad JSONPaths at start, naming where', () => {
    const nested = compileCaptureRegex('(a+)+b');
    const t = performance.now();
    expect(nested.exec('a'.repeat(REGEX_INPUT_LIMIT))).toBeNull();
    expect(performance.now() - t).toBeLessThan(2000);
    expect(compileCaptureRegex('id=(\\d+)').exec('x id=42;')?.[1]).toBe('42');
    expect(() =>
      compileChecks('x', undefined, { a: { kind: 'regex', pattern: '(\\w+)\\1' } }, slotOf, 'cfg: flows[0].steps[1]'),
    ).toThrow(/^cfg: flows\[0\]\.steps\[1\]: capture a: regex rejected: it needs back-references or lookarounds/);
    expect(() => compileChecks('x', undefined, { a: { kind: 'regex', pattern: '(?=a)a' } }, slotOf, 'w')).toThrow(
      /regex rejected/,
    );
    expect(() => compileChecks('x', undefined, { a: { kind: 'regex', pattern: '(' } }, slotOf, 'w')).toThrow(
      /capture a: not a valid regex/,
    );
    expect(() => compileChecks('x', undefined, { a: { kind: 'json', path: '$..a' } }, slotOf, 'cfg: s')).toThrow(
      /^cfg: s: capture a: JSONPath/,
    );
  });
});

describe('flow config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'perf-gate-flowcfg-'));
  const load = (yaml: string) => {
    writeFileSync(join(dir, 'p.yml'), yaml);
    return resolveConfig({ target: 'http://127.0.0.1:1', config: 'p.yml' }, { workspace: dir });
  };
  it('turns data, capture and expect into the model, the data path relative to the config file', () => {
    const c = load(`
flows:
  - name: a
    data: { file: data/users.json, order: random }
    steps:
      - post: /login
        capture: { token: $.token, rid: { header: X-Request-Id }, n: { regex: "n=(\\\\d+)" } }
        expect: { status: [200, 401], json: { $.ok: true, $.id: exists }, contains: welcome, header: { Content-Type: application/json, x-a: exists } }
`);
    expect(c.flows[0]!.data).toEqual({
      file: join(dir, 'data/users.json'),
      source: 'data/users.json',
      order: 'random',
    });
    expect(c.flows[0]!.steps[0]).toMatchObject({
      capture: {
        token: { kind: 'json', path: '$.token' },
        rid: { kind: 'header', name: 'x-request-id' },
        n: { kind: 'regex', pattern: 'n=(\\d+)' },
      },
      expect: {
        status: [200, 401],
        json: [
          { path: '$.ok', value: true },
          { path: '$.id', exists: true },
        ],
        contains: ['welcome'],
        header: [
          { name: 'content-type', value: 'application/json' },
          { name: 'x-a', exists: true },
        ],
      },
    });
    expect(load('flows: [{ name: a, data: u.csv, steps: [{ get: /x }] }]').flows[0]!.data!.order).toBe('sequential');
  });
  it.each([
    [
      'capture: { token: .token }',
      /steps\[0\]\.capture\.token: got "\.token"; a capture is a JSONPath starting with \$/,
    ],
    ['capture: { t: { regex: 1 } }', /capture\.t: got \{"regex":1\}; a capture is/],
    ['expect: { status: abc }', /expect\.status: got "abc"; expected a status code \(100-599\) or a list/],
    [
      'expect: { json: { id: exists } }',
      /expect\.json: got "id"; "id" is not a JSONPath: write it from the body's root, e\.g\. \$\.id/,
    ],
    ['expect: { stat: 200 }', /expect: unknown key "stat"/],
    ['captures: { t: $.t }', /steps\[0\]: unknown key "captures"/],
  ])('names the config path of a mistake: %s', (extra, want) => {
    expect(() => load(`flows: [{ name: a, steps: [{ post: /x, ${extra} }] }]`)).toThrow(want);
  });
  it('builds the bytes of a request without templates once, exactly as sent', () => {
    const c = load(`
http: { headers: { X-Team: perf } }
flows:
  - name: a
    steps:
      - post: /api/bids?x=1
        json: { note: "héllo" }
      - head: /health
      - get: /items/{{ $randomInt(1, 9) }}
        headers: { connection: close }
`);
    const steps = compileFlows(c, parseTarget('http://127.0.0.1:8080/base')).flows[0]!.steps;
    const [post, head, templated] = steps as Array<Extract<(typeof steps)[number], { think: false }>>;
    // The body is UTF-8: content-length counts bytes (é is two), and the step's own header sits beside the global one.
    // The traceparent line is a placeholder of fixed length: each request writes its own ids over the zeros.
    const trace = 'traceparent: 00-00000000000000000000000000000000-0000000000000000-01\r\n';
    expect(post!.wire!.toString('utf8')).toBe(
      `POST /base/api/bids?x=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nx-team: perf\r\n${trace}content-type: application/json\r\ncontent-length: 17\r\n\r\n{"note":"héllo"}`,
    );
    expect(head!.isHead).toBe(true);
    expect(head!.wire!.toString('latin1')).toBe(
      `HEAD /base/health HTTP/1.1\r\nhost: 127.0.0.1:8080\r\nx-team: perf\r\n${trace}\r\n`,
    );
    // A template: rendered per arrival, so no prebuilt bytes.
    expect(templated!.wire).toBeUndefined();
    expect(templated!.closeAfter).toBe(true);
  });
  it.each([
    [
      'headers: { Content-Length: "5" }',
      /flows\[0\]\.steps\[0\] \(POST \/x\): headers\.content-length: perf-gate sets content-length itself; remove it/,
    ],
    ['headers: { transfer-encoding: chunked }', /steps\[0\] \(POST \/x\): headers\.transfer-encoding: perf-gate sets/],
    ['headers: { connection: upgrade }', /headers\.connection: only "close" or "keep-alive" are allowed/],
    [
      'headers: { connection: "{{ $uuid }}" }',
      /headers\.connection: a template is not allowed here: write close or keep-alive/,
    ],
    ['headers: { "x a": "1" }', /"x a" is not a valid header name/],
    ['headers: { x-a: "one\\r\\ntwo" }', /headers\.x-a: the value has a control character/],
  ])('refuses a header it cannot send before any load, naming where: %s', (extra, want) => {
    const c = load(`flows: [{ name: a, steps: [{ post: /x, ${extra} }] }]`);
    expect(() => compileFlows(c, parseTarget(c.target))).toThrow(want);
  });
  it('refuses a path with a space, and a global header, naming where', () => {
    const c = load('flows: [{ name: a, steps: [{ get: /a b }] }]');
    expect(() => compileFlows(c, parseTarget(c.target))).toThrow(
      /steps\[0\] \(GET \/a b\): path: the path has a space/,
    );
    const g = load('http: { headers: { Expect: 100-continue } }');
    expect(() => compileFlows(g, parseTarget(g.target))).toThrow(
      /p\.yml: http\.headers\.expect: perf-gate sets expect itself/,
    );
  });
});
