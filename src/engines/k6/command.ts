// The k6 command lines perf-gate runs, and what k6's exit codes mean (go.k6.io/k6/errext/exitcodes).

export interface K6CommandInput {
  cloud: boolean;
  script: string;
  target: string;
  /** `--summary-export` path (local runs). */
  summaryExport?: string;
  /** `--out json=` path (local runs). */
  ndjson?: string;
  /** `--config` JSON with the scenarios (and, for k6 Cloud, the load zone). */
  configFile?: string;
  /** Extra `-e NAME=value` pairs (k6 Cloud does not see this process's environment). */
  env?: Record<string, string>;
}

/**
 * Local: `k6 run --summary-export S --out json=P [--config C] -e TARGET_URL=T -e BASE_URL=T script.js`.
 * k6 Cloud: `k6 cloud run [--config C] -e TARGET_URL=T -e BASE_URL=T script.js`: the test runs on Grafana
 * Cloud k6's load generators, which write no local summary or points, so those flags are left out.
 */
export function buildK6Args(input: K6CommandInput): string[] {
  const args = input.cloud ? ['cloud', 'run'] : ['run'];
  if (!input.cloud) {
    if (input.summaryExport) args.push('--summary-export', input.summaryExport);
    if (input.ndjson) args.push('--out', `json=${input.ndjson}`);
  }
  if (input.configFile) args.push('--config', input.configFile);
  args.push('-e', `TARGET_URL=${input.target}`, '-e', `BASE_URL=${input.target}`);
  for (const [k, v] of Object.entries(input.env ?? {})) args.push('-e', `${k}=${v}`);
  args.push(input.script);
  return args;
}

export const K6_EXIT = {
  OK: 0,
  CLOUD_TEST_RUN_FAILED: 97,
  CLOUD_FAILED_TO_GET_PROGRESS: 98,
  THRESHOLDS_HAVE_FAILED: 99,
  SETUP_TIMEOUT: 100,
  TEARDOWN_TIMEOUT: 101,
  GENERIC_TIMEOUT: 102,
  SCRIPT_STOPPED_FROM_REST_API: 103,
  INVALID_CONFIG: 104,
  EXTERNAL_ABORT: 105,
  CANNOT_START_REST_API: 106,
  SCRIPT_EXCEPTION: 107,
  SCRIPT_ABORTED: 108,
  GO_PANIC: 109,
} as const;

const MEANINGS: Record<number, string> = {
  97: 'the k6 Cloud test run failed',
  98: 'k6 could not get the test progress from k6 Cloud',
  99: 'thresholds were crossed',
  100: 'setup() timed out',
  101: 'teardown() timed out',
  102: 'a timeout',
  103: 'the test was stopped through the REST API',
  104: 'invalid configuration',
  105: 'aborted by a signal',
  106: 'the REST API could not start',
  107: 'the script threw an exception',
  108: 'the script called test.abort()',
  109: 'k6 crashed (Go panic)',
  255: 'k6 failed',
};

export function describeK6Exit(code: number | null, signal: NodeJS.Signals | null): string {
  if (code === null) return `k6 was ended by ${signal ?? 'a signal'}`;
  const meaning = MEANINGS[code];
  return `k6 exited with code ${code}${meaning ? ` (${meaning})` : ''}`;
}

/**
 * How the engine treats an exit code:
 *  - result:  the run completed and its files are the result (0, and 99 whose crossed thresholds are data);
 *  - partial: the run stopped early but k6 still wrote what it measured (105 signal, 108 test.abort(),
 *             103 stopped through the REST API); the result is kept, marked invalid unless perf-gate stopped it;
 *  - error:   anything else (script exception, invalid config, timeouts in setup/teardown, panics).
 */
export function classifyK6Exit(code: number | null): 'result' | 'partial' | 'error' {
  if (code === K6_EXIT.OK || code === K6_EXIT.THRESHOLDS_HAVE_FAILED) return 'result';
  if (
    code === K6_EXIT.EXTERNAL_ABORT ||
    code === K6_EXIT.SCRIPT_ABORTED ||
    code === K6_EXIT.SCRIPT_STOPPED_FROM_REST_API
  )
    return 'partial';
  return 'error';
}
