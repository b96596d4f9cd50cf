// The built-in engine against autocannon and wrk, measured in the same run on the same targets with the same number
// of connections: requests/s, and the generator's own CPU time per 10,000 requests (user + system of the generator
// process, read from the shell's `times` after it exits). Two targets: a trivial one in its own process (answers
// `200 ok` at once, so the generator is the bottleneck) and the bundled demo target (the target is the bottleneck).
// Load goes only to 127.0.0.1; every run lasts `seconds` and stops by itself.
//
// Fair comparison: autocannon runs on the same Node binary as perf-gate (process.execPath, not whatever `node` is
// first on PATH). perf-gate runs open-model with --rate 100000 and http.max-in-flight 64: arrivals come far faster
// than 64 slots can take them, a freed slot takes the next due arrival at once and the rest are dropped and counted,
// which is 64 connections in a closed loop (the run is then marked invalid for its dropped arrivals, as it should
// be). The CPU figure is the whole process, so it includes start-up, and for perf-gate also config loading, the
// report and results.json: that fixed cost is measured separately (perf-gate at 1 arrival/s for 1 s; autocannon
// sending 1 request) and printed, and "net" CPU per 10k requests subtracts it from the run's CPU.
// `node bench/engines.mjs [seconds] [repeats]`: with repeats > 1 the generators take turns (in a rotating order)
// and the medians are printed with the spread (min-max), because another process on the machine moves req/s.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './lib.mjs';

const CONNECTIONS = 64;
const fmt = (n, d = 0) => (n === undefined || Number.isNaN(n) ? '—' : n.toFixed(d));

const TRIVIAL = `
  const http = require('node:http');
  const s = http.createServer((req, res) => { res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 2 }); res.end('ok'); });
  s.keepAliveTimeout = 30000;
  s.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + s.address().port));
`;

async function startTarget(args) {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise((res, rej) => {
    child.stdout.on('data', (d) => {
      const m = /listening on (http:\/\/\S+)/.exec(String(d));
      if (m) res(m[1].replace(/\/$/, ''));
    });
    child.on('exit', () => rej(new Error(`target ${args.join(' ')} exited`)));
  });
  return { url, stop: () => child.kill() };
}

/** Runs `cmd` under bash and returns its stdout and the CPU seconds its children used (bash's `times`). */
function timed(cmd) {
  const r = spawnSync('bash', ['-c', `${cmd} > "$OUT" 2>/dev/null; times`], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, OUT: join(scratch, 'out.txt') },
  });
  const lines = r.stdout.trim().split('\n');
  const child = lines.at(-1) ?? '';
  const secs = [...child.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
  return { out: readFileSync(join(scratch, 'out.txt'), 'utf8'), cpu: secs.length === 2 ? secs[0] + secs[1] : NaN };
}

