// A Node stand-in for the parts of the k6 API a perf-gate generated script uses (src/engines/k6/translate.ts), so
// the generated logic can run against a real app in tests. It is NOT k6: it checks what the generated JavaScript
// does (templates, captures, checks, early returns, data rows), not how k6 runs it (goja/sobek, Go's HTTP client,
// its metrics). No k6 binary can be installed where these tests run.
//
// How it runs: bundleK6Script() bundles the generated script with esbuild, with `k6`, `k6/http`, `k6/data` and
// `k6/execution` resolved to this file; runK6Script() runs the bundle in a worker thread (the app under test keeps
// the test's own thread), one VU, iterations one after another, think times not slept. k6's http.request is
// synchronous: here a second worker sends the request with fetch() while the script's thread waits on
// Atomics.wait, and the response comes back through receiveMessageOnPort.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MessageChannel, receiveMessageOnPort, Worker, isMainThread, workerData } from 'node:worker_threads';

const SHIM = fileURLToPath(import.meta.url);

export interface ShimRequest {
  method: string;
  url: string;
  body: string | null;
  headers: Record<string, string>;
  name: string | undefined;
  status: number;
  /** The response body as received. */
  responseBody: string | null;
  /** Whether the step's responseCallback (http.expectedStatuses) accepted the status; undefined without one. */
  expected: boolean | undefined;
  iteration: number;
}

export interface ShimRun {
  requests: ShimRequest[];
  checks: Array<{ name: string; ok: boolean; iteration: number }>;
  sleeps: number[];
  /** Exceptions thrown by an iteration (k6 would log them and go on). */
  errors: string[];
}

interface ShimData {
  env: Record<string, string>;
  scriptDir: string;
  iterations: number;
}

// ---------------------------------------------------------------------------------------------------------
// The k6 API, used inside the worker.

const run: ShimRun = { requests: [], checks: [], sleeps: [], errors: [] };
let iteration = 0;
const jar = new Map<string, string>();
let sync: { port: import('node:worker_threads').MessagePort; flag: Int32Array } | undefined;

const HTTP_WORKER = `
const { workerData } = require('node:worker_threads');
const { port, flag } = workerData;
port.on('message', async (req) => {
  let out;
  try {
    const r = await fetch(req.url, { method: req.method, headers: req.headers, body: req.body ?? undefined, redirect: 'manual', signal: AbortSignal.timeout(req.timeoutMs) });
    const headers = {};
    r.headers.forEach((v, k) => { headers[k] = v; });
    out = { status: r.status, body: await r.text(), headers, setCookies: r.headers.getSetCookie() };
  } catch (e) {
    out = { status: 0, body: null, headers: {}, error: String(e) };
  }
  port.postMessage(out);
  Atomics.store(flag, 0, 1);
  Atomics.notify(flag, 0);
});
`;

function syncChannel(): NonNullable<typeof sync> {
  if (!sync) {
    const { port1, port2 } = new MessageChannel();
    const flag = new Int32Array(new SharedArrayBuffer(4));
    const w = new Worker(HTTP_WORKER, { eval: true, workerData: { port: port2, flag }, transferList: [port2] });
    w.unref();
    sync = { port: port1, flag };
  }
  return sync;
}

/** k6 writes response header names canonically (Content-Type). */
function canonicalName(name: string): string {
  return name.replace(/(^|-)([a-z])/g, (_m, dash: string, c: string) => dash + c.toUpperCase());
}

interface Expected {
  __expected: number[];
}

function timeoutMs(t: unknown): number {
  if (typeof t === 'string') {
    const m = /^(\d+)(ms|s)$/.exec(t);
    if (m) return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
  }
  return 60_000;
}

