// Hostile input: values that would size the work past what a runner can do, names that are Object's own
// properties, secrets in every place a URL can come from. Each is refused before any load, in one line naming the
// input, and the CLI exits 2 without a stack trace.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig, type RawInputs } from '../src/config/load.js';
import { redactSecrets, secretsIn } from '../src/secrets.js';
import { evaluateTargets } from '../src/gate/evaluate.js';
import { metricValue } from '../src/gate/metrics.js';
import { parseTargets } from '../src/gate/targets.js';
import { runCli } from './helpers/run-action.js';
import { sampleRun } from './helpers/sample-run.js';
import { UserError } from '../src/errors.js';

function workspace(configYaml?: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'perf-gate-hostile-'));
  if (configYaml !== undefined) {
    mkdirSync(join(dir, '.github'), { recursive: true });
    writeFileSync(join(dir, '.github', 'perf-gate.yml'), configYaml);
  }
  return dir;
}

function errorOf(inputs: RawInputs, yaml?: string): string {
  try {
    resolveConfig(inputs, { workspace: workspace(yaml) });
  } catch (e) {
    expect(e).toBeInstanceOf(UserError);
    return (e as Error).message;
  }
  throw new Error('accepted');
}

const T = { target: 'http://127.0.0.1:8080' };

describe('bounds on every input that sizes work', () => {
  it.each([
    [
      'rate in digits',
      { ...T, rate: '1000000000' },
      undefined,
      /^input "rate": got "1000000000"; the highest rate allowed is 100,000 arrivals\/s$/,
    ],
    ['rate above the limit', { ...T, rate: '100001' }, undefined, /^input "rate": got "100001"/],
    [
      'duration of 999999h',
      { ...T, duration: '999999h' },
      undefined,
      /^input "duration": got "999999h"; the longest phase allowed is 24h$/,
    ],
    [
      'duration-scale that makes a day and more',
      { ...T, phase: 'sustained', 'duration-scale': '25' },
      undefined,
      /^input "duration-scale": the phase would run for 25h; the longest phase allowed is 24h$/,
    ],
    [
      'duration-scale past its own limit',
      { ...T, 'duration-scale': '1e9' },
      undefined,
      /^input "duration-scale": got "1e9"; expected a positive factor up to 1000/,
    ],
    ['count of generators', T, 'count: 5000', /^\.github\/perf-gate\.yml: count: got 5000; /],
    [
      'http.timeout of 0s',
      T,
      'http:\n  timeout: 0s',
      /^\.github\/perf-gate\.yml: http\.timeout: got 0; 0ms is outside the allowed range: from 10ms to 10m$/,
    ],
    [
      'http.timeout of a day',
      T,
      'http:\n  timeout: 24h',
      /http\.timeout: .*outside the allowed range: from 10ms to 10m/,
    ],
    ['max-in-flight', T, 'http:\n  max-in-flight: 1000000', /http\.max-in-flight: got 1000000; .*10000/],
    [
      'a stage rate of a custom phase',
      T,
      'phase: p\nphases:\n  p:\n    stages:\n      - { duration: 3s, rate: 1e9 }',
      /phases\.p\.stages\[0\]\.rate: .*over the limit of 100,000\/s/,
    ],
    [
      'a custom phase over a day',
      T,
      'phase: p\nphases:\n  p:\n    stages:\n      - { duration: 20h, rate: 1 }\n      - { duration: 20h, rate: 1 }',
      /^phase "p": the phase would run for 40h; the longest phase allowed is 24h$/,
    ],
    [
      'a think time of an hour',
      T,
      'flows:\n  - name: f\n    steps:\n      - get: /\n      - think: 1h',
      /flows\[0\]\.steps\[1\]\.think: .*at most 10m/,
    ],
    [
      'an interval that cuts the phase too fine',
      { ...T, phase: 'sustained' },
      'interval: 100ms\nduration-scale: 24',
      /interval: 100ms cuts a 24h phase into more than 100,000 intervals/,
    ],
  ])('%s', (_name, inputs, yaml, message) => {
    expect(errorOf(inputs as RawInputs, yaml)).toMatch(message);
  });

  it('refuses a config file over 1 MiB without parsing it', () => {
    const big = `target: http://127.0.0.1:8080\n# ${'x'.repeat(2 * 1024 * 1024)}\n`;
    const started = performance.now();
    expect(errorOf({}, big)).toMatch(
      /^input "config": "\.github\/perf-gate\.yml" is 2,097,\d+ bytes; the largest config file allowed is 1,048,576 bytes \(1 MiB\)$/,
    );
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('accepts the limits themselves', () => {
    const c = resolveConfig(
      { ...T, rate: '100000', duration: '24h' },
      { workspace: workspace('http:\n  timeout: 10m\n  max-in-flight: 10000') },
    );
    expect(c.rate).toBe(100_000);
    expect(c.http.timeoutMs).toBe(600_000);
  });
});

describe('own-key lookups', () => {
  it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])(
    'phase "%s" is an unknown phase, not a crash',
    (name) => {
      expect(errorOf({ ...T, phase: name })).toBe(
        `input "phase": got "${name}"; allowed: warmup, sustained, stress, recovery`,
      );
    },
  );

  it('a custom phase named like an Object property works as a phase', () => {
    const c = resolveConfig(
      { ...T, phase: 'constructor' },
      { workspace: workspace('phases:\n  constructor:\n    stages:\n      - { duration: 2s, rate: 1 }') },
    );
    expect(c.phase.name).toBe('constructor');
    expect(c.phase.stages).toHaveLength(1);
  });

  it.each(['constructor', 'toString', '__proto__', 'constructor.name', 'hasOwnProperty.p95'])(
    'a target on metric "%s" is not measured, not a crash',
    (metric) => {
      const run = sampleRun();
      expect(metricValue(run, metric)).toBeUndefined();
      const [result] = evaluateTargets(run, parseTargets([`${metric} < 5`], 'test'));
      expect(result?.status).not.toBe('pass');
      expect(result?.actual).toBeUndefined();
    },
  );

  it('a regression rule for metric "constructor" is an unknown metric', () => {
    expect(errorOf({ ...T, baseline: 'file:h.json', 'regression-rules': 'constructor: +10%' })).toMatch(
      /unknown metric "constructor"/,
    );
  });
});

