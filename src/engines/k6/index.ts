// The k6 engine: runs the user's k6 script (k6 on PATH, e.g. from grafana/setup-k6-action) against the target and
// reads what k6 wrote back into a RunResult. Without a script, the config's flows are translated into one
// (translate.ts, unverified against a real k6) and run the same way.
//
// Two files per local run, each for what it is best at:
// - `--out json` (NDJSON points): every sample, so percentiles are exact (any percentile, not only the ones in
//   k6's summaryTrendStats), per-endpoint figures and a time series. The metrics come from here.
// - `--summary-export`: k6's own threshold verdicts. The NDJSON output lists threshold expressions but not the
//   verdicts, and re-evaluating them could disagree with k6 on edge cases; the tool thresholds come from here.
// When one file is missing or unreadable the other stands in, with a note saying what that costs.
//
// The script reads the target from `__ENV.TARGET_URL` (or `__ENV.BASE_URL`); perf-gate's HTTP headers are in
// `__ENV.PERF_GATE_HEADERS` as a JSON object, for scripts that want them.
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { redactUrl, redactValues } from '../../secrets.js';
import type { Config } from '../../config/types.js';
import { blankRunResult, type RunResult, type Stage } from '../../model.js';
import { totalDurationMs } from '../../phases/presets.js';
import { readResultFile, type ReadOptions } from '../../readers/index.js';
import { runTool, tailText, ToolNotFoundError, workspacePath, type ToolRunResult } from '../tool.js';
import type { Engine, EngineRunOptions } from '../types.js';
import { buildK6Args, classifyK6Exit, describeK6Exit, K6_EXIT } from './command.js';
import { scriptSetsLoadShape, toK6Scenarios } from './scenarios.js';
import { K6_FLOW_SCRIPT_FILE, translateFlowsToK6 } from './translate.js';
import { UserError, messageOf } from '../../errors.js';
import type { Logger } from '../../log.js';

export { buildK6Args, classifyK6Exit, describeK6Exit, K6_EXIT } from './command.js';
export { K6_FLOW_SCRIPT_FILE, translateFlowsToK6 } from './translate.js';
export { k6Duration, SCENARIO_NAME, scriptSetsLoadShape, toK6Scenarios, type K6Scenario } from './scenarios.js';

export const SUMMARY_FILE = 'k6-summary.json';
export const POINTS_FILE = 'k6-points.ndjson';
export const OPTIONS_FILE = 'k6-options.json';

export const K6_MISSING_HINT =
  'k6 is not installed or not on PATH. Add a step `- uses: grafana/setup-k6-action@v1` before perf-gate in the workflow (or install k6 another way).';

const LOCAL_SLACK_MS = 5 * 60_000;
const CLOUD_SLACK_MS = 30 * 60_000;

export const k6Engine: Engine = {
  name: 'k6',
  async check({ config }) {
    // The path was checked to exist with the config; a folder there would only fail once k6 starts.
    if (config.script && existsSync(config.script) && statSync(config.script).isDirectory()) {
      throw new UserError(
        `input "script": k6 script "${workspacePath(config.workspace, config.script)}" is a folder, not a file (checked before sending any load)`,
      );
    }
  },
  async run(options: EngineRunOptions): Promise<RunResult> {
    return runK6(options);
  },
  async describeShape({ config }): Promise<string | undefined> {
    // A script with its own options runs them as written (k6 gives them precedence): the start line says so.
    if (!config.script) return undefined;
    let source: string;
    try {
      source = await readFile(config.script, 'utf8');
    } catch {
      return undefined; // the run says why it cannot be read
    }
    if (!scriptSetsLoadShape(source)) return undefined;
    const ignored = [
      config.durationMs !== undefined ? 'duration' : '',
      config.durationScale !== undefined ? 'duration-scale' : '',
      config.rate !== undefined ? 'rate' : '',
    ].filter(Boolean);
    return `the k6 script's own load shape (its options), unchanged${ignored.length ? `: ${ignored.join(', ')} do${ignored.length === 1 ? 'es' : ''} not apply to it` : ''}`;
  },
};

async function k6Version(log: Logger, signal?: AbortSignal): Promise<string | undefined> {
  let version: string | undefined;
  try {
    await runTool({
      command: 'k6',
      args: ['version'],
      log,
      label: '[k6]',
      signal,
      onLine: (line) => {
        version ??= /\bv?(\d+\.\d+\.\d+[\w.-]*)/.exec(line)?.[1];
      },
    });
  } catch (e) {
    if (e instanceof ToolNotFoundError) throw new UserError(K6_MISSING_HINT);
    throw e;
  }
  return version;
}

