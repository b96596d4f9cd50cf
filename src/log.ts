// The log every stage writes to, on the ground floor: stages take a Logger and never ask where it goes.

/** Where the log goes: @actions/core in the action, the terminal in the CLI, an array in tests. */
export interface Logger {
  info(message: string): void;
  warning(message: string): void;
  debug(message: string): void;
}
