// Several instances of a small app behind a real HAProxy (Debian's package), for the tests of the checks and the
// scalability figures: a multi-instance stand-in for an ALB on 127.0.0.1. Each instance counts what it serves and
// exposes it on /metrics for Prometheus (`app_requests_total`); HAProxy health-checks them (GET /health every
// 300 ms) and is steered through its runtime API (weights, enabling a server that was declared disabled). A missing
// binary is an error naming scripts/ci-services.sh, never a silent skip.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './postgres.js';
import { findBinary } from './prometheus.js';

export interface AppInstance {
  name: string;
  port: number;
  /** `127.0.0.1:<port>`, Prometheus's `instance` label. */
  address: string;
  /** Requests served, /metrics and /health excluded. */
  served(): number;
  running(): boolean;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function appInstance(name: string, port?: number): Promise<AppInstance> {
  const p = port ?? (await freePort());
  let served = 0;
  let server: Server | undefined;
  const inst: AppInstance = {
    name,
    port: p,
    address: `127.0.0.1:${p}`,
    served: () => served,
    running: () => server !== undefined,
    start: async () => {
      if (server) return;
      const s = createServer((req, res) => {
        if (req.url === '/metrics') {
          res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
          res.end(`# TYPE app_requests_total counter\napp_requests_total ${served}\n`);
          return;
        }
        if (req.url === '/health') {
          res.writeHead(200);
          res.end('ok');
          return;
        }
        served++;
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ instance: name }));
      });
      s.keepAliveTimeout = 1000;
      await new Promise<void>((r) => s.listen(p, '127.0.0.1', r));
      server = s;
    },
    stop: async () => {
      const s = server;
      server = undefined;
      if (!s) return;
      s.closeAllConnections();
      await new Promise<void>((r) => s.close(() => r()));
    },
  };
  await inst.start();
  return inst;
}

export interface Haproxy {
  /** The frontend: the target of the load. */
  url: string;
  /** HAProxy's own Prometheus exporter. */
  metricsAddress: string;
  /** One runtime API command (`set weight app/a1 100`), its answer. */
  command(line: string): Promise<string>;
  stop(): Promise<void>;
}

/** `servers` in order; those with `disabled` are declared but get no traffic until `enable server app/<name>`. */
export async function startHaproxy(
  servers: Array<{ name: string; port: number; disabled?: boolean }>,
): Promise<Haproxy> {
  const bin = findBinary(['haproxy']);
  const dir = mkdtempSync(join(tmpdir(), 'perf-gate-haproxy-'));
  const port = await freePort();
  const metricsPort = await freePort();
  const socket = join(dir, 'admin.sock');
  writeFileSync(
    join(dir, 'haproxy.cfg'),
    [
      'global',
      '  maxconn 2000',
      `  stats socket ${socket} mode 600 level admin`,
      'defaults',
      '  mode http',
      '  timeout connect 2s',
      '  timeout client 10s',
      '  timeout server 10s',
      'frontend web',
      `  bind 127.0.0.1:${port}`,
      '  default_backend app',
      'frontend metrics',
      `  bind 127.0.0.1:${metricsPort}`,
      '  http-request use-service prometheus-exporter if { path /metrics }',
      'backend app',
      '  balance roundrobin',
      '  option httpchk GET /health',
      '  default-server inter 300ms fall 1 rise 1',
      ...servers.map((s) => `  server ${s.name} 127.0.0.1:${s.port} check${s.disabled ? ' disabled' : ''}`),
      '',
    ].join('\n'),
  );
  const logFile = join(dir, 'haproxy.log');
  const out = openSync(logFile, 'a');
  const child: ChildProcess = spawn(bin, ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', out, out] });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(force);
          resolve();
        });
        child.kill('SIGTERM');
      });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const command = (line: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const c = connect(socket);
      let text = '';
      c.on('data', (d) => (text += d.toString()));
      c.on('end', () => resolve(text.trim()));
      c.on('error', reject);
      c.end(`${line}\n`);
    });
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { headers: { connection: 'close' } });
      await res.text();
      if (res.ok) break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline || child.exitCode !== null) {
      let log = '';
      try {
        log = readFileSync(logFile, 'utf8').slice(-2000);
      } catch {
        // no log
      }
      await stop();
      throw new Error(`haproxy did not start within 15 s\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { url, metricsAddress: `127.0.0.1:${metricsPort}`, command, stop };
}
