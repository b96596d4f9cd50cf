import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { getOctokit } from '@actions/github';
import { afterEach, describe, expect, it } from 'vitest';
import { redact, upsertComment, type UpsertCommentParams } from '../src/github/comment.js';
import { prContext } from '../src/github/context.js';
import { markerFor } from '../src/report/markdown.js';
import { type GitHubStub, type GitHubStubOptions, startGitHubStub } from './helpers/github-stub.js';
import { memoryLog } from './helpers/memory-log.js';

// Shaped like a real installation token so the redaction patterns would also catch it.
const TOKEN = 'ghs_stubTokenAbcdefghijklmnopqrstuvwxyz0123';
const MARKER = markerFor('perf-gate');
const OTHER_MARKER = markerFor('staging');

const execFileAsync = promisify(execFile);

const stubs: GitHubStub[] = [];
afterEach(async () => {
  await Promise.all(stubs.splice(0).map((s) => s.close()));
});

async function stub(opts: GitHubStubOptions = {}): Promise<GitHubStub> {
  const s = await startGitHubStub(opts);
  stubs.push(s);
  return s;
}

function params(s: GitHubStub, overrides: Partial<UpsertCommentParams> = {}): UpsertCommentParams {
  return {
    octokit: getOctokit(TOKEN, { baseUrl: s.url }),
    owner: 'acme',
    repo: 'shop',
    issueNumber: 7,
    body: `${MARKER}\n\n## ✅ perf-gate: warmup passed\n`,
    marker: MARKER,
    log: memoryLog('levels'),
    ...overrides,
  };
}

async function thrown(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    return error as Error;
  }
  throw new Error('expected a rejection');
}

function expectNoToken(error: Error): void {
  expect(error.message).not.toContain(TOKEN);
  expect(String(error.stack)).not.toContain(TOKEN);
  expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).not.toContain(TOKEN);
}

