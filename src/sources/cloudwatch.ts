// CloudWatch metrics for the run window through GetMetricData. The SDK is imported only when a CloudWatch source
// is configured (it is most of the bundle and most of the cold start). CloudWatch publishes a minute or two late,
// so a series whose last period is missing is asked for again, within a bound, before it is declared incomplete.
import type {
  CloudWatchClient,
  GetMetricDataCommandInput,
  GetMetricDataCommandOutput,
  MetricDataQuery,
} from '@aws-sdk/client-cloudwatch';
import type { InfraMetric } from '../model.js';
import type { CloudWatchMetricConfig, CloudWatchSourceConfig, InfraUnit } from '../config/sources.js';
import { summarize, type Series } from '../metrics/series.js';
import { sleep } from './stats.js';
import { unavailable, type MetricDescriptor, type Source, type SourceResult, type TimeWindow } from './types.js';
import type { Logger } from '../log.js';
import { Redactor } from '../secrets.js';
import { capAwsReplies } from '../bounded.js';

type Sdk = typeof import('@aws-sdk/client-cloudwatch');

export interface CloudWatchDeps {
  /** Replaceable in tests; the default is a dynamic import so the SDK costs nothing when unused. */
  loadSdk?: () => Promise<Sdk>;
  now?: () => number;
}

/** Beyond this age CloudWatch has published a period if it ever will. */
const NOTHING_PUBLISHED_AFTER_MS = 5 * 60_000;

/** GetMetricData accepts at most 500 queries per call. */
export const MAX_QUERIES_PER_CALL = 500;

interface MetricStat {
  namespace: string;
  metricName: string;
  dimensions: Record<string, string>;
  stat: string;
}

/** One configured metric: the CloudWatch series it needs and how they make one value per period. */
export interface CloudWatchPlan {
  desc: MetricDescriptor;
  parts: MetricStat[];
  /** The part whose datapoint for a period says that period has been published. */
  heartbeat: number;
  highResolution: boolean;
  /** Missing parts are undefined; returns undefined when the period has no value. */
  combine(values: Array<number | undefined>, periodS: number): number | undefined;
  /** A count of instances (tasks, healthy hosts): the report shows when it changed. */
  role?: 'instances';
}

const first: CloudWatchPlan['combine'] = (v) => v[0];

