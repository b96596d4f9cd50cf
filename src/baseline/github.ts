// Small helpers over Octokit for the baseline stores: error status, path encoding, merge base, default branch.
import { messageOf } from '../errors.js';
import type { BaselineContext, StoreOctokit } from './types.js';

export function statusOf(e: unknown): number | undefined {
  const s = (e as { status?: unknown } | null)?.status;
  return typeof s === 'number' ? s : undefined;
}

/** An Octokit failure for a note: its HTTP status first, when it has one. */
export function githubErrorMessage(e: unknown): string {
  const status = statusOf(e);
  const msg = messageOf(e);
  return status !== undefined ? `HTTP ${status}: ${msg}` : msg;
}

/**
 * Segments of a repository path or ref, each percent-encoded but joined by real slashes. GitHub's documented
 * URLs put `/` literally in contents paths and refs (`contents/perf-gate/prod/warmup.json`); Octokit's `{path}`
 * template would send `%2F` instead.
 */
export function encodePath(p: string): string {
  return p.split('/').map(encodeURIComponent).join('/');
}

export function requireGitHub(ctx: BaselineContext, what: string): StoreOctokit {
  if (!ctx.github) throw new Error(`${what} needs a GitHub token (input github-token) to call the GitHub API`);
  if (!ctx.git.owner || !ctx.git.repo) throw new Error(`${what} needs the repository (GITHUB_REPOSITORY)`);
  return ctx.github;
}

/**
 * The commit the PR branched from, via `GET /repos/{o}/{r}/compare/{base}...{head}`. Undefined (with a
 * warning) when it cannot be read: the newest run of the base branch is then used instead.
 */
export async function findMergeBase(ctx: BaselineContext): Promise<string | undefined> {
  const pr = ctx.git.pullRequest;
  const head = pr?.headSha ?? ctx.git.sha;
  if (!pr || !head || !ctx.github) return undefined;
  try {
    const res = await ctx.github.request(
      `GET /repos/{owner}/{repo}/compare/${encodePath(pr.baseRef)}...${encodeURIComponent(head)}`,
      {
        owner: ctx.git.owner,
        repo: ctx.git.repo,
        // Only the merge base is needed; the commit list can be long.
        per_page: 1,
      },
    );
    const sha = (res.data as { merge_base_commit?: { sha?: unknown } }).merge_base_commit?.sha;
    return typeof sha === 'string' && sha !== '' ? sha : undefined;
  } catch (e) {
    ctx.log.warning(
      `baseline: cannot find the merge base of ${pr.baseRef} and ${head.slice(0, 7)} (${githubErrorMessage(e)}); comparing with the newest run of ${pr.baseRef}`,
    );
    return undefined;
  }
}

export async function defaultBranch(ctx: BaselineContext): Promise<string | undefined> {
  if (ctx.git.defaultBranch) return ctx.git.defaultBranch;
  if (!ctx.github || !ctx.git.owner || !ctx.git.repo) return undefined;
  try {
    const res = await ctx.github.request('GET /repos/{owner}/{repo}', { owner: ctx.git.owner, repo: ctx.git.repo });
    return res.data.default_branch;
  } catch (e) {
    ctx.log.warning(`baseline: cannot read the repository's default branch (${githubErrorMessage(e)})`);
    return undefined;
  }
}
