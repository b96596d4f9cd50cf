// Hostile replies from every source, round 3: a RESP stand-in for Redis that answers INFO with 600 MB fast, with nil
// or with an integer; a Prometheus, a CloudWatch and a CloudWatch Logs stand-in that stream 600 MB of JSON. Each
// reply is capped in bytes while it arrives: the metric is unavailable with a message saying so, and the process's
// memory stays within 100 MB of what it was before (measured in a child process running the real sources, bounded
// in time), where a 600 MB INFO reply once took it to 1.86 GB.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sourcesSchema } from '../src/config/sources.js';
import { collectAll, createSources, startSources } from '../src/sources/index.js';
import { MAX_INFO_BYTES } from '../src/sources/redis.js';
import { memoryLog } from './helpers/memory-log.js';
import { flood, HUGE, respStandIn } from './helpers/resp-stand-in.js';

const MB = 1024 * 1024;

/** An HTTP stand-in whose every answer is a 200 JSON reply of `HUGE` bytes, streamed without a content-length. */
async function floodingHttp(
  start: (path: string, target: string | undefined) => string | undefined,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server: HttpServer = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const small = start(req.url ?? '/', req.headers['x-amz-target'] as string | undefined);
      const type = req.headers['x-amz-target']?.toString().startsWith('Logs_')
        ? 'application/x-amz-json-1.1'
        : req.headers['x-amz-target']
          ? 'application/x-amz-json-1.0'
          : 'application/json';
      res.writeHead(200, { 'content-type': type });
      if (small !== undefined) return res.end(small);
      res.socket?.on('error', () => undefined);
      flood(
        res as unknown as Parameters<typeof flood>[0],
        '{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[',
        HUGE,
        Buffer.from('[1,"1"],'.repeat(128 * 1024)),
      );
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

// ---- the real sources in a child process, with its RSS watched --------------------------------------------------

const dir = mkdtempSync(join(tmpdir(), 'perf-gate-faults-sources-'));
const bundle = join(dir, 'sources.cjs');
const child = join(dir, 'child.cjs');

beforeAll(async () => {
  const { build } = await import('esbuild');
  await build({
    stdin: {
      contents:
        "export { createSources, startSources, collectAll } from './src/sources/index.ts';\nexport { sourcesSchema } from './src/config/sources.ts';\n",
      resolveDir: resolve('.'),
      loader: 'ts',
    },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile: bundle,
    logLevel: 'silent',
  });
  writeFileSync(
    child,
    `const { createSources, startSources, collectAll, sourcesSchema } = require(${JSON.stringify(bundle)});
setTimeout(() => { console.log(JSON.stringify({ error: 'child timed out' })); process.exit(2); }, 20000).unref();
(async () => {
  const lines = [];
  const log = { info: (m) => lines.push(m), warning: (m) => lines.push(m), debug: () => undefined };
  const sources = createSources(sourcesSchema.parse(JSON.parse(process.argv[2])), log, { env: process.env });
  const end = Math.floor(Date.now() / 60000) * 60000 - 600000;
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const watch = setInterval(() => { peak = Math.max(peak, process.memoryUsage().rss); }, 5);
  const t0 = Date.now();
  await startSources(sources, log);
  const out = await collectAll(sources, { start: new Date(end - 300000), end: new Date(end) }, log);
  clearInterval(watch);
  peak = Math.max(peak, process.memoryUsage().rss);
  console.log(JSON.stringify({ baseline, peak, ms: Date.now() - t0, reasons: out.infra.map((m) => m.unavailable ?? null), lines }));
  process.exit(0);
})();
`,
  );
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface ChildResult {
  baseline: number;
  peak: number;
  ms: number;
  reasons: Array<string | null>;
  lines: string[];
}

function runChild(config: unknown[]): Promise<ChildResult> {
  return new Promise((resolvePromise, reject) => {
    const p = spawn(process.execPath, [child, JSON.stringify(config)], {
      env: {
        ...process.env,
        AWS_ACCESS_KEY_ID: 'AKIDPERFGATETEST',
        AWS_SECRET_ACCESS_KEY: 'fake',
        AWS_EC2_METADATA_DISABLED: 'true',
        AWS_PROFILE: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (b: Buffer) => (out += b.toString()));
    p.stderr.on('data', (b: Buffer) => (err += b.toString()));
    p.on('error', reject);
    p.on('close', (code) => {
      try {
        const r = JSON.parse(out.trim().split('\n').pop() ?? '') as ChildResult & { error?: string };
        if (code !== 0 || r.error) reject(new Error(`child exited ${code}: ${out} ${err}`));
        else resolvePromise(r);
      } catch {
        reject(new Error(`child exited ${code}: ${out} ${err}`));
      }
    });
  });
}

const closers: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const c of closers) await c();
});

function expectBounded(r: ChildResult): void {
  const over = (r.peak - r.baseline) / MB;
  console.log(
    `faults-sources: peak RSS ${(r.peak / MB).toFixed(0)} MB, ${over.toFixed(1)} MB over the baseline of ${(r.baseline / MB).toFixed(0)} MB, in ${r.ms} ms`,
  );
  expect(over).toBeLessThan(100);
  expect(r.ms).toBeLessThan(15_000);
}

describe('every source caps its replies in bytes while they arrive (RSS measured in a child process)', () => {
  it('Redis: INFO answered with 600 MB, fast', async () => {
    const resp = await respStandIn(() => 'huge');
    closers.push(resp.close);
    const r = await runChild([{ kind: 'redis', url: `redis://127.0.0.1:${resp.port}`, timeout: '5s' }]);
    expectBounded(r);
    expect(r.reasons[0]).toBe(
      `cannot read INFO: the INFO reply passed ${MAX_INFO_BYTES / 1024} KiB (a real one is a few KiB); the connection was closed at the cap`,
    );
    // Not sent again on the next connection.
    expect(resp.infos()).toBe(1);
  }, 30_000);

  it('Prometheus: a range query answered with 600 MB, fast', async () => {
    const prom = await floodingHttp(() => undefined);
    closers.push(prom.close);
    const r = await runChild([
      { kind: 'prometheus', url: prom.url, step: '15s', retries: 0, metrics: [{ name: 'cpu', query: 'up' }] },
    ]);
    expectBounded(r);
    expect(r.reasons[0]).toMatch(/Prometheus answered with more than 16 MiB; the reply was cut off there and not used/);
  }, 30_000);

  it('CloudWatch: GetMetricData answered with 600 MB, fast', async () => {
    const cw = await floodingHttp(() => undefined);
    closers.push(cw.close);
    const r = await runChild([
      {
        kind: 'cloudwatch',
        region: 'eu-west-1',
        endpoint: cw.url,
        retries: 0,
        'lag-wait': '0s',
        metrics: [{ preset: 'ecs-cpu', cluster: 'c' }],
      },
    ]);
    expectBounded(r);
    expect(r.reasons.join('\n')).toMatch(/CloudWatch answered with more than 16 MiB/);
  }, 30_000);

  it('CloudWatch Logs: GetQueryResults answered with 600 MB, fast', async () => {
    const logs = await floodingHttp((_path, target) =>
      target?.endsWith('StartQuery')
        ? '{"queryId":"q-1"}'
        : target?.endsWith('StopQuery')
          ? '{"success":true}'
          : undefined,
    );
    closers.push(logs.close);
    const r = await runChild([
      {
        kind: 'cloudwatch-logs',
        region: 'eu-west-1',
        endpoint: logs.url,
        'log-groups': ['/ecs/api'],
        poll: '20ms',
        retries: 0,
      },
    ]);
    expectBounded(r);
    expect(r.reasons.join('\n')).toMatch(/CloudWatch Logs answered with more than 16 MiB/);
  }, 30_000);
});

describe('a Redis that does not answer INFO with INFO text: a message naming what it answered', () => {
  for (const [mode, what] of [
    ['nil', 'nil'],
    ['integer', 'an integer'],
  ] as const) {
    it(`INFO answered with ${what}`, async () => {
      const resp = await respStandIn(() => mode);
      closers.push(resp.close);
      const log = memoryLog();
      const sources = createSources(
        sourcesSchema.parse([{ kind: 'redis', url: `redis://127.0.0.1:${resp.port}` }]),
        log,
      );
      await startSources(sources, log);
      const out = await collectAll(sources, { start: new Date(), end: new Date() }, log);
      for (const m of out.infra)
        expect(m.unavailable).toBe(
          `cannot read INFO: INFO was answered with ${what}, not the INFO text (is this a Redis server?)`,
        );
      expect(log.lines.join('\n')).not.toMatch(/Cannot read properties/);
    });
  }

  it('a Redis that turns hostile during the run: its samples fail, counted, and the source keeps sampling', async () => {
    let n = 0;
    const resp = await respStandIn(() => (n++ === 0 ? 'normal' : n % 2 ? 'nil' : 'huge'));
    closers.push(resp.close);
    const log = memoryLog();
    const sources = createSources(
      sourcesSchema.parse([{ kind: 'redis', url: `redis://127.0.0.1:${resp.port}`, interval: '100ms' }]),
      log,
    );
    await startSources(sources, log);
    const start = new Date();
    await new Promise((r) => setTimeout(r, 700));
    const out = await collectAll(sources, { start, end: new Date() }, log);
    // Failures counted (the last one named: the reply's, or the reconnect's after the cap closed the connection).
    const m = /redis: (\d+) of (\d+) INFO samples failed \((.+)\)/.exec(out.notes.join('\n'));
    expect(m, out.notes.join('\n')).not.toBeNull();
    expect(Number(m![1])).toBeGreaterThanOrEqual(2);
    expect(m![3]).not.toMatch(/Cannot read properties/);
    expect(resp.infos()).toBeGreaterThanOrEqual(3);
  });
});
