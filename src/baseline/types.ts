// What a baseline is made of, independent of where it is kept. A store only moves BaselineEntry lists in and
// out; choosing the entry to compare with and judging the change happen elsewhere (gate/comparable.ts, gate/regression.ts),
// so every store gets the same semantics for merge bases, comparability and noise.
import type { getOctokit } from '@actions/github';
import type { BaselineEntry } from '../model.js';
import type { Logger } from '../log.js';
import type { OnCorrupt } from '../config/baseline.js';

/**
 * The Octokit the stores are handed (github/client.ts builds it with its time budget); named here so that baseline/
 * imports no other stage.
 */
export type StoreOctokit = ReturnType<typeof getOctokit>;

export const HISTORY_KIND = 'perf-gate-history' as const;

/** The file a history is kept in (data branch, artifact, or a local file). */
export interface HistoryFile {
  schemaVersion: 1;
  kind: typeof HISTORY_KIND;
  environment: string;
  phase: string;
  /** Oldest first. */
  entries: BaselineEntry[];
}

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
  github?: StoreOctokit;
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
