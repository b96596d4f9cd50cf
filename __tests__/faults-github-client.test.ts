// The GitHub client's bounds, against the hostile stand-in directly: retries that do not grow from one call to the
// next, a timeout on every request, one time budget for all of them, retry-after honoured only within it.
import { afterEach, describe, expect, it } from 'vitest';
import { createGitHubClient } from '../src/github/client.js';
import { startGitHubStub, type GitHubStub } from './helpers/github-stub.js';

const quiet = { info: () => undefined, warning: () => undefined, debug: () => undefined };
let stub: GitHubStub | undefined;
afterEach(async () => {
  await stub?.close();
  stub = undefined;
});

async function timed(fn: () => Promise<unknown>): Promise<{ ms: number; error?: Error }> {
  const t0 = performance.now();
  try {
    await fn();
    return { ms: performance.now() - t0 };
  } catch (e) {
    return { ms: performance.now() - t0, error: e as Error };
  }
}

describe('the bounded GitHub client', () => {
  it('retries each failing call twice, and the pauses do not grow from one call to the next', async () => {
    stub = await startGitHubStub({});
    stub.state.fault = { mode: '500' };
    const gh = createGitHubClient('t', quiet, { baseUrl: stub.url });
    for (const path of ['/a', '/b', '/c']) {
      const r = await timed(() => gh.request(`GET ${path}`));
      expect(r.error?.message).toBe('Server Error');
      // 0.5 s and 2 s between the three tries.
      expect(r.ms).toBeGreaterThan(2400);
      expect(r.ms).toBeLessThan(4000);
    }
    expect(stub.requests).toHaveLength(9);
  }, 30_000);

  it('gives up on a request that never answers after its timeout, and on all of them once the budget is spent', async () => {
    stub = await startGitHubStub({});
    stub.state.fault = { mode: 'hang' };
    const gh = createGitHubClient('t', quiet, {
      baseUrl: stub.url,
      budget: { requestTimeoutMs: 300, totalMs: 1000, retries: 2 },
    });
    const first = await timed(() => gh.request('GET /user'));
    expect(first.error?.message).toMatch(/no answer within 0\.3s/);
    const afterBudget = await timed(() => gh.request('GET /user'));
    expect(afterBudget.error?.message).toMatch(/not sent: GitHub API calls already took the 1s this run allows them/);
    // Three tries of 0.3 s (plus the retry pauses); once the budget is gone nothing is sent any more.
    // The last 0.1 s of the budget, one retry pause, then nothing.
    expect(afterBudget.ms).toBeLessThan(1500);
    const sent = stub.requests.length;
    const third = await timed(() => gh.request('GET /user'));
    expect(third.ms).toBeLessThan(100);
    expect(stub.requests.length).toBe(sent);
  }, 30_000);

  it('does not wait out a retry-after longer than the budget', async () => {
    stub = await startGitHubStub({});
    stub.state.intercept = () => ({
      status: 503,
      headers: { 'retry-after': '120' },
      body: { message: 'Service Unavailable' },
    });
    const gh = createGitHubClient('t', quiet, {
      baseUrl: stub.url,
      budget: { requestTimeoutMs: 1000, totalMs: 5000, retries: 0 },
    });
    const r = await timed(() => gh.request('GET /user'));
    expect(r.error?.message).toBe('Service Unavailable');
    expect(r.ms).toBeLessThan(1000);
  });

  it('waits out a secondary rate limit (403 with retry-after) and then succeeds', async () => {
    stub = await startGitHubStub({});
    let limited = 1;
    stub.state.intercept = () =>
      limited-- > 0
        ? {
            status: 403,
            headers: { 'retry-after': '1' },
            body: {
              message: 'You have exceeded a secondary rate limit. Please wait a few minutes before you try again.',
            },
          }
        : undefined;
    const gh = createGitHubClient('t', quiet, { baseUrl: stub.url });
    const t0 = performance.now();
    const { data } = await gh.rest.users.getAuthenticated();
    expect(data.login).toBe('perf-gate-user');
    expect(performance.now() - t0).toBeGreaterThan(950);
    expect(stub.requests.map((q) => q.status)).toEqual([403, 200]);
  });
});