/** k6 Cloud names load zones like `amazon:us:ashburn`; perf-gate's `region` is passed as one. */
function cloudDistribution(region: string | undefined): object | undefined {
  if (region === undefined) return undefined;
  if (!/^[a-z0-9-]+:[a-z0-9-]+:[a-z0-9-]+$/i.test(region)) {
    throw new UserError(
      `region "${region}": k6 Cloud load zones are named like amazon:us:ashburn or amazon:de:frankfurt (not AWS region names)`,
    );
  }
  return { distribution: { perf_gate: { loadZone: region, percent: 100 } } };
}

/**
 * Without a `script`, the config's flows are translated (translate.ts) into a script written to output-dir for the
 * user to read; it is then run exactly as a user's script is.
 */
async function writeFlowScript(
  config: Config,
  stages: Stage[],
  log: Logger,
): Promise<{ script: string; secrets: string[] }> {
  const script = join(config.outputDir, K6_FLOW_SCRIPT_FILE);
  const flows = translateFlowsToK6(config, { scriptDir: config.outputDir, stages });
  await writeFile(script, flows.source);
  log.info(
    `k6 script generated from the config's ${config.flows.length} flow${config.flows.length === 1 ? '' : 's'}: ${workspacePath(config.workspace, script)} ` +
      '(unverified: this translation was never run by a real k6 where it was built; read the script)',
  );
  return { script, secrets: flows.secrets };
}

