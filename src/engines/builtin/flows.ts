// Everything about a request that does not change between arrivals is worked out once here (full path, merged
// headers, serialised body, endpoint slot), so the hot path only copies a few references.
import { UserError } from '../../config/types.js';
import type { Config } from '../../config/types.js';
import type { ErrorKind, Flow } from '../../model.js';

export interface ParsedTarget {
  origin: string;
  /** Base path without a trailing slash ('' for the root). */
  basePath: string;
  /** Path and query of the target itself: what a step with an empty path requests. */
  ownPath: string;
  /** Basic credentials from the URL, if any, as an Authorization header value. */
  authorization?: string;
  /** The target as shown in results: credentials removed. */
  redacted: string;
}

export function parseTarget(target: string): ParsedTarget {
  let url: URL;
  try {
    url = new URL(target);
  } catch {
    throw new UserError(`target "${redactUrl(target)}" is not a valid URL (expected e.g. https://staging.example.com)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UserError(`target must be an http:// or https:// URL (got ${url.protocol}//)`);
  }
  let authorization: string | undefined;
  if (url.username || url.password) {
    const user = decodeURIComponent(url.username);
    const pass = decodeURIComponent(url.password);
    authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  }
  return {
    origin: url.origin,
    basePath: url.pathname.replace(/\/+$/, ''),
    ownPath: url.pathname + url.search,
    ...(authorization ? { authorization } : {}),
    redacted: redactUrl(target),
  };
}

/**
 * The URL with user and password removed and secret-looking query values masked; an unparseable string is returned
 * with anything before '@' cut.
 */
export function redactUrl(target: string): string {
  try {
    const url = new URL(target);
    url.username = '';
    url.password = '';
    for (const key of [...url.searchParams.keys()]) {
      if (/token|key|secret|password|passwd|pwd|auth|sig/i.test(key)) url.searchParams.set(key, '***');
    }
    let s = url.toString();
    // URL adds a '/' to a bare origin; keep the user's spelling so the report shows what they wrote.
    if (url.pathname === '/' && !url.search && !url.hash && !/\/$/.test(target.trim())) s = s.slice(0, -1);
    return s;
  } catch {
    return target.replace(/\/\/[^/@]*@/, '//');
  }
}

export interface CompiledRequest {
  think: false;
  method: string;
  /** Path on the origin, base path included. */
  path: string;
  headers: Record<string, string>;
  body: string | undefined;
  /** Index into the run's endpoint table. */
  endpoint: number;
}

export interface CompiledThink {
  think: true;
  ms: number;
}

export type CompiledStep = CompiledRequest | CompiledThink;

export interface CompiledFlows {
  flows: CompiledStep[][];
  /** Cumulative weights, for picking a flow with one random number. */
  cumulative: Float64Array;
  totalWeight: number;
  endpointNames: string[];
  /** Longest total think time of any flow, ms: how long a flow can outlive the schedule without being slow. */
  maxThinkMs: number;
}

export function compileFlows(config: Config, target: ParsedTarget): CompiledFlows {
  const flows: Flow[] = config.flows;
  if (flows.length === 0) throw new UserError('no flows to run: define at least one flow with a request step');
  const endpointIndex = new Map<string, number>();
  const endpointNames: string[] = [];
  const compiled: CompiledStep[][] = [];
  const cumulative = new Float64Array(flows.length);
  let total = 0;
  let maxThinkMs = 0;
  const baseHeaders = lowerKeys(config.http.headers);
  if (target.authorization && baseHeaders['authorization'] === undefined) {
    baseHeaders['authorization'] = target.authorization;
  }

  flows.forEach((flow, fi) => {
    if (!(Number.isFinite(flow.weight) && flow.weight >= 0)) {
      throw new UserError(`flow "${flow.name}": weight must be zero or more`);
    }
    const steps: CompiledStep[] = [];
    let thinkMs = 0;
    let requests = 0;
    for (const step of flow.steps) {
      if (step.kind === 'think') {
        if (!(Number.isFinite(step.ms) && step.ms >= 0)) throw new UserError(`flow "${flow.name}": think time must be zero or more ms`);
        thinkMs += step.ms;
        steps.push({ think: true, ms: step.ms });
        continue;
      }
      requests++;
      const method = step.method.toUpperCase();
      // An empty path means the target URL itself (query included); any other path is relative to the target's
      // path, and the target's own query string does not carry over to it.
      const path = step.path === '' ? target.ownPath : target.basePath + (step.path.startsWith('/') ? step.path : `/${step.path}`);
      const name = step.name ?? `${method} ${step.path === '' ? redactPath(target.ownPath) : step.path}`;
      let endpoint = endpointIndex.get(name);
      if (endpoint === undefined) {
        endpoint = endpointNames.length;
        endpointIndex.set(name, endpoint);
        endpointNames.push(name);
      }
      const headers = { ...baseHeaders, ...lowerKeys(step.headers ?? {}) };
      let body: string | undefined;
      if (step.json !== undefined) {
        body = JSON.stringify(step.json);
        if (headers['content-type'] === undefined) headers['content-type'] = 'application/json';
      } else if (step.body !== undefined) {
        body = step.body;
      }
      steps.push({ think: false, method, path, headers, body, endpoint });
    }
    if (requests === 0 && flow.weight > 0) throw new UserError(`flow "${flow.name}" has no request step`);
    maxThinkMs = Math.max(maxThinkMs, thinkMs);
    compiled.push(steps);
    total += flow.weight;
    cumulative[fi] = total;
  });
  if (!(total > 0)) throw new UserError('every flow has weight 0: give at least one flow a positive weight');
  return { flows: compiled, cumulative, totalWeight: total, endpointNames, maxThinkMs };
}

function redactPath(pathAndQuery: string): string {
  return redactUrl(`http://x${pathAndQuery}`).slice('http://x'.length) || '/';
}

/** Header names are case-insensitive; lower-casing them makes a step's header override the global one. */
function lowerKeys(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}

const TIMEOUT_CODES = new Set([
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
]);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'ECONNABORTED']);
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);

/** Map a transport error (from undici or the socket under it) to an error kind. */
export function classifyError(err: unknown): ErrorKind {
  // Node wraps per-address failures of a multi-address connect in an AggregateError, and some undici errors
  // carry the socket error as `cause`: look through both before giving up.
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  let fallback: ErrorKind = 'other';
  while (queue.length > 0) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') {
      if (code === 'ECONNREFUSED') return 'connection_refused';
      if (TIMEOUT_CODES.has(code)) return 'timeout';
      if (DNS_CODES.has(code)) return 'dns';
      if (RESET_CODES.has(code)) fallback = 'connection_reset';
    }
    if ((e as { name?: unknown }).name === 'TimeoutError') return 'timeout';
    const cause = (e as { cause?: unknown }).cause;
    if (cause !== undefined) queue.push(cause);
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors)) queue.push(...errors);
  }
  return fallback;
}
