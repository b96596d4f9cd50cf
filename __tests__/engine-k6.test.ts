// The k6 engine through a stand-in k6 executable (no k6 binary can be installed where these tests run): the
// stand-in records its command line and copies genuine k6 output files (fixtures/k6/) to where k6 would write
// them, so what is tested is the command perf-gate builds, its exit-code handling and how it reads the files.
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../src/config/types.js';
import {
  k6Engine,
  toK6Scenarios,
  buildK6Args,
  classifyK6Exit,
  scriptSetsLoadShape,
  k6Duration,
  K6_MISSING_HINT,
} from '../src/engines/k6/index.js';
import { readResultFile } from '../src/readers/index.js';
import type { Stage } from '../src/model.js';
import { PRESETS } from '../src/phases/presets.js';
import { UserError } from '../src/errors.js';
import type { Logger } from '../src/log.js';

const here = dirname(fileURLToPath(import.meta.url));
const STAND_INS = join(here, 'fixtures', 'stand-ins');
const K6_FIXTURES = join(here, 'fixtures', 'k6');
const NDJSON = join(K6_FIXTURES, 'ndjson-wildananugrah-springlearning.ndjson');
const SUMMARY_PASS = join(K6_FIXTURES, 'export-tiagonline-kitqa-groups.json');
// A real run in which k6 crossed `http_req_failed: rate<0.1` (exit code 99 in k6).
const SUMMARY_CROSSED = join(K6_FIXTURES, 'export-sirhcc-apiratelimiter-degenerate.json');

const STANDIN_VARS = [
  'K6_STANDIN_CALLS',
  'K6_STANDIN_SUMMARY',
  'K6_STANDIN_NDJSON',
  'K6_STANDIN_STDERR',
  'K6_STANDIN_EXIT',
];
let savedPath: string | undefined;
let workspace: string;
let calls: string;

beforeAll(() => {
  chmodSync(join(STAND_INS, 'k6'), 0o755);
});

beforeEach(() => {
  savedPath = process.env.PATH;
  // The stand-in first; the Node running the tests next, for its `#!/usr/bin/env node` line.
  process.env.PATH = [STAND_INS, dirname(process.execPath), savedPath].join(delimiter);
  workspace = mkdtempSync(join(tmpdir(), 'perf-gate-k6-'));
  calls = join(workspace, 'calls.ndjson');
  process.env.K6_STANDIN_CALLS = calls;
});

afterEach(() => {
  process.env.PATH = savedPath;
  for (const v of STANDIN_VARS) delete process.env[v];
  rmSync(workspace, { recursive: true, force: true });
});

afterAll(() => {
  for (const v of STANDIN_VARS) delete process.env[v];
});

interface Call {
  argv: string[];
  env: Record<string, string | undefined>;
  config?: { scenarios?: Record<string, unknown>; cloud?: unknown };
}

function recordedCalls(): Call[] {
  if (!existsSync(calls)) return [];
  return readFileSync(calls, 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Call);
}

function runCall(): Call {
  const c = recordedCalls().find((x) => x.argv[0] !== 'version');
  if (!c) throw new Error('k6 was not run');
  return c;
}

function memLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warning: (m) => lines.push(`warning: ${m}`), debug: () => {} };
}

const SIMPLE_SCRIPT = `import http from 'k6/http';
export default function () { http.get(__ENV.TARGET_URL + '/api/health'); }
`;

function makeConfig(over: Partial<Config> = {}, script = SIMPLE_SCRIPT): Config {
  const scriptPath = join(workspace, 'load.js');
  writeFileSync(scriptPath, script);
  const stages: Stage[] = [{ durationMs: 10_000, startRate: 5, endRate: 5 }];
  return {
    target: 'https://staging.example.com',
    phase: { name: 'smoke', stages, defaultTargets: [], description: '' },
    engine: 'k6',
    targets: [],
    failOn: 'any',
    comment: 'false',
    commentHeader: 'test',
    outputDir: join(workspace, 'perf-gate-results'),
    flows: [],
    http: {
      timeoutMs: 5000,
      maxInFlight: 300,
      count4xxAsErrors: false,
      headers: { Authorization: 'Bearer k6-secret' },
    },
    intervalMs: 10_000,
    script: scriptPath,
    workspace,
    distributed: { mode: 'none' },
    sources: [],
    ...over,
  };
}

const STAGES: Stage[] = [{ durationMs: 10_000, startRate: 5, endRate: 5 }];

