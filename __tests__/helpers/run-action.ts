// Runs the bundled dist/index.js the way the GitHub runner does (INPUT_* variables, GITHUB_OUTPUT,
// GITHUB_STEP_SUMMARY, GITHUB_EVENT_PATH, GITHUB_API_URL), for tests that drive the action against stand-ins,
// and the bundled CLI (bin/perf-gate.js) the way a developer does.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export const ACTION = resolve('dist/index.js');
export const CLI = resolve('bin/perf-gate.js');
export const TOKEN = 'ghs_faultSuiteSecretToken1234567890';

export interface ActionRun {
  code: number;
  stdout: string;
  outputs: Record<string, string>;
  summary: string;
  workspace: string;
  elapsedMs: number;
}

/** A pull_request event for PR 7 of ftw/shop; `fork` makes its head a fork's, where the token cannot comment. */
export function pullRequestEvent(fork = false): object {
  return {
    action: 'synchronize',
    number: 7,
    pull_request: {
      number: 7,
      head: { repo: { full_name: fork ? 'someone/perf-gate-fork' : 'ftw/shop' }, sha: 'abc123' },
      base: { repo: { full_name: 'ftw/shop' }, ref: 'main' },
    },
    repository: { full_name: 'ftw/shop', name: 'shop', owner: { login: 'ftw' } },
  };
}

export async function runAction(
  inputs: Record<string, string>,
  opts: {
    apiUrl: string;
    event?: object;
    eventName?: string;
    env?: NodeJS.ProcessEnv;
    workspace?: string;
    files?: Record<string, string>;
  },
): Promise<ActionRun> {
  const workspace = opts.workspace ?? mkdtempSync(join(tmpdir(), 'perf-gate-fault-'));
  const outputFile = join(workspace, 'github_output');
  const summaryFile = join(workspace, 'step_summary.md');
  const eventFile = join(workspace, 'event.json');
  writeFileSync(outputFile, '');
  writeFileSync(summaryFile, '');
  writeFileSync(eventFile, JSON.stringify(opts.event ?? pullRequestEvent()));
  for (const [name, text] of Object.entries(opts.files ?? {})) {
    mkdirSync(dirname(join(workspace, name)), { recursive: true });
    writeFileSync(join(workspace, name), text);
  }
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: workspace,
    GITHUB_OUTPUT: outputFile,
    GITHUB_STEP_SUMMARY: summaryFile,
    GITHUB_EVENT_PATH: eventFile,
    GITHUB_EVENT_NAME: opts.eventName ?? 'pull_request',
    GITHUB_REPOSITORY: 'ftw/shop',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ID: '42',
    GITHUB_API_URL: opts.apiUrl,
    // What the runner does with action.yml's only default.
    'INPUT_GITHUB-TOKEN': TOKEN,
    ...opts.env,
  };
  for (const [k, v] of Object.entries(inputs)) env[`INPUT_${k.toUpperCase()}`] = v;
  const started = performance.now();
  const child = spawn(process.execPath, [ACTION], { cwd: workspace, env });
  let stdout = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stdout += d));
  const code = await new Promise<number>((res) => child.on('exit', (c) => res(c ?? -1)));
  return {
    code,
    stdout,
    outputs: parseOutputs(readFileSync(outputFile, 'utf8')),
    summary: readFileSync(summaryFile, 'utf8'),
    workspace,
    elapsedMs: performance.now() - started,
  };
}

/** The last value written for each output (a later write of the same name wins, as on the runner). */
export function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /^([\w-]+)<<(ghadelimiter_[\w-]+)\n([\s\S]*?)\n?\2$/gm;
  for (let m = re.exec(text); m; m = re.exec(text)) out[m[1]!] = m[3]!;
  return out;
}

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The CLI run in `cwd` with this process's environment plus `env`. */
export function runCli(args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  const child = spawn(process.execPath, [CLI, ...args], { cwd, env: { ...process.env, ...env } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  return new Promise((r) => child.on('exit', (c) => r({ code: c ?? -1, stdout, stderr })));
}
