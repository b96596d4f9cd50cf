// `branch:<name>`: histories kept as JSON files on a data branch, read and written through the contents API
// (no checkout, no git push, so it works from any job with `contents: write`). One file per environment and
// phase: perf-gate/<environment>/<phase>.json, the newest `historyLimit` runs, one entry per line.
//
// Concurrent writers (two merges to main finishing together) are serialised by the contents API itself: a PUT
// names the blob sha it replaces, and GitHub answers 409 when someone else replaced it first (422 when the file
// appeared meanwhile and no sha was sent). The loser re-reads, merges its entry in by id and tries again, so
// neither run's entry is lost.
import {
  CorruptBaselineError,
  emptyHistory,
  mergeEntries,
  parseBaselineFile,
  safeSegment,
  serializeHistory,
} from './entry.js';
import { corrupt } from './file-store.js';
import { defaultBranch, encodePath, githubErrorMessage, requireGitHub, statusOf } from './github.js';
import type { BaselineContext, BaselineStore, StoreOctokit, HistoryKey, LoadResult, RecordResult } from './types.js';
import { UserError } from '../errors.js';
import type { BaselineEntry } from '../model.js';
export { DEFAULT_DATA_BRANCH } from '../config/baseline.js';

const MAX_ATTEMPTS = 6;

interface ContentFile {
  type?: string;
  encoding?: string;
  content?: string;
  sha: string;
  size?: number;
}

type ReadResult =
  | { state: 'missing'; branchMissing: boolean }
  | { state: 'ok'; sha: string; entries: BaselineEntry[] }
  | { state: 'corrupt'; sha: string; why: string };

export class BranchStore implements BaselineStore {
  readonly kind = 'branch';

  constructor(
    private readonly branch: string,
    private readonly ctx: BaselineContext,
  ) {}

  pathFor(key: HistoryKey): string {
    return `perf-gate/${safeSegment(key.environment)}/${safeSegment(key.phase)}.json`;
  }

  private where(key: HistoryKey): string {
    return `branch ${this.branch}: ${this.pathFor(key)}`;
  }

  async load(key: HistoryKey): Promise<LoadResult> {
    const gh = requireGitHub(this.ctx, `baseline branch:${this.branch}`);
    const location = this.where(key);
    const read = await this.read(gh, key);
    switch (read.state) {
      case 'missing':
        return {
          entries: [],
          location,
          notes: [
            read.branchMissing ? `data branch ${this.branch} does not exist yet` : `no history at ${location} yet`,
          ],
        };
      case 'corrupt':
        return corrupt(this.ctx, `baseline history ${location}`, read.why, location);
      case 'ok':
        return { entries: read.entries, location, notes: [] };
    }
  }

