// A throwaway redis-server (Debian's) for tests: started on a free 127.0.0.1 port with no persistence, optional
// password, maxmemory and maxclients, never as a system service. A missing binary is an error naming
// scripts/ci-services.sh, never a silent skip.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findBinary } from './prometheus.js';
import { freePort } from './postgres.js';

export interface RedisServer {
  port: number;
  host: string;
  password?: string;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  password?: string;
  maxmemory?: string;
  maxmemoryPolicy?: string;
  maxclients?: number;
}

/** One RESP command over a fresh socket: for readiness checks without a client library. */
export function rawCommand(port: number, line: string, timeoutMs = 2000): Promise<string> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, '127.0.0.1');
    let data = '';
    const timer = setTimeout(() => {
      sock.destroy();
      resolve(data);
    }, timeoutMs);
    sock.on('connect', () => sock.write(`${line}\r\n`));
    sock.on('data', (d) => {
      data += d.toString();
      if (data.endsWith('\r\n')) {
        clearTimeout(timer);
        sock.destroy();
        resolve(data);
      }
    });
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}

export async function startRedis(opts: RedisServerOptions & { sentinelOf?: number } = {}): Promise<RedisServer> {
  const bin = findBinary(['redis-server']);
  const port = await freePort();
  let args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'];
  let dir: string | undefined;
  if (opts.sentinelOf !== undefined) {
    // Sentinel rewrites its config file, so it gets one of its own in a temporary folder.
    dir = mkdtempSync(join(tmpdir(), 'perf-gate-sentinel-'));
    const conf = join(dir, 'sentinel.conf');
    writeFileSync(conf, `port ${port}\nbind 127.0.0.1\nsentinel monitor main 127.0.0.1 ${opts.sentinelOf} 1\n`);
    args = [conf, '--sentinel'];
  }
  if (opts.password) args.push('--requirepass', opts.password);
  if (opts.maxmemory)
    args.push('--maxmemory', opts.maxmemory, '--maxmemory-policy', opts.maxmemoryPolicy ?? 'allkeys-lru');
  if (opts.maxclients) args.push('--maxclients', String(opts.maxclients));
  let log = '';
  const child: ChildProcess = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout!.on('data', (d) => (log = (log + d.toString()).slice(-4000)));
  child.stderr!.on('data', (d) => (log = (log + d.toString()).slice(-4000)));
  const deadline = Date.now() + 10_000;
  for (;;) {
    const answer = await rawCommand(port, 'PING', 500).catch(() => '');
    // Without AUTH a password-protected server answers NOAUTH: it is up all the same.
    if (/^\+PONG|^-NOAUTH/.test(answer)) break;
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`redis-server did not start on port ${port}: ${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    port,
    host: '127.0.0.1',
    ...(opts.password ? { password: opts.password } : {}),
    stop: () =>
      new Promise<void>((resolve) => {
        const done = (): void => {
          if (dir) rmSync(dir, { recursive: true, force: true });
          resolve();
        };
        if (child.exitCode !== null || child.signalCode !== null) return done();
        const force = setTimeout(() => child.kill('SIGKILL'), 3000);
        child.once('exit', () => {
          clearTimeout(force);
          done();
        });
        child.kill('SIGTERM');
      }),
  };
}
