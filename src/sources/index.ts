// Infrastructure sources around a load test: created from the config, started before the load, read for the run
// window afterwards. Each source runs on its own: one that fails, hangs or throws leaves its metrics `unavailable`
// with the reason and never stops the others or the load test. Source modules are light; the heavy clients
// (AWS SDKs, pg, ioredis) are imported by the sources themselves, and only when one of that kind is configured.
import type { BaselineRow, DatabaseActivity, InfraMetric, LogSummary, SlowQuery } from '../model.js';
import { createCloudWatchSource, type CloudWatchDeps } from './cloudwatch.js';
import type { SourceConfig } from '../config/sources.js';
import { createPostgresSource, type PostgresDeps } from './postgres.js';
import { createPrometheusSource } from './prometheus.js';
import { createRedisSource, type RedisDeps } from './redis.js';
import { createCloudWatchLogsSource, type CloudWatchLogsDeps } from './cloudwatch-logs.js';
import { sleep } from './stats.js';
import { unavailable, type LoadPlan, type Source, type SourceResult, type TimeWindow } from './types.js';
import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';
import { redactPatterns } from '../secrets.js';

export type { Source, SourceResult, TimeWindow, MetricDescriptor } from './types.js';
export { sourcesSchema, type SourceConfig } from '../config/sources.js';

export interface SourceDeps {
  env?: NodeJS.ProcessEnv;
  cloudwatch?: CloudWatchDeps;
  postgres?: PostgresDeps;
  redis?: RedisDeps;
  cloudwatchLogs?: CloudWatchLogsDeps;
}

export function createSources(configs: SourceConfig[], log: Logger, deps: SourceDeps = {}): Source[] {
  const env = deps.env ?? process.env;
  return configs.map((c): Source => {
    switch (c.kind) {
      case 'cloudwatch':
        return createCloudWatchSource(c, log, deps.cloudwatch);
      case 'prometheus':
        return createPrometheusSource(c, log, env);
      case 'postgres':
        return createPostgresSource(c, log, { env, ...deps.postgres });
      case 'redis':
        return createRedisSource(c, log, { env, ...deps.redis });
      case 'cloudwatch-logs':
        return createCloudWatchLogsSource(c, log, deps.cloudwatchLogs);
      default: {
        const unknown: never = c;
        throw new Error(`unknown source kind ${(unknown as { kind: string }).kind}`);
      }
    }
  });
}

const startFailures = new WeakMap<Source, string>();

export interface StartOptions {
  /** Per source; the load test starts after this at the latest. */
  timeoutMs?: number;
}

/** Starts every source; resolves within the timeout whatever the sources do, and never rejects. */
export async function startSources(sources: Source[], log: Logger, opts: StartOptions = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 15_000;
  await Promise.all(
    sources.map(async (s) => {
      try {
        await bounded(s.start(), timeoutMs, `did not start within ${Math.round(timeoutMs / 1000)} s`);
      } catch (e) {
        const reason = redactPatterns(messageOf(e));
        startFailures.set(s, reason);
        log.warning(`${s.label}: ${reason}; its metrics will be reported as unavailable`);
      }
    }),
  );
}

/** The baselines the sources take right before the load (database queries `at: start`); bounded, never rejects. */
export async function beforeLoad(sources: Source[], plan: LoadPlan = {}, timeoutMs = 15_000): Promise<void> {
  await Promise.all(
    sources.map((s) =>
      s.beforeLoad ? bounded(s.beforeLoad(plan), timeoutMs, 'baseline timed out').catch(() => undefined) : undefined,
    ),
  );
}

export interface CollectedInfra {
  infra: InfraMetric[];
  /** Present when a PostgreSQL source could read pg_stat_statements. */
  slowQueries?: SlowQuery[];
  /** Present when an error-log source is configured (RunResult.logs). */
  logs?: LogSummary[];
  /** One per PostgreSQL source with `activity` (RunResult.database). */
  database?: DatabaseActivity[];
  /** Remarks for RunResult.notes. */
  notes: string[];
  /** The database baseline (RunResult.environment.baseline), when a source took one. */
  baseline?: BaselineRow[];
}

/** Reads every source for the window, then stops it. Never rejects; a failed source yields unavailable metrics. */
export async function collectAll(sources: Source[], window: TimeWindow, log: Logger): Promise<CollectedInfra> {
  const results = await Promise.all(sources.map((s) => collectOne(s, window, log)));
  const out: CollectedInfra = { infra: [], notes: [] };
  for (const r of results) {
    out.infra.push(...r.infra);
    out.notes.push(...(r.notes ?? []));
    if (r.slowQueries) out.slowQueries = [...(out.slowQueries ?? []), ...r.slowQueries];
    if (r.logs) out.logs = [...(out.logs ?? []), ...r.logs];
    if (r.baseline) out.baseline = [...(out.baseline ?? []), ...r.baseline];
    if (r.database) out.database = [...(out.database ?? []), ...r.database];
  }
  out.slowQueries?.sort((a, b) => b.meanMs - a.meanMs);
  for (const m of out.infra) {
    if (m.unavailable) log.warning(`${m.source}: ${m.name} unavailable: ${m.unavailable}`);
  }
  return out;
}

/** Releases connections and timers; for the paths where collectAll is never reached (a crashed engine). */
export async function stopSources(sources: Source[]): Promise<void> {
  await Promise.all(sources.map((s) => bounded(s.stop(), 5000, 'stop timed out').catch(() => undefined)));
}

async function collectOne(s: Source, window: TimeWindow, log: Logger): Promise<SourceResult> {
  const failAll = (reason: string): SourceResult => {
    const r: SourceResult = { infra: s.metrics.map((d) => unavailable(s.kind, d, reason)) };
    // An error-log source that failed still says so where the logs are shown.
    if (s.kind === 'cloudwatch-logs')
      r.logs = s.metrics.map((d) => ({ source: d.name, query: d.query, top: [], unavailable: reason }));
    return r;
  };
  const startFailure = startFailures.get(s);
  if (startFailure) {
    await bounded(s.stop(), 5000, 'stop timed out').catch(() => undefined);
    return failAll(startFailure);
  }
  const ac = new AbortController();
  let result: SourceResult;
  try {
    result = await bounded(
      s.collect(window, ac.signal),
      s.collectTimeoutMs,
      `no result within ${Math.round(s.collectTimeoutMs / 1000)} s`,
    );
  } catch (e) {
    result = failAll(redactPatterns(messageOf(e)));
  } finally {
    ac.abort(new Error('collect finished'));
    await bounded(s.stop(), 5000, 'stop timed out').catch(() => undefined);
  }
  // Every configured metric gets a row, so a source that silently dropped one still shows up in the verdict.
  const seen = new Set(result.infra.map((m) => m.name));
  for (const d of s.metrics) {
    if (!seen.has(d.name)) result.infra.push(unavailable(s.kind, d, 'the source returned no value for it'));
  }
  const ok = result.infra.filter((m) => !m.unavailable).length;
  log.info(`${s.label}: ${ok} of ${result.infra.length} metric(s) read`);
  return result;
}

async function bounded<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  const ac = new AbortController();
  try {
    return await Promise.race([
      p,
      sleep(ms, ac.signal).then(() => {
        throw new Error(message);
      }),
    ]);
  } finally {
    ac.abort();
  }
}
