// Contracts for the readers that turn a load tool's output file into the normalised RunResult.
import type { RunResult } from '../model.js';

export const RESULT_FORMATS = [
  'artillery-v2',
  'artillery-v1',
  'k6-summary-export',
  'k6-handle-summary',
  'k6-ndjson',
  'perf-gate',
] as const;
export type ResultFormat = (typeof RESULT_FORMATS)[number];

/** What a user reads in an error message when a file is not recognised. */
export const FORMAT_DESCRIPTIONS: Record<ResultFormat, string> = {
  'artillery-v2': 'Artillery 2 JSON report (`artillery run --output`)',
  'artillery-v1': 'Artillery 1 JSON report (`artillery run -o`)',
  'k6-summary-export': 'k6 `--summary-export` JSON',
  'k6-handle-summary': 'k6 handleSummary() JSON (also the machine-readable summary of k6 >= 1.5)',
  'k6-ndjson': 'k6 `--out json` NDJSON (optionally .gz)',
  'perf-gate': "perf-gate's own results.json (the shards of a sharded run, or an earlier run)",
};

export interface ReadOptions {
  /** Phase name recorded in the RunResult. */
  phase: string;
  /** Count HTTP 4xx responses as errors (the run-wide error definition). */
  count4xxAsErrors: boolean;
  /** Width of time-series intervals for formats built from raw points (k6 NDJSON); default 10 s. */
  intervalMs?: number;
  /**
   * Artillery: the script had metrics-by-endpoint on with request names (perf-gate's translation of the config's
   * flows does), so a request whose expectations failed has its own endpoint row even when no response of the run
   * reached metrics-by-endpoint (every login failing, say).
   */
  artilleryNamedEndpoints?: boolean;
}

export interface ResultReader {
  readonly format: ResultFormat;
  /** Recognise the format from the first kilobytes of the (decompressed) file. */
  detect(head: string): boolean;
  read(path: string, opts: ReadOptions): Promise<RunResult>;
}

/** Readers of single JSON documents also accept an already-parsed document, so detection can parse only once. */
export interface JsonResultReader extends ResultReader {
  fromDocument(doc: unknown, path: string, opts: ReadOptions): Promise<RunResult>;
}
