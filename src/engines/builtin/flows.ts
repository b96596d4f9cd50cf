// Everything about a request that does not change between arrivals is worked out once here (full path, merged
// headers, serialised body, endpoint slot, compiled templates and checks), so the hot path only copies a few
// references, and renders templates by concatenation when a step has any.
import type { Config } from '../../config/types.js';
import type { ErrorKind } from '../../model.js';
import { endpointLabel, type ParsedTarget } from '../../flows/target.js';
import { compileChecks, type CompiledChecks } from '../../flows/checks.js';
import { readDataFile, type DataTable } from '../../flows/data.js';
import { headerProblem, pathProblem, requestBytes, unsendableHeaderValue, unsendablePath } from './request-bytes.js';
import { endpointOf } from './http1.js';
import { TRACE_PLACEHOLDER, TRACEPARENT, traceOffset } from './trace.js';
import {
  REF_DATA,
  TemplateError,
  asText,
  captureRef,
  compileJsonTemplate,
  compileTemplate,
  dataRef,
  hasTemplate,
  type JsonTemplate,
  type Ref,
  type Scope,
  type Template,
} from '../../flows/templates.js';
import { UserError } from '../../errors.js';
import type { Flow } from '../../flows/steps.js';

export interface CompiledRequest {
  think: false;
  method: string;
  /** Path on the origin, base path included (when it has no template). */
  path: string;
  /** The same with templates, rendered per arrival. */
  pathT: Template | undefined;
  /** Headers that do not change between arrivals (a templated value is replaced per request). */
  headers: Record<string, string>;
  headerT: Array<[string, Template]> | undefined;
  body: string | undefined;
  bodyT: Template | undefined;
  bodyJson: JsonTemplate | undefined;
  /** Index into the run's endpoint table. */
  endpoint: number;
  checks: CompiledChecks | undefined;
  /** Status codes the step's `expect.status` lists: a 4xx among them is not an error. */
  expected: readonly number[] | undefined;
  /** The request's bytes, when nothing in it changes between arrivals (no template); built once. */
  wire: Buffer | undefined;
  /** Where the traceparent placeholder's trace id is in `wire` (-1: none, or no fixed wire). */
  traceOff: number;
  isHead: boolean;
  /** The step sends `connection: close`: its connection is not reused. */
  closeAfter: boolean;
}

export interface CompiledThink {
  think: true;
  ms: number;
}

export type CompiledStep = CompiledRequest | CompiledThink;

export interface CompiledFlow {
  name: string;
  steps: CompiledStep[];
  /** The data file's rows (this shard's share of them), read once; undefined without `data:`. */
  data: DataTable | undefined;
  random: boolean;
  /** Next row for `order: sequential`. */
  next: number;
  /** Capture slots an arrival of this flow needs. */
  slots: number;
}

export interface CompiledFlows {
  flows: CompiledFlow[];
  /** Cumulative weights, for picking a flow with one random number. */
  cumulative: Float64Array;
  totalWeight: number;
  endpointNames: string[];
  /** Longest total think time of any flow, ms: how long a flow can outlive the schedule without being slow. */
  maxThinkMs: number;
  /** Values of the `{{ env.NAME }}` templates used: secrets to mask, never to write. */
  secrets: string[];
}

const BUILTINS = 'env.NAME, $uuid, $randomInt(a, b), $timestamp';

/**
 * Compile every flow once, before any load: templates into parts, checks into matchers, data files into tables.
 * A mistake (a template naming nothing, an unreadable data file, a bad JSONPath, an unsafe regex) is a UserError
 * naming the config path of the step.
 */
