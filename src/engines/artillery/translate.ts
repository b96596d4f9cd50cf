// The config's flows as an Artillery script, so `engine: artillery` without a `script` runs the same journeys as
// the built-in engine. Everything is translated to what Artillery 2.0.x does with the same meaning, checked against
// its source (lib/commons/engine_util.js, core/engine_http.js, core/runner.js, artillery-plugin-expect,
// artillery-plugin-metrics-by-endpoint); what it cannot do with the same meaning is a UserError before any load,
// naming the flow, the step and the feature. Nothing is approximated silently.
//
// The parts worth knowing:
// - Endpoint rows: every request gets a `name:` (the step's own, else the built-in label `METHOD /path`), and
//   metrics-by-endpoint and the expect plugin run with `useOnlyRequestNames`, so the rows are named exactly as the
//   built-in engine names them and `p99{bid}` means the same row on both engines.
// - Checks: the expect plugin with `reportFailuresAsErrors` fails the request and ends the virtual user, as a failed
//   check ends the built-in arrival's flow; the Artillery reader counts those as errors of kind `check`. A capture
//   gets an expectation that its value exists (JMESPath `!= null`, `hasHeader`) and is itself not strict, so a
//   missing value is a failed check on that endpoint, not Artillery's uncounted "Failed capture or match".
// - Values: Artillery renders `{{ x }}` alone in a JSON string as x's own value, anything else as text. The built-in
//   engine also turns text that is exactly a JSON number into a number there, makes a fresh $uuid per use (Artillery's
//   $uuid is one per virtual user), and has $timestamp (Artillery has none). Those go through a small processor
//   written beside the script, whose beforeRequest hook sets per-request variables the way the built-in engine would.
// - Secrets: `{{ env.NAME }}` becomes Artillery's `{{ $env.NAME }}`; values are never written into the script.
import { join, relative } from 'node:path';
import type { Config } from '../../config/types.js';
import type { Stage } from '../../model.js';
import { readDataFile } from '../../flows/data.js';
import { compileJsonPath, type PathSegment } from '../../flows/jsonpath.js';
import { splitTemplate, TemplateError } from '../../flows/templates.js';
import { toArtilleryPhases } from './phases.js';
import { UserError, messageOf } from '../../errors.js';
import { redactUrl } from '../../secrets.js';
import { endpointLabel, parseTarget } from '../../flows/target.js';
import type { CaptureSpec, Flow, FlowStep } from '../../flows/steps.js';

export const FLOW_SCRIPT_FILE = 'artillery-script.yml';
export const FLOW_PROCESSOR_FILE = 'artillery-processor.cjs';
export const FLOW_DATA_FILE = 'artillery-data.csv';

/** The HTTP methods Artillery's HTTP engine sends (core/engine_http.js). */
const ARTILLERY_METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const ENV = /^env\.([A-Za-z_][A-Za-z0-9_]*)$/;
const RANDOM_INT = /^\$randomInt\(\s*(-?\d{1,15})\s*,\s*(-?\d{1,15})\s*\)$/;
const JMES_IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

export interface FlowScript {
  /** The Artillery script as an object (written as YAML). */
  doc: Record<string, unknown>;
  /** Source of the processor file, when a step needs per-request values. */
  processor?: string;
  /** A CSV converted from a JSON data file, to write beside the script. */
  csv?: string;
  /** Values of the environment variables the flows refer to: to be masked in output. */
  secrets: string[];
}

export interface TranslateOptions {
  /** Folder the script is written to: the data file's path is relative to it. */
  scriptDir: string;
  stages: Stage[];
  env?: NodeJS.ProcessEnv;
}

/** One generated per-request variable: how the processor computes it. */
type Generated =
  | { kind: 'uuid' }
  | { kind: 'timestamp' }
  | { kind: 'int'; min: number; max: number }
  | { kind: 'value'; from: string }
  | { kind: 'env'; name: string };

