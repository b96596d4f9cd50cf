// The one pipeline the action and the CLI share: shape the load, run the engine, judge, render, write the files.
// It reads no environment and publishes nothing: main.ts and cli.ts decide where the results go.
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { redactUrl, redactUserinfo, redactSecrets } from './secrets.js';
import type { Config } from './config/types.js';
import type { Engine } from './engines/types.js';
import { oneLineFailure } from './engines/tool.js';
import type { BaselineContext } from './baseline/types.js';
import type { Source } from './sources/types.js';
import type { SourceConfig } from './config/sources.js';
import { decide, runProblems } from './gate/evaluate.js';
import { diagnose } from './diagnose/index.js';
import {
  blankRunResult,
  RESULTS_SCHEMA_VERSION,
  type EngineName,
  type EnvironmentReport,
  type RunResult,
  type Stage,
  type Verdict,
} from './model.js';
import { peakRate, totalDurationMs } from './phases/presets.js';
import type { AbortGuard } from './phases/guards.js';
import { analyzePhase, describeScale, phaseVerdict, planPhase, watchGuards } from './phases/run.js';
import { unmeetableTargets } from './phases/analysis.js';
import { renderReport, type ReportInput } from './report/markdown.js';
import type { HtmlReportEntry } from './report/html.js';
import { formatDurationCompact } from './format.js';
import { stringifyReadable } from './metrics/json.js';
import {
  claimRunDir,
  listRuns,
  REPORT_FILE,
  RESULTS_FILE,
  RUN_REPORT_FILE,
  type RunDir,
} from './pipeline/output-dir.js';
import { renderRunsPage } from './report/runs-page.js';
import { UserError, messageOf } from './errors.js';
import type { Logger } from './log.js';

const ERRORS_NOT_JUDGED_NOTE =
  'Error rate not judged: the targets say `error_rate: not judged`, so no error-rate bound was checked. A run in which at least half the requests failed still never passes.';

export { REPORT_FILE, RESULTS_FILE } from './pipeline/output-dir.js';

export interface PipelineOutcome {
  run: RunResult;
  verdict: Verdict;
  /** What the renderers need, so a publisher can render to its own size limit. */
  report: ReportInput;
  /** This run's full report, as written to its folder's report.md and its section of LOAD_TEST_RESULTS.md. */
  markdown: string;
  /** LOAD_TEST_RESULTS.md at the top of the output dir: every test in it, newest first. */
  reportPath: string;
  /** This run's results.json, in its own folder (`<output-dir>/<phase>-<start>/results.json`). */
  resultsPath: string;
  /** This run's folder. */
  runDir: string;
}

export interface PipelineDeps {
  log: Logger;
  /** Engine lookup, replaceable in tests; engines are imported only when chosen. */
  loadEngine?: (name: EngineName) => Promise<Engine>;
  runUrl?: string;
  /** Where the baseline lives and what this run is in git terms (main.ts builds it); absent: no baseline. */
  baseline?: BaselineContext;
  /** What a shard records about the run it belongs to (GITHUB_SHA, GITHUB_RUN_ID), so foreign shards are never merged. */
  runIdentity?: { commit?: string; workflowRun?: string };
}

export async function loadEngine(name: EngineName): Promise<Engine> {
  switch (name) {
    case 'builtin':
      return (await import('./engines/builtin/index.js')).builtinEngine;
    case 'artillery':
      return (await import('./engines/artillery/index.js')).artilleryEngine;
    case 'k6':
      return (await import('./engines/k6/index.js')).k6Engine;
    case 'results':
      return (await import('./engines/results/engine.js')).resultsEngine;
  }
}

export async function runPipeline(config: Config, deps: PipelineDeps): Promise<PipelineOutcome> {
  // What can be checked before the load is checked before it: an hour of load must not end in "cannot write".
  const runDir = await claimOutputDir(config.outputDir, config.phase.name, new Date());
  try {
    return await runInDir(config, deps, runDir);
  } catch (e) {
    // Bad input found before anything was measured leaves nothing behind: no empty run folder, no empty output dir.
    if (e instanceof UserError) await runDir.discard();
    throw e;
  }
}

