// The environment checks before the load (the guide's pre-test checklist): each one a line of the report, and any
// failure an `error` verdict before a single request of the phase is sent. Every check is bounded in time and
// runs on its own: one that hangs or throws is a failed line, never a crash. Secrets are never printed: an
// environment variable is reported as set or not, and messages pass through the redactor.
import type { Config } from '../config/types.js';
import type { Logger } from '../log.js';
import { messageOf } from '../errors.js';
import { formatDuration } from '../format.js';
import type { EnvironmentCheck } from '../model.js';
import type { SourceConfig } from '../config/sources.js';
import type { Source } from '../sources/types.js';
import { redactPatterns } from '../secrets.js';
import { sleep } from '../sources/stats.js';
import { compileJsonPath, evalJsonPath } from '../flows/jsonpath.js';
import { readTextCapped } from '../bounded.js';
import { parseJsonBounded } from '../json.js';
import type { ChecksConfig, InstancesCheckConfig, VersionCheckConfig } from '../config/checks.js';
import { ecsCheck, targetHealthCheck, type AwsDeps } from './aws.js';

export { hasChecks, type ChecksConfig } from '../config/checks.js';

export interface CheckDeps {
  log: Logger;
  env?: NodeJS.ProcessEnv;
  /** The configured sources, already started (reachable: their ready()). */
  sources?: Source[];
  /** Builds a fresh source to read the minutes before the run (monitoring); sources/index.js createSources. */
  probeSources?: (configs: SourceConfig[]) => Source[];
  aws?: AwsDeps;
  now?: () => number;
}

/** Runs every configured check, in parallel; never rejects. */
export async function runChecks(config: Config, checks: ChecksConfig, deps: CheckDeps): Promise<EnvironmentCheck[]> {
  const env = deps.env ?? process.env;
  const bound = (
    p: Promise<EnvironmentCheck[]>,
    what: { kind: string; name: string },
    ms = checks.timeoutMs,
  ): Promise<EnvironmentCheck[]> =>
    withTimeout(p, ms).catch((e: unknown) => [{ ...what, ok: false, detail: redactPatterns(messageOf(e)) }]);
  const jobs: Array<Promise<EnvironmentCheck[]>> = [];

  const names = envNames(checks, config.sources);
  if (names.length) jobs.push(Promise.resolve(names.map((n) => envCheck(n, env))));
  if (checks.version) {
    const v = checks.version;
    jobs.push(
      bound(
        versionCheck(config, v, env, checks.timeoutMs),
        { kind: 'version', name: v.url },
        v.waitMs + checks.timeoutMs + 1000,
      ),
    );
  }
  if (checks.reachable) {
    for (const s of (deps.sources ?? []).filter((x) => x.kind === 'postgres' || x.kind === 'redis')) {
      const what = { kind: 'reachable', name: s.label };
      jobs.push(
        bound(
          (async () => {
            const t0 = Date.now();
            const problem = s.ready ? await s.ready() : 'this source cannot be checked';
            return [
              {
                ...what,
                ok: problem === undefined,
                detail: problem ?? `answered ${s.kind === 'postgres' ? 'SELECT 1' : 'PING'} in ${Date.now() - t0} ms`,
              },
            ];
          })(),
          what,
        ),
      );
    }
  }
  if (checks.monitoringMs !== undefined && deps.probeSources) {
    jobs.push(
      monitoringChecks(config.sources, checks.monitoringMs, checks.timeoutMs, deps.probeSources, deps.now ?? Date.now),
    );
  }
  for (const c of checks.ecs)
    jobs.push(bound(ecsCheck(c, checks.timeoutMs, deps.aws), { kind: 'ecs', name: `${c.cluster}/${c.service}` }));
  for (const c of checks.targetHealth)
    jobs.push(bound(targetHealthCheck(c, checks.timeoutMs, deps.aws), { kind: 'target-health', name: c.targetGroup }));
  for (const c of checks.instances)
    jobs.push(bound(instancesCheck(c, checks.timeoutMs, env), { kind: 'instances', name: c.query }));

  const lines = (await Promise.all(jobs)).flat();
  for (const l of lines)
    (l.ok ? deps.log.info : deps.log.warning).call(
      deps.log,
      `check ${l.kind} ${l.name}: ${l.ok ? 'ok' : 'FAILED'}: ${l.detail}`,
    );
  return lines;
}

/** The variables `checks.env` lists and those the sources read their secrets from, once each. */
export function envNames(checks: ChecksConfig, sources: SourceConfig[]): string[] {
  const out = new Set(checks.env);
  for (const s of sources) {
    const named = s as { urlEnv?: string; passwordEnv?: string; bearerTokenEnv?: string };
    for (const n of [named.urlEnv, named.passwordEnv, named.bearerTokenEnv]) if (n) out.add(n);
  }
  if (checks.version?.equalsEnv) out.add(checks.version.equalsEnv);
  for (const c of checks.instances) if (c.bearerTokenEnv) out.add(c.bearerTokenEnv);
  return [...out];
}

