// The Artillery engine. Three layers:
// - pure functions (phase translation and choice, command lines, ensure parsing);
// - the engine around a stand-in `artillery` package (fixtures/stand-ins/artillery), for the distributed command
//   lines that need AWS and for exit-code handling;
// - two runs of the real Artillery against demo/server.ts on 127.0.0.1. The first one installs Artillery through
//   the engine's own on-demand install into the tool cache (about 40 s and 470 MB, once per machine); later runs
//   reuse the cache. Kept to two short runs: CI time is scarce.
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startDemoServer } from '../demo/server.ts';
import type { Config } from '../src/config/types.js';
import {
  ARTILLERY_VERSION,
  artilleryCacheDir,
  artilleryEngine,
  buildArtilleryArgs,
  choosePhases,
  EnsureCollector,
  fromArtilleryPhases,
  toArtilleryPhases,
} from '../src/engines/artillery/index.js';
import { consoleReport, ConsolePeriodReader, type ConsolePeriod } from '../src/engines/artillery/periods.js';
import { artilleryV2Reader, periodInterval } from '../src/readers/artillery-v2.js';
import { readResultFile } from '../src/readers/index.js';
import { decide } from '../src/gate/evaluate.js';
import { parseTargets } from '../src/gate/targets.js';
import type { Stage } from '../src/model.js';
import { parseGuards } from '../src/phases/guards.js';
import { PRESETS } from '../src/phases/presets.js';
import { watchGuards } from '../src/phases/run.js';
import { UserError } from '../src/errors.js';
import type { Logger } from '../src/log.js';

const here = dirname(fileURLToPath(import.meta.url));
const OWN = join(here, 'fixtures', 'artillery-own');
const SCRIPT = join(OWN, 'demo-health-500.yml');
// Genuine report of our own Artillery 2.0.34 run of SCRIPT (see fixtures/SOURCES.md).
const OWN_REPORT = join(OWN, 'v2-2.0.34-demo-health-500.json');
const STAND_IN = join(here, 'fixtures', 'stand-ins', 'artillery');

function memLog(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(m), warning: (m) => lines.push(`warning: ${m}`), debug: () => {} };
}

const constant = (durationMs: number, rate: number): Stage => ({ durationMs, startRate: rate, endRate: rate });

function makeConfig(workspace: string, over: Partial<Config> = {}): Config {
  return {
    target: 'http://127.0.0.1:9',
    phase: PRESETS.warmup,
    engine: 'artillery',
    targets: [],
    failOn: 'any',
    comment: 'false',
    commentHeader: 'test',
    outputDir: join(workspace, 'out'),
    flows: [],
    http: { timeoutMs: 5000, maxInFlight: 100, count4xxAsErrors: false, headers: {} },
    intervalMs: 10_000,
    script: SCRIPT,
    workspace,
    distributed: { mode: 'none' },
    sources: [],
    ...over,
  };
}

