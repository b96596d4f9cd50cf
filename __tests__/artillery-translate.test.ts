// The config's flows as an Artillery script (src/engines/artillery/translate.ts): the YAML produced for each flow
// feature, and each refusal. Configs go through the real loader, so the flows are what a user's file gives.
// The same translation run by the real Artillery against the auction app is in artillery-flows.e2e.test.ts.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { stringify as stringifyYaml } from 'yaml';
import { resolveConfig } from '../src/config/load.js';
import type { Config } from '../src/config/types.js';
import { artilleryEngine } from '../src/engines/artillery/index.js';
import { toJmesPath, translateFlows } from '../src/engines/artillery/translate.js';
import { UserError } from '../src/errors.js';

const here = dirname(fileURLToPath(import.meta.url));
// Genuine report of our own Artillery 2.0.34 run (see fixtures/SOURCES.md), and the stand-in `artillery` package.
const OWN_REPORT = join(here, 'fixtures', 'artillery-own', 'v2-2.0.34-demo-health-500.json');
const STAND_IN = join(here, 'fixtures', 'stand-ins', 'artillery');

function configOf(
  flowsYaml: string,
  extra = '',
  inputs: Record<string, string> = {},
  files: Record<string, string> = {},
): Config {
  const ws = mkdtempSync(join(tmpdir(), 'perf-gate-translate-'));
  mkdirSync(join(ws, '.github'));
  writeFileSync(join(ws, '.github', 'perf-gate.yml'), `${flowsYaml}\n${extra}`);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(ws, '.github', name), text);
  return resolveConfig(
    { target: 'http://127.0.0.1:8080', engine: 'artillery', duration: '10s', rate: '5', ...inputs },
    { workspace: ws },
  );
}

const STAGES = [{ durationMs: 10_000, startRate: 5, endRate: 5 }];

function translate(config: Config, env: NodeJS.ProcessEnv = {}) {
  return translateFlows(config, { scriptDir: join(config.workspace, 'perf-gate-results'), stages: STAGES, env });
}

