// The target URL and the names of a flow's requests, as every engine and translation sees them: the target split
// into origin, base path and credentials; a request's endpoint label (`METHOD /path` as written, secrets masked);
// and the values of the `{{ env.NAME }}` templates the flows use, to be masked before anything is logged.
import { SECRET_QUERY_KEY, redactUrl } from '../secrets.js';
import { UserError } from '../errors.js';
import { envValuesIn } from './templates.js';
import type { Flow, FlowStep } from './steps.js';

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
 * A request's endpoint label when it has no `name:`: `METHOD /path` as written in the config, templates unexpanded
 * (so `/api/items/{{ id }}` stays one endpoint), with credentials and secret-looking query values masked.
 */
export function endpointLabel(step: FlowStep, target: ParsedTarget): string {
  return `${step.method.toUpperCase()} ${step.path === '' ? redactPath(target.ownPath) : redactRawPath(step.path)}`;
}

/** Like redactPath, but without URL parsing: that would percent-encode the `{{ }}` of templates in the label. */
function redactRawPath(path: string): string {
  const noCreds = path.replace(/\/\/[^/@?#]*@/, '//');
  const q = noCreds.indexOf('?');
  if (q < 0) return noCreds;
  const query = noCreds
    .slice(q + 1)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const key = eq < 0 ? pair : pair.slice(0, eq);
      return eq >= 0 && SECRET_QUERY_KEY.test(key) ? `${key}=***` : pair;
    })
    .join('&');
  return `${noCreds.slice(0, q)}?${query}`;
}

/** Values of every `{{ env.NAME }}` the flows use, for the caller to mask before anything is logged. */
export function flowSecrets(
  config: { flows: readonly Flow[]; http: { headers: Record<string, string> } },
  env: NodeJS.ProcessEnv = process.env,
): string[] {
  const texts: string[] = Object.values(config.http.headers);
  const collect = (v: unknown): void => {
    if (typeof v === 'string') texts.push(v);
    else if (Array.isArray(v)) v.forEach(collect);
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(collect);
  };
  for (const flow of config.flows) {
    for (const step of flow.steps) {
      if (step.kind !== 'request') continue;
      collect(step.path);
      collect(step.headers);
      collect(step.json);
      collect(step.body);
    }
  }
  return envValuesIn(texts, env);
}

function redactPath(pathAndQuery: string): string {
  return redactUrl(`http://x${pathAndQuery}`).slice('http://x'.length) || '/';
}
