// `artifact[:<name>]`: the results the same workflow uploaded (actions/upload-artifact of the output dir) in its
// latest successful run on the base branch. Nothing to set up beyond the upload step, but artifacts expire
// (90 days by default) and each baseline costs a zip download, so only one run is fetched: the merge base's run
// when it is among the recent ones, else the newest.
//
// Recording cannot upload (artifact uploads go through the runner's internal service, not the REST API). It
// writes perf-gate-history-<environment>-<phase>.json into the output dir instead: the previous artifact's
// history plus this run, so the workflow's upload step carries the history forward and the noise band can build
// up over runs.
//
// Checked only against the local stand-in (__tests__/helpers/github-data-stub.ts), not against github.com:
// the 302 from /actions/artifacts/{id}/zip to a blob URL on another host (the stand-in redirects to itself, so
// the Authorization header is kept there, while fetch drops it on a cross-origin redirect, which is what the
// signed blob URL expects), the zip layout actions/upload-artifact@v4 produces (the reader handles stored and
// deflated entries, with or without data descriptors, but no ZIP64), and the 410 answer for expired artifacts.
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CorruptBaselineError,
  emptyHistory,
  entryFromResultsFile,
  mergeEntries,
  parseBaselineFile,
  safeSegment,
  serializeHistory,
} from './entry.js';
import { corrupt } from './file-store.js';
import { githubErrorMessage, requireGitHub, statusOf } from './github.js';
import type { BaselineContext, BaselineStore, StoreOctokit, HistoryKey, LoadResult, RecordResult } from './types.js';
import { readZip, ZipError } from './zip.js';
import type { BaselineEntry } from '../model.js';
export { DEFAULT_ARTIFACT_NAME } from '../config/baseline.js';

/** Runs looked at before giving up: a run may have no artifact (failed upload, another phase, expired). */
const MAX_RUNS_TRIED = 5;

interface WorkflowRun {
  id: number;
  head_sha: string;
  head_branch: string | null;
  event: string;
  run_attempt?: number;
  html_url?: string;
  created_at?: string;
}

interface Artifact {
  id: number;
  name: string;
  expired: boolean;
}

export function historyFileName(key: HistoryKey): string {
  return `perf-gate-history-${safeSegment(key.environment)}-${safeSegment(key.phase)}.json`;
}

export class ArtifactStore implements BaselineStore {
  readonly kind = 'artifact';

  constructor(
    private readonly name: string,
    private readonly ctx: BaselineContext,
  ) {}

  async load(key: HistoryKey, opts: { branch?: string; preferSha?: string }): Promise<LoadResult> {
    const gh = requireGitHub(this.ctx, `baseline artifact:${this.name}`);
    const branch = opts.branch;
    const base = `artifact ${this.name}`;
    if (!branch) return { entries: [], location: base, notes: ['no branch to look for artifacts on'] };
    const workflow = await this.workflowId(gh);
    const { owner, repo } = this.ctx.git;
    let runs: WorkflowRun[];
    try {
      const res = await gh.request(`GET /repos/{owner}/{repo}/actions/workflows/${encodeURIComponent(workflow)}/runs`, {
        owner,
        repo,
        branch,
        status: 'success',
        per_page: 30,
      });
      runs = ((res.data as { workflow_runs?: WorkflowRun[] }).workflow_runs ?? []).filter(
        // A PR from a fork whose branch is also called `main` must not become main's baseline.
        (r) => r.event !== 'pull_request' && r.event !== 'pull_request_target' && String(r.id) !== this.ctx.git.runId,
      );
    } catch (e) {
      throw new Error(`cannot list runs of workflow ${workflow} on ${branch}: ${githubErrorMessage(e)}`);
    }
    if (runs.length === 0)
      return {
        entries: [],
        location: `${base} (workflow ${workflow} on ${branch})`,
        notes: [`no successful run of workflow ${workflow} on ${branch} yet`],
      };
    const ordered = opts.preferSha
      ? [...runs.filter((r) => r.head_sha === opts.preferSha), ...runs.filter((r) => r.head_sha !== opts.preferSha)]
      : runs;
    const notes: string[] = [];
    for (const run of ordered.slice(0, MAX_RUNS_TRIED)) {
      const location = `${base} of run ${run.id} (${branch} ${run.head_sha.slice(0, 7)})`;
      const artifact = await this.findArtifact(gh, run.id);
      if (!artifact) {
        notes.push(`run ${run.id} has no unexpired artifact ${this.name}`);
        continue;
      }
      let zip: Buffer;
      try {
        zip = await this.download(gh, artifact.id);
      } catch (e) {
        if (statusOf(e) === 410) {
          notes.push(`artifact of run ${run.id} has expired`);
          continue;
        }
        throw new Error(`cannot download ${location}: ${githubErrorMessage(e)}`);
      }
      try {
        const entries = this.entriesFromZip(zip, key, run);
        if (entries.length === 0) {
          notes.push(`${location} holds no results for phase ${key.phase}`);
          continue;
        }
        return { entries, location, notes };
      } catch (e) {
        if (e instanceof CorruptBaselineError || e instanceof ZipError)
          return corrupt(this.ctx, `baseline ${location}`, e.message, location);
        throw e;
      }
    }
    return {
      entries: [],
      location: `${base} (workflow ${workflow} on ${branch})`,
      notes: notes.length ? notes : ['no artifact found'],
    };
  }