async function runInDir(outer: Config, deps: PipelineDeps, runDir: RunDir): Promise<PipelineOutcome> {
  const { log } = deps;
  // Engines write their files (generated scripts, the tool's report) into the run's folder; baseline stores keep
  // their history files at the top of the output dir.
  const config: Config = { ...outer, outputDir: runDir.dir };
  const plan = planPhase(config);
  const { stages } = plan;
  // A shard sees 1/count of the requests and errors: guards on those counts watch its share of the threshold.
  if (config.shard) plan.guards = shardGuards(plan.guards, config.shard.count);
  const target = redactUrl(config.target);
  // The engine first: the line that opens the run states the shape handed to it (a tool script's own phases).
  const engine = await (deps.loadEngine ?? loadEngine)(config.engine);
  const ownShape = config.engine === 'results' ? undefined : await engine.describeShape?.({ config, stages });
  log.info(
    config.engine === 'results'
      ? `phase ${config.phase.name}: judging results from ${config.results?.join(', ')}`
      : ownShape
        ? `phase ${config.phase.name} on ${config.engine}: ${ownShape} against ${target}`
        : `phase ${config.phase.name} on ${config.engine}: ${formatDurationCompact(totalDurationMs(stages))}${describeScale(config, plan)} up to ` +
          `${round(peakRate(stages))} arrivals/s against ${target}`,
  );
  if (config.errorsNotJudged)
    log.warning(
      `targets: error_rate: not judged: no error-rate bound is checked on this run (a run in which half the requests fail still never passes)`,
    );
  const { shard } = config;
  // A shard sends its share of every stage's rate; the run keeps the whole phase's shape (analyzePhase sets it).
  const engineStages = shard ? shardStages(stages, shard.count) : stages;
  if (shard)
    log.info(
      `shard ${shard.index}/${shard.count}: this job sends 1/${shard.count} of that rate (up to ${round(peakRate(engineStages))} arrivals/s); the job that merges the shards judges them`,
    );

  // A throughput target the load cannot reach fails whatever the service does: say so before sending any.
  if (config.engine === 'builtin') {
    const steps = config.flows.map((f) => f.steps.filter((st) => st.kind === 'request').length);
    const perArrival = steps.length > 0 ? Math.max(1, ...steps) : 1;
    for (const w of unmeetableTargets(config.targets, stages, perArrival, plan.decideOn)) log.warning(`targets: ${w}`);
  }

  if (config.baseline?.spec && deps.baseline) {
    const { preflightBaseline } = await import('./baseline/index.js');
    const problem = await preflightBaseline(config.baseline.spec, deps.baseline);
    if (problem)
      throw new UserError(`baseline ${config.baseline.spec.text}: ${problem} (checked before sending any load)`);
  }

  // The engine's own input (a tool's script and the files it names) is checked before anything is installed or sent.
  await engine.check?.({ config, log });
  const guards = watchGuards(plan.guards, log);
  let run: RunResult;
  const problems: string[] = [];
  // Set once the engine is loaded: confirm-before-failing runs the same phase again.
  let rerun: (() => Promise<RunResult>) | undefined;
  // Only when the load starts here: results were measured elsewhere, and a distributed run's generators live in
  // another network that may reach targets this runner cannot.
  const sendsLoadFromHere = config.engine !== 'results' && config.distributed.mode === 'none';
  const unreachable = sendsLoadFromHere
    ? await checkReachable(config.target, Math.min(config.http.timeoutMs, 10_000), config.http.headers)
    : undefined;
  // Installing the tool is not part of the run: "Actual: the whole run" starts once it is ready.
  if (!unreachable) await prepareEngine(engine, config, log, problems);
  const startedAt = new Date();
  if (unreachable) {
    problems.push(`target ${target} is unreachable: ${unreachable}`);
    run = emptyRun(config, stages, startedAt);
  } else if (problems.length) {
    run = emptyRun(config, stages, startedAt);
  } else {
    // The results engine re-reads the same files: pooling a run with itself would fake a confirmation.
    if (config.engine !== 'results' && !shard) {
      // The confirmation run gets guards of its own: a target that breaks meanwhile stops it as early as the first.
      rerun = () => {
        const again = watchGuards(plan.guards, log);
        return engine.run({ config, stages: engineStages, log, signal: again.signal, onInterval: again.onInterval });
      };
    }
    // Sources are imported only when configured: the AWS SDK and pg stay off the start-up path.
    const src = config.sources.length ? await import('./sources/index.js') : undefined;
    const sources = src ? src.createSources(config.sources, log) : [];
    try {
      if (src) await src.startSources(sources, log);
      // The guide's pre-test checklist and the smoke pass: a failure is an error verdict, and no load is sent.
      const environment = await preflight(config, sources, log, sendsLoadFromHere);
      const failed = environment ? preflightProblems(environment) : [];
      if (failed.length) {
        problems.push(...failed);
        run = emptyRun(config, stages, startedAt);
      } else {
        if (src) await src.beforeLoad(sources, { ...steadyStage(engineStages) });
        try {
          run = await engine.run({
            config,
            stages: engineStages,
            log,
            signal: guards.signal,
            onInterval: guards.onInterval,
          });
        } catch (e) {
          if (e instanceof UserError) throw e;
          // A crashed engine is a verdict, not a pass: keep what we know and say what broke, in one line (the
          // stack and the tool's full output go to the debug log).
          problems.push(`engine ${config.engine} failed: ${oneLineFailure(e)}`);
          log.debug(`engine ${config.engine} failed: ${redactSecrets((e as Error).stack ?? String(e))}`);
          run = emptyRun(config, stages, startedAt);
        }
        if (src) {
          const infra = await src.collectAll(
            sources,
            { start: new Date(run.startedAt), end: new Date(run.endedAt) },
            log,
          );
          run.infra = infra.infra;
          if (infra.slowQueries) run.slowQueries = infra.slowQueries;
          if (infra.logs) run.logs = infra.logs;
          if (infra.database) run.database = infra.database;
          run.notes.push(...infra.notes);
          if (infra.baseline) run.environment = { ...(environment ?? { checks: [] }), baseline: infra.baseline };
        }
      }
      if (environment)
        run.environment = {
          ...environment,
          ...(run.environment?.baseline ? { baseline: run.environment.baseline } : {}),
        };
    } finally {
      if (src) await src.stopSources(sources);
    }
  }
  // The part of the run the targets are judged on: the steady part unless decide-on says all (src/phases).
  // Merged shards bring the stop of a guard that watched one of them.
  if (run.requests > 0) await readStoppedTasks(config, run);
  if (config.errorsNotJudged) run.notes.push(ERRORS_NOT_JUDGED_NOTE);
  const servedNote = servedLatencyNote(run, config.targets);
  if (servedNote) run.notes.push(servedNote);
  const judgedPart = analyzePhase(
    run,
    config,
    plan,
    guards.stopped() ?? (config.engine === 'results' ? run.analysis?.stoppedEarly : undefined),
  );
  if (shard) {
    run.shard = { ...shard, ...definedOnly(deps.runIdentity ?? {}), shapeKey: shardShapeKey(config, stages) };
    run.notes.unshift(
      `Shard ${shard.index}/${shard.count}: this job sent 1/${shard.count} of the phase's arrival rate. Its figures are this shard's alone; they are judged once merged with the other shards (engine: results).`,
    );
  }

  // After a confirmation run: that run and the pooled figures the regressions were judged on, for the results file.
  let confirmation:
    | { run: RunResult; pooled: Pick<RunResult, 'requests' | 'errors' | 'errorRate' | 'throughputRps' | 'latency'> }
    | undefined;
  let verdict = shard
    ? shardVerdict(run, problems, log)
    : phaseVerdict(decide(run, config.targets, config.failOn, problems, judgedPart), run, config.failOn);
  // An error verdict's numbers cannot be trusted, so they are neither compared nor recorded; a shard's are a part.
  const compares = !shard && verdict.status !== 'error';
  if (config.baseline?.spec && deps.baseline && compares) {
    const { regressionStep } = await import('./pipeline/regression.js');
    const { applyRegressions } = await import('./gate/regression.js');
    const shape = run.shape;
    const again = rerun;
    const judged = await regressionStep(
      run,
      config.baseline,
      deps.baseline,
      again ? { rerun: async () => ({ ...(await again()), shape }) } : {},
    );
    if (judged) verdict = applyRegressions(verdict, judged, config.failOn);
    if (judged?.second) {
      const { requests, errors, errorRate, throughputRps, latency } = judged.run;
      confirmation = {
        run: judged.second,
        pooled: {
          requests,
          errors,
          latency,
          ...(errorRate !== undefined ? { errorRate } : {}),
          ...(throughputRps !== undefined ? { throughputRps } : {}),
        },
      };
    }
  }
  // Why it failed, from the run's own figures (src/diagnose): computed for every judged run, shown when it failed.
  const why = verdict.status === 'error' ? undefined : diagnose(run, verdict);
  const reportPath = join(outer.outputDir, REPORT_FILE);
  const resultsPath = join(runDir.dir, RESULTS_FILE);
  const report: ReportInput = {
    run,
    verdict,
    commentHeader: config.commentHeader,
    engine: config.engine,
    phase: config.phase.name,
    runUrl: deps.runUrl,
    resultsFile: `${runDir.name}/${RESULTS_FILE}`,
    ...reportGit(deps.baseline, config),
    ...(confirmation ? { confirmation: confirmation.run } : {}),
    ...(why ? { why } : {}),
  };
  const markdown = renderReport(report, { maxChars: Number.MAX_SAFE_INTEGER });
  // Written to a temporary name first so a crash never leaves a half-written report for a later step to read.
  await writeAtomic(
    resultsPath,
    stringifyReadable({
      schemaVersion: RESULTS_SCHEMA_VERSION,
      run,
      verdict,
      ...(confirmation ? { confirmation } : {}),
      ...(why ? { why } : {}),
    }) + '\n',
  );
  await writeAtomic(join(runDir.dir, RUN_REPORT_FILE), markdown);
  // Rebuilt from every run folder, so a run never drops another's section (even one written by a parallel job).
  const runs = await listRuns(outer.outputDir);
  await writeAtomic(reportPath, renderRunsPage(runs));
  await writeHtmlReport(
    outer.outputDir,
    runs.map((e) =>
      e.name === runDir.name
        ? { name: e.name, run, verdict, markdown, input: report }
        : { name: e.name, run: e.run, verdict: e.verdict, ...(e.markdown ? { markdown: e.markdown } : {}) },
    ),
    log,
  );
  if (config.baseline?.spec && deps.baseline && !shard) {
    const { recordRun } = await import('./baseline/index.js');
    try {
      await recordRun(config.baseline.spec, run, deps.baseline, verdict);
    } catch (e) {
      // The verdict is already in results.json and the report: recording is publishing, and can only warn.
      log.warning(`baseline: this run was not recorded: ${redactSecrets(messageOf(e))}`);
    }
  }
  return { run, verdict, report, markdown, reportPath, resultsPath, runDir: runDir.dir };
}