async function runK6({ config: given, stages, log, signal }: EngineRunOptions): Promise<RunResult> {
  let config = given;
  if (!config.script && config.flows.length === 0) {
    throw new UserError(
      'engine "k6" needs a script: the path of the k6 script (.js), or flows in the config to translate into one',
    );
  }
  const mode = config.distributed.mode;
  if (mode !== 'none' && mode !== 'k6-cloud') throw new UserError(`distributed "${mode}" cannot run with engine "k6"`);
  const cloud = mode === 'k6-cloud';
  await mkdir(config.outputDir, { recursive: true });
  let flowSecrets: string[] = [];
  let generated = false;
  if (!config.script) {
    const flowScript = await writeFlowScript(config, stages, log);
    config = { ...config, script: flowScript.script };
    flowSecrets = flowScript.secrets;
    generated = true;
  }
  let source: string;
  try {
    source = await readFile(config.script!, 'utf8');
  } catch (e) {
    throw new UserError(`k6 script ${config.script} cannot be read: ${messageOf(e)}`);
  }

  const summaryPath = join(config.outputDir, SUMMARY_FILE);
  const pointsPath = join(config.outputDir, POINTS_FILE);
  const optionsPath = join(config.outputDir, OPTIONS_FILE);
  // Files of an earlier run would otherwise be read as this run's if k6 fails before writing its own.
  await Promise.all([summaryPath, pointsPath, optionsPath].map((p) => rm(p, { force: true })));

  const version = await k6Version(log, signal);

  // The generated script carries perf-gate's own scenarios (for whoever reads or runs it by hand): the same ones.
  const ownShape = !generated && scriptSetsLoadShape(source);
  const options: Record<string, unknown> = {};
  if (ownShape) {
    log.info(
      'The k6 script sets its own load shape (options with scenarios, stages, duration, iterations or vus): it runs as written.',
    );
    if (config.durationMs !== undefined || config.rate !== undefined || config.durationScale !== undefined) {
      log.warning(
        "duration, duration-scale and rate do not apply: k6 gives the script's own options precedence over perf-gate's scenarios.",
      );
    }
  } else {
    options.scenarios = toK6Scenarios(stages, { maxVUs: config.http.maxInFlight });
    log.info(`k6 scenarios from perf-gate's phase "${config.phase.name}": ${JSON.stringify(options.scenarios)}`);
  }
  if (cloud) {
    const dist = cloudDistribution(config.distributed.region);
    if (dist) options.cloud = dist;
    if (config.distributed.count !== undefined) {
      log.warning('count does not apply to k6 Cloud: it sizes its load generators from the number of VUs.');
    }
  }
  let configFile: string | undefined;
  if (Object.keys(options).length > 0) {
    await writeFile(optionsPath, JSON.stringify(options, null, 2) + '\n');
    configFile = optionsPath;
  }

  const headersJson = Object.keys(config.http.headers).length ? JSON.stringify(config.http.headers) : undefined;
  const args = buildK6Args({
    cloud,
    script: config.script!,
    target: config.target,
    summaryExport: summaryPath,
    ndjson: pointsPath,
    configFile,
    // Cloud load generators see only `-e` variables; locally the environment keeps the headers out of the process list.
    env: cloud && headersJson ? { PERF_GATE_HEADERS: headersJson } : undefined,
  });

  const plannedMs = ownShape ? undefined : totalDurationMs(stages);
  const watchdog = new AbortController();
  const limitMs = plannedMs !== undefined ? plannedMs * 1.5 + (cloud ? CLOUD_SLACK_MS : LOCAL_SLACK_MS) : undefined;
  const timer = limitMs !== undefined ? setTimeout(() => watchdog.abort(), limitMs) : undefined;
  timer?.unref();

  let cloudUrl: string | undefined;
  const secrets = [...Object.values(config.http.headers), ...flowSecrets].filter((v) => v.length > 0);
  let res: ToolRunResult;
  try {
    res = await runTool({
      command: 'k6',
      args,
      cwd: config.workspace,
      env: {
        NO_COLOR: '1',
        K6_NO_USAGE_REPORT: 'true',
        ...(headersJson && !cloud ? { PERF_GATE_HEADERS: headersJson } : {}),
      },
      log,
      label: '[k6]',
      signal: signal ? AbortSignal.any([signal, watchdog.signal]) : watchdog.signal,
      onLine: (line) => {
        cloudUrl ??= /^\s*output:\s*(https?:\/\/\S+)/.exec(line)?.[1] ?? /(https?:\/\/\S+\/runs\/\d+)/.exec(line)?.[1];
      },
      redact: (s) => redactValues(s, secrets, config.target),
    });
  } catch (e) {
    if (e instanceof ToolNotFoundError) throw new UserError(K6_MISSING_HINT);
    throw e;
  } finally {
    if (timer) clearTimeout(timer);
  }

  const stoppedByUs = res.aborted;
  const timedOut = watchdog.signal.aborted;
  const tail = tailText(res.stderrTail) || tailText(res.stdoutTail);
  if (cloud) {
    const run = cloudResult({ config, res, version, cloudUrl, tail, stages });
    if (generated) run.notes.push(generatedNote(config, run));
    return run;
  }

  const kind = stoppedByUs ? 'partial' : classifyK6Exit(res.code);
  if (kind === 'error') {
    throw new Error(`${describeK6Exit(res.code, res.signal)}${tail ? `:\n${tail}` : ''}`);
  }
  const opts: ReadOptions = {
    phase: config.phase.name,
    count4xxAsErrors: config.http.count4xxAsErrors,
    intervalMs: config.intervalMs,
  };
  const combined = await readLocalResults(summaryPath, pointsPath, opts);
  if (!combined) {
    throw new Error(
      `${describeK6Exit(res.code, res.signal)}, but it wrote neither ${SUMMARY_FILE} nor ${POINTS_FILE}${tail ? `:\n${tail}` : ''}`,
    );
  }
  const run = combined.run;
  run.engine = 'k6';
  run.tool = version ? { name: 'k6', version } : { name: 'k6' };
  run.sourceFiles = combined.files.map((p) => workspacePath(config.workspace, p));
  if (config.target) run.target = redactUrl(config.target);

  const notes = [...combined.notes];
  if (generated) notes.push(generatedNote(config, run));
  if (ownShape) {
    notes.push(`The load shape is the k6 script's own options, not perf-gate's "${config.phase.name}" phase.`);
    run.shape = { stages: [], source: 'script' };
  }
  if (res.code === K6_EXIT.THRESHOLDS_HAVE_FAILED && !run.toolThresholds.some((t) => !t.ok)) {
    run.toolThresholds.push({ metric: 'k6', expression: 'thresholds (k6 exit code 99)', ok: false });
  }
  if (timedOut) {
    notes.push(
      `k6 was stopped after ${Math.round((limitMs ?? 0) / 1000)} s, well past the planned length; the figures cover the run until then.`,
    );
  } else if (stoppedByUs) {
    notes.push('The run was stopped early; the figures cover the run until then.');
  } else if (kind === 'partial') {
    run.generator.valid = false;
    run.generator.invalidReasons.push(
      `${describeK6Exit(res.code, res.signal)}: the run ended before the planned load was sent.`,
    );
  }
  run.notes = [...notes, ...run.notes];
  return run;
}

/** Said in the report whenever the flows ran as a generated k6 script: what was not verified, and where failed checks went. */
function generatedNote(config: Config, run: RunResult): string {
  const checks = run.customMetrics.checks?.values;
  const failed = checks?.total !== undefined && checks.count !== undefined ? checks.total - checks.count : undefined;
  return (
    `The flows ran as a k6 script perf-gate generated (${workspacePath(config.workspace, join(config.outputDir, K6_FLOW_SCRIPT_FILE))}); ` +
    'this translation was not verified against a real k6 where perf-gate was built. k6 counts a failed expectation or capture in its checks metric, not as a request error' +
    (failed !== undefined ? `: ${failed} of ${checks!.total} checks failed in this run.` : '.')
  );
}