// ---------------------------------------------------------------------------------------------------------
// k6's scenario schema as documented (k6 docs "Scenarios" / executors; k6 reads the JSON strictly, so unknown
// keys are errors): what the generated options file must satisfy.

const GO_DURATION = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const BASE_KEYS = ['executor', 'startTime', 'gracefulStop', 'env', 'exec', 'tags', 'options'];
const EXECUTOR_KEYS: Record<string, { required: string[]; optional: string[] }> = {
  'constant-arrival-rate': { required: ['rate', 'timeUnit', 'duration', 'preAllocatedVUs'], optional: ['maxVUs'] },
  'ramping-arrival-rate': { required: ['startRate', 'timeUnit', 'preAllocatedVUs', 'stages'], optional: ['maxVUs'] },
  'shared-iterations': { required: [], optional: ['vus', 'iterations', 'maxDuration'] },
  'per-vu-iterations': { required: [], optional: ['vus', 'iterations', 'maxDuration'] },
  'constant-vus': { required: ['duration'], optional: ['vus'] },
  'ramping-vus': { required: ['stages'], optional: ['startVUs', 'gracefulRampDown'] },
  'externally-controlled': { required: ['duration'], optional: ['vus', 'maxVUs'] },
};

function goDurationMs(s: string): number {
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let ms = 0;
  for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) ms += Number(m[1]) * units[m[2]!]!;
  return ms;
}

function scenarioProblems(scenarios: Record<string, unknown>): string[] {
  const problems: string[] = [];
  const isInt = (v: unknown, min = 0) => typeof v === 'number' && Number.isInteger(v) && v >= min;
  for (const [name, raw] of Object.entries(scenarios)) {
    if (!/^[0-9A-Za-z_-]+$/.test(name)) problems.push(`${name}: invalid scenario name`);
    const s = raw as Record<string, unknown>;
    const spec = EXECUTOR_KEYS[String(s.executor)];
    if (!spec) {
      problems.push(`${name}: unknown executor ${String(s.executor)}`);
      continue;
    }
    for (const k of spec.required) if (s[k] === undefined) problems.push(`${name}: ${k} is required`);
    for (const k of Object.keys(s)) {
      if (![...BASE_KEYS, ...spec.required, ...spec.optional].includes(k)) problems.push(`${name}: unknown key ${k}`);
    }
    if (
      s.timeUnit !== undefined &&
      (typeof s.timeUnit !== 'string' || !GO_DURATION.test(s.timeUnit) || goDurationMs(s.timeUnit) <= 0)
    ) {
      problems.push(`${name}: timeUnit must be a positive duration`);
    }
    if (s.preAllocatedVUs !== undefined && !isInt(s.preAllocatedVUs))
      problems.push(`${name}: preAllocatedVUs must be a whole number`);
    if (s.maxVUs !== undefined && (!isInt(s.maxVUs) || (s.maxVUs as number) < (s.preAllocatedVUs as number))) {
      problems.push(`${name}: maxVUs must be a whole number, at least preAllocatedVUs`);
    }
    if (s.executor === 'constant-arrival-rate') {
      if (!isInt(s.rate, 1)) problems.push(`${name}: rate must be a whole number above 0`);
      if (typeof s.duration !== 'string' || !GO_DURATION.test(s.duration) || goDurationMs(s.duration) < 1000) {
        problems.push(`${name}: duration must be a duration of at least 1s`);
      }
    }
    if (s.executor === 'ramping-arrival-rate') {
      if (!isInt(s.startRate)) problems.push(`${name}: startRate must be a whole number`);
      const st = s.stages as Array<Record<string, unknown>>;
      if (!Array.isArray(st) || st.length === 0) problems.push(`${name}: stages must be a non-empty list`);
      else {
        for (const [i, x] of st.entries()) {
          if (!isInt(x.target)) problems.push(`${name}: stages[${i}].target must be a whole number`);
          if (typeof x.duration !== 'string' || !GO_DURATION.test(x.duration))
            problems.push(`${name}: stages[${i}].duration must be a duration`);
          for (const k of Object.keys(x))
            if (k !== 'target' && k !== 'duration') problems.push(`${name}: stages[${i}] unknown key ${k}`);
        }
        if (st.reduce((n, x) => n + goDurationMs(String(x.duration)), 0) <= 0)
          problems.push(`${name}: stages last no time`);
      }
    }
  }
  return problems;
}

