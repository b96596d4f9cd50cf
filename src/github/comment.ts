// One sticky PR comment per comment header: found again by its hidden marker and edited in place, so a PR that is
// pushed to twenty times carries one up-to-date report instead of twenty.
import { redactSecrets } from '../secrets.js';
import type { Logger } from '../log.js';
import type { GitHubClient } from './client.js';
import { messageOf } from '../errors.js';

export interface UpsertCommentParams {
  octokit: GitHubClient;
  owner: string;
  repo: string;
  issueNumber: number;
  body: string;
  /** The hidden first line that identifies perf-gate's comment for this header (see `markerFor`). */
  marker: string;
  log: Logger;
}

export interface UpsertCommentResult {
  url?: string;
  action: 'created' | 'updated' | 'skipped';
  /** Why the comment was skipped and what to do about it; meant for `core.warning`. */
  warning?: string;
}

/** GitHub rejects a longer comment body with 422. */
export const COMMENT_BODY_LIMIT = 65_536;

/** The account GITHUB_TOKEN comments as. */
export const ACTIONS_BOT_LOGIN = 'github-actions[bot]';

interface ApiComment {
  id: number;
  body?: string | null;
  html_url?: string;
  user?: { login?: string; type?: string } | null;
}

/**
 * Whose comments we may take as our own. With a personal token `GET /user` names the account. With
 * GITHUB_TOKEN or any GitHub App installation token it answers 403 ("Resource not accessible by integration"):
 * such tokens have no user. Their comments are authored by a Bot account (`github-actions[bot]` for
 * GITHUB_TOKEN, `<app>[bot]` otherwise), so we then accept a marked comment by a Bot, preferring
 * `github-actions[bot]`. Never matching a human's comment keeps someone who quotes the marker from having
 * their comment overwritten.
 */
type Identity = { kind: 'user'; login: string } | { kind: 'bot-fallback' };

export async function upsertComment(params: UpsertCommentParams): Promise<UpsertCommentResult> {
  const { octokit, owner, repo, issueNumber, marker, log } = params;
  const where = `${owner}/${repo}#${issueNumber}`;
  // Without the marker the next run could not find this comment and would post a second one.
  const body = params.body.includes(marker) ? params.body : `${marker}\n${params.body}`;
  if (body.length > COMMENT_BODY_LIMIT) {
    throw new Error(
      `The PR comment is ${body.length} characters, over GitHub's ${COMMENT_BODY_LIMIT} limit; render it with a smaller maxChars.`,
    );
  }

  const identity = await whoAmI(octokit, log);

  let existing: ApiComment | undefined;
  try {
    existing = await findComment(octokit, { owner, repo, issueNumber, marker, identity });
  } catch (error) {
    const skipped = skipOn(error, 'read the comments of', where);
    if (skipped) return skipped;
    throw apiError(error, `list the comments of ${where}`);
  }

  if (existing) {
    try {
      const { data } = await octokit.rest.issues.updateComment({ owner, repo, comment_id: existing.id, body });
      log.debug(`Updated the perf-gate comment on ${where}: ${urlOf(data)}`);
      return { ...optionalUrl(data), action: 'updated' };
    } catch (error) {
      const status = statusOf(error);
      // 404: deleted since we listed it. 403 on a comment we only guessed was ours (another app's bot): post our own.
      // A 403 on a comment that is certainly ours means the token cannot write at all; creating would fail too.
      const retryAsNew = status === 404 || (status === 403 && identity.kind === 'bot-fallback' && !isRateLimit(error));
      if (!retryAsNew) {
        const skipped = skipOn(error, 'update the comment on', where);
        if (skipped) return skipped;
        throw apiError(error, `update comment ${existing.id} on ${where}`);
      }
      log.debug(`Could not update comment ${existing.id} (HTTP ${status}); posting a new one.`);
    }
  }

  try {
    const { data } = await octokit.rest.issues.createComment({ owner, repo, issue_number: issueNumber, body });
    log.debug(`Posted the perf-gate comment on ${where}: ${urlOf(data)}`);
    return { ...optionalUrl(data), action: 'created' };
  } catch (error) {
    const skipped = skipOn(error, 'post a comment on', where);
    if (skipped) return skipped;
    throw apiError(error, `create a comment on ${where}`);
  }
}

async function whoAmI(octokit: GitHubClient, log: Logger): Promise<Identity> {
  try {
    const { data } = await octokit.rest.users.getAuthenticated();
    if (typeof (data as { login?: unknown } | null)?.login !== 'string') throw malformed('GET /user', data);
    log.debug(`Commenting as ${data.login}.`);
    return { kind: 'user', login: data.login };
  } catch (error) {
    const status = statusOf(error);
    if (status === 403 || status === 404) {
      log.debug(
        `GET /user answered ${status} (an installation token such as GITHUB_TOKEN); matching comments by bot accounts.`,
      );
      return { kind: 'bot-fallback' };
    }
    throw apiError(error, 'identify the token owner (GET /user)');
  }
}