describe('upsertComment', () => {
  it('creates the comment when there is none', async () => {
    const s = await stub();
    const result = await upsertComment(params(s));
    expect(result.action).toBe('created');
    const comments = s.commentsOn('acme', 'shop', 7);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('warmup passed');
    expect(comments[0]!.user.login).toBe('perf-gate-user');
    expect(result.url).toBe(`https://github.com/acme/shop/pull/7#issuecomment-${comments[0]!.id}`);
    const post = s.requests.find((r) => r.method === 'POST')!;
    expect(post.path).toBe('/repos/acme/shop/issues/7/comments');
    expect(post.authorization).toBe(`token ${TOKEN}`);
    expect(s.requests.find((r) => r.path.endsWith('/comments') && r.method === 'GET')!.query['per_page']).toBe('100');
  });

  it('updates the same comment on the next run instead of adding one', async () => {
    const s = await stub();
    const first = await upsertComment(params(s));
    const second = await upsertComment(params(s, { body: `${MARKER}\n\n## ❌ perf-gate: warmup failed\n` }));
    expect(second.action).toBe('updated');
    expect(second.url).toBe(first.url);
    const comments = s.commentsOn('acme', 'shop', 7);
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toContain('warmup failed');
    const patch = s.requests.filter((r) => r.method === 'PATCH');
    expect(patch).toHaveLength(1);
    expect(patch[0]!.path).toBe(`/repos/acme/shop/issues/comments/${comments[0]!.id}`);
  });

  it('keeps one comment per header', async () => {
    const s = await stub();
    await upsertComment(params(s));
    await upsertComment(params(s, { body: `${OTHER_MARKER}\nstaging report`, marker: OTHER_MARKER }));
    await upsertComment(params(s, { body: `${OTHER_MARKER}\nstaging report 2`, marker: OTHER_MARKER }));
    const bodies = s.commentsOn('acme', 'shop', 7).map((c) => c.body);
    expect(bodies).toEqual([`${MARKER}\n\n## ✅ perf-gate: warmup passed\n`, `${OTHER_MARKER}\nstaging report 2`]);
  });

  it('finds its comment on page 3 of 250 by following the Link header', async () => {
    const s = await stub();
    for (let i = 0; i < 230; i++) s.addComment({ issueNumber: 7, body: `chatter ${i}` });
    const ours = s.addComment({
      issueNumber: 7,
      body: `${MARKER}\nold report`,
      user: { login: 'perf-gate-user', type: 'User' },
    });
    for (let i = 0; i < 19; i++) s.addComment({ issueNumber: 7, body: `more chatter ${i}` });
    expect(s.commentsOn('acme', 'shop', 7)).toHaveLength(250);

    const result = await upsertComment(params(s));
    expect(result.action).toBe('updated');
    expect(result.url).toContain(`#issuecomment-${ours.id}`);
    expect(ours.body).toContain('warmup passed');
    const pages = s.requests
      .filter((r) => r.method === 'GET' && r.path.endsWith('/issues/7/comments'))
      .map((r) => r.query['page'] ?? '1');
    expect(pages).toEqual(['1', '2', '3']);
    expect(s.requests.some((r) => r.method === 'POST')).toBe(false);
    expect(s.commentsOn('acme', 'shop', 7)).toHaveLength(250);
  });

  it('stops paging once it found its comment', async () => {
    const s = await stub();
    s.addComment({ issueNumber: 7, body: `${MARKER}\nold`, user: { login: 'perf-gate-user', type: 'User' } });
    for (let i = 0; i < 299; i++) s.addComment({ issueNumber: 7, body: `chatter ${i}` });
    await upsertComment(params(s));
    expect(s.requests.filter((r) => r.method === 'GET' && r.path.endsWith('/comments'))).toHaveLength(1);
  });

  it('ignores comments by other accounts that contain the marker', async () => {
    const s = await stub();
    const quoted = s.addComment({
      issueNumber: 7,
      body: `> ${MARKER}\n> quoting the bot`,
      user: { login: 'alice', type: 'User' },
    });
    const otherBot = s.addComment({
      issueNumber: 7,
      body: `${MARKER}\nfrom another token`,
      user: { login: 'other-ci[bot]', type: 'Bot' },
    });
    const result = await upsertComment(params(s));
    expect(result.action).toBe('created');
    expect(quoted.body).toBe(`> ${MARKER}\n> quoting the bot`);
    expect(otherBot.body).toBe(`${MARKER}\nfrom another token`);
    expect(s.commentsOn('acme', 'shop', 7)).toHaveLength(3);
  });

  it('adds the marker when the body lacks it, so the next run finds the comment', async () => {
    const s = await stub();
    await upsertComment(params(s, { body: 'no marker here' }));
    const again = await upsertComment(params(s, { body: 'still none' }));
    expect(again.action).toBe('updated');
    expect(s.commentsOn('acme', 'shop', 7).map((c) => c.body)).toEqual([`${MARKER}\nstill none`]);
  });

  describe('with GITHUB_TOKEN or an app token (GET /user answers 403)', () => {
    it('updates the marked comment of github-actions[bot] and leaves humans alone', async () => {
      const s = await stub({ appToken: true });
      const human = s.addComment({
        issueNumber: 7,
        body: `${MARKER}\nhand-written`,
        user: { login: 'alice', type: 'User' },
      });
      const otherBot = s.addComment({
        issueNumber: 7,
        body: `${MARKER}\nolder app`,
        user: { login: 'some-app[bot]', type: 'Bot' },
      });
      const ours = s.addComment({
        issueNumber: 7,
        body: `${MARKER}\nold`,
        user: { login: 'github-actions[bot]', type: 'Bot' },
      });
      const log = memoryLog('levels');
      const result = await upsertComment(params(s, { log }));
      expect(result.action).toBe('updated');
      expect(result.url).toContain(`#issuecomment-${ours.id}`);
      expect(ours.body).toContain('warmup passed');
      expect(human.body).toBe(`${MARKER}\nhand-written`);
      expect(otherBot.body).toBe(`${MARKER}\nolder app`);
      expect(s.requests.find((r) => r.path === '/user')!.status).toBe(403);
      expect(log.lines.some((l) => l.startsWith('debug: GET /user answered 403'))).toBe(true);
    });

    it('creates the comment as github-actions[bot], then updates it', async () => {
      const s = await stub({ appToken: true });
      expect((await upsertComment(params(s))).action).toBe('created');
      expect((await upsertComment(params(s))).action).toBe('updated');
      const comments = s.commentsOn('acme', 'shop', 7);
      expect(comments).toHaveLength(1);
      expect(comments[0]!.user).toMatchObject({ login: 'github-actions[bot]', type: 'Bot' });
    });

    it("updates a custom GitHub App's own comment", async () => {
      const s = await stub({ appToken: true, user: { login: 'perf-gate-app[bot]', type: 'Bot' } });
      await upsertComment(params(s));
      expect((await upsertComment(params(s))).action).toBe('updated');
      expect(s.commentsOn('acme', 'shop', 7)).toHaveLength(1);
    });

    it('posts its own comment when a bot comment it guessed was its own cannot be edited', async () => {
      const s = await stub({ appToken: true, user: { login: 'perf-gate-app[bot]', type: 'Bot' } });
      const foreign = s.addComment({
        issueNumber: 7,
        body: `${MARKER}\nanother app`,
        user: { login: 'another-app[bot]', type: 'Bot' },
      });
      s.state.intercept = (r) =>
        r.method === 'PATCH' && r.path.endsWith(`/${foreign.id}`)
          ? {
              status: 403,
              body: {
                message: 'Resource not accessible by integration',
                documentation_url: 'https://docs.github.com/rest',
              },
            }
          : undefined;
      const result = await upsertComment(params(s));
      expect(result.action).toBe('created');
      expect(foreign.body).toBe(`${MARKER}\nanother app`);
      expect(s.commentsOn('acme', 'shop', 7)).toHaveLength(2);
    });
  });

  describe('when GitHub refuses', () => {
    it('skips with a warning on a fork PR (403 on create) instead of failing the run', async () => {
      const s = await stub({ appToken: true, forbidWrites: true });
      const log = memoryLog('levels');
      const result = await upsertComment(params(s, { log }));
      expect(result.action).toBe('skipped');
      expect(result.url).toBeUndefined();
      expect(result.warning).toContain('403 (Resource not accessible by integration)');
      expect(result.warning).toContain('fork');
      expect(result.warning).toContain('workflow_run');
      expect(result.warning).toContain('pull_request_target');
      expect(result.warning).not.toContain(TOKEN);
      expect(s.state.comments).toHaveLength(0);
    });

    it('skips with a warning when the update is refused', async () => {
      const s = await stub();
      await upsertComment(params(s));
      s.state.forbidWrites = true;
      const result = await upsertComment(params(s, { body: `${MARKER}\nnew` }));
      expect(result.action).toBe('skipped');
      expect(result.warning).toContain('could not update the comment on acme/shop#7');
      // A 403 on a comment that is certainly ours: creating a second one would fail the same way.
      expect(s.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    });

    it('skips with a warning on 404', async () => {
      const s = await stub();
      s.state.intercept = (r) =>
        r.path.endsWith('/comments')
          ? { status: 404, body: { message: 'Not Found', documentation_url: 'https://docs.github.com/rest' } }
          : undefined;
      const result = await upsertComment(params(s));
      expect(result.action).toBe('skipped');
      expect(result.warning).toContain('404 (Not Found)');
      expect(result.warning).toContain('cannot see this repository');
    });

    it('creates a new comment when the old one was deleted between listing and updating', async () => {
      const s = await stub();
      const old = s.addComment({
        issueNumber: 7,
        body: `${MARKER}\nold`,
        user: { login: 'perf-gate-user', type: 'User' },
      });
      s.state.intercept = (r) => {
        if (r.method === 'PATCH') s.state.comments.splice(s.state.comments.indexOf(old), 1);
        return undefined;
      };
      const result = await upsertComment(params(s));
      expect(result.action).toBe('created');
      expect(s.commentsOn('acme', 'shop', 7)).toHaveLength(1);
    });

    it('throws a clear error, without the token, on a server error', async () => {
      const s = await stub();
      s.state.intercept = (r) =>
        r.method === 'POST'
          ? { status: 500, body: { message: `Server Error (authorization: token ${TOKEN})` } }
          : undefined;
      const error = await thrown(upsertComment(params(s)));
      expect(error.message).toMatch(
        /^GitHub API call to create a comment on acme\/shop#7 failed with HTTP 500: Server Error/,
      );
      expect(error.message).toContain('[REDACTED]');
      expectNoToken(error);
    });

    it('throws a clear error, without the token, when the token is rejected', async () => {
      const s = await stub({ token: 'ghs_theRightTokenAbcdefghijklmnopqrstuvwx' });
      const error = await thrown(upsertComment(params(s)));
      expect(error.message).toContain('HTTP 401: Bad credentials');
      expect(error.message).toContain('`github-token`');
      expectNoToken(error);
    });

    it('throws a clear error, without the token, when GitHub cannot be reached', async () => {
      const s = await stub();
      const p = params(s);
      await s.close();
      const error = await thrown(upsertComment(p));
      expect(error.message).toMatch(
        /^GitHub API call to identify the token owner \(GET \/user\) failed: connect ECONNREFUSED 127\.0\.0\.1:\d+/,
      );
      expect(error.message).not.toContain('HTTP 500');
      expectNoToken(error);
    });

    it('refuses a body over the comment limit before calling GitHub', async () => {
      const s = await stub();
      const error = await thrown(upsertComment(params(s, { body: `${MARKER}\n${'x'.repeat(70_000)}` })));
      expect(error.message).toContain("over GitHub's 65536 limit");
      expect(s.requests).toHaveLength(0);
    });
  });

  it('serves a separate process that finds it through GITHUB_API_URL, as the bundled action will', async () => {
    // @actions/github reads GITHUB_API_URL once, when it is first imported, so this needs a fresh process.
    const s = await stub({ appToken: true });
    for (let i = 0; i < 120; i++) s.addComment({ issueNumber: 7, body: `c${i}` });
    const script = `
      import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { getOctokit } from '@actions/github';
      const octokit = getOctokit(process.env.STUB_TOKEN);
      const all = await octokit.paginate(octokit.rest.issues.listComments, { owner: 'acme', repo: 'shop', issue_number: 7, per_page: 100 });
      const { data } = await octokit.rest.issues.createComment({ owner: 'acme', repo: 'shop', issue_number: 7, body: 'hello' });
      console.log(JSON.stringify({ listed: all.length, author: data.user.login }));
    `;
    const { stdout } = await execFileAsync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, GITHUB_API_URL: s.url, STUB_TOKEN: TOKEN },
    });
    expect(JSON.parse(stdout)).toEqual({ listed: 120, author: 'github-actions[bot]' });
    expect(s.requests.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET /repos/acme/shop/issues/7/comments?per_page=100',
      'GET /repos/acme/shop/issues/7/comments?per_page=100&page=2',
      'POST /repos/acme/shop/issues/7/comments',
    ]);
    expect(s.requests.every((r) => r.authorization === `token ${TOKEN}`)).toBe(true);
  });
});