interface StepScope {
  flow: Flow;
  fi: number;
  si: number;
  /** Step label for messages. */
  label: string;
  /** Names in scope; true when the value is known to be text that is not a JSON number (a data column checked). */
  names: Map<string, boolean>;
  /** Variables this step's beforeRequest hook sets. */
  generated: Map<string, Generated>;
  counter: { n: number };
  env: NodeJS.ProcessEnv;
  secrets: Set<string>;
  distributed: boolean;
  configPath: string;
}

function refuse(s: Pick<StepScope, 'configPath' | 'flow' | 'fi' | 'si' | 'label'>, feature: string): never {
  throw new UserError(
    `${s.configPath}: flows[${s.fi}].steps[${s.si}] (${s.label}) of flow "${s.flow.name}": ${feature}; ` +
      'engine "artillery" runs the flows only where Artillery does the same thing (use the builtin engine, or write an Artillery script and set "script")',
  );
}

/** Translate the config's flows; throws a UserError naming the flow, step and feature Artillery cannot do alike. */
export function translateFlows(config: Config, opts: TranslateOptions): FlowScript {
  const env = opts.env ?? process.env;
  const configPath = config.configPath ?? '.github/perf-gate.yml';
  const distributed = config.distributed.mode !== 'none';
  const target = parseTarget(config.target);
  const secrets = new Set<string>();
  const data = payloadOf(config.flows, configPath, opts.scriptDir);
  const weights = integerWeights(config.flows, configPath);
  const processorHooks: Array<{ hook: string; generated: Map<string, Generated> }> = [];
  const counter = { n: 0 };
  const scenarios: Array<Record<string, unknown>> = [];
  let expects = false;

  config.flows.forEach((flow, fi) => {
    const weight = weights[fi]!;
    if (weight === 0) return; // a flow of weight 0 never runs; Artillery would read 0 as "not given" and run it
    // Data columns whose every value stays text in the built-in engine's JSON can be used as they are.
    const names = new Map<string, boolean>(flow.data ? data!.columns.map((c) => [c, data!.textColumns.has(c)]) : []);
    const steps: unknown[] = [];
    flow.steps.forEach((step, si) => {
      if (step.kind === 'think') {
        // A whole number is seconds to Artillery; a fractional number makes a NaN timeout (no pause), while a text with a
        // unit goes through `ms`, so 200 ms is written "200ms".
        steps.push({ think: step.ms % 1000 === 0 ? step.ms / 1000 : `${Math.round(step.ms)}ms` });
        return;
      }
      const label = step.name ?? endpointLabel(step, target);
      const scope: StepScope = {
        flow,
        fi,
        si,
        label,
        names,
        generated: new Map(),
        counter,
        env,
        secrets,
        distributed,
        configPath,
      };
      for (const n of [...(si === firstRequest(flow) ? names.keys() : []), ...Object.keys(step.capture ?? {})]) {
        // Artillery's own variables: `target` is what URLs and metrics-by-endpoint are built from.
        if (n === 'target' || n.startsWith('perfGate_'))
          refuse(
            scope,
            `the name "${n}" (a data column or capture) is one Artillery or perf-gate's processor uses itself; rename it`,
          );
      }
      const { request, hasExpect } = translateRequest(step, scope, config, target);
      expects ||= hasExpect;
      if (scope.generated.size > 0) {
        const hook = `perfGate_f${fi}_s${si}`;
        processorHooks.push({ hook, generated: scope.generated });
        request.beforeRequest = [hook];
      }
      steps.push({ [step.method.toLowerCase()]: request });
      for (const n of Object.keys(step.capture ?? {})) names.set(n, false);
    });
    scenarios.push({ name: flow.name, weight, flow: steps });
  });
  if (scenarios.length === 0)
    throw new UserError(`${configPath}: flows: every flow has weight 0, so there is nothing to run`);

  const cfg: Record<string, unknown> = {
    target: redactUrl(artilleryTarget(config.target)),
    phases: toArtilleryPhases(opts.stages),
    // Artillery's request timeout is in seconds.
    http: { timeout: config.http.timeoutMs / 1000 },
  };
  if (processorHooks.length) cfg.processor = `./${FLOW_PROCESSOR_FILE}`;
  if (data) cfg.payload = [data.payload];
  cfg.plugins = {
    // Plugins hook into afterResponse in the order they are listed. expect first: a response whose expectations
    // failed then ends the virtual user before metrics-by-endpoint records it, which is what the Artillery reader
    // expects (it adds those back to their endpoint as checks; listed the other way round they count twice).
    ...(expects ? { expect: { reportFailuresAsErrors: true, useOnlyRequestNames: true, formatter: 'silent' } } : {}),
    // Named rows only, exactly the built-in engine's endpoint labels.
    'metrics-by-endpoint': { useOnlyRequestNames: true },
  };
  const out: FlowScript = { doc: { config: cfg, scenarios }, secrets: [...secrets] };
  if (processorHooks.length) out.processor = processorSource(processorHooks);
  if (data?.csv !== undefined) out.csv = data.csv;
  return out;
}

