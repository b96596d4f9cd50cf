// Entry points for the pipeline: pick the store for a spec, load the right history (the PR's base branch, matched
// to its merge base), judge the run against it, optionally confirm with a second run, apply the accept label,
// and record runs of the default branch.
import type { RunResult, Verdict } from '../model.js';
import { compareWithBaseline, confirmComparison, needsConfirmation, type ComparisonOutcome, type RegressionRule } from '../gate/regression.js';
import { ArtifactStore } from './artifact-store.js';
import { BranchStore } from './branch-store.js';
import type { BaselineConfig, BaselineSpec } from '../config/baseline.js';
import { entryFromRun, entryId } from './entry.js';
import { FileStore } from './file-store.js';
import { defaultBranch, findMergeBase } from './github.js';
import { applyAcceptance, findAcceptance, type Acceptance } from './override.js';
import type { BaselineContext, BaselineStore, GitContext, StoreOctokit, RecordResult } from './types.js';
import { githubErrorMessage } from './github.js';
import { UserError } from '../errors.js';
import type { Logger } from '../log.js';
import type { BaselineEntry } from '../model.js';
export { DEFAULT_ACCEPT_LABEL } from '../config/baseline.js';
export type { BaselineEntry } from '../model.js';

export type { BaselineContext, GitContext, HistoryFile } from './types.js';
export { parseBaselineSpec, resolveBaselineConfig, baselineConfigSchema, BASELINE_INPUT_NAMES, BASELINE_STORES, type BaselineConfig, type BaselineSpec } from '../config/baseline.js';
export { gitContextFromEnv } from './context.js';
export { applyAcceptance, findAcceptance } from './override.js';

/** Everything the stores need, from the resolved config and what main.ts knows about the run. */
export function baselineContext(
  config: BaselineConfig,
  parts: { log: Logger; workspace: string; outputDir: string; git: GitContext; github?: StoreOctokit },
): BaselineContext {
  return {
    log: parts.log,
    workspace: parts.workspace,
    outputDir: parts.outputDir,
    environment: config.environment,
    historyLimit: config.historyLimit,
    onCorrupt: config.onCorrupt,
    git: parts.git,
    ...(parts.github ? { github: parts.github } : {}),
    ...(config.recordBranches ? { recordBranches: config.recordBranches } : {}),
  };
}

export function createStore(spec: BaselineSpec, ctx: BaselineContext): BaselineStore {
  switch (spec.kind) {
    case 'file':
      return new FileStore(spec.location, ctx);
    case 'branch':
      return new BranchStore(spec.location, ctx);
    case 'artifact':
      return new ArtifactStore(spec.location, ctx);
    default:
      return assertNever(spec.kind);
  }
}

export interface LoadedBaseline {
  entries: BaselineEntry[];
  /** `branch:perf-gate-data (branch perf-gate-data: perf-gate/prod/warmup.json)`, for Verdict.baseline.source. */
  source: string;
  /** The branch whose runs count: the PR's base branch, or the branch this run is on. */
  branch?: string;
  /** The PR's merge base, when it could be found. */
  mergeBase?: string;
  notes: string[];
}

/** Reads the history this run should be compared with. A corrupt baseline throws a UserError unless on-corrupt: missing. */
export async function loadBaseline(spec: BaselineSpec, ctx: BaselineContext, phase: string): Promise<LoadedBaseline> {
  const store = createStore(spec, ctx);
  const pr = ctx.git.pullRequest;
  const branch = pr ? pr.baseRef : await comparedBranch(ctx);
  const mergeBase = pr ? await findMergeBase(ctx) : undefined;
  const loaded = await store.load({ environment: ctx.environment, phase }, { ...(branch ? { branch } : {}), ...(mergeBase ? { preferSha: mergeBase } : {}) });
  return {
    entries: loaded.entries,
    source: `${spec.text} (${loaded.location})`,
    ...(branch ? { branch } : {}),
    ...(mergeBase ? { mergeBase } : {}),
    notes: loaded.notes,
  };
}

export interface CompareSettings {
  rules: readonly RegressionRule[];
  historyLimit: number;
  minHistory: number;
}

