// A team's first hour (issue 18, rows 6, 8, 10, 11, 12 and 13), replayed through the bundled CLI and action as a
// team meets them: two phases into one output dir, the guide's Artillery script with a processor that is not
// there, the typos people make, an error verdict in the terminal, the CLI installed from a tarball into a project
// of its own, and Artillery's first install.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoServer, type DemoServer } from '../demo/server.ts';
import { startGitHubStub } from './helpers/github-stub.js';
import { runFolders } from './helpers/output-dir.js';
import { runAction, runCli } from './helpers/run-action.js';

let demo: DemoServer;
let github: Awaited<ReturnType<typeof startGitHubStub>>;
beforeAll(async () => {
  demo = await startDemoServer();
  github = await startGitHubStub();
});
afterAll(async () => {
  await demo?.close();
  await github?.close();
});

const workspace = (): string => mkdtempSync(join(tmpdir(), 'perf-gate-first-hour-'));
/** A stack frame as Node prints one. */
const STACK = /^\s+at .+[(:]\d+/m;

function exec(
  command: string,
  args: string[],
  cwd: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; out: string }> {
  const child = spawn(command, args, { cwd, env: { ...process.env, ...env } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((r) => child.on('close', (c) => r({ code: c ?? -1, out })));
}

describe('row 6: runs never overwrite each other', () => {
  it('warm-up then recovery into one output dir keeps both, and LOAD_TEST_RESULTS.md lists both, newest first', async () => {
    const ws = workspace();
    const warm = await runCli(
      ['run', '--target', demo.url, '--phase', 'warmup', '--duration', '1s', '--rate', '10'],
      ws,
    );
    expect(warm.code, warm.stderr).toBe(0);
    const recovery = await runCli(
      ['run', '--target', demo.url, '--phase', 'recovery', '--duration', '2s', '--rate', '10'],
      ws,
    );
    expect(recovery.code, recovery.stderr).toBe(0);

    const out = join(ws, 'perf-gate-results');
    const folders = runFolders(out).map((f) => f.slice(out.length + 1));
    expect(folders).toHaveLength(2);
    expect(folders[0]).toMatch(/^warmup-\d{8}T\d{6}Z$/);
    expect(folders[1]).toMatch(/^recovery-\d{8}T\d{6}Z(-2)?$/);
    for (const f of folders) {
      const doc = JSON.parse(readFileSync(join(out, f, 'results.json'), 'utf8')) as { run: { phase: string } };
      expect(f.startsWith(doc.run.phase)).toBe(true);
      expect(existsSync(join(out, f, 'report.md'))).toBe(true);
    }
    // The CLI names the files of this run.
    expect(recovery.stderr).toContain(`results: ${join(out, folders[1]!, 'results.json')}`);

    const page = readFileSync(join(out, 'LOAD_TEST_RESULTS.md'), 'utf8');
    expect(page).toMatch(/^# Load test results/);
    expect(page).toMatch(/\| # \| Phase \| Verdict \| p99 \| Error rate \| Throughput \|/);
    const rows = page.split('\n').filter((l) => /^\| [12] \|/.test(l));
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatch(/^\| 2 \| recovery \| ✅ pass \| [\d.,]+ (ms|µs|s) \| 0 % \| [\d.,]+\/s \|/);
    expect(rows[1]).toMatch(/^\| 1 \| warmup \| ✅ pass \|/);
    // One section per test, newest first, each the run's own report.
    const sections = [...page.matchAll(/^## Test (\d): (\w+)/gm)].map((m) => `${m[1]} ${m[2]}`);
    expect(sections).toEqual(['2 recovery', '1 warmup']);
    expect(page.indexOf('perf-gate: recovery passed')).toBeLessThan(page.indexOf('perf-gate: warmup passed'));
  });

  it("the action's outputs point at this run's results.json and the page of all tests", async () => {
    const ws = workspace();
    const first = await runAction(
      { target: demo.url, phase: 'warmup', duration: '1s', rate: '10', comment: 'false' },
      { apiUrl: github.url, workspace: ws },
    );
    const second = await runAction(
      { target: demo.url, phase: 'warmup', duration: '1s', rate: '10', comment: 'false' },
      { apiUrl: github.url, workspace: ws },
    );
    expect([first.code, second.code]).toEqual([0, 0]);
    expect(second.outputs.report).toBe(join(ws, 'perf-gate-results', 'LOAD_TEST_RESULTS.md'));
    expect(second.outputs.results).not.toBe(first.outputs.results);
    expect(second.outputs.results).toMatch(/perf-gate-results\/warmup-\d{8}T\d{6}Z(-2)?\/results\.json$/);
    expect(existsSync(first.outputs.results!)).toBe(true);
    expect(readFileSync(second.outputs.report!, 'utf8').match(/^## Test \d/gm)).toHaveLength(2);
    // `engine: results` finds them with the documented glob.
    const judged = await runCli(
      [
        'run',
        '--engine',
        'results',
        '--results',
        'perf-gate-results/*/results.json',
        '--output-dir',
        'merged',
        '--phase',
        'warmup',
      ],
      ws,
    );
    expect(judged.stderr).toMatch(/judging results from perf-gate-results\/\*\/results\.json/);
  });
});

const GUIDE_SCRIPT = (target: string) => `config:
  target: ${target}
  processor: "./processors.js"
  phases:
    - duration: 3
      arrivalRate: 2
scenarios:
  - flow:
      - get:
          url: /
`;

describe('row 8: tool scripts are checked before anything is installed or sent', () => {
  it('a missing processor is bad input: exit 2 in a second, one line, no install, no load, no output dir', async () => {
    const ws = workspace();
    writeFileSync(join(ws, 'load-test.yml'), GUIDE_SCRIPT(demo.url));
    const before = demo.stats().requests;
    const started = Date.now();
    const r = await runCli(
      ['run', '--engine', 'artillery', '--script', 'load-test.yml', '--target', demo.url, '--output-dir', 'out'],
      ws,
      { RUNNER_TOOL_CACHE: join(ws, 'cache') },
    );
    expect(r.code, r.stderr).toBe(2);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(r.stderr).toMatch(
      /^error: input "script": Artillery script "load-test.yml": config\.processor "\.\/processors\.js" does not exist/m,
    );
    expect(r.stderr).not.toMatch(STACK);
    expect(r.stderr).not.toMatch(/\[npm\]|Installing artillery|installing artillery/);
    expect(existsSync(join(ws, 'cache'))).toBe(false);
    expect(existsSync(join(ws, 'out'))).toBe(false);
    expect(demo.stats().requests).toBe(before);
  });

  it('a missing payload file, an unset $processEnvironment variable and a YAML slip are named before the load', async () => {
    const ws = workspace();
    writeFileSync(join(ws, 'processors.js'), 'module.exports = {};\n');
    writeFileSync(
      join(ws, 'a.yml'),
      `config:\n  target: ${demo.url}\n  processor: ./processors.js\n  payload:\n    path: users.csv\n    fields: [u, p]\n  variables:\n    key: "{{ $processEnvironment.PERF_GATE_TEST_UNSET_KEY }}"\nscenarios:\n  - flow:\n      - get: { url: / }\n`,
    );
    const a = await runCli(['run', '--engine', 'artillery', '--script', 'a.yml', '--target', demo.url], ws);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('config.payload.path "users.csv" does not exist');
    expect(a.stderr).toContain('$processEnvironment.PERF_GATE_TEST_UNSET_KEY');
    writeFileSync(join(ws, 'b.yml'), `config:\n  target: ${demo.url}\n phases: []\nscenarios: []\n`);
    const b = await runCli(['run', '--engine', 'artillery', '--script', 'b.yml', '--target', demo.url], ws);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/Artillery script "b\.yml" is not valid YAML: .*line 3, column 1/);
    expect(b.stderr).toMatch(/^ {2}3 \| {2}phases: \[\]\n {2} {2}\| \^$/m);
    expect(existsSync(join(ws, 'perf-gate-results'))).toBe(false);
  });

  it('a k6 script that is a folder is bad input too', async () => {
    const ws = workspace();
    mkdirSync(join(ws, 'load.js'));
    const r = await runCli(['run', '--engine', 'k6', '--script', 'load.js', '--target', demo.url], ws);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('k6 script "load.js" is a folder, not a file');
  });
});

describe('row 10: messages that help', () => {
  const cases: Array<[string, string[], RegExp]> = [
    [
      'a target list split by commas',
      ['--targets', 'p99<500ms, p95<300ms'],
      /looks like 2 targets separated by commas; give one target per line, or ";" between them \(did you mean "p99<500ms; p95<300ms"\?\)/,
    ],
    [
      '=< for <=',
      ['--targets', 'p99 =< 500ms'],
      /"=<" is not an operator; write "<=" \(did you mean "p99 <= 500ms"\?\)/,
    ],
    [
      'a URL without a scheme',
      ['--target', 'localhost:18080/api/health'],
      /did you mean "http:\/\/localhost:18080\/api\/health"\?/,
    ],
    [
      'an unknown phase',
      ['--phase', 'warmpu'],
      /input "phase": got "warmpu" \(did you mean "warmup"\?\); allowed: warmup, sustained, stress, recovery/,
    ],
    [
      'an unknown metric',
      ['--targets', 'p99x < 500ms'],
      /"p99x" is not a metric perf-gate measures \(did you mean "p99"\?\); built-in metrics: p50, p90, p95, p99/,
    ],
    ['an unknown fail-on', ['--fail-on', 'regresion'], /got "regresion" \(did you mean "regression"\?\)/],
    [
      'a mistyped flag',
      ['--tagret', 'http://127.0.0.1:1'],
      /^error: Unknown option '--tagret' \(did you mean "--target"\?\)/m,
    ],
  ];
  for (const [what, args, message] of cases) {
    it(`${what}: exit 2 with a suggestion`, async () => {
      const ws = workspace();
      const r = await runCli(['run', '--target', demo.url, '--duration', '1s', ...args], ws);
      expect(r.code, r.stdout).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(STACK);
    });
  }

  it('config file: an unknown key, an unknown preset, and a YAML slip shown with its line and a caret', async () => {
    const ws = workspace();
    writeFileSync(join(ws, 'flow.yml'), `flow:\n  - name: a\n    steps:\n      - get: /\n`);
    const key = await runCli(['run', '--target', demo.url, '--config', 'flow.yml'], ws);
    expect(key.code).toBe(2);
    expect(key.stderr).toMatch(
      /flow\.yml: \(top level\): unknown key "flow" \(did you mean "flows"\?\); allowed here: target, phase, engine/,
    );

    writeFileSync(
      join(ws, 'preset.yml'),
      `sources:\n  - kind: cloudwatch\n    metrics:\n      - preset: ecs-cpuu\n        cluster: shop\n`,
    );
    const preset = await runCli(['run', '--target', demo.url, '--config', 'preset.yml'], ws);
    expect(preset.code).toBe(2);
    expect(preset.stderr).toMatch(/preset: got "ecs-cpuu"; allowed: ecs-cpu, .* \(did you mean "ecs-cpu"\?\)/);

    writeFileSync(join(ws, 'slip.yml'), `flows:\n  - name: a\n    steps:\n      - get: /\n     - get: /b\n`);
    const slip = await runCli(['run', '--target', demo.url, '--config', 'slip.yml'], ws);
    expect(slip.code).toBe(2);
    expect(slip.stderr).toContain('slip.yml: not valid YAML');
    expect(slip.stderr).toContain('  4 |       - get: /\n  5 |      - get: /b\n    | ^');
    expect(existsSync(join(ws, 'perf-gate-results'))).toBe(false);
  });
});

describe('row 11: an error verdict, and a config error', () => {
  it('an unreachable target prints the reason and what was measured, not tables of "—"', async () => {
    const ws = workspace();
    const r = await runCli(['run', '--target', 'http://127.0.0.1:9', '--duration', '1s'], ws);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/warmup ERROR/);
    expect(r.stdout).toMatch(/- target http:\/\/127\.0\.0\.1:9 is unreachable: /);
    expect(r.stdout).toContain('Measured: nothing (no request completed');
    expect(r.stdout).not.toContain('—');
    expect(r.stdout).not.toMatch(/^Metric\s+Target/m);
    expect(r.stdout.trim().split('\n').length).toBeLessThan(8);
    // The report says no load was sent, not that the load went "as asked".
    const report = readFileSync(join(runFolders(join(ws, 'perf-gate-results'))[0]!, 'report.md'), 'utf8');
    expect(report).toContain('no load was sent');
    expect(report).not.toContain('as asked');
  });

  it('a config error with --output-dir creates no output dir', async () => {
    const ws = workspace();
    const r = await runCli(
      ['run', '--target', demo.url, '--targets', 'p99 < 5 parsecs', '--output-dir', 'deep/out'],
      ws,
    );
    expect(r.code).toBe(2);
    expect(readdirSync(ws)).toEqual([]);
  });
});

describe("row 12: the CLI in a team's own repository", () => {
  it("npm pack's tarball installs into a fresh project outside the repository and runs there", async () => {
    const packDir = mkdtempSync(join(tmpdir(), 'perf-gate-pack-'));
    const pack = await exec('npm', ['pack', '--pack-destination', packDir, '--json'], resolve('.'));
    expect(pack.code, pack.out).toBe(0);
    const [info] = JSON.parse(pack.out.slice(pack.out.indexOf('['))) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    const files = info!.files.map((f) => f.path);
    expect(files).toContain('bin/perf-gate.js');
    expect(files).toContain('dist/cli.js');
    expect(files.some((f) => f.startsWith('src/') || f.startsWith('__tests__/'))).toBe(false);

    const team = mkdtempSync(join(tmpdir(), 'team-app-'));
    writeFileSync(join(team, 'package.json'), JSON.stringify({ name: 'team-app', version: '1.0.0', private: true }));
    const install = await exec(
      'npm',
      ['install', '--no-audit', '--no-fund', '--offline', join(packDir, info!.filename)],
      team,
    );
    expect(install.code, install.out).toBe(0);
    // The bundle needs nothing else: one package installed.
    expect(readdirSync(join(team, 'node_modules')).filter((n) => !n.startsWith('.'))).toEqual(['perf-gate']);
    const run = await exec(
      'npx',
      ['--no-install', 'perf-gate', 'run', '--target', demo.url, '--duration', '1s', '--rate', '5'],
      team,
    );
    expect(run.code, run.out).toBe(0);
    expect(run.out).toMatch(/warmup PASSED/);
    expect(runFolders(join(team, 'perf-gate-results'))).toHaveLength(1);
  }, 60_000);
});

describe("row 13 (and 8): Artillery's first install is one line, and is not run time", () => {
  const ws = workspace();
  const cache = join(ws, 'tool-cache');

  it("installs under perf-gate's Node, says so in one line, and the run's length leaves the install out", async () => {
    writeFileSync(join(ws, 'processors.js'), 'module.exports = {};\n');
    writeFileSync(join(ws, 'load-test.yml'), GUIDE_SCRIPT(demo.url));
    const r = await runCli(
      [
        'run',
        '--engine',
        'artillery',
        '--script',
        'load-test.yml',
        '--target',
        demo.url,
        '--targets',
        'error_rate < 1%',
      ],
      ws,
      { RUNNER_TOOL_CACHE: cache },
    );
    expect(r.code, r.stderr).toBe(0);
    const installLines = r.stderr
      .split('\n')
      .filter((l) => /artillery@|\[npm\]|npm (warn|WARN)|EBADENGINE|allowScripts|install script/i.test(l));
    expect(installLines.length, installLines.join('\n')).toBe(2);
    expect(installLines[0]).toMatch(/installing artillery@2\.\d+\.\d+ into/);
    expect(installLines[1]).toMatch(
      new RegExp(
        `^Installed artillery@2\\.\\d+\\.\\d+ \\(\\d+ packages\\) in [\\d.]+ s, with Node ${process.version.replace(/\./g, '\\.')}`,
      ),
    );
    expect(r.stderr).not.toMatch(/22\.18/);
    const installSeconds = Number(/in ([\d.]+) s, with Node/.exec(installLines[1]!)![1]);
    const results = JSON.parse(
      readFileSync(join(runFolders(join(ws, 'perf-gate-results'))[0]!, 'results.json'), 'utf8'),
    ) as { run: { durationMs: number } };
    // The script's phase is 3 s: the install (tens of seconds) is not in it.
    expect(results.run.durationMs).toBeLessThan(Math.max(10_000, installSeconds * 1000 - 5000));
  }, 240_000);

  it('a processor that crashes Artillery is an error verdict with a one-line reason: no stack in the terminal, report or summary', async () => {
    writeFileSync(join(ws, 'broken.js'), 'module.exports = {};\nthrow new Error("processor blew up on load");\n');
    writeFileSync(join(ws, 'crash.yml'), GUIDE_SCRIPT(demo.url).replace('./processors.js', './broken.js'));
    const r = await runAction(
      { target: demo.url, engine: 'artillery', script: 'crash.yml', comment: 'false' },
      { apiUrl: github.url, workspace: ws, env: { RUNNER_TOOL_CACHE: cache } },
    );
    expect(r.outputs.verdict).toBe('error');
    const failed = r.stdout.split('\n').find((l) => l.startsWith('::error::'));
    expect(failed).toMatch(/perf-gate warmup: error: engine artillery failed/);
    const report = readFileSync(r.outputs.results!.replace(/results\.json$/, 'report.md'), 'utf8');
    for (const text of [r.summary, report, readFileSync(r.outputs.results!, 'utf8')]) expect(text).not.toMatch(STACK);
    expect(r.summary).toMatch(/engine artillery failed: [^\n]+/);
  }, 120_000);
});