function refusal(config: Config, env: NodeJS.ProcessEnv = {}): string {
  try {
    translate(config, env);
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error('expected a refusal');
}

const AUCTION = `
flows:
  - name: place a bid
    weight: 9
    data: users.csv
    steps:
      - post: /api/auth/login
        name: login
        json: { email: "{{ email }}", password: "{{ password }}" }
        capture: { token: $.token }
        expect: { status: 200 }
      - think: 2s
      - post: /api/bids
        name: bid
        headers: { authorization: "Bearer {{ token }}" }
        json: { auctionId: "{{ $randomInt(1, 100) }}", amount: 10 }
        capture: { bidId: $.id }
        expect: { status: 201, json: { $.id: exists } }
      - think: 300ms
      - get: /api/health
  - name: pay
    weight: 1
    data: users.csv
    steps:
      - post: /api/auth/login
        name: login
        json: { email: "{{ email }}", password: "{{ password }}" }
        capture: { token: $.token }
        expect: { status: 200 }
      - post: /api/payments
        name: payment
        headers: { authorization: "Bearer {{ token }}" }
        json: { amount: 25 }
        expect: { status: 201 }
`;
const USERS = 'email,password\nuser1@auction.test,pw-1-Secret\n';

describe('translateFlows: what each feature becomes', () => {
  it('writes the auction journey as scenarios with weights, names, captures, expectations, think and payload', () => {
    const out = translate(configOf(AUCTION, '', {}, { 'users.csv': USERS }));
    const yaml = stringifyYaml(out.doc, { lineWidth: 0 });
    expect(yaml).toMatchSnapshot();
    const doc = out.doc as any;
    expect(doc.config.phases).toEqual([{ duration: 10, arrivalRate: 5 }]);
    expect(doc.config.payload).toEqual([
      { path: '../.github/users.csv', fields: ['email', 'password'], order: 'sequence', skipHeader: true, cast: false },
    ]);
    expect(doc.config.plugins).toEqual({
      expect: { reportFailuresAsErrors: true, useOnlyRequestNames: true, formatter: 'silent' },
      'metrics-by-endpoint': { useOnlyRequestNames: true },
    });
    // The order matters (afterResponse hooks run in it): see the plugins note in translate.ts.
    expect(Object.keys(doc.config.plugins)).toEqual(['expect', 'metrics-by-endpoint']);
    expect(doc.scenarios.map((s: any) => [s.name, s.weight])).toEqual([
      ['place a bid', 9],
      ['pay', 1],
    ]);
    const [login, think2, bid, think300, health] = doc.scenarios[0].flow;
    expect(login.post).toEqual({
      url: '/api/auth/login',
      name: 'login',
      json: { email: '{{ email }}', password: '{{ password }}' },
      capture: [{ json: '$.token', as: 'token', strict: false }],
      expect: [{ statusCode: 200 }, { jmespath: 'token != `null`' }],
    });
    expect(think2).toEqual({ think: 2 });
    expect(think300).toEqual({ think: '300ms' });
    // The whole-value $randomInt goes through the processor so the JSON keeps a number, as the built-in engine sends.
    expect(bid.post.json).toEqual({ auctionId: '{{ perfGate_0 }}', amount: 10 });
    // Data columns holding no JSON-number-like text are used as they are.
    expect(bid.post.beforeRequest).toEqual(['perfGate_f0_s2']);
    expect(bid.post.expect).toEqual([{ statusCode: 201 }, { hasProperty: 'id' }, { jmespath: 'id != `null`' }]);
    expect(bid.post.headers).toEqual({ authorization: 'Bearer {{ token }}' });
    // An unnamed step is named with the built-in engine's label, so both engines have the same endpoint rows.
    expect(health.get).toEqual({ url: '/api/health', name: 'GET /api/health' });
    expect(out.processor).toContain('perfGate_f0_s2(req, context, events, next)');
    expect(out.processor).toContain('vars["perfGate_0"] = randomInt(1, 100);');
    expect(out.csv).toBeUndefined();
  });

  it('runs the generated processor as Artillery calls it: fresh values per request, JSON numbers as numbers', async () => {
    const c = configOf(
      `flows:
  - name: f
    data: users.csv
    steps:
      - post: /x
        json: { a: "{{ $uuid }}", b: "{{ $uuid }}", t: "{{ $timestamp }}", n: "{{ id }}", neg: "{{ $randomInt(-3, -1) }}", k: "{{ env.KEY }}" }
`,
      '',
      {},
      { 'users.csv': 'id\n0123\n' },
    );
    const out = translate(c, { KEY: '42' });
    const dir = mkdtempSync(join(tmpdir(), 'perf-gate-processor-'));
    writeFileSync(join(dir, 'p.cjs'), out.processor!);
    const mod = (await import(join(dir, 'p.cjs'))).default as Record<
      string,
      (req: unknown, ctx: { vars: Record<string, unknown> }, ee: unknown, next: () => void) => void
    >;
    const json = (out.doc as any).scenarios[0].flow[0].post.json as Record<string, string>;
    const varOf = (k: string) => /\{\{ (\w+) \}\}/.exec(json[k]!)![1]!;
    const vars: Record<string, unknown> = { id: '0123' };
    process.env.KEY = '42';
    try {
      await new Promise<void>((res) => mod.perfGate_f0_s0!({}, { vars }, {}, res));
    } finally {
      delete process.env.KEY;
    }
    expect(vars[varOf('a')]).toMatch(/^[0-9a-f-]{36}$/);
    expect(vars[varOf('a')]).not.toBe(vars[varOf('b')]);
    expect(Math.abs((vars[varOf('t')] as number) - Date.now())).toBeLessThan(5000);
    // "0123" is not a JSON number, so it stays text (the built-in rule); "42" from the environment is one.
    expect(vars[varOf('n')]).toBe('0123');
    expect(vars[varOf('k')]).toBe(42);
    expect([-3, -2, -1]).toContain(vars[varOf('neg')]);
    // The environment value is never written into the script or the processor.
    expect(JSON.stringify(out.doc) + out.processor).not.toContain('42"');
    expect(out.secrets).toEqual(['42']);
  });

  it('maps templates: names stay, env.NAME -> $env.NAME, $randomInt in text -> $randomNumber, $uuid/$timestamp via the processor', () => {
    const out = translate(
      configOf(`flows:
  - name: f
    steps:
      - get: /items?id={{ $randomInt(1, 9) }}&u={{ $uuid }}&t={{ $timestamp }}
        name: items
        headers: { x-api-key: "{{ env.API_KEY }}" }
        capture: { rid: { header: X-Request-Id } }
      - get: /items/{{ rid }}
`),
      { API_KEY: 's3cr3t-value' },
    );
    const [items, byId] = (out.doc as any).scenarios[0].flow;
    expect(items.get.url).toBe('/items?id={{ $randomNumber(1, 9) }}&u={{ perfGate_0 }}&t={{ perfGate_1 }}');
    expect(items.get.headers).toEqual({ 'x-api-key': '{{ $env.API_KEY }}' });
    expect(items.get.capture).toEqual([{ header: 'x-request-id', as: 'rid', strict: false }]);
    expect(items.get.expect).toEqual([{ hasHeader: 'x-request-id' }]);
    // A templated path without a name keeps one endpoint row: the template's name is written as :name.
    expect(byId.get).toEqual({ url: '/items/{{ rid }}', name: 'GET /items/:rid' });
    expect(JSON.stringify(out.doc)).not.toContain('s3cr3t-value');
    expect(out.secrets).toEqual(['s3cr3t-value']);
  });

  it('maps expect.json values to JMESPath comparisons with their types, and header expectations', () => {
    const out = translate(
      configOf(`flows:
  - name: f
    steps:
      - get: /x
        expect:
          status: [200, 201]
          json:
            $.status: ok
            $.count: 5
            "$.meta.tags[0]": "a"
            "$['odd-key']": null
            $.obj: { b: 2, a: 1 }
          header: { content-type: application/json, x-id: exists }
`),
    );
    expect((out.doc as any).scenarios[0].flow[0].get.expect).toEqual([
      { statusCode: [200, 201] },
      { jmespath: 'status == `"ok"`' },
      { jmespath: 'count == `5`' },
      { jmespath: 'meta.tags[0] == `"a"`' },
      { hasProperty: ['odd-key'] },
      { jmespath: '"odd-key" == `null`' },
      { jmespath: 'obj == `{"b":2,"a":1}`' },
      { headerEquals: ['content-type', 'application/json'] },
      { hasHeader: 'x-id' },
    ]);
    expect(toJmesPath([])).toBe('@');
    expect(toJmesPath([0, 'id'])).toBe('@[0].id');
  });

  it('converts a JSON data file to a CSV beside the script, keeps order random, and scales fractional weights', () => {
    const out = translate(
      configOf(
        `flows:
  - name: a
    weight: 0.5
    data: { file: users.json, order: random }
    steps: [{ post: /login, json: { email: "{{ email }}", n: "{{ n }}" } }]
  - name: b
    weight: 1.5
    steps: [{ get: /health }]
`,
        '',
        {},
        {
          'users.json': JSON.stringify([
            { email: 'a@x, "quoted"', n: 1 },
            { email: 'b@x', n: 2.5 },
          ]),
        },
      ),
    );
    const doc = out.doc as any;
    expect(doc.config.payload).toEqual([
      { path: './artillery-data.csv', fields: ['email', 'n'], order: 'random', skipHeader: true, cast: false },
    ]);
    expect(out.csv).toBe('email,n\n"a@x, ""quoted""",1\nb@x,2.5\n');
    expect(doc.scenarios.map((s: any) => [s.name, s.weight])).toEqual([
      ['a', 5],
      ['b', 15],
    ]);
    // No expectation anywhere: the expect plugin is not loaded.
    expect(doc.config.plugins).toEqual({ 'metrics-by-endpoint': { useOnlyRequestNames: true } });
  });
});

describe('translateFlows: URLs as the built-in engine joins them', () => {
  it("joins step paths to the target's base path, and an empty path requests the target itself", () => {
    const c = configOf('flows:\n  - name: f\n    steps: [{ get: "" }, { get: api/x }, { get: /y }]\n', '', {
      target: 'http://127.0.0.1:8080/base/',
    });
    const out = translate(c);
    expect((out.doc as any).config.target).toBe('http://127.0.0.1:8080/base');
    expect((out.doc as any).scenarios[0].flow.map((st: any) => st.get.url)).toEqual(['/', '/api/x', '/y']);
    const bare = translate(
      configOf('flows:\n  - name: f\n    steps: [{ get: "" }]\n', '', { target: 'http://127.0.0.1:8080/base' }),
    );
    expect((bare.doc as any).scenarios[0].flow[0].get.url).toBe('{{ target }}');
    expect(
      refusal(
        configOf('flows:\n  - name: f\n    steps: [{ get: "" }]\n', '', { target: 'http://127.0.0.1:8080/?token=abc' }),
      ),
    ).toMatch(/empty path requests the target URL itself/);
  });
});

describe('translateFlows: what Artillery cannot do alike is refused before the run', () => {
  const one = (step: string, extra = '') =>
    configOf(`flows:\n  - name: checkout\n    steps:\n      - ${step}\n`, extra);

  it('refuses a regex capture, naming the flow, the step and the feature', () => {
    const m = refusal(one('{ get: /page, name: page, capture: { csrf: { regex: "csrf=(\\\\w+)" } } }'));
    expect(m).toMatch(
      /^\.github\/perf-gate\.yml: flows\[0\]\.steps\[0\] \(page\) of flow "checkout": capture csrf \(\{regex: \.\.\.\}\): Artillery runs a capture regex/,
    );
    expect(m).toMatch(/use the builtin engine, or write an Artillery script/);
  });

  it('refuses expect.contains (matchesRegexp tests the parsed JSON object, not the text)', () => {
    expect(refusal(one('{ get: /page, expect: { contains: "ok" } }'))).toMatch(
      /flows\[0\]\.steps\[0\] \(GET \/page\) of flow "checkout": expect\.contains: /,
    );
  });

  it('refuses a 4xx listed in expect.status while 4xx count as errors, and allows it when they do not', () => {
    expect(refusal(one('{ post: /login, name: login, expect: { status: [200, 401] } }'))).toMatch(
      /\(login\) of flow "checkout": expect\.status lists 401: the built-in engine does not count a listed 4xx as an error, but Artillery's results count every 4xx/,
    );
    const ok = translate(
      one('{ post: /login, name: login, expect: { status: [200, 401] } }', 'http: { count-4xx-as-errors: false }'),
    );
    expect((ok.doc as any).scenarios[0].flow[0].post.expect).toEqual([{ statusCode: [200, 401] }]);
  });

  it("refuses an explicit cookie header (the built-in engine merges it with the arrival's jar), and Set-Cookie values", () => {
    expect(refusal(one('{ get: /a, headers: { Cookie: "a=1" } }'))).toMatch(/: a cookie header: /);
    expect(refusal(one('{ get: /a, capture: { c: { header: Set-Cookie } } }'))).toMatch(
      /capture c \(header set-cookie\): Artillery keeps several Set-Cookie headers as a list/,
    );
    expect(refusal(one('{ get: /a, expect: { header: { set-cookie: "a=1" } } }'))).toMatch(
      /expect\.header set-cookie with a value/,
    );
  });

  it('refuses env templates on AWS workers, unset variables and unknown names', () => {
    const step = '{ get: /a, headers: { x-key: "{{ env.KEY }}" } }';
    expect(refusal(one(step, 'distributed: artillery-lambda'), { KEY: 'v' })).toMatch(
      /Artillery's workers on AWS do not have this runner's environment/,
    );
    expect(refusal(one(step))).toMatch(/environment variable KEY is not set/);
    expect(refusal(one('{ get: "/a/{{ nope }}" }'))).toMatch(/template "\{\{ nope \}\}" names nothing defined here/);
  });

  it('refuses a templated name, a method Artillery does not send, flows with different data files, and weights it cannot scale', () => {
    expect(refusal(one('{ get: /a, name: "a-{{ $uuid }}" }'))).toMatch(/a template in name/);
    expect(refusal(configOf('flows:\n  - name: f\n    steps: [{ request: { method: TRACE, path: /a } }]\n'))).toMatch(
      /method TRACE: Artillery sends only/,
    );
    expect(
      refusal(
        configOf(
          'flows:\n  - { name: a, data: u1.csv, steps: [{ get: /a }] }\n  - { name: b, data: u2.csv, steps: [{ get: /b }] }\n',
          '',
          {},
          { 'u1.csv': 'x\n1\n', 'u2.csv': 'y\n2\n' },
        ),
      ),
    ).toMatch(/flows\[1\] \("b"\): data "u2\.csv" \(sequential\) differs from flow "a"'s "u1\.csv"/);
    expect(
      refusal(
        configOf(
          'flows:\n  - { name: a, weight: 0.0001, steps: [{ get: /a }] }\n  - { name: b, steps: [{ get: /b }] }\n',
        ),
      ),
    ).toMatch(/cannot be written as Artillery's whole-number weights/);
  });

  it('refuses names Artillery uses itself (target) for captures and data columns', () => {
    expect(refusal(one('{ get: /a, capture: { target: $.url } }'))).toMatch(
      /the name "target" \(a data column or capture\) is one Artillery/,
    );
    expect(
      refusal(
        configOf('flows:\n  - { name: a, data: d.csv, steps: [{ get: /a }] }\n', '', {}, { 'd.csv': 'target\nx\n' }),
      ),
    ).toMatch(/flows\[0\]\.steps\[0\] .*the name "target"/);
  });

  it('refuses JSON data values a CSV cannot carry, naming the element and key', () => {
    const c = configOf(
      'flows:\n  - { name: a, data: d.json, steps: [{ get: "/a/{{ x }}" }] }\n',
      '',
      {},
      { 'd.json': '[{"x": 1}, {"x": true}]' },
    );
    expect(refusal(c)).toMatch(/data file "d\.json", element 1, key "x": boolean; Artillery's payload is CSV/);
  });
});

describe('config: engine artillery without a script', () => {
  it('runs the flows when the config has some, and still asks for a script when it has none', () => {
    expect(configOf(AUCTION, '', {}, { 'users.csv': USERS }).script).toBeUndefined();
    const ws = mkdtempSync(join(tmpdir(), 'perf-gate-translate-'));
    expect(() => resolveConfig({ target: 'http://127.0.0.1:8080', engine: 'artillery' }, { workspace: ws })).toThrow(
      /input "script" is required with engine "artillery": the path of the Artillery test \(\.yml\), unless \.github\/perf-gate\.yml has flows to run/,
    );
  });

  it('checks endpoint selectors against the flows, as for the built-in engine', () => {
    expect(() => configOf(AUCTION, '', { targets: 'p99{bidd} < 1s' }, { 'users.csv': USERS })).toThrow(/bidd/);
  });
});

describe('engine artillery with the generated script on AWS (stand-in artillery package)', () => {
  it('runs run-fargate on the script written to output-dir, with its processor beside it and the phase as overrides', async () => {
    const c = configOf(
      AUCTION,
      'http: { headers: { User-Agent: perf-gate } }',
      {
        distributed: 'artillery-fargate',
        count: '4',
        region: 'eu-west-1',
        target: 'https://staging.example.com/shop/',
      },
      { 'users.csv': USERS },
    );
    mkdirSync(join(c.workspace, 'node_modules'));
    symlinkSync(STAND_IN, join(c.workspace, 'node_modules', 'artillery'), 'dir');
    const calls = join(c.workspace, 'calls.ndjson');
    process.env.ARTILLERY_STANDIN_CALLS = calls;
    process.env.ARTILLERY_STANDIN_REPORT = OWN_REPORT;
    const lines: string[] = [];
    try {
      await artilleryEngine.run({
        config: c,
        stages: STAGES,
        log: { info: (m) => lines.push(m), warning: (m) => lines.push(m), debug: () => {} },
      });
    } finally {
      delete process.env.ARTILLERY_STANDIN_CALLS;
      delete process.env.ARTILLERY_STANDIN_REPORT;
    }
    const argv = (JSON.parse(readFileSync(calls, 'utf8').trim().split('\n')[0]!) as { argv: string[] }).argv;
    const script = join(c.outputDir, 'artillery-script.yml');
    expect(argv.slice(0, 7)).toEqual([
      'run-fargate',
      '--count',
      '4',
      '--region',
      'eu-west-1',
      '--target',
      'https://staging.example.com/shop',
    ]);
    expect(argv.at(-1)).toBe(script);
    // Config-wide header names in lower case, as the steps' are written, so a step's own header replaces them.
    expect(JSON.parse(argv[argv.indexOf('--overrides') + 1]!)).toEqual({
      config: {
        http: { defaults: { headers: { 'user-agent': 'perf-gate' } } },
        phases: [{ duration: 10, arrivalRate: 5 }],
      },
    });
    expect(existsSync(join(c.outputDir, 'artillery-processor.cjs'))).toBe(true);
    expect(readFileSync(script, 'utf8')).toMatch(
      /^# Generated by perf-gate from the flows of \.github\/perf-gate\.yml/,
    );
    expect(lines.join('\n')).toContain(
      "Artillery script generated from the config's 2 flows: perf-gate-results/artillery-script.yml",
    );
  });
});