export function compileFlows(
  config: Config,
  target: ParsedTarget,
  env: NodeJS.ProcessEnv = process.env,
): CompiledFlows {
  const flows: Flow[] = config.flows;
  if (flows.length === 0) throw new UserError('no flows to run: define at least one flow with a request step');
  const file = config.configPath ?? '.github/perf-gate.yml';
  const endpointIndex = new Map<string, number>();
  const endpointNames: string[] = [];
  const compiled: CompiledFlow[] = [];
  const cumulative = new Float64Array(flows.length);
  const secrets = new Set<string>();
  let total = 0;
  let maxThinkMs = 0;
  const baseHeaders = lowerKeys(config.http.headers);
  const hostHeader = endpointOf(target.origin).hostHeader;
  if (target.authorization && baseHeaders['authorization'] === undefined) {
    baseHeaders['authorization'] = target.authorization;
  }

  flows.forEach((flow, fi) => {
    if (!(Number.isFinite(flow.weight) && flow.weight >= 0)) {
      throw new UserError(`flow "${flow.name}": weight must be zero or more`);
    }
    let data: DataTable | undefined;
    let allRows: unknown[][] = [];
    if (flow.data) {
      data = readDataFile(flow.data, `${file}: flows[${fi}].data`);
      allRows = data.rows;
      const shard = config.shard;
      if (shard && shard.count > 1) {
        // Shard i of n takes rows i-1, i-1+n, ...: every row goes to exactly one shard.
        const rows = data.rows.filter((_, r) => r % shard.count === shard.index - 1);
        if (rows.length === 0) {
          throw new UserError(
            `${file}: flows[${fi}].data: shard ${shard.index} of ${shard.count} gets no rows of "${flow.data.source}" (${data.rows.length} rows)`,
          );
        }
        data = { columns: data.columns, rows };
      }
    }
    const names = new Map<string, Ref>();
    data?.columns.forEach((c, i) => {
      names.set(c, dataRef(i));
    });
    const captured: string[] = [];
    const slotIndex = new Map<string, number>();
    const scope: Scope = {
      names,
      env,
      secrets,
      describe: () => {
        const have = [
          data ? `data columns: ${data.columns.join(', ')}` : 'no data file',
          captured.length ? `captures of earlier steps: ${captured.join(', ')}` : 'no captures before this step',
        ];
        return `${have.join('; ')}; also ${BUILTINS}`;
      },
    };
    const steps: CompiledStep[] = [];
    let thinkMs = 0;
    let requests = 0;
    flow.steps.forEach((step, si) => {
      if (step.kind === 'think') {
        if (!(Number.isFinite(step.ms) && step.ms >= 0))
          throw new UserError(`flow "${flow.name}": think time must be zero or more ms`);
        thinkMs += step.ms;
        steps.push({ think: true, ms: step.ms });
        return;
      }
      requests++;
      const method = step.method.toUpperCase();
      const name = step.name ?? endpointLabel(step, target);
      const where = `${file}: flows[${fi}].steps[${si}] (${name})`;
      const compile = <T>(what: string, fn: () => T): T => {
        try {
          return fn();
        } catch (e) {
          if (e instanceof TemplateError) throw new UserError(`${where}: ${what}: ${e.message}`);
          throw e;
        }
      };
      // An empty path means the target URL itself (query included); any other path is relative to the target's
      // path, and the target's own query string does not carry over to it.
      const path =
        step.path === '' ? target.ownPath : target.basePath + (step.path.startsWith('/') ? step.path : `/${step.path}`);
      const pathT = hasTemplate(path) ? compile('path', () => compileTemplate(path, scope)) : undefined;
      let endpoint = endpointIndex.get(name);
      if (endpoint === undefined) {
        endpoint = endpointNames.length;
        endpointIndex.set(name, endpoint);
        endpointNames.push(name);
      }
      // A data cell that cannot go where a template puts it is found now, by file, row and column, instead of
      // failing every request that draws its row as `other` with no word of why.
      const cellsFit = (t: Template, what: string, unsendable: (v: string) => boolean, fix: string): void => {
        if (!data || !flow.data) return;
        for (const p of t.parts) {
          if (typeof p === 'string' || p.kind !== REF_DATA) continue;
          const r = allRows.findIndex((row) => unsendable(asText(row[p.index])));
          if (r >= 0) {
            throw new UserError(
              `${where}: ${what}: data file "${flow.data.source}", data row ${r + 1}, column ${data.columns[p.index]}: ${fix} (the value is not shown: it is data)`,
            );
          }
        }
      };
      if (pathT)
        cellsFit(
          pathT,
          'path',
          unsendablePath,
          'the value has a space, a control character or a character outside latin-1, which cannot go in a path; percent-encode it in the file',
        );
      if (!pathT) {
        const problem = pathProblem(path);
        if (problem) throw new UserError(`${where}: path: ${problem}`);
      }
      const stepHeaders = lowerKeys(step.headers ?? {});
      const headers = { ...baseHeaders, ...stepHeaders };
      // A placeholder the engine writes fresh ids over per request; a traceparent of the user's own is kept as is.
      if (config.http.traceparent !== false && headers[TRACEPARENT] === undefined)
        headers[TRACEPARENT] = TRACE_PLACEHOLDER;
      const headerT: Array<[string, Template]> = [];
      for (const [k, v] of Object.entries(headers)) {
        const templated = hasTemplate(v);
        // Whether the connection is reused is decided once per step, so `connection` cannot vary per arrival.
        const problem =
          k === 'connection' && templated
            ? 'a template is not allowed here: write close or keep-alive'
            : headerProblem(k, templated ? undefined : v);
        if (problem) {
          const at = k in stepHeaders ? `${where}: headers.${k}` : `${file}: http.headers.${k}`;
          throw new UserError(`${at}: ${problem}`);
        }
        if (templated) {
          const t = compile(`headers.${k}`, () => compileTemplate(v, scope));
          cellsFit(
            t,
            `headers.${k}`,
            unsendableHeaderValue,
            'the value has a control character (e.g. a line break) or a character outside latin-1, which cannot go in a header',
          );
          headerT.push([k, t]);
        }
      }
      let body: string | undefined;
      let bodyT: Template | undefined;
      let bodyJson: JsonTemplate | undefined;
      if (step.json !== undefined) {
        bodyJson = compile('json', () => compileJsonTemplate(step.json, scope));
        if (!bodyJson) body = JSON.stringify(step.json);
        if (headers['content-type'] === undefined) headers['content-type'] = 'application/json';
      } else if (step.body !== undefined) {
        const text = step.body;
        if (hasTemplate(text)) bodyT = compile('body', () => compileTemplate(text, scope));
        else body = text;
      }
      const checks = compileChecks(
        name,
        step.expect,
        step.capture,
        (n) => slotIndex.get(n) ?? (slotIndex.set(n, slotIndex.size), slotIndex.size - 1),
        where,
      );
      // Captures are visible from the next step on.
      for (const n of Object.keys(step.capture ?? {})) {
        names.set(n, captureRef(slotIndex.get(n)!));
        if (!captured.includes(n)) captured.push(n);
      }
      let wire: Buffer | undefined;
      if (!pathT && headerT.length === 0 && !bodyT && !bodyJson) {
        const bytes = requestBytes(method, path, hostHeader, headers, body);
        if (bytes instanceof Error) throw new UserError(`${where}: ${bytes.message}`);
        wire = typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes;
      }
      steps.push({
        think: false,
        method,
        path,
        pathT,
        headers,
        headerT: headerT.length ? headerT : undefined,
        body,
        bodyT,
        bodyJson,
        endpoint,
        checks,
        expected: step.expect?.status,
        wire,
        traceOff: wire ? traceOffset(wire) : -1,
        isHead: method === 'HEAD',
        closeAfter: headers['connection']?.toLowerCase() === 'close',
      });
    });
    if (requests === 0 && flow.weight > 0) throw new UserError(`flow "${flow.name}" has no request step`);
    maxThinkMs = Math.max(maxThinkMs, thinkMs);
    compiled.push({
      name: flow.name,
      steps,
      data,
      random: flow.data?.order === 'random',
      next: 0,
      slots: slotIndex.size,
    });
    total += flow.weight;
    cumulative[fi] = total;
  });
  if (!(total > 0)) throw new UserError('every flow has weight 0: give at least one flow a positive weight');
  return { flows: compiled, cumulative, totalWeight: total, endpointNames, maxThinkMs, secrets: [...secrets] };
}

