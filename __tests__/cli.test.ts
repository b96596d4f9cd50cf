// The command-line entry, run as a developer runs it: `perf-gate run ...` through bin/perf-gate.js (the bundled
// dist/cli.js), against the demo target on 127.0.0.1.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoServer } from '../demo/server.ts';
import { lastResults } from './helpers/output-dir.js';

const BIN = resolve('bin/perf-gate.js');
let demo: Awaited<ReturnType<typeof startDemoServer>>;

beforeAll(async () => {
  demo = await startDemoServer({ port: 0 });
});
afterAll(async () => {
  await demo?.close();
});

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string; cwd: string }> {
  const cwd = mkdtempSync(join(tmpdir(), 'perf-gate-cli-'));
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, [BIN, ...args], { cwd });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const code = await new Promise<number>((r) => child.on('exit', (c) => r(c ?? -1)));
  return { code, stdout, stderr, cwd };
}

describe('perf-gate run', () => {
  it('prints the results table and exits 0 when the gate passes', async () => {
    const r = await run([
      'run',
      '--target',
      demo.url,
      '--duration',
      '2s',
      '--rate',
      '20',
      '--targets',
      'p99 < 500ms;error_rate < 1%',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/warmup PASSED/);
    expect(r.stdout).toMatch(/p99 latency\s+< 500 ms\s+[\d.]+ ms\s+PASS/);
    expect(r.stdout).toMatch(/error rate\s+< 1 %\s+0 %\s+PASS/);
    expect(existsSync(join(r.cwd, 'perf-gate-results', 'LOAD_TEST_RESULTS.md'))).toBe(true);
    expect(existsSync(lastResults(join(r.cwd, 'perf-gate-results')))).toBe(true);
  });

  it('exits 1 when a target fails, naming it', async () => {
    const r = await run([
      'run',
      '--target',
      `${demo.url}/slow?ms=120`,
      '--duration',
      '2s',
      '--rate',
      '10',
      '--targets',
      'p95 < 50ms',
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/FAILED/);
    expect(r.stdout).toMatch(/p95 < 50ms: measured 1\d\d(\.\d+)? ms/);
  });

  it('exits 2 on bad input with one clear line and no stack trace', async () => {
    const r = await run(['run', '--target', demo.url, '--phase', 'soak']);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('error: input "phase": got "soak"; allowed: warmup, sustained, stress, recovery');
    const unknown = await run(['run', '--targett', demo.url]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/Unknown option '--targett'/);
  });

  it('builds a local history with --record and fails a slower run against it', async () => {
    const history = join(mkdtempSync(join(tmpdir(), 'perf-gate-cli-history-')), 'history.json');
    const common = [
      'run',
      '--duration',
      '2s',
      '--rate',
      '20',
      '--targets',
      'p99 < 2s',
      '--baseline',
      `file:${history}`,
      '--record',
    ];
    const first = await run([...common, '--target', `${demo.url}/slow?ms=10`]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/Baseline: no recorded run yet/);
    expect(first.stderr).toMatch(/baseline: recorded this run in .*history\.json \(1 runs kept/);
    const slower = await run([...common, '--target', `${demo.url}/slow?ms=60`]);
    expect(slower.code, slower.stderr).toBe(1);
    expect(slower.stdout).toMatch(/^p99 latency +[\d.]+ ms +[\d.]+ ms +↑ \+\d[\d,.]* % +regressed$/m);
    expect(JSON.parse(readFileSync(history, 'utf8')).entries.map((e: { branch?: string }) => e.branch)).toEqual([
      'local',
      'local',
    ]);
    const wrong = await run(['run', '--target', demo.url, '--record']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr.trim()).toBe(
      'error: --record needs --baseline file:<path> (got no baseline); the other stores are written by the action on GitHub',
    );
  });

  it('counts 4xx as errors by default (as k6 http_req_failed), and keeps the old meaning when told', async () => {
    const r = await run([
      'run',
      '--target',
      `${demo.url}/status/404`,
      '--duration',
      '2s',
      '--rate',
      '10',
      '--targets',
      'error_rate < 1%',
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/error rate\s+< 1 %\s+100 %\s+FAIL/);
    const cwd = mkdtempSync(join(tmpdir(), 'perf-gate-cli-4xx-'));
    writeFileSync(join(cwd, 'perf-gate.yml'), 'http:\n  count-4xx-as-errors: false\n');
    const old = await run([
      'run',
      '--config',
      join(cwd, 'perf-gate.yml'),
      '--target',
      `${demo.url}/status/404`,
      '--duration',
      '2s',
      '--rate',
      '10',
      '--targets',
      'error_rate < 1%',
    ]);
    expect(old.code, old.stderr).toBe(0);
  });

  it("fails on a k6 file's failed threshold with no target of its own, and keeps the row in results.json", async () => {
    const file = resolve('__tests__/fixtures/k6/export-sirhcc-apiratelimiter-degenerate.json');
    const r = await run([
      'run',
      '--engine',
      'results',
      '--results',
      file,
      '--targets',
      'requests > 0; p95{name:nope} < 1s?',
    ]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/http_req_failed: rate<0\.1: failed \(the tool's own threshold\)/);
    const results = JSON.parse(readFileSync(lastResults(join(r.cwd, 'perf-gate-results')), 'utf8')) as {
      verdict: {
        status: string;
        targets: Array<{
          origin?: string;
          status: string;
          actual?: number;
          note?: string;
          target: { source: string; endpoint?: string };
        }>;
      };
    };
    expect(results.verdict.status).toBe('fail');
    expect(results.verdict.targets.find((t) => t.origin === 'tool' && t.status === 'fail')).toMatchObject({
      actual: 1,
      target: { source: 'http_req_failed: rate<0.1' },
    });
    expect(results.verdict.targets[1]).toMatchObject({
      status: 'not_measured',
      target: { endpoint: 'nope' },
      note: 'no endpoint "nope": this run recorded no per-endpoint figures',
    });
  });

  it('prints usage for --help', () => {
    const r = spawnSync(process.execPath, [BIN, '--help'], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    expect(r.stderr + r.stdout).toMatch(/usage: perf-gate run --target URL/);
  });
});
