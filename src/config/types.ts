// The typed Config every later stage reads. Only src/config builds it; nothing downstream sees raw inputs.
import type { CommentMode, DistributedMode, EngineName, FailOn, Flow, Stage, Target } from '../model.js';
import type { SourceConfig } from '../sources/config.js';

export interface PhaseDefinition {
  name: string;
  /** Arrival-rate stages (open model). */
  stages: Stage[];
  /** Targets that apply to this phase when the user sets none. */
  defaultTargets: string[];
  description: string;
}

export interface HttpSettings {
  /** Per-request timeout, ms. */
  timeoutMs: number;
  /** Cap on requests in flight; arrivals beyond it are dropped and counted. */
  maxInFlight: number;
  /** Count HTTP 4xx responses as errors (default false: 4xx are the client's doing, 5xx the server's). */
  count4xxAsErrors: boolean;
  headers: Record<string, string>;
}

export interface Config {
  /** Base URL of the deployment; credentials given in it were moved to an Authorization header. */
  target: string;
  phase: PhaseDefinition;
  engine: EngineName;
  targets: Target[];
  /** Override of the phase length, ms. */
  durationMs?: number;
  /** Override of the peak arrival rate, arrivals/s. */
  rate?: number;
  failOn: FailOn;
  comment: CommentMode;
  commentHeader: string;
  githubToken?: string;
  outputDir: string;
  /** Path of the config file that was read, if any. */
  configPath?: string;
  flows: Flow[];
  http: HttpSettings;
  /** Width of the time-series intervals, ms. */
  intervalMs: number;
  /** Artillery YAML or k6 script (absolute path) for the artillery and k6 engines. */
  script?: string;
  /** Result files or glob patterns (relative to the workspace) for the results engine. */
  results?: string[];
  /** The workspace relative paths were resolved against. */
  workspace: string;
  /** Run on the tool's own distributed platform instead of this machine. */
  distributed: { mode: DistributedMode; count?: number; region?: string };
  /** Infrastructure metric sources read for the run window. */
  sources: SourceConfig[];
}

/** Where the log goes: @actions/core in the action, the terminal in the CLI, an array in tests. */
export interface Logger {
  info(message: string): void;
  warning(message: string): void;
  debug(message: string): void;
}

/** A user mistake: reported as one clear line, never with a stack trace. */
export class UserError extends Error {
  override name = 'UserError';
}
