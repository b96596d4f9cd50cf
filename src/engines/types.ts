// The one interface every engine implements: take the resolved config and load shape, return a RunResult.
import type { Config, Logger } from '../config/types.js';
import type { EngineName, RunResult, Stage } from '../model.js';

export interface EngineRunOptions {
  config: Config;
  /** The load shape after presets, `duration`, `rate` and scale overrides were applied. */
  stages: Stage[];
  log: Logger;
  /** Aborts the run early (guards, cancellation); the engine returns what it measured so far. */
  signal?: AbortSignal;
}

export interface Engine {
  readonly name: EngineName;
  run(options: EngineRunOptions): Promise<RunResult>;
}