  async record(key: HistoryKey, entry: BaselineEntry): Promise<RecordResult> {
    const dir = this.ctx.outputDir;
    const file = historyFileName(key);
    if (!dir) return { written: false, location: file, note: 'no output dir to write the history into' };
    let previous: BaselineEntry[] = [];
    try {
      previous = (await this.load(key, { ...(entry.branch ? { branch: entry.branch } : {}) })).entries;
    } catch (e) {
      if (e instanceof Error && e.name === 'UserError') throw e;
      this.ctx.log.warning(
        `baseline: cannot read the previous artifact (${githubErrorMessage(e)}); the history restarts with this run`,
      );
    }
    const entries = mergeEntries(previous, [entry], this.ctx.historyLimit);
    await mkdir(dir, { recursive: true });
    const path = join(dir, file);
    await writeFile(`${path}.tmp`, serializeHistory({ ...emptyHistory(key), entries }));
    await rename(`${path}.tmp`, path);
    return {
      written: true,
      location: path,
      kept: entries.length,
      note: `uploaded by the workflow's upload-artifact step as ${this.name}`,
    };
  }

  private entriesFromZip(zip: Buffer, key: HistoryKey, run: WorkflowRun): BaselineEntry[] {
    const histName = historyFileName(key);
    const files = readZip(zip, (n) => n.endsWith('.json'));
    const byBase = (suffix: string): Buffer | undefined =>
      files.find((f) => f.name === suffix || f.name.endsWith(`/${suffix}`))?.data;
    const history = byBase(histName);
    if (history) {
      const parsed = parseBaselineFile(history.toString('utf8'));
      if (parsed.kind === 'history') return parsed.history.entries;
    }
    const results = files.filter((f) => f.name === 'results.json' || f.name.endsWith('/results.json'));
    const entries: BaselineEntry[] = [];
    for (const f of results) {
      let parsed;
      try {
        parsed = parseBaselineFile(f.data.toString('utf8'));
      } catch (e) {
        if (e instanceof CorruptBaselineError) throw new CorruptBaselineError(`${f.name}: ${e.message}`);
        throw e;
      }
      if (parsed.kind !== 'results' || parsed.run.phase !== key.phase) continue;
      entries.push(
        entryFromResultsFile(parsed.run, {
          environment: key.environment,
          sha: run.head_sha,
          ...(run.head_branch ? { branch: run.head_branch } : {}),
          id: `${run.id}.${run.run_attempt ?? 1}`,
          ...(run.html_url ? { runUrl: run.html_url } : {}),
        }),
      );
    }
    return entries;
  }

  private async findArtifact(gh: StoreOctokit, runId: number): Promise<Artifact | undefined> {
    const res = await gh.request('GET /repos/{owner}/{repo}/actions/runs/{run_id}/artifacts', {
      owner: this.ctx.git.owner,
      repo: this.ctx.git.repo,
      run_id: runId,
      name: this.name,
      per_page: 100,
    });
    return (res.data.artifacts as Artifact[]).find((a) => a.name === this.name && !a.expired);
  }

  private async download(gh: StoreOctokit, artifactId: number): Promise<Buffer> {
    // Answers 302 to a short-lived blob URL; fetch follows it. The body is the zip (application/zip), which
    // Octokit hands back as an ArrayBuffer.
    const res = await gh.request('GET /repos/{owner}/{repo}/actions/artifacts/{artifact_id}/{archive_format}', {
      owner: this.ctx.git.owner,
      repo: this.ctx.git.repo,
      artifact_id: artifactId,
      archive_format: 'zip',
    });
    const data: unknown = res.data;
    if (data instanceof ArrayBuffer) return Buffer.from(data);
    if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    throw new ZipError(`the download was not a zip (got ${typeof data})`);
  }

  /** The workflow file (from GITHUB_WORKFLOW_REF) names the workflow for the API; else ask for this run's. */
  private async workflowId(gh: StoreOctokit): Promise<string> {
    if (this.ctx.git.workflow) return this.ctx.git.workflow;
    if (!this.ctx.git.runId)
      throw new Error(
        'baseline artifact: cannot tell which workflow to look in (no GITHUB_WORKFLOW_REF or GITHUB_RUN_ID)',
      );
    const res = await gh.request('GET /repos/{owner}/{repo}/actions/runs/{run_id}', {
      owner: this.ctx.git.owner,
      repo: this.ctx.git.repo,
      run_id: Number(this.ctx.git.runId),
    });
    return String(res.data.workflow_id);
  }
}
