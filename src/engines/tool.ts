// Running an external load tool (Artillery, k6, npm) as a child process: its output goes to the log line by line
// as it comes, so a long run shows progress in the Actions log, and only the tail of each stream is kept for the
// error message, so memory does not grow with the length of the run.
import { spawn } from 'node:child_process';
import { isAbsolute, relative } from 'node:path';
import { createInterface } from 'node:readline';
import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';

export interface ToolRunOptions {
  command: string;
  args: string[];
  /** Added to (or, with undefined, removed from) this process's environment. */
  env?: Record<string, string | undefined>;
  cwd?: string;
  log: Logger;
  /** Put before every logged line, e.g. `[artillery]`. */
  label: string;
  /** Stops the tool: SIGINT first, so it can write what it measured, then SIGKILL after `killAfterMs`. */
  signal?: AbortSignal;
  killAfterMs?: number;
  /** Sees every line (ANSI colours removed) of both streams, in order of arrival per stream. */
  onLine?: (line: string, stream: 'stdout' | 'stderr') => void;
  /** Lines kept from the end of each stream (default 40). */
  tailLines?: number;
  /** Applied to the logged command line only (secrets passed as arguments). */
  redact?: (text: string) => string;
  /** Windows needs a shell to start `.cmd` files such as npm.cmd. */
  shell?: boolean;
  /** The tool's lines go to the debug log only (an install's chatter); the caller says in one line what happened. */
  quiet?: boolean;
}

export interface ToolRunResult {
  /** Exit code, or null when the process was ended by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdoutTail: string[];
  stderrTail: string[];
  durationMs: number;
  /** The run was stopped through `signal`. */
  aborted: boolean;
}

/** The executable does not exist (spawn failed with ENOENT): the caller turns it into an install hint. */
export class ToolNotFoundError extends Error {
  override name = 'ToolNotFoundError';
  constructor(readonly command: string) {
    super(`${command} was not found`);
  }
}

// CSI sequences (colours, cursor moves) and the carriage returns progress bars use to redraw a line.
const ANSI = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007]*\u0007/g;

export function stripAnsi(text: string): string {
  return text.replace(ANSI, '');
}

/** A command line as a user could paste it into a shell, for the log. */
export function formatCommand(command: string, args: string[]): string {
  return [command, ...args].map(shellQuote).join(' ');
}

function shellQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The last non-empty lines of a tail, as one block for an error message. */
export function tailText(lines: string[], max = 15): string {
  return lines
    .filter((l) => l.trim() !== '')
    .slice(-max)
    .join('\n');
}

export function runTool(options: ToolRunOptions): Promise<ToolRunResult> {
  const { command, args, log, label } = options;
  const keep = options.tailLines ?? 40;
  const started = Date.now();
  const redact = options.redact ?? ((s: string) => s);
  const say = options.quiet ? log.debug : log.info;
  say(`${label} ${redact(formatCommand(command, args))}`);
  const env: Record<string, string | undefined> = { ...process.env };
  for (const [k, v] of Object.entries(options.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }

  return new Promise<ToolRunResult>((resolve, reject) => {
    if (options.signal?.aborted) {
      resolve({ code: null, signal: null, stdoutTail: [], stderrTail: [], durationMs: 0, aborted: true });
      return;
    }
    const child = spawn(command, args, {
      cwd: options.cwd,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      shell: options.shell ?? false,
      windowsHide: true,
    });
    const tails = { stdout: [] as string[], stderr: [] as string[] };
    let aborted = false;
    let killTimer: NodeJS.Timeout | undefined;
    let spawnFailed = false;

    const onAbort = (): void => {
      aborted = true;
      log.info(`${label} stopping (SIGINT)`);
      child.kill('SIGINT');
      killTimer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 20_000);
      killTimer.unref();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    for (const stream of ['stdout', 'stderr'] as const) {
      const rl = createInterface({ input: child[stream], crlfDelay: Infinity });
      rl.on('line', (raw) => {
        // Progress bars redraw with \r: only the last state of such a line is worth logging.
        const line = stripAnsi(
          raw.includes('\r') ? raw.slice(raw.lastIndexOf('\r', raw.length - 2) + 1) : raw,
        ).trimEnd();
        const tail = tails[stream];
        tail.push(line);
        if (tail.length > keep) tail.shift();
        options.onLine?.(line, stream);
        if (line.trim() !== '') say(`${label} ${line}`);
      });
    }

    child.once('error', (err: NodeJS.ErrnoException) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      spawnFailed = true;
      reject(err.code === 'ENOENT' ? new ToolNotFoundError(command) : err);
    });
    // 'close' comes after both streams ended, so every line has been seen by then.
    child.once('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      if (killTimer) clearTimeout(killTimer);
      if (spawnFailed) return;
      resolve({
        code,
        signal,
        stdoutTail: tails.stdout,
        stderrTail: tails.stderr,
        durationMs: Date.now() - started,
        aborted,
      });
    });
  });
}

/** A path relative to the workspace when it lies inside it (for sourceFiles and messages), else unchanged. */
export function workspacePath(workspace: string, path: string): string {
  const rel = relative(workspace, path);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

/** A stack frame, a `^` marker line or a Node version footer: what a crash prints beside its message. */
const NOISE = /^\s*(at\s|\^+\s*$|node:internal|Node\.js v\d|Require stack:|- \/|\{$|\}$|\w+: '.*',?$|code: )/;

/**
 * An engine's failure in one line, for the verdict's reason (so the terminal, the report and the PR comment):
 * the message's first line and, when it carries a tool's output, that output's error line, never a stack trace.
 */
export function oneLineFailure(e: unknown): string {
  const text = messageOf(e);
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '' && !NOISE.test(l));
  const head = (lines[0] ?? '').replace(/:$/, '');
  const rest = lines.slice(1);
  const errorLine =
    rest.find((l) => /\b(error|cannot|not found|failed|invalid|refused)\b/i.test(l)) ?? rest[rest.length - 1];
  const one = errorLine && errorLine !== head ? `${head}: ${errorLine.trim()}` : head;
  return one.length > 400 ? `${one.slice(0, 397)}...` : one;
}
