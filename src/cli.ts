// `perf-gate run --target URL --phase warmup ...`: the action's pipeline on a developer's machine. Flags carry
// the same names as the action's inputs; the table goes to the terminal and the files to --output-dir.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { INPUT_NAMES, resolveConfig, type RawInputs } from './config/load.js';
import { redactSecrets } from './secrets.js';
import { VERSION } from './version.js';
import { didYouMean } from './config/suggest.js';
import { UserError, messageOf } from './errors.js';

/** The branch local runs are recorded as, so they are compared with each other and not with CI's runs. */
const LOCAL_BRANCH = 'local';

const USAGE = `perf-gate ${VERSION}: gate a deployment on a load test

usage: perf-gate run --target URL [--phase warmup|sustained|stress|recovery|<custom>] [options]

options (the action's inputs):
  --target URL          base URL of the deployment (or "target" in the config file)
  --phase NAME          load phase (default warmup)
  --engine NAME         builtin (default) | artillery | k6 | results
  --config PATH         YAML config (default .github/perf-gate.yml when it exists)
  --targets EXPRS       target expressions, one per line or separated by ";" (default: the phase's)
  --duration D          override the phase length, e.g. 30s, 2m
  --rate N              override the peak arrival rate (arrivals/s)
  --duration-scale F    shrink or stretch every stage by a factor (instead of --duration)
  --decide-on PART      steady (default) | all: the part of the run the targets judge
  --abort GUARDS        abort guards separated by ";", e.g. "error_rate > 5% for 30s", or none
  --fail-on MODE        any (default) | target | regression | never
  --script PATH         Artillery test or k6 script (--engine artillery | k6)
  --results FILES       result files or globs separated by ";" (--engine results)
  --baseline SPEC       file:<path> | branch[:<name>] | artifact[:<name>] (branch and artifact need a token)
  --confirm-regressions true|false
                        re-run the phase once before failing on a regression (default true)
  --output-dir DIR      where LOAD_TEST_RESULTS.md and results.json go (default perf-gate-results)
  --shard I/N           run shard I of N: 1/N of the arrival rate, results.json for a later
                        --engine results merge (no verdict: exit 0 unless the shard errored)
  --record              add this run to the --baseline file:<path> history (as branch "local")
exit status: 0 pass, 1 the gate fails, 2 bad input`;

const LIST_FLAGS: ReadonlySet<string> = new Set(['targets', 'abort', 'results', 'regression-rules']);

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (command !== 'run') {
    process.stderr.write(
      command === undefined || command === '--help' || command === '-h'
        ? `${USAGE}\n`
        : `unknown command "${command}"\n\n${USAGE}\n`,
    );
    return command === undefined || command === '--help' || command === '-h' ? 0 : 2;
  }
  const cliOnly = INPUT_NAMES.filter((n) => n !== 'comment' && n !== 'comment-header' && n !== 'github-token');
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: Object.fromEntries([
        ...cliOnly.map((n) => [n, { type: 'string' as const }]),
        ['help', { type: 'boolean' as const }],
        ['record', { type: 'boolean' as const }],
      ]),
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    // `--tagret` gets "did you mean --target" before the usage.
    const unknown = /Unknown option '--([^']+)'/.exec(messageOf(e))?.[1];
    const hint = unknown ? didYouMean(unknown, [...cliOnly, 'help', 'record']).replace(/"([^"]+)"/, '"--$1"') : '';
    process.stderr.write(`error: ${messageOf(e)}${hint}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const inputs: RawInputs = {};
  for (const n of cliOnly) {
    const v = values[n];
    // A shell flag is one line: these take several entries, separated by ";".
    if (typeof v === 'string') inputs[n] = LIST_FLAGS.has(n) ? v.split(';').join('\n') : v;
  }
  const log = {
    info: (m: string) => process.stderr.write(`${m}\n`),
    warning: (m: string) => process.stderr.write(`warning: ${m}\n`),
    debug: (m: string) => (process.env.PERF_GATE_DEBUG ? process.stderr.write(`debug: ${m}\n`) : undefined),
  };
  try {
    const config = resolveConfig(inputs, { workspace: process.cwd() });
    const { runPipeline } = await import('./pipeline.js');
    const { renderTerminal } = await import('./report/terminal.js');
    // Locally there is no event and no token: a file baseline is compared with, and with --record the run is added
    // to it as a run of a branch named "local", so local runs build a history of their own.
    let baseline: import('./baseline/types.js').BaselineContext | undefined;
    if (values.record && config.baseline?.spec?.kind !== 'file')
      throw new UserError(
        `--record needs --baseline file:<path> (got ${config.baseline?.spec ? `--baseline ${config.baseline.spec.text}` : 'no baseline'}); the other stores are written by the action on GitHub`,
      );
    if (config.baseline?.spec) {
      const { baselineContext, gitContextFromEnv } = await import('./baseline/index.js');
      const env = gitContextFromEnv(process.env, {});
      const git = values.record
        ? { ...env, eventName: 'push', branch: LOCAL_BRANCH, defaultBranch: LOCAL_BRANCH }
        : env;
      baseline = baselineContext(config.baseline, { log, workspace: process.cwd(), outputDir: config.outputDir, git });
    }
    const outcome = await runPipeline(config, {
      log,
      ...(baseline ? { baseline } : {}),
      runIdentity: { commit: process.env.GITHUB_SHA },
    });
    process.stdout.write(
      renderTerminal({
        run: outcome.run,
        verdict: outcome.verdict,
        commentHeader: config.commentHeader,
        engine: config.engine,
        phase: config.phase.name,
        resultsFile: outcome.resultsPath,
      }) + '\n',
    );
    // report.html sits beside LOAD_TEST_RESULTS.md at the top of the output dir (one page for all its tests).
    const html = join(dirname(outcome.reportPath), 'report.html');
    process.stderr.write(
      `report: ${outcome.reportPath}\nresults: ${outcome.resultsPath}\n${existsSync(html) ? `html: ${html}\n` : ''}`,
    );
    return outcome.verdict.failsCheck ? 1 : 0;
  } catch (e) {
    if (e instanceof UserError) {
      process.stderr.write(`error: ${redactSecrets(e.message)}\n`);
      return 2;
    }
    // One line; the stack is for whoever debugs perf-gate itself (PERF_GATE_DEBUG=1).
    process.stderr.write(`perf-gate failed unexpectedly: ${redactSecrets(messageOf(e)).split('\n')[0]}\n`);
    log.debug(redactSecrets((e as Error).stack ?? String(e)));
    return 1;
  }
}
