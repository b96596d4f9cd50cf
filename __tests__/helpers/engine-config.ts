// A typed Config for tests that hand one straight to an engine (no loader): the phase is `warmup` with the given
// stages, nothing is published, and every field a test does not name has a plain default it can override.
import type { Config } from '../../src/config/types.js';
import type { Stage } from '../../src/model.js';

export function engineConfig(target: string, stages: Stage[], over: Partial<Config> = {}): Config {
  return {
    target,
    phase: { name: 'warmup', stages, defaultTargets: [], description: '' },
    engine: 'builtin',
    targets: [],
    failOn: 'any',
    comment: 'false',
    commentHeader: 'test',
    outputDir: '/tmp/perf-gate-test',
    flows: [],
    http: { timeoutMs: 5000, maxInFlight: 100, count4xxAsErrors: false, headers: {} },
    intervalMs: 1000,
    sources: [],
    workspace: process.cwd(),
    distributed: { mode: 'none' },
    ...over,
  };
}
