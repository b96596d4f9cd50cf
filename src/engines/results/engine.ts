// The results engine: sends no load, judges result files that a load tool already wrote (k6 or Artillery, in
// this job or downloaded from elsewhere). Patterns are globs relative to the workspace; several files are merged
// as one run (workers or instances that ran side by side).
import { glob, stat } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import type { RunResult } from '../../model.js';
import { workspacePath } from '../tool.js';
import type { Engine, EngineRunOptions } from '../types.js';
import { readResults } from '../../readers/index.js';
import { UserError } from '../../errors.js';
import { redactUrl } from '../../secrets.js';

export const resultsEngine: Engine = {
  name: 'results',
  async run({ config, log }: EngineRunOptions): Promise<RunResult> {
    const patterns = config.results ?? [];
    if (patterns.length === 0)
      throw new UserError('engine "results" needs results: result files or glob patterns, one per line');
    const files = await expandPatterns(patterns, config.workspace);
    log.info(
      `Reading ${files.length} results file${files.length === 1 ? '' : 's'}: ${files.map((f) => workspacePath(config.workspace, f)).join(', ')}`,
    );
    const run = await readResults(files, {
      phase: config.phase.name,
      count4xxAsErrors: config.http.count4xxAsErrors,
      intervalMs: config.intervalMs,
    });
    run.engine = 'results';
    run.sourceFiles = files.map((f) => workspacePath(config.workspace, f));
    if (!run.target && config.target) run.target = redactUrl(config.target);
    return run;
  },
};

const GLOB_CHARS = /[*?[\]{}]/;

/**
 * Every pattern must match at least one file: a pattern that matches nothing is almost always a wrong path or
 * a step that did not produce its output, and judging the other files alone would hide that. Files matched by
 * several patterns are read once; within a pattern the order is alphabetical, so merges are reproducible.
 */
export async function expandPatterns(patterns: string[], workspace: string): Promise<string[]> {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const pattern of patterns) {
    const matches: string[] = [];
    if (!GLOB_CHARS.test(pattern)) {
      // A plain path: no glob needed, and a missing file is reported by the same rule below.
      const abs = isAbsolute(pattern) ? pattern : resolve(workspace, pattern);
      if (await isFile(abs)) matches.push(abs);
    } else {
      // fs.glob takes absolute patterns as they are and relative ones against cwd.
      for await (const m of glob(pattern, { cwd: workspace })) {
        const abs = isAbsolute(m) ? m : resolve(workspace, m);
        if (await isFile(abs)) matches.push(abs);
      }
    }
    if (matches.length === 0) {
      throw new UserError(
        `results: "${pattern}" matches no file (looked in ${workspace}). Check the path, and that the step writing the results ran before perf-gate.`,
      );
    }
    for (const m of matches.sort()) {
      if (seen.has(m)) continue;
      seen.add(m);
      out.push(m);
    }
  }
  return out;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
