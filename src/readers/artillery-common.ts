// What the Artillery 1 and Artillery 2 report readers share: the report's envelope, how a response status and a
// transport error count, the skipped-load verdict and the notes on errors outside the error rate. The two
// formats name their figures differently (codes and scenariosAvoided in 1, counters such as http.codes.200 and
// vusers.skipped in 2); each reader finds them, and this module applies the one rule for both.
import type { ErrorKind, IntervalResult, LatencyStats, RunResult } from '../model.js';
import type { JsonResultReader, ReadOptions } from './types.js';
import {
  addCount,
  emptyResult,
  obj,
  readJsonFile,
  statusIsError,
  statusKind,
  transportErrorKind,
  type Obj,
} from './util.js';
import { UserError } from '../errors.js';

/** Artillery (1 and 2) reports its intermediate stats every 10 s unless configured otherwise. */
export const ARTILLERY_PERIOD_MS = 10_000;

/** Keys only an Artillery 1 report has: they tell the two formats apart, which both start with "aggregate". */
export const artilleryV1Markers = /"(scenariosCreated|scenariosCompleted|requestsCompleted)"\s*:/;

/** The counts both formats give for the whole run and for each period. */
export interface ArtilleryCounts {
  requests: number;
  errors: number;
  errorsByKind: Partial<Record<ErrorKind, number>>;
  statusCodes: Record<string, number>;
}

/** The report's root and aggregate objects and an empty result for it; a report without "aggregate" is refused. */
export function artilleryReport(
  doc: unknown,
  path: string,
  opts: ReadOptions,
  version: '1' | '2',
): { root: Obj; aggregate: Obj; r: RunResult } {
  const root = obj(doc);
  const aggregate = root ? obj(root.aggregate) : undefined;
  if (!root || !aggregate)
    throw new UserError(`Results file ${path} is not an Artillery ${version} report: it has no "aggregate" object`);
  const r = emptyResult(path, opts, 'artillery');
  r.tool = { name: 'artillery', version };
  return { root, aggregate, r };
}

/** Counts `n` responses with HTTP status `code`; returns how many of them are errors under the run's definition. */
export function addStatus(
  statusCodes: Record<string, number>,
  errorsByKind: Partial<Record<ErrorKind, number>>,
  code: string,
  n: number,
  opts: ReadOptions,
): number {
  const status = Number(code);
  statusCodes[code] = (statusCodes[code] ?? 0) + n;
  const kind = statusKind(status);
  if (kind) addCount(errorsByKind, kind, n);
  return statusIsError(status, opts) ? n : 0;
}

/** Counts `n` errors named `key` when they are transport errors (ETIMEDOUT, ECONNRESET, ...); false for any other error. */
export function addTransportError(errorsByKind: Partial<Record<ErrorKind, number>>, key: string, n: number): boolean {
  const kind = transportErrorKind(key);
  if (!kind) return false;
  addCount(errorsByKind, kind, n);
  return true;
}

export function setCounts(r: RunResult, c: ArtilleryCounts): void {
  r.requests = c.requests;
  r.errors = c.errors;
  r.errorsByKind = c.errorsByKind;
  r.statusCodes = c.statusCodes;
}

/** One reporting period's counts as an interval `startMs` into the run. */
export function periodResult(
  startMs: number,
  durationMs: number,
  c: ArtilleryCounts,
  latency: LatencyStats,
): IntervalResult {
  return { startMs, durationMs, requests: c.requests, errors: c.errors, latency };
}

/**
 * Virtual users Artillery skipped because the maxVusers cap was reached: the load asked for was not sent, so the
 * generator is invalid. `counter` names the report's figure and `noun` what it counts (scenarios in 1, virtual
 * users in 2).
 */
export function setGenerator(
  r: RunResult,
  created: number | undefined,
  skipped: number,
  counter: string,
  noun: string,
): void {
  if (skipped > 0) {
    r.generator = {
      arrivalsScheduled: (created ?? 0) + skipped,
      arrivalsStarted: created,
      arrivalsDropped: skipped,
      valid: false,
      invalidReasons: [
        `Artillery skipped ${skipped} ${noun}${skipped === 1 ? '' : 's'} (${counter}, the maxVusers cap was reached): the load asked for was not sent.`,
      ],
    };
  } else if (created !== undefined) {
    r.generator.arrivalsStarted = created;
  }
}

/** The note on errors that are not HTTP request errors (script errors, failed captures), by name and count. */
export function nonHttpErrorsNote(errors: Array<[string, number]>, opts: { names: boolean }): string | undefined {
  if (errors.length === 0) return undefined;
  const total = errors.reduce((a, [, n]) => a + n, 0);
  const names = opts.names
    ? ` (${errors
        .slice(0, 3)
        .map(([k]) => `"${k}"`)
        .join(', ')}${errors.length > 3 ? ', ...' : ''})`
    : '';
  return `${total} error${total === 1 ? '' : 's'} that are not HTTP request errors${names} are not in the error rate; they are in customMetrics as artillery.errors.*.`;
}

export function artilleryReader(
  format: 'artillery-v1' | 'artillery-v2',
  detect: (head: string) => boolean,
  fromDocument: JsonResultReader['fromDocument'],
): JsonResultReader {
  return {
    format,
    detect,
    async read(path: string, opts: ReadOptions): Promise<RunResult> {
      const { doc } = await readJsonFile(path);
      return fromDocument(doc, path, opts);
    },
    fromDocument,
  };
}
