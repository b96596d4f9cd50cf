// Sharded runs: three shard processes of the bundled CLI against one local target, merged by the results engine,
// compared with one process at the full rate; then what must never be merged (a missing, duplicate or foreign
// shard), and the same path through the bundled action (dist/index.js) as the runner runs it.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoServer } from '../demo/server.ts';
import { resolveConfig } from '../src/config/load.js';
import { Histogram } from '../src/metrics/histogram.js';
import type { Engine } from '../src/engines/types.js';
import { blankRunResult, type RunResult, type Stage, type Verdict } from '../src/model.js';
import { runPipeline, shardStages } from '../src/pipeline.js';
import { readResults as readShardFiles } from '../src/readers/index.js';
import fc from 'fast-check';
import { startGitHubStub } from './helpers/github-stub.js';
import { freePort } from './helpers/postgres.js';
import { runAction, runCli, type ActionRun, type CliRun } from './helpers/run-action.js';
import { lastResults } from './helpers/output-dir.js';
import { UserError } from '../src/errors.js';

const SHA = 'a'.repeat(40);
const OTHER_SHA = 'b'.repeat(40);
// A constant 90 arrivals/s for 4 s (sustained is one constant stage): 360 arrivals, 120 per shard of three.
const LOAD = ['--phase', 'sustained', '--duration', '4s', '--rate', '90', '--targets', 'p99 < 2s;error_rate < 1%'];

let demo: Awaited<ReturnType<typeof startDemoServer>>;
let target: string;

function cli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return runCli(args, cwd, { GITHUB_SHA: SHA, ...env });
}

interface ResultsFile {
  run: RunResult;
  verdict: Verdict;
}
const readResults = (path: string): ResultsFile => JSON.parse(readFileSync(path, 'utf8'));

/** Nearest-rank percentile straight from the union of the shards' bucket counts (not through Histogram.merge). */
function unionPercentileMs(files: ResultsFile[], p: number): number {
  const counts = new Map<number, number>();
  let n = 0;
  let min = Infinity;
  let max = 0;
  for (const f of files) {
    const h = f.run.histogram!;
    for (const [i, c] of h.buckets) counts.set(i, (counts.get(i) ?? 0) + c);
    n += h.count;
    min = Math.min(min, h.minUs);
    max = Math.max(max, h.maxUs);
  }
  const one = new Histogram();
  // A histogram of the union, built by recording each bucket's values one by one.
  for (const [i, c] of [...counts].sort((a, b) => a[0] - b[0])) {
    const json = {
      layout: 'loglinear-us-1024' as const,
      count: c,
      minUs: min,
      maxUs: max,
      sumUs: 0,
      buckets: [[i, c]] as Array<[number, number]>,
    };
    one.merge(json);
  }
  expect(one.count).toBe(n);
  return one.percentileMs(p)!;
}

/** A workspace laid out as download-artifact leaves it: shards/shard-N/results.json. */
function workspaceWith(files: Array<[string, string]>): string {
  const ws = mkdtempSync(join(tmpdir(), 'perf-gate-merge-'));
  for (const [name, from] of files) {
    mkdirSync(join(ws, 'shards', name), { recursive: true });
    cpSync(from, join(ws, 'shards', name, 'results.json'));
  }
  return ws;
}

const MERGE = [
  'run',
  '--engine',
  'results',
  '--results',
  'shards/**/results.json',
  '--phase',
  'sustained',
  '--targets',
  'p99 < 2s;error_rate < 1%',
];

beforeAll(async () => {
  demo = await startDemoServer({ port: 0 });
  target = `${demo.url}/slow?ms=15`;
});
afterAll(async () => {
  await demo?.close();
});

