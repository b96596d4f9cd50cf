// A step's `expect:` and `capture:`, compiled once at start and run on each response. A failure is one short
// message without any response data in it (`expect status 401 ≠ 201 on login`, `capture token ($.token) found
// nothing on login`): messages are counted by text, so they must not vary per request, and a body may hold secrets.
//
// Capture regexes run on V8's linear-time engine (the `l` flag, switched on at first use): its time grows with the
// body's length times the pattern's, never exponentially, and a pattern it cannot run (back-references,
// lookarounds) is rejected at start. Every regex also runs on at most the first 64 KiB of the body. Where that
// engine is unavailable, patterns with the shapes of catastrophic backtracking are rejected instead (see
// unsafeRegexReason).
import { setFlagsFromString } from 'node:v8';
import { MAX_JSON_DEPTH, valueDepthOver } from '../json.js';
import { compileJsonPath, evalJsonPath, type CompiledPath } from './jsonpath.js';
import { UserError, messageOf } from '../errors.js';
import type { CaptureSpec, Expectations } from './steps.js';

export const REGEX_INPUT_LIMIT = 64 * 1024;
const MAX_REGEX_LENGTH = 500;

const CAP_JSON = 0;
const CAP_HEADER = 1;
const CAP_REGEX = 2;

interface CompiledCapture {
  kind: 0 | 1 | 2;
  slot: number;
  path: CompiledPath | undefined;
  header: string;
  re: RegExp | undefined;
  failed: string;
}

interface JsonExpect {
  path: CompiledPath;
  exists: boolean;
  /** Expected value as canonical JSON. */
  want: string;
  missing: string;
  differs: string;
}

interface HeaderExpect {
  name: string;
  exists: boolean;
  value: string;
  failed: string;
}

export interface CompiledChecks {
  /** Accepted status codes (expect.status), or undefined for any. */
  status: readonly number[] | undefined;
  statusWant: string;
  json: JsonExpect[];
  contains: Array<{ text: string; failed: string }>;
  headers: HeaderExpect[];
  captures: CompiledCapture[];
  /** The body must be read as text (json/regex capture, json/contains expectation). */
  needsBody: boolean;
  /** The response headers are looked at (a header expectation or capture); otherwise they are not parsed. */
  needsHeaders: boolean;
  needsJson: boolean;
  notJson: string;
  /** A body nested too deep to walk safely: the check fails (counted), the run goes on. */
  tooDeep: string;
  /** The checks themselves failed on this response (a bug or a limit not foreseen): a failed check, not a crash. */
  uncheckable: string;
  label: string;
}

/** What a response looked like, for the checks. */
export interface ResponseView {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  /** Undefined when the checks did not need it; `truncated` when it was larger than the read limit. */
  body: string | undefined;
  truncated: boolean;
}

/**
 * The fallback when the linear-time engine is unavailable. Reject a regex whose backtracking can explode: a repeated group containing a quantifier or an alternation
 * (`(a+)+`, `(a|ab)*`, `(x+){2,}`), a back-reference, or more than three unbounded quantifiers (`.*a.*b.*c.*d`
 * backtracks polynomially). Returns the reason, or undefined when the pattern is acceptable.
 */
export function unsafeRegexReason(pattern: string): string | undefined {
  if (pattern.length > MAX_REGEX_LENGTH) return `longer than ${MAX_REGEX_LENGTH} characters`;
  if (/\\[1-9]|\\k</.test(pattern)) return 'back-references are not allowed';
  // Per open group: does it contain a quantifier or an alternation?
  const stack: boolean[] = [];
  let closedRisky = false;
  let afterGroup = false;
  let unbounded = 0;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '\\') {
      i++;
      afterGroup = false;
    } else if (c === '[') {
      // Skip the class; a ']' right after '[' or '[^' is a literal.
      i++;
      if (pattern[i] === '^') i++;
      if (pattern[i] === ']') i++;
      while (i < pattern.length && pattern[i] !== ']') i += pattern[i] === '\\' ? 2 : 1;
      afterGroup = false;
    } else if (c === '(') {
      stack.push(false);
      if (pattern[i + 1] === '?') i++; // (?: (?= (?! (?<name> are group syntax, not a quantifier
      afterGroup = false;
    } else if (c === ')') {
      closedRisky = stack.pop() ?? false;
      if (closedRisky && stack.length > 0) stack[stack.length - 1] = true;
      afterGroup = true;
    } else if (c === '*' || c === '+' || c === '?' || (c === '{' && /^\{\d+(,\d*)?\}/.test(pattern.slice(i)))) {
      const repeats =
        c === '*' ||
        c === '+' ||
        (c === '{' && !/^\{\d+\}/.test(pattern.slice(i)) && !/^\{\d+,[01]\}/.test(pattern.slice(i)));
      if (c === '{') i = pattern.indexOf('}', i);
      if (pattern[i + 1] === '?' || pattern[i + 1] === '+') i++; // lazy marker
      if (repeats) {
        if (afterGroup && closedRisky)
          return 'a repeated group contains a quantifier or an alternation (this backtracks catastrophically)';
        if (stack.length > 0) stack[stack.length - 1] = true;
        if (c !== '{' || /^\{\d+,\}/.test(pattern.slice(pattern.lastIndexOf('{', i)))) unbounded++;
        if (unbounded > 3) return 'more than three unbounded quantifiers (* + {n,})';
      }
      afterGroup = false;
    } else if (c === '|') {
      if (stack.length > 0) stack[stack.length - 1] = true;
      afterGroup = false;
    } else {
      afterGroup = false;
    }
  }
  return undefined;
}

