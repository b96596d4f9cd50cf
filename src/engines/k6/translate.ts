// The config's flows as a k6 script, so `engine: k6` without a `script` runs the same journeys as the built-in
// engine. The structure follows the Artillery translation (../artillery/translate.ts): one pass over the flows,
// every feature written as what k6 does with the same meaning, and what it cannot do alike a UserError before any
// load, naming the flow, the step and the feature.
//
// UNVERIFIED: no k6 binary could be installed where this was built. The generated text is tested for syntax and
// run under a Node stand-in of the k6 API (__tests__/helpers/k6-shim.ts) against the auction app: that checks the
// generated logic, not k6 itself.
//
// The parts worth knowing:
// - Endpoint rows: every request carries `tags: { name }` (the step's own name, else the built-in label
//   `METHOD /path`, templates unexpanded), so k6's NDJSON rows are named as the built-in engine names them and
//   `p99{bid}` means the same row on both engines.
// - Checks run in the built-in engine's order (status, JSON body, expect.json, contains, headers, captures), one
//   k6 check() each; the first that fails ends the iteration's flow, as a failed check ends the built-in arrival's.
//   k6's http_req_failed (and perf-gate's k6 reader) count statuses only: a failed body check is counted in k6's
//   `checks` metric, not as a request error; a `checks` threshold at the error_rate target's limit stands in for it
//   (checksThresholdOf).
// - Values: templates become JavaScript over the iteration's data row (`row`) and captures (`cap`); a JSON value that
//   is exactly one template keeps a number as a number, as the built-in engine does. `{{ env.NAME }}` is read from
//   `__ENV` at run time; no value is written into the script.
// - The load shape is perf-gate's phase, from toK6Scenarios() as for a user's script without options.
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import type { Config } from '../../config/types.js';
import type { Stage } from '../../model.js';
import { canonicalJson, compileCaptureRegex, unsafeRegexReason } from '../../flows/checks.js';
import { readDataFile } from '../../flows/data.js';
import { splitTemplate, TemplateError } from '../../flows/templates.js';
import { compileJsonPath, type PathSegment } from '../../flows/jsonpath.js';
import { toK6Scenarios } from './scenarios.js';
import { UserError, messageOf } from '../../errors.js';
import { endpointLabel, parseTarget, type ParsedTarget } from '../../flows/target.js';
import type { CaptureSpec, Flow, FlowStep } from '../../flows/steps.js';

export const K6_FLOW_SCRIPT_FILE = 'k6-script.js';

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const ENV = /^env\.([A-Za-z_][A-Za-z0-9_]*)$/;
const RANDOM_INT = /^\$randomInt\(\s*(-?\d{1,15})\s*,\s*(-?\d{1,15})\s*\)$/;
/** The built-in engine's regex input limit (checks.ts REGEX_INPUT_LIMIT). */
const REGEX_INPUT_LIMIT = 64 * 1024;

export interface K6FlowScript {
  /** The script text (an ES module for k6). */
  source: string;
  /** Values of the environment variables the flows refer to: to be masked in output. */
  secrets: string[];
}

export interface K6TranslateOptions {
  /** Folder the script is written to: data file paths are relative to it, as k6's open() resolves them. */
  scriptDir: string;
  stages: Stage[];
  env?: NodeJS.ProcessEnv;
}

interface StepScope {
  flow: Flow;
  fi: number;
  si: number;
  label: string;
  /** Names in scope: where the value lives (a data column or an earlier capture). */
  names: Map<string, 'row' | 'cap'>;
  env: NodeJS.ProcessEnv;
  secrets: Set<string>;
  cloud: boolean;
  configPath: string;
  /** Top-level declarations the step needs (regexes, expected statuses). */
  decls: string[];
}

function refuse(s: Pick<StepScope, 'configPath' | 'flow' | 'fi' | 'si' | 'label'>, feature: string): never {
  throw new UserError(
    `${s.configPath}: flows[${s.fi}].steps[${s.si}] (${s.label}) of flow "${s.flow.name}": ${feature}; ` +
      'engine "k6" runs the flows only where k6 does the same thing (use the builtin engine, or write a k6 script and set "script")',
  );
}

const q = (v: unknown): string => JSON.stringify(v);
/** Text for a `//` comment: JavaScript ends a line comment at any line terminator. */
const comment = (t: string): string => t.replace(/[\r\n\u2028\u2029]/g, ' ');

