// Issue 18's table, replayed through the bundled CLI (bin/perf-gate.js) as a new team meets it: the default paths
// that let a broken deployment pass, and the lines that did not say what ran. Rows 1, 2, 3, 4, 5, 7 and 9 (the
// verdict's half; rows 6, 8 and 10-13 are in first-hour.e2e.test.ts).
// Against the demo target on 127.0.0.1; row 5 runs the real Artillery (installed into the tool cache on first use).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoServer } from '../demo/server.ts';
import { lastRunDir } from './helpers/output-dir.ts';
import { runCli, type CliRun } from './helpers/run-action.ts';

let demo: Awaited<ReturnType<typeof startDemoServer>>;

beforeAll(async () => {
  demo = await startDemoServer({ port: 0 });
});
afterAll(async () => {
  await demo?.close();
});

interface Outcome extends CliRun {
  cwd: string;
  results: {
    run: Record<string, any>;
    verdict: {
      status: string;
      reasons: string[];
      targets: Array<{
        target: { source: string; metric: string; kept?: string };
        status: string;
        actual?: number;
        note?: string;
      }>;
    };
  };
  report: string;
}

async function perfGate(
  args: string[],
  files: Record<string, string> = {},
  cwd = mkdtempSync(join(tmpdir(), 'perf-gate-first-hour-')),
): Promise<Outcome> {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(cwd, name), text);
  const r = await runCli(['run', ...args], cwd, { ARTILLERY_DISABLE_TELEMETRY: 'true' });
  const dir = join(cwd, args.includes('--output-dir') ? args[args.indexOf('--output-dir') + 1]! : 'perf-gate-results');
  let results: Outcome['results'] = { run: {}, verdict: { status: 'none', reasons: [], targets: [] } };
  let report = '';
  try {
    // Each run has a folder of its own in the output dir: its results.json and its report.md.
    const run = lastRunDir(dir);
    results = JSON.parse(readFileSync(join(run, 'results.json'), 'utf8')) as Outcome['results'];
    report = readFileSync(join(run, 'report.md'), 'utf8');
  } catch {
    // No files: the test says what it expected instead.
  }
  return { ...r, cwd, results, report };
}

function row(o: Outcome, source: string) {
  return o.results.verdict.targets.find((t) => t.target.source === source);
}

