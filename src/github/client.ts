// The one Octokit the action uses (comment and baseline stores alike), built so that GitHub can never hold a run
// hostage: every request has a timeout of its own, all of them together share one time budget, failed requests
// are retried only while that budget lasts, and waits GitHub asks for (`retry-after`, rate limits) are honoured
// only when they fit in it. A call that still fails throws, and its caller turns that into a warning.
import { getOctokit } from '@actions/github';
import { defaults as actionsDefaults } from '@actions/github/lib/utils';
import { retry } from '@octokit/plugin-retry';
import { throttling } from '@octokit/plugin-throttling';
import type { Logger } from '../log.js';

export type GitHubClient = ReturnType<typeof getOctokit>;

export interface GitHubBudget {
  /** Longest wait for one request (headers and body), ms. */
  requestTimeoutMs: number;
  /** Time all GitHub calls of one run may take together, ms, waits between retries included. */
  totalMs: number;
  /** Retries of one request after a 5xx, a transport failure or a `retry-after`. */
  retries: number;
}

export const DEFAULT_GITHUB_BUDGET: GitHubBudget = { requestTimeoutMs: 10_000, totalMs: 30_000, retries: 2 };

/** Statuses GitHub sends with `retry-after` when it wants the client to slow down. */
const RETRY_AFTER_STATUSES = new Set([403, 429, 503]);

export class GitHubTimeBudget {
  private spentMs = 0;

  constructor(readonly limits: GitHubBudget = DEFAULT_GITHUB_BUDGET) {}

  get remainingMs(): number {
    return Math.max(0, this.limits.totalMs - this.spentMs);
  }

  spend(ms: number): void {
    this.spentMs += Math.max(0, ms);
  }

  /** Reserves a wait when it fits in what is left; false means: do not wait, give up. */
  reserve(ms: number): boolean {
    if (ms > this.remainingMs) return false;
    this.spend(ms);
    return true;
  }
}

/**
 * fetch with a timeout per request and the run's budget: an answer that never comes costs `requestTimeoutMs` at
 * most, and once the budget is gone the remaining calls fail at once instead of each waiting their turn. A
 * `retry-after` on 403/429/503 is waited out here when it fits, since Octokit's retry plugin ignores the header;
 * GitHub's own rate-limit answers are left to the throttling plugin, whose callbacks check the same budget.
 */
export function boundedFetch(
  budget: GitHubBudget | GitHubTimeBudget,
  inner: typeof fetch = globalThis.fetch,
): typeof fetch {
  const b = budget instanceof GitHubTimeBudget ? budget : new GitHubTimeBudget(budget);
  const { requestTimeoutMs, retries } = b.limits;
  return async (input, init) => {
    for (let attempt = 0; ; attempt++) {
      const allowed = Math.floor(Math.min(requestTimeoutMs, b.remainingMs));
      if (allowed <= 0) throw budgetError(b.limits.totalMs);
      const timeout = AbortSignal.timeout(allowed);
      const signal = init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout;
      const started = performance.now();
      let res: Response;
      let throttled = false;
      try {
        res = await inner(input, { ...init, signal });
        // The body is read by Octokit after this returns: keep the timeout on it, but buffer it here so the time it
        // takes is counted and a body that never ends fails inside this request's own limit.
        const body = await res.arrayBuffer();
        throttled = isRateLimitSignal(res, body);
        res = new Response(res.status === 204 || res.status === 205 || res.status === 304 ? null : body, {
          status: res.status,
          statusText: res.statusText,
          headers: res.headers,
        });
      } catch (e) {
        b.spend(performance.now() - started);
        if (timeout.aborted && !init?.signal?.aborted) throw timeoutError(allowed);
        throw e;
      }
      b.spend(performance.now() - started);
      const after = retryAfterMs(res);
      if (
        RETRY_AFTER_STATUSES.has(res.status) &&
        !throttled &&
        after !== undefined &&
        attempt < retries &&
        b.reserve(after)
      ) {
        await sleep(after);
        continue;
      }
      return res;
    }
  };
}

/** The Octokit for this run: bounded fetch, retries of 5xx and transport failures, GitHub's rate-limit signals. */
export function createGitHubClient(
  token: string,
  log: Logger,
  opts: { budget?: GitHubBudget; baseUrl?: string } = {},
): GitHubClient {
  const budget = new GitHubTimeBudget(opts.budget ?? DEFAULT_GITHUB_BUDGET);
  const { retries } = budget.limits;
  const onLimit =
    (kind: string) =>
    (
      retryAfterS: number,
      options: { method?: string; url?: string },
      _octokit: unknown,
      retryCount: number,
    ): boolean => {
      const ok = retryCount < retries && budget.reserve(retryAfterS * 1000);
      log.debug(
        `GitHub ${kind} on ${options.method ?? ''} ${options.url ?? ''}: ${ok ? `retrying after ${retryAfterS}s` : 'not waiting (over the time budget)'}`,
      );
      return ok;
    };
  const octokit = getOctokit(
    token,
    {
      ...(opts.baseUrl ? { baseUrl: opts.baseUrl } : {}),
      // Over the toolkit's fetch, which honours the runner's proxy settings.
      request: {
        fetch: boundedFetch(budget, (actionsDefaults.request?.fetch as typeof fetch | undefined) ?? globalThis.fetch),
      },
      // 429 is left to boundedFetch (it reads retry-after); the plugin's own waits are short so the budget holds.
      retry: { retries, retryAfterBaseValue: 500, doNotRetry: [400, 401, 403, 404, 410, 422, 429, 451] },
      throttle: { onRateLimit: onLimit('rate limit'), onSecondaryRateLimit: onLimit('secondary rate limit') },
      log: {
        debug: () => undefined,
        info: () => undefined,
        warn: (m: string) => log.debug(m),
        error: (m: string) => log.debug(m),
      },
    },
    retry,
    throttling,
  ) as unknown as GitHubClient;
  // Each call gets its own `request` options: Octokit hands every call the same defaults object, and the retry
  // plugin counts retries on it, so without this the second failing call waited 8 s before its first retry, the
  // third longer still. Registered last, this hook runs first, outside the plugins' own.
  octokit.hook.before('request', (options) => {
    options.request = { ...options.request, retryCount: 0 } as typeof options.request;
  });
  return octokit;
}

/** What the throttling plugin acts on (GitHub's primary and secondary rate limits): left to it, waited for once. */
function isRateLimitSignal(res: Response, body: ArrayBuffer): boolean {
  if (res.status !== 403 && res.status !== 429) return false;
  if (res.headers.get('x-ratelimit-remaining') === '0') return true;
  return /\bsecondary rate\b/i.test(new TextDecoder().decode(body.slice(0, 4096)));
}

function retryAfterMs(res: Response): number | undefined {
  const h = res.headers.get('retry-after');
  if (h === null) return undefined;
  const s = Number(h);
  if (Number.isFinite(s) && s >= 0) return s * 1000;
  const at = Date.parse(h);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

function timeoutError(ms: number): Error {
  return Object.assign(new Error(`no answer within ${Math.round(ms / 100) / 10}s`), {
    code: 'PERF_GATE_GITHUB_TIMEOUT',
  });
}

/** Named AbortError so that Octokit passes it on as it is, and the retry plugin does not retry what was never sent. */
function budgetError(totalMs: number): Error {
  const e = Object.assign(
    new Error(`not sent: GitHub API calls already took the ${Math.round(totalMs / 1000)}s this run allows them`),
    {
      code: 'PERF_GATE_GITHUB_BUDGET',
    },
  );
  e.name = 'AbortError';
  return e;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
