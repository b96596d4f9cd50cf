// A small healthy run (100 requests in a minute, p99 10 ms) for tests that only care about what they add to it.
import { blankRunResult, type RunResult } from '../../src/model.js';

export function sampleRun(over: Partial<RunResult> = {}): RunResult {
  return blankRunResult({
    engine: 'builtin',
    phase: 'sustained',
    startedAt: '2026-11-27T00:00:00.000Z',
    endedAt: '2026-11-27T00:01:00.000Z',
    durationMs: 60_000,
    requests: 100,
    statusCodes: { '200': 100 },
    errorRate: 0,
    latency: { count: 100, p99: 10 },
    ...over,
  });
}
