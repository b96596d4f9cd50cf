// `npm run bench`: speed and memory, each printed as a ratio against a reference measured in the same run on
// this machine, so the figures mean something on any hardware. Load goes only to 127.0.0.1 and is bounded.
//   1. the action's cold start to its first log line, against `node -e 0`
//   2. the built-in engine's peak requests/s against wrk (a C load tool) on the same loopback target, then the
//      same engine's CPU time per request on a three-step journey (login, bid, health) with a data file, captures
//      and templates against the same requests written without them (`npm run bench -- engine` runs only this part)
//   3. memory per million recorded latencies: our histogram against a Float64Array of the samples
//   4. only when asked (`npm run bench -- regression [options]`, about a minute): the regression verdict's quality
//      on simulated runs across p99 levels, noise, slowdowns and history sizes (bench/regression-grid.mjs);
//      `npm run bench -- regression-real [options]` (about 10 minutes) asks it on real runs of the built-in engine
//      against a noisy local server (bench/regression-real.mjs)
//   6. the built-in engine against autocannon and wrk on a trivial and on the demo target: req/s and CPU seconds
//      per 10,000 requests of each generator, medians of 3 runs taking turns, with the fixed start-up and report
//      CPU measured and subtracted (bench/engines.mjs, `npm run bench -- engines`, about 3 minutes; it runs the
//      CLI, so `npm run build` first)
//   5. k6 NDJSON reading (bench/ndjson.mjs, `npm run bench -- ndjson`, about 2 minutes): points/s and peak RSS
//      of the reader against readline + JSON.parse per line on generated 1M- and 10M-point files (~3 GB in
//      the temp directory, deleted afterwards)
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { ndjsonBench } from './ndjson.mjs';
import { enginesBench } from './engines.mjs';

// Everything after `regression` goes to bench/regression-grid.mjs as its options (e.g. --seed 12 --pairs 50), and
// everything after `regression-real` to bench/regression-real.mjs (e.g. --same 60 --slow 30).
const argv = process.argv.slice(2);
const regressionAt = argv.findIndex((a) => a === 'regression' || a === 'regression-real');
const only = regressionAt >= 0 ? argv.slice(0, regressionAt + 1) : argv;
const regressionArgs = regressionAt >= 0 ? argv.slice(regressionAt + 1) : [];
const want = (name) => only.length === 0 || only.includes(name);
const scratch = mkdtempSync(join(tmpdir(), 'perf-gate-bench-'));
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n, d = 1) => n.toFixed(d);

async function timeToFirstLine(args, env = {}) {
  const t0 = process.hrtime.bigint();
  const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'ignore'] });
  return await new Promise((res) => {
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      res(Number(process.hrtime.bigint() - t0) / 1e6);
      child.kill();
    };
    child.stdout.once('data', finish);
    child.on('exit', finish);
  });
}

