// Entry point of the results readers: recognise a file by its content, read it into a RunResult, and merge
// several files (workers or instances of one run) into one.
import { resolve } from 'node:path';
import type { RunResult } from '../model.js';
import { artilleryV1Reader } from './artillery-v1.js';
import { artilleryV2Reader } from './artillery-v2.js';
import { k6HandleSummaryReader } from './k6-handle-summary.js';
import { k6NdjsonReader } from './k6-ndjson.js';
import { k6SummaryExportReader } from './k6-summary-export.js';
import { mergeRunResults } from './merge.js';
import { perfGateReader } from './perf-gate.js';
import { mergeShards } from './shards.js';
import {
  FORMAT_DESCRIPTIONS,
  RESULT_FORMATS,
  type JsonResultReader,
  type ReadOptions,
  type ResultFormat,
  type ResultReader,
} from './types.js';
import { validateDocument, validateRunResult } from './validate.js';
import { getMeta, inspectFile, isObj, looksLikeJsonObject, parseJsonDocument, readHead, readText } from './util.js';
import { UserError } from '../errors.js';
import { formatDurationCompact } from '../format.js';

export { FORMAT_DESCRIPTIONS, RESULT_FORMATS, mergeRunResults };
export type { ReadOptions, ResultFormat, ResultReader };

export function readerFor(format: ResultFormat): ResultReader {
  switch (format) {
    case 'artillery-v2':
      return artilleryV2Reader;
    case 'artillery-v1':
      return artilleryV1Reader;
    case 'k6-summary-export':
      return k6SummaryExportReader;
    case 'k6-handle-summary':
      return k6HandleSummaryReader;
    case 'k6-ndjson':
      return k6NdjsonReader;
    case 'perf-gate':
      return perfGateReader;
  }
}

/** The reader that can also take an already parsed document (every format but the line-by-line NDJSON). */
function jsonReader(format: ResultFormat): JsonResultReader | undefined {
  const reader = readerFor(format);
  return 'fromDocument' in reader ? (reader as JsonResultReader) : undefined;
}

// NDJSON first (its first line is also a JSON object); Artillery 1 before 2 (1 has the more specific keys);
// handleSummary before summary-export (summary-export is recognised partly by what it lacks).
// perf-gate's own file first: its nested run is recognised by one unambiguous key order.
const DETECTION_ORDER: readonly ResultFormat[] = [
  'perf-gate',
  'k6-ndjson',
  'artillery-v1',
  'artillery-v2',
  'k6-handle-summary',
  'k6-summary-export',
];

/** The format of a file from its first kilobytes, or undefined. */
export function detectFormat(head: string): ResultFormat | undefined {
  return DETECTION_ORDER.find((f) => readerFor(f).detect(head));
}

/**
 * The top of a JSON document with every object cut to its first keys and every array to its first items, so
 * the markers detection looks for come first even when a large section precedes them in the file.
 */
function skeleton(v: unknown, depth = 0): unknown {
  if (depth > 3) return null;
  if (Array.isArray(v)) return v.slice(0, 2).map((x) => skeleton(x, depth + 1));
  if (isObj(v)) {
    const out: Record<string, unknown> = {};
    let i = 0;
    for (const [k, x] of Object.entries(v)) {
      if (i++ >= 40) break;
      out[k] = skeleton(x, depth + 1);
    }
    return out;
  }
  return typeof v === 'string' ? v.slice(0, 100) : v;
}

function acceptedList(): string {
  return RESULT_FORMATS.map((f) => `  - ${FORMAT_DESCRIPTIONS[f]}`).join('\n');
}

function unknownFormat(path: string, head: string): UserError {
  const start = head.replace(/^\s+/, '');
  let hint = '';
  if (start.startsWith('<'))
    hint = ' It looks like HTML or XML (an HTML report?); give perf-gate the JSON output instead.';
  else if (/█|✓|✗|\.{6,}:/.test(start.slice(0, 4000)))
    hint = " It looks like k6's text summary; use --summary-export, handleSummary() JSON or --out json.";
  else if (start.startsWith('['))
    hint = ' It is a JSON array; the formats above are a JSON object or one JSON object per line.';
  return new UserError(
    `Results file ${path} is not in a format perf-gate can read.${hint} Accepted (recognised by content, not by file name):\n${acceptedList()}`,
  );
}

/**
 * Read one results file (any accepted format, plain or gzip) into a RunResult, checked as data (validate.ts): a
 * negative or non-numeric count, more responses than requests or percentiles out of order are an error naming the
 * file and the field, never a pass.
 */
export async function readResultFile(path: string, opts: ReadOptions): Promise<RunResult> {
  return validateRunResult(await readUnchecked(path, opts, (doc) => validateDocument(doc, path)), path);
}

