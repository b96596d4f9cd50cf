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
export function rateEvaluation(rateWindow: string, window: TimeWindow): { windowMs: number; startMs: number; clamped: boolean } {
  const configured = parseDuration(rateWindow) ?? 60_000;
  const runMs = Math.max(0, window.end.getTime() - window.start.getTime());
  // Whole seconds down (a window a few ms longer than the run would reach back before it); ms below a second.
  const fits = runMs >= 1000 ? Math.floor(runMs / 1000) * 1000 : Math.max(1, Math.floor(runMs));
  const windowMs = Math.min(configured, fits);
  return { windowMs, startMs: window.start.getTime() + windowMs, clamped: windowMs < configured };
}

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
    this.metrics = cfg.metrics.map((m, i) => ({ name: m.name, unit: m.unit, query: this.queries[i]!, ...(m.limit !== undefined ? { limit: m.limit } : {}) }));
    if (cfg.bearerTokenEnv) {
      const token = env[cfg.bearerTokenEnv];
      this.redactor.add(token);
      if (!token) this.authError = `environment variable ${cfg.bearerTokenEnv} (bearer-token-env) is not set`;
      else this.headers.authorization = `Bearer ${token}`;
    } else if (cfg.username) {
      const password = cfg.passwordEnv ? env[cfg.passwordEnv] : '';
      this.redactor.add(password);
      if (cfg.passwordEnv && !password) this.authError = `environment variable ${cfg.passwordEnv} (password-env) is not set`;
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
  private async queryOne(desc: MetricDescriptor, window: TimeWindow, from: number, notes: string[], signal?: AbortSignal): Promise<InfraMetric> {
    const base = this.cfg.url.endsWith('/') ? this.cfg.url : `${this.cfg.url}/`;
    const url = new URL('api/v1/query_range', base);
    url.searchParams.set('query', desc.query);
    url.searchParams.set('start', (Math.min(from, window.end.getTime()) / 1000).toFixed(3));
    url.searchParams.set('end', (window.end.getTime() / 1000).toFixed(3));
    url.searchParams.set('step', `${this.cfg.stepMs / 1000}s`);
    const body = await this.get(url, signal);
    for (const w of body.warnings ?? []) notes.push(`prometheus (${desc.name}): ${this.redactor.redact(w)}`);
    const result = body.data?.result ?? [];
    if (result.length > 1) {
      throw new Error(`the query returned ${result.length} series; wrap it in max(...), avg(...) or sum(...) so it returns one`);
    }
    const startMs = window.start.getTime();
    const series: Series = (result[0]?.values ?? [])
      .map(([t, v]): [number, number] => [Math.round(t * 1000) - startMs, Number(v)])
      // Prometheus aligns nothing to `start`, but a point before `from` would still read pre-run samples.
      .filter(([t, v]) => Number.isFinite(v) && t + startMs >= Math.min(from, window.end.getTime()));
    const metric: InfraMetric = { name: desc.name, source: 'prometheus', query: desc.query, unit: desc.unit, stats: summarize(series), series };
    if (desc.limit !== undefined) metric.limit = desc.limit;
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