function firstRequest(flow: Flow): number {
  return flow.steps.findIndex((st) => st.kind === 'request');
}

/**
 * Artillery prefixes a URL starting with `/` with the target as it is; the script runs against artilleryTarget()
 * (origin and base path), so a step's path is written as the built-in engine joins it, and an empty path, which
 * requests the target itself, as `{{ target }}`.
 */
function urlOf(path: string, s: StepScope, target: ReturnType<typeof parseTarget>): string {
  if (path === '') {
    const rest = target.ownPath.slice(target.basePath.length);
    if (rest === '' || rest === '/') return rest === '' ? '{{ target }}' : '/';
    return refuse(
      s,
      'an empty path requests the target URL itself, whose query string perf-gate does not write into a script (give the path and query in the step)',
    );
  }
  return text(path.startsWith('/') ? path : `/${path}`, s, 'path');
}

/** The target the generated script runs against: origin and base path, as the built-in engine joins step paths to. */
export function artilleryTarget(target: string): string {
  const t = parseTarget(target);
  return t.origin + t.basePath;
}

function translateRequest(
  step: FlowStep,
  s: StepScope,
  config: Config,
  target: ReturnType<typeof parseTarget>,
): { request: Record<string, unknown>; hasExpect: boolean } {
  if (!ARTILLERY_METHODS.includes(step.method.toUpperCase()))
    refuse(s, `method ${step.method}: Artillery sends only ${ARTILLERY_METHODS.join(', ')}`);
  if (step.name !== undefined && step.name.includes('{{'))
    refuse(s, 'a template in name: Artillery expands it per request, which would split the endpoint row');
  // An unnamed step with a templated path keeps one row, as the built-in engine's label does: Artillery would
  // expand `{{ id }}` in a name, so the template's name is written as `:id`.
  const name = step.name ?? s.label.replace(/\{\{\s*([^}]*?)\s*\}\}/g, (_m, e: string) => `:${e}`);
  const request: Record<string, unknown> = { url: urlOf(step.path, s, target), name };
  if (step.headers) {
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(step.headers)) {
      if (k.toLowerCase() === 'cookie') {
        refuse(
          s,
          "a cookie header: the built-in engine adds the arrival's own cookies to it, Artillery sends either the header or its cookie jar",
        );
      }
      if (k.includes('{{')) refuse(s, `a template in the header name "${k}"`);
      headers[k.toLowerCase()] = text(v, s, `headers.${k}`);
    }
    request.headers = headers;
  }
  if (step.json !== undefined) request.json = jsonValue(step.json, s, 'json');
  if (step.body !== undefined) request.body = text(step.body, s, 'body');

  const expect: unknown[] = [];
  const capture: unknown[] = [];
  const e = step.expect;
  if (e?.status) {
    const listed4xx = e.status.filter((c) => c >= 400 && c < 500);
    if (listed4xx.length && config.http.count4xxAsErrors) {
      refuse(
        s,
        `expect.status lists ${listed4xx.join(', ')}: the built-in engine does not count a listed 4xx as an error, but Artillery's results count every 4xx as one while http.count-4xx-as-errors is true (set it to false to run this flow on Artillery)`,
      );
    }
    expect.push({ statusCode: e.status.length === 1 ? e.status[0] : e.status });
  }
  for (const j of e?.json ?? []) {
    const path = jmesPath(j.path, s, 'expect.json');
    if ('exists' in j) {
      // JMESPath cannot tell a null from a missing key; lodash's `has` (hasProperty) can, as the built-in check does.
      expect.push({ hasProperty: lodashPath(j.path, s, 'expect.json') });
    } else {
      // JMESPath's == compares JSON values with their types, as the built-in canonical-JSON comparison does
      // (5 is not "5"; objects equal whatever their key order). null also needs the key to be there.
      const literal = JSON.stringify(j.value);
      if (literal.includes('`'))
        refuse(s, `expect.json ${j.path}: a value containing a backtick cannot be written as a JMESPath literal`);
      if (literal.includes('{{') || literal.includes('}}'))
        refuse(s, `expect.json ${j.path}: a value containing "{{" or "}}"`);
      if (j.value === null) expect.push({ hasProperty: lodashPath(j.path, s, 'expect.json') });
      expect.push({ jmespath: `${path} == \`${literal}\`` });
    }
  }
  if (e?.contains?.length) {
    refuse(
      s,
      "expect.contains: Artillery's matchesRegexp tests the parsed object, not the text, of a JSON response, so a text check cannot be expressed alike",
    );
  }
  for (const h of e?.header ?? []) {
    if ('exists' in h) expect.push({ hasHeader: h.name });
    else {
      if (h.value.includes('{{'))
        refuse(s, `expect.header ${h.name}: a value containing "{{" (the expect plugin would expand it)`);
      if (h.name === 'set-cookie')
        refuse(
          s,
          'expect.header set-cookie with a value: Artillery joins several Set-Cookie headers with ",", the built-in engine with ", "',
        );
      expect.push({ headerEquals: [h.name, h.value] });
    }
  }
  for (const [as, spec] of Object.entries(step.capture ?? {})) {
    capture.push(captureOf(as, spec, s, expect));
  }
  if (capture.length) request.capture = capture;
  if (expect.length) request.expect = expect;
  return { request, hasExpect: expect.length > 0 };
}