async function readUnchecked(
  path: string,
  opts: ReadOptions,
  checkDocument: (doc: unknown) => void,
): Promise<RunResult> {
  const info = await inspectFile(path);
  const head = await readHead(path, info);
  const format = detectFormat(head);
  if (format) {
    const jr = jsonReader(format);
    if (!jr) return readerFor(format).read(path, opts);
    const doc = parseJsonDocument(await readText(path, info), path);
    checkDocument(doc);
    return jr.fromDocument(doc, path, opts);
  }
  if (!looksLikeJsonObject(head)) throw unknownFormat(path, head);
  // A JSON object whose identifying keys lie beyond the first kilobytes: look again at its skeleton.
  const doc = parseJsonDocument(await readText(path, info), path);
  const again = detectFormat(JSON.stringify(skeleton(doc)));
  const jr = again ? jsonReader(again) : undefined;
  if (!jr) throw unknownFormat(path, head);
  checkDocument(doc);
  return jr.fromDocument(doc, path, opts);
}

/**
 * Read several files of one run (Artillery workers, k6 instances) and merge them. Counts add up; latency
 * merges exactly when every file has a distribution (k6 NDJSON, Artillery 1) and is otherwise an estimate
 * that the result's notes describe.
 */
export async function readResults(paths: string[], opts: ReadOptions): Promise<RunResult> {
  if (paths.length === 0) throw new UserError('No results files were given.');
  const seen = new Set<string>();
  for (const p of paths) {
    const abs = resolve(p);
    if (seen.has(abs)) throw new UserError(`Results file ${p} is listed twice; its requests would be counted twice.`);
    seen.add(abs);
  }
  // One at a time: NDJSON files can be large, and memory should not grow with the number of files.
  const results: RunResult[] = [];
  for (const p of paths) results.push(await readResultFile(p, opts));
  // Shards of one run merge by their own rules: all of them, once each, of the same run.
  if (results.some((r) => r.shard)) return mergeShards(results, opts);
  const apart = separateRuns(results);
  if (apart) throw new UserError(apart);
  // A run of perf-gate's own is judged as the phase it ran: a recovery's figures under warm-up targets are neither.
  const other = results.find((r) => getMeta(r)?.wholeRun && r.phase !== opts.phase);
  if (other) {
    throw new UserError(
      `results: ${other.sourceFiles?.[0] ?? 'the file'} is a run of phase "${other.phase}", but this job's phase is "${opts.phase}"; set phase: ${other.phase} (--phase ${other.phase}) to judge it, so that phase's targets and analyses apply`,
    );
  }
  return mergeRunResults(results, opts);
}

/**
 * Files merged without shard information must be parts of one run that ran side by side (Artillery workers, k6
 * instances). A perf-gate results.json is a whole run of its own, and files whose time windows do not overlap ran
 * one after the other: adding them up would judge a warm-up and a recovery as one long, light "warmup". The
 * message says which runs were given, so each can be judged in a step of its own.
 */
export function separateRuns(results: readonly RunResult[]): string | undefined {
  if (results.length < 2) return undefined;
  const files = results.map((r) => r.sourceFiles?.[0] ?? 'file');
  const describe = (r: RunResult, i: number): string =>
    `${files[i]} (${getMeta(r)?.wholeRun ? `phase ${r.phase}, ` : ''}started ${r.startedAt}, ${formatDurationCompact(r.durationMs)})`;
  const advice =
    'perf-gate merges only the files of one run: the workers of one tool run, or every shard of one sharded run. Judge each run in a step of its own (one results: file each).';
  const whole = results.map((r, i) => (getMeta(r)?.wholeRun ? i : -1)).filter((i) => i >= 0);
  if (whole.length > 0) {
    return `results: ${whole.map((i) => describe(results[i]!, i)).join(' and ')} ${whole.length === 1 ? 'is a whole perf-gate run' : 'are whole perf-gate runs'} of ${whole.length === 1 ? 'its' : 'their'} own, given with ${results.length - 1} other file${results.length === 2 ? '' : 's'}; they are never added up. ${advice}`;
  }
  const timed = results.map((r, i) => ({ r, i })).filter(({ r }) => !getMeta(r)?.timesEstimated);
  if (timed.length < 2) return undefined;
  const start = Math.max(...timed.map(({ r }) => Date.parse(r.startedAt)));
  const end = Math.min(...timed.map(({ r }) => Date.parse(r.endedAt)));
  if (start < end) return undefined;
  return `results: these files ran one after another, not side by side (their time windows do not overlap): ${timed.map(({ r, i }) => describe(r, i)).join('; ')}. ${advice}`;
}
