// The bundled dist/index.js run the way the GitHub runner runs it: INPUT_* variables, GITHUB_EVENT_PATH with a
// pull_request event, GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, and GITHUB_API_URL pointing at a local stand-in of
// GitHub's REST API. Load goes only to the demo target on 127.0.0.1.
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemoServer } from '../demo/server.ts';
import { startDataStub } from './helpers/github-data-stub.js';
import { startGitHubStub } from './helpers/github-stub.js';
import { freePort } from './helpers/postgres.js';
import { pullRequestEvent, runAction as runDistAction, TOKEN, type ActionRun } from './helpers/run-action.js';

type Demo = Awaited<ReturnType<typeof startDemoServer>>;
type Stub = Awaited<ReturnType<typeof startGitHubStub>>;

let demo: Demo;
let github: Stub;

beforeAll(async () => {
  demo = await startDemoServer({ port: 0 });
  github = await startGitHubStub({});
});
afterAll(async () => {
  await demo?.close();
  await github?.close();
});

/** The action as the runner runs it, against the GitHub stand-in unless `env` points GITHUB_API_URL elsewhere. */
function runAction(
  inputs: Record<string, string>,
  opts: { event?: object; eventName?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<ActionRun> {
  return runDistAction(inputs, { apiUrl: github.url, ...opts });
}

function withoutMaskCommands(text: string): string {
  return text.replace(/^::add-mask::.*$/gm, '');
}

const QUICK = { duration: '3s', rate: '20', 'comment-header': '' };

describe('dist/index.js as the runner runs it', () => {
  it('passes a healthy target, writes outputs, summary, files and a sticky comment', async () => {
    const r = await runAction({
      ...QUICK,
      target: demo.url,
      targets: 'p99 < 500ms\nerror_rate < 1%\nrequests >= 30',
      'comment-header': 'e2e-pass',
    });
    expect(r.code, r.stdout).toBe(0);
    expect(r.outputs.verdict).toBe('pass');
    expect(Number(r.outputs.requests)).toBeGreaterThanOrEqual(30);
    expect(Number(r.outputs['p99-ms'])).toBeGreaterThan(0);
    expect(r.outputs['error-rate']).toBe('0');
    expect(r.outputs['throughput-rps']).not.toBe('');
    expect(r.outputs.report).toBe(join(r.workspace, 'perf-gate-results', 'LOAD_TEST_RESULTS.md'));
    const results = JSON.parse(readFileSync(r.outputs.results!, 'utf8'));
    expect(results.schemaVersion).toBe(1);
    expect(results.run.requests).toBe(Number(r.outputs.requests));
    expect(results.verdict.status).toBe('pass');
    // The same Markdown goes to the run's report.md, its section of LOAD_TEST_RESULTS.md, the job summary and the comment.
    const report = readFileSync(join(dirname(r.outputs.results!), 'report.md'), 'utf8');
    expect(r.summary.trim()).toBe(report.trim());
    expect(readFileSync(r.outputs.report!, 'utf8')).toContain(report.trim());
    const comment = github.state.comments.find((c) => c.body.includes('perf-gate:e2e-pass'));
    expect(comment?.body.trim()).toBe(report.trim());
    expect(r.outputs['comment-url']).toBe(comment?.html_url);
    // `::add-mask::` lines are how the runner learns what to hide; it never shows them.
    expect(withoutMaskCommands(r.stdout)).not.toContain(TOKEN);
    expect(r.stdout).toContain(`::add-mask::${TOKEN}`);
  });

  it('updates the same comment on a re-run instead of adding one', async () => {
    const before = github.state.comments.filter((c) => c.body.includes('perf-gate:e2e-rerun')).length;
    expect(before).toBe(0);
    const first = await runAction({
      ...QUICK,
      target: demo.url,
      targets: 'p99 < 500ms',
      'comment-header': 'e2e-rerun',
    });
    const second = await runAction({
      ...QUICK,
      target: demo.url,
      targets: 'p99 < 500ms',
      'comment-header': 'e2e-rerun',
    });
    expect(first.code).toBe(0);
    expect(second.code).toBe(0);
    const mine = github.state.comments.filter((c) => c.body.includes('perf-gate:e2e-rerun'));
    expect(mine).toHaveLength(1);
    expect(second.outputs['comment-url']).toBe(first.outputs['comment-url']);
    expect(github.requests.some((q) => q.method === 'PATCH')).toBe(true);
    expect(
      github.requests.every((q) => q.authorization === `token ${TOKEN}` || q.authorization === `Bearer ${TOKEN}`),
    ).toBe(true);
  });

  it('fails the check on a slow endpoint and says which target', async () => {
    const r = await runAction({
      ...QUICK,
      target: `${demo.url}/slow?ms=250`,
      targets: 'p95 < 100ms\nerror_rate < 1%',
      'comment-header': 'e2e-slow',
    });
    expect(r.code).toBe(1);
    expect(r.outputs.verdict).toBe('fail');
    expect(Number(r.outputs['p95-ms'])).toBeGreaterThanOrEqual(250);
    expect(r.stdout).toMatch(/::error::perf-gate warmup: fail: p95 < 100ms: measured 2\d\d(\.\d+)? ms/);
    expect(readFileSync(r.outputs.report!, 'utf8')).toMatch(/p95/);
  });

  it('gives verdict error for an unreachable target, with empty metrics, not zeros', async () => {
    const port = await freePort();
    const r = await runAction({ ...QUICK, target: `http://127.0.0.1:${port}`, 'comment-header': 'e2e-down' });
    expect(r.code).toBe(1);
    expect(r.outputs.verdict).toBe('error');
    expect(r.outputs['p99-ms']).toBe('');
    expect(r.outputs.requests).toBe('');
    expect(r.outputs['error-rate']).toBe('');
    expect(r.stdout).toMatch(
      new RegExp(`::error::.*target http://127\\.0\\.0\\.1:${port} is unreachable: ECONNREFUSED`),
    );
    expect(existsSync(r.outputs.results!)).toBe(true);
  });

  it('still enforces the verdict when a fork PR cannot comment', async () => {
    github.setWritesForbidden(true);
    try {
      const ok = await runAction(
        { ...QUICK, target: demo.url, targets: 'p99 < 500ms', 'comment-header': 'e2e-fork' },
        { event: pullRequestEvent(true) },
      );
      expect(ok.code, ok.stdout).toBe(0);
      expect(ok.outputs.verdict).toBe('pass');
      expect(ok.stdout).toMatch(/::warning::.*Resource not accessible by integration/);
      expect(ok.outputs['comment-url']).toBe('');
      const bad = await runAction(
        { ...QUICK, target: `${demo.url}/status/500`, targets: 'error_rate < 1%', 'comment-header': 'e2e-fork' },
        { event: pullRequestEvent(true) },
      );
      expect(bad.code).toBe(1);
      expect(bad.outputs.verdict).toBe('fail');
    } finally {
      github.setWritesForbidden(false);
    }
  });

  it('rejects bad input before sending load, naming the input, without a stack trace', async () => {
    const hits = demo.stats().requests;
    const r = await runAction({ target: demo.url, rate: '-5' });
    expect(r.code).toBe(1);
    expect(r.outputs.verdict).toBe('error');
    expect(r.stdout).toContain('::error::input "rate": got "-5"; expected a positive arrival rate');
    expect(r.stdout).not.toMatch(/\n\s+at /);
    expect(demo.stats().requests).toBe(hits);
  });

  it('never prints a password embedded in the target URL', async () => {
    const url = new URL(demo.url);
    url.username = 'deploy';
    url.password = 'Sup3rS3cretPw';
    const r = await runAction({ ...QUICK, target: url.toString(), targets: 'p99 < 500ms', comment: 'false' });
    expect(r.code, r.stdout).toBe(0);
    const files = [
      readFileSync(r.outputs.report!, 'utf8'),
      readFileSync(r.outputs.results!, 'utf8'),
      r.summary,
      r.stdout,
    ];
    for (const text of files) expect(withoutMaskCommands(text)).not.toContain('Sup3rS3cretPw');
    expect(r.stdout).toContain('::add-mask::Sup3rS3cretPw');
    // The credentials still reached the target, as Basic auth.
    expect(demo.lastAuthorization?.()).toBe(`Basic ${Buffer.from('deploy:Sup3rS3cretPw').toString('base64')}`);
  });
});

function pushTo(sha: string) {
  return {
    eventName: 'push',
    event: { ref: 'refs/heads/main', after: sha, repository: { full_name: 'ftw/shop', default_branch: 'main' } },
    // A new workflow run per push: entries of the same run id replace each other (re-run attempts).
    env: { GITHUB_REF: 'refs/heads/main', GITHUB_SHA: sha, GITHUB_RUN_ID: `run-${sha}` },
  };
}

describe('dist/index.js with a baseline file', () => {
  it('says "no baseline yet" on the first run, then compares and fails a slowed run as a regression', async () => {
    const history = join(mkdtempSync(join(tmpdir(), 'perf-gate-history-')), 'history.json');
    const common = { duration: '3s', rate: '20', targets: 'p99 < 2s', comment: 'false', baseline: `file:${history}` };
    const first = await runAction({ ...common, target: `${demo.url}/slow?ms=20` }, pushTo('aaa111'));
    expect(first.code, first.stdout).toBe(0);
    expect(JSON.parse(first.outputs.regressions!)).toEqual(
      expect.arrayContaining([expect.objectContaining({ status: 'no_baseline' })]),
    );
    expect(existsSync(history)).toBe(true);
    const slowed = await runAction({ ...common, target: `${demo.url}/slow?ms=80` }, pushTo('bbb222'));
    expect(slowed.code, slowed.stdout).toBe(1);
    expect(slowed.outputs.verdict).toBe('fail');
    const p99 = JSON.parse(slowed.outputs.regressions!).find((r: { metric: string }) => r.metric === 'p99');
    expect(p99).toMatchObject({ status: 'regressed' });
    expect(p99.changePercent).toBeGreaterThan(100);
    // Confirm-before-failing is on by default: the phase ran twice, and the results file keeps the second run.
    expect(slowed.stdout).toMatch(
      /baseline: p\d+.* worse than the baseline; running the phase once more to confirm before deciding/,
    );
    const report = readFileSync(slowed.outputs.report!, 'utf8');
    expect(report).toMatch(/\| Metric +\| Target +\| +Actual \| +Baseline \| +Change \| Status +\|/);
    expect(report).toMatch(
      /\| p99 latency +\| < 2,000 ms +\| .*\| +↑ \+\d[\d,.]* %( to [\d,.]+ ms ¹)? +\| ❌ regressed +\|/,
    );
    expect(report).toMatch(/judged on this run and a confirmation run pooled/);
    const results = JSON.parse(readFileSync(slowed.outputs.results!, 'utf8'));
    expect(results.confirmation.run.requests).toBeGreaterThan(0);
    expect(results.confirmation.pooled.requests).toBe(results.run.requests + results.confirmation.run.requests);
    // One baseline run: the default p99 rule's floor came from the two runs' sampling noise, and says so in
    // results.json and on the report's Method line.
    const p99Result = results.verdict.regressions.find((r: { metric: string }) => r.metric === 'p99');
    expect(p99Result.floor).toMatchObject({
      unit: 'ms',
      basis: expect.stringMatching(/^(sampling|resolution)$/),
      why: expect.any(String),
    });
    expect(p99Result.floor.value).toBeGreaterThan(0);
    expect(report).toMatch(
      /_Method: .*(p99 floor|floors [^:]*p99) [\d.]+ ms[^:]*: (2× the two runs' sampling noise|two buckets of the histogram's resolution)/,
    );
  });
});

/**
 * One GITHUB_API_URL for two stand-ins, as github.com is one API: comments and the user go to the comment stub,
 * everything else (contents, refs, compare, issue events) to the data stub.
 */
async function startApiRouter(commentsUrl: string, dataUrl: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = createHttpServer((req, res) => {
    const toComments = /\/issues\/(\d+\/comments|comments\/)|^\/user\b/.test(req.url ?? '');
    const target = new URL(req.url ?? '/', toComments ? commentsUrl : dataUrl);
    const upstream = httpRequest(
      target,
      { method: req.method, headers: { ...req.headers, host: target.host } },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', (e) => res.writeHead(502).end(e.message));
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(() => r())) };
}

describe('dist/index.js with a history on a data branch (GitHub API stand-ins)', () => {
  it('records runs of main through the contents API, then compares a slower pull request with them in the comment', async () => {
    const data = await startDataStub();
    const api = await startApiRouter(github.url, data.url);
    try {
      const common = {
        duration: '3s',
        rate: '20',
        targets: 'p99 < 2s',
        baseline: 'branch:perf-gate-data',
        environment: 'ci',
      };
      for (const sha of ['a1', 'b2', 'c3']) {
        const push = pushTo(sha.padEnd(40, '0'));
        const r = await runAction(
          { ...common, comment: 'false', target: `${demo.url}/slow?ms=20` },
          { ...push, env: { ...push.env, GITHUB_API_URL: api.url } },
        );
        expect(r.code, r.stdout).toBe(0);
        expect(r.stdout).toMatch(/baseline: recorded this run in branch perf-gate-data/);
      }
      const history = JSON.parse(data.readFile('perf-gate-data', 'perf-gate/ci/warmup.json')!) as {
        entries: Array<{ sha: string }>;
      };
      expect(history.entries.map((e) => e.sha.slice(0, 2))).toEqual(['a1', 'b2', 'c3']);

      const pr = await runAction(
        { ...common, comment: 'true', 'comment-header': 'history', target: `${demo.url}/slow?ms=80` },
        { env: { GITHUB_API_URL: api.url } },
      );
      expect(pr.code, pr.stdout).toBe(1);
      expect(pr.outputs['baseline-sha']).toBe('c3'.padEnd(40, '0'));
      expect(pr.stdout).toMatch(/running the phase once more to confirm before deciding/);
      const body = github.commentsOn('ftw', 'shop', 7).find((c) => c.body.includes('<!-- perf-gate:history -->'))!.body;
      expect(body).toMatch(/\| Metric +\| Target +\| +Actual \| +Baseline \| +Change \| Status +\|/);
      expect(body).toMatch(
        /\| p99 latency +\| < 2,000 ms +\| .*\| +↑ \+\d[\d,.]* %( to [\d,.]+ ms ¹)? +\| ❌ regressed +\|/,
      );
      expect(body).toMatch(
        /Baseline from `branch:perf-gate-data[^`]*`: newest run of main c300000, \d+ min old; one baseline run \(3 comparable up to it; 5 needed for a noise band\)/,
      );
      expect(body).toMatch(
        /_Method: a change counts as a regression when it is beyond the rule's tolerance, holds across neighbouring quantiles/,
      );
      expect(body).toContain('<summary><b>Trend</b>');
      expect(body).toMatch(/x-axis \["a100000", "b200000", "c300000", "this run"\]/);
      // Pull requests read the history; they do not write it.
      expect(
        (JSON.parse(data.readFile('perf-gate-data', 'perf-gate/ci/warmup.json')!) as { entries: unknown[] }).entries,
      ).toHaveLength(3);
    } finally {
      await api.close();
      await data.close();
    }
  }, 120_000);
});