/**
 * A capture, not strict (an empty value is a value, as in the built-in engine), with an expectation that it exists,
 * so a missing value fails the request as a check, counted on its endpoint.
 */
function captureOf(as: string, spec: CaptureSpec, s: StepScope, expect: unknown[]): Record<string, unknown> {
  if (spec.kind === 'json') {
    // `null` unquoted would be a field named null: JSON literals go in backticks.
    expect.push({ jmespath: `${jmesPath(spec.path, s, `capture ${as}`)} != \`null\`` });
    return { json: artilleryJsonPath(spec.path, s, `capture ${as}`), as, strict: false };
  }
  if (spec.kind === 'header') {
    if (spec.name === 'set-cookie')
      refuse(
        s,
        `capture ${as} (header set-cookie): Artillery keeps several Set-Cookie headers as a list, the built-in engine joins them with ", "`,
      );
    expect.push({ hasHeader: spec.name });
    return { header: spec.name, as, strict: false };
  }
  return refuse(
    s,
    `capture ${as} ({regex: ...}): Artillery runs a capture regex on a JSON response re-serialised rather than on the text received, and falls back to the whole match when the group is empty, so the value can differ`,
  );
}

function segmentsOf(path: string, s: StepScope, what: string): PathSegment[] {
  try {
    return compileJsonPath(path).segments;
  } catch (e) {
    return refuse(s, `${what}: ${messageOf(e)}`);
  }
}