describe('shard input', () => {
  it('sets Config.shard and divides every stage rate, keeping the shape', () => {
    const c = resolveConfig({ target: 'http://127.0.0.1:1', shard: '2/4' }, { workspace: process.cwd() });
    expect(c.shard).toEqual({ index: 2, count: 4 });
    expect(shardStages([{ durationMs: 1000, startRate: 10, endRate: 100, name: 'ramp' }], 4)).toEqual([
      { durationMs: 1000, startRate: 2.5, endRate: 25, name: 'ramp' },
    ]);
  });

  it.each([
    ['5/4', {}],
    ['0/4', {}],
    ['2', {}],
    ['two/four', {}],
    ['1/300', {}],
  ])('rejects shard "%s" naming the input, the value and what is allowed', (value, extra) => {
    expect(() =>
      resolveConfig({ target: 'http://127.0.0.1:1', shard: value, ...extra }, { workspace: process.cwd() }),
    ).toThrow(`input "shard": got "${value}"; expected INDEX/COUNT with 1 <= INDEX <= COUNT <= 256, such as 2/4`);
  });

  it("the engine gets 1/count of every stage, guards on counts watch the shard's share, and nothing is judged", async () => {
    const config = resolveConfig(
      {
        target: demo.url,
        phase: 'warmup',
        duration: '2s',
        shard: '2/4',
        abort: 'throughput < 8/s for 10s\nerrors > 40 for 10s\np99 > 2s for 10s',
        targets: 'p99 < 1ms',
        'output-dir': mkdtempSync(join(tmpdir(), 'perf-gate-shard-unit-')),
      },
      { workspace: process.cwd() },
    );
    let seen: Stage[] = [];
    const logs: string[] = [];
    const engine: Engine = {
      name: 'builtin',
      async run({ stages }) {
        seen = stages;
        const run = blankRunResult({
          engine: 'builtin',
          phase: 'warmup',
          startedAt: new Date().toISOString(),
          endedAt: new Date().toISOString(),
          durationMs: 2000,
        });
        return { ...run, requests: 10, latency: { count: 10, p99: 5 } };
      },
    };
    const out = await runPipeline(config, {
      log: { info: (m) => logs.push(m), warning: (m) => logs.push(m), debug: () => {} },
      loadEngine: async () => engine,
      runIdentity: { commit: SHA, workflowRun: '5' },
    });
    const whole = config.phase.stages.map((st) => ({ ...st, durationMs: st.durationMs * (2000 / 120_000) }));
    expect(seen.map((st) => [st.startRate, st.endRate])).toEqual(whole.map((st) => [st.startRate / 4, st.endRate / 4]));
    expect(out.run.shape?.stages.map((st) => [st.startRate, st.endRate])).toEqual(
      whole.map((st) => [st.startRate, st.endRate]),
    );
    expect(logs).toContain(
      'abort guards: throughput < 8/s for 10s (1/4 on this shard); errors > 40 for 10s (1/4 on this shard); p99 > 2s for 10s',
    );
    expect(out.verdict).toEqual({ status: 'shard', failsCheck: false, targets: [], reasons: [] });
    expect(out.run.shard).toMatchObject({ index: 2, count: 4, commit: SHA, workflowRun: '5' });
  });

  it('is refused on the merging job and on the tools', () => {
    expect(() =>
      resolveConfig({ engine: 'results', results: 'x.json', shard: '1/2' }, { workspace: process.cwd() }),
    ).toThrow(
      'input "shard": got "1/2" with engine "results"; sharded runs need engine "builtin" (the job that merges the shards runs engine "results" without "shard")',
    );
  });
});

