// The bundled dist/index.js run as the GitHub runner runs it, with PostgreSQL and Redis sources against the bids
// app (helpers/bids-app.ts): a healthy run passes, one that loses 2 % of its acknowledged writes fails on the
// bids_stored query, a full Redis shows its evictions, a Redis that is down is unavailable without blocking the
// load, and the database password reaches neither the log, the summary nor results.json.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { bidsGateConfig, useBidsStack } from './helpers/bids-app.js';
import { runAction as runActionAs } from './helpers/run-action.js';

const bids = useBidsStack();

async function runAction(targets: string[]) {
  const workspace = mkdtempSync(join(tmpdir(), 'perf-gate-sources-e2e-'));
  mkdirSync(join(workspace, '.github'));
  writeFileSync(join(workspace, '.github/perf-gate.yml'), JSON.stringify(await bidsGateConfig(bids, targets)));
  const r = await runActionAs(
    { target: bids.app.url, phase: 'quick', comment: 'false' },
    {
      apiUrl: 'http://127.0.0.1:9',
      workspace,
      eventName: 'workflow_dispatch',
      event: { ref: 'refs/heads/main', repository: { full_name: 'ftw/shop', name: 'shop', owner: { login: 'ftw' } } },
      env: { PERF_DATABASE_URL: bids.db.readerUrl },
    },
  );
  const resultsText = r.outputs.results ? readFileSync(r.outputs.results, 'utf8') : '';
  return { ...r, resultsText };
}

type Saved = {
  run: {
    requests: number;
    infra: Array<{ name: string; stats: { max?: number; last?: number }; unavailable?: string }>;
  };
  verdict: { status: string };
};

describe('dist/index.js with PostgreSQL and Redis sources', () => {
  it('passes a healthy run: every bid stored, evictions seen, the Redis that is down unavailable', async () => {
    bids.app.faults.dropEvery = 0;
    await bids.app.reset();
    const r = await runAction(['bids_stored >= 40', 'redis_evictions > 0', 'max(lock_waits) == 0']);
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.verdict).toBe('pass');
    const saved = JSON.parse(r.resultsText) as Saved;
    const infra = new Map(saved.run.infra.map((m) => [m.name, m]));
    expect(saved.run.requests).toBe(40);
    expect(infra.get('bids_stored')!.stats.last).toBe(40);
    expect(infra.get('redis_evictions')!.stats.max!).toBeGreaterThan(0);
    expect(infra.get('sessions_clients')!.unavailable).toMatch(/cannot connect/);
    expect(r.summary).toMatch(/\|\s*`redis_evictions`\s*\|\s*Redis\s*\|/);
    for (const text of [r.stdout, r.summary, r.resultsText]) expect(text).not.toContain(bids.db.password);
  }, 60_000);

  it('fails a run that loses 2 % of its acknowledged writes', async () => {
    bids.app.faults.dropEvery = 20;
    await bids.app.reset();
    const r = await runAction(['bids_stored >= 40']);
    expect(r.code, r.stdout).toBe(1);
    expect(r.outputs.verdict).toBe('fail');
    const saved = JSON.parse(r.resultsText) as Saved;
    expect(saved.run.infra.find((m) => m.name === 'bids_stored')!.stats.last).toBe(38);
  }, 60_000);
});