/** The built-in JSONPath subset as JMESPath (`$.items[0]."a-b"`). */
export function toJmesPath(segments: PathSegment[]): string {
  if (segments.length === 0) return '@';
  let out = '';
  for (const seg of segments) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += `${out === '' ? '' : '.'}${JMES_IDENT.test(seg) ? seg : JSON.stringify(seg)}`;
  }
  return out.startsWith('[') ? `@${out}` : out;
}

function jmesPath(path: string, s: StepScope, what: string): string {
  const segs = segmentsOf(path, s, what);
  // JMESPath reads a number as an array index only; the built-in path reads [0] on an object as the key "0".
  return toJmesPath(segs);
}

function lodashPath(path: string, s: StepScope, what: string): string | PathSegment[] {
  const segs = segmentsOf(path, s, what);
  if (segs.length === 0) refuse(s, `${what}: "$" itself (the whole body) as a property`);
  if (segs.some((x) => typeof x === 'number' && x < 0))
    refuse(s, `${what}: a negative index in ${path} (counted from the end)`);
  // A list of keys is read by lodash as the path itself, so keys with dots or brackets stay one key.
  return segs.every((x) => typeof x === 'number' || JMES_IDENT.test(x))
    ? segs
        .map((x) => (typeof x === 'number' ? `[${x}]` : `.${x}`))
        .join('')
        .replace(/^\./, '')
    : segs;
}

/** The path in jsonpath-plus syntax (Artillery's capture), bracket-quoting keys that are not plain names. */
function artilleryJsonPath(path: string, s: StepScope, what: string): string {
  const segs = segmentsOf(path, s, what);
  if (segs.some((x) => typeof x === 'number' && x < 0))
    refuse(s, `${what}: a negative index in ${path} (jsonpath-plus reads it differently)`);
  return `$${segs.map((x) => (typeof x === 'number' ? `[${x}]` : JMES_IDENT.test(x) ? `.${x}` : `['${x.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}']`)).join('')}`;
}

/** Split a text into literal parts and `{{ expr }}` expressions, as the built-in engine reads them. */
function templateParts(value: string, s: StepScope, where: string): Array<string | { expr: string }> {
  try {
    return splitTemplate(value);
  } catch (e) {
    if (e instanceof TemplateError) refuse(s, `${where}: "{{" without a closing "}}"`);
    throw e;
  }
}

function newVar(s: StepScope, g: Generated): string {
  const name = `perfGate_${s.counter.n++}`;
  s.generated.set(name, g);
  return name;
}

/** One expression as Artillery template text; `whole`: it is the whole of a JSON string, so its value keeps its type. */
function expression(expr: string, s: StepScope, where: string, whole: boolean): string {
  if (NAME.test(expr)) {
    if (!s.names.has(expr))
      refuse(
        s,
        `${where}: template "{{ ${expr} }}" names nothing defined here (data columns and earlier captures of the flow)`,
      );
    // Text that is exactly a JSON number becomes a number in the built-in engine's JSON; Artillery would keep the text.
    return whole && !s.names.get(expr) ? `{{ ${newVar(s, { kind: 'value', from: expr })} }}` : `{{ ${expr} }}`;
  }
  const env = ENV.exec(expr);
  if (env) {
    const value = s.env[env[1]!];
    if (value === undefined || value === '')
      refuse(s, `${where}: template "{{ ${expr} }}": environment variable ${env[1]} is not set`);
    if (s.distributed) {
      refuse(
        s,
        `${where}: template "{{ ${expr} }}": Artillery's workers on AWS do not have this runner's environment, and perf-gate does not write secrets into the script`,
      );
    }
    s.secrets.add(value);
    return whole ? `{{ ${newVar(s, { kind: 'env', name: env[1]! })} }}` : `{{ $env.${env[1]} }}`;
  }
  // Artillery's $uuid is one per virtual user; the built-in engine's is fresh at each use. Artillery has no timestamp.
  if (expr === '$uuid') return `{{ ${newVar(s, { kind: 'uuid' })} }}`;
  if (expr === '$timestamp') return `{{ ${newVar(s, { kind: 'timestamp' })} }}`;
  const ri = RANDOM_INT.exec(expr);
  if (ri) {
    const min = Number(ri[1]);
    const max = Number(ri[2]);
    if (!(Number.isSafeInteger(min) && Number.isSafeInteger(max) && min <= max))
      refuse(s, `${where}: template "{{ ${expr} }}": $randomInt(a, b) needs whole numbers with a <= b`);
    // $randomNumber(a, b) is lodash's random(a, b), whole numbers from a to b inclusive; its template parser takes no
    // minus sign and its result is text, so a negative bound or a whole JSON value goes through the processor.
    if (!whole && min >= 0) return `{{ $randomNumber(${min}, ${max}) }}`;
    return `{{ ${newVar(s, { kind: 'int', min, max })} }}`;
  }
  return refuse(
    s,
    `${where}: template "{{ ${expr.slice(0, 60)} }}" is not a name, env.NAME, $uuid, $randomInt(a, b) or $timestamp`,
  );
}

