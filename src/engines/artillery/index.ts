// The Artillery engine: runs the user's Artillery script against the target (locally, or on AWS Fargate or
// Lambda through Artillery's own distributed modes) and reads its JSON report back into a RunResult.
//
// Behaviour worth knowing:
// - The script's `config.target` is replaced with perf-gate's target (`--target`).
// - Phases follow choosePhases() (phases.ts): perf-gate's phase when the script has none or when the user shaped
//   the load for this run; they go in through `--overrides` rather than a rewritten copy of the script, because
//   Artillery resolves `processor` and `payload` paths relative to the script file, and a copy elsewhere would
//   break them.
// - Exit code 1 with a report is a result: it is how the `ensure` plugin reports failed checks, which become
//   toolThresholds. Without a report a failed run is an engine error carrying Artillery's last stderr lines.
// - Abort guards watch Artillery's 10-second console summaries (periods.ts). Artillery writes no report when it
//   is stopped, so a run a guard stopped is read from those summaries instead, written to artillery-periods.json:
//   per-period figures as Artillery printed them, and for the whole run what they add up to (no percentiles).
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { redactUrl, redactValues } from '../../secrets.js';
import { messageOf, UserError } from '../../errors.js';
import type { Config } from '../../config/types.js';
import type { RunResult, Stage } from '../../model.js';
import { peakRate, totalDurationMs } from '../../phases/presets.js';
import { artilleryV2Reader, periodInterval } from '../../readers/artillery-v2.js';
import { readResultFile } from '../../readers/index.js';
import { runTool, tailText, workspacePath, type ToolRunResult } from '../tool.js';
import type { Engine, EngineRunOptions } from '../types.js';
import { buildArtilleryArgs, EnsureCollector } from './command.js';
import { resolveArtillery, type ArtilleryTool } from './install.js';
import { checkArtilleryScript } from './preflight.js';
import { consoleReport, ConsolePeriodReader, type ConsolePeriod } from './periods.js';
import { choosePhases, describeChoice, NO_OWN_PHASES, toArtilleryPhases, type PhaseChoice } from './phases.js';
import { artilleryTarget, FLOW_DATA_FILE, FLOW_PROCESSOR_FILE, flowScriptPaths, translateFlows } from './translate.js';
import type { Logger } from '../../log.js';

export { buildArtilleryArgs, EnsureCollector } from './command.js';
export { ARTILLERY_VERSION, artilleryCacheDir, defaultToolCacheDir, resolveArtillery } from './install.js';
export { choosePhases, fromArtilleryPhases, toArtilleryPhases, type ArtilleryPhase } from './phases.js';
export { FLOW_DATA_FILE, FLOW_PROCESSOR_FILE, FLOW_SCRIPT_FILE, toJmesPath, translateFlows } from './translate.js';

export const REPORT_FILE = 'artillery-report.json';
/** The console summaries of a run that was stopped, as a report document (see the note at the top). */
export const PERIODS_FILE = 'artillery-periods.json';
/** artillery-plugin-expect's exit code when an expectation failed (and no ensure check decided the code). */
const EXPECT_FAILED_EXIT = 21;
/** Artillery prints a summary in one burst: this long after its last line, the period is complete. */
const PERIOD_SETTLE_MS = 250;

/** Beyond the planned length, how long a run may take before it is stopped (start-up, draining, provisioning). */
const LOCAL_SLACK_MS = 5 * 60_000;
const DISTRIBUTED_SLACK_MS = 30 * 60_000;

/** The tool found or installed by prepare(), per workspace, so run() does not look again (or log it twice). */
const prepared = new Map<string, ArtilleryTool>();