let linearEngine: boolean | undefined;

/** Whether V8's linear-time regex engine (`new RegExp(p, 'l')`) can be used; switched on once. */
function linearRegexAvailable(): boolean {
  if (linearEngine === undefined) {
    try {
      // Only makes the `l` flag known to the parser; regexes without it are not affected.
      setFlagsFromString('--enable-experimental-regexp-engine');
      // biome-ignore lint/complexity/useRegexLiterals: a literal with the l flag is a parse error before the flag is enabled
      new RegExp('a', 'l');
      linearEngine = true;
    } catch {
      linearEngine = false;
    }
  }
  return linearEngine;
}

/** Compile a capture regex that cannot backtrack catastrophically; throws an Error saying why not. */
export function compileCaptureRegex(pattern: string): RegExp {
  if (pattern.length > MAX_REGEX_LENGTH) throw new Error(`regex rejected: longer than ${MAX_REGEX_LENGTH} characters`);
  if (linearRegexAvailable()) {
    try {
      return new RegExp(pattern, 'l');
    } catch (e) {
      const message = messageOf(e);
      if (/linear time/i.test(message)) {
        throw new Error(
          'regex rejected: it needs back-references or lookarounds, which can take exponential time; write it without them',
        );
      }
      throw new Error(`not a valid regex: ${message}`);
    }
  }
  const unsafe = unsafeRegexReason(pattern);
  if (unsafe) throw new Error(`regex rejected: ${unsafe}`);
  try {
    return new RegExp(pattern);
  } catch (e) {
    throw new Error(`not a valid regex: ${messageOf(e)}`);
  }
}