describe('Artillery phases', () => {
  it('translates stages into arrivalRate / rampTo phases in seconds', () => {
    expect(toArtilleryPhases(PRESETS.warmup.stages)).toEqual([
      { name: 'ramp-up', duration: 30, arrivalRate: 1, rampTo: 10 },
      { name: 'steady', duration: 90, arrivalRate: 10 },
    ]);
    expect(toArtilleryPhases([constant(3000, 5)])).toEqual([{ duration: 3, arrivalRate: 5 }]);
    expect(toArtilleryPhases([constant(10_000, 0)])).toEqual([{ pause: 10 }]);
  });

  it('rounds the cumulative boundaries to whole seconds, so the total stays right', () => {
    // A 2-minute warm-up scaled to 30 s: a 7.5 s ramp and a 22.5 s hold.
    const phases = toArtilleryPhases([
      { durationMs: 7500, startRate: 1, endRate: 10 },
      { durationMs: 22_500, startRate: 10, endRate: 10 },
    ]);
    expect(phases).toEqual([
      { duration: 8, arrivalRate: 1, rampTo: 10 },
      { duration: 22, arrivalRate: 10 },
    ]);
    expect(toArtilleryPhases([constant(300, 5), constant(300, 6), constant(1000, 7)])).toEqual([
      { duration: 1, arrivalRate: 6 },
      { duration: 1, arrivalRate: 7 },
    ]);
  });

  it('reads arrival-rate phases back for the report, and gives up on other kinds', () => {
    expect(fromArtilleryPhases([{ duration: 60, arrivalRate: 5, rampTo: 50, name: 'up' }, { pause: 10 }])).toEqual([
      { name: 'up', durationMs: 60_000, startRate: 5, endRate: 50 },
      { durationMs: 10_000, startRate: 0, endRate: 0 },
    ]);
    expect(fromArtilleryPhases([{ duration: 60, arrivalCount: 100 }])).toBeUndefined();
    expect(fromArtilleryPhases([{ duration: '2m', arrivalRate: 5 }])).toBeUndefined();
  });

  it("chooses whose phases run: perf-gate's when the script has none or the user shaped the load", () => {
    const ws = '/w';
    const stages = [constant(3000, 5)];
    const scriptPhases = [{ duration: 60, arrivalRate: 20 }];
    expect(choosePhases(makeConfig(ws), stages, undefined)).toMatchObject({
      use: 'perf-gate',
      phases: [{ duration: 3, arrivalRate: 5 }],
    });
    expect(choosePhases(makeConfig(ws), stages, [])).toMatchObject({ use: 'perf-gate' });
    // Only a preset in play: the script's own phases win.
    expect(choosePhases(makeConfig(ws), stages, scriptPhases)).toMatchObject({
      use: 'script',
      stages: [{ durationMs: 60_000, startRate: 20, endRate: 20 }],
    });
    // duration, duration-scale and rate reshape the script's own phases, in proportion, never run them unscaled.
    const two = [
      { duration: 40, arrivalRate: 10, rampTo: 20 },
      { duration: 20, arrivalRate: 20 },
    ];
    expect(choosePhases(makeConfig(ws, { durationMs: 6000 }), stages, two)).toMatchObject({
      use: 'script',
      reshaped: 'duration 6s',
      phases: [
        { duration: 4, arrivalRate: 10, rampTo: 20 },
        { duration: 2, arrivalRate: 20 },
      ],
      stages: [
        { durationMs: 4000, startRate: 10, endRate: 20 },
        { durationMs: 2000, startRate: 20, endRate: 20 },
      ],
    });
    expect(choosePhases(makeConfig(ws, { durationScale: 0.5 }), stages, two)).toMatchObject({
      use: 'script',
      phases: [{ duration: 20 }, { duration: 10 }],
    });
    expect(choosePhases(makeConfig(ws, { rate: 5 }), stages, two)).toMatchObject({
      use: 'script',
      reshaped: 'rate 5/s',
      phases: [
        { duration: 40, arrivalRate: 2.5, rampTo: 5 },
        { duration: 20, arrivalRate: 5 },
      ],
    });
    // Phases perf-gate cannot read are replaced by its own shape when the user shaped the load, never run as written.
    expect(
      choosePhases(makeConfig(ws, { durationScale: 0.1 }), stages, [{ duration: '1h', arrivalRate: 100 }]),
    ).toMatchObject({
      use: 'perf-gate',
      phases: [{ duration: 3, arrivalRate: 5 }],
      reason: expect.stringMatching(
        /^duration-scale 0\.1 given, and the script's phases are not all arrival-rate phases/,
      ),
    });
    const custom = { name: 'smoke', stages, defaultTargets: [], description: '' };
    expect(choosePhases(makeConfig(ws, { phase: custom }), stages, scriptPhases)).toMatchObject({ use: 'perf-gate' });
    // A preset name redefined in the perf-gate config counts as the user's own phase.
    const redefined = { ...PRESETS.warmup, stages };
    expect(choosePhases(makeConfig(ws, { phase: redefined }), stages, scriptPhases)).toMatchObject({
      use: 'perf-gate',
    });
  });
});

