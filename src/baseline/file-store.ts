// `file:<path>`: a results.json from an earlier perf-gate run (a history of one) or a history file. Useful when the
// workflow fetches the baseline itself (cache, another job's artifact, a checked-in file). Recording appends to a
// history file; a results file is never overwritten, since someone else produced it.
import { existsSync } from 'node:fs';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { UserError } from '../config/types.js';
import { CorruptBaselineError, emptyHistory, entryFromResultsFile, mergeEntries, parseBaselineFile, serializeHistory } from './entry.js';
import type { BaselineContext, BaselineEntry, BaselineStore, HistoryKey, LoadResult, RecordResult } from './types.js';

export class FileStore implements BaselineStore {
  readonly kind = 'file';
  private readonly abs: string;

  constructor(
    private readonly path: string,
    private readonly ctx: BaselineContext,
  ) {
    this.abs = isAbsolute(path) ? path : resolve(ctx.workspace, path);
  }

  private get shown(): string {
    const rel = relative(this.ctx.workspace, this.abs);
    return rel && !rel.startsWith('..') ? rel : this.abs;
  }

  async load(key: HistoryKey): Promise<LoadResult> {
    const location = `file ${this.shown}`;
    if (!existsSync(this.abs)) return { entries: [], location, notes: [`no baseline file at ${this.shown} yet`] };
    const text = await readFile(this.abs, 'utf8');
    try {
      const parsed = parseBaselineFile(text);
      if (parsed.kind === 'history') return { entries: parsed.history.entries, location, notes: [] };
      const run = parsed.run;
      const entry = entryFromResultsFile(run, { environment: key.environment, id: `file:${this.shown}@${run.startedAt}` });
      return { entries: [entry], location, notes: [] };
    } catch (e) {
      if (!(e instanceof CorruptBaselineError)) throw e;
      return corrupt(this.ctx, `baseline file ${this.shown}`, e.message, location);
    }
  }

  async record(key: HistoryKey, entry: BaselineEntry): Promise<RecordResult> {
    const location = `file ${this.shown}`;
    let existing: BaselineEntry[] = [];
    if (existsSync(this.abs)) {
      try {
        const parsed = parseBaselineFile(await readFile(this.abs, 'utf8'));
        if (parsed.kind === 'results') {
          return { written: false, location, note: `${this.shown} is a results file, not a history: left as it is` };
        }
        existing = parsed.history.entries;
      } catch (e) {
        if (!(e instanceof CorruptBaselineError)) throw e;
        if (this.ctx.onCorrupt === 'error') throw new UserError(`baseline file ${this.shown} is corrupt: ${e.message} (set baseline on-corrupt: missing to start a new history)`);
        this.ctx.log.warning(`baseline file ${this.shown} is corrupt (${e.message}); starting a new history`);
      }
    }
    const entries = mergeEntries(existing, [entry], this.ctx.historyLimit);
    await mkdir(dirname(this.abs), { recursive: true });
    const tmp = `${this.abs}.${process.pid}.tmp`;
    await writeFile(tmp, serializeHistory({ ...emptyHistory(key), entries }));
    await rename(tmp, this.abs);
    return { written: true, location, kept: entries.length };
  }
}

/** A corrupt baseline fails the run with its location, unless the config says to treat it as missing. */
export function corrupt(ctx: BaselineContext, what: string, why: string, location: string): LoadResult {
  if (ctx.onCorrupt === 'error') {
    throw new UserError(`${what} is corrupt: ${why} (fix or delete it, or set baseline on-corrupt: missing to treat it as no baseline)`);
  }
  ctx.log.warning(`${what} is corrupt (${why}); treated as no baseline (on-corrupt: missing)`);
  return { entries: [], location, notes: [`${what} is corrupt and was treated as missing`] };
}