export const http = {
  request(
    method: string,
    url: string,
    body: string | null,
    params: {
      headers?: Record<string, string>;
      tags?: { name?: string };
      timeout?: string;
      responseCallback?: Expected;
    } = {},
  ) {
    const { port, flag } = syncChannel();
    Atomics.store(flag, 0, 0);
    const ms = timeoutMs(params.timeout);
    // k6's cookie jar (per VU, emptied after each iteration): names and values only, enough for the test app.
    const sent = { ...(params.headers ?? {}) };
    if (jar.size > 0) sent.cookie = [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
    port.postMessage({ method, url, body, headers: sent, timeoutMs: ms });
    Atomics.wait(flag, 0, 0, ms + 5000);
    const msg = receiveMessageOnPort(port)?.message as
      | { status: number; body: string | null; headers: Record<string, string>; setCookies?: string[] }
      | undefined;
    const got = msg ?? { status: 0, body: null, headers: {} };
    for (const c of got.setCookies ?? []) {
      const m = /^([^=;\s]+)=([^;]*)/.exec(c);
      if (m) jar.set(m[1]!, m[2]!);
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(got.headers)) headers[canonicalName(k)] = v;
    run.requests.push({
      method,
      url,
      body,
      headers: sent,
      name: params.tags?.name,
      status: got.status,
      responseBody: got.body,
      expected: params.responseCallback ? params.responseCallback.__expected.includes(got.status) : undefined,
      iteration,
    });
    return {
      status: got.status,
      body: got.body,
      headers,
      json() {
        return JSON.parse(got.body ?? '');
      },
    };
  },
  expectedStatuses(...codes: number[]): Expected {
    return { __expected: codes };
  },
};

export function check(value: unknown, sets: Record<string, (v: unknown) => boolean>): boolean {
  let all = true;
  for (const [name, fn] of Object.entries(sets)) {
    let ok = false;
    try {
      ok = !!fn(value);
    } catch {
      ok = false;
    }
    run.checks.push({ name, ok, iteration });
    all &&= ok;
  }
  return all;
}

export function sleep(seconds: number): void {
  run.sleeps.push(seconds);
}

export class SharedArray<T> extends Array<T> {
  constructor(_name: string, fn: () => T[]) {
    super();
    const rows = fn();
    if (!Array.isArray(rows)) throw new Error('SharedArray: the function must return an array');
    this.push(...rows);
  }
}

export const exec = {
  scenario: {
    get iterationInTest(): number {
      return iteration;
    },
  },
};

/** Runs `main` for the configured number of iterations, one after another (one VU: __ITER is the iteration). */
export function runIterations(main: () => unknown): ShimRun {
  const data = workerData as ShimData;
  for (let i = 0; i < data.iterations; i++) {
    iteration = i;
    jar.clear();
    (globalThis as Record<string, unknown>).__ITER = i;
    try {
      main();
    } catch (e) {
      run.errors.push(String(e));
    }
  }
  return run;
}

if (!isMainThread && workerData && (workerData as ShimData).scriptDir) {
  const data = workerData as ShimData;
  const g = globalThis as Record<string, unknown>;
  g.__ENV = { ...data.env };
  g.__ITER = 0;
  // k6's open() reads a file relative to the script, at init time only.
  g.open = (p: string) => readFileSync(isAbsolute(p) ? p : resolve(data.scriptDir, p), 'utf8');
}

// ---------------------------------------------------------------------------------------------------------
// The test side: bundle and run.

const K6_MODULES: Record<string, string> = {
  k6: 'export { check, sleep } from SHIM;',
  'k6/http': 'export { http as default } from SHIM;',
  'k6/data': 'export { SharedArray } from SHIM;',
  'k6/execution': 'export { exec as default } from SHIM;',
};

/** Bundle a generated script (a file) with the k6 modules resolved to this shim; returns the bundle's path. */
export async function bundleK6Script(scriptPath: string): Promise<string> {
  const esbuild = await import('esbuild');
  const entry = join(dirname(scriptPath), 'k6-shim-entry.mjs');
  const out = join(dirname(scriptPath), 'k6-shim-bundle.mjs');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(
    entry,
    `import { runIterations } from ${JSON.stringify(SHIM)};\nimport main from ${JSON.stringify(scriptPath)};\nimport { parentPort } from 'node:worker_threads';\nparentPort.postMessage(runIterations(main));\n`,
  );
  await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'node',
    outfile: out,
    logLevel: 'silent',
    external: ['esbuild'],
    plugins: [
      {
        name: 'k6-shim',
        setup(b) {
          b.onResolve({ filter: /^k6(\/.*)?$/ }, (a) => {
            if (!(a.path in K6_MODULES)) return { errors: [{ text: `k6 module ${a.path} has no stand-in` }] };
            return { path: a.path, namespace: 'k6' };
          });
          b.onLoad({ filter: /.*/, namespace: 'k6' }, (a) => ({
            contents: K6_MODULES[a.path]!.replace('SHIM', JSON.stringify(SHIM)),
            resolveDir: dirname(SHIM),
            loader: 'js',
          }));
        },
      },
    ],
  });
  return out;
}

/** Run a bundle from bundleK6Script(): `iterations` iterations of the default function, one after another. */
export function runK6Script(
  bundle: string,
  opts: { iterations: number; env?: Record<string, string>; scriptDir: string; timeoutMs?: number },
): Promise<ShimRun> {
  return new Promise((resolvePromise, reject) => {
    const w = new Worker(bundle, {
      workerData: { env: opts.env ?? {}, scriptDir: opts.scriptDir, iterations: opts.iterations } satisfies ShimData,
    });
    const timer = setTimeout(() => {
      void w.terminate();
      reject(new Error('the generated script did not finish in time'));
    }, opts.timeoutMs ?? 30_000);
    w.once('message', (m: ShimRun) => {
      clearTimeout(timer);
      void w.terminate();
      resolvePromise(m);
    });
    w.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
}
