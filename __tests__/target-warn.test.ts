// A warning level on targets (`p99 < 500ms warn 400ms`): read in the threshold's units, judged as a pass with a
// warning past the level, shown with ⚠️ in the results table and the verdict sentence, listed in the `warnings`
// output, and never failing the check, through the bundled action as the runner runs it.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoServer } from '../demo/server.ts';
import { decide, evaluateTargets } from '../src/gate/evaluate.js';
import { parseTarget } from '../src/gate/targets.js';
import { outputsFor } from '../src/github/outputs.js';
import { renderReport } from '../src/report/markdown.js';
import { renderTerminal } from '../src/report/terminal.js';
import { reportInput } from './helpers/report-scenarios.js';
import { startGitHubStub } from './helpers/github-stub.js';
import { runAction } from './helpers/run-action.js';
import { sampleRun } from './helpers/sample-run.js';

describe('parsing a warning level', () => {
  it('reads the level in the units of the threshold', () => {
    expect(parseTarget('p99 < 500ms warn 400ms')).toMatchObject({
      metric: 'p99',
      op: '<',
      value: 500,
      warn: 400,
      source: 'p99 < 500ms warn 400ms',
    });
    expect(parseTarget('p99 < 1s warn 800ms')).toMatchObject({ value: 1000, warn: 800 });
    expect(parseTarget('p95 < 2s warn 1.5s')).toMatchObject({ value: 2000, warn: 1500 });
    expect(parseTarget('error_rate < 0.5% warn 0.2%')).toMatchObject({ metric: 'error_rate', value: 0.5, warn: 0.2 });
    expect(parseTarget('throughput > 100/s warn 150/s')).toMatchObject({
      metric: 'throughput',
      op: '>',
      value: 100,
      warn: 150,
    });
    expect(parseTarget('throughput >= 6000/m warn 9000/m')).toMatchObject({ value: 100, warn: 150 });
    expect(parseTarget('p99{bid} < 500ms warn 350ms')).toMatchObject({
      metric: 'p99{bid}',
      endpoint: 'bid',
      warn: 350,
    });
    expect(parseTarget('db_connections < 80% of max warn 60%')).toMatchObject({ value: 80, warn: 60 });
    expect(parseTarget('optional: p999 < 2s warn 1s')).toMatchObject({ optional: true, warn: 1000 });
    expect(parseTarget('p999 < 2s warn 1s?')).toMatchObject({ optional: true, warn: 1000 });
    expect(parseTarget('p99 < 500ms').warn).toBeUndefined();
    // " warn " inside an endpoint label is part of the label.
    expect(parseTarget('p99{GET /a warn b} < 1s')).toMatchObject({ endpoint: 'GET /a warn b', value: 1000 });
  });

  it('refuses a level on the failing side, with ==, against a metric, or in another unit, naming the target', () => {
    expect(() => parseTarget('p99 < 500ms warn 600ms', 'input "targets"')).toThrow(
      /input "targets": target "p99 < 500ms warn 600ms": the warning level must be below the threshold/,
    );
    expect(() => parseTarget('throughput > 100/s warn 50/s')).toThrow(/must be above the threshold/);
    expect(() => parseTarget('p99 < 500ms warn 500ms')).toThrow(/must be below/);
    expect(() => parseTarget('errors == 0 warn 1')).toThrow(/cannot have a warning level/);
    expect(() => parseTarget('bids_stored >= requests{bid} warn 10')).toThrow(/cannot have a warning level/);
    expect(() => parseTarget('error_rate < 0.5% warn 0.2')).toThrow(/cannot read the warning level "0.2"/);
  });
});