describe('toK6Scenarios', () => {
  it('a constant phase becomes one constant-arrival-rate scenario', () => {
    const s = toK6Scenarios([{ durationMs: 90_000, startRate: 20, endRate: 20 }], { maxVUs: 500 });
    expect(s).toEqual({
      perf_gate: {
        executor: 'constant-arrival-rate',
        rate: 20,
        timeUnit: '1s',
        duration: '90s',
        preAllocatedVUs: 20,
        maxVUs: 500,
      },
    });
    expect(scenarioProblems(s)).toEqual([]);
  });

  it('ramps and jumps become a ramping-arrival-rate scenario with zero-length jump stages', () => {
    const s = toK6Scenarios([
      { durationMs: 30_000, startRate: 1, endRate: 10 },
      { durationMs: 90_000, startRate: 10, endRate: 10 },
      { durationMs: 15_500, startRate: 50, endRate: 0 },
    ]);
    expect(s.perf_gate).toEqual({
      executor: 'ramping-arrival-rate',
      startRate: 1,
      timeUnit: '1s',
      preAllocatedVUs: 50,
      maxVUs: 1000,
      stages: [
        { target: 10, duration: '30s' },
        { target: 10, duration: '90s' },
        { target: 50, duration: '0s' },
        { target: 0, duration: '15500ms' },
      ],
    });
    expect(scenarioProblems(s)).toEqual([]);
  });

  it('every preset, also scaled to odd durations and fractional rates, passes the schema', () => {
    for (const preset of Object.values(PRESETS)) {
      expect(scenarioProblems(toK6Scenarios(preset.stages))).toEqual([]);
      const odd = preset.stages.map((st) => ({
        ...st,
        durationMs: st.durationMs / 7,
        startRate: st.startRate / 3,
        endRate: st.endRate / 3,
      }));
      expect(scenarioProblems(toK6Scenarios(odd))).toEqual([]);
    }
  });

  it('fractional rates use a longer timeUnit so the rates stay whole numbers', () => {
    const s = toK6Scenarios([{ durationMs: 60_000, startRate: 0.5, endRate: 2.5 }]);
    expect(s.perf_gate).toMatchObject({
      executor: 'ramping-arrival-rate',
      timeUnit: '10s',
      startRate: 5,
      stages: [{ target: 25, duration: '60s' }],
    });
    expect(scenarioProblems(s)).toEqual([]);
  });

  it('caps preallocated VUs at 100 and never above maxVUs', () => {
    expect(toK6Scenarios([{ durationMs: 5000, startRate: 500, endRate: 500 }]).perf_gate).toMatchObject({
      preAllocatedVUs: 100,
      maxVUs: 1000,
    });
    expect(toK6Scenarios([{ durationMs: 5000, startRate: 500, endRate: 500 }], { maxVUs: 10 }).perf_gate).toMatchObject(
      { preAllocatedVUs: 10, maxVUs: 10 },
    );
  });

  it('a constant phase under one second uses the ramping executor (k6 needs 1s for constant-arrival-rate)', () => {
    const s = toK6Scenarios([{ durationMs: 500, startRate: 4, endRate: 4 }]);
    expect(s.perf_gate!.executor).toBe('ramping-arrival-rate');
    expect(scenarioProblems(s)).toEqual([]);
  });

  it('rejects phases with no load', () => {
    expect(() => toK6Scenarios([{ durationMs: 0, startRate: 5, endRate: 5 }])).toThrow(UserError);
    expect(() => toK6Scenarios([{ durationMs: 1000, startRate: 0, endRate: 0 }])).toThrow(UserError);
  });

  it('the schema check itself catches what k6 would reject', () => {
    expect(
      scenarioProblems({
        a: { executor: 'constant-arrival-rate', rate: 2.5, timeUnit: '1s', duration: '10s', preAllocatedVUs: 1 },
      }),
    ).toHaveLength(1);
    expect(
      scenarioProblems({ a: { executor: 'ramping-arrival-rate', timeUnit: '1s', preAllocatedVUs: 1, stages: [] } }),
    ).toEqual(expect.arrayContaining(['a: startRate is required', 'a: stages must be a non-empty list']));
    expect(scenarioProblems({ 'a b': { executor: 'constant-arrival', rate: 1 } })).toHaveLength(2);
  });
});

