// What every infrastructure source offers the pipeline. A source never throws its way into the load test: start()
// only begins sampling (and remembers a failure), collect() reports a failure as `unavailable` metrics, and
// index.ts bounds both with timeouts in case a source misbehaves anyway.
import type { BaselineRow, DatabaseActivity, InfraMetric, LogSummary, SlowQuery, SourceKind } from '../model.js';

/** What the sources may know of the load about to start: its steady part, ms from its start (the longest constant-rate stage). */
export interface LoadPlan {
  steady?: { startMs: number; endMs: number };
}

export interface TimeWindow {
  start: Date;
  end: Date;
}

export interface SourceResult {
  infra: InfraMetric[];
  slowQueries?: SlowQuery[];
  /** PostgreSQL sources: the database's work during the run (statements by total time, scans, lock waits). */
  database?: DatabaseActivity[];
  /** Error-log sources: what the logs said during the run. */
  logs?: LogSummary[];
  /** Remarks for the report (incomplete CloudWatch data, a missing extension). */
  notes?: string[];
  /** The database baseline: values before the load and after it (queries `at: start` / `at: change`, connections). */
  baseline?: BaselineRow[];
}

/** A metric a source will report; known before collecting so a failed source can still list it as unavailable. */
export interface MetricDescriptor {
  name: string;
  unit: InfraMetric['unit'];
  /** What is queried, credentials removed. */
  query: string;
  limit?: number;
}

export interface Source {
  readonly kind: SourceKind;
  /** For logs: kind and where, credentials removed. */
  readonly label: string;
  readonly metrics: MetricDescriptor[];
  /** Upper bound on collect(); collectAll aborts and marks the metrics unavailable past it. */
  readonly collectTimeoutMs: number;
  /** Begin sampling (samplers); resolves quickly, never rejects for a source that is down. */
  start(): Promise<void>;
  collect(window: TimeWindow, signal?: AbortSignal): Promise<SourceResult>;
  /** Release connections and timers; safe to call twice, and without start(). */
  stop(): Promise<void>;
  /**
   * Database and cache sources, after start(): does the server answer now (SELECT 1, PING)? A problem as text,
   * undefined when it answered. Used by `checks: reachable` before the load.
   */
  ready?(): Promise<string | undefined>;
  /** Right before the load's first request (after the checks and the smoke pass): take the baseline. */
  beforeLoad?(plan?: LoadPlan): Promise<void>;
}

export function unavailable(kind: SourceKind, d: MetricDescriptor, reason: string): InfraMetric {
  const m: InfraMetric = { name: d.name, source: kind, query: d.query, unit: d.unit, stats: {}, unavailable: reason };
  if (d.limit !== undefined) m.limit = d.limit;
  return m;
}
