// The output directory's layout: runs never overwrite each other. Every run gets a folder of its own, named by its
// phase and start time, holding its results.json, its own report and whatever the engine wrote (a generated
// Artillery script, the tool's report); LOAD_TEST_RESULTS.md at the top holds every test in the folder, newest
// first, under a table of them all. It is rebuilt from the run folders after every run, so it never loses one.
//
//   perf-gate-results/
//     LOAD_TEST_RESULTS.md                    all tests: a table, then one section per test, newest first
//     warmup-20261208T033000Z/results.json    one run: every figure of its section
//     warmup-20261208T033000Z/report.md       that run's report alone (the section, as the PR comment shows it)
//     recovery-20261208T034512Z/...
//
// Enumerate the runs with `<output-dir>/*/results.json` (listRuns below does exactly that). Kept beside pipeline.ts, the one module that writes the output dir.
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, rmdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { RunResult, Verdict } from '../model.js';

export const REPORT_FILE = 'LOAD_TEST_RESULTS.md';
export const RESULTS_FILE = 'results.json';
/** A run's own report, inside its folder. */
export const RUN_REPORT_FILE = 'report.md';

/** `warmup-20261208T033000Z`: the phase (made safe for a file name) and the start time, UTC, to the second. */
export function runFolderName(phase: string, startedAt: Date): string {
  const safe =
    phase
      .replace(/[^A-Za-z0-9_.-]+/g, '_')
      .replace(/^[.]+/, '_')
      .slice(0, 60) || 'run';
  const stamp = startedAt
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/[-:]/g, '');
  return `${safe}-${stamp}`;
}

export interface RunDir {
  /** Absolute path of this run's folder. */
  dir: string;
  /** Its name inside the output dir (`warmup-20261208T033000Z`). */
  name: string;
  /** Removes the folder again, and the output dir when this run created it and it is empty (a run that never started). */
  discard(): Promise<void>;
}

/**
 * Claims a fresh folder for a run. Two runs starting in the same second (parallel jobs on one runner) get
 * `-2`, `-3`, ...: mkdir without `recursive` fails when the folder exists, so no two runs share one.
 */
export async function claimRunDir(outputDir: string, phase: string, startedAt: Date): Promise<RunDir> {
  const created = await mkdirTracked(outputDir);
  const base = runFolderName(phase, startedAt);
  for (let i = 1; ; i++) {
    const name = i === 1 ? base : `${base}-${i}`;
    const dir = join(outputDir, name);
    try {
      await mkdir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && i < 1000) continue;
      throw e;
    }
    return {
      dir,
      name,
      async discard() {
        await rm(dir, { recursive: true, force: true });
        // Only folders this run made, and only while empty: never anything someone else put there.
        for (const d of created) await rmdir(d).catch(() => undefined);
      },
    };
  }
}

/** mkdir -p that returns the folders it made, deepest first. */
async function mkdirTracked(dir: string): Promise<string[]> {
  const made: string[] = [];
  let d = resolve(dir);
  while (!existsSync(d)) {
    made.push(d);
    const up = dirname(d);
    if (up === d) break;
    d = up;
  }
  await mkdir(dir, { recursive: true });
  return made;
}

export interface StoredRun {
  /** The run's folder name inside the output dir. */
  name: string;
  run: RunResult;
  verdict: Verdict;
  /** The run's own report (report.md), when it was written. */
  markdown?: string;
}

/**
 * Every run in the output dir (its `*\/results.json`), newest first by start time. A folder whose results.json
 * cannot be read is left out: it is not this function's job to judge it, only to list what can be shown.
 */
export async function listRuns(outputDir: string): Promise<StoredRun[]> {
  let names: string[];
  try {
    names = (await readdir(outputDir, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
  } catch {
    return [];
  }
  const runs: StoredRun[] = [];
  for (const name of names) {
    let doc: { run?: RunResult; verdict?: Verdict };
    try {
      doc = JSON.parse(await readFile(join(outputDir, name, RESULTS_FILE), 'utf8')) as typeof doc;
    } catch {
      continue;
    }
    if (!doc.run || !doc.verdict) continue;
    const markdown = await readFile(join(outputDir, name, RUN_REPORT_FILE), 'utf8').catch(() => undefined);
    runs.push({ name, run: doc.run, verdict: doc.verdict, ...(markdown !== undefined ? { markdown } : {}) });
  }
  return runs.sort(
    (a, b) => (b.run.startedAt ?? '').localeCompare(a.run.startedAt ?? '') || b.name.localeCompare(a.name),
  );
}
