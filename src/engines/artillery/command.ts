// The Artillery command lines perf-gate runs, and the reading of the `ensure` plugin's verdicts from its output.
import type { DistributedMode, ToolThreshold } from '../../model.js';

export interface ArtilleryCommandInput {
  mode: DistributedMode;
  script: string;
  target: string;
  output: string;
  /** JSON for `--overrides` (phases, headers); Artillery replaces arrays in the script with the given ones. */
  overrides?: object;
  count?: number;
  region?: string;
}

/** Arguments after the artillery bin script. */
export function buildArtilleryArgs(input: ArtilleryCommandInput): string[] {
  const sub =
    input.mode === 'artillery-fargate' ? 'run-fargate' : input.mode === 'artillery-lambda' ? 'run-lambda' : 'run';
  const args = [sub];
  if (sub !== 'run') {
    // Without them Artillery defaults to one worker in us-east-1; stating them keeps the log self-explanatory.
    if (input.count !== undefined) args.push('--count', String(input.count));
    if (input.region !== undefined) args.push('--region', input.region);
  }
  args.push('--target', input.target, '--output', input.output);
  if (input.overrides && Object.keys(input.overrides).length > 0)
    args.push('--overrides', JSON.stringify(input.overrides));
  args.push(input.script);
  return args;
}

/**
 * The ensure plugin prints its verdicts at the end of the run, after a `Checks:` line:
 *   ok: http.response_time.p95 < 1000
 *   fail: http.response_time.p99 < 1
 *   fail: vusers.failed < 1 (optional)
 * A failed strict check makes Artillery exit 1; a failed optional one does not. The JSON report does not
 * record them, so the output is the only place to read them from.
 */
export class EnsureCollector {
  private inChecks = false;
  readonly thresholds: ToolThreshold[] = [];

  push(line: string): void {
    const t = line.trim();
    if (t === 'Checks:') {
      this.inChecks = true;
      return;
    }
    if (!this.inChecks) return;
    const m = /^(ok|fail): (.+?)( \(optional\))?$/.exec(t);
    if (!m) return;
    const expression = m[2]!.trim() + (m[3] ? ' (optional)' : '');
    this.thresholds.push({ metric: metricOf(m[2]!), expression, ok: m[1] === 'ok' });
  }

  /** Strict checks that failed: these, and nothing else, turn Artillery's exit code 1 into a result. */
  strictFailures(): ToolThreshold[] {
    return this.thresholds.filter((t) => !t.ok && !t.expression.endsWith(' (optional)'));
  }
}

function metricOf(expression: string): string {
  const m = /^[A-Za-z_$][\w$.\-{}]*/.exec(expression.trim());
  return m ? m[0] : expression.trim();
}
