// `perf-gate run --target URL --phase warmup ...`: the action's pipeline on a developer's machine. Flags carry
// the same names as the action's inputs; the table goes to the terminal and the files to --output-dir.
import { parseArgs } from 'node:util';
import { INPUT_NAMES, resolveConfig, type RawInputs } from './config/load.js';
import { UserError } from './config/types.js';
import { VERSION } from './version.js';

const USAGE = `perf-gate ${VERSION}: gate a deployment on a load test

usage: perf-gate run --target URL [--phase warmup|sustained|stress|recovery|<custom>] [options]

options (the action's inputs):
  --target URL          base URL of the deployment (or "target" in the config file)
  --phase NAME          load phase (default warmup)
  --engine NAME         builtin (default)
  --config PATH         YAML config (default .github/perf-gate.yml when it exists)
  --targets EXPRS       target expressions, one per line or separated by ";" (default: the phase's)
  --duration D          override the phase length, e.g. 30s, 2m
  --rate N              override the peak arrival rate (arrivals/s)
  --fail-on MODE        any (default) | target | regression | never
  --output-dir DIR      where LOAD_TEST_RESULTS.md and results.json go (default perf-gate-results)
exit status: 0 pass, 1 the gate fails, 2 bad input`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (command !== 'run') {
    process.stderr.write(command === undefined || command === '--help' || command === '-h' ? `${USAGE}\n` : `unknown command "${command}"\n\n${USAGE}\n`);
    return command === undefined || command === '--help' || command === '-h' ? 0 : 2;
  }
  const cliOnly = INPUT_NAMES.filter((n) => n !== 'comment' && n !== 'comment-header' && n !== 'github-token');
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({
      args: rest,
      options: Object.fromEntries([...cliOnly.map((n) => [n, { type: 'string' as const }]), ['help', { type: 'boolean' as const }]]),
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const inputs: RawInputs = {};
  for (const n of cliOnly) {
    const v = values[n];
    if (typeof v === 'string') inputs[n] = n === 'targets' ? v.split(';').join('\n') : v;
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
    const outcome = await runPipeline(config, { log });
    process.stdout.write(
      renderTerminal({ run: outcome.run, verdict: outcome.verdict, commentHeader: config.commentHeader, engine: config.engine, phase: config.phase.name, resultsFile: outcome.resultsPath }) + '\n',
    );
    process.stderr.write(`report: ${outcome.reportPath}\nresults: ${outcome.resultsPath}\n`);
    return outcome.verdict.failsCheck ? 1 : 0;
  } catch (e) {
    if (e instanceof UserError) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`perf-gate failed unexpectedly: ${(e as Error).stack ?? String(e)}\n`);
    return 1;
  }
}
