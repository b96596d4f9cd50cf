// The one pipeline the action and the CLI share: shape the load, run the engine, judge, render, write the files.
// It reads no environment and publishes nothing: main.ts and cli.ts decide where the results go.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { redactUrl } from './config/load.js';
import { UserError, type Config, type Logger } from './config/types.js';
import type { Engine } from './engines/types.js';
import { decide } from './gate/evaluate.js';
import { blankRunResult, RESULTS_SCHEMA_VERSION, type EngineName, type RunResult, type Stage, type Verdict } from './model.js';
import { peakRate, shapeStages, totalDurationMs } from './phases/presets.js';
import { renderReport, type ReportInput } from './report/markdown.js';
import { formatDuration } from './config/units.js';

export const REPORT_FILE = 'LOAD_TEST_RESULTS.md';
export const RESULTS_FILE = 'results.json';

export interface PipelineOutcome {
  run: RunResult;
  verdict: Verdict;
  /** What the renderers need, so a publisher can render to its own size limit. */
  report: ReportInput;
  /** The full report, as written to LOAD_TEST_RESULTS.md (no size limit: a file has none). */
  markdown: string;
  reportPath: string;
  resultsPath: string;
}

export interface PipelineDeps {
  log: Logger;
  /** Engine lookup, replaceable in tests; engines are imported only when chosen. */
  loadEngine?: (name: EngineName) => Promise<Engine>;
  runUrl?: string;
}

export async function loadEngine(name: EngineName): Promise<Engine> {
  switch (name) {
    case 'builtin':
      return (await import('./engines/builtin/index.js')).builtinEngine;
    case 'artillery':
    case 'k6':
    case 'results':
      // WIRE-ENGINES: replaced once the tool engines land.
      throw new UserError(`engine "${name}" is not available yet in this version of perf-gate; available: builtin`);
  }
}

export async function runPipeline(config: Config, deps: PipelineDeps): Promise<PipelineOutcome> {
  const { log } = deps;
  const stages = shapeStages(config.phase.stages, { durationMs: config.durationMs, rate: config.rate });
  const target = redactUrl(config.target);
  log.info(
    config.engine === 'results'
      ? `phase ${config.phase.name}: judging results from ${config.results?.join(', ')}`
      : `phase ${config.phase.name} on ${config.engine}: ${formatDuration(totalDurationMs(stages))} up to ` +
          `${round(peakRate(stages))} arrivals/s against ${target}`,
  );

  const startedAt = new Date();
  let run: RunResult;
  const problems: string[] = [];
  // Only when the load starts here: results were measured elsewhere, and a distributed run's generators live in
  // another network that may reach targets this runner cannot.
  const sendsLoadFromHere = config.engine !== 'results' && config.distributed.mode === 'none';
  const unreachable = sendsLoadFromHere
    ? await checkReachable(config.target, Math.min(config.http.timeoutMs, 10_000), config.http.headers)
    : undefined;
  if (unreachable) {
    problems.push(`target ${target} is unreachable: ${unreachable}`);
    run = emptyRun(config, stages, startedAt);
  } else {
    const engine = await (deps.loadEngine ?? loadEngine)(config.engine);
    // Sources are imported only when configured: the AWS SDK and pg stay off the start-up path.
    const src = config.sources.length ? await import('./sources/index.js') : undefined;
    const sources = src ? src.createSources(config.sources, log) : [];
    try {
      if (src) await src.startSources(sources, log);
      try {
        run = await engine.run({ config, stages, log });
      } catch (e) {
        if (e instanceof UserError) throw e;
        // A crashed engine is a verdict, not a pass: keep what we know and say what broke.
        problems.push(`engine ${config.engine} failed: ${(e as Error).message}`);
        run = emptyRun(config, stages, startedAt);
      }
      if (src) {
        const infra = await src.collectAll(sources, { start: new Date(run.startedAt), end: new Date(run.endedAt) }, log);
        run.infra = infra.infra;
        if (infra.slowQueries) run.slowQueries = infra.slowQueries;
        run.notes.push(...infra.notes);
      }
    } finally {
      if (src) await src.stopSources(sources);
    }
  }
  run.shape = { stages, peakRate: peakRate(stages) };

  const verdict = decide(run, config.targets, config.failOn, problems);
  await mkdir(config.outputDir, { recursive: true });
  const reportPath = join(config.outputDir, REPORT_FILE);
  const resultsPath = join(config.outputDir, RESULTS_FILE);
  const report: ReportInput = {
    run,
    verdict,
    commentHeader: config.commentHeader,
    engine: config.engine,
    phase: config.phase.name,
    runUrl: deps.runUrl,
    resultsFile: RESULTS_FILE,
  };
  const markdown = renderReport(report, { maxChars: Number.MAX_SAFE_INTEGER });
  // Written to a temporary name first so a crash never leaves a half-written report for a later step to read.
  await writeAtomic(resultsPath, JSON.stringify({ schemaVersion: RESULTS_SCHEMA_VERSION, run, verdict }, null, 2) + '\n');
  await writeAtomic(reportPath, markdown);
  return { run, verdict, report, markdown, reportPath, resultsPath };
}

async function writeAtomic(path: string, content: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, content);
  await rename(tmp, path);
}

/** Any HTTP answer (even 404 or 500) means reachable; only a transport failure is returned, as text. */
export async function checkReachable(url: string, timeoutMs: number, headers: Record<string, string> = {}): Promise<string | undefined> {
  try {
    const res = await fetch(url, { method: 'GET', headers, signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    await res.body?.cancel();
    return undefined;
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    if (err.name === 'TimeoutError') return `no answer within ${formatDuration(timeoutMs)}`;
    const cause = err.cause;
    return cause?.code ? `${cause.code}${cause.message ? ` (${redactText(cause.message)})` : ''}` : redactText(err.message);
  }
}

function redactText(s: string): string {
  return s.replace(/\/\/[^/@\s]*@/g, '//***@');
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

function round(n: number): number {
  return Math.round(n * 100) / 100;
}