async function prepareEngine(engine: Engine, config: Config, log: Logger, problems: string[]): Promise<void> {
  try {
    await engine.prepare?.({ config, log });
  } catch (e) {
    if (e instanceof UserError) throw e;
    problems.push(`engine ${config.engine} could not be set up: ${oneLineFailure(e)}`);
    log.debug(`engine ${config.engine} set-up failed: ${redactSecrets((e as Error).stack ?? String(e))}`);
  }
}

const LATENCY_METRICS = new Set(['p50', 'p90', 'p95', 'p99', 'p999', 'max', 'min', 'mean']);

/**
 * Latency targets are judged on the successful responses; where the engine's figures cannot tell them apart (a
 * tool's file without per-status latency), they are judged on every response, and the report says so.
 */
function servedLatencyNote(run: RunResult, targets: Config['targets']): string | undefined {
  if (run.served || run.errors === 0 || run.requests <= run.errors) return undefined;
  if (!targets.some((t) => LATENCY_METRICS.has(t.metric))) return undefined;
  const from = run.tool?.name ?? run.engine;
  return `Latency targets were judged on every response, errors included: the figures of ${from} do not tell the ${run.requests - run.errors} successful responses apart from the ${run.errors} errors.`;
}

/**
 * The `checks:` (when configured) and then, when they all passed, the smoke pass (each flow once): what the
 * environment looked like before the load. Undefined when neither is asked for.
 */