export function planMetric(m: CloudWatchMetricConfig): CloudWatchPlan {
  const stat = (fallback: string): string => m.stat ?? fallback;
  const ecs = { ClusterName: m.cluster!, ...(m.service ? { ServiceName: m.service } : {}) };
  const rds = { DBInstanceIdentifier: m.instance! };
  const lb = { LoadBalancer: m.loadBalancer! };
  const lbTg = { ...lb, ...(m.targetGroup ? { TargetGroup: m.targetGroup } : {}) };
  const single = (unit: InfraUnit, part: MetricStat, combine: CloudWatchPlan['combine'] = first): CloudWatchPlan => ({
    desc: descriptor(m.name, unit, [part], m.limit),
    parts: [part],
    heartbeat: 0,
    highResolution: m.highResolution,
    combine,
  });
  switch (m.preset) {
    case 'ecs-cpu':
      return single('%', {
        namespace: 'AWS/ECS',
        metricName: 'CPUUtilization',
        dimensions: ecs,
        stat: stat('Average'),
      });
    case 'ecs-memory':
      return single('%', {
        namespace: 'AWS/ECS',
        metricName: 'MemoryUtilization',
        dimensions: ecs,
        stat: stat('Average'),
      });
    case 'rds-cpu':
      return single('%', {
        namespace: 'AWS/RDS',
        metricName: 'CPUUtilization',
        dimensions: rds,
        stat: stat('Average'),
      });
    case 'rds-connections':
      // Maximum: the peak within each minute is what runs into max_connections, not the average.
      return single('count', {
        namespace: 'AWS/RDS',
        metricName: 'DatabaseConnections',
        dimensions: rds,
        stat: stat('Maximum'),
      });
    case 'alb-requests':
      return single(
        '/s',
        { namespace: 'AWS/ApplicationELB', metricName: 'RequestCount', dimensions: lbTg, stat: 'Sum' },
        (v, periodS) => (v[0] === undefined ? undefined : v[0] / periodS),
      );
    case 'alb-5xx': {
      // Both the 5xx the load balancer produced itself (no healthy target, timeouts: 502/503/504) and the 5xx the
      // application returned: either one is a failed request for the user. CloudWatch publishes these counts only
      // for periods where they are non-zero, so a missing point means 0 — but only for a period that has been
      // published at all, which RequestCount (present whenever the load test sent traffic) tells.
      const parts: MetricStat[] = [
        { namespace: 'AWS/ApplicationELB', metricName: 'HTTPCode_ELB_5XX_Count', dimensions: lb, stat: 'Sum' },
        { namespace: 'AWS/ApplicationELB', metricName: 'HTTPCode_Target_5XX_Count', dimensions: lbTg, stat: 'Sum' },
        { namespace: 'AWS/ApplicationELB', metricName: 'RequestCount', dimensions: lbTg, stat: 'Sum' },
      ];
      return {
        desc: descriptor(m.name, 'count', parts.slice(0, 2), m.limit),
        parts,
        heartbeat: 2,
        highResolution: false,
        combine: (v) => (v.every((x) => x === undefined) ? undefined : (v[0] ?? 0) + (v[1] ?? 0)),
      };
    }
    case 'alb-target-p99':
      return single(
        'ms',
        { namespace: 'AWS/ApplicationELB', metricName: 'TargetResponseTime', dimensions: lbTg, stat: stat('p99') },
        (v) => (v[0] === undefined ? undefined : v[0] * 1000),
      );
    // Instance counts: the fewest in a period is what the service had at its worst (Maximum for the unhealthy).
    case 'ecs-running-tasks':
      return {
        ...single('count', {
          namespace: 'ECS/ContainerInsights',
          metricName: 'RunningTaskCount',
          dimensions: ecs,
          stat: stat('Minimum'),
        }),
        role: 'instances',
      };
    case 'alb-healthy-hosts':
      return {
        ...single('count', {
          namespace: 'AWS/ApplicationELB',
          metricName: 'HealthyHostCount',
          dimensions: lbTg,
          stat: stat('Minimum'),
        }),
        role: 'instances',
      };
    case 'alb-unhealthy-hosts':
      return {
        ...single('count', {
          namespace: 'AWS/ApplicationELB',
          metricName: 'UnHealthyHostCount',
          dimensions: lbTg,
          stat: stat('Maximum'),
        }),
        role: 'instances',
      };
    case undefined:
      return single(m.unit ?? 'count', {
        namespace: m.namespace!,
        metricName: m.metric!,
        dimensions: m.dimensions,
        stat: stat('Average'),
      });
  }
}

function descriptor(name: string, unit: InfraUnit, parts: MetricStat[], limit: number | undefined): MetricDescriptor {
  const text = parts
    .map(
      (p) =>
        `${p.namespace} ${p.metricName}${Object.entries(p.dimensions)
          .map(([k, v]) => ` ${k}=${v}`)
          .join('')} ${p.stat}`,
    )
    .join(' + ');
  return limit === undefined ? { name, unit, query: text } : { name, unit, query: text, limit };
}

/**
 * The finest period CloudWatch still has for data this old: sub-minute only for high-resolution metrics in the
 * last 3 hours, 60 s up to 15 days, 5 min up to 63 days, then 1 h. A finer request returns nothing at all.
 */
export function choosePeriod(requestedS: number, highResolution: boolean, ageMs: number): number {
  const HOUR = 3_600_000;
  const DAY = 24 * HOUR;
  const finest = ageMs <= 3 * HOUR && highResolution ? 1 : ageMs <= 15 * DAY ? 60 : ageMs <= 63 * DAY ? 300 : 3600;
  const p = Math.max(requestedS, finest);
  if (p < 60) return [1, 5, 10, 30].find((v) => v >= p)!;
  return Math.ceil(p / 60) * 60;
}

const THROTTLING = new Set([
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'LimitExceededException',
]);
const TRANSIENT_CODES = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ECONNREFUSED']);

