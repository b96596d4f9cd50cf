// Publishing never decides the verdict: the bundled action against a hostile stand-in of GitHub's API (500, an
// HTML 502, a secondary rate limit with retry-after, 401, malformed JSON, a connection that never answers). The
// verdict, the outputs, the job summary, results.json and the exit status must agree whatever GitHub does, a
// failure must be a warning naming the call, and a hanging API may cost about 30 s in all.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { useDemoServer } from './helpers/demo-server.js';
import { startGitHubStub, type GitHubStub, type StubFault } from './helpers/github-stub.js';
import { runAction, TOKEN, type ActionRun } from './helpers/run-action.js';

const demo = useDemoServer();

const QUICK = { duration: '2s', rate: '10', 'comment-header': 'faults' };
/** A target no 2-second run can meet: the run fails on its own numbers. */
const FAILING = 'p99 < 2s\nrequests >= 100000';

async function withStub<T>(
  fault: { mode: StubFault; times?: number } | undefined,
  fn: (stub: GitHubStub) => Promise<T>,
): Promise<T> {
  const stub = await startGitHubStub({ token: fault?.mode === '401' ? 'some-other-token' : TOKEN });
  if (fault && fault.mode !== '401') stub.state.fault = fault;
  try {
    return await fn(stub);
  } finally {
    await stub.close();
  }
}