describe('secrets in error messages', () => {
  it('never prints the password of a scheme-less target user:pw@host:port', () => {
    const message = errorOf({ target: 'user:s3cretPW@host:8080' });
    expect(message).toMatch(/^input "target"/);
    expect(message).not.toContain('s3cretPW');
  });

  it.each([
    [
      'a Prometheus URL',
      'sources:\n  - kind: prometheus\n    url: http://admin:pr0mPW@prom:9090\n    metrics:\n      - preset: node-cpu',
    ],
    ['a PostgreSQL URL', 'sources:\n  - kind: postgres\n    url: postgres://app:dbPW99@db:5432/shop'],
    [
      'a malformed Prometheus URL',
      'sources:\n  - kind: prometheus\n    url: "admin:pr0mPW@prom 9090"\n    metrics:\n      - preset: node-cpu',
    ],
    ['a flow step URL', 'flows:\n  - name: f\n    steps:\n      - fetch: /x?api_key=k3yV4lue'],
  ])('never prints a password from %s in the config', (_name, yaml) => {
    const message = errorOf(T, yaml);
    expect(message).not.toMatch(/pr0mPW|dbPW99|k3yV4lue/);
    expect(message).toMatch(/^\.github\/perf-gate\.yml: (sources\[0\]\.url|flows\[0\]\.steps\[0\]): /);
  });

  it('finds and redacts passwords and token-like query values wherever the text came from', () => {
    const text = 'GET http://u:p4ss@h/x?api_key=k3y99&access_token=t0k3n&page=2 and postgres://app:dbPW@db:5432/x';
    expect(redactSecrets(text)).toBe(
      'GET http://u:***@h/x?api_key=***&access_token=***&page=2 and postgres://app:***@db:5432/x',
    );
    expect(secretsIn(text).sort()).toEqual(['dbPW', 'k3y99', 'p4ss', 't0k3n']);
  });
});

describe('checked before the load', () => {
  async function cliAgainstCounter(
    args: (url: string, cwd: string) => string[],
  ): Promise<{ code: number; stderr: string; hits: number }> {
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.end('ok');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const cwd = workspace();
    try {
      const { code, stderr } = await runCli(args(url, cwd), cwd);
      return { code, stderr, hits };
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }

  it('an output-dir that is an existing regular file is an error before any request', async () => {
    const r = await cliAgainstCounter((url, cwd) => {
      writeFileSync(join(cwd, 'results'), 'not a directory');
      return ['run', '--target', url, '--duration', '2s', '--rate', '20', '--output-dir', 'results'];
    });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(
      /^error: input "output-dir": cannot write the results to ".*\/results": it \(or a folder on its path\) is an existing file, not a directory$/m,
    );
    expect(r.hits).toBe(0);
  });

  it('a history file that cannot be written is an error before any request when the run is to be recorded', async () => {
    const r = await cliAgainstCounter((url, cwd) => {
      writeFileSync(join(cwd, 'blocker'), 'a file where a folder should be');
      return [
        'run',
        '--target',
        url,
        '--duration',
        '2s',
        '--rate',
        '20',
        '--baseline',
        'file:blocker/h.json',
        '--record',
      ];
    });
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toMatch(
      /^error: baseline file:blocker\/h\.json: blocker\/h\.json cannot be written: a file stands where its folder should be \(checked before sending any load\)$/m,
    );
    expect(r.hits).toBe(0);
  });
});

describe('the CLI on hostile input', () => {
  const cli = (args: string[], cwd = workspace()) => runCli(args, cwd);

  it.each(['__proto__', 'constructor', 'toString'])('exits 2 with one line for --phase %s', async (name) => {
    const r = await cli(['run', '--target', 'http://127.0.0.1:9', '--phase', name]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(`error: input "phase": got "${name}"; allowed: warmup, sustained, stress, recovery`);
  });

  it('exits 2 for --rate 1000000000 and prints no password of a scheme-less target', async () => {
    const rate = await cli(['run', '--target', 'http://127.0.0.1:9', '--rate', '1000000000', '--duration', '3s']);
    expect(rate.code).toBe(2);
    expect(rate.stderr.trim().split('\n')).toHaveLength(1);
    const pw = await cli(['run', '--target', 'user:s3cretPW@host:8080']);
    expect(pw.code).toBe(2);
    expect(pw.stderr).not.toContain('s3cretPW');
    expect(pw.stderr).not.toMatch(/\n\s+at /);
  });
});