const scratch = mkdtempSync(join(tmpdir(), 'perf-gate-engines-'));
const q = (s) => `'${s.replace(/'/g, `'\\''`)}'`;

const AUTOCANNON = `${q(process.execPath)} ${q(join(ROOT, 'node_modules/autocannon/autocannon.js'))}`;

function autocannon(url, seconds) {
  const { out, cpu } = timed(`${AUTOCANNON} -c ${CONNECTIONS} -d ${seconds} -j ${q(url + '/')}`);
  const j = JSON.parse(out);
  return { rps: j.requests.total / j.duration, requests: j.requests.total, cpu };
}

/** autocannon's fixed CPU cost: start, one request, its summary. */
function autocannonFixed(url) {
  return timed(`${AUTOCANNON} -c 1 -a 1 -j ${q(url + '/')}`).cpu;
}

function wrk(url, seconds) {
  if (spawnSync('wrk', ['--version']).error) return undefined;
  const { out, cpu } = timed(`wrk -t1 -c${CONNECTIONS} -d${seconds}s ${q(url + '/')}`);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]), requests, cpu };
}

function perfGate(url, seconds, rate = 100000, root = ROOT) {
  const dir = join(scratch, `pg-${Date.now()}`);
  const config = join(scratch, 'engines.yml');
  writeFileSync(config, `http:\n  max-in-flight: ${CONNECTIONS}\n`);
  const { cpu } = timed(
    `${q(process.execPath)} ${q(join(root, 'bin/perf-gate.js'))} run --target ${q(url + '/')} --rate ${rate} --duration ${seconds}s --targets 'optional: p99 < 1s' --output-dir ${q(dir)} --config ${q(config)}`,
  );
  const run = JSON.parse(readFileSync(resultsFile(dir), 'utf8')).run;
  return { rps: run.throughputRps, requests: run.requests, cpu };
}

/** The run's results.json: in its own run folder (`<phase>-<time>/`), or at the top in builds before that layout. */
function resultsFile(dir) {
  const top = join(dir, 'results.json');
  if (existsSync(top)) return top;
  const runs = readdirSync(dir, { withFileTypes: true }).filter(
    (d) => d.isDirectory() && existsSync(join(dir, d.name, 'results.json')),
  );
  if (runs.length !== 1) throw new Error(`expected one run folder with a results.json in ${dir}, found ${runs.length}`);
  return join(dir, runs[0].name, 'results.json');
}

/** perf-gate's fixed CPU cost: start, config, one arrival a second for 1 s, the report and results.json. */
function perfGateFixed(url, root = ROOT) {
  return perfGate(url, 1, 1, root).cpu;
}

// PERF_GATE_BEFORE=<folder with bin/ and dist/ of another build>: measure that build too, in the same run (a
// before/after comparison with the same references).
const BEFORE = process.env.PERF_GATE_BEFORE;

const median = (xs) => {
  const s = xs.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const spread = (xs, d) => (xs.length > 1 ? ` [${fmt(Math.min(...xs), d)}-${fmt(Math.max(...xs), d)}]` : '');

export async function enginesBench(seconds = 5, repeats = 1) {
  for (const [label, args] of [
    ['trivial target (own process)', ['-e', TRIVIAL]],
    ['demo target', ['demo/server.ts', '--port', '0']],
  ]) {
    const target = await startTarget(args);
    try {
      const fixed = {
        ac: median([autocannonFixed(target.url), autocannonFixed(target.url)]),
        pg: median([perfGateFixed(target.url), perfGateFixed(target.url)]),
      };
      if (BEFORE) fixed.pb = median([perfGateFixed(target.url, BEFORE), perfGateFixed(target.url, BEFORE)]);
      const runs = { ac: [], wr: [], pg: [], pb: [] };
      const gens = { ac: autocannon, wr: wrk, pg: perfGate, pb: (url, secs) => perfGate(url, secs, 100000, BEFORE) };
      const order = BEFORE ? ['ac', 'wr', 'pg', 'pb'] : ['ac', 'wr', 'pg'];
      for (let i = 0; i < repeats; i++) {
        // Rotate who goes first, so a slow patch of the machine does not always hit the same generator.
        for (let j = 0; j < order.length; j++) {
          const g = order[(i + j) % order.length];
          const m = gens[g](target.url, seconds);
          if (m) runs[g].push(m);
        }
      }
      const per10k = (m, f = 0) => (m && m.requests > 0 ? ((m.cpu - f) / m.requests) * 10_000 : NaN);
      const sum = (g) => {
        const ms = runs[g];
        if (ms.length === 0) return undefined;
        const rps = ms.map((m) => m.rps);
        const cpu = ms.map((m) => per10k(m));
        const net = ms.map((m) => per10k(m, fixed[g] ?? 0));
        return {
          rps: median(rps),
          cpu: median(cpu),
          net: median(net),
          rpsS: spread(rps, 0),
          cpuS: spread(cpu, 3),
          netS: spread(net, 3),
        };
      };
      const ac = sum('ac');
      const wr = sum('wr');
      const pg = sum('pg');
      const pb = sum('pb');
      const line = (name, m, f) =>
        `  ${name} ${fmt(m.rps)}${m.rpsS} req/s, ${fmt(m.cpu, 3)}${m.cpuS} CPU s per 10k requests` +
        (f !== undefined ? `, net of the fixed ${fmt(f, 2)} s: ${fmt(m.net, 3)}${m.netS}` : '');
      const runsNote = repeats > 1 ? `, median of ${repeats} runs each [min-max]` : '';
      console.log(`engines on the ${label}, ${CONNECTIONS} connections, ${seconds} s${runsNote}:`);
      console.log(line('autocannon', ac, fixed.ac));
      if (wr) console.log(line('wrk       ', wr));
      console.log(line('perf-gate ', pg, fixed.pg));
      if (pb) {
        console.log(line('perf-gate before', pb, fixed.pb));
        console.log(
          `  before / autocannon: ${fmt(pb.rps / ac.rps, 2)}x req/s, ${fmt(pb.cpu / ac.cpu, 2)}x CPU per request (${fmt(pb.net / ac.net, 2)}x net)`,
        );
      }
      console.log(
        `  perf-gate / autocannon: ${fmt(pg.rps / ac.rps, 2)}x req/s, ${fmt(pg.cpu / ac.cpu, 2)}x CPU per request ` +
          `(${fmt(pg.net / ac.net, 2)}x net of start-up and report) (goal: >= 0.90x and <= 1.00x)`,
      );
    } finally {
      target.stop();
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`)
  await enginesBench(Number(process.argv[2] ?? 5), Number(process.argv[3] ?? 1));
