import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getOctokit } from '@actions/github';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { historyFileName } from '../src/baseline/artifact-store.js';
import {
  baselineConfigSchema,
  parseBaselineSpec,
  resolveBaselineConfig,
  type BaselineConfig,
} from '../src/config/baseline.js';
import { gitContextFromEnv } from '../src/baseline/context.js';
import { entryFromRun, serializeHistory, emptyHistory } from '../src/baseline/entry.js';
import { baselineContext, loadBaseline, recordRun, shouldRecord } from '../src/baseline/index.js';
import { regressionStep } from '../src/pipeline/regression.js';
import { comparisonCells } from '../src/baseline/report.js';
import type { BaselineContext, GitContext } from '../src/baseline/types.js';
import { readZip, ZipError } from '../src/baseline/zip.js';
import { parseRegressionRules } from '../src/gate/regression.js';
import type { RunResult } from '../src/model.js';
import { makeZip, startDataStub, syntheticRun, type DataStub } from './helpers/github-data-stub.js';
import { UserError } from '../src/errors.js';

const HISTORY_PATH = 'perf-gate/production/warmup.json';
const DATA = 'perf-gate-data';
const sha = (n: number | string): string => String(n).padStart(40, 'c');

let stub: DataStub;
let logs: string[];
let workdir: string;

beforeAll(async () => {
  stub = await startDataStub();
});
afterAll(async () => {
  await stub.close();
});
beforeEach(() => {
  stub.state.files.clear();
  stub.state.branches.clear();
  stub.state.branches.set('main', sha('main'));
  stub.state.mergeBases.clear();
  stub.state.runs = [];
  stub.state.artifacts = [];
  stub.state.issueEvents.clear();
  stub.state.holdContentReads = 0;
  stub.requests.length = 0;
  logs = [];
  workdir = mkdtempSync(join(tmpdir(), 'perf-gate-baseline-'));
});
afterEach(() => rmSync(workdir, { recursive: true, force: true }));

function context(git: Partial<GitContext>, over: Partial<BaselineContext> = {}): BaselineContext {
  return {
    log: {
      info: (m) => logs.push(`info: ${m}`),
      warning: (m) => logs.push(`warning: ${m}`),
      debug: (m) => logs.push(`debug: ${m}`),
    },
    workspace: workdir,
    environment: 'production',
    historyLimit: 30,
    onCorrupt: 'error',
    git: { owner: 'acme', repo: 'shop', eventName: 'push', ...git },
    github: getOctokit('stub-token', { baseUrl: stub.url }),
    retryBaseMs: 5,
    now: () => new Date('2025-03-20T12:00:00Z'),
    ...over,
  };
}

const push = (n: number, over: Partial<GitContext> = {}): Partial<GitContext> => ({
  eventName: 'push',
  branch: 'main',
  defaultBranch: 'main',
  sha: sha(n),
  runId: String(1000 + n),
  runAttempt: '1',
  ...over,
});
const pr = (head = sha('head')): Partial<GitContext> => ({
  eventName: 'pull_request',
  branch: 'feature',
  sha: head,
  pullRequest: { number: 7, baseRef: 'main', headRef: 'feature', headSha: head },
});

function config(over: Partial<BaselineConfig> = {}): BaselineConfig {
  return {
    spec: parseBaselineSpec(`branch:${DATA}`)!,
    environment: 'production',
    historyLimit: 30,
    minHistory: 5,
    rules: parseRegressionRules(['p99: +10% and +20ms', 'error_rate: +0.2pp'], 'test', false),
    acceptLabel: 'perf-regression-accepted',
    onCorrupt: 'error',
    confirm: false,
    ...over,
  };
}

/** Runs of main, one an hour, each recorded the way a push to main would record it. */
async function recordMainRuns(
  count: number,
  opts: { scale?: (i: number) => number; limit?: number; stages?: RunResult['shape'] } = {},
): Promise<void> {
  for (let i = 0; i < count; i++) {
    const run = syntheticRun({
      seed: 50 + i,
      scale: opts.scale?.(i) ?? 1,
      startedAt: new Date(Date.parse('2025-03-10T00:00:00Z') + i * 3_600_000).toISOString(),
      ...(opts.stages ? { stages: opts.stages.stages } : {}),
    });
    const res = await recordRun(config().spec!, run, context(push(i), { historyLimit: opts.limit ?? 30 }));
    expect(res.written).toBe(true);
  }
}

function historyOnBranch(): { entries: Array<{ id: string; sha?: string; histogram?: unknown }> } {
  const text = stub.readFile(DATA, HISTORY_PATH);
  expect(text, `${HISTORY_PATH} on ${DATA}`).toBeDefined();
  return JSON.parse(text!);
}