/** Everything a later step or a reviewer reads says the same verdict. */
function expectAgreement(r: ActionRun, verdict: 'pass' | 'fail'): void {
  expect(r.code, r.stdout).toBe(verdict === 'pass' ? 0 : 1);
  expect(r.outputs.verdict).toBe(verdict);
  const results = JSON.parse(readFileSync(r.outputs.results!, 'utf8')) as { verdict: { status: string } };
  expect(results.verdict.status).toBe(verdict);
  expect(readFileSync(r.outputs.report!, 'utf8')).toContain(verdict === 'pass' ? '✅' : '❌');
  expect(r.summary).toContain(verdict === 'pass' ? '✅' : '❌');
  expect(r.summary.split('\n').find((l) => /^#+ /.test(l))).toContain(verdict === 'pass' ? '✅' : '❌');
  // The metric outputs are there, not emptied by a publishing failure.
  expect(Number(r.outputs.requests)).toBeGreaterThan(0);
  expect(r.outputs['p99-ms']).not.toBe('');
  expect(r.stdout).not.toContain('failed unexpectedly');
  expect(r.stdout.replace(/^::add-mask::.*$/gm, '')).not.toContain(TOKEN);
}

describe('the bundled action when GitHub fails', () => {
  for (const mode of ['500', '502-html', '429', 'malformed', '401'] as const) {
    it(`keeps a failing run "fail" when every API call answers ${mode}, and warns naming the call`, async () => {
      await withStub({ mode }, async (stub) => {
        const r = await runAction({ ...QUICK, target: demo.url, targets: FAILING }, { apiUrl: stub.url });
        expectAgreement(r, 'fail');
        expect(r.outputs['comment-url']).toBe('');
        expect(r.stdout).toMatch(
          /::warning::PR comment not published \(the verdict still holds\): GitHub API call to identify the token owner \(GET \/user\) failed/,
        );
        // One log line, not a 5 kB HTML page.
        const warning = r.stdout.split('\n').find((l) => l.startsWith('::warning::PR comment'))!;
        expect(warning.length).toBeLessThan(600);
        if (mode === '502-html') expect(warning).toContain('an HTML page ("Unicorn! &middot; GitHub")');
        if (mode === '401') expect(warning).toMatch(/HTTP 401.*github-token/);
        const calls = stub.requests.filter((q) => q.path === '/user');
        if (mode === '500' || mode === '502-html') expect(calls.length).toBe(3); // the request and two retries
        if (mode === '401' || mode === 'malformed') expect(calls.length).toBe(1); // not worth retrying
        if (mode === '429') expect(calls.length).toBe(3); // retry-after honoured twice, then given up
        if (mode === '429') expect(r.elapsedMs).toBeGreaterThan(2000 + 2 * 2000);
        expect(r.elapsedMs).toBeLessThan(2000 + 30_000);
      });
    });
  }

  it('waits out a retry-after of 2 s once and then posts the comment', async () => {
    await withStub({ mode: '429', times: 1 }, async (stub) => {
      const r = await runAction({ ...QUICK, target: demo.url, targets: 'p99 < 2s' }, { apiUrl: stub.url });
      expectAgreement(r, 'pass');
      expect(r.outputs['comment-url']).toMatch(/^https:\/\/github\.com\/ftw\/shop\/pull\/7#issuecomment-\d+$/);
      const times = stub.requests.filter((q) => q.path === '/user');
      expect(times.length).toBe(2);
      expect(stub.commentsOn('ftw', 'shop', 7)).toHaveLength(1);
    });
  });

  it('retries a single 500 and then posts the comment', async () => {
    await withStub({ mode: '500', times: 1 }, async (stub) => {
      const r = await runAction({ ...QUICK, target: demo.url, targets: 'p99 < 2s' }, { apiUrl: stub.url });
      expectAgreement(r, 'pass');
      expect(r.outputs['comment-url']).not.toBe('');
      expect(r.stdout).not.toContain('::warning::PR comment');
      expect(stub.commentsOn('ftw', 'shop', 7)).toHaveLength(1);
    });
  });

  it('gives up on an API that never answers within about 30 s, and the verdict holds', async () => {
    await withStub({ mode: 'hang' }, async (stub) => {
      const r = await runAction({ ...QUICK, target: demo.url, targets: FAILING }, { apiUrl: stub.url });
      expectAgreement(r, 'fail');
      expect(r.stdout).toMatch(
        /::warning::PR comment not published \(the verdict still holds\): GitHub API call to identify the token owner \(GET \/user\) failed: no answer within 10s/,
      );
      // The 2 s run, start-up, and at most ~30 s of GitHub (plus the retry plugin's short pauses).
      expect(r.elapsedMs).toBeLessThan(2000 + 40_000);
    });
  }, 60_000);

  it('a baseline that cannot be read (GitHub 500) is a warning: a failing run stays "fail", a passing one says its regressions were not checked', async () => {
    await withStub({ mode: '500' }, async (stub) => {
      const failing = await runAction(
        { ...QUICK, target: demo.url, targets: FAILING, baseline: 'branch:perf-gate-data' },
        { apiUrl: stub.url },
      );
      expectAgreement(failing, 'fail');
      expect(failing.stdout).toMatch(
        /::warning::baseline: could not read branch:perf-gate-data: cannot read branch perf-gate-data: perf-gate\/default\/warmup\.json: HTTP 500: Server Error/,
      );
      const passing = await runAction(
        { ...QUICK, target: demo.url, targets: 'p99 < 2s', baseline: 'branch:perf-gate-data' },
        { apiUrl: stub.url },
      );
      expectAgreement(passing, 'pass');
      expect(readFileSync(passing.outputs.report!, 'utf8')).toMatch(/could not read the baseline/);
    });
  }, 60_000);
});

describe('the bundled action against hostile targets', () => {
  it('records a 302 loop and a 404 target as status codes, and everything agrees on the verdict', async () => {
    const server = createServer((req, res) => {
      if (req.url?.startsWith('/loop')) {
        res.writeHead(302, { location: req.url });
        res.end();
      } else {
        res.writeHead(404, { 'content-type': 'text/plain' });
        res.end('not found');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      await withStub(undefined, async (stub) => {
        for (const [path, code] of [
          ['/loop', '302'],
          ['/missing', '404'],
        ] as const) {
          const r = await runAction(
            { ...QUICK, target: `${base}${path}`, targets: 'p99 < 2s', comment: 'false' },
            { apiUrl: stub.url },
          );
          const results = JSON.parse(readFileSync(r.outputs.results!, 'utf8')) as {
            verdict: { status: string };
            run: { requests: number; statusCodes: Record<string, number> };
          };
          // Every request answered with the hostile code, and recorded as such (never followed forever, never lost).
          expect(results.run.statusCodes[code]).toBe(results.run.requests);
          expect(results.run.requests).toBeGreaterThan(0);
          expect(r.outputs.verdict).toBe(results.verdict.status);
          expect(r.code).toBe(results.verdict.status === 'pass' ? 0 : 1);
        }
      });
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  }, 60_000);

  it('masks a token-like query value of the target as soon as it is read, and prints it nowhere else', async () => {
    await withStub(undefined, async (stub) => {
      const r = await runAction(
        { ...QUICK, target: `${demo.url}/?api_key=k3yS3cr3tValue`, targets: 'p99 < 2s', comment: 'false' },
        { apiUrl: stub.url },
      );
      expect(r.stdout).toContain('::add-mask::k3yS3cr3tValue');
      expect(r.stdout.replace(/^::add-mask::.*$/gm, '')).not.toContain('k3yS3cr3tValue');
      expect(readFileSync(r.outputs.results!, 'utf8')).not.toContain('k3yS3cr3tValue');
      expect(readFileSync(r.outputs.report!, 'utf8')).not.toContain('k3yS3cr3tValue');
    });
  }, 60_000);

  it('an output-dir that is a file: error before any load, and the outputs, summary and exit status all say error', async () => {
    await withStub(undefined, async (stub) => {
      const r = await runAction(
        { ...QUICK, target: demo.url, 'output-dir': 'taken', comment: 'false' },
        { apiUrl: stub.url, files: { taken: 'a file' } },
      );
      expect(r.code).toBe(1);
      expect(r.outputs.verdict).toBe('error');
      expect(r.stdout).toMatch(
        /::error::input "output-dir": cannot write the results to ".*taken": it \(or a folder on its path\) is an existing file, not a directory/,
      );
      expect(r.stdout).not.toMatch(/builtin: \d+ arrivals/);
      expect(r.summary).toMatch(/^### ⚠️ perf-gate: error\n\n<pre>input "output-dir": cannot write the results/);
    });
  });
});