/** Translate the config's flows into a k6 script; throws a UserError naming the flow, step and feature k6 cannot do alike. */
export function translateFlowsToK6(config: Config, opts: K6TranslateOptions): K6FlowScript {
  const env = opts.env ?? process.env;
  const configPath = config.configPath ?? '.github/perf-gate.yml';
  const cloud = config.distributed.mode === 'k6-cloud';
  const target = parseTarget(config.target);
  const secrets = new Set<string>();
  const decls: string[] = [];
  const dataDecls: string[] = [];
  const flowFns: string[] = [];
  const picks: Array<{ cumulative: number; fn: string }> = [];
  let total = 0;
  let usesSequential = false;
  let usesCsv = false;

  config.flows.forEach((flow, fi) => {
    if (!(Number.isFinite(flow.weight) && flow.weight >= 0))
      throw new UserError(`${configPath}: flows[${fi}] ("${flow.name}"): weight must be zero or more`);
    if (flow.weight === 0) return; // never chosen, as on the built-in engine
    if (!flow.steps.some((st) => st.kind === 'request'))
      throw new UserError(`${configPath}: flows[${fi}] ("${flow.name}") has no request step`);
    const names = new Map<string, 'row' | 'cap'>();
    const body: string[] = [];
    if (flow.data) {
      const where = `${configPath}: flows[${fi}].data`;
      // Read here to refuse a bad file before any load (the loader accepts `shard` with engine "builtin" only).
      const table = readDataFile(flow.data, where);
      const text = readFileSync(flow.data.file, 'utf8');
      const isJson = /\.json$/i.test(flow.data.file) || /^\s*\[/.test(text.replace(/^\ufeff/, ''));
      usesCsv ||= !isJson;
      // open() reads relative to the script; SharedArray parses once and shares the rows between VUs.
      dataDecls.push(
        `const DATA_${fi} = new SharedArray(${q(`flows[${fi}] ${flow.data.source}`)}, () => ${isJson ? 'jsonRows' : 'csvRows'}(open(${q(relativePath(opts.scriptDir, flow.data.file))})));`,
      );
      if (flow.data.order === 'sequential') {
        usesSequential = true;
        body.push(`  const row = DATA_${fi}[exec.scenario.iterationInTest % DATA_${fi}.length];`);
      } else {
        body.push(`  const row = DATA_${fi}[Math.floor(Math.random() * DATA_${fi}.length)];`);
      }
      for (const c of table.columns) names.set(c, 'row');
    }
    body.push('  const cap = {};', '  let res;', '  let body;');
    flow.steps.forEach((step, si) => {
      if (step.kind === 'think') {
        if (!(Number.isFinite(step.ms) && step.ms >= 0))
          throw new UserError(
            `${configPath}: flows[${fi}].steps[${si}] ("${flow.name}"): think time must be zero or more ms`,
          );
        body.push(`  sleep(${step.ms / 1000});`);
        return;
      }
      const label = step.name ?? endpointLabel(step, target);
      const scope: StepScope = { flow, fi, si, label, names, env, secrets, cloud, configPath, decls };
      body.push(`  // steps[${si}]: ${comment(label)}`, ...requestCode(step, scope, config, target));
      // Captures are visible from the next step on.
      for (const n of Object.keys(step.capture ?? {})) names.set(n, 'cap');
    });
    const fn = `flow${fi}`;
    flowFns.push(
      `// flows[${fi}]: ${comment(q(flow.name))}, weight ${flow.weight}\nfunction ${fn}() {\n${body.join('\n')}\n}`,
    );
    total += flow.weight;
    picks.push({ cumulative: total, fn });
  });
  if (picks.length === 0)
    throw new UserError(`${configPath}: flows: every flow has weight 0, so there is nothing to run`);

  const scenarios = toK6Scenarios(opts.stages, { maxVUs: config.http.maxInFlight });
  const checksThreshold = checksThresholdOf(config);
  const imports = ["import http from 'k6/http';", "import { check, sleep } from 'k6';"];
  if (dataDecls.length) imports.push("import { SharedArray } from 'k6/data';");
  if (usesSequential) imports.push("import exec from 'k6/execution';");
  // One random number per iteration over the cumulative weights, as the built-in engine picks a flow.
  const choose =
    picks.length === 1
      ? `  ${picks[0]!.fn}();`
      : [
          `  const pick = Math.random() * ${total};`,
          ...picks.slice(0, -1).map((p) => `  if (pick < ${p.cumulative}) return ${p.fn}();`),
          `  return ${picks[picks.length - 1]!.fn}();`,
        ].join('\n');
  const source = [
    header(configPath),
    ...imports,
    '',
    "// The load shape: perf-gate's phase (the k6 engine also passes it with --config). Redirects are not followed, as",
    '// the built-in engine does not follow them: checks see the response the step got.',
    ...(checksThreshold
      ? [
          '// k6 counts a failed check (a 200 with an error body, a lost capture) in `checks`, not as a request error: the',
          "// checks' pass rate is held to the error_rate target's limit, so a failing journey fails the gate here too.",
        ]
      : []),
    `export const options = ${JSON.stringify({ scenarios, maxRedirects: 0, ...(checksThreshold ? { thresholds: { checks: [checksThreshold] } } : {}) }, null, 2)};`,
    '',
    `const BASE = ${q(target.origin + target.basePath)};`,
    "// Config-wide http.headers (and the target's credentials) come from the environment, never from this file.",
    "const HEADERS = lowerKeys(JSON.parse(__ENV.PERF_GATE_HEADERS || '{}'));",
    `const TIMEOUT = ${q(`${config.http.timeoutMs}ms`)};`,
    HELPERS,
    ...(usesCsv ? [CSV_HELPER] : []),
    ...(dataDecls.length ? [JSON_ROWS_HELPER, ...dataDecls] : []),
    ...decls,
    '',
    ...flowFns.flatMap((f) => [f, '']),
    'export default function () {',
    choose,
    '}',
    '',
  ].join('\n');
  return { source, secrets: [...secrets] };
}

function header(configPath: string): string {
  return [
    `// Generated by perf-gate from the flows of ${configPath}: what engine "k6" runs (k6 run ${K6_FLOW_SCRIPT_FILE}).`,
    '// UNVERIFIED: no k6 binary was available where this translation was built; it is tested for syntax and under a',
    '// Node stand-in of the k6 API only. Read it before relying on it.',
    '// Each iteration is one arrival: it picks a flow by weight and runs its steps; a failed expectation or an empty',
    "// capture ends that flow, as on the built-in engine. Known difference: k6's http_req_failed counts statuses only,",
    "// so a failed body check (expect.json, contains, header, capture) is counted in k6's `checks` metric, not as a",
    "// request error. Data rows in `order: sequential` follow the test's iteration number, shared by all flows.",
    '',
  ].join('\n');
}

const HELPERS = String.raw`
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const NOT_JSON = {};

function lowerKeys(h) {
  const out = {};
  for (const k of Object.keys(h)) out[k.toLowerCase()] = h[k];
  return out;
}

/** A request's headers: config-wide ones, then the step's (lower-cased names, the step's win). */
function headers(step, json) {
  const h = Object.assign({}, HEADERS, step);
  if (json && h['content-type'] === undefined) h['content-type'] = 'application/json';
  return h;
}

/** A template value inside text: strings as they are, nothing as '', objects as JSON. */
function text(v) {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** A template that is a whole JSON value: text that is exactly a JSON number is sent as a number. */
function value(v) {
  if (typeof v === 'number') return Number.isFinite(v) ? v : null;
  if (typeof v === 'string' && v.length < 300 && JSON_NUMBER.test(v)) return Number(v);
  return v === undefined ? null : v;
}

function uuid() {
  return 'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {
    const r = Math.floor(Math.random() * 16);
    return (c === 'x' ? r : (r & 3) | 8).toString(16);
  });
}

function randomInt(min, max) {
  return min + Math.floor(Math.random() * (max - min + 1));
}

function json(res) {
  if (typeof res.body !== 'string') return NOT_JSON;
  try {
    return JSON.parse(res.body);
  } catch (e) {
    return NOT_JSON;
  }
}

/** The JSONPath subset of the built-in engine: own keys only, [n] on lists only, [-n] from the end. */
function at(root, path) {
  let cur = root;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    if (Array.isArray(cur)) {
      if (typeof seg !== 'number') return undefined;
      const i = seg < 0 ? cur.length + seg : seg;
      if (i < 0 || i >= cur.length) return undefined;
      cur = cur[i];
    } else {
      const key = String(seg);
      if (!Object.prototype.hasOwnProperty.call(cur, key)) return undefined;
      cur = cur[key];
    }
  }
  return cur;
}

/** JSON with object keys sorted, so {a:1,b:2} equals {b:2,a:1}. */
function canonical(v) {
  if (Array.isArray(v)) return '[' + v.map(canonical).join(',') + ']';
  if (v !== null && typeof v === 'object') {
    return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canonical(v[k])).join(',') + '}';
  }
  const s = JSON.stringify(v);
  return s === undefined ? 'null' : s;
}

/** k6 canonicalises response header names (Content-Type): look them up case-insensitively. */
function header(res, name) {
  const h = res.headers || {};
  for (const k of Object.keys(h)) {
    if (k.toLowerCase() === name) return Array.isArray(h[k]) ? h[k].join(', ') : h[k];
  }
  return undefined;
}

function found(v) {
  return v !== undefined && v !== null;
}
`;

// The same rules as the built-in engine's parseCsv (flows/data.ts): a header row, quoted fields with "" for a
// quote, CRLF or LF line ends, blank lines skipped. The file was validated by perf-gate before the run.
const CSV_HELPER = String.raw`
function csvRows(text) {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const records = [];
  let field = '';
  let record = [];
  let quoted = false;
  const end = () => {
    record.push(field);
    field = '';
    if (!(record.length === 1 && record[0] === '')) records.push(record);
    record = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') { record.push(field); field = ''; }
    else if (c === '\n' || c === '\r') { end(); if (c === '\r' && text[i + 1] === '\n') i++; }
    else field += c;
  }
  if (field !== '' || record.length > 0) end();
  const columns = records.shift().map((h) => h.trim());
  return records.map((r) => {
    const row = {};
    columns.forEach((c, k) => { row[c] = r[k]; });
    return row;
  });
}
`;

const JSON_ROWS_HELPER = String.raw`
function jsonRows(text) {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return JSON.parse(text);
}
`;

function relativePath(from: string, to: string): string {
  const r = relative(from, to).split('\\').join('/');
  return r.startsWith('.') || r.startsWith('/') ? r : `./${r}`;
}

/** The code of one request step: the request, then its checks and captures, each ending the flow when it fails. */
function requestCode(step: FlowStep, s: StepScope, config: Config, target: ParsedTarget): string[] {
  const id = `${s.fi}_${s.si}`;
  const out: string[] = [];
  const method = step.method.toUpperCase();
  const hdr: string[] = [];
  for (const [k, v] of Object.entries(step.headers ?? {})) {
    if (k.toLowerCase() === 'cookie') {
      refuse(
        s,
        "a cookie header: the built-in engine adds the arrival's own cookies to it, k6 sends the header and its cookie jar side by side",
      );
    }
    hdr.push(`${q(k.toLowerCase())}: ${textExpr(v, s, `headers.${k}`)}`);
  }
  let bodyExpr = 'null';
  if (step.json !== undefined) bodyExpr = `JSON.stringify(${jsonExpr(step.json, s, 'json', '    ')})`;
  else if (step.body !== undefined) bodyExpr = textExpr(step.body, s, 'body');
  const e = step.expect;
  const params = [
    `headers: headers(${hdr.length ? `{ ${hdr.join(', ')} }` : '{}'}, ${step.json !== undefined})`,
    `tags: { name: ${q(s.label)} }`,
    'timeout: TIMEOUT',
  ];
  if (e?.status?.length) {
    const listed4xx = e.status.filter((c) => c >= 400 && c < 500);
    if (listed4xx.length && config.http.count4xxAsErrors) {
      refuse(
        s,
        `expect.status lists ${listed4xx.join(', ')}: the built-in engine does not count a listed 4xx as an error, but perf-gate's k6 results count every 4xx as one while http.count-4xx-as-errors is true (set it to false to run this flow on k6)`,
      );
    }
    s.decls.push(`const EXPECTED_${id} = http.expectedStatuses(${e.status.join(', ')});`);
    params.push(`responseCallback: EXPECTED_${id}`);
  }
  out.push(
    `  res = http.request(${q(method)}, ${urlExpr(step.path, s, target)}, ${bodyExpr}, {\n    ${params.join(',\n    ')},\n  });`,
  );

  const checkThen = (subject: string, name: string, cond: string): void => {
    out.push(`  if (!check(${subject}, { ${q(`${name} on ${s.label}`)}: ${cond} })) return;`);
  };
  if (e?.status?.length)
    checkThen('res', `expect status ${e.status.join(' or ')}`, `(r) => ${q(e.status)}.includes(r.status)`);
  const caps = Object.entries(step.capture ?? {});
  const needsJson = (e?.json?.length ?? 0) > 0 || caps.some(([, c]) => c.kind === 'json');
  if (needsJson) {
    out.push('  body = json(res);');
    checkThen('body', 'response body is JSON', '(b) => b !== NOT_JSON');
  }
  for (const j of e?.json ?? []) {
    const path = segments(j.path, s, 'expect.json');
    if ('exists' in j) checkThen('body', `expect json ${j.path} exists`, `(b) => at(b, ${q(path)}) !== undefined`);
    else {
      const want = canonicalJson(j.value);
      checkThen(
        'body',
        `expect json ${j.path} == ${want.slice(0, 60)}`,
        `(b) => { const v = at(b, ${q(path)}); return v !== undefined && canonical(v) === ${q(want)}; }`,
      );
    }
  }
  for (const t of e?.contains ?? [])
    checkThen(
      'res',
      `expect body contains ${q(t.slice(0, 60))}`,
      `(r) => typeof r.body === 'string' && r.body.includes(${q(t)})`,
    );
  for (const h of e?.header ?? []) {
    if ('exists' in h)
      checkThen('res', `expect header ${h.name} exists`, `(r) => header(r, ${q(h.name)}) !== undefined`);
    else {
      if (h.name === 'set-cookie')
        refuse(
          s,
          'expect.header set-cookie with a value: k6 joins several Set-Cookie headers its own way, the built-in engine with ", "',
        );
      checkThen(
        'res',
        `expect header ${h.name} == ${q(h.value.slice(0, 60))}`,
        `(r) => header(r, ${q(h.name)}) === ${q(h.value)}`,
      );
    }
  }
  caps.forEach(([as, spec], k) => {
    out.push(...captureCode(as, spec, s, `${id}_${k}`));
  });
  return out;
}

function captureCode(as: string, spec: CaptureSpec, s: StepScope, id: string): string[] {
  const out: string[] = [];
  const slot = `cap[${q(as)}]`;
  let what: string;
  if (spec.kind === 'json') {
    out.push(`  ${slot} = at(body, ${q(segments(spec.path, s, `capture ${as}`))});`);
    what = spec.path;
  } else if (spec.kind === 'header') {
    if (spec.name === 'set-cookie')
      refuse(
        s,
        `capture ${as} (header set-cookie): k6 joins several Set-Cookie headers its own way, the built-in engine with ", "`,
      );
    out.push(`  ${slot} = header(res, ${q(spec.name.toLowerCase())});`);
    what = `header ${spec.name}`;
  } else {
    try {
      compileCaptureRegex(spec.pattern);
    } catch (e) {
      refuse(s, `capture ${as}: ${messageOf(e)}`);
    }
    // The built-in engine runs regexes on V8's linear-time engine; k6's JavaScript regexes backtrack, so a pattern
    // with the shapes of catastrophic backtracking is refused rather than run.
    const unsafe = unsafeRegexReason(spec.pattern);
    if (unsafe)
      refuse(
        s,
        `capture ${as} ({regex: ...}): k6's regex engine backtracks and the pattern is unsafe there: ${unsafe}`,
      );
    s.decls.push(`const RE_${id} = new RegExp(${q(spec.pattern)});`);
    out.push(
      `  { const m = RE_${id}.exec(typeof res.body === 'string' ? res.body.slice(0, ${REGEX_INPUT_LIMIT}) : ''); ${slot} = m ? (m.length > 1 ? m[1] : m[0]) : undefined; }`,
    );
    what = 'regex';
  }
  out.push(`  if (!check(cap, { ${q(`capture ${as} (${what}) on ${s.label}`)}: (c) => found(c[${q(as)}]) })) return;`);
  return out;
}

function segments(path: string, s: StepScope, what: string): PathSegment[] {
  try {
    return compileJsonPath(path).segments;
  } catch (e) {
    return refuse(s, `${what}: ${messageOf(e)}`);
  }
}

/** The request URL, joined as the built-in engine joins a step's path to the target's base path. */
function urlExpr(path: string, s: StepScope, target: ParsedTarget): string {
  if (path === '') {
    const rest = target.ownPath.slice(target.basePath.length);
    if (rest === '' || rest === '/') return rest === '' ? 'BASE' : "BASE + '/'";
    return refuse(
      s,
      'an empty path requests the target URL itself, whose query string perf-gate does not write into a script (give the path and query in the step)',
    );
  }
  return `BASE + ${textExpr(path.startsWith('/') ? path : `/${path}`, s, 'path')}`;
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

/** One template expression as JavaScript giving its raw value. */
function expression(expr: string, s: StepScope, where: string): string {
  if (NAME.test(expr)) {
    const from = s.names.get(expr);
    if (!from)
      refuse(
        s,
        `${where}: template "{{ ${expr} }}" names nothing defined here (data columns and earlier captures of the flow)`,
      );
    return `${from}[${q(expr)}]`;
  }
  const env = ENV.exec(expr);
  if (env) {
    const value = s.env[env[1]!];
    if (value === undefined || value === '')
      refuse(s, `${where}: template "{{ ${expr} }}": environment variable ${env[1]} is not set`);
    if (s.cloud) {
      refuse(
        s,
        `${where}: template "{{ ${expr} }}": k6 Cloud's load generators do not have this runner's environment, and perf-gate does not write secrets into the script`,
      );
    }
    s.secrets.add(value);
    return `__ENV.${env[1]}`;
  }
  if (expr === '$uuid') return 'uuid()';
  if (expr === '$timestamp') return 'Date.now()';
  const ri = RANDOM_INT.exec(expr);
  if (ri) {
    const min = Number(ri[1]);
    const max = Number(ri[2]);
    if (!(Number.isSafeInteger(min) && Number.isSafeInteger(max) && min <= max))
      refuse(s, `${where}: template "{{ ${expr} }}": $randomInt(a, b) needs whole numbers with a <= b`);
    return `randomInt(${min}, ${max})`;
  }
  return refuse(
    s,
    `${where}: template "{{ ${expr.slice(0, 60)} }}" is not a name, env.NAME, $uuid, $randomInt(a, b) or $timestamp`,
  );
}

/** A text with templates as a JavaScript string expression. */
function textExpr(value: string, s: StepScope, where: string): string {
  if (!value.includes('{{')) return q(value);
  const parts = templateParts(value, s, where).map((p) =>
    typeof p === 'string' ? q(p) : `text(${expression(p.expr, s, where)})`,
  );
  return parts.length === 1 ? parts[0]! : `(${parts.join(' + ')})`;
}

/** A `json:` value as a JavaScript expression for JSON.stringify, keys and structure as written. */
function jsonExpr(v: unknown, s: StepScope, where: string, indent: string): string {
  if (typeof v === 'string') {
    if (!v.includes('{{')) return q(v);
    const parts = templateParts(v, s, where);
    if (parts.length === 1 && typeof parts[0] !== 'string') return `value(${expression(parts[0]!.expr, s, where)})`;
    return textExpr(v, s, where);
  }
  if (Array.isArray(v))
    return `[${v.map((x, i) => jsonExpr(x === undefined ? null : x, s, `${where}[${i}]`, indent)).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.entries(v).filter(([, x]) => x !== undefined);
    if (entries.length === 0) return '{}';
    // A computed key keeps "__proto__" an own property, as JSON.parse made it.
    return `{ ${entries.map(([k, x]) => `${k === '__proto__' ? `[${q(k)}]` : q(k)}: ${jsonExpr(x, s, `${where}.${k}`, indent)}`).join(', ')} }`;
  }
  return q(v) ?? 'null';
}

/**
 * The built-in engine counts a failed check as an error of the request, judged by the run's `error_rate` target; k6
 * cannot (http_req_failed looks at statuses only). A threshold on k6's `checks` rate at the same limit stands in for
 * it: `error_rate < 0.5%` becomes `rate>0.995`. A tool threshold is a row of the results table and fails the verdict.
 */
export function checksThresholdOf(config: Pick<Config, 'targets'>): string | undefined {
  const t = config.targets.find(
    (x) => x.metric === 'error_rate' && x.endpoint === undefined && !x.rhsMetric && (x.op === '<' || x.op === '<='),
  );
  if (!t || !(t.value >= 0 && t.value <= 100)) return undefined;
  const pass = Math.round((1 - t.value / 100) * 1e6) / 1e6;
  return `rate${t.op === '<' ? '>' : '>='}${pass}`;
}
