import { JsonLimitError, parseJsonBounded } from '../json.js';
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { compactHistogram } from '../metrics/histogram.js';
import { shapeOf } from '../gate/comparable.js';
import { ENGINES, type RunResult, type BaselineEntry } from '../model.js';
import { HISTORY_KIND, type GitContext, type HistoryFile, type HistoryKey } from './types.js';
import { messageOf } from '../errors.js';

export function entryId(git: GitContext, run: RunResult): string {
  if (git.runId) return `${git.runId}.${git.runAttempt ?? '1'}`;
  // Two local runs can start in the same millisecond: the process's own nonce keeps their ids apart (and stays the
  // same for every call in this process, so a run can still recognise its own entry).
  return `${git.sha ?? 'local'}@${run.startedAt}~${PROCESS_NONCE}`;
}

const PROCESS_NONCE = `${process.pid.toString(36)}${randomBytes(4).toString('hex')}`;

export function entryFromRun(
  run: RunResult,
  opts: { environment: string; git: GitContext; branch?: string; id?: string },
): BaselineEntry {
  const shape = shapeOf(run);
  const metrics: BaselineEntry['metrics'] = {};
  const put = (k: keyof BaselineEntry['metrics'], v: number | undefined): void => {
    if (v !== undefined && Number.isFinite(v)) metrics[k] = v;
  };
  put('p50', run.latency.p50);
  put('p90', run.latency.p90);
  put('p95', run.latency.p95);
  put('p99', run.latency.p99);
  put('p999', run.latency.p999);
  put('max', run.latency.max);
  put('mean', run.latency.mean);
  put('error_rate', run.errorRate);
  put('throughput', run.throughputRps);
  const branch = opts.branch ?? opts.git.branch;
  return {
    id: opts.id ?? entryId(opts.git, run),
    ...(opts.git.sha ? { sha: opts.git.sha } : {}),
    ...(branch ? { branch } : {}),
    createdAt: run.endedAt || new Date().toISOString(),
    engine: run.engine,
    phase: run.phase,
    environment: opts.environment,
    shape: shape.fingerprint,
    shapeSummary: shape.summary,
    ...(shape.durationScale === undefined ? {} : { durationScale: shape.durationScale }),
    requests: run.requests,
    errors: run.errors,
    metrics,
    ...(run.histogram && run.histogram.count > 0 ? { histogram: compactHistogram(run.histogram) } : {}),
    ...(opts.git.runUrl ? { runUrl: opts.git.runUrl } : {}),
    ...statementsOf(run),
  };
}

/** The busiest database's top statements by total time, kept small: twenty queryids with their mean and calls. */
function statementsOf(run: RunResult): Pick<BaselineEntry, 'statements'> {
  const db = [...(run.database ?? [])].sort((a, b) => (b.totalMs ?? 0) - (a.totalMs ?? 0))[0];
  const statements = (db?.statements ?? [])
    .slice(0, STATEMENTS_KEPT)
    .map((s) => ({ queryid: s.queryid, meanMs: s.meanMs, calls: s.calls }));
  return statements.length ? { statements } : {};
}

const STATEMENTS_KEPT = 20;

// ---- file formats -------------------------------------------------------------------------------------------

const histogramSchema = z.object({
  layout: z.literal('loglinear-us-1024'),
  count: z.number().nonnegative(),
  minUs: z.number(),
  maxUs: z.number(),
  sumUs: z.number(),
  buckets: z.array(z.tuple([z.number().int().nonnegative(), z.number().nonnegative()])),
});

const finite = z.number().refine(Number.isFinite, 'expected a finite number');

export const entrySchema = z.object({
  id: z.string().min(1),
  sha: z.string().optional(),
  branch: z.string().optional(),
  createdAt: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'expected an ISO date'),
  engine: z.enum(ENGINES),
  phase: z.string(),
  environment: z.string(),
  shape: z.string(),
  shapeSummary: z.string().optional(),
  durationScale: z.number().optional(),
  requests: z.number().nonnegative(),
  errors: z.number().nonnegative(),
  metrics: z.object({
    p50: finite.optional(),
    p90: finite.optional(),
    p95: finite.optional(),
    p99: finite.optional(),
    p999: finite.optional(),
    max: finite.optional(),
    mean: finite.optional(),
    error_rate: finite.optional(),
    throughput: finite.optional(),
  }),
  histogram: histogramSchema.optional(),
  runUrl: z.string().optional(),
  statements: z.array(z.object({ queryid: z.string(), meanMs: finite, calls: z.number().nonnegative() })).optional(),
});

