// A known, accepted slowdown (a new feature that costs 15 ms) must not block a PR forever: a label on the PR
// turns its regressions into passes, and the report names who applied the label, so the acceptance is visible
// and attributable. Who applied it comes from the issue events API (`labeled` events carry the actor); the
// payload's label list says only that the label is there.
import type { Acceptance } from '../gate/acceptance.js';
import { githubErrorMessage } from './github.js';
import type { BaselineContext } from './types.js';

interface IssueEvent {
  event?: string;
  actor?: { login?: string } | null;
  label?: { name?: string } | null;
  created_at?: string;
}

/**
 * Whether the PR currently carries the label, and who put it there. The events are replayed in order so a
 * label that was removed again does not count. Undefined when not on a PR or without a token (with a warning
 * when the API fails: the regression then stands, the safe side).
 */
export async function findAcceptance(ctx: BaselineContext, label: string): Promise<Acceptance | undefined> {
  const pr = ctx.git.pullRequest;
  if (!pr || !ctx.github || !label) return undefined;
  let events: IssueEvent[];
  try {
    events = (await ctx.github.paginate('GET /repos/{owner}/{repo}/issues/{issue_number}/events', {
      owner: ctx.git.owner,
      repo: ctx.git.repo,
      issue_number: pr.number,
      per_page: 100,
    })) as IssueEvent[];
  } catch (e) {
    ctx.log.warning(
      `baseline: cannot read the labels history of #${pr.number} (${githubErrorMessage(e)}); label "${label}" not checked`,
    );
    return undefined;
  }
  const wanted = label.toLowerCase();
  let current: Acceptance | undefined;
  for (const ev of events) {
    if (ev.label?.name?.toLowerCase() !== wanted) continue;
    if (ev.event === 'labeled')
      current = {
        label,
        ...(ev.actor?.login ? { by: ev.actor.login } : {}),
        ...(ev.created_at ? { at: ev.created_at } : {}),
      };
    else if (ev.event === 'unlabeled') current = undefined;
  }
  return current;
}
