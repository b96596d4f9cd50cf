// Infrastructure metrics (CloudWatch, Prometheus, PostgreSQL, Redis, CloudWatch Logs) and slow statements as both renderers show them.
// A metric a source could not read is `—` with the source's reason beside it: a 0 there would claim an idle
// machine, which is exactly the wrong conclusion for a gate to draw from missing data.
import type { InfraMetric, RunResult, SlowQuery, SourceKind } from '../model.js';
import { formatCount, formatMs, formatPercent, formatRate, MISSING } from '../format.js';

export const SOURCE_NAMES: Record<SourceKind, string> = {
  cloudwatch: 'CloudWatch',
  prometheus: 'Prometheus',
  postgres: 'PostgreSQL',
  redis: 'Redis',
  'cloudwatch-logs': 'CloudWatch Logs',
};

/** pg_stat_statements lists can be long; the report keeps the slowest few and the results file has the rest. */
export const SLOW_QUERIES_SHOWN = 10;
/** Longest statement text in the report, in characters; the results file keeps up to the source's 500. */
export const STATEMENT_CHARS = 120;

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'] as const;

/** Binary units, as memory limits are set in them (a 512 MiB container shows as 512 MiB, not 537 MB). */
export function formatBytes(bytes: number | undefined): string {
  if (bytes === undefined || !Number.isFinite(bytes)) return MISSING;
  let v = bytes;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < BYTE_UNITS.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? formatCount(Math.round(v)) : formatCount(Number(v.toPrecision(3)))} ${BYTE_UNITS[i]}`;
}

export function formatInfra(value: number | undefined, unit: InfraMetric['unit']): string {
  switch (unit) {
    case '%':
      return formatPercent(value);
    case 'count':
      return formatCount(value);
    case 'ms':
      return formatMs(value);
    case '/s':
      return formatRate(value);
    case 'bytes':
      return formatBytes(value);
  }
}

/** Whitespace folded, then cut to `max` characters (code points, so an emoji or `…` is never split). */
export function truncateText(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  const chars = [...flat];
  return chars.length <= max
    ? flat
    : `${chars
        .slice(0, max - 1)
        .join('')
        .trimEnd()}…`;
}

export interface InfraRow {
  /** The metric's name as targets refer to it. */
  name: string;
  source: string;
  max: string;
  mean: string;
  p95: string;
  limit: string;
  /** What was queried, or why it could not be read. */
  query: string;
  unavailable?: string;
}

/** One row per metric a source reported, in the order the sources were configured. */
export function infraRows(run: RunResult): InfraRow[] {
  return (run.infra ?? []).map((m) => {
    const row: InfraRow = {
      name: m.name,
      source: SOURCE_NAMES[m.source] ?? m.source,
      // An unavailable metric has no stats; `—` even if a source left a stray number behind.
      max: m.unavailable ? MISSING : formatInfra(m.stats.max, m.unit),
      mean: m.unavailable ? MISSING : formatInfra(m.stats.mean, m.unit),
      p95: m.unavailable ? MISSING : formatInfra(m.stats.p95, m.unit),
      limit: formatInfra(m.limit, m.unit),
      query: m.query,
    };
    if (m.unavailable) row.unavailable = m.unavailable;
    return row;
  });
}

/** The slowest statements by mean time, at most `SLOW_QUERIES_SHOWN`. */
export function slowestQueries(run: RunResult): SlowQuery[] {
  return [...(run.slowQueries ?? [])].sort((a, b) => b.meanMs - a.meanMs).slice(0, SLOW_QUERIES_SHOWN);
}