  async record(key: HistoryKey, entry: BaselineEntry): Promise<RecordResult> {
    const gh = requireGitHub(this.ctx, `baseline branch:${this.branch}`);
    const location = this.where(key);
    const path = this.pathFor(key);
    let retries = 0;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const read = await this.read(gh, key);
      let existing: BaselineEntry[] = [];
      let sha: string | undefined;
      if (read.state === 'missing' && read.branchMissing) await this.createBranch(gh);
      if (read.state === 'ok') {
        existing = read.entries;
        sha = read.sha;
      } else if (read.state === 'corrupt') {
        if (this.ctx.onCorrupt === 'error') {
          throw new UserError(
            `baseline history ${location} is corrupt: ${read.why} (fix or delete it, or set baseline on-corrupt: missing to start a new history)`,
          );
        }
        this.ctx.log.warning(`baseline history ${location} is corrupt (${read.why}); replacing it with a new history`);
        sha = read.sha;
      }
      const entries = mergeEntries(existing, [entry], this.ctx.historyLimit);
      const body = serializeHistory({ ...emptyHistory(key), entries });
      try {
        await gh.request(`PUT /repos/{owner}/{repo}/contents/${encodePath(path)}`, {
          owner: this.ctx.git.owner,
          repo: this.ctx.git.repo,
          branch: this.branch,
          // [skip ci]: with a personal token a push here would otherwise start every `on: push` workflow.
          message: `perf-gate: record ${key.phase} (${key.environment}) ${entry.sha ? entry.sha.slice(0, 7) : entry.id} [skip ci]`,
          content: Buffer.from(body, 'utf8').toString('base64'),
          ...(sha ? { sha } : {}),
        });
        return { written: true, location, kept: entries.length, retries };
      } catch (e) {
        const status = statusOf(e);
        if ((status === 409 || status === 422) && attempt < MAX_ATTEMPTS) {
          retries++;
          this.ctx.log.debug(
            `baseline: ${location} changed while writing (HTTP ${status}); re-reading and merging (attempt ${attempt + 1})`,
          );
          await sleep(backoff(attempt, this.ctx.retryBaseMs ?? 200));
          continue;
        }
        throw new Error(
          `cannot write ${location}: ${githubErrorMessage(e)}${status === 403 || status === 404 ? ' (the token needs contents: write)' : ''}`,
        );
      }
    }
    throw new Error(`cannot write ${location}: still conflicting after ${MAX_ATTEMPTS} attempts`);
  }

  private async read(gh: StoreOctokit, key: HistoryKey): Promise<ReadResult> {
    const path = this.pathFor(key);
    let file: ContentFile;
    try {
      const res = await gh.request(`GET /repos/{owner}/{repo}/contents/${encodePath(path)}`, {
        owner: this.ctx.git.owner,
        repo: this.ctx.git.repo,
        ref: this.branch,
        // Never serve a cached copy: a writer retrying after a conflict must see the other writer's version.
        headers: { 'cache-control': 'no-cache' },
      });
      file = res.data as ContentFile;
    } catch (e) {
      if (statusOf(e) === 404) {
        return { state: 'missing', branchMissing: !(await this.branchExists(gh)) };
      }
      throw new Error(`cannot read ${this.where(key)}: ${githubErrorMessage(e)}`);
    }
    if (Array.isArray(file) || (file.type !== undefined && file.type !== 'file')) {
      return { state: 'corrupt', sha: file.sha, why: 'it is a directory, not a file' };
    }
    let base64 = file.content ?? '';
    // Files over 1 MB come back without content; the git blobs API serves them up to 100 MB.
    if (file.encoding === 'none' || (base64 === '' && (file.size ?? 0) > 0)) {
      const blob = await gh.request('GET /repos/{owner}/{repo}/git/blobs/{file_sha}', {
        owner: this.ctx.git.owner,
        repo: this.ctx.git.repo,
        file_sha: file.sha,
      });
      base64 = blob.data.content;
    }
    const text = Buffer.from(base64, 'base64').toString('utf8');
    try {
      const parsed = parseBaselineFile(text);
      if (parsed.kind !== 'history')
        return { state: 'corrupt', sha: file.sha, why: 'it holds a results file, not a perf-gate history' };
      return { state: 'ok', sha: file.sha, entries: parsed.history.entries };
    } catch (e) {
      if (e instanceof CorruptBaselineError) return { state: 'corrupt', sha: file.sha, why: e.message };
      throw e;
    }
  }

  private async branchExists(gh: StoreOctokit): Promise<boolean> {
    try {
      await gh.request(`GET /repos/{owner}/{repo}/git/ref/heads/${encodePath(this.branch)}`, {
        owner: this.ctx.git.owner,
        repo: this.ctx.git.repo,
      });
      return true;
    } catch (e) {
      if (statusOf(e) === 404) return false;
      throw new Error(`cannot look up branch ${this.branch}: ${githubErrorMessage(e)}`);
    }
  }

  /**
   * Created from the default branch's head, as the git refs API needs a commit to point at. The history files
   * then sit beside a copy of the code; nothing reads that code, and the branch is never merged back.
   */
  private async createBranch(gh: StoreOctokit): Promise<void> {
    const from = await defaultBranch(this.ctx);
    if (!from) throw new Error(`cannot create branch ${this.branch}: the default branch is unknown`);
    const head = await gh.request(`GET /repos/{owner}/{repo}/git/ref/heads/${encodePath(from)}`, {
      owner: this.ctx.git.owner,
      repo: this.ctx.git.repo,
    });
    const sha = (head.data as { object?: { sha?: string } }).object?.sha;
    if (!sha) throw new Error(`cannot create branch ${this.branch}: no commit for ${from}`);
    try {
      await gh.request('POST /repos/{owner}/{repo}/git/refs', {
        owner: this.ctx.git.owner,
        repo: this.ctx.git.repo,
        ref: `refs/heads/${this.branch}`,
        sha,
      });
      this.ctx.log.info(`baseline: created data branch ${this.branch} from ${from}`);
    } catch (e) {
      // Another writer created it first: that is what we wanted.
      if (statusOf(e) !== 422)
        throw new Error(
          `cannot create branch ${this.branch}: ${githubErrorMessage(e)}${statusOf(e) === 403 ? ' (the token needs contents: write)' : ''}`,
        );
    }
  }
}

/** Randomised so two writers that collided do not collide again in lockstep. */
function backoff(attempt: number, base: number): number {
  return Math.round(base * attempt * (0.5 + Math.random()));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
