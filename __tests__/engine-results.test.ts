// The results engine over the genuine k6 and Artillery outputs in fixtures/: pattern expansion relative to the
// workspace, the no-match error, and merging several files into one run.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Config } from '../src/config/types.js';
import { expandPatterns, resultsEngine } from '../src/engines/results/engine.js';
import { readResultFile } from '../src/readers/index.js';
import { UserError } from '../src/errors.js';
import type { Logger } from '../src/log.js';

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), 'fixtures');

const log: Logger = { info: () => {}, warning: () => {}, debug: () => {} };

function makeConfig(results: string[], over: Partial<Config> = {}): Config {
  return {
    target: '',
    phase: { name: 'sustained', stages: [], defaultTargets: [], description: '' },
    engine: 'results',
    targets: [],
    failOn: 'any',
    comment: 'false',
    commentHeader: 'test',
    outputDir: '/tmp/perf-gate-results-engine',
    flows: [],
    http: { timeoutMs: 5000, maxInFlight: 100, count4xxAsErrors: false, headers: {} },
    intervalMs: 10_000,
    results,
    workspace: FIXTURES,
    distributed: { mode: 'none' },
    sources: [],
    ...over,
  };
}

describe('results engine', () => {
  it('expands a glob relative to the workspace, in alphabetical order', async () => {
    const files = await expandPatterns(['k6/export-*.json'], FIXTURES);
    expect(files.map((f) => f.slice(FIXTURES.length + 1))).toEqual([
      'k6/export-andreposman-qrcode.json',
      'k6/export-noerkholis-ticketing-statussubmetric.json',
      'k6/export-sirhcc-apiratelimiter-degenerate.json',
      'k6/export-szboynono-2020-dev-export-groups.json',
      'k6/export-tiagonline-kitqa-groups.json',
    ]);
  });

  it('reads one file: engine "results", source files relative to the workspace, phase from the config', async () => {
    const run = await resultsEngine.run({ config: makeConfig(['artillery/v2-weighttracker.json']), stages: [], log });
    const direct = await readResultFile(join(FIXTURES, 'artillery/v2-weighttracker.json'), {
      phase: 'sustained',
      count4xxAsErrors: false,
    });
    expect(run.engine).toBe('results');
    expect(run.sourceFiles).toEqual(['artillery/v2-weighttracker.json']);
    expect(run.phase).toBe('sustained');
    expect(run.requests).toBe(direct.requests);
    expect(run.requests).toBeGreaterThan(0);
  });

  it('refuses to add up files of two runs from two patterns (runs one after another, not instances side by side)', async () => {
    const a = 'k6/ndjson-brazierale-spark.ndjson';
    const b = 'k6/ndjson-mattihew-k6tojunit-*.ndjson';
    const err = await resultsEngine.run({ config: makeConfig([a, b]), stages: [], log }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(
      /ndjson-brazierale-spark\.ndjson \(started .*ndjson-mattihew-k6tojunit-2019\.ndjson \(started /,
    );
  });

  it('a file matched by several patterns is read once', async () => {
    const run = await resultsEngine.run({
      config: makeConfig(['k6/export-andreposman-qrcode.json', 'k6/export-andreposman-*.json']),
      stages: [],
      log,
    });
    expect(run.sourceFiles).toEqual(['k6/export-andreposman-qrcode.json']);
  });

  it('absolute patterns work too', async () => {
    const files = await expandPatterns([join(FIXTURES, 'artillery', 'v1-*.json')], '/');
    expect(files).toHaveLength(4);
    expect(files.every((f) => f.startsWith(join(FIXTURES, 'artillery', 'v1-')))).toBe(true);
  });

  it('a pattern that matches nothing is a user error naming it, even when other patterns match', async () => {
    const err = await resultsEngine
      .run({ config: makeConfig(['k6/export-*.json', 'reports/*.ndjson']), stages: [], log })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toContain('"reports/*.ndjson" matches no file');
    await expect(resultsEngine.run({ config: makeConfig(['k6/missing.json']), stages: [], log })).rejects.toThrow(
      /"k6\/missing.json" matches no file/,
    );
  });

  it('a directory is not a results file', async () => {
    await expect(resultsEngine.run({ config: makeConfig(['k6']), stages: [], log })).rejects.toThrow(UserError);
  });
});
