// How good are regression verdicts on REAL runs? bench/regression-grid.mjs asks the question on simulated
// histograms; this script asks it on runs of the built-in engine (src/engines/builtin, bundled with esbuild on the
// fly) against a noisy local server on 127.0.0.1, judged by the real rules (compareWithBaseline, poolRuns,
// needsConfirmation from src/gate/regression.ts; baseline entries from src/baseline/entry.ts), side by side with a
// plain "p99 up more than 10 % against the previous run" rule on the same data:
//   - same build vs same build: how many false regressions in 50 pairs?
//   - a build whose p99 is 20 % slower: how many of 50 pairs are caught?
//
// The server (node:http in a child process, so its pauses do not stall the load generator's clock) has:
//   - per-request latency lognormal, median 80 ms, sigma 0.4 (p99 about 200 ms), served by setTimeout;
//   - per-"deployment" jitter: every run starts a fresh server whose median factor is uniform within ±5 %;
//   - GC-like pauses: every 200-800 ms the event loop is blocked by a 20-60 ms busy-wait, stalling every request
//     whose answer is due meanwhile;
//   - slow-build modes (p99 20 % higher): "uniform" (every latency x1.2) and "tail" (latencies above the p90 of the
//     model stretched progressively, x1 at p90 up to x1.2 at p99; median unchanged).
// The client side adds what real runs have: loopback HTTP, undici's connection pool, timer granularity, this
// machine's own load (the noise is real, not modelled).
//
// Runs are too slow to spend 12 fresh ones on every comparison, so the script collects a pool of real runs
// (default 60 same-build, 30 "uniform" and 30 "tail" slow-build runs of 2000 requests each: 500 arrivals/s for
// 4 s, in shuffled order so drifting machine load hits every pool alike) and forms the 50 pairs per scenario by
// resampling from the pools: within one comparison no run is used twice (10 history runs + the current run +
// the confirmation run are 12 distinct runs), but pairs share runs with other pairs, so they are not independent.
// The bracketed rate repeats the resampling (--resamples, default 1000 comparisons) on the same pool.
// Modes: "one baseline" compares with the newest run only, "history" with the
// 10 previous same-build runs, "+confirm" re-runs once when the first comparison is suspect (needsConfirmation)
// and judges the two runs pooled (poolRuns, pooledRuns: 2).
//
// Usage: ./node_modules/.bin/node bench/regression-real.mjs [--same 60] [--slow 30] [--rate 500] [--seconds 4]
//          [--pairs 50] [--resamples 1000] [--seed 1]            (about 10 minutes with the defaults)
//        npm run bench -- regression-real [same options]
// Load goes only to 127.0.0.1; every loop is bounded in count and every run and server in time.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importBundle, ROOT, rng } from './lib.mjs';

const SELF = fileURLToPath(import.meta.url);
const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const argText = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};

// ---- shared: seeded randomness --------------------------------------------------------------------------------

// ---- the server (child process) -------------------------------------------------------------------------------
const MEDIAN_MS = 80;
const SIGMA = 0.4;
const JITTER = 0.05;
const Z90 = 1.2815515655446004;
const Z99 = 2.3263478740408408;
const SERVER_LIFETIME_MS = 120_000;

async function serve() {
  const http = await import('node:http');
  const opts = JSON.parse(process.argv[process.argv.indexOf('--serve') + 1]);
  const rnd = rng(opts.seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
  const median = MEDIAN_MS * opts.factor;
  const latency = () => {
    const z = gauss();
    let ms = median * Math.exp(SIGMA * z);
    if (opts.slow === 'uniform') ms *= 1.2;
    else if (opts.slow === 'tail' && z > Z90) ms *= 1 + (0.2 * (z - Z90)) / (Z99 - Z90);
    return ms;
  };
  const body = Buffer.from('{"ok":true}');
  const server = http.createServer((req, res) => {
    req.resume();
    setTimeout(() => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
      res.end(body);
    }, latency());
  });
  // GC-like stop-the-world pauses: the whole event loop is blocked, timers due meanwhile fire late.
  let pauses = 0;
  const gc = () => {
    const until = performance.now() + 20 + rnd() * 40;
    while (performance.now() < until) {
      // busy-wait, bounded by `until`
    }
    pauses++;
    setTimeout(gc, 200 + rnd() * 600);
  };
  setTimeout(gc, 200 + rnd() * 600);
  // Never outlive the bench: exit with the parent, and after a hard cap whatever happens.
  process.on('disconnect', () => process.exit(0));
  process.on('message', (m) => {
    if (m === 'stop') process.send?.({ pauses }, () => process.exit(0));
  });
  setTimeout(() => process.exit(0), SERVER_LIFETIME_MS).unref();
  server.keepAliveTimeout = 10_000;
  server.listen(0, '127.0.0.1', () => process.send?.({ port: server.address().port }));
}