export function compileChecks(
  label: string,
  expect: Expectations | undefined,
  capture: Record<string, CaptureSpec> | undefined,
  slotOf: (name: string) => number,
  where: string,
): CompiledChecks | undefined {
  if (!expect && !capture) return undefined;
  const on = ` on ${label}`;
  const out: CompiledChecks = {
    status: expect?.status,
    statusWant: expect?.status ? expect.status.join(' or ') : '',
    json: [],
    contains: [],
    headers: [],
    captures: [],
    needsBody: false,
    needsHeaders: false,
    needsJson: false,
    notJson: `response body is not JSON${on}`,
    tooDeep: `response body is JSON nested deeper than ${MAX_JSON_DEPTH} levels (not checked)${on}`,
    uncheckable: `response could not be checked${on}`,
    label,
  };
  const path = (p: string, what: string): CompiledPath => {
    try {
      return compileJsonPath(p);
    } catch (e) {
      throw new UserError(`${where}: ${what}: ${messageOf(e)}`);
    }
  };
  for (const e of expect?.json ?? []) {
    const p = path(e.path, 'expect.json');
    const exists = 'exists' in e;
    const want = exists ? '' : canonicalJson((e as { value: unknown }).value);
    out.json.push({
      path: p,
      exists,
      want,
      missing: `expect json ${e.path} ${exists ? 'exists' : `== ${want.slice(0, 60)}`}: found nothing${on}`,
      differs: `expect json ${e.path} == ${want.slice(0, 60)}: got another value${on}`,
    });
  }
  for (const text of expect?.contains ?? [])
    out.contains.push({ text, failed: `expect body contains ${JSON.stringify(text.slice(0, 60))}: not found${on}` });
  for (const h of expect?.header ?? []) {
    const exists = 'exists' in h;
    const value = exists ? '' : (h as { value: string }).value;
    out.headers.push({
      name: h.name,
      exists,
      value,
      failed: exists
        ? `expect header ${h.name} exists: not found${on}`
        : `expect header ${h.name} == ${JSON.stringify(value.slice(0, 60))}: got another value${on}`,
    });
  }
  for (const [name, spec] of Object.entries(capture ?? {})) {
    const slot = slotOf(name);
    if (spec.kind === 'json') {
      out.captures.push({
        kind: CAP_JSON,
        slot,
        path: path(spec.path, `capture ${name}`),
        header: '',
        re: undefined,
        failed: `capture ${name} (${spec.path}) found nothing${on}`,
      });
    } else if (spec.kind === 'header') {
      out.captures.push({
        kind: CAP_HEADER,
        slot,
        path: undefined,
        header: spec.name,
        re: undefined,
        failed: `capture ${name} (header ${spec.name}) found nothing${on}`,
      });
    } else {
      let re: RegExp;
      try {
        re = compileCaptureRegex(spec.pattern);
      } catch (e) {
        throw new UserError(`${where}: capture ${name}: ${messageOf(e)}`);
      }
      out.captures.push({
        kind: CAP_REGEX,
        slot,
        path: undefined,
        header: '',
        re,
        failed: `capture ${name} (regex) found nothing${on}`,
      });
    }
  }
  out.needsJson = out.json.length > 0 || out.captures.some((c) => c.kind === CAP_JSON);
  out.needsBody = out.needsJson || out.contains.length > 0 || out.captures.some((c) => c.kind === CAP_REGEX);
  out.needsHeaders = out.headers.length > 0 || out.captures.some((c) => c.kind === CAP_HEADER);
  return out;
}

/** JSON text with object keys sorted, so `{a:1,b:2}` equals `{b:2,a:1}`. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

function headerValue(headers: ResponseView['headers'], name: string): string | undefined {
  const v = headers[name];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v.join(', ') : v;
}

/**
 * Run the checks on a response, filling the arrival's capture slots. Returns the message of the first failure, or
 * undefined when every expectation held and every capture found something.
 */
export function runChecks(c: CompiledChecks, res: ResponseView, caps: unknown[]): string | undefined {
  if (c.status && !c.status.includes(res.status)) return `expect status ${res.status} ≠ ${c.statusWant} on ${c.label}`;
  let parsed: unknown;
  if (c.needsJson) {
    if (res.body === undefined || res.truncated) return c.notJson;
    // JSON.parse itself takes any depth (V8's parser is iterative) and a JSONPath walks only its own segments; what
    // recurses is what is done with a value found (canonical JSON for a comparison, JSON text when a capture is sent
    // on). So only a found object is checked for depth, by an iterative walk that stops at the limit: a scalar, the
    // usual token or id, costs nothing, and a body 200,000 levels deep fails this check instead of the run.
    try {
      parsed = JSON.parse(res.body);
    } catch {
      return c.notJson;
    }
  }
  for (const e of c.json) {
    const v = evalJsonPath(e.path, parsed);
    if (v === undefined) return e.missing;
    if (!e.exists && typeof v === 'object' && v !== null && valueDepthOver(v)) return c.tooDeep;
    if (!e.exists && canonicalJson(v) !== e.want) return e.differs;
  }
  for (const t of c.contains) if (res.body === undefined || !res.body.includes(t.text)) return t.failed;
  for (const h of c.headers) {
    const v = headerValue(res.headers, h.name);
    if (v === undefined || (!h.exists && v !== h.value)) return h.failed;
  }
  for (const cap of c.captures) {
    let v: unknown;
    if (cap.kind === CAP_JSON) {
      v = evalJsonPath(cap.path!, parsed);
      if (typeof v === 'object' && v !== null && valueDepthOver(v)) return c.tooDeep;
    } else if (cap.kind === CAP_HEADER) {
      v = headerValue(res.headers, cap.header);
    } else {
      const body = res.body ?? '';
      const m = cap.re!.exec(body.length > REGEX_INPUT_LIMIT ? body.slice(0, REGEX_INPUT_LIMIT) : body);
      v = m ? (m.length > 1 ? m[1] : m[0]) : undefined;
    }
    if (v === undefined || v === null) return cap.failed;
    caps[cap.slot] = v;
  }
  return undefined;
}