describe('Artillery console summaries', () => {
  // Genuine console output and the JSON report of the same Artillery 2.0.34 run (see fixtures/SOURCES.md).
  const consoleLines = readFileSync(join(OWN, 'console-2.0.34-demo-health-500.txt'), 'utf8').split('\n');
  const report = JSON.parse(readFileSync(join(OWN, 'v2-2.0.34-demo-health-500-with-console.json'), 'utf8')) as {
    intermediate: Array<{
      counters: Record<string, number>;
      summaries: Record<string, Record<string, number>>;
      period: string;
    }>;
  };
  // The lines were printed within seconds of the report's times; the reader needs "now" only to pick the date.
  const printedAt = Number(report.intermediate[0]!.period) + 15_000;

  function readAll(): ConsolePeriod[] {
    const reader = new ConsolePeriodReader();
    const out: ConsolePeriod[] = [];
    for (const line of consoleLines) {
      const p = reader.push(line, printedAt);
      if (p) out.push(p);
    }
    const last = reader.flush();
    if (last) out.push(last);
    return out;
  }

  it('reads each period as the JSON report has it, and not the summary report at the end', () => {
    const periods = readAll();
    expect(periods).toHaveLength(report.intermediate.length);
    periods.forEach((p, i) => {
      const want = report.intermediate[i]!;
      expect(p.period, `period ${i}`).toBe(Number(want.period));
      // The console leaves out plugins' metrics (metrics-by-endpoint): no per-endpoint figures from it.
      expect(p.counters, `period ${i}`).toEqual(
        Object.fromEntries(Object.entries(want.counters).filter(([k]) => !k.startsWith('plugins.'))),
      );
      const rt = want.summaries['http.response_time']!;
      expect(p.summaries['http.response_time'], `period ${i}`).toEqual({
        min: rt.min,
        max: rt.max,
        mean: rt.mean,
        median: rt.median,
        p95: rt.p95,
        p99: rt.p99,
        count: rt.count,
      });
    });
  });

  it('keeps names with spaces and colons (scenario names, error messages), and stops at anything else', () => {
    const reader = new ConsolePeriodReader();
    const lines = [
      'Metrics for period to: 23:59:50(+0100) (width: 9.9s)',
      'errors.Failed capture or match: ................................................ 3',
      'vusers.created_by_name.Place a bid: ............................................ 7',
      'http.request_rate: ............................................................. 2/sec',
      'plugins.expect.ok: step 1 .........: ........................................... 1',
      'vusers.session_length:',
      '  p99: ......................................................................... 12.5',
      'Phase completed: steady (index: 1, duration: 10s) 23:59:50(+0100)',
    ];
    // 23:59:50 at +01:00 is 22:59:50 UTC, on the date nearest the clock when the line arrived.
    const now = Date.parse('2026-11-27T22:59:55Z');
    const got = lines.map((l) => reader.push(l, now)).filter(Boolean) as ConsolePeriod[];
    expect(got).toHaveLength(1);
    expect(got[0]!.counters).toEqual({
      'errors.Failed capture or match': 3,
      'vusers.created_by_name.Place a bid': 7,
      'plugins.expect.ok: step 1 .........': 1,
    });
    expect(got[0]!.summaries).toEqual({ 'vusers.session_length': { p99: 12.5 } });
    expect(got[0]!.lastMetricAt).toBe(Date.parse('2026-11-27T22:59:50Z'));
    expect(got[0]!.firstMetricAt).toBe(Date.parse('2026-11-27T22:59:40.100Z'));
    expect(reader.flush()).toBeUndefined();
  });

  it("adds up to the same requests, errors and intervals as the report, with the run's percentiles missing", async () => {
    const fromReport = await readResultFile(join(OWN, 'v2-2.0.34-demo-health-500-with-console.json'), {
      phase: 'warmup',
      count4xxAsErrors: false,
    });
    const fromConsole = await artilleryV2Reader.fromDocument(consoleReport(readAll()), 'artillery-periods.json', {
      phase: 'warmup',
      count4xxAsErrors: false,
    });
    expect(fromConsole.requests).toBe(fromReport.requests);
    expect(fromConsole.errors).toBe(fromReport.errors);
    expect(fromConsole.statusCodes).toEqual(fromReport.statusCodes);
    expect(fromConsole.intervals.map((iv) => [iv.requests, iv.errors])).toEqual(
      fromReport.intervals.map((iv) => [iv.requests, iv.errors]),
    );
    expect(fromConsole.latency).toEqual({
      count: fromReport.latency.count,
      min: fromReport.latency.min,
      max: fromReport.latency.max,
    });
    expect(fromConsole.latency.p99).toBeUndefined();
    // Each period alone keeps Artillery's own percentiles: what a guard on p99 watches.
    const iv = periodInterval(readAll()[1], 0, { phase: 'warmup', count4xxAsErrors: false });
    expect(iv).toMatchObject({
      requests: 100,
      errors: 50,
      latency: { p99: report.intermediate[1]!.summaries['http.response_time']!.p99 },
    });
  });
});