function envCheck(name: string, env: NodeJS.ProcessEnv): EnvironmentCheck {
  const v = env[name];
  // The value is never shown, not even its length: only whether it is there.
  if (v === undefined) return { kind: 'env', name, ok: false, detail: 'not set' };
  if (v.trim() === '') return { kind: 'env', name, ok: false, detail: 'set but empty' };
  return { kind: 'env', name, ok: true, detail: 'set' };
}

/** The version the deployment reports equals the one under test; asked again while a deploy rolls out. */
async function versionCheck(
  config: Config,
  v: VersionCheckConfig,
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<EnvironmentCheck[]> {
  const name = v.url;
  const want = v.equals ?? env[v.equalsEnv!];
  if (want === undefined || want === '')
    return [
      { kind: 'version', name, ok: false, detail: `environment variable ${v.equalsEnv} (equals-env) is not set` },
    ];
  const url = versionUrl(config.target, v.url);
  const path = v.json ? compileJsonPath(v.json) : undefined;
  const deadline = Date.now() + v.waitMs;
  let last = '';
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      const res = await fetch(url, {
        headers: { ...config.http.headers, connection: 'close' },
        signal: AbortSignal.timeout(timeoutMs),
        redirect: 'manual',
      });
      // Capped while it arrives: a version endpoint that answers with hundreds of MB is cut at 16 MiB.
      const text = await readTextCapped(res, 'the version URL');
      const where = v.header ? `header ${v.header}` : v.json!;
      let got: unknown;
      let notJson = false;
      if (v.header) got = res.headers.get(v.header) ?? undefined;
      else {
        try {
          got = evalJsonPath(path!, parseJsonBounded(text));
        } catch {
          notJson = true;
        }
      }
      if (got !== undefined && got !== null) {
        const value = typeof got === 'string' ? got : JSON.stringify(got);
        if (value === want)
          return [
            {
              kind: 'version',
              name,
              ok: true,
              detail: `${where} is ${show(value)}${attempts > 1 ? ` (after ${attempts} attempts)` : ''}`,
            },
          ];
        last = `${where} is ${show(value)}, expected ${show(want)}`;
      } else
        last = notJson
          ? `HTTP ${res.status}, the body is not JSON`
          : `HTTP ${res.status}, ${where} not found in the answer`;
    } catch (e) {
      const err = e as Error & { cause?: { code?: string } };
      last =
        err.name === 'TimeoutError'
          ? `no answer within ${formatDuration(timeoutMs)}`
          : `cannot reach it: ${err.cause?.code ?? redactPatterns(err.message)}`;
    }
    if (Date.now() + v.intervalMs > deadline) break;
    await sleep(v.intervalMs);
  }
  const waited =
    v.waitMs > 0
      ? ` (still so after ${formatDuration(v.waitMs)}, ${attempts} attempts: is the deploy rolled out?)`
      : '';
  return [{ kind: 'version', name, ok: false, detail: `${last}${waited}` }];
}