describe('judging and reporting a warning', () => {
  const run = sampleRun({ latency: { count: 100, p50: 200, p95: 380, p99: 432 }, errorRate: 0.1, errors: 0 });
  const targets = ['p99 < 500ms warn 400ms', 'p95 < 500ms warn 400ms', 'error_rate < 0.5% warn 0.2%'].map((t) =>
    parseTarget(t),
  );

  it('a value past the level that meets the target passes with a warning; one past the target fails', () => {
    const results = evaluateTargets(run, targets);
    expect(results.map((r) => [r.status, r.warning ?? false])).toEqual([
      ['pass', true],
      ['pass', false],
      ['pass', false],
    ]);
    const verdict = decide(run, targets, 'any');
    expect(verdict.status).toBe('pass');
    expect(verdict.failsCheck).toBe(false);
    expect(evaluateTargets(sampleRun({ latency: { count: 100, p99: 501 } }), [targets[0]!])[0]).toMatchObject({
      status: 'fail',
    });
    // The level is a threshold like the target's: `< 500ms warn 400ms` warns from 400 ms on.
    expect(evaluateTargets(sampleRun({ latency: { count: 100, p99: 400 } }), [targets[0]!])[0]!.warning).toBe(true);
    expect(
      evaluateTargets(sampleRun({ latency: { count: 100, p99: 399 } }), [targets[0]!])[0]!.warning,
    ).toBeUndefined();
  });

  it('shows ⚠️ in the row and in the verdict sentence, lists it in the warnings output, and says WARN in the terminal', () => {
    const verdict = decide(run, targets, 'any');
    const md = renderReport(reportInput(run, verdict));
    const lines = md.split('\n');
    const sentence = lines.find((l) => l.startsWith('**All 3 targets hold'))!;
    expect(sentence).toBe(
      '**All 3 targets hold; ⚠️ p99 latency 432 ms past its warning level (< 500 ms (warn 400 ms)).**',
    );
    const row = lines.find((l) => l.startsWith('| p99'))!;
    expect(row).toMatch(/\| < 500 ms \(warn 400 ms\) \| 432 ms .*\| ⚠️ warning \|$/);
    expect(lines.find((l) => l.startsWith('| p95'))).toMatch(/✅ pass +\|$/);
    expect(md).toContain('\n## ✅ perf-gate: sustained passed\n');
    const out = outputsFor(run, verdict, {});
    expect(JSON.parse(out.warnings)).toEqual([
      { target: 'p99 < 500ms warn 400ms', metric: 'p99', actual: 432, warn: 400, unit: 'ms' },
    ]);
    expect(JSON.parse(outputsFor(run, decide(run, [parseTarget('p99 < 500ms')], 'any'), {}).warnings)).toEqual([]);
    expect(renderTerminal(reportInput(run, verdict))).toMatch(/WARN/);
  });
});

describe('through dist/index.js', () => {
  let demo: Awaited<ReturnType<typeof startDemoServer>>;
  let github: Awaited<ReturnType<typeof startGitHubStub>>;
  beforeAll(async () => {
    demo = await startDemoServer({ port: 0 });
    github = await startGitHubStub({});
  });
  afterAll(async () => {
    await demo?.close();
    await github?.close();
  });

  it('a warning passes the check, and the outputs, results.json and the report say so', async () => {
    const r = await runAction(
      {
        target: demo.url,
        duration: '2s',
        rate: '10',
        targets: 'p99 < 10s warn 0.001ms\nerror_rate < 50% warn 40%',
        'comment-header': 'warn',
      },
      { apiUrl: github.url },
    );
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.verdict).toBe('pass');
    const warnings = JSON.parse(r.outputs.warnings!);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ target: 'p99 < 10s warn 0.001ms', metric: 'p99', warn: 0.001, unit: 'ms' });
    expect(warnings[0].actual).toBeCloseTo(Number(r.outputs['p99-ms']), 1);
    const results = JSON.parse(readFileSync(r.outputs.results!, 'utf8'));
    expect(results.verdict.targets[0]).toMatchObject({ status: 'pass', warning: true, target: { warn: 0.001 } });
    expect(readFileSync(r.outputs.report!, 'utf8')).toContain('⚠️ warning');
    expect(r.summary).toContain('past its warning level');
  });
});