export const artilleryEngine: Engine = {
  name: 'artillery',
  async check({ config }) {
    if (config.script)
      await checkArtilleryScript(config.script, {
        workspace: config.workspace,
        env: process.env,
        distributed: config.distributed.mode !== 'none',
      });
  },
  async prepare({ config, log, signal }) {
    prepared.set(config.workspace, await resolveArtillery({ workspace: config.workspace, log, signal }));
  },
  async run(options: EngineRunOptions): Promise<RunResult> {
    return runArtillery(options);
  },
  async describeShape({ config, stages }): Promise<string | undefined> {
    // Flows translated by perf-gate run perf-gate's shape; a script's phases are what choosePhases hands Artillery.
    if (!config.script) return undefined;
    // A script that cannot be read is the pre-check's to report (check, before anything is installed or sent).
    const script = await readScript(config.script, QUIET).catch(() => ({ doc: undefined }));
    if (!script.doc) return undefined;
    const choice = choosePhases(config, stages, obj(script.doc.config)?.phases);
    return choice.use === 'perf-gate' && choice.reason === NO_OWN_PHASES ? undefined : describeChoice(choice);
  },
};

/** For reading the script a second time: the run itself warns about what is wrong with it. */
const QUIET: Logger = { debug() {}, info() {}, warning() {} };

interface ScriptInfo {
  /** Parsed script, or undefined when it is not YAML/JSON perf-gate can read (Artillery will say why). */
  doc?: Record<string, unknown>;
}

async function readScript(path: string, log: Logger): Promise<ScriptInfo> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new UserError(`Artillery script ${path} cannot be read: ${messageOf(e)}`);
  }
  try {
    const doc: unknown = parseYaml(text);
    if (doc && typeof doc === 'object' && !Array.isArray(doc)) return { doc: doc as Record<string, unknown> };
  } catch {
    // Artillery's own parser gives the message the user should see; the run below fails with it.
  }
  log.warning(
    `Artillery script ${path} could not be read as YAML; running it unchanged so Artillery reports the problem.`,
  );
  return {};
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * Headers from perf-gate's config (e.g. credentials taken out of the target URL). Artillery uses either
 * `config.http.defaults.headers` or `config.defaults.headers`, whichever exists, so the script's own defaults
 * are carried over into the one perf-gate sets. Locally the values are passed as environment variables that
 * Artillery's config templating reads (`{{ $env.NAME }}`), keeping secrets out of the process list; remote
 * workers do not have this process's environment, so distributed runs get the values themselves.
 */
function headerOverrides(
  doc: Record<string, unknown> | undefined,
  headers: Record<string, string>,
  distributed: boolean,
) {
  const names = Object.keys(headers);
  if (names.length === 0) return { overrides: undefined, env: {} as Record<string, string> };
  const cfg = obj(doc?.config);
  const existing = obj(obj(obj(cfg?.http)?.defaults)?.headers) ?? obj(obj(cfg?.defaults)?.headers) ?? {};
  const merged: Record<string, unknown> = { ...existing };
  const env: Record<string, string> = {};
  names.forEach((name, i) => {
    if (distributed) {
      merged[name] = headers[name];
    } else {
      const key = `PERF_GATE_HEADER_${i}`;
      env[key] = headers[name]!;
      merged[name] = `{{ $env.${key} }}`;
    }
  });
  return { overrides: { http: { defaults: { headers: merged } } }, env };
}

/**
 * Without a `script`, the config's flows are translated (translate.ts) into a script written to output-dir for the
 * user to read, with a processor and a CSV beside it when needed; the load shape is perf-gate's phase.
 */