/** What both AWS sources give their SDK client: region, endpoint, and bounds on every call. */
export function awsClientOptions(cfg: { region?: string; endpoint?: string; requestTimeoutMs: number }) {
  return {
    ...(cfg.region ? { region: cfg.region } : {}),
    ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
    // Our own loops retry throttling with a bounded, configurable backoff; the SDK's would multiply it.
    maxAttempts: 1,
    requestHandler: {
      connectionTimeout: Math.min(cfg.requestTimeoutMs, 5000),
      requestTimeout: cfg.requestTimeoutMs,
      throwOnRequestTimeout: true,
    },
  };
}

export function isRetryable(e: unknown): boolean {
  const err = e as { name?: string; code?: string; $metadata?: { httpStatusCode?: number }; $retryable?: unknown };
  if (err?.name === 'AbortError') return false;
  if (THROTTLING.has(err?.name ?? '') || err?.$retryable) return true;
  const status = err?.$metadata?.httpStatusCode;
  if (status === 429 || (status !== undefined && status >= 500)) return true;
  return err?.name === 'TimeoutError' || TRANSIENT_CODES.has(err?.code ?? '');
}

interface PartData {
  points: Map<number, number>;
  status?: string;
}

export class CloudWatchSource implements Source {
  readonly kind = 'cloudwatch' as const;
  readonly label: string;
  readonly metrics: MetricDescriptor[];
  readonly collectTimeoutMs: number;
  private readonly plans: CloudWatchPlan[];
  private readonly redactor = new Redactor();
  private client?: CloudWatchClient;

  constructor(
    private readonly cfg: CloudWatchSourceConfig,
    private readonly log: Logger,
    private readonly deps: CloudWatchDeps = {},
  ) {
    this.plans = cfg.metrics.map(planMetric);
    this.metrics = this.plans.map((p) => p.desc);
    this.label = `cloudwatch${cfg.region ? ` ${cfg.region}` : ''}${cfg.endpoint ? ` (${this.redactor.redact(cfg.endpoint)})` : ''}`;
    const worstRetries = cfg.requestTimeoutMs * (cfg.retries + 2) + cfg.retryDelayMs * 2 ** (cfg.retries + 1);
    this.collectTimeoutMs = cfg.lagWaitMs + cfg.lagRetryMs + worstRetries + 30_000;
  }

  async start(): Promise<void> {
    // Nothing to sample: CloudWatch keeps the history, the window is read afterwards.
  }

  async stop(): Promise<void> {
    this.client?.destroy();
    this.client = undefined;
  }

  async collect(window: TimeWindow, signal?: AbortSignal): Promise<SourceResult> {
    const now = this.deps.now ?? Date.now;
    let sdk: Sdk;
    try {
      sdk = await (this.deps.loadSdk ?? (() => import('@aws-sdk/client-cloudwatch')))();
    } catch (e) {
      return this.allUnavailable(`the AWS SDK could not be loaded: ${this.redactor.error(e)}`);
    }
    if (!this.client) {
      this.client = new sdk.CloudWatchClient(awsClientOptions(this.cfg));
      // Every reply capped in bytes while it arrives (bounded.ts).
      capAwsReplies(this.client, 'CloudWatch');
    }
    const client = this.client;

    const startMs = window.start.getTime();
    const endMs = window.end.getTime();
    const queryStartMs = startMs - this.cfg.marginMs;
    const periods = this.plans.map((p) => choosePeriod(this.cfg.periodS, p.highResolution, now() - queryStartMs));
    const align = Math.max(...periods) * 1000;
    const range = {
      start: new Date(Math.floor(queryStartMs / align) * align),
      end: new Date(Math.ceil((endMs + this.cfg.marginMs) / align) * align),
    };
    const data: PartData[][] = this.plans.map((p) => p.parts.map(() => ({ points: new Map() })));
    const failures = new Map<number, string>();
    const notes: string[] = [];

    const lastBin = (i: number): number => {
      const periodMs = periods[i]! * 1000;
      return Math.floor((endMs - 1) / periodMs) * periodMs;
    };
    const complete = (i: number): boolean => {
      const parts = data[i]!;
      if (parts.some((d) => d.status === 'PartialData')) return false;
      const hb = parts[this.plans[i]!.heartbeat]!;
      const wanted = lastBin(i);
      return [...hb.points.keys()].some((t) => t >= wanted);
    };

    // Publishing lag is minutes: a series with no point at all while its range reaches further back than that
    // does not exist (wrong dimensions or region), and waiting the whole lag-wait for it would only delay the verdict.
    const neverPublished = (i: number): boolean =>
      now() - range.start.getTime() > NOTHING_PUBLISHED_AFTER_MS && data[i]!.every((d) => d.points.size === 0);

    let pending = this.plans.map((_, i) => i);
    const deadline = endMs + this.cfg.lagWaitMs;
    for (let attempt = 0; ; attempt++) {
      try {
        await this.fetch(client, sdk, pending, periods, range, data, failures, notes, signal);
      } catch (e) {
        const reason = `GetMetricData failed: ${this.describeError(e)}`;
        for (const i of pending) failures.set(i, reason);
      }
      pending = pending.filter((i) => !failures.has(i) && !complete(i) && !neverPublished(i));
      const left = deadline - now();
      if (pending.length === 0 || left <= 0 || signal?.aborted) break;
      const wait = Math.min(this.cfg.lagRetryMs, left);
      if (attempt === 0) {
        this.log.info(
          `cloudwatch: the last period of ${pending.length} metric(s) is not published yet (CloudWatch lags a minute or two); ` +
            `asking again for up to ${Math.ceil(left / 1000)} s`,
        );
      }
      try {
        await sleep(wait, signal);
      } catch {
        break;
      }
    }

    const infra = this.plans.map((plan, i) => {
      const failure = failures.get(i);
      if (failure) return unavailable('cloudwatch', plan.desc, failure);
      return this.toMetric(plan, periods[i]!, data[i]!, window, complete(i), notes);
    });
    // Each retry sees CloudWatch's messages again.
    return { infra, notes: [...new Set(notes)] };
  }