if (process.argv.includes('--serve')) {
  await serve();
} else {
  await main();
}

// ---- the bench (parent) ---------------------------------------------------------------------------------------
async function main() {
  const SAME = arg('same', 60);
  const SLOW = arg('slow', 30);
  const RATE = arg('rate', 500);
  const SECONDS = arg('seconds', 4);
  const PAIRS = arg('pairs', 50);
  const RESAMPLES = arg('resamples', 1000);
  const SEED = arg('seed', 1);
  if (SAME < 12 || SLOW < 2) throw new Error('need --same >= 12 and --slow >= 2');

  const {
    compareWithBaseline,
    confirmComparison,
    parseRegressionRules,
    poolRuns,
    needsConfirmation,
    entryFromRun,
    builtinEngine,
  } = await importBundle(
    [
      "export { compareWithBaseline, confirmComparison, parseRegressionRules, poolRuns, needsConfirmation } from './src/gate/regression.ts';",
      "export { entryFromRun } from './src/baseline/entry.ts';",
      "export { builtinEngine } from './src/engines/builtin/index.ts';",
    ],
    // undici and friends are CommonJS.
    { cjs: true },
  );

  const rnd = rng(SEED);
  const started = performance.now();

  // ---- collect the pool of real runs ------------------------------------------------------------------------
  const STAGES = [{ durationMs: SECONDS * 1000, startRate: RATE, endRate: RATE }];
  const quiet = { info: () => undefined, warning: () => undefined, debug: () => undefined };

  async function startServer(slow, seed) {
    const factor = 1 + (rnd() * 2 - 1) * JITTER;
    const child = spawn(process.execPath, [SELF, '--serve', JSON.stringify({ slow, factor, seed })], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const port = await new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error('server did not start within 10 s')), 10_000);
      child.once('message', (m) => {
        clearTimeout(t);
        res(m.port);
      });
      child.once('exit', (code) => rej(new Error(`server exited (${code})`)));
    });
    const stop = () =>
      new Promise((res) => {
        const t = setTimeout(() => {
          child.kill();
          res(undefined);
        }, 2000);
        child.once('message', (m) => {
          clearTimeout(t);
          res(m.pauses);
        });
        child.send('stop');
      });
    return { url: `http://127.0.0.1:${port}`, factor, stop };
  }

  async function realRun(slow, seed) {
    const server = await startServer(slow, seed);
    let run;
    let pauses;
    try {
      const config = {
        target: server.url,
        phase: { name: 'bench', stages: STAGES, defaultTargets: [], description: '' },
        engine: 'builtin',
        targets: [],
        failOn: 'any',
        comment: 'false',
        commentHeader: 'bench',
        outputDir: join(tmpdir(), 'perf-gate-bench-real'),
        flows: [{ name: 'default', weight: 1, steps: [{ kind: 'request', method: 'GET', path: '' }] }],
        http: { timeoutMs: 5000, maxInFlight: 1000, count4xxAsErrors: false, headers: {} },
        intervalMs: 1000,
        sources: [],
        workspace: ROOT,
        distributed: { mode: 'none' },
      };
      // Bounded: the engine stops at the end of the shape; the abort is a backstop.
      const ac = new AbortController();
      const backstop = setTimeout(() => ac.abort(new Error('bench backstop')), SECONDS * 1000 + 15_000);
      try {
        run = await builtinEngine.run({ config, stages: STAGES, log: quiet, signal: ac.signal });
      } finally {
        clearTimeout(backstop);
      }
    } finally {
      pauses = await server.stop();
    }
    return { run, factor: server.factor, pauses };
  }

  const plan = [
    ...Array.from({ length: SAME }, () => 'same'),
    ...Array.from({ length: SLOW }, () => 'uniform'),
    ...Array.from({ length: SLOW }, () => 'tail'),
  ];
  for (let i = plan.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [plan[i], plan[j]] = [plan[j], plan[i]];
  }
  let pools = { same: [], uniform: [], tail: [] };
  let invalid = { same: 0, uniform: 0, tail: 0 };
  let pauseCounts = [];
  const LOAD = argText('load');
  const SAVE = argText('save');
  if (LOAD) {
    // A saved pool: judge the same real runs again (e.g. after changing the rules) without collecting anew.
    ({ pools, invalid, pauseCounts } = JSON.parse(readFileSync(LOAD, 'utf8')));
    console.log(
      `judging a saved pool from ${LOAD}: ${pools.same.length} same-build, ${pools.uniform.length} uniform-slow, ${pools.tail.length} tail-slow runs`,
    );
    plan.length = 0;
  } else
    console.log(
      `collecting ${plan.length} real runs (${SAME} same-build, ${SLOW} uniform-slow, ${SLOW} tail-slow) of ${RATE}/s for ${SECONDS} s against 127.0.0.1 ...`,
    );
  for (let i = 0; i < plan.length; i++) {
    const kind = plan[i];
    const { run: r, pauses } = await realRun(kind === 'same' ? 'none' : kind, Math.floor(rnd() * 2 ** 31));
    if (typeof pauses === 'number') pauseCounts.push(pauses);
    if (!r.generator.valid || r.errors > 0) invalid[kind]++;
    pools[kind].push(r);
    if ((i + 1) % 10 === 0 || i === plan.length - 1) {
      process.stdout.write(`  ${i + 1}/${plan.length} runs, ${((performance.now() - started) / 1000).toFixed(0)} s\n`);
    }
  }
  const collectSecs = (performance.now() - started) / 1000;
  if (SAVE) writeFileSync(SAVE, JSON.stringify({ rate: RATE, seconds: SECONDS, pools, invalid, pauseCounts }));

  // ---- judge -------------------------------------------------------------------------------------------------
  // The longest history a method uses (shorter ones take its newest runs), capped by the pool.
  const HISTORY = Math.min(30, pools.same.length - 2);
  const rules = parseRegressionRules(['p99: +10%'], 'bench', false);
  const git = { owner: 'o', repo: 'r', eventName: 'push', branch: 'main' };
  const entries = new Map();
  const entryOf = (r, n) => {
    if (!entries.has(r))
      entries.set(
        r,
        entryFromRun(r, { environment: 'bench', git: { ...git, sha: `s${entries.size}` }, id: String(entries.size) }),
      );
    // The history's order is the resample's, not the collection's: entry n of a history is the n-th oldest.
    return { ...entries.get(r), createdAt: new Date(Date.parse('2025-01-01T00:00:00Z') + n * 3_600_000).toISOString() };
  };
  const compare = (r, es, pooledRuns = 1) =>
    compareWithBaseline(r, es, rules, { environment: 'bench', source: 'bench', branch: 'main', pooledRuns });
  const regressed = (outcome) => outcome.regressions.some((x) => x.status === 'regressed');

  // [label, runs of history (1 = the newest run only), confirm: false | 'pooled' (pooled runs only) | true (as shipped)]
  const METHODS = [
    ['ratio +10%', 1, false],
    ['one baseline', 1, false],
    ['one baseline, confirmed *', 1, true],
    ['history 5, confirmed *', 5, true],
    ['history 10, no confirmation', 10, false],
    ['history 10, pooled only', 10, 'pooled'],
    ['history 10, confirmed *', 10, true],
    ['history 30, confirmed *', 30, true],
  ].filter(([, h]) => h <= HISTORY);

  // k distinct runs of a pool, excluding some
  function draw(pool, k, exclude = new Set()) {
    const idx = [];
    for (let guard = 0; idx.length < k && guard < 100_000; guard++) {
      const i = Math.floor(rnd() * pool.length);
      if (!idx.includes(i) && !exclude.has(pool[i])) idx.push(i);
    }
    if (idx.length < k) throw new Error('pool too small');
    return idx.map((i) => pool[i]);
  }

  function trial(slow) {
    const history = draw(pools.same, HISTORY);
    const used = new Set(history);
    const [current, confirmRun] = slow ? draw(pools[slow], 2) : draw(pools.same, 2, used);
    const all = history.map((r, n) => entryOf(r, n));
    const res = {};
    const reran = {};
    for (const [label, size, confirm] of METHODS) {
      const es = all.slice(all.length - size);
      if (label.startsWith('ratio')) {
        res[label] = current.latency.p99 / es[0].metrics.p99 > 1.1;
        continue;
      }
      const first = compare(current, es);
      reran[label] = confirm !== false && needsConfirmation(first);
      if (!reran[label]) res[label] = regressed(first);
      else if (confirm === 'pooled') res[label] = regressed(compare(poolRuns(current, confirmRun), es, 2));
      else res[label] = regressed(confirmComparison((r, k) => compare(r, es, k), current, confirmRun).outcome);
    }
    return { res, reran };
  }

  const SCENARIOS = [
    ['false regressions, same build', undefined],
    ['caught, p99 +20% uniform', 'uniform'],
    ['caught, p99 +20% tail only', 'tail'],
  ];
  const labels = METHODS.map(([label]) => label);
  const rows = [];
  for (const [title, slow] of SCENARIOS) {
    const first = Object.fromEntries(labels.map((m) => [m, 0]));
    const total = Object.fromEntries(labels.map((m) => [m, 0]));
    const reruns = Object.fromEntries(labels.map((m) => [m, 0]));
    const n = Math.max(PAIRS, RESAMPLES);
    for (let i = 0; i < n; i++) {
      const { res: r, reran } = trial(slow);
      for (const m of labels) {
        if (reran[m]) reruns[m]++;
        if (r[m]) {
          total[m]++;
          if (i < PAIRS) first[m]++;
        }
      }
    }
    rows.push({ title, slow, first, total, reruns, n });
  }
  const secs = (performance.now() - started) / 1000;

  // ---- report ------------------------------------------------------------------------------------------------
  const pad = (s, k) => String(s).padEnd(k);
  const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const f1 = (x) => x.toFixed(1);
  const p99s = (pool) => pool.map((r) => r.latency.p99);
  const cv = (xs) => {
    const m = xs.reduce((a, b) => a + b, 0) / xs.length;
    return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) / m;
  };
  console.log(
    `\nperf-gate regression quality on real runs: ${PAIRS} pairs per cell, rate over ${rows[0].n} resampled comparisons in brackets`,
  );
  console.log(
    `pool of real builtin-engine runs against 127.0.0.1: ${pools.same.length} same-build, ${pools.uniform.length} uniform-slow, ${pools.tail.length} tail-slow;`,
  );
  console.log(
    `each run ${RATE}/s for ${SECONDS} s (${Math.round(med(pools.same.map((r) => r.requests)))} requests); server lognormal median ${MEDIAN_MS} ms sigma ${SIGMA},`,
  );
  console.log(
    `±${JITTER * 100}% median per server start, 20-60 ms event-loop pauses every 200-800 ms (median ${pauseCounts.length ? med(pauseCounts) : '?'} per run); rule "p99: +10%" (floor derived from the measurement), seed ${SEED}`,
  );
  console.log(
    `pairs are resampled from the pools: no run twice within one comparison (up to ${HISTORY} history + current + confirmation), shared across pairs\n`,
  );
  for (const k of ['same', 'uniform', 'tail']) {
    const pool = pools[k];
    console.log(
      `  ${pad(k, 8)} p50 median ${f1(med(pool.map((r) => r.latency.p50)))} ms, p99 median ${f1(med(p99s(pool)))} ms` +
        ` (range ${f1(Math.min(...p99s(pool)))}-${f1(Math.max(...p99s(pool)))}, run-to-run CV ${f1(100 * cv(p99s(pool)))} %)` +
        (k === 'same'
          ? ''
          : `, ${(100 * (med(p99s(pool)) / med(p99s(pools.same)) - 1)).toFixed(1)} % over same-build`) +
        `; generator lag max ${f1(Math.max(...pool.map((r) => r.generator.maxLagMs ?? 0)))} ms; invalid or with errors: ${invalid[k]}`,
    );
  }
  const W = 30;
  const C = 26;
  console.log(
    '\n' +
      pad('method (* = perf-gate as shipped)', W) +
      rows.map((r) => pad(r.title, C)).join('') +
      'confirmation runs (same build)',
  );
  const need = Math.ceil(PAIRS * 0.95);
  const verdicts = [];
  for (const m of labels) {
    const cells = rows.map((r) => pad(`${r.first[m]}/${PAIRS} (${((100 * r.total[m]) / r.n).toFixed(1)}%)`, C));
    const same = rows.find((r) => r.slow === undefined);
    console.log(
      pad(m, W) + cells.join('') + (m.startsWith('ratio') ? '-' : `${((100 * same.reruns[m]) / same.n).toFixed(1)}%`),
    );
    const falseOk = same.first[m] <= 1;
    const caughtOk = rows.filter((r) => r.slow !== undefined).every((r) => r.first[m] >= need);
    verdicts.push(`  ${pad(m, W)} false ${falseOk ? 'ok' : 'MISSED'}, caught ${caughtOk ? 'ok' : 'MISSED'}`);
  }
  console.log(
    `\ntargets: at most 1 false regression in ${PAIRS} same-build pairs; at least 95 % (${need}/${PAIRS}) of 20 % p99 slowdowns caught`,
  );
  console.log(verdicts.join('\n'));
  console.log(`\n${f1(secs)} s (collecting runs ${f1(collectSecs)} s)`);
}
