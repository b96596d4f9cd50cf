// The one interface every engine implements: take the resolved config and load shape, return a RunResult.
import type { Config } from '../config/types.js';
import type { EngineName, IntervalResult, RunResult, Stage } from '../model.js';
import type { Logger } from '../log.js';

export interface EngineRunOptions {
  config: Config;
  /** The load shape after presets, `duration`, `rate` and scale overrides were applied. */
  stages: Stage[];
  log: Logger;
  /** Aborts the run early (guards, cancellation); the engine returns what it measured so far. */
  signal?: AbortSignal;
  /**
   * Called with each interval as it closes, while the run goes on: abort guards watch these. Engines that only
   * learn their figures at the end (tools writing a report) need not call it; guards then cannot act.
   */
  onInterval?: (interval: IntervalResult) => void;
}

export interface Engine {
  readonly name: EngineName;
  /**
   * Checks the engine's own input (a tool's script and the files it names) before anything is installed or sent;
   * bad input is a UserError. Quick: no install, no network.
   */
  check?(options: Pick<EngineRunOptions, 'config' | 'log'>): Promise<void>;
  /** Gets the tool ready (finds or installs it) before the run's clock starts: install time is not run time. */
  prepare?(options: Pick<EngineRunOptions, 'config' | 'log' | 'signal'>): Promise<void>;
  run(options: EngineRunOptions): Promise<RunResult>;
  /**
   * The load shape this engine will send, in words, when it is not `stages` (a tool script's own phases, run as
   * written or reshaped): the line that opens a run states what is handed to the engine. Undefined: `stages`.
   */
  describeShape?(options: Pick<EngineRunOptions, 'config' | 'stages'>): Promise<string | undefined>;
}
