// The bundled demo target: routes, stats, the load knee, loopback only, and running it as a program.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoServer } from '../demo/server.ts';

type Demo = Awaited<ReturnType<typeof startDemoServer>>;

async function get(url: string, init?: RequestInit): Promise<{ status: number; body: any; ms: number }> {
  const t = performance.now();
  const res = await fetch(url, init);
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, ms: performance.now() - t };
}

describe('demo target', () => {
  let demo: Demo;
  beforeAll(async () => {
    demo = await startDemoServer({ baseLatencyMs: 1, jitterMs: 0 });
  });
  afterAll(async () => {
    await demo?.close();
  });

  it('listens on 127.0.0.1 on a free port', () => {
    expect(demo.url).toBe(`http://127.0.0.1:${demo.port}`);
    expect(demo.port).toBeGreaterThan(0);
  });

  it('answers every route', async () => {
    expect((await get(`${demo.url}/`)).body).toEqual({ name: 'perf-gate demo target', ok: true });
    expect(await get(`${demo.url}/api/health`)).toMatchObject({ status: 200, body: { status: 'ok' } });
    expect(await get(`${demo.url}/api/status`)).toMatchObject({ status: 200, body: { status: 'ok' } });
    const login = await get(`${demo.url}/api/auth/login`, {
      method: 'POST',
      body: '{"user":"demo"}',
      headers: { 'content-type': 'application/json' },
    });
    expect(login.status).toBe(200);
    expect(login.body.token).toMatch(/^[0-9a-f]{24}$/);
    const bid = await get(`${demo.url}/api/bids`, {
      method: 'POST',
      body: '{"amount":10}',
      headers: { 'content-type': 'application/json' },
    });
    expect(bid).toMatchObject({ status: 201, body: { bid: { amount: 10 } } });
    expect((await get(`${demo.url}/api/bids`, { method: 'POST', body: 'nope' })).status).toBe(400);
    expect((await get(`${demo.url}/status/418`)).status).toBe(418);
    expect((await get(`${demo.url}/status/503`)).status).toBe(503);
    expect((await get(`${demo.url}/status/abc`)).status).toBe(400);
    expect((await get(`${demo.url}/nowhere`)).status).toBe(404);
    expect((await get(`${demo.url}/api/bids`)).status).toBe(405);
  });

  it('delays /slow by the asked time', async () => {
    const r = await get(`${demo.url}/slow?ms=150`);
    expect(r.status).toBe(200);
    expect(r.ms).toBeGreaterThanOrEqual(150);
  });

  it('fails /flaky at the asked rate', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 20 }, () => get(`${demo.url}/flaky?rate=1`).then((r) => r.status)),
    );
    expect(statuses.every((s) => s === 503)).toBe(true);
    expect((await get(`${demo.url}/flaky?rate=0`)).status).toBe(200);
  });

  it('counts requests by path', async () => {
    const before = demo.stats();
    await get(`${demo.url}/api/health`);
    await get(`${demo.url}/slow?ms=1`);
    const after = demo.stats();
    expect(after.requests).toBe(before.requests + 2);
    expect(after.byPath['/api/health']).toBe((before.byPath['/api/health'] ?? 0) + 1);
    expect(after.byPath['/slow']).toBe((before.byPath['/slow'] ?? 0) + 1);
  });
});

describe('demo target options', () => {
  it('refuses to bind anything but loopback', async () => {
    await expect(startDemoServer({ host: '0.0.0.0' })).rejects.toThrow(/loopback/);
  });

  it('degrades above the knee rate', async () => {
    const demo = await startDemoServer({
      baseLatencyMs: 0,
      jitterMs: 0,
      kneeRps: 20,
      kneeLatencyMs: 100,
      kneeErrorRate: 0.5,
    });
    try {
      const calm = await get(`${demo.url}/`);
      expect(calm.status).toBe(200);
      // 200 requests within a second: 10x the knee, so about 450 ms extra latency and 95 % 503s at the end.
      const results = await Promise.all(Array.from({ length: 200 }, () => get(`${demo.url}/`)));
      expect(demo.stats().requests).toBe(201);
      const failed = results.filter((r) => r.status === 503).length;
      expect(failed).toBeGreaterThan(50);
      expect(Math.max(...results.map((r) => r.ms))).toBeGreaterThan(200);
    } finally {
      await demo.close();
    }
  });

  it('closes promptly with slow requests pending', async () => {
    const demo = await startDemoServer();
    const pending = fetch(`${demo.url}/slow?ms=30000`).catch(() => 'cut');
    await new Promise((r) => setTimeout(r, 50));
    const t = performance.now();
    await demo.close();
    expect(performance.now() - t).toBeLessThan(1000);
    expect(await pending).toBe('cut');
  });

  it('runs as a program and stops on SIGTERM', async () => {
    const script = fileURLToPath(new URL('../demo/server.ts', import.meta.url));
    const child = spawn(process.execPath, [script, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('\n')) resolve(out.trim());
      });
      child.once('exit', (code) => reject(new Error(`exited with ${code}`)));
    });
    expect(line).toMatch(/^demo target listening on http:\/\/127\.0\.0\.1:\d+$/);
    const url = line.slice('demo target listening on '.length);
    expect((await get(`${url}/api/health`)).status).toBe(200);
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