  private async fetch(
    client: CloudWatchClient,
    sdk: Sdk,
    planIndexes: number[],
    periods: number[],
    range: { start: Date; end: Date },
    data: PartData[][],
    failures: Map<number, string>,
    notes: string[],
    signal?: AbortSignal,
  ): Promise<void> {
    const queries: MetricDataQuery[] = [];
    const owner = new Map<string, [number, number]>();
    for (const i of planIndexes) {
      this.plans[i]!.parts.forEach((part, j) => {
        const id = `m${i}_${j}`;
        owner.set(id, [i, j]);
        // A fresh map per attempt: a retry replaces, not duplicates, what an earlier attempt saw.
        data[i]![j] = { points: new Map() };
        queries.push({
          Id: id,
          ReturnData: true,
          MetricStat: {
            Metric: {
              Namespace: part.namespace,
              MetricName: part.metricName,
              Dimensions: Object.entries(part.dimensions).map(([Name, Value]) => ({ Name, Value })),
            },
            Period: periods[i]!,
            Stat: part.stat,
          },
        });
      });
    }
    for (let b = 0; b < queries.length; b += MAX_QUERIES_PER_CALL) {
      const batch = queries.slice(b, b + MAX_QUERIES_PER_CALL);
      let token: string | undefined;
      let pages = 0;
      do {
        const input: GetMetricDataCommandInput = {
          MetricDataQueries: batch,
          StartTime: range.start,
          EndTime: range.end,
          ScanBy: 'TimestampAscending',
          ...(token ? { NextToken: token } : {}),
        };
        const out = await this.send(client, sdk, input, signal);
        for (const r of out.MetricDataResults ?? []) {
          const where = r.Id ? owner.get(r.Id) : undefined;
          if (!where) continue;
          const part = data[where[0]]![where[1]]!;
          const ts = r.Timestamps ?? [];
          const vs = r.Values ?? [];
          ts.forEach((t, k) => {
            const v = vs[k];
            if (v !== undefined && Number.isFinite(v)) part.points.set(new Date(t).getTime(), v);
          });
          part.status = r.StatusCode;
          if (r.StatusCode === 'Forbidden' || r.StatusCode === 'InternalError') {
            const msg = (r.Messages ?? [])
              .map((m) => m.Value)
              .filter(Boolean)
              .join('; ');
            failures.set(where[0], `CloudWatch answered ${r.StatusCode}${msg ? `: ${this.redactor.redact(msg)}` : ''}`);
          }
        }
        for (const m of out.Messages ?? []) {
          if (m.Value) notes.push(`cloudwatch: ${m.Code ? `${m.Code}: ` : ''}${this.redactor.redact(m.Value)}`);
        }
        token = out.NextToken;
        // A server that keeps handing out tokens must not keep the gate waiting forever.
        if (++pages >= 100 && token) {
          notes.push('cloudwatch: stopped after 100 pages of GetMetricData; the series may be cut short');
          break;
        }
      } while (token);
    }
  }

