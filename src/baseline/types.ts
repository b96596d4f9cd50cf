// What a baseline is made of, independent of where it is kept. A store only moves BaselineEntry lists in and
// out; choosing the entry to compare with and judging the change happen elsewhere (select.ts, gate/regression.ts),
// so every store gets the same semantics for merge bases, comparability and noise.
import type { getOctokit } from '@actions/github';
import type { Logger } from '../config/types.js';
import type { EngineName } from '../model.js';
import type { SerializedHistogram } from '../metrics/histogram.js';

export type GitHubClient = ReturnType<typeof getOctokit>;

/** The headline numbers kept per run. Latency in ms, error_rate in percent, throughput in requests/s. */
export interface HeadlineMetrics {
  p50?: number;
  p90?: number;
  p95?: number;
  p99?: number;
  max?: number;
  mean?: number;
  error_rate?: number;
  throughput?: number;
}

/** One recorded run. Small on purpose: thirty of them must fit comfortably in one file of the contents API. */
export interface BaselineEntry {
  /** Unique per workflow run attempt, so a concurrent writer's entry is merged, never duplicated. */
  id: string;
  sha?: string;
  branch?: string;
  createdAt: string;
  engine: EngineName;
  phase: string;
  environment: string;
  /** Hash of the load shape (stages and duration scale): runs with different shapes are not comparable. */
  shape: string;
  /** Readable form of the shape, for the not-comparable reason. */
  shapeSummary?: string;
  durationScale?: number;
  requests: number;
  errors: number;
  metrics: HeadlineMetrics;
  /** The latency histogram coarsened to about 1 % resolution (see compactHistogram). */
  histogram?: SerializedHistogram;
  runUrl?: string;
}

export const HISTORY_KIND = 'perf-gate-history' as const;

/** `branch` without a name. */
export const DEFAULT_DATA_BRANCH = 'perf-gate-data';
/** `artifact` without a name: the name to give actions/upload-artifact for the output dir. */
export const DEFAULT_ARTIFACT_NAME = 'perf-gate-results';

/** The file a history is kept in (data branch, artifact, or a local file). */
export interface HistoryFile {
  schemaVersion: 1;
  kind: typeof HISTORY_KIND;
  environment: string;
  phase: string;
  /** Oldest first. */
  entries: BaselineEntry[];
}

export const ON_CORRUPT = ['error', 'missing'] as const;
export type OnCorrupt = (typeof ON_CORRUPT)[number];

/**
 * What the run is, in git terms. On a pull request `pullRequest` is set and the baseline is read from its base
 * branch; otherwise `branch` is the branch that was pushed (or dispatched) and runs of it may be recorded.
 */
export interface GitContext {
  owner: string;
  repo: string;
  eventName: string;
  /** The commit the run measured: the PR head on pull requests, GITHUB_SHA otherwise. */
  sha?: string;
  branch?: string;
  defaultBranch?: string;
  pullRequest?: { number: number; baseRef: string; headRef?: string; headSha?: string; baseSha?: string };
  runId?: string;
  runAttempt?: string;
  /** Workflow file name or id (from GITHUB_WORKFLOW_REF), for the artifact store. */
  workflow?: string;
  runUrl?: string;
}

export interface BaselineContext {
  log: Logger;
  /** Relative `file:` paths resolve against it. */
  workspace: string;
  environment: string;
  /** How many runs a history keeps (and the noise band looks at). */
  historyLimit: number;
  onCorrupt: OnCorrupt;
  git: GitContext;
  /** Needed by the branch and artifact stores, and for the merge base. */
  github?: GitHubClient;
  /** Branches whose runs are recorded; default: the repository's default branch. */
  recordBranches?: string[];
  /** Where the artifact store writes the history file that the workflow uploads with the results. */
  outputDir?: string;
  now?: () => Date;
  /** Base delay before re-applying a write that lost a race (randomised, grows per attempt). Default 200 ms. */
  retryBaseMs?: number;
}

/** Which history to read or write: one per environment and phase. */
export interface HistoryKey {
  environment: string;
  phase: string;
}

export interface LoadResult {
  /** Entries found, oldest first; empty when there is no baseline yet. */
  entries: BaselineEntry[];
  /** Where they came from, for the report: `branch perf-data: perf-gate/prod/warmup.json`. */
  location: string;
  /** Why nothing was found, or anything odd about what was (a corrupt file treated as missing). */
  notes: string[];
}

export interface RecordResult {
  written: boolean;
  location: string;
  /** Entries kept after trimming. */
  kept?: number;
  /** How many times a write lost a race and was re-applied. */
  retries?: number;
  note?: string;
}

export interface BaselineStore {
  readonly kind: string;
  /** `preferSha` lets a store that can only afford one download (artifact) pick the merge base's run. */
  load(key: HistoryKey, opts: { branch?: string; preferSha?: string }): Promise<LoadResult>;
  record(key: HistoryKey, entry: BaselineEntry): Promise<RecordResult>;
}