/** compareWithBaseline with everything the context knows: branch, merge base, the run's own id and commit. */
export function compareLoaded(run: RunResult, loaded: LoadedBaseline, settings: CompareSettings, ctx: BaselineContext, pooledRuns = 1): ComparisonOutcome {
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
export async function evaluateBaseline(
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
    loaded = { entries: [], source: config.spec.text, notes: [`could not read the baseline: ${githubErrorMessage(e)}`] };
  }
  let outcome = compareLoaded(run, loaded, config, ctx);
  let judged = run;
  let confirmed = false;
  let second: RunResult | undefined;
  if (config.confirm && !opts.rerun && needsConfirmation(outcome)) {
    // Result files cannot be measured again: the first comparison decides, and the report says it was not confirmed.
    outcome = { ...outcome, baseline: { ...outcome.baseline, note: join(outcome.baseline.note, 'not confirmed: result files cannot be run again') } };
  } else if (config.confirm && opts.rerun && needsConfirmation(outcome)) {
    const which = outcome.suspect.length ? outcome.suspect : outcome.regressions.filter((r) => r.status === 'regressed').map((r) => r.metric);
    ctx.log.info(`baseline: ${which.join(', ')} look${which.length === 1 ? 's' : ''} worse than the baseline; running the phase once more to confirm before deciding`);
    const attempt = await confirmationRun(opts.rerun);
    if (typeof attempt === 'string') {
      // No usable second run: the first comparison stands, so a regression still fails the check.
      ctx.log.warning(`baseline: the confirmation run ${attempt}; judging on the first run alone`);
      outcome = { ...outcome, baseline: { ...outcome.baseline, note: join(outcome.baseline.note, `not confirmed: the confirmation run ${attempt}`) } };
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
        method: join(outcome.baseline.method, 'the phase ran a second time because of this, and a regression had to show in the two runs pooled and in the second on its own'),
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
  if (!second.generator.valid) return `could not send the load as asked (${second.generator.invalidReasons.join('; ')})`;
  return second;
}

function join(...parts: Array<string | undefined>): string {
  return parts.filter((p): p is string => !!p).join('; ');
}

/**
 * Outside pull requests: a recorded branch is compared with its own previous runs; any other branch (a push
 * without a PR, a manual dispatch) with the default branch's.
 */
async function comparedBranch(ctx: BaselineContext): Promise<string | undefined> {
  if ((await shouldRecord(ctx)).record) return ctx.git.branch;
  return (await defaultBranch(ctx)) ?? ctx.git.branch;
}

/** Runs of the default branch (or the configured branches) feed the history; pull requests only read it. */
export async function shouldRecord(ctx: BaselineContext): Promise<{ record: boolean; why: string }> {
  if (ctx.git.pullRequest) return { record: false, why: 'pull request runs are compared, not recorded' };
  const branch = ctx.git.branch;
  if (!branch) return { record: false, why: 'not on a branch (tag or detached run)' };
  const patterns = ctx.recordBranches ?? [await defaultBranch(ctx)].filter((b): b is string => !!b);
  if (patterns.length === 0) return { record: false, why: 'the default branch is unknown, so nothing is recorded' };
  const match = patterns.some((p) => (p.endsWith('*') ? branch.startsWith(p.slice(0, -1)) : p === branch));
  return match ? { record: true, why: `${branch} is recorded` } : { record: false, why: `${branch} is not among the recorded branches (${patterns.join(', ')})` };
}

/**
 * Before the load: when this run would be recorded in a file, the file must be writable. The GitHub stores are
 * not probed (a write would be a commit or an upload); their failures at the end are warnings.
 */
export async function preflightBaseline(spec: BaselineSpec, ctx: BaselineContext): Promise<string | undefined> {
  if (spec.kind !== 'file') return undefined;
  if (!(await shouldRecord(ctx)).record) return undefined;
  return new FileStore(spec.location, ctx).checkWritable();
}

/**
 * Adds the run to the history when this is a run to record (see shouldRecord). Runs whose verdict is `error`
 * are not recorded: their numbers are not a baseline anyone should be compared with.
 */
export async function recordRun(spec: BaselineSpec, run: RunResult, ctx: BaselineContext, verdict?: Pick<Verdict, 'status'>): Promise<RecordResult> {
  const store = createStore(spec, ctx);
  if (verdict?.status === 'error' || run.requests === 0) return { written: false, location: spec.text, note: 'the run could not be judged, so it is not recorded' };
  const decision = await shouldRecord(ctx);
  if (!decision.record) return { written: false, location: spec.text, note: decision.why };
  const entry = entryFromRun(run, { environment: ctx.environment, git: ctx.git });
  const result = await store.record({ environment: ctx.environment, phase: run.phase }, entry);
  if (result.written) ctx.log.info(`baseline: recorded this run in ${result.location} (${result.kept ?? '?'} runs kept${result.retries ? `, ${result.retries} conflict${result.retries === 1 ? '' : 's'} re-applied` : ''})`);
  return result;
}

function assertNever(x: never): never {
  throw new Error(`unhandled baseline store ${String(x)}`);
}