describe('Artillery command lines', () => {
  const base = { script: '/w/test.yml', target: 'https://t.example', output: '/o/artillery-report.json' };

  it('local run', () => {
    expect(
      buildArtilleryArgs({
        ...base,
        mode: 'none',
        overrides: { config: { phases: [{ duration: 3, arrivalRate: 5 }] } },
      }),
    ).toEqual([
      'run',
      '--target',
      'https://t.example',
      '--output',
      '/o/artillery-report.json',
      '--overrides',
      '{"config":{"phases":[{"duration":3,"arrivalRate":5}]}}',
      '/w/test.yml',
    ]);
    expect(buildArtilleryArgs({ ...base, mode: 'none', count: 3, region: 'eu-west-1' })).toEqual([
      'run',
      '--target',
      'https://t.example',
      '--output',
      '/o/artillery-report.json',
      '/w/test.yml',
    ]);
  });

  it('AWS Fargate and Lambda: the same run with --count and --region', () => {
    expect(buildArtilleryArgs({ ...base, mode: 'artillery-fargate', count: 10, region: 'eu-west-1' })).toEqual([
      'run-fargate',
      '--count',
      '10',
      '--region',
      'eu-west-1',
      '--target',
      'https://t.example',
      '--output',
      '/o/artillery-report.json',
      '/w/test.yml',
    ]);
    expect(buildArtilleryArgs({ ...base, mode: 'artillery-lambda', count: 4, region: 'us-east-2' })).toEqual([
      'run-lambda',
      '--count',
      '4',
      '--region',
      'us-east-2',
      '--target',
      'https://t.example',
      '--output',
      '/o/artillery-report.json',
      '/w/test.yml',
    ]);
    expect(buildArtilleryArgs({ ...base, mode: 'artillery-lambda' })).toEqual([
      'run-lambda',
      '--target',
      'https://t.example',
      '--output',
      '/o/artillery-report.json',
      '/w/test.yml',
    ]);
  });

  it('reads the ensure verdicts printed after "Checks:"', () => {
    const c = new EnsureCollector();
    for (const l of [
      'fail: looks like a check but comes before',
      'Checks:',
      'ok: maxErrorRate < 1',
      'fail: http.response_time.p99 < 1',
      'fail: vusers.failed < 1 (optional)',
      'All VUs finished.',
    ])
      c.push(l);
    expect(c.thresholds).toEqual([
      { metric: 'maxErrorRate', expression: 'maxErrorRate < 1', ok: true },
      { metric: 'http.response_time.p99', expression: 'http.response_time.p99 < 1', ok: false },
      { metric: 'vusers.failed', expression: 'vusers.failed < 1 (optional)', ok: false },
    ]);
    expect(c.strictFailures().map((t) => t.expression)).toEqual(['http.response_time.p99 < 1']);
  });
});

