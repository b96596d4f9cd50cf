// The config file read and checked: found (the default path is optional, a named one must exist), bounded in
// size, parsed as YAML (a syntax error shows the line with a caret) and validated against the schema, where the
// first useful issue becomes one line naming the path, the value received and what is allowed, with "did you mean"
// for an unknown key. Kept apart from load.ts, which turns inputs and this file into a Config: reading a file
// and explaining a schema's complaint is a job of its own.
import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { UserError, messageOf } from '../errors.js';
import { redactSecrets } from '../secrets.js';
import { formatCount, LIMITS } from './limits.js';
import { configFileSchema, type ConfigFile } from './schema.js';
import { didYouMean } from './suggest.js';

export const DEFAULT_CONFIG_PATH = '.github/perf-gate.yml';

/** The config file at `given` (or the default path, which may be absent), validated; throws a UserError. */
export function loadConfigFile(
  given: string | undefined,
  workspace: string,
  readFile: (p: string) => string,
  fileExists: (p: string) => boolean,
): { file: ConfigFile; path?: string } {
  const rel = given ?? DEFAULT_CONFIG_PATH;
  const full = isAbsolute(rel) ? rel : resolve(workspace, rel);
  if (!fileExists(full)) {
    // The default path is optional; a path the user named must exist.
    if (given === undefined) return { file: {} };
    throw new UserError(`input "config": file "${given}" does not exist (looked in ${full})`);
  }
  let text: string;
  try {
    const size = statSize(full);
    if (size !== undefined && size > LIMITS.configBytes) {
      throw new UserError(
        `input "config": "${rel}" is ${formatCount(size)} bytes; the largest config file allowed is ${formatCount(LIMITS.configBytes)} bytes (1 MiB)`,
      );
    }
    text = readFile(full);
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError(`input "config": cannot read "${rel}": ${messageOf(e)}`);
  }
  // A reader given in tests may bypass the size check above; the text is checked too.
  if (text.length > LIMITS.configBytes) {
    throw new UserError(
      `input "config": "${rel}" is ${formatCount(text.length)} characters; the largest config file allowed is ${formatCount(LIMITS.configBytes)} bytes (1 MiB)`,
    );
  }
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (e) {
    const detail = e instanceof YAMLParseError ? `${e.message.split('\n')[0]}${yamlSnippet(text, e)}` : String(e);
    throw new UserError(`${rel}: not valid YAML: ${detail}`);
  }
  if (data === null || data === undefined) return { file: {}, path: rel };
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new UserError(
      `${rel}: expected a mapping of settings (target, phase, flows, ...), got ${Array.isArray(data) ? 'a list' : typeof data}`,
    );
  }
  const parsed = configFileSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) throw new UserError(formatIssue(rel, parsed.error.issues, configFileSchema));
  return { file: parsed.data, path: rel };
}

/** The offending line of a YAML file, with the line before it and a caret under the column. */
export function yamlSnippet(text: string, e: YAMLParseError): string {
  const at = e.linePos?.[0];
  if (!at) return '';
  const lines = text.split(/\r?\n/);
  const shown: string[] = [];
  const width = String(at.line).length;
  for (let n = Math.max(1, at.line - 1); n <= at.line; n++)
    shown.push(`  ${String(n).padStart(width)} | ${redactSecrets(lines[n - 1] ?? '')}`);
  shown.push(`  ${' '.repeat(width)} | ${' '.repeat(Math.max(0, at.col - 1))}^`);
  return `\n${shown.join('\n')}`;
}

/** Names the deepest useful path, the value received and what is allowed. */
function formatIssue(file: string, issues: z.core.$ZodIssue[], schema?: z.ZodType): string {
  const issue = pickIssue(issues);
  const path = formatPath(issue.path);
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    const allowed = schema ? keysAt(schema, issue.path) : [];
    const hints = issue.keys.map((k) => `"${k}"${didYouMean(k, allowed)}`);
    message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${hints.join(', ')}${allowed.length ? `; allowed here: ${allowed.join(', ')}` : ''}`;
  } else if (issue.code === 'invalid_value' && typeof issue.input === 'string' && issue.values.length > 1) {
    const values = issue.values.map(String);
    message = `allowed: ${values.join(', ')}${didYouMean(issue.input, values)}`;
  }
  const got =
    'input' in issue && issue.input !== undefined && issue.code !== 'unrecognized_keys'
      ? `got ${show(issue.input)}; `
      : '';
  return `${file}: ${path || '(top level)'}: ${got}${message}`;
}

function pickIssue(issues: z.core.$ZodIssue[]): z.core.$ZodIssue {
  // A union reports one branch per alternative; the branch that got deepest says the most about the mistake.
  const custom = issues.find((i) => i.code === 'custom');
  if (custom) return custom;
  let best = issues[0]!;
  let bestDepth = -1;
  const visit = (list: z.core.$ZodIssue[], prefix: PropertyKey[]): void => {
    for (const i of list) {
      const full = { ...i, path: [...prefix, ...i.path] } as z.core.$ZodIssue;
      if (i.code === 'invalid_union' && i.errors.length) {
        for (const branch of i.errors) visit(branch, full.path);
        continue;
      }
      const depth = full.path.length + (i.code === 'invalid_type' ? 0 : 0.5);
      if (depth > bestDepth) {
        best = full;
        bestDepth = depth;
      }
    }
  };
  visit(issues, []);
  return best;
}

/** The keys an object in the schema may have at `path` (every alternative of a union), for "did you mean". */
export function keysAt(schema: z.ZodType, path: PropertyKey[]): string[] {
  const out = new Set<string>();
  const visit = (t: z.core.$ZodType | undefined, rest: PropertyKey[]): void => {
    if (!t) return;
    const def = t._zod.def as unknown as Record<string, unknown> & { type: string };
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'readonly':
      case 'catch':
      case 'prefault':
      case 'nonoptional':
        return visit(def.innerType as z.core.$ZodType, rest);
      case 'pipe':
        return visit(def.in as z.core.$ZodType, rest);
      case 'union':
        for (const o of def.options as z.core.$ZodType[]) visit(o, rest);
        return;
      case 'array':
        return visit(def.element as z.core.$ZodType, typeof rest[0] === 'number' ? rest.slice(1) : rest);
      case 'record':
        return visit(def.valueType as z.core.$ZodType, rest.slice(1));
      case 'object': {
        const shape = def.shape as Record<string, z.core.$ZodType>;
        if (rest.length === 0) for (const k of Object.keys(shape)) out.add(k);
        else visit(Object.hasOwn(shape, String(rest[0])) ? shape[String(rest[0])] : undefined, rest.slice(1));
        return;
      }
    }
  };
  visit(schema, path);
  return [...out];
}

function formatPath(path: PropertyKey[]): string {
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i ? '.' : ''}${String(p)}`)).join('');
}

function show(v: unknown): string {
  // A value echoed back may be a URL with a password in it, wherever in the config it was.
  const s = redactSecrets(typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v)));
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function statSize(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}
