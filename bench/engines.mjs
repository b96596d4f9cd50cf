// The built-in engine against autocannon and wrk, measured in the same run on the same targets with the same number
// of connections: requests/s, and the generator's own CPU time per 10,000 requests (user + system of the generator
// process, read from the shell's `times` after it exits). Two targets: a trivial one in its own process (answers
// `200 ok` at once, so the generator is the bottleneck) and the bundled demo target (the target is the bottleneck).
// Load goes only to 127.0.0.1; every run lasts `seconds` and stops by itself.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
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

function autocannon(url, seconds) {
  const { out, cpu } = timed(`${q(join(ROOT, 'node_modules/.bin/autocannon'))} -c ${CONNECTIONS} -d ${seconds} -j ${q(url + '/')}`);
  const j = JSON.parse(out);
  return { rps: j.requests.total / j.duration, requests: j.requests.total, cpu };
}

function wrk(url, seconds) {
  if (spawnSync('wrk', ['--version']).error) return undefined;
  const { out, cpu } = timed(`wrk -t1 -c${CONNECTIONS} -d${seconds}s ${q(url + '/')}`);
  const requests = Number(/(\d+) requests in/.exec(out)?.[1]);
  return { rps: Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1]), requests, cpu };
}

function perfGate(url, seconds) {
  const dir = join(scratch, `pg-${Date.now()}`);
  const config = join(scratch, 'engines.yml');
  writeFileSync(config, `http:\n  max-in-flight: ${CONNECTIONS}\n`);
  const { cpu } = timed(
    `${q(process.execPath)} bin/perf-gate.js run --target ${q(url + '/')} --rate 100000 --duration ${seconds}s --targets 'optional: p99 < 1s' --output-dir ${q(dir)} --config ${q(config)}`,
  );
  const run = JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')).run;
  return { rps: run.throughputRps, requests: run.requests, cpu };
}

export async function enginesBench(seconds = 5) {
  for (const [label, args] of [
    ['trivial target (own process)', ['-e', TRIVIAL]],
    ['demo target', ['demo/server.ts', '--port', '0']],
  ]) {
    const target = await startTarget(args);
    try {
      const ac = autocannon(target.url, seconds);
      const wr = wrk(target.url, seconds);
      const pg = perfGate(target.url, seconds);
      const per10k = (m) => (m && m.requests > 0 ? (m.cpu / m.requests) * 10_000 : NaN);
      console.log(`engines on the ${label}, ${CONNECTIONS} connections, ${seconds} s:`);
      console.log(`  autocannon ${fmt(ac.rps)} req/s, ${fmt(per10k(ac), 3)} CPU s per 10k requests`);
      if (wr) console.log(`  wrk        ${fmt(wr.rps)} req/s, ${fmt(per10k(wr), 3)} CPU s per 10k requests`);
      console.log(
        `  perf-gate  ${fmt(pg.rps)} req/s, ${fmt(per10k(pg), 3)} CPU s per 10k requests -> ${fmt(pg.rps / ac.rps, 2)}x autocannon's req/s, ` +
          `${fmt(per10k(pg) / per10k(ac), 2)}x its CPU per request (goal: >= 0.90x and <= 1.00x)`,
      );
    } finally {
      target.stop();
    }
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await enginesBench(Number(process.argv[2] ?? 5));
