// How good are regression verdicts on noisy CI? Simulates runs of one endpoint and asks perf-gate's regression
// rules (src/gate/regression.ts, bundled with esbuild on the fly) and a plain "p99 up more than 10 % against the
// previous run" rule the same questions on the same data:
//   - same build vs same build: how many false regressions in 50 pairs?
//   - a build whose p99 is 20 % slower: how many of 50 pairs are caught?
//
// Noise model, per run of 2000 requests at 100/s (20 s):
//   - per-request latency lognormal, median 80 ms, sigma 0.45 (p99 about 230 ms);
//   - per-run jitter of the whole distribution: the median moves by a uniform factor within ±J (runner speed,
//     noisy neighbours); J = 5 % and 8 % are both reported;
//   - GC pauses: Poisson(1.5) per run, each 20-120 ms, stalling every request in flight or arriving meanwhile.
// Slowdowns (both make the build's p99 20 % higher):
//   - uniform: every request 20 % slower (the median moves too);
//   - tail: requests above the p90 are stretched progressively, x1 at p90 up to x1.2 at p99 (median unchanged).
// Modes: "one baseline" compares with the previous run only; "history" has the 10 previous same-build runs
// (perf-gate's noise band needs >= 5); "+confirm" re-runs the phase once when the first comparison finds a
// regression or a near miss, judges the two runs pooled and keeps a regression only where the second run alone
// shows it too (needsConfirmation + confirmComparison, as the pipeline does; on by default).
// With one baseline run, that run's own jitter is in every comparison and nothing in a single pair can tell it
// from a real uniform slowdown, so expect that mode to miss the targets; the history modes can average it out.
//
// Usage: ./node_modules/.bin/node bench/regression-quality.mjs [--pairs 50] [--rounds 4] [--seed 1]
// Rounds repeat the 50 pairs with fresh data for a steadier rate; the first round is the 50-pair figure.
import { importBundle, rng } from './lib.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const PAIRS = arg('pairs', 50);
const ROUNDS = arg('rounds', 4);
const SEED = arg('seed', 1);
const HISTORY = 10;

const { compareWithBaseline, confirmComparison, parseRegressionRules, needsConfirmation, entryFromRun, Histogram, blankRunResult } = await importBundle([
  "export { compareWithBaseline, confirmComparison, parseRegressionRules, needsConfirmation } from './src/gate/regression.ts';",
  "export { entryFromRun } from './src/baseline/entry.ts';",
  "export { Histogram } from './src/metrics/histogram.ts';",
  "export { blankRunResult } from './src/model.ts';",
]);