describe('Artillery engine around a stand-in artillery package', () => {
  const VARS = [
    'ARTILLERY_STANDIN_CALLS',
    'ARTILLERY_STANDIN_REPORT',
    'ARTILLERY_STANDIN_CHECKS',
    'ARTILLERY_STANDIN_STDERR',
    'ARTILLERY_STANDIN_EXIT',
  ];
  let ws: string;
  let calls: string;

  beforeEach(() => {
    ws = mkdtempSync(join(tmpdir(), 'perf-gate-art-standin-'));
    mkdirSync(join(ws, 'node_modules'));
    symlinkSync(STAND_IN, join(ws, 'node_modules', 'artillery'), 'dir');
    calls = join(ws, 'calls.ndjson');
    process.env.ARTILLERY_STANDIN_CALLS = calls;
  });

  afterEach(() => {
    for (const v of VARS) delete process.env[v];
    rmSync(ws, { recursive: true, force: true });
  });

  function call(): { argv: string[]; env: Record<string, string>; node: string } {
    return JSON.parse(readFileSync(calls, 'utf8').trim().split('\n')[0]!) as {
      argv: string[];
      env: Record<string, string>;
      node: string;
    };
  }

  it('run-fargate: the command line, headers given literally, the report read back with the ensure verdicts', async () => {
    process.env.ARTILLERY_STANDIN_REPORT = OWN_REPORT;
    process.env.ARTILLERY_STANDIN_CHECKS = 'ok: http.response_time.p95 < 2000|fail: http.response_time.p99 < 1';
    process.env.ARTILLERY_STANDIN_EXIT = '1';
    const log = memLog();
    const config = makeConfig(ws, {
      target: 'https://staging.example.com',
      distributed: { mode: 'artillery-fargate', count: 10, region: 'eu-west-1' },
      http: {
        timeoutMs: 5000,
        maxInFlight: 100,
        count4xxAsErrors: false,
        headers: { Authorization: 'Bearer art-secret' },
      },
    });
    const run = await artilleryEngine.run({ config, stages: [constant(3000, 5)], log });
    const c = call();
    expect(c.node).toBe(process.version);
    expect(c.env.ARTILLERY_DISABLE_TELEMETRY).toBe('true');
    expect(c.argv.slice(0, 9)).toEqual([
      'run-fargate',
      '--count',
      '10',
      '--region',
      'eu-west-1',
      '--target',
      'https://staging.example.com',
      '--output',
      join(ws, 'out', 'artillery-report.json'),
    ]);
    expect(c.argv[9]).toBe('--overrides');
    // Remote workers do not share this environment: the header values travel in the overrides.
    expect(JSON.parse(c.argv[10]!)).toEqual({
      config: {
        http: { defaults: { headers: { Authorization: 'Bearer art-secret' } } },
        phases: [{ duration: 3, arrivalRate: 5 }],
      },
    });
    expect(c.argv[11]).toBe(SCRIPT);
    expect(log.lines.join('\n')).not.toContain('art-secret');

    const direct = await readResultFile(OWN_REPORT, { phase: 'warmup', count4xxAsErrors: false });
    expect(run.engine).toBe('artillery');
    expect(run.tool).toEqual({ name: 'artillery', version: '0.0.0-stand-in' });
    expect(run.requests).toBe(direct.requests);
    expect(run.sourceFiles).toEqual(['out/artillery-report.json']);
    expect(run.toolThresholds).toEqual([
      { metric: 'http.response_time.p95', expression: 'http.response_time.p95 < 2000', ok: true },
      { metric: 'http.response_time.p99', expression: 'http.response_time.p99 < 1', ok: false },
    ]);
    expect(run.notes.join(' ')).toContain('Load generated by Artillery on AWS Fargate (10 workers) in eu-west-1.');
    expect(run.notes.join(' ')).toContain("Artillery's ensure checks failed (http.response_time.p99 < 1)");
  });

  it('run-lambda: same shape of command line', async () => {
    process.env.ARTILLERY_STANDIN_REPORT = OWN_REPORT;
    const config = makeConfig(ws, { distributed: { mode: 'artillery-lambda', count: 2, region: 'us-east-2' } });
    const run = await artilleryEngine.run({ config, stages: [constant(3000, 5)], log: memLog() });
    expect(call().argv.slice(0, 5)).toEqual(['run-lambda', '--count', '2', '--region', 'us-east-2']);
    expect(run.notes.join(' ')).toContain('AWS Lambda (2 workers) in us-east-2');
  });

  it('locally, header values go through the environment, not the command line', async () => {
    process.env.ARTILLERY_STANDIN_REPORT = OWN_REPORT;
    const config = makeConfig(ws, {
      http: { timeoutMs: 5000, maxInFlight: 100, count4xxAsErrors: false, headers: { 'x-api-key': 'k-123' } },
    });
    await artilleryEngine.run({ config, stages: [constant(3000, 5)], log: memLog() });
    const c = call();
    expect(c.argv.join(' ')).not.toContain('k-123');
    expect(c.env.PERF_GATE_HEADER_0).toBe('k-123');
    expect(JSON.parse(c.argv[c.argv.indexOf('--overrides') + 1]!).config.http.defaults.headers).toEqual({
      'x-api-key': '{{ $env.PERF_GATE_HEADER_0 }}',
    });
  });

  it('a failure without a report is an engine error with the tail of stderr', async () => {
    process.env.ARTILLERY_STANDIN_EXIT = '1';
    process.env.ARTILLERY_STANDIN_STDERR = 'Error: something broke inside Artillery';
    const err = await artilleryEngine
      .run({ config: makeConfig(ws), stages: [constant(3000, 5)], log: memLog() })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(
      /Artillery failed \(exit code 1\) and wrote no report:\nError: something broke inside Artillery/,
    );
  });

  it('a non-zero exit with a report but no failed check is kept, with a note', async () => {
    process.env.ARTILLERY_STANDIN_REPORT = OWN_REPORT;
    process.env.ARTILLERY_STANDIN_EXIT = '2';
    process.env.ARTILLERY_STANDIN_STDERR = 'warning: plugin x failed to flush';
    const run = await artilleryEngine.run({ config: makeConfig(ws), stages: [constant(3000, 5)], log: memLog() });
    expect(run.requests).toBeGreaterThan(0);
    expect(run.notes.join(' ')).toContain(
      'Artillery exited with exit code 2 after writing its report (warning: plugin x failed to flush)',
    );
  });

  it('exit code 21 (failed expectations) or 1 without a check line is a failing tool row: the verdict never passes', async () => {
    process.env.ARTILLERY_STANDIN_REPORT = OWN_REPORT;
    for (const code of ['21', '1']) {
      process.env.ARTILLERY_STANDIN_EXIT = code;
      const run = await artilleryEngine.run({ config: makeConfig(ws), stages: [constant(3000, 5)], log: memLog() });
      expect(run.toolThresholds).toEqual([
        {
          metric: 'artillery',
          expression: expect.stringMatching(new RegExp(`^Artillery exit code ${code}: `)),
          ok: false,
        },
      ]);
      const verdict = decide(run, parseTargets(['requests > 0']), 'any');
      expect(verdict.targets[0]!.status).toBe('pass');
      expect(verdict.status).toBe('fail');
      expect(verdict.targets[1]).toMatchObject({ origin: 'tool', status: 'fail' });
    }
    expect(readFileSync(calls, 'utf8').trim().split('\n')).toHaveLength(2);
  });

  it("a report left by an earlier run is not read as this run's", async () => {
    mkdirSync(join(ws, 'out'));
    copyFileSync(OWN_REPORT, join(ws, 'out', 'artillery-report.json'));
    process.env.ARTILLERY_STANDIN_EXIT = '1';
    await expect(
      artilleryEngine.run({ config: makeConfig(ws), stages: [constant(3000, 5)], log: memLog() }),
    ).rejects.toThrow(/wrote no report/);
  });
});

