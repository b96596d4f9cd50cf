// Prometheus range queries for the run window over HTTP (global fetch; no client library). Prometheus keeps what
// it scraped, so there is nothing to sample during the run: the window is read once the run is over.
import type { InfraMetric } from '../model.js';
import type { PrometheusMetricConfig, PrometheusSourceConfig } from '../config/sources.js';
import { parseDuration } from '../units.js';
import { summarize, type Series } from '../metrics/series.js';
import { sleep } from './stats.js';
import { unavailable, type MetricDescriptor, type Source, type SourceResult, type TimeWindow } from './types.js';
import type { Logger } from '../log.js';
import { Redactor } from '../secrets.js';
import { parseJsonBounded } from '../json.js';
import { readTextCapped, ReplyTooLargeError } from '../bounded.js';

/** `{a="x",b="y"}` with the preset's own matchers first; values escaped as PromQL strings. */
function selector(base: Record<string, string>, extra: Record<string, string>): string {
  const all = { ...extra, ...base };
  const parts = Object.entries(all).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/**
 * PromQL for a metric. Presets return one series: the busiest host or replica at each step (`max`), so a target
 * such as `max(cpu) < 80%` fails when any one of them is saturated, and equals the plain formula for one host.
 */
export function promQuery(m: PrometheusMetricConfig, rateWindow: string): string {
  const l = m.labels;
  switch (m.preset) {
    case 'node-cpu':
      return `max(100 - avg by (instance) (rate(node_cpu_seconds_total${selector({ mode: 'idle' }, l)}[${rateWindow}])) * 100)`;
    case 'node-memory':
      return `max((1 - node_memory_MemAvailable_bytes${selector({}, l)} / node_memory_MemTotal_bytes${selector({}, l)}) * 100)`;
    case 'container-cpu': {
      // Percent of the container's CPU limit (quota/period), as in cAdvisor's metrics exported by the kubelet.
      const s = selector({ container: m.container! }, l);
      return (
        `max(sum by (pod, container) (rate(container_cpu_usage_seconds_total${s}[${rateWindow}])) / ` +
        `sum by (pod, container) (container_spec_cpu_quota${s} / container_spec_cpu_period${s})) * 100`
      );
    }
    case 'container-memory': {
      const s = selector({ container: m.container! }, l);
      return `max(sum by (pod, container) (container_memory_working_set_bytes${s}) / sum by (pod, container) (container_spec_memory_limit_bytes${s})) * 100`;
    }
    case 'instances-up':
      // `or vector(0)`: with every instance down, count() returns no series at all, and that is 0, not "no data".
      return `count(up${selector({}, l)} == 1) or vector(0)`;
    case undefined:
      return m.query!;
  }
}

/** Presets whose query reaches back over the rate window; a custom query's own ranges are its author's. */
const RATE_PRESETS: ReadonlySet<PrometheusMetricConfig['preset']> = new Set(['node-cpu', 'container-cpu'] as const);

/** A PromQL duration for whole milliseconds, in the coarsest unit that is exact: 60000 -> 1m, 1500 -> 1500ms. */
export function promDuration(ms: number): string {
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

/**
 * Where a rate() preset may be evaluated without reading a sample from before the run: each point's window
 * [t - w, t] must start at or after the run start, so the window is no longer than the run and the first point
 * is w after the start. A busy minute before the run (a deploy, the previous job) then cannot fail `cpu < 80%`.
 */
export function rateEvaluation(
  rateWindow: string,
  window: TimeWindow,
): { windowMs: number; startMs: number; clamped: boolean } {
  const configured = parseDuration(rateWindow) ?? 60_000;
  const runMs = Math.max(0, window.end.getTime() - window.start.getTime());
  // Whole seconds down (a window a few ms longer than the run would reach back before it); ms below a second.
  const fits = runMs >= 1000 ? Math.floor(runMs / 1000) * 1000 : Math.max(1, Math.floor(runMs));
  const windowMs = Math.min(configured, fits);
  return { windowMs, startMs: window.start.getTime() + windowMs, clamped: windowMs < configured };
}

type PromSeries = NonNullable<NonNullable<PromResponse['data']>['result']>[number];

interface PromResponse {
  status?: string;
  errorType?: string;
  error?: string;
  warnings?: string[];
  data?: { resultType?: string; result?: Array<{ metric?: Record<string, string>; values?: Array<[number, string]> }> };
}

class PromError extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export class PrometheusSource implements Source {
  readonly kind = 'prometheus' as const;
  readonly label: string;
  readonly metrics: MetricDescriptor[];
  readonly collectTimeoutMs: number;
  private readonly redactor = new Redactor();
  private readonly queries: string[];
  private readonly authError?: string;
  private readonly headers: Record<string, string> = { accept: 'application/json' };

  constructor(
    private readonly cfg: PrometheusSourceConfig,
    private readonly log: Logger,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.queries = cfg.metrics.map((m) => promQuery(m, cfg.rateWindow));
    this.metrics = cfg.metrics.map((m, i) => ({
      name: m.name,
      unit: m.unit,
      query: this.queries[i]!,
      ...(m.limit !== undefined ? { limit: m.limit } : {}),
    }));
    if (cfg.bearerTokenEnv) {
      const token = env[cfg.bearerTokenEnv];
      this.redactor.add(token);
      if (!token) this.authError = `environment variable ${cfg.bearerTokenEnv} (bearer-token-env) is not set`;
      else this.headers.authorization = `Bearer ${token}`;
    } else if (cfg.username) {
      const password = cfg.passwordEnv ? env[cfg.passwordEnv] : '';
      this.redactor.add(password);
      if (cfg.passwordEnv && !password)
        this.authError = `environment variable ${cfg.passwordEnv} (password-env) is not set`;
      else {
        const basic = Buffer.from(`${cfg.username}:${password}`).toString('base64');
        this.redactor.add(basic);
        this.headers.authorization = `Basic ${basic}`;
      }
    }
    this.label = `prometheus ${this.redactor.redact(cfg.url)}`;
    this.collectTimeoutMs = (cfg.requestTimeoutMs + 2000) * (cfg.retries + 1) + 10_000;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {}

  async collect(window: TimeWindow, signal?: AbortSignal): Promise<SourceResult> {
    if (this.authError) return { infra: this.metrics.map((d) => unavailable('prometheus', d, this.authError!)) };
    const notes: string[] = [];
    const infra = await Promise.all(
      this.cfg.metrics.map(async (m, i): Promise<InfraMetric> => {
        let desc = this.metrics[i]!;
        let from = window.start.getTime();
        if (RATE_PRESETS.has(m.preset)) {
          const r = rateEvaluation(this.cfg.rateWindow, window);
          desc = { ...desc, query: promQuery(m, promDuration(r.windowMs)) };
          from = r.startMs;
          if (r.clamped) {
            notes.push(
              `prometheus (${m.name}): rate window shortened from ${this.cfg.rateWindow} to ${promDuration(r.windowMs)}, ` +
                'the length of the run, so that it reads no sample from before the run',
            );
          }
        }
        try {
          return await this.queryOne(desc, window, from, notes, signal);
        } catch (e) {
          return unavailable('prometheus', desc, this.redactor.error(e));
        }
      }),
    );
    return { infra, notes };
  }

  /** `from` is where the first point may be evaluated (later than the run start for rate() presets). */
  private async queryOne(
    desc: MetricDescriptor,
    window: TimeWindow,
    from: number,
    notes: string[],
    signal?: AbortSignal,
  ): Promise<InfraMetric> {
    const base = this.cfg.url.endsWith('/') ? this.cfg.url : `${this.cfg.url}/`;
    const url = new URL('api/v1/query_range', base);
    url.searchParams.set('query', desc.query);
    url.searchParams.set('start', (Math.min(from, window.end.getTime()) / 1000).toFixed(3));
    url.searchParams.set('end', (window.end.getTime() / 1000).toFixed(3));
    url.searchParams.set('step', `${this.cfg.stepMs / 1000}s`);
    const body = await this.get(url, signal);
    for (const w of body.warnings ?? []) notes.push(`prometheus (${desc.name}): ${this.redactor.redact(w)}`);
    const result = body.data?.result ?? [];
    const m = this.cfg.metrics.find((x) => x.name === desc.name);
    if (m?.sharesBy) return this.balance(desc, m.sharesBy, result, window, from);
    if (result.length > 1) {
      throw new Error(
        `the query returned ${result.length} series; wrap it in max(...), avg(...) or sum(...) so it returns one`,
      );
    }
    const startMs = window.start.getTime();
    const series: Series = (result[0]?.values ?? [])
      .map(([t, v]): [number, number] => [Math.round(t * 1000) - startMs, Number(v)])
      // Prometheus aligns nothing to `start`, but a point before `from` would still read pre-run samples.
      .filter(([t, v]) => Number.isFinite(v) && t + startMs >= Math.min(from, window.end.getTime()));
    const metric: InfraMetric = {
      name: desc.name,
      source: 'prometheus',
      query: desc.query,
      unit: desc.unit,
      stats: summarize(series),
      series,
    };
    if (desc.limit !== undefined) metric.limit = desc.limit;
    if (m?.preset === 'instances-up') metric.role = 'instances';
    if (series.length === 0) {
      metric.unavailable =
        result.length === 0
          ? from > startMs
            ? 'no data for the run window: check the query and its labels (is the exporter scraped?); a run shorter ' +
              'than two scrape intervals leaves rate() nothing to compute from inside the run'
            : 'no data for the run window: check the query and its labels (is the exporter scraped?)'
          : 'the query returned no finite values for the run window (a division by a zero limit?)';
    }
    return metric;
  }

  /**
   * One series per instance: each instance's mean over the run window is its part of the total; the balance is the
   * lowest part ÷ the highest (1: even, 0: one instance got nothing). Its statistics are all that one number.
   */
  private balance(
    desc: MetricDescriptor,
    label: string,
    result: PromSeries[],
    window: TimeWindow,
    from: number,
  ): InfraMetric {
    const metric: InfraMetric = {
      name: desc.name,
      source: 'prometheus',
      query: `${desc.query} (shares by ${label})`,
      unit: 'count',
      stats: {},
      role: 'balance',
    };
    // A point whose range (`rate(...[1m])`) reaches back before the run reads the traffic before it (the previous
    // job's, a skewed warm-up): only points whose whole range lies inside the run count.
    const ranges = [...desc.query.matchAll(/\[(\d+(?:ms|s|m|h))(?::[^\]]*)?\]/g)].map((x) => parseDuration(x[1]!) ?? 0);
    const reach = ranges.length ? Math.max(...ranges) : 0;
    const lo = Math.min(Math.max(from, window.start.getTime() + reach), window.end.getTime());
    if (window.start.getTime() + reach > window.end.getTime()) {
      metric.unavailable = `the run (${Math.round((window.end.getTime() - window.start.getTime()) / 1000)} s) is shorter than the query's range (${promDuration(reach)}): every point would read traffic from before the run; use a shorter range`;
      return metric;
    }
    const means = new Map<string, number>();
    for (const r of result) {
      const values = (r.values ?? [])
        .map(([t, v]) => [t * 1000, Number(v)] as const)
        .filter(([t, v]) => Number.isFinite(v) && t >= lo);
      if (values.length === 0) continue;
      const name = r.metric?.[label] ?? JSON.stringify(r.metric ?? {});
      means.set(name, (means.get(name) ?? 0) + values.reduce((a, [, v]) => a + v, 0) / values.length);
    }
    const total = [...means.values()].reduce((a, b) => a + b, 0);
    if (means.size === 0 || !(total > 0)) {
      metric.unavailable =
        means.size === 0
          ? `no series for the run window: check the query (one series per ${label})`
          : "every instance's value was 0 over the run window (no traffic?)";
      return metric;
    }
    const parts = [...means.values()];
    const b = Math.min(...parts) / Math.max(...parts);
    metric.stats = { min: b, mean: b, p95: b, max: b, last: b };
    metric.series = [[window.end.getTime() - window.start.getTime(), b]];
    metric.shares = Object.fromEntries(
      [...means].sort((x, y) => x[0].localeCompare(y[0])).map(([k, v]) => [k, Math.round((v / total) * 10_000) / 100]),
    );
    if (means.size === 1) {
      // One series can be an even spread over one instance or everything on one of three: not a figure to judge.
      metric.stats = {};
      delete metric.series;
      metric.unavailable = `only one ${label} answered the query (${[...means.keys()][0]}): a balance needs two or more`;
    }
    return metric;
  }

  private async get(url: URL, signal?: AbortSignal): Promise<PromResponse> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.getOnce(url, signal);
      } catch (e) {
        const retryable = e instanceof PromError ? e.retryable : !signal?.aborted;
        if (!retryable || attempt >= this.cfg.retries || signal?.aborted) throw e;
        this.log.debug(`prometheus: ${this.redactor.error(e)}; retrying`);
        await sleep(500 * 2 ** attempt, signal);
      }
    }
  }

  private async getOnce(url: URL, signal?: AbortSignal): Promise<PromResponse> {
    const timeout = AbortSignal.timeout(this.cfg.requestTimeoutMs);
    let res: Response;
    try {
      res = await fetch(url, { headers: this.headers, signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
    } catch (e) {
      const err = e as Error & { cause?: { code?: string; message?: string } };
      if (err.name === 'TimeoutError') throw new PromError(`no answer within ${this.cfg.requestTimeoutMs} ms`, true);
      // fetch's own message is just "fetch failed"; the cause says what happened (ECONNREFUSED, bad port, ...).
      const why = err.cause?.code ?? err.cause?.message ?? err.message;
      throw new PromError(`cannot reach Prometheus: ${why}`, !signal?.aborted);
    }
    let text: string;
    try {
      text = await readTextCapped(res, 'Prometheus');
    } catch (e) {
      if (e instanceof ReplyTooLargeError) throw new PromError(e.message, false);
      throw new PromError(`the reply was cut off: ${(e as Error).message}`, !signal?.aborted);
    }
    let body: PromResponse | undefined;
    try {
      body = parseJsonBounded(text) as PromResponse;
    } catch {
      body = undefined;
    }
    if (res.status === 401 || res.status === 403) {
      throw new PromError(`Prometheus answered ${res.status}: check username/password-env or bearer-token-env`, false);
    }
    if (!res.ok || body?.status !== 'success') {
      const detail = body?.error ? `${body.errorType ?? 'error'}: ${body.error}` : text.slice(0, 200);
      throw new PromError(`Prometheus answered ${res.status}: ${detail}`, res.status >= 500 || res.status === 429);
    }
    return body;
  }
}

export function createPrometheusSource(cfg: PrometheusSourceConfig, log: Logger, env?: NodeJS.ProcessEnv): Source {
  return new PrometheusSource(cfg, log, env);
}