describe('k6 command lines and helpers', () => {
  it('local run: summary export, NDJSON points, config, target variables, script last', () => {
    expect(
      buildK6Args({
        cloud: false,
        script: '/w/load.js',
        target: 'https://t.example',
        summaryExport: '/o/s.json',
        ndjson: '/o/p.ndjson',
        configFile: '/o/c.json',
      }),
    ).toEqual([
      'run',
      '--summary-export',
      '/o/s.json',
      '--out',
      'json=/o/p.ndjson',
      '--config',
      '/o/c.json',
      '-e',
      'TARGET_URL=https://t.example',
      '-e',
      'BASE_URL=https://t.example',
      '/w/load.js',
    ]);
  });

  it('k6 Cloud: `k6 cloud run` without local output flags, variables passed with -e', () => {
    expect(
      buildK6Args({
        cloud: true,
        script: '/w/load.js',
        target: 'https://t.example',
        summaryExport: '/o/s.json',
        ndjson: '/o/p.ndjson',
        env: { PERF_GATE_HEADERS: '{}' },
      }),
    ).toEqual([
      'cloud',
      'run',
      '-e',
      'TARGET_URL=https://t.example',
      '-e',
      'BASE_URL=https://t.example',
      '-e',
      'PERF_GATE_HEADERS={}',
      '/w/load.js',
    ]);
  });

  it('exit codes: 0 and 99 are results, aborts are partial results, the rest are errors', () => {
    expect([0, 99].map(classifyK6Exit)).toEqual(['result', 'result']);
    expect([103, 105, 108].map(classifyK6Exit)).toEqual(['partial', 'partial', 'partial']);
    expect([1, 97, 98, 100, 101, 104, 107, 109, 255, null].map(classifyK6Exit)).toEqual(Array(10).fill('error'));
  });

  it('recognises scripts that set their own load shape', () => {
    expect(scriptSetsLoadShape(SIMPLE_SCRIPT)).toBe(false);
    expect(scriptSetsLoadShape(`export const options = { thresholds: { http_req_failed: ['rate<0.01'] } };`)).toBe(
      false,
    );
    expect(scriptSetsLoadShape(`export const options = {\n  vus: 10,\n  duration: '30s',\n};`)).toBe(true);
    expect(scriptSetsLoadShape(`export let options = { scenarios: { a: { executor: 'constant-vus' } } };`)).toBe(true);
    expect(scriptSetsLoadShape(`const options = { stages: [] };\nexport { options };`)).toBe(true);
    expect(scriptSetsLoadShape(`// export const options = { vus: 10 };\nexport default function () {}`)).toBe(false);
    expect(k6Duration(90_000)).toBe('90s');
    expect(k6Duration(1500)).toBe('1500ms');
  });
});