  private async send(
    client: CloudWatchClient,
    sdk: Sdk,
    input: GetMetricDataCommandInput,
    signal?: AbortSignal,
  ): Promise<GetMetricDataCommandOutput> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await client.send(new sdk.GetMetricDataCommand(input), signal ? { abortSignal: signal } : {});
      } catch (e) {
        if (signal?.aborted || attempt >= this.cfg.retries || !isRetryable(e)) throw e;
        // Full jitter keeps several perf-gate jobs that got throttled together from retrying in lockstep.
        const delay = Math.min(20_000, this.cfg.retryDelayMs * 2 ** attempt) * (0.5 + Math.random() / 2);
        this.log.debug(
          `cloudwatch: ${this.describeError(e)}; retrying in ${Math.round(delay)} ms (${attempt + 1}/${this.cfg.retries})`,
        );
        await sleep(delay, signal);
      }
    }
  }

  private toMetric(
    plan: CloudWatchPlan,
    periodS: number,
    parts: PartData[],
    window: TimeWindow,
    isComplete: boolean,
    notes: string[],
  ): InfraMetric {
    const startMs = window.start.getTime();
    const endMs = window.end.getTime();
    const periodMs = periodS * 1000;
    const times = new Set<number>();
    for (const p of parts) for (const t of p.points.keys()) times.add(t);
    const series: Series = [];
    for (const t of [...times].sort((a, b) => a - b)) {
      const v = plan.combine(
        parts.map((p) => p.points.get(t)),
        periodS,
      );
      if (v !== undefined && Number.isFinite(v)) series.push([t - startMs, v]);
    }
    // A period counts when it overlaps the run; the margin is context for the chart only.
    const inWindow = series.filter(([t]) => t + startMs + periodMs > startMs && t + startMs < endMs);
    const metric: InfraMetric = {
      name: plan.desc.name,
      source: 'cloudwatch',
      query: `${plan.desc.query} (${periodS} s periods)`,
      unit: plan.desc.unit,
      stats: {},
      series,
    };
    if (plan.desc.limit !== undefined) metric.limit = plan.desc.limit;
    if (plan.role) metric.role = plan.role;
    const at = (ms: number): string => new Date(ms).toISOString().slice(11, 19);
    if (inWindow.length === 0) {
      metric.unavailable =
        `CloudWatch returned no datapoints between ${at(startMs)} and ${at(endMs)} UTC: ` +
        'check the region and the dimensions (a metric that does not exist returns nothing)';
      return metric;
    }
    if (!isComplete) {
      const last = Math.floor((endMs - 1) / periodMs) * periodMs;
      const what = `CloudWatch had not published the period starting ${at(last)} UTC (the end of the run) after waiting ${Math.round(this.cfg.lagWaitMs / 1000)} s`;
      if (!this.cfg.allowIncomplete) {
        metric.unavailable = `${what}; raise lag-wait, or set allow-incomplete to judge the periods that arrived`;
        return metric;
      }
      notes.push(`${plan.desc.name}: ${what}; its statistics cover only the periods that arrived`);
    }
    metric.stats = summarize(inWindow);
    return metric;
  }

  private allUnavailable(reason: string): SourceResult {
    return { infra: this.plans.map((p) => unavailable('cloudwatch', p.desc, reason)) };
  }

  private describeError(e: unknown): string {
    const err = e as { name?: string; message?: string };
    const name = err?.name && err.name !== 'Error' ? `${err.name}: ` : '';
    return this.redactor.redact(`${name}${err?.message ?? String(e)}`);
  }
}

export function createCloudWatchSource(cfg: CloudWatchSourceConfig, log: Logger, deps?: CloudWatchDeps): Source {
  return new CloudWatchSource(cfg, log, deps);
}
