import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig, type RawInputs } from '../src/config/load.js';
import { parseDuration } from '../src/units.js';
import { UserError } from '../src/errors.js';
import { redactUrl } from '../src/secrets.js';

function workspace(configYaml?: string, path = '.github/perf-gate.yml'): string {
  const dir = mkdtempSync(join(tmpdir(), 'perf-gate-config-'));
  if (configYaml !== undefined) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), configYaml);
  }
  return dir;
}

const resolve = (inputs: RawInputs, yaml?: string) => resolveConfig(inputs, { workspace: workspace(yaml) });

describe('resolveConfig: defaults', () => {
  it('runs a warm-up with the built-in engine and the phase targets', () => {
    const c = resolve({ target: 'http://127.0.0.1:8080' });
    expect(c.engine).toBe('builtin');
    expect(c.phase.name).toBe('warmup');
    expect(c.failOn).toBe('any');
    expect(c.comment).toBe('auto');
    expect(c.commentHeader).toBe('warmup');
    expect(c.targets.map((t) => t.source)).toEqual(['p99 < 500ms', 'p95 < 300ms', 'error_rate < 1%', 'errors <= 50']);
    expect(c.flows).toEqual([{ name: 'default', weight: 1, steps: [{ kind: 'request', method: 'GET', path: '' }] }]);
    // 4xx are errors by default, as k6's http_req_failed counts them.
    expect(c.http).toMatchObject({ timeoutMs: 30_000, maxInFlight: 1000, count4xxAsErrors: true });
    expect(c.outputDir).toMatch(/perf-gate-results$/);
  });

  it('uses the guide criteria for sustained', () => {
    const c = resolve({ target: 'http://127.0.0.1:8080', phase: 'sustained' });
    expect(c.targets.map((t) => t.source)).toEqual([
      'p99 < 500ms',
      'p95 < 300ms',
      'error_rate < 0.5%',
      'throughput > 100/s',
    ]);
  });

  it('parses overrides from inputs', () => {
    const c = resolve({
      target: 'https://staging.example.com',
      duration: '1m30s',
      rate: '50/s',
      'fail-on': 'never',
      targets: 'p99 < 1s\np95 < 400ms',
    });
    expect(c.durationMs).toBe(90_000);
    expect(c.rate).toBe(50);
    expect(c.failOn).toBe('never');
    // The given list names no error-rate bound: the phase's (warm-up: 1 %) is kept as a row of its own.
    expect(c.targets.map((t) => t.value)).toEqual([1000, 400, 1]);
    expect(c.targets[2]).toMatchObject({ metric: 'error_rate', kept: 'phase' });
  });
});

const BID_FLOW = `
target: http://127.0.0.1:9999
phase: smoke
http:
  timeout: 5s
  max-in-flight: 200
  count-4xx-as-errors: false
  headers: { x-team: bids }
flows:
  - name: bid
    weight: 3
    steps:
      - post: /api/auth/login
        json: { user: demo, password: demo }
      - think: 2s
      - post: /api/bids
        json: { amount: 10 }
        name: place bid
      - think: 3
      - get: /api/health
  - name: browse
    steps:
      - request: { method: get, path: /api/status }
phases:
  smoke:
    stages:
      - { duration: 10s, from: 1, to: 20 }
      - { duration: 20s, rate: 20 }
    targets: [ "p99 < 800ms" ]
`;

describe('resolveConfig: config file', () => {
  it('reads flows, think times, http settings and custom phases', () => {
    const c = resolve({}, BID_FLOW);
    expect(c.target).toBe('http://127.0.0.1:9999');
    expect(c.configPath).toBe('.github/perf-gate.yml');
    expect(c.phase.stages).toEqual([
      { durationMs: 10_000, startRate: 1, endRate: 20, name: undefined },
      { durationMs: 20_000, startRate: 20, endRate: 20, name: undefined },
    ]);
    expect(c.targets.map((t) => t.source)).toEqual(['p99 < 800ms', 'error_rate < 0.5%']);
    // `count-4xx-as-errors: false` keeps the old meaning (only 5xx and transport errors).
    expect(c.http).toEqual({
      timeoutMs: 5000,
      maxInFlight: 200,
      count4xxAsErrors: false,
      traceparent: true,
      headers: { 'x-team': 'bids' },
    });
    const [bid, browse] = c.flows;
    expect(bid!.weight).toBe(3);
    expect(bid!.steps).toEqual([
      { kind: 'request', method: 'POST', path: '/api/auth/login', json: { user: 'demo', password: 'demo' } },
      { kind: 'think', ms: 2000 },
      { kind: 'request', method: 'POST', path: '/api/bids', json: { amount: 10 }, name: 'place bid' },
      { kind: 'think', ms: 3000 },
      { kind: 'request', method: 'GET', path: '/api/health' },
    ]);
    expect(browse!.steps).toEqual([{ kind: 'request', method: 'GET', path: '/api/status' }]);
  });

  it('lets inputs override the file', () => {
    const c = resolve({ target: 'http://127.0.0.1:1234', phase: 'warmup' }, BID_FLOW);
    expect(c.target).toBe('http://127.0.0.1:1234');
    expect(c.phase.name).toBe('warmup');
  });
});