describe('Artillery engine with the real Artillery', () => {
  let demo: Awaited<ReturnType<typeof startDemoServer>>;
  let ws: string;

  beforeAll(async () => {
    demo = await startDemoServer();
    // An empty workspace: no node_modules/artillery, so the engine uses (or first fills) its tool cache.
    ws = mkdtempSync(join(tmpdir(), 'perf-gate-art-'));
  });

  afterAll(async () => {
    await demo?.close();
    if (ws) rmSync(ws, { recursive: true, force: true });
  });

  it('a 3 s run at 5 arrivals/s: requests, latency, 5xx errors per endpoint, and a failed ensure check as a result', async () => {
    const log = memLog();
    const config = makeConfig(ws, {
      target: demo.url,
      durationMs: 3000,
      http: {
        timeoutMs: 5000,
        maxInFlight: 100,
        count4xxAsErrors: false,
        headers: { authorization: 'Bearer from-perf-gate' },
      },
    });
    const run = await artilleryEngine.run({ config, stages: [constant(3000, 5)], log });

    const how = log.lines.find((l) => /from the tool cache|Installed artillery@/.test(l));
    expect(how, log.lines.slice(0, 5).join('\n')).toBeDefined();
    expect(existsSync(join(artilleryCacheDir(), 'node_modules', 'artillery', 'package.json'))).toBe(true);

    expect(run.engine).toBe('artillery');
    expect(run.tool).toEqual({ name: 'artillery', version: ARTILLERY_VERSION });
    // 15 virtual users, each sending one request to each endpoint.
    expect(run.requests).toBeGreaterThanOrEqual(24);
    expect(run.requests).toBeLessThanOrEqual(36);
    const health = run.endpoints.find((e) => e.name === '/api/health');
    const failing = run.endpoints.find((e) => e.name === '/status/500');
    expect(health?.errors).toBe(0);
    expect(failing?.errors).toBe(failing?.requests);
    expect(run.errors).toBe(failing!.requests);
    expect(run.errorsByKind.http_5xx).toBe(failing!.requests);
    expect(run.errorRate).toBeCloseTo(50, 0);
    expect(run.latency.count).toBe(run.requests);
    expect(run.latency.p95).toBeGreaterThan(0);
    expect(run.latency.p99).toBeDefined();
    expect(demo.stats().byPath['/status/500']).toBe(failing!.requests);
    expect(demo.lastAuthorization()).toBe('Bearer from-perf-gate');

    expect(run.toolThresholds).toEqual([
      { metric: 'http.response_time.p95', expression: 'http.response_time.p95 < 2000', ok: true },
      { metric: 'http.response_time.p99', expression: 'http.response_time.p99 < 1', ok: false },
    ]);
    expect(run.notes.join(' ')).toContain(
      "Artillery's ensure checks failed (http.response_time.p99 < 1), so Artillery exited with code 1.",
    );
    // The failed ensure check fails the verdict like a target, even with no target of perf-gate's own.
    const verdict = decide(run, [], 'any');
    expect(verdict.status).toBe('fail');
    expect(verdict.failsCheck).toBe(true);
    expect(verdict.targets.map((t) => [t.origin, t.target.source, t.status, t.actual])).toEqual([
      ['tool', 'http.response_time.p95 < 2000', 'pass', run.latency.p95],
      ['tool', 'http.response_time.p99 < 1', 'fail', run.latency.p99],
    ]);
    expect(run.sourceFiles).toEqual(['out/artillery-report.json']);
    expect(log.lines.some((l) => l.startsWith('[artillery] Phase started'))).toBe(true);
  }, 300_000);

  it('an abort guard stops Artillery on its console summaries, and the run is read from them', async () => {
    const log = memLog();
    // Half of the requests answer 500 from the first second: the guard trips on Artillery's first summary.
    const guards = watchGuards(parseGuards(['error_rate > 20% for 1s']), log);
    const config = makeConfig(ws, { target: demo.url, durationMs: 60_000 });
    const started = Date.now();
    const run = await artilleryEngine.run({
      config,
      stages: [constant(60_000, 5)],
      log,
      signal: guards.signal,
      onInterval: guards.onInterval,
    });
    const seconds = (Date.now() - started) / 1000;
    expect(seconds, 'stopped long before the planned minute').toBeLessThan(40);
    expect(guards.stopped()?.guard).toBe('error_rate > 20% for 1s');
    expect(log.lines.some((l) => l.startsWith('warning: stopping the run at'))).toBe(true);
    expect(run.notes).toContain(`stopped early: ${guards.stopped()!.reason}`);
    expect(run.notes.join(' ')).toMatch(/read from its \d+ console summar(y|ies) \(artillery-periods\.json\)/);
    expect(run.sourceFiles).toEqual(['out/artillery-periods.json']);
    const written = JSON.parse(readFileSync(join(ws, 'out', 'artillery-periods.json'), 'utf8')) as {
      intermediate: unknown[];
    };
    expect(written.intermediate.length).toBe(run.intervals.length);
    expect(run.requests).toBeGreaterThan(0);
    expect(run.errorRate).toBeGreaterThan(20);
    expect(run.latency.p99, 'no percentile for the run as a whole').toBeUndefined();
    expect(run.intervals[0]!.latency.p99).toBeGreaterThan(0);
  }, 120_000);

  it('runs a ramp from a fractional rate down to 0 (Artillery 2.0.34 asserts on the phase written naively)', async () => {
    const log = memLog();
    const config = makeConfig(ws, { target: demo.url, durationMs: 4000 });
    const run = await artilleryEngine.run({ config, stages: [{ durationMs: 4000, startRate: 2.5, endRate: 0 }], log });
    expect(log.lines.join('\n')).not.toMatch(/AssertionError/);
    // 2.5 + 1.67 + 0.83 + 0 arrivals over the four seconds, whole per second: 4 to 6 virtual users, two requests each.
    expect(run.requests).toBeGreaterThanOrEqual(6);
    expect(run.requests).toBeLessThanOrEqual(14);
  }, 120_000);

  it("a broken YAML script is an engine error with Artillery's own message", async () => {
    const script = join(ws, 'broken.yml');
    writeFileSync(
      script,
      'config:\n  target: http://x\n  phases:\n    - duration: 1\n     arrivalRate: [\nscenarios:\n  - flow:\n    - get: {url: /}\n',
    );
    const log = memLog();
    const err = await artilleryEngine
      .run({ config: makeConfig(ws, { target: demo.url, script }), stages: [constant(1000, 1)], log })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(
      /Artillery failed \(exit code 1\) and wrote no report:[\s\S]*bad indentation of a sequence entry/,
    );
    expect(
      log.lines.some((l) => l.startsWith('warning: Artillery script') && l.includes('could not be read as YAML')),
    ).toBe(true);
  }, 60_000);
});
