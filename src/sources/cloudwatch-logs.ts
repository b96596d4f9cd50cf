// Error logs for the run window through CloudWatch Logs Insights: StartQuery, then GetQueryResults until the query
// is Complete, within a bound (a query still running then is stopped and the metric is unavailable). Two queries run
// side by side: an exact count of the matching messages (`log_errors`, so targets work) and the messages grouped,
// which are masked (numbers, ids), deduplicated and cut here for the report. The SDK is imported only when such a
// source is configured, with the same credential chain, region and endpoint handling as the CloudWatch source.
import type { CloudWatchLogsClient, GetQueryResultsCommandOutput, ResultField } from '@aws-sdk/client-cloudwatch-logs';
import { formatDurationCompact } from '../format.js';
import type { InfraMetric, LogSummary } from '../model.js';
import { awsClientOptions, isRetryable } from './cloudwatch.js';
import type { CloudWatchLogsSourceConfig } from '../config/sources.js';
import { sleep } from './stats.js';
import { unavailable, type MetricDescriptor, type Source, type SourceResult, type TimeWindow } from './types.js';
import type { Logger } from '../log.js';
import { Redactor, redactPatterns } from '../secrets.js';
import { capAwsReplies } from '../bounded.js';

type Sdk = typeof import('@aws-sdk/client-cloudwatch-logs');

export interface CloudWatchLogsDeps {
  loadSdk?: () => Promise<Sdk>;
}

/** Longest message kept in the report, in characters. */
export const MESSAGE_CHARS = 200;
/** Groups asked of the grouping query (Logs Insights allows up to 10,000 rows). */
const GROUPS_LIMIT = 1000;

export function countQuery(pattern: string): string {
  return `filter @message like /${pattern}/ | stats count(*) as count`;
}

export function groupQuery(pattern: string): string {
  return `filter @message like /${pattern}/ | stats count(*) as count by @message | sort count desc | limit ${GROUPS_LIMIT}`;
}

/**
 * A message as the report groups it: credentials removed, timestamps, ids (UUIDs, long hex, request ids) and
 * numbers masked, whitespace folded, cut to 200 characters. `order 1234 failed` and `order 99 failed` are one line.
 */
