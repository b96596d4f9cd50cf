// GitContext from the runner's environment and event payload. Pure (the caller passes both), so every event
// shape is testable from JSON.
import type { GitContext } from './types.js';

const PULL_REQUEST_EVENTS = new Set(['pull_request', 'pull_request_target']);

export function gitContextFromEnv(env: NodeJS.ProcessEnv, payload: unknown): GitContext {
  const [owner = '', repo = ''] = (env.GITHUB_REPOSITORY ?? '').split('/');
  const eventName = env.GITHUB_EVENT_NAME ?? '';
  const pr = field(payload, 'pull_request');
  const defaultBranch = str(field(field(payload, 'repository'), 'default_branch'));
  const runUrl =
    env.GITHUB_SERVER_URL && env.GITHUB_REPOSITORY && env.GITHUB_RUN_ID
      ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
      : undefined;
  // GITHUB_WORKFLOW_REF: owner/repo/.github/workflows/perf.yml@refs/heads/main; the API takes the file name.
  const workflow = /\/([^/@]+\.ya?ml)@/.exec(env.GITHUB_WORKFLOW_REF ?? '')?.[1];
  const common = {
    owner,
    repo,
    eventName,
    ...(defaultBranch ? { defaultBranch } : {}),
    ...(env.GITHUB_RUN_ID ? { runId: env.GITHUB_RUN_ID } : {}),
    ...(env.GITHUB_RUN_ATTEMPT ? { runAttempt: env.GITHUB_RUN_ATTEMPT } : {}),
    ...(workflow ? { workflow } : {}),
    ...(runUrl ? { runUrl } : {}),
  };
  const number = field(pr, 'number');
  const baseRef = str(field(field(pr, 'base'), 'ref'));
  if ((PULL_REQUEST_EVENTS.has(eventName) || pr) && typeof number === 'number' && baseRef) {
    const headSha = str(field(field(pr, 'head'), 'sha'));
    const headRef = str(field(field(pr, 'head'), 'ref'));
    const baseSha = str(field(field(pr, 'base'), 'sha'));
    // On pull_request GITHUB_SHA is the test merge commit, which no history has; the head is what was built.
    const sha = headSha ?? env.GITHUB_SHA;
    return {
      ...common,
      ...(sha ? { sha } : {}),
      ...(headRef ? { branch: headRef } : {}),
      pullRequest: {
        number,
        baseRef,
        ...(headRef ? { headRef } : {}),
        ...(headSha ? { headSha } : {}),
        ...(baseSha ? { baseSha } : {}),
      },
    };
  }
  const ref = env.GITHUB_REF ?? '';
  const branch = ref.startsWith('refs/heads/') ? ref.slice('refs/heads/'.length) : undefined;
  return { ...common, ...(env.GITHUB_SHA ? { sha: env.GITHUB_SHA } : {}), ...(branch ? { branch } : {}) };
}

function field(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined;
}

function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
