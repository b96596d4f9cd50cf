// The sources inside the real pipeline with the built-in engine, against a small auction app of the test's own
// (PostgreSQL for the bids, Redis as its cache, a switch that drops some acknowledged writes): a query run `at:
// end` counts every bid because it runs after the engine has waited for the requests in flight; a Redis that is
// down is unavailable and does not delay the load; a full Redis shows its evictions; no password reaches a file.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../src/config/load.js';
import { runPipeline } from '../src/pipeline.js';
import { bidsGateConfig, useBidsStack } from './helpers/bids-app.js';
import type { Logger } from '../src/log.js';

const bids = useBidsStack();

async function gate(targets: string[]) {
  const file = JSON.stringify(await bidsGateConfig(bids, targets));
  const workspace = mkdtempSync(join(tmpdir(), 'perf-gate-sources-pipeline-'));
  const configPath = join(workspace, '.github/perf-gate.yml');
  const config = resolveConfig(
    { target: bids.app.url, phase: 'quick', 'output-dir': 'out' },
    { workspace, fileExists: (p) => p === configPath, readFile: () => file },
  );
  const lines: string[] = [];
  const log: Logger = {
    info: (m) => lines.push(m),
    warning: (m) => lines.push(`warning: ${m}`),
    debug: (m) => lines.push(m),
  };
  const saved = process.env.PERF_DATABASE_URL;
  process.env.PERF_DATABASE_URL = bids.db.readerUrl;
  const t0 = performance.now();
  try {
    const outcome = await runPipeline(config, { log });
    return {
      outcome,
      lines,
      seconds: (performance.now() - t0) / 1000,
      results: readFileSync(outcome.resultsPath, 'utf8'),
      markdown: outcome.markdown,
    };
  } finally {
    if (saved === undefined) delete process.env.PERF_DATABASE_URL;
    else process.env.PERF_DATABASE_URL = saved;
  }
}

describe('sources in the pipeline', () => {
  it('counts every acknowledged bid after the requests in flight finished; a down Redis does not hold up the load', async () => {
    bids.app.faults.dropEvery = 0;
    await bids.app.reset();
    const { outcome, lines, seconds, results, markdown } = await gate([
      'bids_stored >= 40',
      'max(lock_waits) == 0',
      'redis_evictions > 0',
    ]);
    const { run, verdict } = outcome;
    expect(run.requests).toBe(40);
    const infra = new Map(run.infra!.map((m) => [m.name, m]));
    // 40 bids, each stored 200 ms after it was sent: the last ones were in flight when the schedule ended.
    expect(infra.get('bids_stored')!.stats.last).toBe(40);
    expect(verdict.targets.map((t) => [t.target.source, t.status])).toEqual([
      ['bids_stored >= 40', 'pass'],
      ['max(lock_waits) == 0', 'pass'],
      ['redis_evictions > 0', 'pass'],
      // The given targets name no error-rate bound: the phase's is kept.
      ['error_rate < 0.5%', 'pass'],
    ]);
    expect(verdict.status).toBe('pass');
    expect(infra.get('redis_evictions')!.stats.max!).toBeGreaterThan(0);
    expect(infra.get('redis_memory')!.unit).toBe('%');
    // The Redis that is down: every metric unavailable with the reason, the load sent in full all the same.
    for (const name of ['sessions_clients', 'sessions_memory', 'sessions_evictions']) {
      expect(infra.get(name)!.unavailable).toMatch(/^cannot connect: .*ECONNREFUSED/);
    }
    expect(seconds).toBeLessThan(15);
    expect(lines.join('\n')).toMatch(/redis 127\.0\.0\.1:\d+: cannot connect/);
    // In results.json and in the Infrastructure table of the report.
    const saved = JSON.parse(results) as { run: { infra: Array<{ name: string; source: string }> } };
    expect(saved.run.infra.find((m) => m.name === 'bids_stored')).toMatchObject({ source: 'postgres' });
    expect(markdown).toMatch(/\|\s*`redis_evictions`\s*\|\s*Redis\s*\|/);
    expect(markdown).toMatch(/\|\s*`bids_stored`\s*\|\s*PostgreSQL\s*\|\s*40\s*\|/);
    expect(markdown).toMatch(/\|\s*`sessions_clients`\s*\|\s*Redis\s*\|.*unavailable: cannot connect/);
    for (const text of [results, markdown, lines.join('\n')]) expect(text).not.toContain(bids.db.password);
  }, 60_000);

  it('fails a run whose API loses acknowledged writes', async () => {
    bids.app.faults.dropEvery = 20; // 2 of 40 acknowledged bids are not stored
    await bids.app.reset();
    const { outcome } = await gate(['bids_stored >= 40']);
    expect(outcome.run.requests).toBe(40);
    expect(outcome.run.infra!.find((m) => m.name === 'bids_stored')!.stats.last).toBe(38);
    expect(outcome.verdict.targets[0]).toMatchObject({ status: 'fail', actual: 38 });
    expect(outcome.verdict.status).toBe('fail');
  }, 60_000);
});
