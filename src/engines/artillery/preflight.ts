// An Artillery script is checked before anything is installed or sent: it parses, the processor and payload files
// it names exist (Artillery resolves them against the script's folder), and the environment variables it reads
// through `$processEnvironment` / `$env` are set. Otherwise a missing file is found only after a 40-second install
// and a failed run, as a Node stack trace.
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, relative, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { yamlSnippet } from '../../config/file.js';
import { UserError, messageOf } from '../../errors.js';

export interface ScriptCheckOptions {
  workspace: string;
  env: NodeJS.ProcessEnv;
  /** Remote workers (Fargate, Lambda) have their own environment: variables are not checked here. */
  distributed: boolean;
}

/** The parsed script; throws a UserError naming the script and what is wrong with it. */
export async function checkArtilleryScript(path: string, opts: ScriptCheckOptions): Promise<Record<string, unknown>> {
  const shown = displayPath(opts.workspace, path);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UserError(
      `input "script": Artillery script "${shown}" ${code === 'ENOENT' ? 'does not exist' : code === 'EISDIR' ? 'is a folder, not a file' : `cannot be read (${code ?? messageOf(e)})`}`,
    );
  }
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (e) {
    const detail = e instanceof YAMLParseError ? `${e.message.split('\n')[0]}${yamlSnippet(text, e)}` : messageOf(e);
    throw new UserError(`input "script": Artillery script "${shown}" is not valid YAML: ${detail}`);
  }
  if (!doc || typeof doc !== 'object' || Array.isArray(doc)) {
    throw new UserError(
      `input "script": Artillery script "${shown}" should be a mapping with "config" and "scenarios", got ${doc === null || doc === undefined ? 'an empty file' : Array.isArray(doc) ? 'a list' : typeof doc}`,
    );
  }
  const root = doc as Record<string, unknown>;
  const config = obj(root.config);
  const base = dirname(path);
  const problems: string[] = [];
  const needFile = (value: unknown, key: string): void => {
    // A templated path is resolved by Artillery at run time: only a literal one can be checked here.
    if (typeof value !== 'string' || value.includes('{{')) return;
    const full = resolve(base, value);
    if (!existsSync(full))
      problems.push(
        `${key} "${value}" does not exist (Artillery looks for it next to the script: ${displayPath(opts.workspace, full)})`,
      );
    else if (statSync(full).isDirectory()) problems.push(`${key} "${value}" is a folder, not a file`);
  };
  needFile(config?.processor, 'config.processor');
  const payloads = Array.isArray(config?.payload)
    ? config.payload
    : config?.payload !== undefined
      ? [config.payload]
      : [];
  payloads.forEach((p, i) => {
    needFile(obj(p)?.path, payloads.length > 1 ? `config.payload[${i}].path` : 'config.payload.path');
  });
  if (!opts.distributed) {
    const names = [
      ...new Set(
        [...JSON.stringify(root).matchAll(/\$(?:processEnvironment|env)\.([A-Za-z_][A-Za-z0-9_]*)/g)].map((m) => m[1]!),
      ),
    ];
    // Read from the parsed script, so a commented-out line does not count. PERF_GATE_HEADER_* are perf-gate's own (index.ts).
    const unset = names.filter(
      (n) => !n.startsWith('PERF_GATE_HEADER_') && (opts.env[n] === undefined || opts.env[n] === ''),
    );
    if (unset.length) {
      problems.push(
        `it reads ${unset.map((n) => `$processEnvironment.${n}`).join(', ')}, but ${unset.length === 1 ? 'that variable is' : 'those variables are'} not set: ` +
          `set ${unset.length === 1 ? 'it' : 'them'} in the step's env: (a secret: env: NAME: \${{ secrets.NAME }})`,
      );
    }
  }
  if (problems.length)
    throw new UserError(
      `input "script": Artillery script "${shown}": ${problems.join('; ')} (checked before installing Artillery or sending any load)`,
    );
  return root;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

function displayPath(workspace: string, path: string): string {
  const rel = relative(workspace, path);
  return rel && !rel.startsWith('..') ? rel : path;
}