describe('three shards merged against one run at the full rate (bundled CLI)', () => {
  const shardDirs: string[] = [];
  let single: ResultsFile;
  let shards: ResultsFile[];
  let merged: ResultsFile;
  let mergeRun: CliRun;

  beforeAll(async () => {
    for (let i = 0; i < 3; i++) shardDirs.push(mkdtempSync(join(tmpdir(), `perf-gate-shard${i + 1}-`)));
    // The shards run side by side, as matrix jobs do; the single run afterwards, so they do not share the CPU.
    const runs = await Promise.all(
      shardDirs.map((d, i) => cli(['run', '--target', target, ...LOAD, '--shard', `${i + 1}/3`], d)),
    );
    for (const r of runs) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/sustained SHARD \(JUDGED AFTER THE MERGE\)/);
    }
    shards = shardDirs.map((d) => readResults(lastResults(join(d, 'perf-gate-results'))));
    const singleDir = mkdtempSync(join(tmpdir(), 'perf-gate-single-'));
    const s = await cli(['run', '--target', target, ...LOAD], singleDir);
    expect(s.code, s.stderr).toBe(0);
    single = readResults(lastResults(join(singleDir, 'perf-gate-results')));
    const ws = workspaceWith(shardDirs.map((d, i) => [`shard-${i + 1}`, lastResults(join(d, 'perf-gate-results'))]));
    mergeRun = await cli(MERGE, ws);
    merged = readResults(lastResults(join(ws, 'perf-gate-results')));
  }, 120_000);

  it('each shard sent a third of the rate, recorded its identity and the whole shape, and was not judged', () => {
    for (const [i, f] of shards.entries()) {
      expect(f.verdict.status).toBe('shard');
      expect(f.verdict.failsCheck).toBe(false);
      expect(f.verdict.targets).toEqual([]);
      expect(f.run.shard).toMatchObject({ index: i + 1, count: 3, commit: SHA });
      expect(f.run.shard!.shapeKey).toMatch(/^[0-9a-f]{16}$/);
      // The whole phase's shape, not the shard's third of it.
      expect(f.run.shape?.stages).toEqual([{ durationMs: 4000, startRate: 90, endRate: 90, name: 'steady' }]);
      expect(f.run.generator.arrivalsScheduled).toBe(120);
      expect(f.run.requests).toBe(120);
    }
    expect(new Set(shards.map((f) => f.run.shard!.shapeKey)).size).toBe(1);
  });

  it('the merge judges the shards like one run: same request count as the single run within 1 %', () => {
    expect(mergeRun.code, mergeRun.stderr).toBe(0);
    expect(mergeRun.stdout).toMatch(/sustained PASSED/);
    expect(merged.verdict.status).toBe('pass');
    expect(merged.verdict.targets.map((t) => t.target.source)).toEqual(['p99 < 2s', 'error_rate < 1%']);
    expect(merged.run.shard).toBeUndefined();
    expect(merged.run.requests).toBe(shards.reduce((a, f) => a + f.run.requests, 0));
    expect(Math.abs(merged.run.requests - single.run.requests) / single.run.requests).toBeLessThanOrEqual(0.01);
    expect(merged.run.generator).toMatchObject({ valid: true, arrivalsScheduled: 360, arrivalsStarted: 360 });
    expect(merged.run.sourceFiles).toEqual([
      'shards/shard-1/results.json',
      'shards/shard-2/results.json',
      'shards/shard-3/results.json',
    ]);
  });

  it("merges latency exactly: p99 equals the union of the shards' histograms; the single run agrees loosely", () => {
    const all = new Histogram();
    for (const f of shards) all.merge(f.run.histogram!);
    expect(merged.run.histogram!.count).toBe(merged.run.requests);
    expect(merged.run.histogram!.buckets).toEqual(all.toJSON().buckets);
    for (const p of [50, 95, 99] as const) expect(merged.run.latency[`p${p}`]).toBe(unionPercentileMs(shards, p));
    expect(merged.run.latency.max).toBe(Math.max(...shards.map((f) => f.run.latency.max!)));
    expect(merged.run.latency.min).toBe(Math.min(...shards.map((f) => f.run.latency.min!)));
    // Each interval's per-endpoint row carries its histogram too (the engine writes them), so it merges as exactly:
    // with one endpoint, the same buckets and percentiles as the merged interval.
    const busy = merged.run.intervals.filter((iv) => iv.requests > 0);
    expect(busy.length).toBeGreaterThan(2);
    for (const iv of busy) {
      const eps = Object.values(iv.endpoints ?? {});
      expect(eps).toHaveLength(1);
      expect(eps[0]!.histogram?.buckets).toEqual(iv.histogram?.buckets);
      expect(eps[0]!.latency.p99).toBe(iv.latency.p99);
      expect(eps[0]!.statusCodes).toEqual({ '200': iv.requests });
    }
    // Two separate runs differ by noise: the same target answers after 15 ms in both. Their tails swing by tens or
    // hundreds of ms on a shared 2-core machine (three generator processes at once add to it), so the single run
    // is compared loosely: both tails at or above the target's delay and bounded, the medians close.
    const a = merged.run.latency.p99!;
    const b = single.run.latency.p99!;
    console.log(
      `p99 merged ${a} ms, single ${b} ms; p50 merged ${merged.run.latency.p50} ms, single ${single.run.latency.p50} ms; requests merged ${merged.run.requests}, single ${single.run.requests}`,
    );
    for (const p99 of [a, b]) {
      expect(p99).toBeGreaterThanOrEqual(15);
      expect(p99).toBeLessThan(2000);
    }
    expect(Math.abs(merged.run.latency.p50! - single.run.latency.p50!)).toBeLessThanOrEqual(
      Math.max(10, 0.5 * single.run.latency.p50!),
    );
  });

  it('sums endpoints and status codes, and aligns intervals by wall-clock time at the full target rate', () => {
    expect(merged.run.endpoints.map((e) => [e.name, e.requests])).toEqual([
      [shards[0]!.run.endpoints[0]!.name, merged.run.requests],
    ]);
    expect(merged.run.statusCodes).toEqual({ '200': merged.run.requests });
    expect(merged.run.intervals.reduce((a, iv) => a + iv.requests, 0)).toBe(merged.run.requests);
    // No merged interval is stretched by how far apart the shards started: none is longer than a shard's own.
    const widths = merged.run.intervals.map((iv) => iv.durationMs);
    expect(Math.max(...widths)).toBeLessThanOrEqual(
      Math.max(...shards.flatMap((f) => f.run.intervals.map((iv) => iv.durationMs))),
    );
    expect(merged.run.intervals.map((iv) => iv.startMs % merged.run.intervalMs!)).toEqual(
      merged.run.intervals.map(() => 0),
    );
    // The shards' target rates add up to the phase's rate where all three ran (the processes started a little
    // apart, so an edge interval may hold fewer of them), and never to more.
    const rates = merged.run.intervals.map((iv) => iv.targetRate ?? 0);
    expect(Math.max(...rates)).toBeCloseTo(90, 5);
    for (const r of rates) expect(r).toBeLessThanOrEqual(90 + 1e-9);
    expect(merged.run.shape?.stages).toEqual(shards[0]!.run.shape!.stages);
    expect(merged.run.notes[0]).toMatch(/^Merged from 3 shards of one run/);
  });

  it('aligns the intervals by wall-clock time: a shard that started one interval later lands one interval later', async () => {
    const files = shardDirs.map((d) => readResults(lastResults(join(d, 'perf-gate-results'))));
    const start1 = Date.parse(files[0]!.run.startedAt);
    const moved = files[2]!;
    const dt = start1 + 1000 - Date.parse(moved.run.startedAt);
    moved.run.startedAt = new Date(Date.parse(moved.run.startedAt) + dt).toISOString();
    moved.run.endedAt = new Date(Date.parse(moved.run.endedAt) + dt).toISOString();
    // Fields the other engine features fill in (flows, check failures, per-interval endpoints) add up too.
    for (const f of files) {
      f.run.flows = [{ name: 'bid', started: 10, completed: 9, failed: 1 }];
      f.run.checkFailures = { 'expect status 201 ≠ 500 on bid': 1 };
      f.run.endpoints[0]!.checkFailures = { 'expect status 201 ≠ 500 on bid': 1 };
      for (const iv of f.run.intervals)
        iv.endpoints = {
          bid: { requests: iv.requests, errors: 0, latency: { count: iv.requests, min: 1, mean: 2, max: 3, p99: 3 } },
        };
    }
    const paths = files.map((f, i) => {
      const p = join(mkdtempSync(join(tmpdir(), 'perf-gate-shard-moved-')), `shard-${i + 1}.json`);
      writeFileSync(p, JSON.stringify(f));
      return p;
    });
    const run = await readShardFiles(paths, { phase: 'sustained', count4xxAsErrors: false });
    const [l1, l2, l3] = files.map((f) => f.run.intervals.length) as [number, number, number];
    const n = Math.max(l1, l2, l3 + 1);
    expect(run.intervals).toHaveLength(n);
    expect(run.intervals.map((iv) => iv.startMs)).toEqual(Array.from({ length: n }, (_, i) => i * 1000));
    // The first second had shards 1 and 2 only, the last one shard 3 only.
    expect(run.intervals[0]!.targetRate).toBeCloseTo(60, 5);
    expect(run.intervals[0]!.requests).toBe(
      files[0]!.run.intervals[0]!.requests + files[1]!.run.intervals[0]!.requests,
    );
    if (l3 + 1 > Math.max(l1, l2))
      expect(run.intervals.at(-1)!.requests).toBe(files[2]!.run.intervals.at(-1)!.requests);
    expect(run.intervals.reduce((a, iv) => a + iv.requests, 0)).toBe(run.requests);
    expect(run.flows).toEqual([{ name: 'bid', started: 30, completed: 27, failed: 3 }]);
    expect(run.checkFailures).toEqual({ 'expect status 201 ≠ 500 on bid': 3 });
    expect(run.endpoints[0]!.checkFailures).toEqual({ 'expect status 201 ≠ 500 on bid': 3 });
    const mid = run.intervals[1]!;
    // Per-interval endpoint rows carry no histogram: counts, min, mean and max add up, percentiles stay absent.
    expect(mid.endpoints?.bid).toEqual({
      requests: mid.requests,
      errors: 0,
      latency: { count: mid.requests, min: 1, mean: 2, max: 3 },
    });
  });

  it('a tampered or corrupt shard file ends in a result or a clear error, never a crash or a non-finite figure', async () => {
    const genuine = shardDirs.map((d) => readFileSync(lastResults(join(d, 'perf-gate-results')), 'utf8'));
    const paths = (doc: unknown): string[] => {
      const out: string[] = [];
      const walk = (v: unknown, path: string): void => {
        out.push(path);
        if (Array.isArray(v))
          v.slice(0, 3).forEach((x, i) => {
            walk(x, `${path}.${i}`);
          });
        else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, `${path}.${k}`);
      };
      walk(doc, '');
      return out.filter(Boolean);
    };
    const set = (doc: Record<string, unknown>, path: string, value: unknown): void => {
      const keys = path.slice(1).split('.');
      let o: unknown = doc;
      for (const k of keys.slice(0, -1)) o = o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined;
      // An earlier edit may have replaced a parent by a plain value: nothing left to edit there.
      if (o && typeof o === 'object') (o as Record<string, unknown>)[keys.at(-1)!] = value;
    };
    const junk = fc.oneof(
      fc.constant(undefined),
      fc.constant(null),
      fc.double(),
      fc.integer({ min: -3, max: 10 ** 9 }),
      fc.string({ maxLength: 5 }),
      fc.jsonValue({ maxDepth: 2 }),
    );
    const dir = mkdtempSync(join(tmpdir(), 'perf-gate-shard-prop-'));
    const finite = (v: unknown, at: string): void => {
      if (typeof v === 'number') expect(Number.isFinite(v), at).toBe(true);
      else if (Array.isArray(v))
        v.forEach((x, i) => {
          finite(x, `${at}[${i}]`);
        });
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) finite(x, `${at}.${k}`);
    };
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.nat(), junk), { minLength: 1, maxLength: 4 }),
        fc.nat({ max: 2 }),
        async (edits, which) => {
          const doc = JSON.parse(genuine[which]!);
          const all = paths(doc);
          for (const [i, v] of edits) set(doc, all[i % all.length]!, v);
          const files = genuine.map((g, i) => {
            const p = join(dir, `s${i}.json`);
            writeFileSync(p, i === which ? JSON.stringify(doc) : g);
            return p;
          });
          try {
            const run = await readShardFiles(files, { phase: 'sustained', count4xxAsErrors: false });
            finite(run, 'run');
            expect(run.requests).toBeGreaterThanOrEqual(0);
          } catch (e) {
            if (!(e instanceof UserError)) throw e;
          }
        },
      ),
      { numRuns: 300 },
    );
  }, 60_000);

  it('refuses a missing shard, naming it', async () => {
    const ws = workspaceWith([
      ['shard-1', lastResults(join(shardDirs[0]!, 'perf-gate-results'))],
      ['shard-3', lastResults(join(shardDirs[2]!, 'perf-gate-results'))],
    ]);
    const r = await cli(MERGE, ws);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /^error: results: shard 2\/3 is missing; found shards 1 \(shards\/shard-1\/results.json\), 3 \(shards\/shard-3\/results.json\)\./m,
    );
  });

  it('refuses a shard given twice, naming both files', async () => {
    const files = shardDirs.map((d, i): [string, string] => [
      `shard-${i + 1}`,
      lastResults(join(d, 'perf-gate-results')),
    ]);
    const ws = workspaceWith([...files, ['shard-2-again', files[1]![1]]]);
    const r = await cli(MERGE, ws);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /shard 2\/3 is given 2 times \(shards\/shard-2-again\/results.json, shards\/shard-2\/results.json\)/,
    );
  });

  it('never merges a shard of another commit or another shape', async () => {
    const files = shardDirs.map((d, i): [string, string] => [
      `shard-${i + 1}`,
      lastResults(join(d, 'perf-gate-results')),
    ]);
    // Shard 3 of the same shape on another commit.
    const otherCommit = mkdtempSync(join(tmpdir(), 'perf-gate-shard-other-'));
    const c = await cli(['run', '--target', target, ...LOAD, '--duration', '1s', '--shard', '3/3'], otherCommit, {
      GITHUB_SHA: OTHER_SHA,
    });
    expect(c.code, c.stderr).toBe(0);
    const ws = workspaceWith([files[0]!, files[1]!, ['shard-3', lastResults(join(otherCommit, 'perf-gate-results'))]]);
    const r = await cli(MERGE, ws);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'error: results: shards of different runs are never merged (commit: aaaaaaa in shards/shard-1/results.json, shards/shard-2/results.json vs bbbbbbb in shards/shard-3/results.json; load shape (phase, stages, target, flows, HTTP settings): ',
    );
    // Same commit, another shape (1 s instead of 4 s).
    const otherShape = mkdtempSync(join(tmpdir(), 'perf-gate-shard-shape-'));
    const s = await cli(['run', '--target', target, ...LOAD, '--duration', '1s', '--shard', '3/3'], otherShape);
    expect(s.code, s.stderr).toBe(0);
    const ws2 = workspaceWith([files[0]!, files[1]!, ['shard-3', lastResults(join(otherShape, 'perf-gate-results'))]]);
    const r2 = await cli(MERGE, ws2);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(
      /never merged \(load shape \(phase, stages, target, flows, HTTP settings\): [0-9a-f]{16} in shards\/shard-1\/results.json, shards\/shard-2\/results.json vs [0-9a-f]{16} in shards\/shard-3\/results.json\)/,
    );
  }, 60_000);

  it('a shard that could not reach its target errors itself (exit 1), and is not merged with shards of another target', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'perf-gate-shard-down-'));
    const down = await cli(['run', '--target', `http://127.0.0.1:${await freePort()}`, ...LOAD, '--shard', '3/3'], dir);
    expect(down.code).toBe(1);
    const file = lastResults(join(dir, 'perf-gate-results'));
    expect(readResults(file).verdict.status).toBe('error');
    const ws = workspaceWith([
      ['shard-1', lastResults(join(shardDirs[0]!, 'perf-gate-results'))],
      ['shard-2', lastResults(join(shardDirs[1]!, 'perf-gate-results'))],
      ['shard-3', file],
    ]);
    // The unreachable shard was told the same shape, but another target: that alone keeps it out of the merge.
    const r = await cli(MERGE, ws);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/never merged \(load shape/);
  });

  it("keeps every shard's generator health: one saturated shard makes the merged run an error", async () => {
    const sat = readResults(lastResults(join(shardDirs[1]!, 'perf-gate-results')));
    sat.run.generator = {
      ...sat.run.generator,
      valid: false,
      invalidReasons: ['arrivals dropped: 40 % of the arrivals could not start (max in flight reached)'],
    };
    const dir = mkdtempSync(join(tmpdir(), 'perf-gate-shard-sat-'));
    writeFileSync(join(dir, 'results.json'), JSON.stringify(sat));
    const ws = workspaceWith([
      ['shard-1', lastResults(join(shardDirs[0]!, 'perf-gate-results'))],
      ['shard-2', join(dir, 'results.json')],
      ['shard-3', lastResults(join(shardDirs[2]!, 'perf-gate-results'))],
    ]);
    const r = await cli(MERGE, ws);
    expect(r.code).toBe(1);
    const out = readResults(lastResults(join(ws, 'perf-gate-results')));
    expect(out.verdict.status).toBe('error');
    expect(out.verdict.reasons).toContain(
      'shard 2/3 (shards/shard-2/results.json): arrivals dropped: 40 % of the arrivals could not start (max in flight reached)',
    );
  });

  it('shards that did not run together (a runner picked one up late) make the merged run an error', async () => {
    const late = readResults(lastResults(join(shardDirs[2]!, 'perf-gate-results')));
    // As if its runner had started it 3 s later: the 4 s phase then never got the full rate at once.
    const shift = (iso: string) => new Date(Date.parse(iso) + 3000).toISOString();
    late.run.startedAt = shift(late.run.startedAt);
    late.run.endedAt = shift(late.run.endedAt);
    const dir = mkdtempSync(join(tmpdir(), 'perf-gate-shard-late-'));
    writeFileSync(join(dir, 'results.json'), JSON.stringify(late));
    const ws = workspaceWith([
      ['shard-1', lastResults(join(shardDirs[0]!, 'perf-gate-results'))],
      ['shard-2', lastResults(join(shardDirs[1]!, 'perf-gate-results'))],
      ['shard-3', join(dir, 'results.json')],
    ]);
    const r = await cli(MERGE, ws);
    expect(r.code).toBe(1);
    const out = readResults(lastResults(join(ws, 'perf-gate-results')));
    expect(out.verdict.status).toBe('error');
    const starts = [...shards.slice(0, 2).map((f) => Date.parse(f.run.startedAt)), Date.parse(late.run.startedAt)];
    const spread = ((Math.max(...starts) - Math.min(...starts)) / 1000).toFixed(1);
    const early = starts.indexOf(Math.min(...starts)) + 1;
    expect(out.verdict.reasons).toContain(
      `the shards did not run together: shard 3/3 started ${spread} s after shard ${early}/3, more than 25 % of the 4 s phase, so the target never received the full rate`,
    );
    // Counts still add up exactly; only the judgement is refused.
    expect(out.run.requests).toBe(shards.reduce((a, f) => a + f.run.requests, 0));
  });

  it('a guard that stopped one shard makes the merged run fail as a stopped run', async () => {
    const stopped = readResults(lastResults(join(shardDirs[0]!, 'perf-gate-results')));
    stopped.run.analysis = {
      ...stopped.run.analysis!,
      stoppedEarly: { guard: 'error_rate > 5% for 1s', reason: 'error rate 40 % for 1 s', atMs: 2000 },
    };
    const dir = mkdtempSync(join(tmpdir(), 'perf-gate-shard-stop-'));
    writeFileSync(join(dir, 'results.json'), JSON.stringify(stopped));
    const ws = workspaceWith([
      ['shard-1', join(dir, 'results.json')],
      ['shard-2', lastResults(join(shardDirs[1]!, 'perf-gate-results'))],
      ['shard-3', lastResults(join(shardDirs[2]!, 'perf-gate-results'))],
    ]);
    const r = await cli(MERGE, ws);
    expect(r.code).toBe(1);
    const out = readResults(lastResults(join(ws, 'perf-gate-results')));
    expect(out.verdict.status).toBe('fail');
    expect(out.verdict.reasons.join('\n')).toMatch(
      /stopped early at [\d.]+ ?m?s: error rate 40 % for 1 s \(a guard stopped shard 1\/3\)/,
    );
  });

  it('a shard whose own run ended in error makes the merge an error', async () => {
    const bad = readResults(lastResults(join(shardDirs[2]!, 'perf-gate-results')));
    bad.verdict = { ...bad.verdict, status: 'error', failsCheck: true, reasons: ['engine builtin failed: boom'] };
    const dir = mkdtempSync(join(tmpdir(), 'perf-gate-shard-err-'));
    writeFileSync(join(dir, 'results.json'), JSON.stringify(bad));
    const ws = workspaceWith([
      ['shard-1', lastResults(join(shardDirs[0]!, 'perf-gate-results'))],
      ['shard-2', lastResults(join(shardDirs[1]!, 'perf-gate-results'))],
      ['shard-3', join(dir, 'results.json')],
    ]);
    const r = await cli(MERGE, ws);
    expect(r.code).toBe(1);
    expect(readResults(lastResults(join(ws, 'perf-gate-results'))).verdict.reasons).toContain(
      'shard 3/3 (shards/shard-3/results.json): its own run ended in error: engine builtin failed: boom',
    );
  });

  it('refuses a malformed histogram in a shard file, naming the file and the field', async () => {
    const bad = readResults(lastResults(join(shardDirs[0]!, 'perf-gate-results')));
    bad.run.histogram!.count += 5;
    const dir = mkdtempSync(join(tmpdir(), 'perf-gate-shard-bad-'));
    writeFileSync(join(dir, 'results.json'), JSON.stringify(bad));
    const ws = workspaceWith([['shard-1', join(dir, 'results.json')]]);
    const r = await cli(MERGE, ws);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /error: Results file .*shards\/shard-1\/results.json is not a valid perf-gate results.json: run.histogram.buckets add up to \d+, but count is \d+/,
    );
  });

  it('refuses shard files whose figures cannot belong to one real run, naming the file and the field', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'perf-gate-shard-inconsistent-'));
    const edits: Array<[string, (f: ResultsFile) => void, RegExp]> = [
      // A 5xx is always an error: fewer errors than 5xx responses were edited in (this merged into a pass).
      [
        'errors below the 5xx responses',
        (f) => {
          f.run.statusCodes = { '200': f.run.requests - 14, '500': 14 };
          f.run.errors = 0;
        },
        /run\.errors is 0, but run\.statusCodes holds 14 5xx responses, each an error/,
      ],
      [
        'a negative status count',
        (f) => void (f.run.statusCodes['200'] = -3),
        /run\.statusCodes\["200"\] is -3; expected a whole number of at least 0/,
      ],
      [
        'a negative error kind',
        (f) => void (f.run.errorsByKind = { other: -100 }),
        /run\.errorsByKind\["other"\] is -100; expected a whole number of at least 0/,
      ],
      [
        'a fractional count',
        (f) => void (f.run.endpoints[0]!.statusCodes['200'] = 1.5),
        /run\.endpoints\[0\]\.statusCodes\["200"\] is 1\.5/,
      ],
      [
        'more errors than requests',
        (f) => void (f.run.errors = f.run.requests + 1),
        /run\.errors is \d+, more than its \d+ requests/,
      ],
      [
        'endpoints adding up to more than the run',
        (f) => {
          f.run.endpoints.push({ ...f.run.endpoints[0]!, name: 'ghost' });
        },
        /run\.endpoints\[\*\]\.requests add up to \d+, more than run\.requests/,
      ],
      [
        'a histogram total that is not the latency count',
        (f) => void (f.run.latency.count -= 1),
        /run\.histogram\.count is \d+, but run\.latency\.count is \d+/,
      ],
    ];
    for (const [what, edit, message] of edits) {
      const files = shardDirs.map((d, i) => {
        const f = readResults(lastResults(join(d, 'perf-gate-results')));
        if (i === 1) edit(f);
        const p = join(dir, `shard-${i + 1}.json`);
        writeFileSync(p, JSON.stringify(f));
        return p;
      });
      const err = await readShardFiles(files, { phase: 'sustained', count4xxAsErrors: false }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err, what).toBeInstanceOf(UserError);
      expect((err as Error).message, what).toMatch(
        /Results file .*shard-2\.json is not a valid perf-gate results\.json: /,
      );
      expect((err as Error).message, what).toMatch(message);
    }
    // Through the CLI, as the merging job runs it: no pass, an error naming the file.
    const f = readResults(lastResults(join(shardDirs[1]!, 'perf-gate-results')));
    f.run.statusCodes = { '200': f.run.requests - 14, '500': 14 };
    f.run.errors = 0;
    writeFileSync(join(dir, 'tampered.json'), JSON.stringify(f));
    const ws = workspaceWith([
      ['shard-1', lastResults(join(shardDirs[0]!, 'perf-gate-results'))],
      ['shard-2', join(dir, 'tampered.json')],
      ['shard-3', lastResults(join(shardDirs[2]!, 'perf-gate-results'))],
    ]);
    const r = await cli(MERGE, ws);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /shards\/shard-2\/results.json is not a valid perf-gate results.json: run.errors is 0, but run.statusCodes holds 14 5xx responses/,
    );
  });

  it("refuses a merge whose phase is not the shards' phase", async () => {
    const ws = workspaceWith(
      shardDirs.map((d, i): [string, string] => [`shard-${i + 1}`, lastResults(join(d, 'perf-gate-results'))]),
    );
    const r = await cli(['run', '--engine', 'results', '--results', 'shards/**/results.json'], ws);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(
      'error: results: the shards ran phase "sustained", but this job\'s phase is "warmup"; set phase: sustained on the job that merges them',
    );
  });
});