function text(value: string, s: StepScope, where: string): string {
  if (!value.includes('{{')) return value;
  return templateParts(value, s, where)
    .map((p) => (typeof p === 'string' ? p : expression(p.expr, s, where, false)))
    .join('');
}

function jsonValue(v: unknown, s: StepScope, where: string): unknown {
  if (typeof v === 'string') {
    if (!v.includes('{{')) return v;
    const parts = templateParts(v, s, where);
    if (parts.length === 1 && typeof parts[0] !== 'string') return expression(parts[0]!.expr, s, where, true);
    return text(v, s, where);
  }
  if (Array.isArray(v)) return v.map((x, i) => jsonValue(x === undefined ? null : x, s, `${where}[${i}]`));
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k.includes('{{'))
        refuse(s, `${where}: a template in the key "${k.slice(0, 40)}" (the built-in engine sends keys as written)`);
      if (x !== undefined) out[k] = jsonValue(x, s, `${where}.${k}`);
    }
    return out;
  }
  return v;
}

const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

interface Payload {
  columns: string[];
  /** Columns whose values are all text that is not a JSON number. */
  textColumns: Set<string>;
  payload: Record<string, unknown>;
  csv?: string;
}

/**
 * Artillery's payload is one per script, and every virtual user takes a row from each payload, whichever scenario
 * it runs: the flows with data must therefore share one file and one order (the built-in engine's example does).
 */
