// The smoke pass: each configured flow run once, step by step with its captures, checks and cookies, before the
// load. It uses the flows as the built-in engine compiles them (same templates, same data row order, same
// checks), the engine's own HTTP/1.1 client (so the same framing rules and the same 64 KiB head limit as the load:
// a second client with a 16 KiB limit failed healthy targets the load would have reached), and its own records:
// none of its requests are part of the run's figures. A failure names the flow, the step and the check, and the
// pipeline then sends no load.
import { randomBytes } from 'node:crypto';
import type { Config } from '../../config/types.js';
import { redactSecrets } from '../../secrets.js';
import type { EnvironmentReport } from '../../model.js';
import { runChecks, type ResponseView } from '../../flows/checks.js';
import { parseTarget } from '../../flows/target.js';
import { compileFlows, describeFailure, type CompiledRequest } from './flows.js';
import { cookieHeader, storeCookies } from './cookies.js';
import { requestBytes } from './request-bytes.js';
import { ConnectionPool, endpointOf, parseHead } from './http1.js';
import { TRACE_PLACEHOLDER, TRACEPARENT } from './trace.js';
import { renderJsonTemplate, renderTemplate, type ArrivalVars } from '../../flows/templates.js';

export type SmokeResult = NonNullable<EnvironmentReport['smoke']>;

/** The body kept for the checks; a smoke answer larger than this is cut (and the checks see `truncated`). */
const BODY_LIMIT = 4 * 1024 * 1024;

export async function runSmoke(config: Config): Promise<SmokeResult> {
  const target = parseTarget(config.target);
  const compiled = compileFlows(config, target);
  const secrets = compiled.secrets;
  const mask = (s: string): string => {
    let out = redactSecrets(s);
    for (const v of secrets) if (v.length >= 4) out = out.split(v).join('***');
    return out;
  };
  const flows: SmokeResult['flows'] = [];
  for (const flow of compiled.flows) {
    const vars: ArrivalVars & { jar?: Map<string, string> } = {
      row: flow.data?.rows[0],
      caps: new Array<unknown>(flow.slots),
    };
    let requests = 0;
    let failure: { step: string; message: string } | undefined;
    for (const step of flow.steps) {
      // Think times are left out: the smoke pass checks that the journey works, not its pacing.
      if (step.think) continue;
      requests++;
      const label = compiled.endpointNames[step.endpoint] ?? `${step.method} ${step.path}`;
      const problem = await smokeStep(step, vars, target.origin, config);
      if (problem !== undefined) {
        failure = { step: label, message: mask(problem) };
        break;
      }
    }
    flows.push({
      name: flow.name,
      ok: failure === undefined,
      requests,
      ...(failure ? { step: failure.step, failure: failure.message } : {}),
    });
  }
  return { flows };
}

/** One request of the flow; a problem as text (transport failure, an error status, a failed check), or undefined. */
async function smokeStep(
  step: CompiledRequest,
  vars: ArrivalVars & { jar?: Map<string, string> },
  origin: string,
  config: Config,
): Promise<string | undefined> {
  const path = step.pathT ? renderTemplate(step.pathT, vars) : step.path;
  const headers: Record<string, string> = { ...step.headers };
  if (headers[TRACEPARENT] === TRACE_PLACEHOLDER)
    headers[TRACEPARENT] = `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
  if (step.headerT) for (const [k, t] of step.headerT) headers[k] = renderTemplate(t, vars);
  if (vars.jar && vars.jar.size > 0) {
    const jar = cookieHeader(vars.jar);
    headers['cookie'] = headers['cookie'] ? `${headers['cookie']}; ${jar}` : jar;
  }
  const body = step.bodyJson
    ? renderJsonTemplate(step.bodyJson, vars)
    : step.bodyT
      ? renderTemplate(step.bodyT, vars)
      : step.body;
  let res: Answer;
  try {
    res = await send(origin, step.method, path, headers, body, config.http.timeoutMs);
  } catch (e) {
    const err = e as Error;
    return err.name === 'TimeoutError'
      ? `no answer within ${config.http.timeoutMs} ms`
      : `request failed: ${describeFailure(err)}`;
  }
  const setCookie = res.headers['set-cookie'];
  // A cookie that cannot be sent back is skipped, as the load does.
  if (setCookie) vars.jar = storeCookies(vars.jar, setCookie, () => undefined);
  if (step.checks) {
    const view: ResponseView = { status: res.status, headers: res.headers, body: res.body, truncated: res.truncated };
    let failed: string | undefined;
    try {
      failed = runChecks(step.checks, view, vars.caps);
    } catch {
      failed = step.checks.uncheckable;
    }
    if (failed !== undefined) return failed;
  }
  // The run's error definition: 5xx always, 4xx unless http.count-4xx-as-errors is false or the step expects it.
  const expected = step.expected?.includes(res.status) === true;
  if (!expected && (res.status >= 500 || (res.status >= 400 && config.http.count4xxAsErrors)))
    return `HTTP ${res.status}`;
  return undefined;
}

interface Answer {
  status: number;
  headers: Record<string, string | string[]>;
  body: string;
  truncated: boolean;
}

/** One request on a connection of its own (closed after it), through the engine's client; rejects on a failure. */
function send(
  origin: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body: string | undefined,
  timeoutMs: number,
): Promise<Answer> {
  const endpoint = endpointOf(origin);
  const bytes = requestBytes(method, path, endpoint.hostHeader, { ...headers, connection: 'close' }, body);
  if (bytes instanceof Error) return Promise.reject(bytes);
  const pool = new ConnectionPool(endpoint);
  return new Promise<Answer>((resolve, reject) => {
    let status = -1;
    let head: Answer['headers'] = {};
    const chunks: Buffer[] = [];
    let size = 0;
    let truncated = false;
    let abort: ((err: Error) => void) | undefined;
    const timer = setTimeout(
      () => abort?.(Object.assign(new Error('no answer in time'), { name: 'TimeoutError' })),
      timeoutMs,
    );
    const settle = (f: () => void): void => {
      clearTimeout(timer);
      pool.destroyAll();
      f();
    };
    pool.acquire().dispatch(bytes, method === 'HEAD', true, {
      keepBody: true,
      onConnect: (a) => (abort = a),
      onHead: (s, buf, start, end) => {
        status = s;
        head = parseHead(buf, start, end);
      },
      onData: (c) => {
        if (size + c.length > BODY_LIMIT) truncated = true;
        else chunks.push(c);
        size += c.length;
      },
      onComplete: () =>
        settle(() => resolve({ status, headers: head, body: Buffer.concat(chunks).toString('utf8'), truncated })),
      onError: (err) => settle(() => reject(err)),
    });
  });
}
