// Where a comment would go, read from the event that started the workflow. Pure: the caller passes
// `context.eventName`, `context.payload` and GITHUB_REPOSITORY, so every event shape is testable from JSON.

export interface PrContext {
  owner: string;
  repo: string;
  /** The PR (or issue) number to comment on; absent when the event has none. */
  issueNumber?: number;
  isPullRequest: boolean;
  /** The PR's head is another repository: its workflows get a read-only token, so commenting will be refused. */
  isFork: boolean;
}

const PULL_REQUEST_EVENTS = new Set([
  'pull_request',
  'pull_request_target',
  'pull_request_review',
  'pull_request_review_comment',
]);

export function prContext(eventName: string, payload: unknown, repository: string): PrContext {
  const { owner, repo } = ownerAndRepo(repository, payload);
  const base = { owner, repo };
  const baseFullName = owner && repo ? `${owner}/${repo}` : undefined;

  const pr = field(payload, 'pull_request');
  if (PULL_REQUEST_EVENTS.has(eventName) || (pr !== undefined && pr !== null)) {
    const number = positiveInt(field(pr, 'number'));
    if (number === undefined) return { ...base, isPullRequest: PULL_REQUEST_EVENTS.has(eventName), isFork: false };
    const baseRepo = str(field(field(field(pr, 'base'), 'repo'), 'full_name')) ?? baseFullName;
    const headRepo = field(field(pr, 'head'), 'repo');
    // A null head repo means the fork was deleted after the PR was opened: still a fork, and still read-only.
    const isFork = headRepo === null || differs(str(field(headRepo, 'full_name')), baseRepo);
    return { ...base, issueNumber: number, isPullRequest: true, isFork };
  }

  if (eventName === 'issue_comment' || eventName === 'issues') {
    const issue = field(payload, 'issue');
    const number = positiveInt(field(issue, 'number'));
    const onPullRequest = field(issue, 'pull_request') !== undefined && field(issue, 'pull_request') !== null;
    // The payload does not say where the PR's head lives, and these events run with the base repository's
    // token anyway, so the comment is not blocked by a fork.
    return {
      ...base,
      ...(number === undefined ? {} : { issueNumber: number }),
      isPullRequest: onPullRequest,
      isFork: false,
    };
  }

  if (eventName === 'workflow_run') {
    // The recommended way to comment on fork PRs: a second workflow, with a write token, reacting to the first.
    const run = field(payload, 'workflow_run');
    const triggeredBy = str(field(run, 'event')) ?? '';
    const fromPullRequest = PULL_REQUEST_EVENTS.has(triggeredBy);
    const headRepo = str(field(field(run, 'head_repository'), 'full_name'));
    const runRepo = str(field(field(run, 'repository'), 'full_name')) ?? baseFullName;
    const isFork = fromPullRequest && headRepo !== undefined && differs(headRepo, runRepo);
    // GitHub leaves `pull_requests` empty for fork PRs; the number then has to come from an artifact.
    const pulls = field(run, 'pull_requests');
    const number = Array.isArray(pulls) ? positiveInt(field(pulls[0], 'number')) : undefined;
    return {
      ...base,
      ...(number === undefined ? {} : { issueNumber: number }),
      isPullRequest: fromPullRequest,
      isFork,
    };
  }

  return { ...base, isPullRequest: false, isFork: false };
}

function ownerAndRepo(repository: string, payload: unknown): { owner: string; repo: string } {
  const match = /^([^/\s]+)\/([^/\s]+)$/.exec(repository.trim());
  if (match) return { owner: match[1] ?? '', repo: match[2] ?? '' };
  // Outside Actions GITHUB_REPOSITORY may be unset; the payload still names the repository if there is one.
  const fromPayload = field(payload, 'repository');
  const owner = str(field(field(fromPayload, 'owner'), 'login')) ?? '';
  const repo = str(field(fromPayload, 'name')) ?? '';
  return { owner, repo };
}

function field(value: unknown, key: string): unknown {
  if (typeof value !== 'object' || value === null) return undefined;
  return (value as Record<string, unknown>)[key];
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function positiveInt(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : undefined;
}

/** Repository names compare case-insensitively on GitHub; an unknown side is not evidence of a fork. */
function differs(a: string | undefined, b: string | undefined): boolean {
  if (a === undefined || b === undefined) return false;
  return a.toLowerCase() !== b.toLowerCase();
}
