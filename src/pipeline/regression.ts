// The regression step of the pipeline, in one place: the history from baseline/ (storing), the comparison from
// gate/ (judging), a second run of the phase when the first comparison is suspect (confirm-before-failing), and the
// accept label on the pull request. The pipeline calls it once, after the targets are judged.
import type { RunResult, Verdict } from '../model.js';
import {
  compareWithBaseline,
  confirmComparison,
  needsConfirmation,
  type ComparisonOutcome,
  type RegressionRule,
} from '../gate/regression.js';
import { applyAcceptance, type Acceptance } from '../gate/acceptance.js';
import { loadBaseline, type LoadedBaseline } from '../baseline/index.js';
import { entryId } from '../baseline/entry.js';
import { githubErrorMessage } from '../baseline/github.js';
import { findAcceptance } from '../baseline/override.js';
import type { BaselineContext } from '../baseline/types.js';
import type { BaselineConfig } from '../config/baseline.js';
import { UserError } from '../errors.js';

export interface CompareSettings {
  rules: readonly RegressionRule[];
  historyLimit: number;
  minHistory: number;
}

/** compareWithBaseline with everything the context knows: branch, merge base, the run's own id and commit. */
export function compareLoaded(
  run: RunResult,
  loaded: LoadedBaseline,
  settings: CompareSettings,
  ctx: BaselineContext,
  pooledRuns = 1,
): ComparisonOutcome {
  return compareWithBaseline(run, loaded.entries, settings.rules, {
    environment: ctx.environment,
    source: loaded.source,
    ...(loaded.mergeBase ? { baselineSha: loaded.mergeBase } : {}),
    ...(loaded.branch ? { branch: loaded.branch } : {}),
    excludeId: entryId(ctx.git, run),
    // A re-run of a commit already recorded must not be compared with itself.
    ...(ctx.git.sha ? { excludeSha: ctx.git.sha } : {}),
    historyLimit: settings.historyLimit,
    minHistory: settings.minHistory,
    notes: loaded.notes,
    pooledRuns,
    ...(ctx.now ? { now: ctx.now() } : {}),
  });
}

export interface BaselineVerdict {
  regressions: NonNullable<Verdict['regressions']>;
  baseline: NonNullable<Verdict['baseline']>;
  /** The run the verdict is about: the original, or it pooled with the confirmation run. */
  run: RunResult;
  confirmed: boolean;
  /** The confirmation run itself, when there was one: written to the results file so pooled figures can be traced. */
  second?: RunResult;
  acceptance?: Acceptance;
  outcome: ComparisonOutcome;
}

/**
 * Load, compare, confirm (when `rerun` is given and the first comparison is suspect), then apply the accept
 * label. `rerun` runs the same phase again and returns its RunResult.
 */
export async function regressionStep(
  run: RunResult,
  config: BaselineConfig,
  ctx: BaselineContext,
  opts: { rerun?: () => Promise<RunResult> } = {},
): Promise<BaselineVerdict | undefined> {
  if (!config.spec) return undefined;
  let loaded: LoadedBaseline;
  try {
    loaded = await loadBaseline(config.spec, ctx, run.phase);
  } catch (e) {
    // A corrupt baseline is the user's to fix (UserError). An API outage or a missing token is not a reason to
    // fail a deploy gate, nor to pass a regression silently: the report says there was nothing to compare with.
    if (e instanceof UserError) throw e;
    ctx.log.warning(`baseline: could not read ${config.spec.text}: ${githubErrorMessage(e)}`);
    loaded = {
      entries: [],
      source: config.spec.text,
      notes: [`could not read the baseline: ${githubErrorMessage(e)}`],
    };
  }
  let outcome = compareLoaded(run, loaded, config, ctx);
  let judged = run;
  let confirmed = false;
  let second: RunResult | undefined;
  if (config.confirm && !opts.rerun && needsConfirmation(outcome)) {
    // Result files cannot be measured again: the first comparison decides, and the report says it was not confirmed.
    outcome = {
      ...outcome,
      baseline: {
        ...outcome.baseline,
        note: join(outcome.baseline.note, 'not confirmed: result files cannot be run again'),
      },
    };
  } else if (config.confirm && opts.rerun && needsConfirmation(outcome)) {
    const which = outcome.suspect.length
      ? outcome.suspect
      : outcome.regressions.filter((r) => r.status === 'regressed').map((r) => r.metric);
    ctx.log.info(
      `baseline: ${which.join(', ')} look${which.length === 1 ? 's' : ''} worse than the baseline; running the phase once more to confirm before deciding`,
    );
    const attempt = await confirmationRun(opts.rerun);
    if (typeof attempt === 'string') {
      // No usable second run: the first comparison stands, so a regression still fails the check.
      ctx.log.warning(`baseline: the confirmation run ${attempt}; judging on the first run alone`);
      outcome = {
        ...outcome,
        baseline: {
          ...outcome.baseline,
          note: join(outcome.baseline.note, `not confirmed: the confirmation run ${attempt}`),
        },
      };
    } else {
      second = attempt;
      const confirmation = confirmComparison((r, k) => compareLoaded(r, loaded, config, ctx, k), run, second);
      judged = confirmation.pooled;
      outcome = confirmation.outcome;
      confirmed = true;
    }
  }
  let regressions = outcome.regressions;
  let acceptance: Acceptance | undefined;
  if (regressions.some((r) => r.status === 'regressed')) {
    acceptance = await findAcceptance(ctx, config.acceptLabel);
    regressions = applyAcceptance(regressions, acceptance);
  }
  const baseline = confirmed
    ? {
        ...outcome.baseline,
        note: join(outcome.baseline.note, 'judged on this run and a confirmation run pooled'),
        method: join(
          outcome.baseline.method,
          'the phase ran a second time because of this, and a regression had to show in the two runs pooled and in the second on its own',
        ),
      }
    : outcome.baseline;
  return {
    regressions,
    baseline,
    run: judged,
    confirmed,
    ...(second ? { second } : {}),
    ...(acceptance ? { acceptance } : {}),
    outcome: { ...outcome, regressions, baseline },
  };
}

/** The confirmation run, or why it cannot confirm anything: a crash, or a run without latencies to compare. */
async function confirmationRun(rerun: () => Promise<RunResult>): Promise<RunResult | string> {
  let second: RunResult;
  try {
    second = await rerun();
  } catch (e) {
    if (e instanceof UserError) throw e;
    return `failed (${githubErrorMessage(e)})`;
  }
  if (second.requests === 0 || second.latency.count === 0) return 'completed no requests';
  if (!second.generator.valid)
    return `could not send the load as asked (${second.generator.invalidReasons.join('; ')})`;
  return second;
}

function join(...parts: Array<string | undefined>): string {
  return parts.filter((p): p is string => !!p).join('; ');
}