describe('branch store', () => {
  it('treats the first run as no baseline, not a failure', async () => {
    const out = await regressionStep(syntheticRun({ seed: 1 }), config(), context(pr()));
    expect(out!.regressions.map((r) => r.status)).toEqual(['no_baseline', 'no_baseline']);
    expect(out!.baseline.note).toMatch(
      /no recorded run yet: this is the first.*data branch perf-gate-data does not exist yet/,
    );
    expect(out!.baseline.source).toBe(`branch:${DATA} (branch ${DATA}: ${HISTORY_PATH})`);
  });

  it('records default-branch runs: creates the data branch, appends, keeps the last N', async () => {
    await recordMainRuns(4, { limit: 3 });
    const created = stub.requests.filter((r) => r.method === 'POST' && r.path.endsWith('/git/refs'));
    expect(created).toHaveLength(1);
    expect(created[0]!.body).toEqual({ ref: `refs/heads/${DATA}`, sha: sha('main') });
    const h = historyOnBranch();
    expect(h.entries.map((e) => e.id)).toEqual(['1001.1', '1002.1', '1003.1']);
    expect(h.entries[2]).toMatchObject({
      sha: sha(3),
      branch: 'main',
      engine: 'builtin',
      phase: 'warmup',
      environment: 'production',
    });
    expect(h.entries[2]!.histogram).toMatchObject({ layout: 'loglinear-us-1024', count: 2000 });
    const puts = stub.requests.filter((r) => r.method === 'PUT');
    expect(puts.map((r) => r.status)).toEqual([201, 200, 200, 200]);
    expect((puts[0]!.body as { message: string }).message).toMatch(
      /^perf-gate: record warmup \(production\) ccccccc \[skip ci\]$/,
    );
    // one entry per line keeps the data branch's diffs readable
    expect(stub.readFile(DATA, HISTORY_PATH)!.split('\n').length).toBe(6);
    // the file stays small: 30 such runs fit far below the contents API's 1 MB
    expect(Buffer.byteLength(stub.readFile(DATA, HISTORY_PATH)!) / 3).toBeLessThan(8_000);
  });

  it('does not record pull requests or other branches, and never the same run twice', async () => {
    expect(await recordRun(config().spec!, syntheticRun(), context(pr()))).toMatchObject({
      written: false,
      note: 'pull request runs are compared, not recorded',
    });
    expect(await recordRun(config().spec!, syntheticRun(), context(push(1, { branch: 'feature' })))).toMatchObject({
      written: false,
      note: expect.stringMatching(/feature is not among the recorded branches \(main\)/),
    });
    expect(
      await shouldRecord(
        context(push(1, { branch: 'release/2.0', defaultBranch: undefined }), {
          recordBranches: ['main', 'release/*'],
        }),
      ),
    ).toMatchObject({ record: true });
    // without a default branch in the payload it is read from the API
    expect(await shouldRecord(context(push(1, { defaultBranch: undefined })))).toMatchObject({ record: true });
    await recordRun(config().spec!, syntheticRun(), context(push(1)));
    await recordRun(config().spec!, syntheticRun(), context(push(1)));
    expect(historyOnBranch().entries).toHaveLength(1);
  });

  it('compares a PR with the run of its merge base, and reports its commit and age', async () => {
    await recordMainRuns(6);
    const head = sha('head');
    stub.state.mergeBases.set(`main...${head}`, sha(2));
    const out = await regressionStep(syntheticRun({ seed: 99 }), config(), context(pr(head)));
    expect(out!.baseline).toMatchObject({ sha: sha(2), createdAt: '2025-03-10T02:00:20.000Z' });
    expect(out!.baseline.note).toMatch(
      /^merge base ccccccc, 10 days old; one baseline run \(3 comparable up to it; 5 needed for a noise band\): histograms compared/,
    );
    expect(out!.regressions.map((r) => r.status)).toEqual(['pass', 'pass']);
    expect(stub.requests.some((r) => r.path === `/repos/acme/shop/compare/main...${head}`)).toBe(true);
  });

  it('falls back to the newest run of the base branch when the merge base is unknown, using the noise band', async () => {
    await recordMainRuns(6);
    const out = await regressionStep(syntheticRun({ seed: 99, scale: 1.3 }), config(), context(pr()));
    expect(out!.baseline.sha).toBe(sha(5));
    expect(out!.baseline.note).toMatch(/^newest run of main ccccccc, 10 days old; noise band from 6 runs/);
    expect(
      logs.some((l) => /warning: baseline: cannot find the merge base of main and ccccccc \(HTTP 404/.test(l)),
    ).toBe(true);
    expect(out!.regressions[0]).toMatchObject({ metric: 'p99', status: 'regressed' });
  });

  it('keeps both entries when two writers race (409 on the stale sha, re-read, merged, retried)', async () => {
    await recordMainRuns(1);
    stub.requests.length = 0;
    stub.state.holdContentReads = 2; // both writers read the same version before either writes
    const [a, b] = await Promise.all([
      recordRun(config().spec!, syntheticRun({ seed: 2 }), context(push(11))),
      recordRun(config().spec!, syntheticRun({ seed: 3 }), context(push(12))),
    ]);
    expect([a.written, b.written]).toEqual([true, true]);
    expect((a.retries ?? 0) + (b.retries ?? 0)).toBe(1);
    expect(
      stub.requests
        .filter((r) => r.method === 'PUT')
        .map((r) => r.status)
        .sort(),
    ).toEqual([200, 200, 409]);
    expect(
      historyOnBranch()
        .entries.map((e) => e.id)
        .sort(),
    ).toEqual(['1000.1', '1011.1', '1012.1']);
  });

  it('keeps both entries when the file appears meanwhile (422 without a sha)', async () => {
    stub.state.branches.set(DATA, sha('main'));
    stub.state.holdContentReads = 2;
    const [a, b] = await Promise.all([
      recordRun(config().spec!, syntheticRun({ seed: 2 }), context(push(21))),
      recordRun(config().spec!, syntheticRun({ seed: 3 }), context(push(22))),
    ]);
    expect([a.written, b.written]).toEqual([true, true]);
    expect(
      stub.requests
        .filter((r) => r.method === 'PUT')
        .map((r) => r.status)
        .sort(),
    ).toEqual([200, 201, 422]);
    expect(historyOnBranch().entries).toHaveLength(2);
  });

  it('says a baseline from another load shape is not comparable, and compares nothing', async () => {
    await recordMainRuns(3, { stages: { stages: [{ durationMs: 60_000, startRate: 100, endRate: 100 }] } });
    const out = await regressionStep(syntheticRun({ seed: 99 }), config(), context(pr()));
    expect(out!.regressions.map((r) => r.status)).toEqual(['not_comparable', 'not_comparable']);
    expect(out!.regressions[0]!.reason).toBe(
      'not comparable: load shape differs (baseline: 1 stage, 60s, peak 100/s; this run: 1 stage, 20s, peak 100/s)',
    );
    expect(out!.regressions[0]!.current).toBeUndefined();
  });

  it('fails on a corrupt history, naming it, unless on-corrupt is missing', async () => {
    stub.putFile(DATA, HISTORY_PATH, '{"schemaVersion":1,"kind":"perf-gate-history","entries":[{"id":3}]');
    const err = await loadBaseline(config().spec!, context(pr()), 'warmup').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(
      /^baseline history branch perf-gate-data: perf-gate\/production\/warmup\.json is corrupt: not valid JSON .*on-corrupt: missing/,
    );

    stub.putFile(
      DATA,
      HISTORY_PATH,
      JSON.stringify({
        schemaVersion: 1,
        kind: 'perf-gate-history',
        environment: 'production',
        phase: 'warmup',
        entries: [{ id: 'x' }],
      }),
    );
    await expect(loadBaseline(config().spec!, context(pr()), 'warmup')).rejects.toThrow(
      /warmup\.json is corrupt: not a valid perf-gate history: entries\.0\.createdAt/,
    );

    const out = await regressionStep(
      syntheticRun(),
      config({ onCorrupt: 'missing' }),
      context(pr(), { onCorrupt: 'missing' }),
    );
    expect(out!.regressions.map((r) => r.status)).toEqual(['no_baseline', 'no_baseline']);
    expect(
      logs.some((l) =>
        /^warning: baseline history branch perf-gate-data: perf-gate\/production\/warmup\.json is corrupt/.test(l),
      ),
    ).toBe(true);
    // and a default-branch run then starts a new history instead of failing
    await recordRun(config().spec!, syntheticRun(), context(push(1), { onCorrupt: 'missing' }));
    expect(historyOnBranch().entries).toHaveLength(1);
  });

  it('reads a history over 1 MB through the git blobs API', async () => {
    const e = entryFromRun(syntheticRun(), {
      environment: 'production',
      git: { owner: 'acme', repo: 'shop', eventName: 'push', sha: sha(1), branch: 'main' },
      id: 'big',
    });
    const big = { ...e, shapeSummary: e.shapeSummary + ' '.repeat(1_100_000) };
    stub.putFile(
      DATA,
      HISTORY_PATH,
      serializeHistory({ ...emptyHistory({ environment: 'production', phase: 'warmup' }), entries: [big] }),
    );
    const loaded = await loadBaseline(config().spec!, context(pr()), 'warmup');
    expect(loaded.entries.map((x) => x.id)).toEqual(['big']);
    expect(stub.requests.some((r) => /\/git\/blobs\/[0-9a-f]{40}$/.test(r.path))).toBe(true);
  });
});

describe('accept label', () => {
  async function regressedPr(
    events: Array<{ event: 'labeled' | 'unlabeled' | 'assigned'; actor: string; label?: string; createdAt?: string }>,
  ) {
    await recordMainRuns(1);
    const noise = Array.from({ length: 130 }, () => ({ event: 'assigned' as const, actor: 'bot' }));
    stub.state.issueEvents.set(7, [...noise, ...events]); // two pages of events
    return regressionStep(syntheticRun({ seed: 99, scale: 1.4 }), config(), context(pr()));
  }

  it('turns a regression into a pass that names who applied the label', async () => {
    const out = await regressedPr([
      { event: 'labeled', actor: 'mallory', label: 'needs-review' },
      { event: 'labeled', actor: 'alice', label: 'perf-regression-accepted', createdAt: '2025-03-19T08:00:00Z' },
    ]);
    expect(out!.acceptance).toEqual({ label: 'perf-regression-accepted', by: 'alice', at: '2025-03-19T08:00:00Z' });
    expect(out!.regressions[0]).toMatchObject({
      status: 'pass',
      acceptedBy: '@alice',
      reason: expect.stringMatching(
        /^accepted by @alice with label "perf-regression-accepted" on 2025-03-19; was: p99 \+/,
      ),
    });
    expect(comparisonCells(out!)![0]!.status).toBe('✅ accepted by @alice');
    expect(stub.requests.filter((r) => r.path === '/repos/acme/shop/issues/7/events').length).toBe(2);
  });

  it('ignores a label that was removed again', async () => {
    const out = await regressedPr([
      { event: 'labeled', actor: 'alice', label: 'perf-regression-accepted' },
      { event: 'unlabeled', actor: 'bob', label: 'perf-regression-accepted' },
    ]);
    expect(out!.acceptance).toBeUndefined();
    expect(out!.regressions[0]!.status).toBe('regressed');
  });
});

describe('confirm before failing', () => {
  it('re-runs once when a change is suspect and judges the pooled runs', async () => {
    await recordMainRuns(1);
    let reruns = 0;
    const out = await regressionStep(syntheticRun({ seed: 99, scale: 1.4 }), config({ confirm: true }), context(pr()), {
      rerun: async () => {
        reruns++;
        return syntheticRun({ seed: 98, scale: 1.4 });
      },
    });
    expect(reruns).toBe(1);
    expect(out!.confirmed).toBe(true);
    expect(out!.run.requests).toBe(4000);
    expect(out!.regressions[0]!.status).toBe('regressed');
    expect(out!.second!.requests).toBe(2000);
    expect(out!.baseline.note).toMatch(/judged on this run and a confirmation run pooled$/);
    expect(out!.baseline.method).toMatch(
      /the phase ran a second time because of this, and a regression had to show in the two runs pooled and in the second on its own$/,
    );
  });

  it('lets a slowdown that the confirmation run does not show pass', async () => {
    await recordMainRuns(1);
    const out = await regressionStep(syntheticRun({ seed: 99, scale: 1.4 }), config({ confirm: true }), context(pr()), {
      rerun: async () => syntheticRun({ seed: 98 }),
    });
    expect(out!.confirmed).toBe(true);
    expect(out!.regressions[0]).toMatchObject({
      metric: 'p99',
      status: 'pass',
      reason: expect.stringMatching(/not confirmed, not counted/),
    });
  });

  it('keeps the first verdict when the confirmation run crashes or brings no data: never a pass by default', async () => {
    await recordMainRuns(1);
    const slow = (): RunResult => syntheticRun({ seed: 99, scale: 1.4 });
    const crashed = await regressionStep(slow(), config({ confirm: true }), context(pr()), {
      rerun: async () => {
        throw new Error('connect ECONNREFUSED 127.0.0.1:9');
      },
    });
    expect(crashed!.confirmed).toBe(false);
    expect(crashed!.regressions[0]!.status).toBe('regressed');
    expect(crashed!.baseline.note).toMatch(
      /not confirmed: the confirmation run failed \(connect ECONNREFUSED 127\.0\.0\.1:9\)$/,
    );
    const empty = await regressionStep(slow(), config({ confirm: true }), context(pr()), {
      rerun: async () => ({ ...syntheticRun({ seed: 98, requests: 0 }), latency: { count: 0 } }),
    });
    expect(empty!.regressions[0]!.status).toBe('regressed');
    expect(empty!.baseline.note).toMatch(/not confirmed: the confirmation run completed no requests$/);
    expect(logs.filter((l) => l.includes('judging on the first run alone'))).toHaveLength(2);
  });

  it('says so when the run cannot be repeated (result files), and the first comparison decides', async () => {
    await recordMainRuns(1);
    const out = await regressionStep(syntheticRun({ seed: 99, scale: 1.4 }), config({ confirm: true }), context(pr()));
    expect(out!.confirmed).toBe(false);
    expect(out!.regressions[0]!.status).toBe('regressed');
    expect(out!.baseline.note).toMatch(/; not confirmed: result files cannot be run again$/);
  });

  it('is on by default and can be turned off', () => {
    expect(resolveBaselineConfig({ baseline: 'branch' }, undefined).confirm).toBe(true);
    expect(resolveBaselineConfig({}, { store: 'branch', confirm: false }).confirm).toBe(false);
    // The input wins over the file, and says what it accepts.
    expect(resolveBaselineConfig({ 'confirm-regressions': 'false' }, { store: 'branch', confirm: true }).confirm).toBe(
      false,
    );
    expect(resolveBaselineConfig({ 'confirm-regressions': 'TRUE' }, { store: 'branch', confirm: false }).confirm).toBe(
      true,
    );
    expect(() => resolveBaselineConfig({ 'confirm-regressions': 'maybe' }, undefined)).toThrow(
      new UserError('input "confirm-regressions": got "maybe"; allowed: true, false'),
    );
  });
});

describe('artifact store', () => {
  const results = (run: RunResult): string =>
    JSON.stringify({ schemaVersion: 1, run, verdict: { status: 'pass', failsCheck: false, targets: [], reasons: [] } });
  function addRun(
    id: number,
    headSha: string,
    files: Record<string, string> | undefined,
    extra: { expired?: boolean; event?: string } = {},
  ): void {
    stub.state.runs.push({
      id,
      workflowId: 4242,
      headBranch: 'main',
      headSha,
      ...(extra.event ? { event: extra.event } : {}),
    });
    if (files)
      stub.state.artifacts.push({
        id: id * 10,
        runId: id,
        name: 'perf-gate-results',
        zip: makeZip(files),
        ...(extra.expired ? { expired: true } : {}),
      });
  }
  const spec = parseBaselineSpec('artifact')!;

  it("downloads the merge base run's artifact (zip via redirect) and reads results.json", async () => {
    addRun(501, sha(1), { 'results.json': results(syntheticRun({ seed: 1 })), 'LOAD_TEST_RESULTS.md': '# report' });
    addRun(502, sha(2), { 'perf-gate-results/results.json': results(syntheticRun({ seed: 2 })) });
    addRun(503, sha(3), { 'results.json': results(syntheticRun({ seed: 3 })) }, { event: 'pull_request' });
    stub.state.mergeBases.set(`main...${sha('head')}`, sha(1));
    const loaded = await loadBaseline(spec, context({ ...pr(), workflow: 'perf.yml' }), 'warmup');
    expect(loaded.entries).toHaveLength(1);
    expect(loaded.entries[0]).toMatchObject({ id: '501.1', sha: sha(1), branch: 'main', requests: 2000 });
    expect(loaded.source).toBe('artifact (artifact perf-gate-results of run 501 (main ccccccc))');
    const paths = stub.requests.map((r) => `${r.status} ${r.path}`);
    expect(paths).toContain('200 /repos/acme/shop/actions/workflows/perf.yml/runs');
    expect(paths).toContain('302 /repos/acme/shop/actions/artifacts/5010/zip');
    expect(paths).toContain('200 /_blobs/artifact-5010.zip');
    const list = stub.requests.find((r) => r.path.endsWith('/workflows/perf.yml/runs'))!;
    expect(list.query).toMatchObject({ branch: 'main', status: 'success' });

    // newest push run when the merge base is unknown; a pull_request run on a branch named main never counts
    stub.state.mergeBases.clear();
    const newest = await loadBaseline(spec, context({ ...pr(), workflow: 'perf.yml' }), 'warmup');
    expect(newest.entries[0]!.id).toBe('502.1');
  });

  it('skips runs without an artifact or with an expired one, and finds the workflow from the run id', async () => {
    addRun(601, sha(1), { 'results.json': results(syntheticRun({ seed: 1 })) });
    addRun(602, sha(2), { 'results.json': results(syntheticRun({ seed: 2 })) }, { expired: true });
    addRun(603, sha(3), undefined);
    stub.state.runs.push({
      id: 9999,
      workflowId: 4242,
      headBranch: 'feature',
      headSha: sha('head'),
      event: 'pull_request',
      conclusion: 'failure',
    });
    const loaded = await loadBaseline(spec, context({ ...pr(), runId: '9999' }), 'warmup');
    expect(loaded.entries[0]!.id).toBe('601.1');
    expect(loaded.notes).toEqual([
      'run 603 has no unexpired artifact perf-gate-results',
      'run 602 has no unexpired artifact perf-gate-results',
    ]);
  });

  it('names the artifact when it is corrupt', async () => {
    addRun(701, sha(1), { 'results.json': '{"schemaVersion": 1, "run": ' });
    await expect(loadBaseline(spec, context({ ...pr(), workflow: 'perf.yml' }), 'warmup')).rejects.toThrow(
      /^baseline artifact perf-gate-results of run 701 \(main ccccccc\) is corrupt: results\.json: not valid JSON/,
    );
    stub.state.artifacts[0]!.zip = Buffer.from('not a zip at all');
    await expect(loadBaseline(spec, context({ ...pr(), workflow: 'perf.yml' }), 'warmup')).rejects.toThrow(
      /is corrupt: not a ZIP archive/,
    );
    const out = await loadBaseline(
      spec,
      context({ ...pr(), workflow: 'perf.yml' }, { onCorrupt: 'missing' }),
      'warmup',
    );
    expect(out.entries).toEqual([]);
  });

  it('records by writing the carried-forward history into the output dir, and reads it back from the next artifact', async () => {
    addRun(801, sha(1), { 'results.json': results(syntheticRun({ seed: 1 })) });
    const outputDir = join(workdir, 'out');
    const res = await recordRun(
      spec,
      syntheticRun({ seed: 2 }),
      context({ ...push(2), workflow: 'perf.yml', runId: '802' }, { outputDir }),
    );
    expect(res).toMatchObject({ written: true, kept: 2 });
    const file = join(outputDir, historyFileName({ environment: 'production', phase: 'warmup' }));
    const history = JSON.parse(readFileSync(file, 'utf8'));
    expect(history.entries.map((e: { id: string }) => e.id)).toEqual(['801.1', '802.1']);
    addRun(802, sha(2), {
      'perf-gate-results/perf-gate-history-production-warmup.json': readFileSync(file, 'utf8'),
      'results.json': results(syntheticRun({ seed: 2 })),
    });
    const loaded = await loadBaseline(spec, context({ ...pr(), workflow: 'perf.yml' }), 'warmup');
    expect(loaded.entries.map((e) => e.id)).toEqual(['801.1', '802.1']);
  });
});

describe('file store', () => {
  it('reads a results file, treats a missing one as the first run, and names a corrupt one', async () => {
    const spec = parseBaselineSpec('file:baseline/results.json')!;
    const missing = await regressionStep(syntheticRun(), config({ spec }), context(pr(), { github: undefined }));
    expect(missing!.regressions[0]).toMatchObject({ status: 'no_baseline' });
    expect(missing!.baseline.note).toMatch(/no baseline file at baseline\/results\.json yet/);

    const dir = join(workdir, 'baseline');
    rmSync(dir, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    writeFileSync(
      join(dir, 'results.json'),
      JSON.stringify({ schemaVersion: 1, run: syntheticRun({ seed: 5 }), verdict: {} }),
    );
    const out = await regressionStep(
      syntheticRun({ seed: 6, scale: 1.5 }),
      config({ spec }),
      context(pr(), { github: undefined }),
    );
    expect(out!.regressions[0]).toMatchObject({ metric: 'p99', status: 'regressed' });
    expect(out!.baseline.source).toBe('file:baseline/results.json (file baseline/results.json)');

    writeFileSync(join(dir, 'results.json'), '{"run": {}}');
    await expect(loadBaseline(spec, context(pr()), 'warmup')).rejects.toThrow(
      /^baseline file baseline\/results\.json is corrupt: neither a perf-gate history nor a perf-gate results file/,
    );
    // recording never overwrites someone's results file
    writeFileSync(
      join(dir, 'results.json'),
      JSON.stringify({ schemaVersion: 1, run: syntheticRun({ seed: 5 }), verdict: {} }),
    );
    expect(await recordRun(spec, syntheticRun(), context(push(1)))).toMatchObject({
      written: false,
      note: 'baseline/results.json is a results file, not a history: left as it is',
    });
  });

  it('keeps a history file', async () => {
    const spec = parseBaselineSpec('file:history.json')!;
    for (let i = 0; i < 3; i++) await recordRun(spec, syntheticRun({ seed: i }), context(push(i), { historyLimit: 2 }));
    const h = JSON.parse(readFileSync(join(workdir, 'history.json'), 'utf8'));
    expect(h.entries.map((e: { id: string }) => e.id)).toEqual(['1001.1', '1002.1']);
  });
});

describe('configuration', () => {
  it('parses store specs, with errors naming the value and what is allowed', () => {
    expect(parseBaselineSpec('branch')).toEqual({ kind: 'branch', location: 'perf-gate-data', text: 'branch' });
    expect(parseBaselineSpec('artifact:perf')).toEqual({ kind: 'artifact', location: 'perf', text: 'artifact:perf' });
    expect(parseBaselineSpec('file:out/results.json')).toMatchObject({ kind: 'file', location: 'out/results.json' });
    expect(parseBaselineSpec('none')).toBeUndefined();
    expect(() => parseBaselineSpec('s3:bucket')).toThrow(
      'input "baseline": got "s3:bucket"; allowed: file:<path>, branch[:<name>], artifact[:<name>], none',
    );
    expect(() => parseBaselineSpec('file:')).toThrow(/"file:" needs a path/);
  });

  it('resolves inputs over the config file section', () => {
    const file = baselineConfigSchema.parse({
      store: 'branch:perf',
      environment: 'staging',
      history: 10,
      branches: ['main', 'release/*'],
      rules: ['p99: +20%'],
      'on-corrupt': 'missing',
      confirm: true,
    });
    const cfg = resolveBaselineConfig({ environment: 'prod', 'regression-rules': 'p95: +5% and +10ms' }, file);
    expect(cfg).toMatchObject({
      spec: { kind: 'branch', location: 'perf' },
      environment: 'prod',
      historyLimit: 10,
      recordBranches: ['main', 'release/*'],
      onCorrupt: 'missing',
      confirm: true,
      acceptLabel: 'perf-regression-accepted',
    });
    expect(cfg.rules.map((r) => r.source)).toEqual([
      'p95: +5% and +10ms',
      'p99: +10%',
      'error_rate: +50%',
      'throughput: -10%',
    ]);
    expect(resolveBaselineConfig({}, 'artifact').spec).toMatchObject({ kind: 'artifact' });
    expect(resolveBaselineConfig({}, undefined).spec).toBeUndefined();
    expect(() => resolveBaselineConfig({}, { environment: 'prod env' })).toThrow(
      '.github/perf-gate.yml: baseline.environment: got "prod env"; allowed: letters, digits',
    );
    expect(() => resolveBaselineConfig({}, { rules: ['p99: -3%'] })).toThrow(
      /^\.github\/perf-gate\.yml: baseline\.rules: cannot read regression rule "p99: -3%"/,
    );
    expect(baselineConfigSchema.safeParse({ 'on-corrupt': 'ignore' }).success).toBe(false);
  });

  it('reads the git context from the runner environment', () => {
    const env = {
      GITHUB_REPOSITORY: 'acme/shop',
      GITHUB_EVENT_NAME: 'pull_request',
      GITHUB_SHA: sha('merge'),
      GITHUB_RUN_ID: '77',
      GITHUB_RUN_ATTEMPT: '2',
      GITHUB_WORKFLOW_REF: 'acme/shop/.github/workflows/perf.yml@refs/pull/7/merge',
      GITHUB_SERVER_URL: 'https://github.com',
    };
    const payload = {
      pull_request: { number: 7, base: { ref: 'main', sha: sha('base') }, head: { ref: 'feature', sha: sha('head') } },
      repository: { default_branch: 'main' },
    };
    expect(gitContextFromEnv(env, payload)).toEqual({
      owner: 'acme',
      repo: 'shop',
      eventName: 'pull_request',
      defaultBranch: 'main',
      runId: '77',
      runAttempt: '2',
      workflow: 'perf.yml',
      runUrl: 'https://github.com/acme/shop/actions/runs/77',
      sha: sha('head'),
      branch: 'feature',
      pullRequest: { number: 7, baseRef: 'main', headRef: 'feature', headSha: sha('head'), baseSha: sha('base') },
    });
    expect(
      gitContextFromEnv(
        { ...env, GITHUB_EVENT_NAME: 'push', GITHUB_REF: 'refs/heads/main' },
        { repository: { default_branch: 'main' } },
      ),
    ).toMatchObject({ sha: sha('merge'), branch: 'main' });
  });
});

describe('zip reader', () => {
  it('reads stored and deflated entries, with or without data descriptors', () => {
    for (const opts of [{}, { store: true }, { dataDescriptor: false }]) {
      const zip = makeZip({ 'a/results.json': '{"x":1}', 'b.txt': 'hello'.repeat(100) }, opts);
      expect(readZip(zip).map((e) => [e.name, e.data.toString().slice(0, 10)])).toEqual([
        ['a/results.json', '{"x":1}'],
        ['b.txt', 'hellohello'],
      ]);
    }
    expect(readZip(makeZip({ 'a.json': '{}', 'b.txt': 'x' }), (n) => n.endsWith('.json')).map((e) => e.name)).toEqual([
      'a.json',
    ]);
    expect(() => readZip(Buffer.from('PK nope'))).toThrow(ZipError);
  });
});

describe('runs outside pull requests', () => {
  it('compares a default-branch run with the previous one, and a push to another branch with the default branch', async () => {
    await recordMainRuns(2);
    const onMain = await regressionStep(syntheticRun({ seed: 9 }), config(), context(push(2)));
    expect(onMain!.baseline).toMatchObject({ sha: sha(1) });
    expect(onMain!.baseline.note).toMatch(/^newest run of main/);
    const onFeature = await regressionStep(
      syntheticRun({ seed: 9 }),
      config(),
      context(push(3, { branch: 'feature' })),
    );
    expect(onFeature!.baseline).toMatchObject({ sha: sha(1) });
    // a re-run of an already recorded commit is not compared with itself
    const rerun = await regressionStep(syntheticRun({ seed: 9 }), config(), context(push(1, { runAttempt: '2' })));
    expect(rerun!.baseline.sha).toBe(sha(0));
  });
});

describe('when the baseline cannot be read', () => {
  it('an API outage or a missing token is a warning and no baseline, not a crash', async () => {
    await recordMainRuns(2);
    stub.state.intercept = (req) =>
      req.path.includes('/contents/') ? { status: 502, body: { message: 'Server Error' } } : undefined;
    try {
      const out = await regressionStep(syntheticRun(), config(), context(pr()));
      expect(out!.regressions[0]).toMatchObject({ status: 'no_baseline' });
      expect(out!.baseline.note).toMatch(
        /could not read the baseline: cannot read branch perf-gate-data: perf-gate\/production\/warmup\.json: HTTP 502/,
      );
    } finally {
      delete stub.state.intercept;
    }
    const ctx = baselineContext(config(), {
      log: context({}).log,
      workspace: workdir,
      outputDir: workdir,
      git: { owner: 'acme', repo: 'shop', eventName: 'pull_request', pullRequest: { number: 1, baseRef: 'main' } },
    });
    const out = await regressionStep(syntheticRun(), config(), ctx);
    expect(out!.baseline.note).toMatch(/needs a GitHub token/);
    expect(logs.filter((l) => l.startsWith('warning: baseline: could not read'))).toHaveLength(2);
  });
});

describe('what the report is given', () => {
  it('names the baseline commit, the method, and each metric with why', async () => {
    await recordMainRuns(1);
    const out = await regressionStep(syntheticRun({ seed: 99, scale: 1.4 }), config(), context(pr()));
    expect(out!.baseline).toMatchObject({
      sha: expect.stringMatching(/^ccccccc/),
      source: expect.stringMatching(/^branch:perf-gate-data/),
    });
    expect(out!.baseline.note).toMatch(
      /^newest run of main ccccccc, 10 days old; one baseline run: histograms compared/,
    );
    expect(out!.baseline.method).toMatch(
      /^a change counts as a regression when it is beyond the rule's tolerance, holds across neighbouring quantiles/,
    );
    expect(out!.regressions.find((r) => r.metric === 'p99')).toMatchObject({
      status: 'regressed',
      reason: expect.stringMatching(/^p99 \+/),
    });
    // The figures are in the results table: Baseline, Change with an arrow, and the status per metric.
    const cells = comparisonCells(out!)!;
    expect(cells.find((c) => c.metric === 'p99')).toMatchObject({
      status: '❌ regressed',
      change: expect.stringMatching(/^↑ \+\d+(\.\d)? %$/),
    });
    expect(cells.map((c) => c.metric)).toEqual(['p99', 'error_rate']);
    stub.state.files.clear();
    const none = await regressionStep(syntheticRun(), config(), context(pr()));
    expect(
      none!.regressions.every(
        (r) => r.status === 'no_baseline' && /no recorded run yet: this is the first/.test(r.reason ?? ''),
      ),
    ).toBe(true);
  });
});