async function coldStart() {
  const runs = 15;
  const env = { GITHUB_OUTPUT: join(scratch, 'out'), INPUT_TARGET: 'http://127.0.0.1:9', INPUT_RATE: '-1' };
  writeFileSync(env.GITHUB_OUTPUT, '');
  const base = [];
  const ours = [];
  const full = [];
  for (let i = 0; i < runs; i++) {
    base.push(await timeToFirstLine(['-e', '0']));
    ours.push(await timeToFirstLine(['dist/index.js'], env));
    // Whole run to a config error: loads @actions/core and the config stage, sends nothing.
    const t0 = process.hrtime.bigint();
    spawnSync(process.execPath, ['dist/index.js'], { env: { ...process.env, ...env }, stdio: 'ignore' });
    full.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  const b = median(base);
  const o = median(ours);
  console.log(
    `cold start to first log line: ${fmt(o)} ms vs node -e 0 ${fmt(b)} ms -> ratio ${fmt(o / b, 2)} (target <= 2.00)`,
  );
  console.log(
    `  whole run to a validated config error: ${fmt(median(full))} ms (${fmt(median(full) / b, 2)}x node -e 0)`,
  );
}

async function startTarget() {
  const child = spawn(process.execPath, ['demo/server.ts', '--port', '0'], { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((res, rej) => {
    child.stdout.on('data', (d) => {
      const m = /listening on (http:\/\/\S+)/.exec(String(d));
      if (m) res(m[1]);
    });
    child.on('exit', () => rej(new Error('demo server exited')));
  });
  return { url, stop: () => child.kill() };
}

async function enginePeak() {
  const wrk = spawnSync('wrk', ['--version']);
  const target = await startTarget();
  try {
    const seconds = 5;
    let reference;
    if (wrk.error) {
      console.log('engine peak: wrk not found (apt-get install wrk); no reference measured');
    } else {
      const out = spawnSync('wrk', ['-t1', '-c64', `-d${seconds}s`, `${target.url}/`], { encoding: 'utf8' }).stdout;
      reference = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]);
    }
    const dir = join(scratch, 'peak');
    const r = spawnSync(
      process.execPath,
      [
        'bin/perf-gate.js',
        'run',
        '--target',
        `${target.url}/`,
        '--rate',
        '30000',
        '--duration',
        `${seconds}s`,
        '--targets',
        'optional: p99 < 1s',
        '--output-dir',
        dir,
        '--config',
        writeConfig(),
      ],
      { encoding: 'utf8' },
    );
    const results = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8'));
    const ours = results.run.throughputRps;
    const g = results.run.generator;
    console.log(
      `engine peak: ${fmt(ours, 0)} req/s (asked 30000/s; started ${g.arrivalsStarted}, dropped ${g.arrivalsDropped})` +
        (reference ? ` vs wrk -t1 -c64 ${fmt(reference, 0)} req/s -> ratio ${fmt(ours / reference, 2)}` : ''),
    );
    if (r.status !== 0 && r.status !== 1) console.log(r.stderr);
  } finally {
    target.stop();
  }
}

function writeConfig(name = 'peak.yml', text = '') {
  const path = join(scratch, name);
  writeFileSync(path, `http:\n  max-in-flight: 64\n${text}`);
  return path;
}

// The same three requests twice: once with a data file, captures, templates and expectations, once with
// literal values. The ratio is what journeys cost the engine; the demo target does the same work for both.
const JOURNEY = `flows:
  - name: bid
    data: users.csv
    steps:
      - post: /api/auth/login
        name: login
        json: { email: "{{ email }}", password: "{{ password }}" }
        capture: { token: $.token }
        expect: { status: 200 }
      - post: /api/bids
        name: bid
        headers: { authorization: "Bearer {{ token }}" }
        json: { auctionId: "{{ $randomInt(1, 100) }}", amount: 10 }
        capture: { bidId: $.id }
        expect: { status: 201, json: { $.id: exists } }
      - get: /api/health
`;
const JOURNEY_PLAIN = `flows:
  - name: bid
    steps:
      - post: /api/auth/login
        name: login
        json: { email: "user1@example.test", password: "pw-1" }
      - post: /api/bids
        name: bid
        headers: { authorization: "Bearer 0123456789abcdef01234567" }
        json: { auctionId: 42, amount: 10 }
      - get: /api/health
`;

// CPU time per request at a fixed rate below saturation: on a shared machine this is steadier than a peak rate,
// and it is what templates and checks add. The CLI runs in a child that reports its own CPU time at the end.
async function journeyPeak() {
  const target = await startTarget();
  try {
    const users = [
      'email,password',
      ...Array.from({ length: 100_000 }, (_, i) => `user${i + 1}@example.test,pw-${i + 1}`),
    ].join('\n');
    writeFileSync(join(scratch, 'users.csv'), `${users}\n`);
    const wrapper = join(scratch, 'cpu.mjs');
    writeFileSync(
      wrapper,
      `const { main } = await import(${JSON.stringify(resolve('dist/cli.js'))});\n` +
        `const code = await main(process.argv.slice(2));\n` +
        `const u = process.cpuUsage();\n` +
        `process.stderr.write('CPU ' + JSON.stringify({ ms: (u.user + u.system) / 1000 }) + '\\n');\n` +
        `process.exitCode = code;\n`,
    );
    const measure = (name, text) => {
      const dir = join(scratch, name);
      const r = spawnSync(
        process.execPath,
        [
          wrapper,
          'run',
          '--target',
          target.url,
          '--rate',
          '700',
          '--duration',
          '5s',
          '--targets',
          'optional: p99 < 1s',
          '--output-dir',
          dir,
          '--config',
          writeConfig(`${name}.yml`, text),
        ],
        { encoding: 'utf8' },
      );
      const cpu = JSON.parse(/CPU (\{.*\})/.exec(r.stderr)?.[1] ?? '{"ms":NaN}').ms;
      const run = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')).run;
      return { cpuUsPerRequest: (cpu * 1000) / run.requests, run };
    };
    const plain = [];
    const journey = [];
    for (let i = 0; i < 3; i++) {
      plain.push(measure(`journey-plain-${i}`, JOURNEY_PLAIN));
      journey.push(measure(`journey-${i}`, JOURNEY));
    }
    const p = median(plain.map((m) => m.cpuUsPerRequest));
    const j = median(journey.map((m) => m.cpuUsPerRequest));
    const failed = journey.reduce((n, m) => n + (m.run.flows?.[0]?.failed ?? 0), 0);
    console.log(
      `engine on a 3-step journey at 700 arrivals/s (100,000-row data file, 2 captures, templates, expectations): ` +
        `${fmt(j, 0)} us CPU per request vs the same requests without them ${fmt(p, 0)} us -> ratio ${fmt(j / p, 2)}` +
        `${failed ? ` (${failed} flows failed a check: the figures are not comparable)` : ''}`,
    );
  } finally {
    target.stop();
  }
}

async function histogramMemory() {
  const entry = join(scratch, 'hist.mjs');
  await build({
    entryPoints: [resolve('src/metrics/histogram.ts')],
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile: entry,
    logLevel: 'silent',
  });
  const script = `
    const { Histogram } = await import(${JSON.stringify(entry)});
    const N = 1_000_000, kind = process.argv[1];
    globalThis.gc(); const before = process.memoryUsage();
    let keep;
    const t0 = performance.now();
    if (kind === 'histogram') { keep = new Histogram(); for (let i = 0; i < N; i++) keep.recordMs(1 + (i % 5000) * 0.37 + (i % 7)); }
    else if (kind === 'float64') { keep = new Float64Array(N); for (let i = 0; i < N; i++) keep[i] = 1 + (i % 5000) * 0.37 + (i % 7); }
    else { keep = []; for (let i = 0; i < N; i++) keep.push(1 + (i % 5000) * 0.37 + (i % 7)); }
    const ms = performance.now() - t0;
    globalThis.gc(); const after = process.memoryUsage();
    const bytes = (after.heapUsed - before.heapUsed) + (after.arrayBuffers - before.arrayBuffers);
    const serialized = kind === 'histogram' ? JSON.stringify(keep.toJSON()).length : 0;
    console.log(JSON.stringify({ bytes, ms, serialized, keep: keep.length ?? keep.count }));
  `;
  const measure = (kind) =>
    JSON.parse(
      spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', script, kind], { encoding: 'utf8' })
        .stdout,
    );
  const h = measure('histogram');
  const f = measure('float64');
  const a = measure('array');
  console.log(
    `memory per million latencies: histogram ${fmt(h.bytes / 1024, 0)} KiB (JSON ${fmt(h.serialized / 1024, 0)} KiB) vs Float64Array ${fmt(f.bytes / 1024, 0)} KiB -> ratio ${fmt(h.bytes / f.bytes, 3)}; vs JS array ${fmt(a.bytes / 1024, 0)} KiB`,
  );
  console.log(`  recording 1e6 latencies: histogram ${fmt(h.ms)} ms vs Float64Array store ${fmt(f.ms)} ms`);
}

if (want('cold-start')) await coldStart();
if (want('engine')) {
  await enginePeak();
  await journeyPeak();
}
if (want('memory')) await histogramMemory();
if (want('engines')) await enginesBench(5, 3);
if (want('ndjson')) {
  console.log('k6 NDJSON reading (perf-gate reader vs readline + JSON.parse per line, same aggregation):');
  await ndjsonBench();
}
const regressionBench = only.includes('regression-real')
  ? 'regression-real.mjs'
  : only.includes('regression')
    ? 'regression-grid.mjs'
    : undefined;
if (regressionBench) {
  // Only on request, in its own process: the grid takes about a minute, real runs (127.0.0.1 only) about ten.
  const r = spawnSync(process.execPath, [join(import.meta.dirname, regressionBench), ...regressionArgs], {
    stdio: 'inherit',
  });
  if (r.status !== 0) process.exitCode = r.status ?? 1;
} else if (only.length === 0) {
  console.log(
    'regression verdict quality: not run by default; `npm run bench -- regression` (simulated grid, about a minute), `-- regression-real` (real runs, about 10 minutes)',
  );
}