describe('github stub', () => {
  it('speaks GitHub pagination: per_page, page and a Link header with absolute URLs', async () => {
    const s = await stub();
    for (let i = 0; i < 250; i++) s.addComment({ issueNumber: 3, body: `c${i}` });
    const page2 = await fetch(`${s.url}/repos/acme/shop/issues/3/comments?per_page=100&page=2`);
    expect(page2.status).toBe(200);
    const items = (await page2.json()) as Array<{ body: string; user: { login: string; type: string } }>;
    expect(items).toHaveLength(100);
    expect(items[0]!.body).toBe('c100');
    expect(items[0]!.user.type).toBe('User');
    expect(page2.headers.get('link')).toBe(
      `<${s.url}/repos/acme/shop/issues/3/comments?per_page=100&page=1>; rel="prev", ` +
        `<${s.url}/repos/acme/shop/issues/3/comments?per_page=100&page=3>; rel="next", ` +
        `<${s.url}/repos/acme/shop/issues/3/comments?per_page=100&page=3>; rel="last", ` +
        `<${s.url}/repos/acme/shop/issues/3/comments?per_page=100&page=1>; rel="first"`,
    );
    const last = await fetch(`${s.url}/repos/acme/shop/issues/3/comments?per_page=100&page=3`);
    expect(((await last.json()) as unknown[]).length).toBe(50);
    expect(last.headers.get('link')).not.toContain('rel="next"');
    const defaults = await fetch(`${s.url}/repos/acme/shop/issues/3/comments`);
    expect(((await defaults.json()) as unknown[]).length).toBe(30);
  });

  it('answers like GitHub for bad writes and unknown routes', async () => {
    const s = await stub();
    const empty = await fetch(`${s.url}/repos/acme/shop/issues/3/comments`, { method: 'POST', body: '{}' });
    expect(empty.status).toBe(422);
    const tooLong = await fetch(`${s.url}/repos/acme/shop/issues/3/comments`, {
      method: 'POST',
      body: JSON.stringify({ body: 'x'.repeat(65_537) }),
    });
    expect(tooLong.status).toBe(422);
    const unknown = await fetch(`${s.url}/nope`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ message: 'Not Found' });
    s.state.forbidWrites = true;
    const forbidden = await fetch(`${s.url}/repos/acme/shop/issues/3/comments`, {
      method: 'POST',
      body: JSON.stringify({ body: 'hi' }),
    });
    expect(forbidden.status).toBe(403);
    expect(await forbidden.json()).toMatchObject({ message: 'Resource not accessible by integration' });
    expect(s.requests.map((r) => r.status)).toEqual([422, 422, 404, 403]);
  });
});

