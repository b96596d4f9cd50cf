// Where a run's files are in an output dir: a folder per run (`<phase>-<start>/`), newest last by name.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

/** The folders of the runs in an output dir, oldest first (names end in the start time). */
export function runFolders(outputDir: string): string[] {
  if (!existsSync(outputDir)) return [];
  return readdirSync(outputDir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(outputDir, e.name, 'results.json')))
    .map((e) => join(outputDir, e.name))
    .sort((a, b) => stamp(a).localeCompare(stamp(b)) || a.localeCompare(b));
}

function stamp(dir: string): string {
  return /(\d{8}T\d{6}Z(?:-\d+)?)$/.exec(dir)?.[1] ?? dir;
}

/** The newest run's folder; fails when the output dir holds none. */
export function lastRunDir(outputDir: string): string {
  const all = runFolders(outputDir);
  if (all.length === 0) throw new Error(`no run folder in ${outputDir}`);
  return all[all.length - 1]!;
}

/** The newest run's results.json in an output dir. */
export function lastResults(outputDir: string): string {
  return join(lastRunDir(outputDir), 'results.json');
}