async function preflight(
  config: Config,
  sources: Source[],
  log: Logger,
  sendsLoadFromHere: boolean,
): Promise<EnvironmentReport | undefined> {
  const { hasChecks } = await import('./config/checks.js');
  if (config.engine === 'results') {
    // The files were measured elsewhere, earlier: today's environment says nothing about them.
    if (hasChecks(config.checks))
      log.warning(
        'checks: not run with engine "results" (the results were measured elsewhere; no load is sent from here)',
      );
    return undefined;
  }
  const smoke = config.smoke === true && sendsLoadFromHere;
  if (!hasChecks(config.checks) && !smoke) return undefined;
  const env: EnvironmentReport = { checks: [] };
  if (hasChecks(config.checks)) {
    const { runChecks } = await import('./checks/index.js');
    const src = config.sources.length ? await import('./sources/index.js') : undefined;
    env.checks = await runChecks(config, config.checks, {
      log,
      sources,
      ...(src ? { probeSources: (c: SourceConfig[]) => src.createSources(c, log) } : {}),
    });
  }
  if (smoke) {
    if (env.checks.some((c) => !c.ok)) env.smoke = { flows: [], skipped: 'not run: a check failed' };
    else {
      const { runSmoke } = await import('./engines/builtin/smoke.js');
      try {
        env.smoke = await runSmoke(config);
      } catch (e) {
        if (e instanceof UserError) throw e;
        env.smoke = { flows: [], skipped: `failed to run: ${redactSecrets(messageOf(e))}` };
      }
      for (const f of env.smoke.flows) {
        if (f.ok) log.info(`smoke: flow ${f.name}: ok (${f.requests} ${f.requests === 1 ? 'request' : 'requests'})`);
        else log.warning(`smoke: flow ${f.name}: failed at ${f.step}: ${f.failure}`);
      }
    }
  }
  return env;
}