function nonEmpty(path: string): boolean {
  try {
    return existsSync(path) && statSync(path).size > 0;
  } catch {
    return false;
  }
}

/** Notes the NDJSON reader adds about thresholds it evaluated itself; replaced when k6's verdicts are at hand. */
const OWN_THRESHOLD_NOTES = [/^k6 thresholds were evaluated by perf-gate/, /^Thresholds not evaluated/];

/** NDJSON for the figures, the summary export for k6's threshold verdicts (see the top of this file). */
export async function readLocalResults(
  summaryPath: string,
  pointsPath: string,
  opts: ReadOptions,
): Promise<{ run: RunResult; files: string[]; notes: string[] } | undefined> {
  const notes: string[] = [];
  let points: RunResult | undefined;
  let summary: RunResult | undefined;
  let pointsProblem = 'k6 wrote no points file';
  let summaryProblem = 'k6 wrote no summary export';
  if (nonEmpty(pointsPath)) {
    try {
      points = await readResultFile(pointsPath, opts);
    } catch (e) {
      pointsProblem = `the points file could not be read (${messageOf(e)})`;
    }
  }
  if (nonEmpty(summaryPath)) {
    try {
      summary = await readResultFile(summaryPath, opts);
    } catch (e) {
      summaryProblem = `the summary export could not be read (${messageOf(e)})`;
    }
  }
  if (points && summary) {
    points.toolThresholds = summary.toolThresholds;
    points.notes = points.notes.filter((n) => !OWN_THRESHOLD_NOTES.some((re) => re.test(n)));
    return { run: points, files: [pointsPath, summaryPath], notes };
  }
  if (points) {
    notes.push(
      `${capitalize(summaryProblem)}: the k6 thresholds shown were evaluated by perf-gate from the points, not by k6.`,
    );
    return { run: points, files: [pointsPath], notes };
  }
  if (summary) {
    notes.push(
      `${capitalize(pointsProblem)}: the figures come from k6's summary export, so only the percentiles k6 summarised are available and there is no time series.`,
    );
    return { run: summary, files: [summaryPath], notes };
  }
  return undefined;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

interface CloudInput {
  config: Config;
  res: ToolRunResult;
  version: string | undefined;
  cloudUrl: string | undefined;
  tail: string;
  stages: Stage[];
}

/**
 * `k6 cloud run` executes on Grafana Cloud k6 and only prints progress here: no summary, no points. What this
 * machine learns is the outcome (exit 0, or 97 when the cloud run failed, thresholds included), so the result
 * carries that outcome as a tool threshold, the link to the cloud results, and no request figures.
 */
function cloudResult({ config, res, version, cloudUrl, tail }: CloudInput): RunResult {
  const failedRun = res.code === K6_EXIT.CLOUD_TEST_RUN_FAILED;
  if (res.code !== 0 && !failedRun && !res.aborted) {
    if (/not logged in|token/i.test(tail) && !process.env.K6_CLOUD_TOKEN) {
      throw new UserError(
        `k6 Cloud refused the run: ${tail.split('\n').pop()}. Set K6_CLOUD_TOKEN (a Grafana Cloud k6 API token) in the step's env.`,
      );
    }
    throw new Error(`${describeK6Exit(res.code, res.signal)}${tail ? `:\n${tail}` : ''}`);
  }
  const now = Date.now();
  const run = blankRunResult({
    engine: 'k6',
    tool: version ? { name: 'k6', version } : { name: 'k6' },
    phase: config.phase.name,
    startedAt: new Date(now - res.durationMs).toISOString(),
    endedAt: new Date(now).toISOString(),
    durationMs: res.durationMs,
    toolThresholds: res.aborted
      ? []
      : [{ metric: 'k6 cloud', expression: 'cloud test run result (k6 Cloud thresholds)', ok: !failedRun }],
    notes: [
      `The test ran on Grafana Cloud k6${cloudUrl ? ` (${cloudUrl})` : ''}. k6 cloud run leaves no summary or points on this machine, so perf-gate has no request, latency or error figures for it: targets on them are not measured. The cloud run's own verdict is under tool thresholds.`,
    ],
  });
  if (config.target) run.target = redactUrl(config.target);
  if (res.aborted) run.notes.push('The run was stopped early.');
  return run;
}
