// The smoke pass: each configured flow run once, step by step with its captures, checks and cookies, before the
// load. It uses the flows as the built-in engine compiles them (same templates, same data row order, same
// checks), but its own plain node:http client and its own records: none of its requests are part of the run's
// figures. A failure names the flow, the step and the check, and the pipeline then sends no load.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Config } from '../../config/types.js';
import { redactSecrets } from '../../secrets.js';
import type { EnvironmentReport } from '../../model.js';
import { runChecks, type ResponseView } from '../../flows/checks.js';
import { parseTarget } from '../../flows/target.js';
import { compileFlows, type CompiledRequest } from './flows.js';
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
    const vars: ArrivalVars & { jar?: Map<string, string> } = { row: flow.data?.rows[0], caps: new Array<unknown>(flow.slots) };
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
    flows.push({ name: flow.name, ok: failure === undefined, requests, ...(failure ? { step: failure.step, failure: failure.message } : {}) });
  }
  return { flows };
}

/** One request of the flow; a problem as text (transport failure, an error status, a failed check), or undefined. */
async function smokeStep(step: CompiledRequest, vars: ArrivalVars & { jar?: Map<string, string> }, origin: string, config: Config): Promise<string | undefined> {
  const path = step.pathT ? renderTemplate(step.pathT, vars) : step.path;
  const headers: Record<string, string> = { ...step.headers };
  if (step.headerT) for (const [k, t] of step.headerT) headers[k] = renderTemplate(t, vars);
  if (vars.jar && vars.jar.size > 0) {
    const jar = [...vars.jar].map(([k, v]) => `${k}=${v}`).join('; ');
    headers['cookie'] = headers['cookie'] ? `${headers['cookie']}; ${jar}` : jar;
  }
  const body = step.bodyJson ? renderJsonTemplate(step.bodyJson, vars) : step.bodyT ? renderTemplate(step.bodyT, vars) : step.body;
  let res: { status: number; headers: IncomingMessage['headers']; body: string; truncated: boolean };
  try {
    res = await send(origin, step.method, path, headers, body, config.http.timeoutMs);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return err.name === 'TimeoutError' || err.name === 'AbortError' ? `no answer within ${config.http.timeoutMs} ms` : `request failed: ${err.code ?? err.message}`;
  }
  const setCookie = res.headers['set-cookie'];
  if (setCookie) {
    for (const line of setCookie) {
      const pair = line.split(';', 1)[0]!;
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      vars.jar ??= new Map();
      if (value === '' || /;\s*max-age\s*=\s*(0|-\d+)/i.test(line)) vars.jar.delete(name);
      else vars.jar.set(name, value);
    }
  }
  if (step.checks) {
    const view: ResponseView = { status: res.status, headers: res.headers, body: res.body, truncated: res.truncated };
    const failed = runChecks(step.checks, view, vars.caps);
    if (failed !== undefined) return failed;
  }
  // The run's error definition: 5xx always, 4xx unless http.count-4xx-as-errors is false or the step expects it.
  const expected = step.expected?.includes(res.status) === true;
  if (!expected && (res.status >= 500 || (res.status >= 400 && config.http.count4xxAsErrors))) return `HTTP ${res.status}`;
  return undefined;
}

function send(origin: string, method: string, path: string, headers: Record<string, string>, body: string | undefined, timeoutMs: number) {
  const url = new URL(origin);
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<{ status: number; headers: IncomingMessage['headers']; body: string; truncated: boolean }>((resolve, reject) => {
    const req = request(
      { protocol: url.protocol, hostname: url.hostname.replace(/^\[|\]$/g, ''), port: url.port || undefined, method, path, headers: { connection: 'close', ...headers }, agent: false, signal: AbortSignal.timeout(timeoutMs) },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let truncated = false;
        res.on('data', (c: Buffer) => {
          if (size + c.length > BODY_LIMIT) truncated = true;
          else chunks.push(c);
          size += c.length;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8'), truncated }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.setHeader('content-length', Buffer.byteLength(body));
    req.end(body);
  });
}