async function findComment(
  octokit: GitHubClient,
  q: { owner: string; repo: string; issueNumber: number; marker: string; identity: Identity },
): Promise<ApiComment | undefined> {
  const pages = octokit.paginate.iterator(octokit.rest.issues.listComments, {
    owner: q.owner,
    repo: q.repo,
    issue_number: q.issueNumber,
    per_page: 100,
  });
  let botCandidate: ApiComment | undefined;
  for await (const page of pages) {
    if (!Array.isArray(page.data)) throw malformed('GET comments', page.data);
    for (const comment of page.data as ApiComment[]) {
      if (typeof comment !== 'object' || comment === null) continue;
      if (!comment.body?.includes(q.marker)) continue;
      const login = comment.user?.login;
      if (q.identity.kind === 'user') {
        // The oldest one: it keeps its place in the conversation, and later duplicates (if a race made any) stay put.
        if (login === q.identity.login) return comment;
        continue;
      }
      if (comment.user?.type !== 'Bot') continue;
      if (login === ACTIONS_BOT_LOGIN) return comment;
      botCandidate ??= comment;
    }
  }
  return botCandidate;
}

/** A 200 whose body is not what the API documents (a proxy's page, truncated JSON): an error, not data. */
function malformed(call: string, data: unknown): Error {
  const what =
    typeof data === 'string'
      ? looksLikeHtml(data)
        ? 'an HTML page'
        : 'text that is not JSON'
      : `JSON of the wrong shape (${Array.isArray(data) ? 'a list' : typeof data})`;
  return new Error(`GitHub answered ${call} with ${what}`);
}

/** A malformed answer to a write may still mean the comment exists: it just has no address to give. */
function urlOf(data: unknown): string {
  const url = (data as { html_url?: unknown } | null)?.html_url;
  return typeof url === 'string' ? url : '(GitHub gave no address)';
}

function optionalUrl(data: unknown): { url?: string } {
  const url = (data as { html_url?: unknown } | null)?.html_url;
  return typeof url === 'string' && /^https?:\/\//.test(url) ? { url } : {};
}

function looksLikeHtml(text: string): boolean {
  return /^\s*<(!doctype|html|head|body)/i.test(text);
}

/** Error texts meant for one log line: an HTML error page becomes its title, and nothing runs on for pages. */
function oneLine(text: string): string {
  if (looksLikeHtml(text)) {
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(text)?.[1]?.trim();
    return `an HTML page${title ? ` ("${title.slice(0, 80)}")` : ''} instead of JSON`;
  }
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > 300 ? `${flat.slice(0, 297)}...` : flat;
}

/**
 * The HTTP status GitHub answered with. Octokit also gives status 500 to a request that never got an answer
 * (DNS, refused connection); without a response that number is made up, so it is ignored.
 */
function statusOf(error: unknown): number | undefined {
  const e = error as { status?: unknown; response?: unknown } | null;
  return typeof e?.status === 'number' && e.response !== undefined ? e.status : undefined;
}

function isRateLimit(error: unknown): boolean {
  return /rate limit/i.test(apiMessage(error));
}

/** GitHub's own message (`Resource not accessible by integration`), without Octokit's appended docs URL. */
function apiMessage(error: unknown): string {
  const data = (error as { response?: { data?: unknown } } | null)?.response?.data;
  const fromBody = (data as { message?: unknown } | null)?.message;
  if (typeof fromBody === 'string' && fromBody !== '') return redact(oneLine(fromBody));
  if (typeof data === 'string' && data !== '') return redact(oneLine(data));
  const message = messageOf(error);
  const cause = (error as { cause?: unknown } | null)?.cause;
  const causeText =
    cause instanceof Error && !message.includes(cause.message) ? `${cause.message}${codeOf(cause)}` : '';
  return redact(oneLine(causeText && !message.includes(causeText) ? `${message} (${causeText})` : message));
}

function codeOf(error: Error): string {
  const inner = (error as { cause?: unknown }).cause;
  const code = (inner as { code?: unknown } | null)?.code ?? (error as { code?: unknown }).code;
  return typeof code === 'string' ? `: ${code}` : '';
}

const FORK_HINT =
  'On a pull request from a fork, GitHub gives the workflow a read-only token: the report is still in the job summary. ' +
  'To comment on fork PRs, post the comment from a separate `workflow_run` workflow, or use `pull_request_target` with care ' +
  "(it runs with a write token, so never check out and run the fork's code in it). On other PRs, give the job " +
  '`permissions: pull-requests: write`.';

/** 403 and 404 cost the PR its comment, not the run its verdict: they come back as a warning. */
function skipOn(error: unknown, what: string, where: string): UpsertCommentResult | undefined {
  const status = statusOf(error);
  if (status !== 403 && status !== 404) return undefined;
  const message = apiMessage(error);
  let warning: string;
  if (status === 403 && isRateLimit(error)) {
    warning = `perf-gate could not ${what} ${where}: GitHub answered 403 (${message}). The report is in the job summary; the next run will post it.`;
  } else if (status === 403) {
    warning = `perf-gate could not ${what} ${where}: GitHub answered 403 (${message}). ${FORK_HINT}`;
  } else {
    warning =
      `perf-gate could not ${what} ${where}: GitHub answered 404 (${message}). The token cannot see this repository, ` +
      `or the number is not an issue or pull request. ${FORK_HINT}`;
  }
  return { action: 'skipped', warning };
}

function apiError(error: unknown, what: string): Error {
  const status = statusOf(error);
  const prefix =
    status === undefined
      ? `GitHub API call to ${what} failed`
      : `GitHub API call to ${what} failed with HTTP ${status}`;
  const hint = status === 401 ? ' Check the `github-token` input: GitHub did not accept it.' : '';
  return new Error(`${prefix}: ${apiMessage(error).replace(/\.$/, '')}.${hint}`);
}

/**
 * Error texts can echo request details; a token must never reach a log. Covers GitHub's token formats and
 * an echoed `authorization: token …` header, whatever the token looks like.
 */
export function redact(text: string): string {
  return redactSecrets(text);
}