/** The longest constant-rate stage, ms from the load's start: where a source compares the start and end of the steady part. */
export function steadyStage(stages: Stage[]): { steady?: { startMs: number; endMs: number } } {
  let t = 0;
  let best: { startMs: number; endMs: number } | undefined;
  for (const s of stages) {
    if (s.startRate === s.endRate && s.startRate > 0 && (!best || s.durationMs > best.endMs - best.startMs))
      best = { startMs: t, endMs: t + s.durationMs };
    t += s.durationMs;
  }
  return best ? { steady: best } : {};
}

/** The verdict's reasons for what the pre-flight found wrong; empty when the load may start. */
export function preflightProblems(env: EnvironmentReport): string[] {
  const out = env.checks
    .filter((c) => !c.ok)
    .map((c) => `check ${c.kind} ${c.name} failed: ${c.detail} (checked before sending any load; none was sent)`);
  for (const f of env.smoke?.flows ?? []) {
    if (!f.ok)
      out.push(
        `smoke pass: flow "${f.name}" failed at step ${f.step}: ${f.failure} (each flow is run once before the load; no load was sent)`,
      );
  }
  if (env.smoke?.skipped && env.smoke.skipped.startsWith('failed'))
    out.push(`smoke pass ${env.smoke.skipped}; no load was sent`);
  return out;
}

/** ECS tasks of the checked services that stopped during the run, for the Why block; a failure is a note. */
async function readStoppedTasks(config: Config, run: RunResult): Promise<void> {
  const ecs = config.checks?.ecs ?? [];
  if (!ecs.length) return;
  const { stoppedTasks } = await import('./checks/ecs-tasks.js');
  const got = await stoppedTasks(
    ecs,
    { start: new Date(run.startedAt), end: new Date(run.endedAt) },
    config.checks!.timeoutMs,
  ).catch((e: unknown) => ({
    tasks: [],
    notes: [`ecs: stopped tasks not read: ${redactSecrets(messageOf(e))}`],
  }));
  if (got.tasks.length) run.stoppedTasks = got.tasks;
  run.notes.push(...got.notes);
}

/** What the report's "Comparing head with base" line and "what to do" need from git and the baseline config. */
function reportGit(baseline: BaselineContext | undefined, config: Config): Partial<ReportInput> {
  const git = baseline?.git;
  const out: Partial<ReportInput> = {};
  const ref = git?.pullRequest?.headRef ?? git?.branch;
  if (git?.sha || ref) out.head = { ...(git?.sha ? { sha: git.sha } : {}), ...(ref ? { ref } : {}) };
  if (git?.pullRequest?.baseRef) out.baseRef = git.pullRequest.baseRef;
  if (config.baseline?.acceptLabel) out.acceptLabel = config.baseline.acceptLabel;
  return out;
}