describe('k6 engine with the stand-in k6', () => {
  it('exit 0: metrics from the NDJSON points, threshold verdicts from the summary export', async () => {
    process.env.K6_STANDIN_SUMMARY = SUMMARY_PASS;
    process.env.K6_STANDIN_NDJSON = NDJSON;
    const log = memLog();
    const config = makeConfig();
    const run = await k6Engine.run({ config, stages: STAGES, log });

    const call = runCall();
    const out = config.outputDir;
    expect(call.argv).toEqual([
      'run',
      '--summary-export',
      join(out, 'k6-summary.json'),
      '--out',
      `json=${join(out, 'k6-points.ndjson')}`,
      '--config',
      join(out, 'k6-options.json'),
      '-e',
      'TARGET_URL=https://staging.example.com',
      '-e',
      'BASE_URL=https://staging.example.com',
      config.script,
    ]);
    // Headers reach the script through the environment, not the (visible) command line.
    expect(JSON.parse(call.env.PERF_GATE_HEADERS!)).toEqual({ Authorization: 'Bearer k6-secret' });
    expect(call.env.NO_COLOR).toBe('1');
    expect(call.argv.join(' ')).not.toContain('k6-secret');
    expect(call.config).toEqual({ scenarios: toK6Scenarios(STAGES, { maxVUs: 300 }) });
    expect(scenarioProblems(call.config!.scenarios!)).toEqual([]);

    const points = await readResultFile(NDJSON, { phase: 'smoke', count4xxAsErrors: false });
    const summary = await readResultFile(SUMMARY_PASS, { phase: 'smoke', count4xxAsErrors: false });
    expect(run.engine).toBe('k6');
    expect(run.tool).toEqual({ name: 'k6', version: '1.4.2' });
    expect(run.phase).toBe('smoke');
    expect(run.target).toBe('https://staging.example.com');
    expect(run.requests).toBe(points.requests);
    expect(run.requests).toBeGreaterThan(0);
    expect(run.latency).toEqual(points.latency);
    expect(run.latency.p99).toBeDefined();
    expect(run.intervals.length).toBeGreaterThan(0);
    expect(run.toolThresholds).toEqual(summary.toolThresholds);
    expect(run.toolThresholds.length).toBeGreaterThan(0);
    expect(run.notes.join(' ')).not.toMatch(/evaluated by perf-gate/);
    expect(run.sourceFiles).toEqual(['perf-gate-results/k6-points.ndjson', 'perf-gate-results/k6-summary.json']);
    expect(log.lines.some((l) => l.startsWith('[k6] running (00m01.0s)'))).toBe(true);
    // The logged command line hides the header values.
    expect(log.lines.join('\n')).not.toContain('k6-secret');
  });

  it('exit 99 (thresholds crossed) is a result whose tool thresholds fail, not a crash', async () => {
    process.env.K6_STANDIN_SUMMARY = SUMMARY_CROSSED;
    process.env.K6_STANDIN_NDJSON = NDJSON;
    process.env.K6_STANDIN_EXIT = '99';
    process.env.K6_STANDIN_STDERR = 'level=error msg="thresholds on metrics \'http_req_failed\' have been crossed"';
    const run = await k6Engine.run({ config: makeConfig(), stages: STAGES, log: memLog() });
    expect(run.requests).toBeGreaterThan(0);
    expect(run.toolThresholds).toContainEqual({ metric: 'http_req_failed', expression: 'rate<0.1', ok: false });
    expect(run.generator.valid).toBe(true);
  });

  it('exit 99 with only the points file: perf-gate evaluates the thresholds and says so', async () => {
    process.env.K6_STANDIN_NDJSON = NDJSON;
    process.env.K6_STANDIN_EXIT = '99';
    const run = await k6Engine.run({ config: makeConfig(), stages: STAGES, log: memLog() });
    expect(run.sourceFiles).toEqual(['perf-gate-results/k6-points.ndjson']);
    expect(run.notes[0]).toMatch(/no summary export: the k6 thresholds shown were evaluated by perf-gate/);
    expect(run.toolThresholds.some((t) => !t.ok)).toBe(true);
  });

  it('without the points file the summary export stands in, with a note', async () => {
    process.env.K6_STANDIN_SUMMARY = SUMMARY_PASS;
    const run = await k6Engine.run({ config: makeConfig(), stages: STAGES, log: memLog() });
    expect(run.engine).toBe('k6');
    expect(run.sourceFiles).toEqual(['perf-gate-results/k6-summary.json']);
    expect(run.requests).toBeGreaterThan(0);
    expect(run.notes[0]).toMatch(/no points file: the figures come from k6's summary export/);
  });

  it("a script exception (exit 107) is an engine error carrying k6's stderr", async () => {
    process.env.K6_STANDIN_EXIT = '107';
    process.env.K6_STANDIN_STDERR = 'ReferenceError: helper is not defined\n\tat default (file:///w/load.js:3:5(4))';
    const err = await k6Engine.run({ config: makeConfig(), stages: STAGES, log: memLog() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(/exited with code 107 \(the script threw an exception\)/);
    expect((err as Error).message).toContain('ReferenceError: helper is not defined');
  });

  it('k6 killed by a signal is an engine error', async () => {
    process.env.K6_STANDIN_EXIT = 'SIGKILL';
    await expect(k6Engine.run({ config: makeConfig(), stages: STAGES, log: memLog() })).rejects.toThrow(
      /ended by SIGKILL/,
    );
  });

  it('test.abort() (exit 108) keeps the measurements but marks the run invalid', async () => {
    process.env.K6_STANDIN_SUMMARY = SUMMARY_PASS;
    process.env.K6_STANDIN_NDJSON = NDJSON;
    process.env.K6_STANDIN_EXIT = '108';
    const run = await k6Engine.run({ config: makeConfig(), stages: STAGES, log: memLog() });
    expect(run.requests).toBeGreaterThan(0);
    expect(run.generator.valid).toBe(false);
    expect(run.generator.invalidReasons.join(' ')).toMatch(/test\.abort\(\)/);
  });

  it('exit 0 without any output file is an engine error', async () => {
    await expect(k6Engine.run({ config: makeConfig(), stages: STAGES, log: memLog() })).rejects.toThrow(
      /wrote neither k6-summary.json nor k6-points.ndjson/,
    );
  });

  it("files of an earlier run are never read as this run's", async () => {
    const config = makeConfig();
    process.env.K6_STANDIN_SUMMARY = SUMMARY_PASS;
    process.env.K6_STANDIN_NDJSON = NDJSON;
    await k6Engine.run({ config, stages: STAGES, log: memLog() });
    delete process.env.K6_STANDIN_SUMMARY;
    delete process.env.K6_STANDIN_NDJSON;
    process.env.K6_STANDIN_EXIT = '107';
    await expect(k6Engine.run({ config, stages: STAGES, log: memLog() })).rejects.toThrow(/code 107/);
    expect(existsSync(join(config.outputDir, 'k6-summary.json'))).toBe(false);
  });

  it('k6 missing from PATH is a user error with the setup-k6-action hint', async () => {
    process.env.PATH = dirname(process.execPath);
    const err = await k6Engine.run({ config: makeConfig(), stages: STAGES, log: memLog() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toBe(K6_MISSING_HINT);
    expect((err as Error).message).toContain('grafana/setup-k6-action');
  });

  it('a script with its own load shape runs as written: no --config', async () => {
    process.env.K6_STANDIN_SUMMARY = SUMMARY_PASS;
    process.env.K6_STANDIN_NDJSON = NDJSON;
    const script = `import http from 'k6/http';\nexport const options = { vus: 5, duration: '10s' };\nexport default function () { http.get(__ENV.BASE_URL); }\n`;
    const log = memLog();
    const config = makeConfig({ durationMs: 5000 }, script);
    const run = await k6Engine.run({ config, stages: STAGES, log });
    expect(runCall().argv).not.toContain('--config');
    expect(existsSync(join(config.outputDir, 'k6-options.json'))).toBe(false);
    expect(run.notes[0]).toMatch(/the k6 script's own options/);
    expect(log.lines.some((l) => l.startsWith('warning: duration, duration-scale and rate do not apply'))).toBe(true);
    // The line that opens the run states it (the pipeline prints what describeShape says instead of perf-gate's shape).
    expect(await k6Engine.describeShape!({ config, stages: STAGES })).toBe(
      "the k6 script's own load shape (its options), unchanged: duration does not apply to it",
    );
  });

  it('k6 Cloud: `k6 cloud run`, load zone in the options file, the cloud verdict as a tool threshold', async () => {
    process.env.K6_STANDIN_EXIT = '97';
    const config = makeConfig({ distributed: { mode: 'k6-cloud', region: 'amazon:de:frankfurt', count: 4 } });
    const log = memLog();
    const run = await k6Engine.run({ config, stages: STAGES, log });
    const call = runCall();
    expect(call.argv).toEqual([
      'cloud',
      'run',
      '--config',
      join(config.outputDir, 'k6-options.json'),
      '-e',
      'TARGET_URL=https://staging.example.com',
      '-e',
      'BASE_URL=https://staging.example.com',
      '-e',
      'PERF_GATE_HEADERS={"Authorization":"Bearer k6-secret"}',
      config.script,
    ]);
    expect(call.config).toEqual({
      scenarios: toK6Scenarios(STAGES, { maxVUs: 300 }),
      cloud: { distribution: { perf_gate: { loadZone: 'amazon:de:frankfurt', percent: 100 } } },
    });
    expect(log.lines.join('\n')).not.toContain('k6-secret');
    expect(log.lines.some((l) => l.startsWith('warning: count does not apply'))).toBe(true);
    expect(run.engine).toBe('k6');
    expect(run.requests).toBe(0);
    expect(run.toolThresholds).toEqual([
      { metric: 'k6 cloud', expression: 'cloud test run result (k6 Cloud thresholds)', ok: false },
    ]);
    expect(run.notes[0]).toContain('https://stand-in.grafana.net/a/k6-app/runs/4242');
  });

  it('k6 Cloud: an AWS region name instead of a load zone is a user error', async () => {
    const config = makeConfig({ distributed: { mode: 'k6-cloud', region: 'us-east-1' } });
    await expect(k6Engine.run({ config, stages: STAGES, log: memLog() })).rejects.toThrow(
      /load zones are named like amazon:us:ashburn/,
    );
  });
});
