// An accepted regression: a label on the pull request turns its regressions into passes that say who accepted
// them (baseline/override.ts finds the label and who applied it; judging what it changes is the gate's).
import type { RegressionResult } from '../model.js';

export interface Acceptance {
  label: string;
  /** Login of whoever applied the label last (it may have been removed and re-applied). */
  by?: string;
  at?: string;
}

/** Regressions become passes that say who accepted them; other results are untouched. */
export function applyAcceptance(
  results: readonly RegressionResult[],
  acceptance: Acceptance | undefined,
): RegressionResult[] {
  if (!acceptance) return [...results];
  const who = acceptance.by ? `@${acceptance.by}` : 'someone';
  const when = acceptance.at ? ` on ${acceptance.at.slice(0, 10)}` : '';
  return results.map((r) =>
    r.status === 'regressed'
      ? {
          ...r,
          status: 'pass',
          acceptedBy: who,
          reason: `accepted by ${who} with label "${acceptance.label}"${when}; was: ${r.reason ?? 'regressed'}`,
        }
      : r,
  );
}