/** The output directory exists (or can be made) and a run folder can be made in it, before any load. */
async function claimOutputDir(dir: string, phase: string, at: Date): Promise<RunDir> {
  try {
    return await claimRunDir(dir, phase, at);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const why =
      code === 'EEXIST' || code === 'ENOTDIR'
        ? 'it (or a folder on its path) is an existing file, not a directory'
        : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
          ? `it cannot be written (${code})`
          : messageOf(e);
    throw new UserError(`input "output-dir": cannot write the results to "${dir}": ${why}`);
  }
}

/** report.html over every test of the output dir (`entries` newest first, from its run folders). */
async function writeHtmlReport(outputDir: string, entries: HtmlReportEntry[], log: Logger): Promise<void> {
  try {
    const { renderHtmlReport, HTML_REPORT_FILE } = await import('./report/html.js');
    await writeAtomic(
      join(outputDir, HTML_REPORT_FILE),
      renderHtmlReport(entries, { generatedAt: new Date().toISOString() }),
    );
  } catch (e) {
    log.warning(`report.html was not written (the verdict and the other files stand): ${redactSecrets(messageOf(e))}`);
  }
}

async function writeAtomic(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, path);
}

/**
 * Any HTTP answer (even 404 or 500) means reachable; only a transport failure is returned, as text. The built-in
 * engine's own client does the check, so its limits are the load's (one client, one 64 KiB head limit).
 */
export async function checkReachable(
  url: string,
  timeoutMs: number,
  headers: Record<string, string> = {},
): Promise<string | undefined> {
  const { probeTarget } = await import('./engines/builtin/probe.js');
  const problem = await probeTarget(url, timeoutMs, headers);
  return problem === undefined ? undefined : redactUserinfo(problem);
}

export function emptyRun(config: Config, stages: Stage[], startedAt: Date): RunResult {
  const now = new Date();
  return blankRunResult({
    engine: config.engine,
    phase: config.phase.name,
    target: redactUrl(config.target),
    startedAt: startedAt.toISOString(),
    endedAt: now.toISOString(),
    durationMs: now.getTime() - startedAt.getTime(),
    shape: { stages, peakRate: peakRate(stages) },
  });
}

/** Every stage's rates divided by the shard count: the shards together send the phase's arrivals. */
export function shardStages(stages: Stage[], count: number): Stage[] {
  return stages.map((s) => ({ ...s, startRate: s.startRate / count, endRate: s.endRate / count }));
}

function shardGuards(guards: AbortGuard[], count: number): AbortGuard[] {
  return guards.map((g) =>
    g.metric === 'throughput' || g.metric === 'errors'
      ? { ...g, value: g.value / count, source: `${g.source} (1/${count} on this shard)` }
      : g,
  );
}

/**
 * What every shard of one run was told to do, hashed: shards that disagree on it (another phase, shape, count,
 * target, flows or HTTP settings) are not parts of one run. The shard's index is left out on purpose.
 */
export function shardShapeKey(config: Config, stages: Stage[]): string {
  const what = {
    phase: config.phase.name,
    stages,
    count: config.shard?.count,
    target: redactUrl(config.target),
    flows: config.flows,
    http: {
      timeoutMs: config.http.timeoutMs,
      maxInFlight: config.http.maxInFlight,
      count4xxAsErrors: config.http.count4xxAsErrors,
    },
    intervalMs: config.intervalMs,
  };
  return createHash('sha256').update(JSON.stringify(what)).digest('hex').slice(0, 16);
}

/**
 * A shard is not judged: its targets only mean something for the merged run. It is an `error` only when it failed
 * to run at all (engine crash, unreachable target, nothing completed); a saturated generator is recorded in its
 * results for the merge, which then makes the whole run invalid, and is warned about here.
 */
function shardVerdict(run: RunResult, problems: string[], log: Logger): Verdict {
  const own = [...problems, ...runProblems({ ...run, generator: { valid: true, invalidReasons: [] } })];
  if (own.length) return { status: 'error', failsCheck: true, targets: [], reasons: own };
  if (!run.generator.valid)
    log.warning(
      `shard ${run.shard?.index}/${run.shard?.count}: the load generator could not send its share (${run.generator.invalidReasons.join('; ')}); the merged run will be invalid`,
    );
  return { status: 'shard', failsCheck: false, targets: [], reasons: [] };
}

function definedOnly<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as Partial<T>;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