/** Header names are case-insensitive; lower-casing them makes a step's header override the global one. */
function lowerKeys(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) out[k.toLowerCase()] = v;
  return out;
}

// Our own deadline timer ends a slow request (kind `timeout` without a code); these are the kernel's and TLS's.
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ESOCKETTIMEDOUT', 'ERR_SOCKET_CONNECTION_TIMEOUT']);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED']);
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_FAIL', 'EAI_NONAME', 'EAI_NODATA']);

/** Map a transport error (from the engine's HTTP/1.1 client, its socket or TLS) to an error kind. */
export function classifyError(err: unknown): ErrorKind {
  // Node wraps per-address failures of a multi-address connect in an AggregateError, and a wrapped error may carry
  // the socket's as `cause`: look through both before giving up.
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

/** TLS's own codes for a certificate that failed verification, and what each says in words. */
const CERT_CHECKS: Record<string, string> = {
  CERT_HAS_EXPIRED: 'the certificate has expired',
  CERT_NOT_YET_VALID: 'the certificate is not valid yet',
  DEPTH_ZERO_SELF_SIGNED_CERT: 'the certificate is self-signed',
  SELF_SIGNED_CERT_IN_CHAIN: 'a self-signed certificate is in the chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: "the certificate's issuer is unknown (no chain to a trusted CA)",
  UNABLE_TO_GET_ISSUER_CERT: "the certificate's issuer is unknown (no chain to a trusted CA)",
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: "the certificate's issuer is unknown (no chain to a trusted CA)",
  ERR_TLS_CERT_ALTNAME_INVALID: 'the certificate is for another host name',
  CERT_REVOKED: 'the certificate was revoked',
  CERT_SIGNATURE_FAILURE: "the certificate's signature does not verify",
  CERT_UNTRUSTED: 'the certificate is not trusted',
  INVALID_CA: 'a CA certificate in the chain is invalid',
};

/**
 * What went wrong with a request that got no response, in one line for a note or a message: which certificate
 * check failed, the protocol error, or the error's code and message. No request or response data is in it.
 */
export function describeFailure(err: unknown): string {
  const seen = new Set<unknown>();
  const queue: unknown[] = [err];
  let first: string | undefined;
  while (queue.length > 0) {
    const e = queue.shift();
    if (e === null || typeof e !== 'object' || seen.has(e)) continue;
    seen.add(e);
    const code = (e as { code?: unknown }).code;
    const message = String((e as { message?: unknown }).message ?? '')
      .split('\n')[0]!
      .slice(0, 200);
    if (typeof code === 'string' && CERT_CHECKS[code])
      return `TLS certificate check failed: ${CERT_CHECKS[code]} (${code})`;
    if (typeof code === 'string' && code.startsWith('ERR_SSL')) return `TLS handshake failed: ${message || code}`;
    first ??=
      typeof code === 'string' && code !== 'PERF_GATE_HTTP_PROTOCOL'
        ? `${code}${message ? ` (${message})` : ''}`
        : message || undefined;
    const cause = (e as { cause?: unknown }).cause;
    if (cause !== undefined) queue.push(cause);
    const errors = (e as { errors?: unknown }).errors;
    if (Array.isArray(errors)) queue.push(...errors);
  }
  return first ?? 'unknown error';
}
