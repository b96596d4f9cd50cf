// `file:<path>`: a results.json from an earlier perf-gate run (a history of one) or a history file. Useful when the
// workflow fetches the baseline itself (cache, another job's artifact, a checked-in file). Recording appends to a
// history file; a results file is never overwritten, since someone else produced it.
import { constants, existsSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { access, mkdir, open, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import {
  CorruptBaselineError,
  emptyHistory,
  entryFromResultsFile,
  mergeEntries,
  parseBaselineFile,
  serializeHistory,
} from './entry.js';
import type { BaselineContext, BaselineStore, HistoryKey, LoadResult, RecordResult } from './types.js';
import { UserError, messageOf } from '../errors.js';
import type { BaselineEntry } from '../model.js';

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
      const entry = entryFromResultsFile(run, {
        environment: key.environment,
        id: `file:${this.shown}@${run.startedAt}`,
      });
      return { entries: [entry], location, notes: [] };
    } catch (e) {
      if (!(e instanceof CorruptBaselineError)) throw e;
      return corrupt(this.ctx, `baseline file ${this.shown}`, e.message, location);
    }
  }

  /**
   * Read, merge and replace under a lock file, so that concurrent writers (parallel jobs on one runner, several
   * local runs) each add their entry and none is lost; the new file is written beside the old one and renamed over
   * it, so a reader sees the old history or the new one, never half of one. A history that cannot be read (corrupt,
   * another schema, another environment or phase) is moved aside to a backup, never overwritten.
   */
  async record(key: HistoryKey, entry: BaselineEntry): Promise<RecordResult> {
    const location = `file ${this.shown}`;
    await mkdir(dirname(this.abs), { recursive: true });
    const release = await acquireLock(`${this.abs}.lock`, this.ctx.log);
    try {
      let existing: BaselineEntry[] = [];
      let backup: string | undefined;
      if (existsSync(this.abs)) {
        let why: string | undefined;
        try {
          const parsed = parseBaselineFile(await readFile(this.abs, 'utf8'));
          if (parsed.kind === 'results') {
            return { written: false, location, note: `${this.shown} is a results file, not a history: left as it is` };
          }
          const h = parsed.history;
          if (h.environment !== key.environment || h.phase !== key.phase) {
            why = `it is the history of environment "${h.environment}", phase "${h.phase}", not of "${key.environment}", "${key.phase}"`;
          } else {
            existing = h.entries;
          }
        } catch (e) {
          if (!(e instanceof CorruptBaselineError)) throw e;
          why = e.message;
        }
        if (why !== undefined) {
          if (this.ctx.onCorrupt === 'error') {
            throw new UserError(
              `baseline file ${this.shown} cannot be added to: ${why} (move it away, or set baseline on-corrupt: missing to keep it as a backup and start a new history)`,
            );
          }
          backup = `${this.abs}.${stamp()}.bak`;
          await rename(this.abs, backup);
          this.ctx.log.warning(
            `baseline file ${this.shown} cannot be added to (${why}); moved it to ${backup} and started a new history`,
          );
        }
      }
      const entries = mergeEntries(existing, [entry], this.ctx.historyLimit);
      const tmp = `${this.abs}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      try {
        await writeFile(tmp, serializeHistory({ ...emptyHistory(key), entries }));
        await rename(tmp, this.abs);
      } finally {
        await rm(tmp, { force: true });
      }
      // "Recorded" only when the file on disk holds the entry.
      const check = parseBaselineFile(await readFile(this.abs, 'utf8'));
      if (check.kind !== 'history' || !check.history.entries.some((e) => e.id === entry.id)) {
        throw new Error(`${this.shown} does not hold this run after writing it`);
      }
      return {
        written: true,
        location,
        kept: entries.length,
        ...(backup ? { note: `the old file was kept as ${backup}` } : {}),
      };
    } finally {
      await release();
    }
  }

  /** Can the history be written? Checked before the load, so an unwritable store is known before an hour of it. */
  async checkWritable(): Promise<string | undefined> {
    const dir = dirname(this.abs);
    try {
      await mkdir(dir, { recursive: true });
      await access(dir, constants.W_OK);
      if (existsSync(this.abs)) {
        const st = await stat(this.abs);
        if (!st.isFile()) return `${this.shown} is not a file`;
        await access(this.abs, constants.R_OK | constants.W_OK);
      }
      return undefined;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      const why =
        code === 'EEXIST' || code === 'ENOTDIR' ? 'a file stands where its folder should be' : (code ?? messageOf(e));
      return `${this.shown} cannot be written: ${why}`;
    }
  }
}

/** How long a writer waits for another's lock, and when a lock is old enough to be a crashed writer's. */
const LOCK_WAIT_MS = 30_000;
const LOCK_STALE_MS = 60_000;

/**
 * An exclusive lock file (`open(..., 'wx')` is atomic on local file systems). A lock left by a writer that died is
 * taken over once it is older than LOCK_STALE_MS or its process is gone.
 */
async function acquireLock(path: string, log: BaselineContext['log']): Promise<() => Promise<void>> {
  const started = Date.now();
  const token = `${process.pid} ${randomBytes(6).toString('hex')}`;
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(token);
      await fh.close();
      return async () => {
        // Only our own lock: a writer that found ours stale may have taken it over.
        const now = await readFile(path, 'utf8').catch(() => '');
        if (now === token) await rm(path, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    if (await isStale(path)) {
      log.debug(`baseline: taking over the stale lock ${path}`);
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() - started > LOCK_WAIT_MS)
      throw new Error(`another run has held the lock ${path} for over ${LOCK_WAIT_MS / 1000}s`);
    await new Promise((r) => setTimeout(r, Math.min(200, 5 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random())));
  }
}

async function isStale(path: string): Promise<boolean> {
  try {
    const [st, text] = await Promise.all([stat(path), readFile(path, 'utf8')]);
    if (Date.now() - st.mtimeMs > LOCK_STALE_MS) return true;
    const pid = Number(text.split(' ')[0]);
    if (!Number.isInteger(pid) || pid <= 0) return Date.now() - st.mtimeMs > 5000;
    try {
      process.kill(pid, 0);
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ESRCH';
    }
  } catch {
    return false;
  }
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

/** A corrupt baseline fails the run with its location, unless the config says to treat it as missing. */
export function corrupt(ctx: BaselineContext, what: string, why: string, location: string): LoadResult {
  if (ctx.onCorrupt === 'error') {
    throw new UserError(
      `${what} is corrupt: ${why} (fix or delete it, or set baseline on-corrupt: missing to treat it as no baseline)`,
    );
  }
  ctx.log.warning(`${what} is corrupt (${why}); treated as no baseline (on-corrupt: missing)`);
  return { entries: [], location, notes: [`${what} is corrupt and was treated as missing`] };
}