function versionUrl(target: string, path: string): string {
  if (/^https?:\/\//.test(path)) return path;
  const u = new URL(target);
  return `${u.origin}${u.pathname.replace(/\/+$/, '')}${path}`;
}

function show(v: string): string {
  const s = redactPatterns(v);
  return `"${s.length > 80 ? `${s.slice(0, 77)}...` : s}"`;
}

/** Every CloudWatch and Prometheus metric has data for the minutes before the run: a misspelt dimension shows now. */
async function monitoringChecks(
  sources: SourceConfig[],
  lookbackMs: number,
  timeoutMs: number,
  probe: (configs: SourceConfig[]) => Source[],
  now: () => number,
): Promise<EnvironmentCheck[]> {
  // Copies that ask once, without waiting for CloudWatch's publishing lag: the past minutes are already published.
  const configs = sources.flatMap((s): SourceConfig[] => {
    if (s.kind === 'cloudwatch')
      return [
        {
          ...s,
          lagWaitMs: 0,
          marginMs: 0,
          allowIncomplete: true,
          retries: Math.min(s.retries, 1),
          requestTimeoutMs: Math.min(s.requestTimeoutMs, timeoutMs),
        },
      ];
    if (s.kind === 'prometheus')
      return [{ ...s, retries: Math.min(s.retries, 1), requestTimeoutMs: Math.min(s.requestTimeoutMs, timeoutMs) }];
    return [];
  });
  const end = now();
  const window = { start: new Date(end - lookbackMs), end: new Date(end) };
  const span = formatDuration(lookbackMs);
  const lines = await Promise.all(
    probe(configs).map(async (s): Promise<EnvironmentCheck[]> => {
      try {
        const r = await withTimeout(s.collect(window), timeoutMs * 2 + 5000);
        return s.metrics.map((d) => {
          const m = r.infra.find((x) => x.name === d.name);
          const name = `${s.kind} ${d.name}`;
          if (!m)
            return {
              kind: 'monitoring',
              name,
              ok: false,
              detail: `no value for it in the ${span} before the run (${d.query})`,
            };
          if (m.unavailable) {
            const why = m.unavailable
              .replace(/for the run window/g, 'in that window')
              .replace(/between [0-9:]+ and [0-9:]+ UTC/, 'in that window');
            return {
              kind: 'monitoring',
              name,
              ok: false,
              detail: `no data in the ${span} before the run: ${redactPatterns(why)} (queried: ${d.query})`,
            };
          }
          const points = m.series?.length ?? 0;
          return {
            kind: 'monitoring',
            name,
            ok: true,
            detail: `${points} ${points === 1 ? 'point' : 'points'} in the ${span} before the run`,
          };
        });
      } catch (e) {
        return s.metrics.map((d) => ({
          kind: 'monitoring',
          name: `${s.kind} ${d.name}`,
          ok: false,
          detail: redactPatterns(messageOf(e)),
        }));
      } finally {
        await s.stop().catch(() => undefined);
      }
    }),
  );
  return lines.flat();
}

interface PromVector {
  status?: string;
  error?: string;
  data?: { result?: Array<{ metric: Record<string, string>; value: [number, string] }> };
}

/** Prometheus users' load-balancer health: every instance's series (default `up`) is 1, and enough of them. */
async function instancesCheck(
  c: InstancesCheckConfig,
  timeoutMs: number,
  env: NodeJS.ProcessEnv,
): Promise<EnvironmentCheck[]> {
  const name = c.query;
  const url = new URL('api/v1/query', c.url.endsWith('/') ? c.url : `${c.url}/`);
  url.searchParams.set('query', c.query);
  const headers: Record<string, string> = { accept: 'application/json' };
  if (c.bearerTokenEnv) {
    const token = env[c.bearerTokenEnv];
    if (!token)
      return [
        {
          kind: 'instances',
          name,
          ok: false,
          detail: `environment variable ${c.bearerTokenEnv} (bearer-token-env) is not set`,
        },
      ];
    headers.authorization = `Bearer ${token}`;
  }
  let body: PromVector;
  try {
    const res = await fetch(url, { headers, signal: AbortSignal.timeout(timeoutMs) });
    const text = await readTextCapped(res, 'Prometheus');
    try {
      body = parseJsonBounded(text) as PromVector;
    } catch {
      body = {} as PromVector;
    }
    if (!res.ok || body.status !== 'success')
      return [
        {
          kind: 'instances',
          name,
          ok: false,
          detail: `Prometheus answered ${res.status}${body.error ? `: ${redactPatterns(body.error)}` : ''}`,
        },
      ];
  } catch (e) {
    const err = e as Error & { cause?: { code?: string } };
    return [
      {
        kind: 'instances',
        name,
        ok: false,
        detail: `cannot reach Prometheus: ${err.cause?.code ?? redactPatterns(err.message)}`,
      },
    ];
  }
  const series = body.data?.result ?? [];
  const label = (m: Record<string, string>): string =>
    m[c.label] ??
    (Object.entries(m)
      .map(([k, v]) => `${k}="${v}"`)
      .join(',') ||
      '(no labels)');
  const down = series
    .filter((s) => Number(s.value[1]) !== 1)
    .map((s) => label(s.metric))
    .sort();
  const up = series.length - down.length;
  const problems: string[] = [];
  if (down.length) problems.push(`${down.length} of ${series.length} not healthy: ${down.join(', ')}`);
  if (up < c.minHealthy) problems.push(`${up} healthy, at least ${c.minHealthy} needed`);
  if (series.length === 0) problems.push('the query returned no series (is the job scraped? is the query right?)');
  return [
    {
      kind: 'instances',
      name,
      ok: problems.length === 0,
      detail: problems.length
        ? problems.join('; ')
        : `${up} of ${series.length} healthy (${series
            .map((s) => label(s.metric))
            .sort()
            .join(', ')})`,
    },
  ];
}

async function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  const ac = new AbortController();
  try {
    return await Promise.race([
      p,
      sleep(ms, ac.signal).then(() => {
        throw new Error(`no answer within ${formatDuration(ms)}`);
      }),
    ]);
  } finally {
    ac.abort();
  }
}