async function writeFlowScript(
  config: Config,
  stages: Stage[],
  log: Logger,
): Promise<{ script: string; secrets: string[] }> {
  const paths = flowScriptPaths(config.outputDir);
  const flows = translateFlows(config, { scriptDir: config.outputDir, stages });
  await rm(paths.processor, { force: true });
  await rm(paths.csv, { force: true });
  if (flows.processor !== undefined) await writeFile(paths.processor, flows.processor);
  if (flows.csv !== undefined) await writeFile(paths.csv, flows.csv, { mode: 0o600 });
  const header =
    `# Generated by perf-gate from the flows of ${config.configPath ?? 'the config'}: what engine "artillery" runs.\n` +
    '# The target and the phases are replaced at run time (--target, --overrides); config-wide http.headers are passed as\n' +
    '# environment references, never written here.\n';
  await writeFile(paths.script, header + stringifyYaml(flows.doc, { lineWidth: 0 }));
  log.info(
    `Artillery script generated from the config's ${config.flows.length} flow${config.flows.length === 1 ? '' : 's'}: ${workspacePath(config.workspace, paths.script)}` +
      `${flows.processor !== undefined ? ` (with ${FLOW_PROCESSOR_FILE})` : ''}${flows.csv !== undefined ? ` (data converted to ${FLOW_DATA_FILE}, which holds the data file's rows)` : ''}`,
  );
  return { script: paths.script, secrets: flows.secrets };
}

async function runArtillery({ config: given, stages, log, signal, onInterval }: EngineRunOptions): Promise<RunResult> {
  let config = given;
  const mode = config.distributed.mode;
  if (mode !== 'none' && mode !== 'artillery-fargate' && mode !== 'artillery-lambda') {
    throw new UserError(`distributed "${mode}" cannot run with engine "artillery"`);
  }
  const distributed = mode !== 'none';
  await mkdir(config.outputDir, { recursive: true });
  const reportPath = join(config.outputDir, REPORT_FILE);
  // A report left by an earlier run would otherwise be read as this run's result if Artillery fails early.
  await rm(reportPath, { force: true });

  let flowSecrets: string[] = [];
  let generated = false;
  if (!config.script) {
    const flowScript = await writeFlowScript(config, stages, log);
    config = { ...config, script: flowScript.script };
    flowSecrets = flowScript.secrets;
    generated = true;
  }
  const script = await readScript(config.script!, log);
  let choice: PhaseChoice | undefined;
  if (generated) {
    choice = {
      use: 'perf-gate',
      phases: toArtilleryPhases(stages),
      reason: "the script was generated from the config's flows",
    };
  } else if (script.doc) {
    choice = choosePhases(config, stages, obj(script.doc.config)?.phases);
    log.info(
      choice.use === 'perf-gate'
        ? `Artillery phases from perf-gate's phase "${config.phase.name}" (${choice.reason}): ${JSON.stringify(choice.phases)}`
        : choice.phases
          ? `Artillery phases: ${choice.reason}: ${JSON.stringify(choice.phases)}`
          : `Artillery phases from the script (${choice.reason})`,
    );
  }
  // The generated script writes step header names in lower case, as the built-in engine compares them, so that a
  // step's header replaces the config-wide one of the same name rather than being sent beside it.
  const configHeaders = generated
    ? Object.fromEntries(Object.entries(config.http.headers).map(([k, v]) => [k.toLowerCase(), v]))
    : config.http.headers;
  const headers = headerOverrides(script.doc, configHeaders, distributed);
  const overrideConfig: Record<string, unknown> = { ...(headers.overrides ?? {}) };
  if (choice?.use === 'perf-gate' || choice?.phases) overrideConfig.phases = choice.phases;
  const overrides = Object.keys(overrideConfig).length ? { config: overrideConfig } : undefined;

  const tool = prepared.get(config.workspace) ?? (await resolveArtillery({ workspace: config.workspace, log, signal }));
  const args = buildArtilleryArgs({
    mode,
    script: config.script!,
    target: generated ? artilleryTarget(config.target) : config.target,
    output: reportPath,
    overrides,
    count: config.distributed.count,
    region: config.distributed.region,
  });
  if (distributed) {
    log.info(
      `Running on ${mode === 'artillery-fargate' ? 'AWS Fargate' : 'AWS Lambda'} through Artillery` +
        `${config.distributed.count ? ` with ${config.distributed.count} workers` : ''}${config.distributed.region ? ` in ${config.distributed.region}` : ''}; ` +
        'AWS credentials come from the environment (e.g. aws-actions/configure-aws-credentials).',
    );
  }

  const plannedStages = choice?.use === 'perf-gate' ? stages : choice?.stages;
  const plannedMs = plannedStages ? totalDurationMs(plannedStages) : undefined;
  const watchdog = new AbortController();
  const limitMs =
    plannedMs !== undefined ? plannedMs * 1.5 + (distributed ? DISTRIBUTED_SLACK_MS : LOCAL_SLACK_MS) : undefined;
  const timer = limitMs !== undefined ? setTimeout(() => watchdog.abort(), limitMs) : undefined;
  timer?.unref();

  const ensure = new EnsureCollector();
  const periods = new PeriodWatch(config, onInterval);
  const secrets = [...Object.values(config.http.headers), ...flowSecrets].filter((v) => v.length > 0);
  let res: ToolRunResult;
  try {
    res = await runTool({
      command: process.execPath,
      args: [tool.binJs, ...args],
      cwd: config.workspace,
      env: { ARTILLERY_DISABLE_TELEMETRY: 'true', FORCE_COLOR: '0', NO_COLOR: '1', ...headers.env },
      log,
      label: '[artillery]',
      signal: signal ? AbortSignal.any([signal, watchdog.signal]) : watchdog.signal,
      onLine: (line, stream) => {
        ensure.push(line);
        // Summaries are printed on stdout; a warning on stderr between two of their lines must not end the block.
        if (stream === 'stdout') periods.push(line);
      },
      redact: (s) => redactValues(s, secrets, config.target),
    });
  } finally {
    if (timer) clearTimeout(timer);
    periods.close();
  }
  // A guard aborts with its reason; the note says why in the guard's words, as the built-in engine's does.
  const stopReason = signal?.aborted ? messageOf(signal.reason) : undefined;
  return finish({
    config,
    log,
    tool,
    res,
    ensure,
    reportPath,
    choice,
    plannedStages,
    timedOut: watchdog.signal.aborted,
    limitMs,
    periods: periods.all,
    stopReason,
    generated,
  });
}

/** Collects the console periods, and hands each to the guards (as an interval) as soon as it is complete. */
class PeriodWatch {
  readonly all: ConsolePeriod[] = [];
  private readonly reader = new ConsolePeriodReader();
  private settle: NodeJS.Timeout | undefined;
  private startAt: number | undefined;

  constructor(
    private readonly config: Config,
    private readonly onInterval: EngineRunOptions['onInterval'],
  ) {}

  push(line: string): void {
    this.take(this.reader.push(line));
    if (this.settle) clearTimeout(this.settle);
    this.settle = setTimeout(() => this.take(this.reader.flush()), PERIOD_SETTLE_MS);
    this.settle.unref();
  }

  close(): void {
    if (this.settle) clearTimeout(this.settle);
    this.take(this.reader.flush());
  }

  private take(p: ConsolePeriod | undefined): void {
    if (!p) return;
    this.all.push(p);
    this.startAt ??= p.firstMetricAt;
    this.onInterval?.(
      periodInterval(p, p.firstMetricAt - this.startAt, {
        phase: this.config.phase.name,
        count4xxAsErrors: this.config.http.count4xxAsErrors,
      }),
    );
  }
}

interface FinishInput {
  config: Config;
  log: Logger;
  tool: ArtilleryTool;
  res: ToolRunResult;
  ensure: EnsureCollector;
  reportPath: string;
  choice: PhaseChoice | undefined;
  plannedStages: Stage[] | undefined;
  timedOut: boolean;
  limitMs: number | undefined;
  periods: ConsolePeriod[];
  stopReason: string | undefined;
  /** The script was generated from the config's flows (translate.ts). */
  generated: boolean;
}

function exitText(res: ToolRunResult): string {
  return res.code !== null ? `exit code ${res.code}` : `signal ${res.signal}`;
}

async function finish(f: FinishInput): Promise<RunResult> {
  const { config, res, ensure, reportPath } = f;
  const tail = tailText(res.stderrTail) || tailText(res.stdoutTail);
  const readOpts = {
    phase: config.phase.name,
    count4xxAsErrors: config.http.count4xxAsErrors,
    intervalMs: config.intervalMs,
    ...(f.generated ? { artilleryNamedEndpoints: true } : {}),
  };
  let run: RunResult;
  let source = reportPath;
  const fromConsole = !existsSync(reportPath) && res.aborted && !f.timedOut && f.periods.length > 0;
  if (fromConsole) {
    // Stopped (by a guard): Artillery wrote no report, but printed a summary every ten seconds until then.
    source = join(config.outputDir, PERIODS_FILE);
    const doc = consoleReport(f.periods);
    await writeFile(source, JSON.stringify(doc, null, 2) + '\n');
    run = await artilleryV2Reader.fromDocument(doc, source, readOpts);
    run.notes.push(
      `Artillery writes its report only when a run completes; this stopped run is read from its ${f.periods.length} console summar${f.periods.length === 1 ? 'y' : 'ies'} ` +
        `(${PERIODS_FILE}): counts and per-period figures as Artillery printed them, no per-endpoint figures, and no percentiles for the run as a whole (they cannot be combined from periods).`,
    );
  } else {
    if (!existsSync(reportPath)) {
      if (f.timedOut)
        throw new Error(
          `Artillery did not finish within ${Math.round((f.limitMs ?? 0) / 1000)} s and was stopped; it wrote no report.${tail ? `\n${tail}` : ''}`,
        );
      // Artillery writes its --output report only when the last phase completes; stopped before its first summary, nothing is left to read.
      if (res.aborted)
        throw new Error(
          'The Artillery run was stopped before it finished and before its first console summary: Artillery writes its report only at the end, so there are no figures.',
        );
      throw new Error(`Artillery failed (${exitText(res)}) and wrote no report${tail ? `:\n${tail}` : '.'}`);
    }
    try {
      run = await readResultFile(reportPath, readOpts);
    } catch (e) {
      // The report is Artillery's output, not the user's file: an unreadable one is an engine failure.
      throw new Error(
        `Artillery's report ${reportPath} could not be read (${exitText(res)}): ${messageOf(e)}${tail ? `\n${tail}` : ''}`,
      );
    }
  }
  run.engine = 'artillery';
  run.tool = { name: 'artillery', version: f.tool.version };
  run.sourceFiles = [workspacePath(config.workspace, source)];
  if (config.target) run.target = redactUrl(config.target);
  run.toolThresholds = ensure.thresholds;

  const notes: string[] = [];
  if (f.choice?.use === 'script') {
    notes.push(
      `The load shape is the Artillery script's own phases, not perf-gate's "${config.phase.name}" phase: ${describeChoice(f.choice)}.`,
    );
    run.shape = f.plannedStages
      ? { stages: f.plannedStages, peakRate: peakRate(f.plannedStages), source: 'script' }
      : { stages: [], source: 'script' };
    const scale =
      f.choice.original && f.choice.stages ? totalDurationMs(f.choice.stages) / totalDurationMs(f.choice.original) : 1;
    if (f.choice.reshaped && scale !== 1 && Number.isFinite(scale))
      run.shape.durationScale = Number(scale.toPrecision(3));
  }
  if (config.distributed.mode !== 'none') {
    notes.push(
      `Load generated by Artillery on ${config.distributed.mode === 'artillery-fargate' ? 'AWS Fargate' : 'AWS Lambda'}` +
        `${config.distributed.count ? ` (${config.distributed.count} workers)` : ''}${config.distributed.region ? ` in ${config.distributed.region}` : ''}.`,
    );
  }
  if (f.timedOut)
    notes.push(
      `Artillery was stopped after ${Math.round((f.limitMs ?? 0) / 1000)} s, well past the planned length; the figures cover the run until then.`,
    );
  else if (res.aborted)
    notes.push(
      f.stopReason
        ? `stopped early: ${f.stopReason}`
        : 'The run was stopped early; the figures cover the run until then.',
    );
  if (res.code !== 0 && !res.aborted && !f.timedOut) {
    const failed = ensure.strictFailures();
    if (failed.length > 0) {
      notes.push(
        `Artillery's ensure checks failed (${failed.map((t) => t.expression).join('; ')}), so Artillery exited with code ${res.code}.`,
      );
    } else if (res.code === 1 || res.code === EXPECT_FAILED_EXIT) {
      // Exit 1 is how ensure reports a failed check, 21 how the expect plugin reports failed expectations: a failure
      // the tool itself declared must fail the verdict even when its check lines could not be read.
      const what =
        res.code === 1
          ? 'the code of a failed ensure check, though no check line was read from its output'
          : 'failed expectations (artillery-plugin-expect)';
      run.toolThresholds.push({
        metric: 'artillery',
        expression: `Artillery exit code ${res.code}: ${what}`,
        ok: false,
      });
      notes.push(`Artillery exited with ${exitText(res)} after writing its report: ${what}.`);
    } else {
      const last = tailText(res.stderrTail, 1);
      notes.push(`Artillery exited with ${exitText(res)} after writing its report${last ? ` (${last})` : ''}.`);
    }
  }
  run.notes = [...notes, ...run.notes];
  return run;
}
