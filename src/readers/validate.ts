// Result files are data someone else wrote: checked as data before anything is judged on them. A count that is
// negative, fractional or not a number, more answers than requests, or percentiles that are not finite or not in
// order mean the file is broken (or forged), and a broken file must be an error naming the file and the field,
// never a run that passes because the bad value was skipped or read as 0.
import type { LatencyStats, RunResult } from '../model.js';
import { UserError } from '../errors.js';

/** Parents whose every value is a count in the tools' JSON (Artillery's `counters` and `codes`, k6's `count`). */
const COUNT_PARENTS = new Set(['counters', 'codes', 'errors']);
const COUNT_KEYS = new Set(['count', 'passes', 'fails', 'scenariosCreated', 'scenariosCompleted', 'requestsCompleted']);
/**
 * Parents whose numbers are statistics: finite where present. Their order is checked on the RunResult, for the
 * figures the gate judges: the tools' custom summaries may hold sentinels (Artillery's server-timing gives -1).
 */
const STAT_PARENTS = new Set(['summaries', 'histograms', 'latency', 'values', 'scenarioDuration']);

/**
 * The raw document, before a reader (which skips what it cannot use) sees it: counts must be non-negative whole
 * numbers, statistics finite numbers. `path` names the file in the message.
 */
export function validateDocument(doc: unknown, path: string): void {
  walk(doc, [], path, 0);
}

function walk(v: unknown, at: string[], file: string, depth: number): void {
  if (depth > 12 || v === null || typeof v !== 'object') return;
  const parent = at[at.length - 1] ?? '';
  const grand = at[at.length - 2] ?? '';
  const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
  for (const [k, x] of entries) {
    const here = [...at, k];
    if (COUNT_PARENTS.has(parent) || COUNT_KEYS.has(k)) {
      if (typeof x === 'object' && x !== null) {
        walk(x, here, file, depth + 1);
        continue;
      }
      if (COUNT_PARENTS.has(parent) && parent === 'errors' && typeof x !== 'number') continue; // k6 lists error texts here
      if (!isCount(x)) throw bad(file, here, x, 'a count: a whole number, 0 or more');
      continue;
    }
    if (STAT_PARENTS.has(parent) || STAT_PARENTS.has(grand)) {
      if (typeof x === 'number' && !Number.isFinite(x)) throw bad(file, here, x, 'a finite number');
      if (typeof x === 'string' && /^(nan|-?inf(inity)?)$/i.test(x.trim())) throw bad(file, here, x, 'a finite number');
    }
    walk(x, here, file, depth + 1);
  }
}

/** The RunResult a reader made of a file: the same rules on the figures the gate will judge. */
export function validateRunResult(run: RunResult, file: string): RunResult {
  const where = (field: string): string => `Results file ${file}: ${field}`;
  const count = (field: string, v: unknown): void => {
    if (!isCount(v)) throw new UserError(`${where(field)} is ${show(v)}; expected a count: a whole number, 0 or more`);
  };
  const figures = (
    prefix: string,
    f: { requests: number; errors: number; statusCodes?: Record<string, number>; latency: LatencyStats },
  ): void => {
    count(`${prefix}requests`, f.requests);
    count(`${prefix}errors`, f.errors);
    if (f.errors > f.requests)
      throw new UserError(`${where(`${prefix}errors`)} (${f.errors}) is more than ${prefix}requests (${f.requests})`);
    let answered = 0;
    for (const [code, n] of Object.entries(f.statusCodes ?? {})) {
      count(`${prefix}statusCodes.${code}`, n);
      answered += n;
    }
    if (answered > f.requests)
      throw new UserError(
        `${where(`${prefix}statusCodes`)}: ${answered} responses for ${f.requests} requests; responses cannot outnumber requests`,
      );
    latency(`${prefix}latency`, f.latency, where);
  };
  figures('', run);
  for (const [kind, n] of Object.entries(run.errorsByKind ?? {})) count(`errorsByKind.${kind}`, n);
  for (const e of run.endpoints ?? []) figures(`endpoints["${e.name}"].`, e);
  (run.intervals ?? []).forEach((iv, i) => {
    figures(`intervals[${i}].`, iv);
  });
  return run;
}

function latency(field: string, l: LatencyStats | undefined, where: (f: string) => string): void {
  if (!l) return;
  if (!isCount(l.count))
    throw new UserError(`${where(`${field}.count`)} is ${show(l.count)}; expected a count: a whole number, 0 or more`);
  const order: Array<keyof LatencyStats> = ['min', 'p50', 'p90', 'p95', 'p99', 'p999', 'max'];
  let prev: [string, number] | undefined;
  for (const k of [...order, 'mean' as const]) {
    const v = l[k];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new UserError(`${where(`${field}.${k}`)} is ${show(v)}; expected a finite number of ms, 0 or more`);
  }
  for (const k of order) {
    const v = l[k];
    if (v === undefined) continue;
    if (prev && v < prev[1] - tolerance(prev[1])) {
      throw new UserError(
        `${where(`${field}.${k}`)} is ${v}, below ${field}.${prev[0]} (${prev[1]}); percentiles must be in order (p50 <= p95 <= p99 <= max)`,
      );
    }
    prev = [k, v];
  }
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}

/**
 * What the tools' own output is allowed: Artillery's percentiles come from a DDSketch with about 1 % relative
 * accuracy, so a genuine report can give p99 9999.2 with max 9992, or p50 8.9 with min 9 (seen in the real
 * outputs in __tests__/fixtures). Out of order by more than 3 % is not rounding.
 */
function tolerance(v: number): number {
  return Math.max(1e-6, Math.abs(v) * 0.03);
}

function bad(file: string, at: string[], v: unknown, expected: string): UserError {
  return new UserError(`Results file ${file}: ${at.join('.')} is ${show(v)}; expected ${expected}`);
}

function show(v: unknown): string {
  const s = typeof v === 'string' ? JSON.stringify(v) : String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