describe('issue 18: no default path passes a broken deployment', () => {
  it('row 1: the default warm-up against a target answering 404 to everything fails on its error rate', async () => {
    const o = await perfGate(['--target', `${demo.url}/status/404`, '--phase', 'warmup', '--duration', '5s']);
    expect(o.code, o.stderr).toBe(1);
    expect(o.stdout).toMatch(/warmup FAILED/);
    expect(o.results.verdict.status).toBe('fail');
    // The count target of a 30-minute warm-up holds (every error of a 5 s run is under 50); the rate bound does not.
    expect(row(o, 'errors <= 50')?.status).toBe('pass');
    expect(row(o, 'error_rate < 1%')).toMatchObject({ status: 'fail', actual: 100 });
    expect(o.results.verdict.reasons.join('\n')).toMatch(
      /of \d+ requests failed \(100 %\): a run in which at least half the requests fail never passes/,
    );
    // Latency of 404s is not a latency measured: nothing was served.
    expect(row(o, 'p99 < 500ms')).toMatchObject({
      status: 'not_measured',
      note: expect.stringMatching(/no successful response/),
    });
  });

  it("row 2: a target list naming no error target keeps the phase's error-rate bound, shown as its own row", async () => {
    const o = await perfGate([
      '--target',
      `${demo.url}/status/404`,
      '--phase',
      'sustained',
      '--duration',
      '3s',
      '--rate',
      '20',
      '--targets',
      'p99 < 500ms',
    ]);
    expect(o.code, o.stderr).toBe(1);
    expect(o.results.verdict.status).toBe('fail');
    expect(o.results.verdict.targets.map((t) => t.target.source)).toEqual(['p99 < 500ms', 'error_rate < 0.5%']);
    expect(row(o, 'error_rate < 0.5%')).toMatchObject({ status: 'fail', target: { kept: 'phase' } });
    expect(o.stdout).toMatch(/error rate\s+< 0\.5 % \(the phase's: no error-rate target given\)\s+100 %\s+FAIL/);
    expect(o.report).toMatch(/< 0\.5 % \(the phase's: no error-rate target given\)/);
  });

  it('row 2, opted out: `error_rate: not judged` removes the bound visibly, and half the requests failing still fails', async () => {
    const o = await perfGate([
      '--target',
      `${demo.url}/flaky?rate=0.8`,
      '--phase',
      'sustained',
      '--duration',
      '3s',
      '--rate',
      '20',
      '--targets',
      'p99 < 500ms;error_rate: not judged',
    ]);
    expect(o.results.verdict.targets.map((t) => t.target.source)).toEqual(['p99 < 500ms']);
    expect(o.stderr).toMatch(/warning: targets: error_rate: not judged/);
    expect(o.report).toMatch(/Error rate not judged/);
    expect(o.code, o.stderr).toBe(1);
    expect(o.results.verdict.reasons.join('\n')).toMatch(/at least half the requests fail never passes/);
  });

  it('row 3: a short warm-up with 28 % errors fails, though its error count stays under 50', async () => {
    const o = await perfGate(['--target', `${demo.url}/flaky?rate=0.28`, '--phase', 'warmup', '--duration', '5s']);
    expect(o.code, o.stderr).toBe(1);
    expect(row(o, 'errors <= 50')?.status).toBe('pass');
    expect(row(o, 'error_rate < 1%')?.status).toBe('fail');
    expect(o.results.run.errorRate).toBeGreaterThan(10);
  });

  it('row 3: a journey whose capture fails on every login fails: every journey was cut short', async () => {
    const config = [
      'flows:',
      '  - name: bid',
      '    steps:',
      '      - post: /api/auth/login',
      '        name: login',
      '        json: { email: a@b.c, password: x }',
      '        capture: { token: $.access_token }',
      '      - post: /api/bids',
      '        name: bid',
      '        headers: { authorization: "Bearer {{ token }}" }',
      '        json: { amount: 10 }',
      '      - get: /api/health',
      '',
    ].join('\n');
    const args = [
      '--target',
      demo.url,
      '--config',
      'perf-gate.yml',
      '--phase',
      'warmup',
      '--duration',
      '4s',
      '--targets',
      'p99 < 500ms;errors <= 1000;error_rate < 60%',
    ];
    // By default the smoke pass (each flow once) finds it before any load: an error, not a pass.
    const smoke = await perfGate(args, { 'perf-gate.yml': config });
    expect(smoke.code, smoke.stderr).toBe(1);
    expect(smoke.results.verdict.status).toBe('error');
    // Without it, the load runs and the run fails however loose the targets: every journey was cut short.
    const o = await perfGate(args, { 'perf-gate.yml': `smoke: false\n${config}` });
    expect(o.code, o.stderr).toBe(1);
    expect(o.results.verdict.status).toBe('fail');
    expect(o.results.verdict.reasons.join('\n')).toMatch(
      /every journey was cut short: none of the \d+ arrivals finished its flow/,
    );
  });

  it('row 4: with every login answered 401, latency and throughput rows are not measured, never PASS', async () => {
    const config = [
      'smoke: false # the load itself is what this row is about (the smoke pass would stop it first)',
      'flows:',
      '  - name: bid',
      '    steps:',
      '      - get: /status/401',
      '        name: login',
      '        capture: { token: $.token }',
      '      - post: /api/bids',
      '        name: bid',
      '        headers: { authorization: "Bearer {{ token }}" }',
      '        json: { amount: 10 }',
      '',
    ].join('\n');
    const o = await perfGate(
      [
        '--target',
        demo.url,
        '--config',
        'perf-gate.yml',
        '--phase',
        'sustained',
        '--duration',
        '3s',
        '--rate',
        '20',
        '--targets',
        'p99 < 500ms;p95 < 300ms;throughput > 5/s',
      ],
      { 'perf-gate.yml': config },
    );
    expect(o.code, o.stderr).toBe(1);
    for (const source of ['p99 < 500ms', 'p95 < 300ms', 'throughput > 5/s']) {
      expect(row(o, source), source).toMatchObject({
        status: 'not_measured',
        note: expect.stringMatching(/no successful response/),
      });
    }
    expect(o.stdout).not.toMatch(/p99 latency.*PASS/);
    // The all-responses figures are kept beside them in the details.
    expect(o.report).toMatch(
      /\*\*Successful responses:\*\* none, so latency and throughput targets are not measured \(all [\d,]+ responses: p95 [\d.]+ ms/,
    );
  });

  it('row 4, partly served: latency is judged on the successful responses, the all-responses figures beside them', async () => {
    // Half of every journey is a fast 401, half a 120 ms success: p50 of all responses is fast, of the served not.
    const config = [
      'smoke: false',
      'flows:',
      '  - name: mixed',
      '    steps:',
      '      - get: /status/401',
      '      - get: /slow?ms=120',
      '',
    ].join('\n');
    const o = await perfGate(
      [
        '--target',
        demo.url,
        '--config',
        'perf-gate.yml',
        '--phase',
        'sustained',
        '--duration',
        '3s',
        '--rate',
        '10',
        '--targets',
        'p50 < 100ms;error_rate: not judged',
      ],
      { 'perf-gate.yml': config },
    );
    const r = o.results.run;
    expect(r.served.requests).toBe(r.requests - r.errors);
    expect(r.latency.p50).toBeLessThan(100);
    expect(r.served.latency.p50).toBeGreaterThanOrEqual(120);
    expect(row(o, 'p50 < 100ms')).toMatchObject({ status: 'fail' });
    expect(row(o, 'p50 < 100ms')!.actual).toBeGreaterThanOrEqual(120);
    expect(o.report).toMatch(/\*\*Successful responses\*\* \(latency and throughput targets are judged on them\)/);
  });
});

describe('issue 18: every line says what really ran', () => {
  it("row 5: duration-scale reshapes an Artillery script's own hour, and the start line says so", async () => {
    const script = [
      'config:',
      `  target: ${demo.url}`,
      '  phases:',
      '    - duration: 3600',
      '      arrivalRate: 100',
      '      name: sustained load',
      'scenarios:',
      '  - flow:',
      '      - get:',
      '          url: /api/health',
      '',
    ].join('\n');
    const started = Date.now();
    const o = await perfGate(
      [
        '--target',
        demo.url,
        '--engine',
        'artillery',
        '--script',
        'guide.yml',
        '--phase',
        'sustained',
        '--duration-scale',
        '0.00139',
        '--targets',
        'p99 < 500ms',
      ],
      { 'guide.yml': script },
    );
    expect(o.code, o.stderr).toBe(0);
    expect(o.stderr).toMatch(
      /phase sustained on artillery: the script's own phases \(1h up to 100 arrivals\/s\) reshaped by duration-scale 0\.00139 to 5s up to 100 arrivals\/s/,
    );
    expect(Date.now() - started).toBeLessThan(120_000);
    expect(o.results.run.durationMs).toBeLessThan(15_000);
    expect(o.results.run.shape).toMatchObject({
      source: 'script',
      stages: [{ durationMs: 5004, startRate: 100, endRate: 100 }],
    });
    expect(o.results.run.requests).toBeGreaterThan(300);
    expect(o.results.run.requests).toBeLessThan(700);
  }, 240_000);

  it("row 5: a script's phases that run unchanged are stated on the start line", async () => {
    const script = [
      'config:',
      `  target: ${demo.url}`,
      '  phases:',
      '    - duration: 2',
      '      arrivalRate: 5',
      'scenarios:',
      '  - flow:',
      '      - get:',
      '          url: /api/health',
      '',
    ].join('\n');
    const o = await perfGate(
      [
        '--target',
        demo.url,
        '--engine',
        'artillery',
        '--script',
        'own.yml',
        '--phase',
        'sustained',
        '--targets',
        'p99 < 500ms',
      ],
      { 'own.yml': script },
    );
    expect(o.stderr).toMatch(
      /phase sustained on artillery: the script's own phases, unchanged: 2s up to 5 arrivals\/s/,
    );
    expect(o.code, o.stderr).toBe(0);
  }, 240_000);

  it('row 7: engine results over a warm-up and a recovery refuses to merge them into one run', async () => {
    const cwd = mkdtempSync(join(tmpdir(), 'perf-gate-first-hour-'));
    const warm = await perfGate(
      ['--target', demo.url, '--phase', 'warmup', '--duration', '2s', '--output-dir', 'warm'],
      {},
      cwd,
    );
    const rec = await perfGate(
      ['--target', demo.url, '--phase', 'recovery', '--duration', '3s', '--output-dir', 'rec'],
      {},
      cwd,
    );
    expect(warm.code, warm.stderr).toBe(0);
    expect(rec.results.run.phase).toBe('recovery');
    const o = await perfGate(
      [
        '--engine',
        'results',
        '--phase',
        'warmup',
        '--results',
        'warm/*/results.json;rec/*/results.json',
        '--output-dir',
        'judged',
      ],
      {},
      cwd,
    );
    expect(o.code).toBe(2);
    expect(o.stderr).toMatch(
      /^error: results: warm\/warmup-\w+\/results\.json \(phase warmup, started .*\) and rec\/recovery-\w+\/results\.json \(phase recovery, started .*\) are whole perf-gate runs of their own/m,
    );
    expect(o.stderr).toMatch(/Judge each run in a step of its own/);
    expect(o.stderr).not.toMatch(/\n\s+at /);
    // A run is judged as the phase it ran, never under another phase's targets.
    const wrong = await perfGate(
      ['--engine', 'results', '--phase', 'warmup', '--results', 'rec/*/results.json', '--output-dir', 'judged-wrong'],
      {},
      cwd,
    );
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(
      /^error: results: rec\/recovery-\w+\/results\.json is a run of phase "recovery", but this job's phase is "warmup"; set phase: recovery/m,
    );
    // One of them alone is judged as itself.
    const one = await perfGate(
      ['--engine', 'results', '--phase', 'warmup', '--results', 'warm/*/results.json', '--output-dir', 'judged-one'],
      {},
      cwd,
    );
    expect(one.code, one.stderr).toBe(0);
    expect(one.results.run.requests).toBe(warm.results.run.requests);
  });

  it('row 9: a recovery run against a healthy target says it stayed within targets, not "Recovered in 0 ms"', async () => {
    const o = await perfGate(['--target', demo.url, '--phase', 'recovery', '--duration', '6s', '--rate', '20']);
    expect(o.code, o.stderr).toBe(0);
    expect(o.results.run.analysis.recovery).toMatchObject({ recovered: true, recoveryMs: 0 });
    expect(o.report).not.toMatch(/[Rr]ecovered in 0/);
    expect(o.report).toMatch(/stayed within targets throughout/);
    expect(o.stdout).toMatch(/recovery time\s+< 2 min\s+stayed within targets throughout\s+PASS/);
  });
});