// ---- simulation ---------------------------------------------------------------------------------------------
const rnd = rng(SEED);
function gauss() {
  return Math.sqrt(-2 * Math.log(1 - rnd())) * Math.cos(2 * Math.PI * rnd());
}
function poisson(lambda) {
  let k = 0;
  let p = 1;
  const l = Math.exp(-lambda);
  do {
    k++;
    p *= rnd();
  } while (p > l);
  return k - 1;
}
function probit(p) {
  // Acklam's approximation, plenty for ranks
  const a = [-39.69683028665376, 220.9460984245205, -275.9285104469687, 138.357751867269, -30.66479806614716, 2.506628277459239];
  const b = [-54.47609879822406, 161.5858368580409, -155.6989798598866, 66.80131188771972, -13.28068155288572];
  const c = [-0.007784894002430293, -0.3223964580411365, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [0.007784695709041462, 0.3224671290700398, 2.445134137142996, 3.754408661907416];
  if (p < 0.02425) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - 0.02425) return -probit(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q) / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

const N = 2000;
const RATE = 100;
const MEDIAN_MS = 80;
const SIGMA = 0.45;
const STAGES = [{ durationMs: (N / RATE) * 1000, startRate: RATE, endRate: RATE }];
const Z90 = probit(0.9);
const Z99 = probit(0.99);
let clock = Date.parse('2025-01-01T00:00:00Z');

function simulate(jitter, slowdown) {
  const factor = 1 + (rnd() * 2 - 1) * jitter;
  const durationMs = (N / RATE) * 1000;
  const pauses = Array.from({ length: poisson(1.5) }, () => [rnd() * durationMs, 20 + rnd() * 100]);
  const lat = new Float64Array(N);
  for (let i = 0; i < N; i++) {
    const t = (i * 1000) / RATE + rnd() * 10;
    let l = MEDIAN_MS * factor * Math.exp(SIGMA * gauss());
    for (const [g, d] of pauses) if (g < t + l && g + d > t) l += g + d - Math.max(t, g);
    lat[i] = l;
  }
  if (slowdown === 'uniform') for (let i = 0; i < N; i++) lat[i] *= 1.2;
  if (slowdown === 'tail') {
    lat.sort();
    for (let i = Math.floor(N * 0.9); i < N; i++) {
      const z = probit((i + 0.5) / N);
      if (z > Z90) lat[i] *= 1 + (0.2 * (z - Z90)) / (Z99 - Z90);
    }
  }
  const h = new Histogram();
  for (let i = 0; i < N; i++) h.recordMs(lat[i]);
  clock += 3_600_000;
  const startedAt = new Date(clock).toISOString();
  const endedAt = new Date(clock + durationMs).toISOString();
  return blankRunResult({
    engine: 'builtin',
    phase: 'bench',
    startedAt,
    endedAt,
    durationMs,
    requests: N,
    statusCodes: { 200: N },
    errorRate: 0,
    throughputRps: RATE,
    latency: h.stats(),
    histogram: h.toJSON(),
    shape: { stages: STAGES },
  });
}

const rules = parseRegressionRules(['p99: +10% and +20ms'], 'bench', false);
const git = { owner: 'o', repo: 'r', eventName: 'push', branch: 'main' };
let nextId = 1;
const toEntry = (run) => entryFromRun(run, { environment: 'bench', git: { ...git, sha: `s${nextId}` }, id: String(nextId++) });

function compare(run, entries, pooledRuns = 1) {
  return compareWithBaseline(run, entries, rules, { environment: 'bench', source: 'bench', branch: 'main', pooledRuns });
}
const regressed = (outcome) => outcome.regressions.some((r) => r.status === 'regressed');

const METHODS = ['ratio +10%', 'one baseline', 'one baseline +confirm', 'history', 'history +confirm'];
const RERUNS = ['one baseline +confirm', 'history +confirm'];

function trial(jitter, slowdown) {
  const history = Array.from({ length: HISTORY }, () => simulate(jitter, undefined));
  const entries = history.map(toEntry);
  const newest = entries[entries.length - 1];
  const current = simulate(jitter, slowdown);
  const res = {};
  const reran = {};
  res['ratio +10%'] = current.latency.p99 / newest.metrics.p99 > 1.1;
  const single = compare(current, [newest]);
  const hist = compare(current, entries);
  res['one baseline'] = regressed(single);
  res['history'] = regressed(hist);
  // Confirm-before-failing as the pipeline would do it: a second run only when the first one is suspect, and
  // the verdict on the two runs pooled.
  let second;
  const confirm = (first, baseline) => {
    if (!needsConfirmation(first)) return [false, false];
    second ??= simulate(jitter, slowdown);
    return [regressed(confirmComparison((r, k) => compare(r, baseline, k), current, second).outcome), true];
  };
  [res['one baseline +confirm'], reran['one baseline +confirm']] = confirm(single, [newest]);
  [res['history +confirm'], reran['history +confirm']] = confirm(hist, entries);
  return { res, reran };
}

const started = performance.now();
const SCENARIOS = [
  ['same build (false regressions)', undefined],
  ['p99 +20%, uniform (caught)', 'uniform'],
  ['p99 +20%, tail only (caught)', 'tail'],
];
const rows = [];
for (const jitter of [0.05, 0.08]) {
  for (const [label, slowdown] of SCENARIOS) {
    const first = Object.fromEntries(METHODS.map((m) => [m, 0]));
    const total = Object.fromEntries(METHODS.map((m) => [m, 0]));
    const reruns = Object.fromEntries(RERUNS.map((m) => [m, 0]));
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < PAIRS; i++) {
        const { res: r, reran } = trial(jitter, slowdown);
        for (const m of RERUNS) if (reran[m]) reruns[m]++;
        for (const m of METHODS) {
          if (r[m]) {
            total[m]++;
            if (round === 0) first[m]++;
          }
        }
      }
    }
    rows.push({ jitter, label, slowdown, first, total, reruns });
  }
}
const secs = (performance.now() - started) / 1000;

const pad = (s, n) => String(s).padEnd(n);
console.log(`perf-gate regression quality: ${PAIRS} pairs per cell (first round), rate over ${ROUNDS} x ${PAIRS} pairs in brackets`);
console.log(`runs of ${N} requests, lognormal median ${MEDIAN_MS} ms sigma ${SIGMA}, GC pauses, rule "p99: +10% and +20ms", seed ${SEED}\n`);
console.log(pad('median jitter / scenario', 40) + METHODS.map((m) => pad(m, 24)).join(''));
for (const r of rows) {
  const cells = METHODS.map((m) => pad(`${r.first[m]}/${PAIRS} (${((100 * r.total[m]) / (PAIRS * ROUNDS)).toFixed(1)}%)`, 24));
  console.log(pad(`±${r.jitter * 100}%  ${r.label}`, 40) + cells.join(''));
}
console.log('\nconfirmation runs needed (share of all pairs, all rounds):');
for (const r of rows) {
  console.log(`  ${pad(`±${r.jitter * 100}%  ${r.label}`, 40)}` + RERUNS.map((m) => `${m}: ${((100 * r.reruns[m]) / (PAIRS * ROUNDS)).toFixed(1)}%`).join('   '));
}
console.log('\ntargets: at most 1 false regression in 50 same-build pairs; at least 95 % (48/50) of 20 % p99 slowdowns caught');
for (const m of METHODS) {
  const verdicts = [0.05, 0.08].map((j) => {
    const same = rows.find((r) => r.jitter === j && r.slowdown === undefined);
    const caught = rows.filter((r) => r.jitter === j && r.slowdown !== undefined);
    const falseOk = same.first[m] <= 1;
    const caughtOk = caught.every((r) => r.first[m] >= Math.ceil(PAIRS * 0.95));
    return `±${j * 100}%: false ${falseOk ? 'ok' : 'MISSED'}, caught ${caughtOk ? 'ok' : 'MISSED'}`;
  });
  console.log(`  ${pad(m, 24)} ${verdicts.join('   ')}`);
}
console.log(`\n${secs.toFixed(1)} s`);