const historySchema = z.object({
  schemaVersion: z.literal(1),
  kind: z.literal(HISTORY_KIND),
  environment: z.string(),
  phase: z.string(),
  entries: z.array(entrySchema),
});

// Only what an entry needs from a results file; the rest of RunResult is not ours to validate.
const resultsSchema = z
  .object({
    schemaVersion: z.literal(1),
    run: z
      .object({
        schemaVersion: z.literal(1),
        engine: z.enum(ENGINES),
        phase: z.string(),
        startedAt: z.string(),
        endedAt: z.string(),
        requests: z.number(),
        errors: z.number(),
        latency: z.object({ count: z.number() }).loose(),
        histogram: histogramSchema.optional(),
      })
      .loose(),
  })
  .loose();

export class CorruptBaselineError extends Error {
  override name = 'CorruptBaselineError';
}

export type ParsedBaselineFile = { kind: 'history'; history: HistoryFile } | { kind: 'results'; run: RunResult };

/** Reads a history file or a perf-gate results file; anything else is corrupt, with the reason. */
export function parseBaselineFile(text: string): ParsedBaselineFile {
  let json: unknown;
  try {
    json = parseJsonBounded(text);
  } catch (e) {
    if (e instanceof JsonLimitError) throw new CorruptBaselineError(`not usable: ${e.message}`);
    throw new CorruptBaselineError(`not valid JSON (${messageOf(e)})`);
  }
  if (json && typeof json === 'object' && (json as { kind?: unknown }).kind === HISTORY_KIND) {
    const parsed = historySchema.safeParse(json);
    if (!parsed.success) throw new CorruptBaselineError(`not a valid perf-gate history: ${firstIssue(parsed.error)}`);
    return { kind: 'history', history: parsed.data as HistoryFile };
  }
  const parsed = resultsSchema.safeParse(json);
  if (!parsed.success) {
    throw new CorruptBaselineError(
      `neither a perf-gate history nor a perf-gate results file (schemaVersion 1): ${firstIssue(parsed.error)}`,
    );
  }
  return { kind: 'results', run: parsed.data.run as unknown as RunResult };
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'invalid';
  const path = issue.path.map(String).join('.');
  return `${path || '(top level)'}: ${issue.message}`;
}

export function emptyHistory(key: HistoryKey): HistoryFile {
  return { schemaVersion: 1, kind: HISTORY_KIND, environment: key.environment, phase: key.phase, entries: [] };
}

/**
 * Adds entries (by id: a re-applied write replaces its own entry, never duplicates it), oldest first, keeping the
 * newest `limit`. Both concurrent writers end up with the union of their entries.
 */
export function mergeEntries(existing: BaselineEntry[], added: BaselineEntry[], limit: number): BaselineEntry[] {
  const byId = new Map<string, BaselineEntry>();
  for (const e of existing) byId.set(e.id, e);
  for (const e of added) byId.set(e.id, e);
  const all = [...byId.values()].sort(
    (a, b) => Date.parse(a.createdAt) - Date.parse(b.createdAt) || a.id.localeCompare(b.id),
  );
  return all.slice(Math.max(0, all.length - limit));
}

/** One entry per line: the data branch's diffs then show which run was added and which fell off. */
export function serializeHistory(history: HistoryFile): string {
  const head = JSON.stringify({
    schemaVersion: history.schemaVersion,
    kind: history.kind,
    environment: history.environment,
    phase: history.phase,
  });
  const lines = history.entries.map((e) => JSON.stringify(e));
  return `${head.slice(0, -1)},"entries":[\n${lines.join(',\n')}\n]}\n`;
}

/** A results file as a history of one, for stores that found `results.json` rather than a history. */
export function entryFromResultsFile(
  run: RunResult,
  meta: { environment: string; sha?: string; branch?: string; id: string; runUrl?: string },
): BaselineEntry {
  const git: GitContext = {
    owner: '',
    repo: '',
    eventName: '',
    ...(meta.sha ? { sha: meta.sha } : {}),
    ...(meta.runUrl ? { runUrl: meta.runUrl } : {}),
  };
  return entryFromRun(run, {
    environment: meta.environment,
    git,
    ...(meta.branch ? { branch: meta.branch } : {}),
    id: meta.id,
  });
}

/** Path segments for the data branch: environment and phase names come from users. */
export function safeSegment(s: string): string {
  return s.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_') || '_';
}