describe('prContext', () => {
  const pr = (head: string | null, base = 'acme/shop', number = 42): unknown => ({
    pull_request: {
      number,
      head: { repo: head === null ? null : { full_name: head } },
      base: { repo: { full_name: base } },
    },
  });

  it('reads a same-repository pull request', () => {
    expect(prContext('pull_request', pr('acme/shop'), 'acme/shop')).toEqual({
      owner: 'acme',
      repo: 'shop',
      issueNumber: 42,
      isPullRequest: true,
      isFork: false,
    });
  });

  it('spots a fork, also when the fork was deleted', () => {
    expect(prContext('pull_request', pr('mallory/shop'), 'acme/shop').isFork).toBe(true);
    expect(prContext('pull_request_target', pr('mallory/shop'), 'acme/shop')).toMatchObject({
      issueNumber: 42,
      isFork: true,
    });
    expect(prContext('pull_request', pr(null), 'acme/shop').isFork).toBe(true);
    expect(prContext('pull_request', pr('ACME/Shop'), 'acme/shop').isFork).toBe(false);
  });

  it('is not a pull request on push or schedule', () => {
    expect(prContext('push', { ref: 'refs/heads/main' }, 'acme/shop')).toEqual({
      owner: 'acme',
      repo: 'shop',
      isPullRequest: false,
      isFork: false,
    });
    expect(prContext('schedule', {}, 'acme/shop').issueNumber).toBeUndefined();
  });

  it('reads a comment on a pull request', () => {
    expect(prContext('issue_comment', { issue: { number: 9, pull_request: { url: 'x' } } }, 'acme/shop')).toEqual({
      owner: 'acme',
      repo: 'shop',
      issueNumber: 9,
      isPullRequest: true,
      isFork: false,
    });
    expect(prContext('issue_comment', { issue: { number: 9 } }, 'acme/shop').isPullRequest).toBe(false);
  });

  it('reads the pull request behind a workflow_run', () => {
    const payload = (head: string, pulls: unknown[]): unknown => ({
      workflow_run: {
        event: 'pull_request',
        head_repository: { full_name: head },
        repository: { full_name: 'acme/shop' },
        pull_requests: pulls,
      },
    });
    expect(prContext('workflow_run', payload('acme/shop', [{ number: 5 }]), 'acme/shop')).toEqual({
      owner: 'acme',
      repo: 'shop',
      issueNumber: 5,
      isPullRequest: true,
      isFork: false,
    });
    // GitHub lists no pull requests for a fork's run.
    expect(prContext('workflow_run', payload('mallory/shop', []), 'acme/shop')).toEqual({
      owner: 'acme',
      repo: 'shop',
      isPullRequest: true,
      isFork: true,
    });
  });

  it('falls back to the payload when GITHUB_REPOSITORY is not set', () => {
    const payload = { ...(pr('acme/shop') as object), repository: { name: 'shop', owner: { login: 'acme' } } };
    expect(prContext('pull_request', payload, '')).toMatchObject({ owner: 'acme', repo: 'shop', issueNumber: 42 });
  });

  it('ignores a malformed number', () => {
    expect(prContext('pull_request', { pull_request: { number: '42' } }, 'acme/shop')).toEqual({
      owner: 'acme',
      repo: 'shop',
      isPullRequest: true,
      isFork: false,
    });
  });
});

describe('redact', () => {
  it('removes GitHub tokens and echoed authorization headers', () => {
    expect(redact(`bad ${TOKEN} here`)).toBe('bad [REDACTED] here');
    expect(redact('github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz')).toBe('[REDACTED]');
    expect(redact('authorization: token plain-secret-value')).toBe('authorization: token [REDACTED]');
    expect(redact('"authorization":"bearer abc.def.ghi"')).toBe('"authorization":"bearer [REDACTED]"');
    expect(redact('the token lacks a permission')).toBe('the token lacks a permission');
  });
});