describe('the matrix through the bundled action (dist/index.js)', () => {
  let github: Awaited<ReturnType<typeof startGitHubStub>>;
  beforeAll(async () => {
    github = await startGitHubStub({});
  });
  afterAll(async () => {
    await github?.close();
  });

  function action(inputs: Record<string, string>, workspace: string): Promise<ActionRun> {
    const event = {
      number: 9,
      pull_request: { number: 9, head: { repo: { full_name: 'ftw/shop' } }, base: { repo: { full_name: 'ftw/shop' } } },
      repository: { full_name: 'ftw/shop' },
    };
    return runAction(inputs, { apiUrl: github.url, workspace, event, env: { GITHUB_SHA: SHA, GITHUB_RUN_ID: '77' } });
  }

  it('shards output verdict shard and post nothing; the merge job judges, comments and fails like one run', async () => {
    const common = { target, phase: 'sustained', duration: '3s', rate: '40', 'comment-header': 'matrix' };
    const jobs = [1, 2].map(() => mkdtempSync(join(tmpdir(), 'perf-gate-matrix-')));
    const shardRuns = await Promise.all(
      jobs.map((ws, i) => action({ ...common, targets: 'p99 < 2s', shard: `${i + 1}/2` }, ws)),
    );
    for (const r of shardRuns) {
      expect(r.code, r.stdout).toBe(0);
      expect(r.outputs.verdict).toBe('shard');
      expect(Number(r.outputs.requests)).toBeGreaterThan(0);
    }
    expect(github.state.comments.filter((c) => c.body.includes('perf-gate:matrix'))).toHaveLength(0);
    // The needs: job after download-artifact: judged on a target the merged run fails, so the check fails.
    const ws = workspaceWith(
      jobs.map((j, i): [string, string] => [`shard-${i + 1}`, lastResults(join(j, 'perf-gate-results'))]),
    );
    const merge = await action(
      {
        engine: 'results',
        results: 'shards/**/results.json',
        phase: 'sustained',
        targets: 'p99 < 1ms',
        'comment-header': 'matrix',
      },
      ws,
    );
    expect(merge.code).toBe(1);
    expect(merge.outputs.verdict).toBe('fail');
    const mergedRun = readResults(merge.outputs.results!).run;
    expect(mergedRun.requests).toBe(
      readResults(lastResults(join(jobs[0]!, 'perf-gate-results'))).run.requests +
        readResults(lastResults(join(jobs[1]!, 'perf-gate-results'))).run.requests,
    );
    const comments = github.state.comments.filter((c) => c.body.includes('perf-gate:matrix'));
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toMatch(/Merged from 2 shards of one run/);
  }, 60_000);
});
