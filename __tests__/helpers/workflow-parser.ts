// GitHub's own workflow and action parser (@actions/workflow-parser, the one behind the Actions language service).
// Its ESM build imports JSON without import attributes, which Node refuses, so it is bundled with esbuild into a
// temporary file once per test process and imported from there.
import { build } from 'esbuild';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

export interface ParseOutcome {
  /** Every error the parser and the converter reported, as `file (line:col): message`. */
  errors: string[];
}

interface Parser {
  validateWorkflow(name: string, content: string): Promise<ParseOutcome>;
  validateAction(name: string, content: string): ParseOutcome;
}

let loaded: Promise<Parser> | undefined;

export function workflowParser(): Promise<Parser> {
  loaded ??= load();
  return loaded;
}

async function load(): Promise<Parser> {
  const dir = mkdtempSync(join(tmpdir(), 'perf-gate-wfparser-'));
  const entry = `
import { parseWorkflow, convertWorkflowTemplate, NoOperationTraceWriter } from '@actions/workflow-parser';
import { parseAction } from '@actions/workflow-parser/actions/action-parser';
const where = (e) => e.message;
export async function validateWorkflow(name, content) {
  const parsed = parseWorkflow({ name, content }, new NoOperationTraceWriter());
  const errors = parsed.context.errors.getErrors().map(where);
  if (errors.length === 0 && parsed.value) {
    const template = await convertWorkflowTemplate(parsed.context, parsed.value);
    for (const e of template.errors ?? []) errors.push(e.Message ?? e.message ?? String(e));
  }
  return { errors };
}
export function validateAction(name, content) {
  const parsed = parseAction({ name, content }, new NoOperationTraceWriter());
  return { errors: parsed.context.errors.getErrors().map(where) };
}
`;
  const outfile = join(dir, 'parser.mjs');
  await build({
    stdin: { contents: entry, resolveDir: process.cwd(), loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    outfile,
    logLevel: 'error',
    banner: { js: "import { createRequire } from 'module'; const require = createRequire(import.meta.url);" },
  });
  return (await import(pathToFileURL(outfile).href)) as Parser;
}