export function maskMessage(message: string): string {
  const masked = redactPatterns(message)
    .replace(/\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?/g, '<time>')
    .replace(/\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b/gi, '<id>')
    .replace(/\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{8,}\b/gi, '<id>')
    .replace(/\b0x[0-9a-f]+\b/gi, '<id>')
    .replace(/\b(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{16,}\b/g, '<id>')
    .replace(/\d+(?:\.\d+)?/g, '<n>')
    .replace(/\s+/g, ' ')
    .trim();
  const chars = [...masked];
  return chars.length <= MESSAGE_CHARS ? masked : `${chars.slice(0, MESSAGE_CHARS - 1).join('')}…`;
}

/** Grouped rows (`@message`/`message` and `count`) merged after masking, most frequent first. */
export function topMessages(rows: ResultField[][], top: number): Array<{ message: string; count: number }> {
  const merged = new Map<string, number>();
  for (const row of rows) {
    const field = (name: string): string | undefined => row.find((f) => f.field === name)?.value;
    const message = field('@message') ?? field('message');
    if (message === undefined) continue;
    const n = Number(field('count') ?? 1);
    const key = maskMessage(message);
    merged.set(key, (merged.get(key) ?? 0) + (Number.isFinite(n) ? n : 1));
  }
  return [...merged]
    .map(([message, count]) => ({ message, count }))
    .sort((a, b) => b.count - a.count || a.message.localeCompare(b.message))
    .slice(0, top);
}

/** What a query of one's own counts: the sum of its `count` field, or its rows when it has none. */
export function countOf(rows: ResultField[][]): number {
  let sum = 0;
  let counted = false;
  for (const row of rows) {
    const c = row.find((f) => f.field === 'count')?.value;
    if (c !== undefined && Number.isFinite(Number(c))) {
      sum += Number(c);
      counted = true;
    }
  }
  return counted ? sum : rows.length;
}

export class CloudWatchLogsSource implements Source {
  readonly kind = 'cloudwatch-logs' as const;
  readonly label: string;
  readonly metrics: MetricDescriptor[];
  readonly collectTimeoutMs: number;
  private readonly redactor = new Redactor();
  private readonly queryText: string;
  private client?: CloudWatchLogsClient;

  constructor(
    private readonly cfg: CloudWatchLogsSourceConfig,
    private readonly log: Logger,
    private readonly deps: CloudWatchLogsDeps = {},
  ) {
    this.queryText = cfg.query ?? countQuery(cfg.pattern);
    const groups = cfg.logGroups.join(', ');
    this.metrics = [{ name: cfg.name, unit: 'count', query: `Logs Insights over ${groups}: ${this.queryText}` }];
    this.label = `cloudwatch-logs${cfg.region ? ` ${cfg.region}` : ''}${cfg.endpoint ? ` (${this.redactor.redact(cfg.endpoint)})` : ''}`;
    const worstRetries = cfg.requestTimeoutMs * (cfg.retries + 2) + cfg.retryDelayMs * 2 ** (cfg.retries + 1);
    this.collectTimeoutMs = cfg.delayMs + cfg.queryTimeoutMs + 2 * worstRetries + 10_000;
  }

  async start(): Promise<void> {
    // Nothing to sample: CloudWatch Logs keeps the history, the window is read afterwards.
  }

  async stop(): Promise<void> {
    this.client?.destroy();
    this.client = undefined;
  }

  async collect(window: TimeWindow, signal?: AbortSignal): Promise<SourceResult> {
    const desc = this.metrics[0]!;
    const summary: LogSummary = { source: this.cfg.name, query: desc.query, top: [] };
    const fail = (reason: string): SourceResult => ({
      infra: [unavailable('cloudwatch-logs', desc, reason)],
      logs: [{ ...summary, unavailable: reason }],
    });
    let sdk: Sdk;
    try {
      sdk = await (this.deps.loadSdk ?? (() => import('@aws-sdk/client-cloudwatch-logs')))();
    } catch (e) {
      return fail(`the AWS SDK could not be loaded: ${this.redactor.error(e)}`);
    }
    if (!this.client) {
      this.client = new sdk.CloudWatchLogsClient(awsClientOptions(this.cfg));
      // Every reply capped in bytes while it arrives (bounded.ts).
      capAwsReplies(this.client, 'CloudWatch Logs');
    }
    const client = this.client;
    // Logs reach CloudWatch a little after they are written; the query waits for the tail of the run.
    if (this.cfg.delayMs > 0) {
      const wait = window.end.getTime() + this.cfg.delayMs - Date.now();
      if (wait > 0) {
        this.log.info(
          `cloudwatch-logs: waiting ${Math.ceil(wait / 1000)} s for the last log lines of the run to arrive (delay)`,
        );
        try {
          await sleep(wait, signal);
        } catch {
          return fail('no time left to query the logs');
        }
      }
    }
    // Logs Insights takes whole epoch seconds: the window is widened to them, never narrowed.
    const range = {
      startTime: Math.floor(window.start.getTime() / 1000),
      endTime: Math.ceil(window.end.getTime() / 1000),
    };
    const notes: string[] = [];
    const [counted, grouped] = await Promise.allSettled([
      this.runQuery(client, sdk, this.queryText, range, signal),
      this.cfg.query === undefined
        ? this.runQuery(client, sdk, groupQuery(this.cfg.pattern), range, signal)
        : Promise.resolve(undefined),
    ]);
    if (counted.status === 'rejected') return fail(this.describeError(counted.reason));
    const count = countOf(counted.value);
    summary.count = count;
    const rows =
      this.cfg.query === undefined ? (grouped.status === 'fulfilled' ? grouped.value : undefined) : counted.value;
    if (rows) {
      summary.top = topMessages(rows, this.cfg.top);
      if (this.cfg.query === undefined && rows.length >= GROUPS_LIMIT) {
        notes.push(
          `cloudwatch-logs (${this.cfg.name}): more than ${GROUPS_LIMIT} distinct messages; the top messages are from the ${GROUPS_LIMIT} most frequent`,
        );
      }
    } else if (grouped.status === 'rejected') {
      notes.push(
        `cloudwatch-logs (${this.cfg.name}): the count was read, the top messages were not: ${this.describeError(grouped.reason)}`,
      );
    }
    const durationMs = window.end.getTime() - window.start.getTime();
    const metric: InfraMetric = {
      name: desc.name,
      source: 'cloudwatch-logs',
      query: desc.query,
      unit: 'count',
      stats: { min: count, mean: count, p95: count, max: count, last: count },
      series: [[durationMs, count]],
    };
    return { infra: [metric], logs: [summary], notes };
  }

  /** StartQuery, then GetQueryResults every `poll` until Complete; bounded by query-timeout. */
  private async runQuery(
    client: CloudWatchLogsClient,
    sdk: Sdk,
    queryString: string,
    range: { startTime: number; endTime: number },
    signal?: AbortSignal,
  ): Promise<ResultField[][]> {
    const started = await this.send(
      () =>
        client.send(
          new sdk.StartQueryCommand({ logGroupNames: this.cfg.logGroups, queryString, ...range, limit: 10_000 }),
          signal ? { abortSignal: signal } : {},
        ),
      signal,
    );
    const queryId = started.queryId;
    if (!queryId) throw new Error('StartQuery returned no queryId');
    const deadline = Date.now() + this.cfg.queryTimeoutMs;
    for (;;) {
      const out: GetQueryResultsCommandOutput = await this.send(
        () => client.send(new sdk.GetQueryResultsCommand({ queryId }), signal ? { abortSignal: signal } : {}),
        signal,
      );
      switch (out.status) {
        case 'Complete':
          return out.results ?? [];
        case 'Failed':
        case 'Cancelled':
        case 'Timeout':
          throw new Error(`the Logs Insights query ended ${out.status}`);
        default:
          break; // Scheduled, Running, Unknown: ask again
      }
      if (Date.now() + this.cfg.pollMs > deadline || signal?.aborted) {
        await client.send(new sdk.StopQueryCommand({ queryId })).catch(() => undefined);
        throw new Error(
          `the Logs Insights query was still ${out.status ?? 'running'} after ${formatDurationCompact(this.cfg.queryTimeoutMs)} (query-timeout); it was stopped`,
        );
      }
      await sleep(this.cfg.pollMs, signal);
    }
  }

  private async send<T>(call: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await call();
      } catch (e) {
        if (signal?.aborted || attempt >= this.cfg.retries || !isRetryable(e)) throw e;
        const delay = Math.min(20_000, this.cfg.retryDelayMs * 2 ** attempt) * (0.5 + Math.random() / 2);
        this.log.debug(
          `cloudwatch-logs: ${this.describeError(e)}; retrying in ${Math.round(delay)} ms (${attempt + 1}/${this.cfg.retries})`,
        );
        await sleep(delay, signal);
      }
    }
  }

  private describeError(e: unknown): string {
    const err = e as { name?: string; message?: string };
    const name = err?.name && err.name !== 'Error' ? `${err.name}: ` : '';
    return this.redactor.redact(`${name}${err?.message ?? String(e)}`);
  }
}

export function createCloudWatchLogsSource(
  cfg: CloudWatchLogsSourceConfig,
  log: Logger,
  deps?: CloudWatchLogsDeps,
): Source {
  return new CloudWatchLogsSource(cfg, log, deps);
}