function payloadOf(flows: Flow[], configPath: string, scriptDir: string): Payload | undefined {
  const withData = flows.map((f, i) => ({ f, i })).filter((x) => x.f.data !== undefined && x.f.weight > 0);
  if (withData.length === 0) return undefined;
  const first = withData[0]!;
  const data = first.f.data!;
  for (const { f, i } of withData.slice(1)) {
    if (f.data!.file !== data.file || f.data!.order !== data.order) {
      throw new UserError(
        `${configPath}: flows[${i}] ("${f.name}"): data "${f.data!.source}" (${f.data!.order}) differs from flow "${first.f.name}"'s "${data.source}" (${data.order}); ` +
          'Artillery has one payload per script, read by every virtual user, so the flows with data must share one file and order to run on engine "artillery"',
      );
    }
  }
  const table = readDataFile(data, `${configPath}: flows[${first.i}] ("${first.f.name}")`);
  const isJson = /\.json$/i.test(data.file) || !/\.csv$/i.test(data.file);
  const payload: Record<string, unknown> = {
    // Relative to the script, as Artillery resolves it (and packs it for its workers on AWS).
    path: isJson ? `./${FLOW_DATA_FILE}` : relativePath(scriptDir, data.file),
    fields: table.columns,
    order: data.order === 'sequential' ? 'sequence' : 'random',
    skipHeader: true,
    // Cells as text, as the built-in engine reads a CSV (Artillery would turn "0123" into 123).
    cast: false,
  };
  const textColumns = new Set(
    table.columns.filter((_c, i) =>
      table.rows.every((row) => typeof row[i] === 'string' && !JSON_NUMBER.test(row[i] as string)),
    ),
  );
  if (!isJson) return { columns: table.columns, textColumns, payload };
  table.rows.forEach((row, r) => {
    row.forEach((v, c) => {
      if (!(typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v)))) {
        throw new UserError(
          `${configPath}: flows[${first.i}] ("${first.f.name}"): data file "${data.source}", element ${r}, key "${table.columns[c]}": ${v === undefined ? 'missing' : v === null ? 'null' : typeof v === 'object' ? 'an object or list' : typeof v}; ` +
            "Artillery's payload is CSV, which carries only text and numbers",
        );
      }
    });
  });
  const cell = (v: unknown): string => {
    const t = String(v);
    return /[",\r\n]/.test(t) || t !== t.trim() ? `"${t.replace(/"/g, '""')}"` : t;
  };
  const csv =
    [table.columns.map(cell).join(','), ...table.rows.map((row) => row.map(cell).join(','))].join('\n') + '\n';
  return { columns: table.columns, textColumns, payload, csv };
}

function relativePath(from: string, to: string): string {
  const r = relative(from, to).split('\\').join('/');
  return r.startsWith('.') || r.startsWith('/') ? r : `./${r}`;
}

/** Artillery reads a weight with parseInt: fractional weights are scaled to whole numbers in the same ratio. */
function integerWeights(flows: Flow[], configPath: string): number[] {
  for (let scale = 1; scale <= 1000; scale *= 10) {
    const w = flows.map((f) => f.weight * scale);
    if (w.every((x) => Math.abs(x - Math.round(x)) < 1e-9)) return w.map(Math.round);
  }
  throw new UserError(
    `${configPath}: flows: weights ${flows.map((f) => f.weight).join(', ')} cannot be written as Artillery's whole-number weights in the same ratio (use at most 3 decimals)`,
  );
}

function processorSource(hooks: Array<{ hook: string; generated: Map<string, Generated> }>): string {
  const lines = [
    "'use strict';",
    "// Written by perf-gate beside the Artillery script it generated from the config's flows: per-request values the",
    '// way the built-in engine renders them (a fresh $uuid per use, $timestamp, and text that is exactly a JSON number',
    '// sent as a number where a template is a whole JSON value). Environment values are read here, never written.',
    "const { randomUUID } = require('node:crypto');",
    'const JSON_NUMBER = /^-?(?:0|[1-9]\\d*)(?:\\.\\d+)?(?:[eE][+-]?\\d+)?$/;',
    'function value(v) {',
    "  if (typeof v === 'string' && v.length < 300 && JSON_NUMBER.test(v)) return Number(v);",
    '  return v === undefined ? null : v;',
    '}',
    'function randomInt(min, max) {',
    '  return min + Math.floor(Math.random() * (max - min + 1));',
    '}',
    'module.exports = {',
  ];
  for (const { hook, generated } of hooks) {
    lines.push(`  ${hook}(req, context, events, next) {`, '    const vars = context.vars;');
    for (const [name, g] of generated) {
      const rhs =
        g.kind === 'uuid'
          ? 'randomUUID()'
          : g.kind === 'timestamp'
            ? 'Date.now()'
            : g.kind === 'int'
              ? `randomInt(${g.min}, ${g.max})`
              : g.kind === 'env'
                ? `value(process.env[${JSON.stringify(g.name)}])`
                : `value(vars[${JSON.stringify(g.from)}])`;
      lines.push(`    vars[${JSON.stringify(name)}] = ${rhs};`);
    }
    lines.push('    next();', '  },');
  }
  lines.push('};', '');
  return lines.join('\n');
}

/** Where the generated files go. */
export function flowScriptPaths(outputDir: string): { script: string; processor: string; csv: string } {
  return {
    script: join(outputDir, FLOW_SCRIPT_FILE),
    processor: join(outputDir, FLOW_PROCESSOR_FILE),
    csv: join(outputDir, FLOW_DATA_FILE),
  };
}
