// The baseline stage keeps history: pick the store for a spec, load the right history (the PR's base branch,
// matched to its merge base), and record runs of the default branch. Judging a run against it is gate/'s, and the
// pipeline's regression step (pipeline/regression.ts) puts loading, judging, confirming and the accept label together.
import type { RunResult, Verdict, BaselineEntry } from '../model.js';
import { ArtifactStore } from './artifact-store.js';
import { BranchStore } from './branch-store.js';
import type { BaselineConfig, BaselineSpec } from '../config/baseline.js';
import { entryFromRun } from './entry.js';
import { FileStore } from './file-store.js';
import { defaultBranch, findMergeBase } from './github.js';
import type { BaselineContext, BaselineStore, GitContext, StoreOctokit, RecordResult } from './types.js';
import type { Logger } from '../log.js';
export { DEFAULT_ACCEPT_LABEL } from '../config/baseline.js';
export type { BaselineEntry } from '../model.js';

export type { BaselineContext, GitContext, HistoryFile } from './types.js';
export {
  parseBaselineSpec,
  resolveBaselineConfig,
  baselineConfigSchema,
  BASELINE_INPUT_NAMES,
  BASELINE_STORES,
  type BaselineConfig,
  type BaselineSpec,
} from '../config/baseline.js';
export { gitContextFromEnv } from './context.js';
export { findAcceptance } from './override.js';

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
  const loaded = await store.load(
    { environment: ctx.environment, phase },
    { ...(branch ? { branch } : {}), ...(mergeBase ? { preferSha: mergeBase } : {}) },
  );
  return {
    entries: loaded.entries,
    source: `${spec.text} (${loaded.location})`,
    ...(branch ? { branch } : {}),
    ...(mergeBase ? { mergeBase } : {}),
    notes: loaded.notes,
  };
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
  return match
    ? { record: true, why: `${branch} is recorded` }
    : { record: false, why: `${branch} is not among the recorded branches (${patterns.join(', ')})` };
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
export async function recordRun(
  spec: BaselineSpec,
  run: RunResult,
  ctx: BaselineContext,
  verdict?: Pick<Verdict, 'status'>,
): Promise<RecordResult> {
  const store = createStore(spec, ctx);
  if (verdict?.status === 'error' || run.requests === 0)
    return { written: false, location: spec.text, note: 'the run could not be judged, so it is not recorded' };
  const decision = await shouldRecord(ctx);
  if (!decision.record) return { written: false, location: spec.text, note: decision.why };
  const entry = entryFromRun(run, { environment: ctx.environment, git: ctx.git });
  const result = await store.record({ environment: ctx.environment, phase: run.phase }, entry);
  if (result.written)
    ctx.log.info(
      `baseline: recorded this run in ${result.location} (${result.kept ?? '?'} runs kept${result.retries ? `, ${result.retries} conflict${result.retries === 1 ? '' : 's'} re-applied` : ''})`,
    );
  return result;
}

function assertNever(x: never): never {
  throw new Error(`unhandled baseline store ${String(x)}`);
}
