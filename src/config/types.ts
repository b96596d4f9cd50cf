// The typed Config every later stage reads. Only src/config builds it; nothing downstream sees raw inputs.
import type { CommentMode, DecideOn, DistributedMode, EngineName, FailOn, Stage, Target } from '../model.js';
import type { PhaseDefinition } from '../phases/presets.js';
import type { AbortGuard } from '../phases/guards.js';
import type { SourceConfig } from './sources.js';
import type { BaselineConfig } from './baseline.js';
import type { ChecksConfig } from './checks.js';
import type { Flow } from '../flows/steps.js';

export interface HttpSettings {
  /** Per-request timeout, ms. */
  timeoutMs: number;
  /** Cap on requests in flight; arrivals beyond it are dropped and counted. */
  maxInFlight: number;
  /**
   * Count HTTP 4xx responses as errors (default true, as k6's http_req_failed does: a 401 on login is a failed
   * journey). `http.count-4xx-as-errors: false` keeps the old meaning (only 5xx and transport errors).
   */
  count4xxAsErrors: boolean;
  /** Built-in engine: a W3C `traceparent` header on every request, fresh ids each (absent or true: on). */
  traceparent?: boolean;
  headers: Record<string, string>;
}

export interface Config {
  /** Base URL of the deployment; credentials given in it were moved to an Authorization header. */
  target: string;
  phase: PhaseDefinition;
  engine: EngineName;
  targets: Target[];
  /**
   * The targets say `error_rate: not judged`: the phase's error-rate bound was removed on purpose (said in the
   * report). Otherwise `targets` always holds one (src/gate/error-bound.ts withErrorBound).
   */
  errorsNotJudged?: true;
  /** Override of the phase length, ms. */
  durationMs?: number;
  /** Factor applied to every stage's duration (`duration-scale`); never set together with durationMs. */
  durationScale?: number;
  /** Override of the peak arrival rate, arrivals/s. */
  rate?: number;
  /** Which part of the run the targets are judged on; absent: the phase's default, else steady. */
  decideOn?: DecideOn;
  /** Abort guards checked on every interval; absent: the phase's defaults. */
  guards?: AbortGuard[];
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
  /** Baseline store, environment and regression rules; absent in configs built by hand (tests). */
  baseline?: BaselineConfig;
  /** Infrastructure metric sources read for the run window. */
  sources: SourceConfig[];
  /** What must hold before the load is sent; absent: nothing beyond the target answering. */
  checks?: ChecksConfig;
  /**
   * Run each flow once, with its checks, before the load (a failure is verdict `error`, no load). The loader sets it
   * when the config has flows unless `smoke: false`; configs built by hand (tests) leave it off.
   */
  smoke?: boolean;
  /** This job runs shard `index` (1-based) of `count`: 1/count of the arrival rate and data rows index-1, index-1+count, ... */
  shard?: { index: number; count: number };
}