describe('resolveConfig: bad input names the field, the value and what is allowed', () => {
  const T = { target: 'http://127.0.0.1:8080' };
  it.each<[string, RawInputs, string | undefined, RegExp]>([
    ['missing target', {}, undefined, /input "target" is required/],
    [
      'invalid URL',
      { target: 'not a url' },
      undefined,
      /input "target": got "not a url"; expected an absolute http\(s\) URL/,
    ],
    [
      'wrong protocol',
      { target: 'ftp://example.com' },
      undefined,
      /input "target": got protocol "ftp:".*allowed: http, https/,
    ],
    [
      'unknown phase',
      { ...T, phase: 'soak' },
      undefined,
      /input "phase": got "soak"; allowed: warmup, sustained, stress, recovery/,
    ],
    [
      'unknown engine',
      { ...T, engine: 'jmeter' },
      undefined,
      /input "engine": got "jmeter"; allowed: builtin, artillery, k6, results/,
    ],
    ['k6 without a script', { ...T, engine: 'k6' }, undefined, /input "script" is required with engine "k6"/],
    [
      'missing script file',
      { ...T, engine: 'artillery', script: 'load.yml' },
      undefined,
      /input "script": file "load.yml" does not exist/,
    ],
    ['results without files', { engine: 'results' }, undefined, /input "results" is required with engine "results"/],
    [
      'bad distributed mode',
      { ...T, distributed: 'kubernetes' },
      undefined,
      /input "distributed": got "kubernetes"; allowed: none, artillery-fargate, artillery-lambda, k6-cloud/,
    ],
    [
      'distributed mode of another engine',
      { ...T, distributed: 'k6-cloud' },
      undefined,
      /"k6-cloud" needs engine "k6", but the engine is "builtin"/,
    ],
    ['bad count', { ...T, count: '0' }, undefined, /input "count": got "0"; expected a whole number/],
    ['negative rate', { ...T, rate: '-5' }, undefined, /input "rate": got "-5"; expected a positive arrival rate/],
    ['zero rate', { ...T, rate: '0' }, undefined, /input "rate": got "0"/],
    [
      'bad duration',
      { ...T, duration: 'forever' },
      undefined,
      /input "duration": got "forever"; expected a positive duration/,
    ],
    [
      'bad fail-on',
      { ...T, 'fail-on': 'sometimes' },
      undefined,
      /input "fail-on": got "sometimes"; allowed: any, target, regression, never/,
    ],
    ['bad comment', { ...T, comment: 'yes' }, undefined, /input "comment": got "yes"; allowed: auto, true, false/],
    [
      'unparsable target',
      { ...T, targets: 'p99 is fast' },
      undefined,
      /input "targets": cannot read target "p99 is fast"/,
    ],
    ['missing config file', { ...T, config: 'perf.yml' }, undefined, /input "config": file "perf.yml" does not exist/],
    ['malformed YAML', T, 'target: [unclosed', /\.github\/perf-gate\.yml: not valid YAML/],
    ['config not a mapping', T, '- a\n- b', /expected a mapping of settings.*got a list/],
    ['unknown key', T, 'targett: x', /\.github\/perf-gate\.yml: \(top level\): unknown key "targett"/],
    [
      'bad think time',
      T,
      'flows:\n  - name: f\n    steps:\n      - think: soon',
      /flows\[0\]\.steps\[0\]\.think: got "soon"; expected a duration/,
    ],
    [
      'misspelt step verb',
      T,
      'flows:\n  - name: f\n    steps:\n      - fetch: /x',
      /flows\[0\]\.steps\[0\]: got \{"fetch":"\/x"\}; a step needs one of: think, request, get, post/,
    ],
    [
      'bad stage rate',
      T,
      'phase: p\nphases:\n  p:\n    stages:\n      - { duration: 10s, rate: lots }',
      /phases\.p\.stages\[0\]\.rate: got "lots"/,
    ],
    ['bad max-in-flight', T, 'http:\n  max-in-flight: -1', /http\.max-in-flight: got -1/],
    ['bad target in file', T, 'targets: ["p99 < soon"]', /\.github\/perf-gate\.yml: targets: cannot read target/],
    [
      'bad phase from file',
      {},
      'target: http://127.0.0.1:1\nphase: nope',
      /\.github\/perf-gate\.yml: phase: got "nope"/,
    ],
  ])('%s', (_name, inputs, yaml, message) => {
    let error: unknown;
    try {
      resolve(inputs, yaml);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UserError);
    expect((error as Error).message).toMatch(message);
  });

  it('never prints a password from the target URL', () => {
    let message = '';
    try {
      resolve({ target: 'ftp://admin:hunter2@db.internal' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/ftp:/);
    expect(message).not.toMatch(/hunter2/);
  });
});

describe('units and redaction', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['2m', 120_000],
    ['1h30m', 5_400_000],
    ['1.5s', 1500],
    ['45', 45_000],
    ['2m 30s', 150_000],
  ])('parseDuration(%s)', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(['', 'abc', '5 parsecs', '-1s', 's'])('parseDuration(%j) is undefined', (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );

  it('moves URL credentials into a Basic Authorization header', () => {
    const c = resolve({ target: 'https://deploy:p%40ss@staging.example.com/app' });
    expect(c.target).toBe('https://staging.example.com/app');
    expect(c.http.headers.authorization).toBe(`Basic ${Buffer.from('deploy:p@ss').toString('base64')}`);
  });

  it('redacts credentials and token-like query values', () => {
    expect(redactUrl('https://user:s3cret@example.com/path?api_key=abc&page=2')).toBe(
      'https://example.com/path?api_key=***&page=2',
    );
    expect(redactUrl('https://u:p@staging.example.com')).toBe('https://staging.example.com');
    expect(redactUrl('user:pw@db:5432/app')).toBe('user:***@db:5432/app');
  });
});
