// `{{ name }}` templates in a step's path, headers, json and body. Each text is compiled once at start into
// literal parts and references (a data column, a capture slot, an environment value, a built-in); an arrival then
// renders it by concatenation, with no parsing and no evaluation of anything the config or a response wrote.
// A name nothing defines is an error at start. Values of `{{ env.NAME }}` are secrets: they are only ever sent to
// the target, and the caller gets them in a list to mask (core.setSecret).
import { randomUUID } from 'node:crypto';

export const REF_DATA = 0;
export const REF_CAPTURE = 1;
export const REF_CONST = 2;
export const REF_UUID = 3;
export const REF_RANDOM_INT = 4;
export const REF_TIMESTAMP = 5;

export interface Ref {
  kind: 0 | 1 | 2 | 3 | 4 | 5;
  /** Column (data) or slot (capture) index. */
  index: number;
  /** The environment value (REF_CONST). */
  value: string;
  min: number;
  max: number;
}

/** What an arrival carries: a reference to its data row (never a copy) and its own capture slots. */
export interface ArrivalVars {
  row: readonly unknown[] | undefined;
  caps: unknown[];
}

/** Literal text and references, in order; compiled once. */
export interface Template {
  parts: Array<string | Ref>;
}

/** A JSON body with templates: literal JSON text between holes that render a whole value or text inside a string. */
export interface JsonTemplate {
  parts: Array<string | JsonHole>;
}

export interface JsonHole {
  ref: Ref;
  /** true: the hole is a whole JSON value (`"{{ n }}"`), so a number stays a number; false: text inside a string. */
  whole: boolean;
}

/** The names visible to one step: data columns and captures of earlier steps of the same flow. */
export interface Scope {
  names: Map<string, Ref>;
  env: NodeJS.ProcessEnv;
  /** Values of every `{{ env.NAME }}` used, to be masked by the caller. */
  secrets: Set<string>;
  /** "data columns email, password; captures token": what the scope offers, for the error message. */
  describe(): string;
}

export class TemplateError extends Error {}

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const ENV = /^env\.([A-Za-z_][A-Za-z0-9_]*)$/;
const RANDOM_INT = /^\$randomInt\(\s*(-?\d{1,15})\s*,\s*(-?\d{1,15})\s*\)$/;
/** A JSON number exactly as JSON.stringify would write one back. */
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

export function hasTemplate(text: string): boolean {
  return text.includes('{{');
}

function ref(kind: Ref['kind'], index = 0, value = '', min = 0, max = 0): Ref {
  return { kind, index, value, min, max };
}

function compileExpr(expr: string, scope: Scope): Ref {
  if (NAME.test(expr)) {
    const r = scope.names.get(expr);
    if (r) return r;
    throw new TemplateError(`template "{{ ${expr} }}" names nothing defined here (${scope.describe()})`);
  }
  const env = ENV.exec(expr);
  if (env) {
    const value = scope.env[env[1]!];
    if (value === undefined || value === '')
      throw new TemplateError(`template "{{ ${expr} }}": environment variable ${env[1]} is not set`);
    scope.secrets.add(value);
    return ref(REF_CONST, 0, value);
  }
  if (expr === '$uuid') return ref(REF_UUID);
  if (expr === '$timestamp') return ref(REF_TIMESTAMP);
  const ri = RANDOM_INT.exec(expr);
  if (ri) {
    const min = Number(ri[1]);
    const max = Number(ri[2]);
    if (!(Number.isSafeInteger(min) && Number.isSafeInteger(max) && min <= max)) {
      throw new TemplateError(`template "{{ ${expr} }}": $randomInt(a, b) needs whole numbers with a <= b`);
    }
    return ref(REF_RANDOM_INT, 0, '', min, max);
  }
  throw new TemplateError(
    `template "{{ ${expr.slice(0, 60)} }}" is not a name, env.NAME, $uuid, $randomInt(a, b) or $timestamp`,
  );
}

/**
 * A text as literal parts and `{{ expr }}` expressions (trimmed), as every engine reads templates; a `{{` without
 * its `}}` is a TemplateError.
 */
export function splitTemplate(text: string): Array<string | { expr: string }> {
  const parts: Array<string | { expr: string }> = [];
  let i = 0;
  while (i < text.length) {
    const open = text.indexOf('{{', i);
    if (open < 0) {
      parts.push(text.slice(i));
      break;
    }
    if (open > i) parts.push(text.slice(i, open));
    const close = text.indexOf('}}', open + 2);
    if (close < 0)
      throw new TemplateError(`"{{" without a closing "}}" in ${JSON.stringify(text.slice(open, open + 40))}`);
    parts.push({ expr: text.slice(open + 2, close).trim() });
    i = close + 2;
  }
  return parts;
}

/** Split a text into literal parts and references. Throws TemplateError naming the bad template. */
export function compileTemplate(text: string, scope: Scope): Template {
  return { parts: splitTemplate(text).map((p) => (typeof p === 'string' ? p : compileExpr(p.expr, scope))) };
}

function resolve(r: Ref, vars: ArrivalVars): unknown {
  switch (r.kind) {
    case REF_DATA:
      return vars.row?.[r.index];
    case REF_CAPTURE:
      return vars.caps[r.index];
    case REF_CONST:
      return r.value;
    case REF_UUID:
      return randomUUID();
    case REF_RANDOM_INT:
      return r.min + Math.floor(Math.random() * (r.max - r.min + 1));
    case REF_TIMESTAMP:
      return Date.now();
  }
}

/** A value as text: strings as they are, numbers and booleans printed, objects as JSON, nothing as ''. */
export function asText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v === undefined || v === null) return '';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

export function renderTemplate(t: Template, vars: ArrivalVars): string {
  const parts = t.parts;
  let out = '';
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    out += typeof p === 'string' ? p : asText(resolve(p, vars));
  }
  return out;
}

/**
 * Compile a `json:` value. Strings without templates, numbers, keys and structure become literal JSON text; a string
 * that is exactly one template becomes a whole-value hole; a string mixing text and templates becomes a string
 * with holes inside. Returns undefined when the value has no template at all (serialise it once instead).
 */
export function compileJsonTemplate(value: unknown, scope: Scope): JsonTemplate | undefined {
  const parts: Array<string | JsonHole> = [];
  let templated = false;
  const lit = (s: string): void => {
    const last = parts.length - 1;
    if (last >= 0 && typeof parts[last] === 'string') parts[last] = (parts[last] as string) + s;
    else parts.push(s);
  };
  const walk = (v: unknown): void => {
    if (typeof v === 'string') {
      if (!hasTemplate(v)) return lit(JSON.stringify(v));
      templated = true;
      const t = compileTemplate(v, scope);
      if (t.parts.length === 1 && typeof t.parts[0] !== 'string') {
        parts.push({ ref: t.parts[0]!, whole: true });
        return;
      }
      lit('"');
      for (const p of t.parts) {
        if (typeof p === 'string') lit(JSON.stringify(p).slice(1, -1));
        else parts.push({ ref: p, whole: false });
      }
      lit('"');
      return;
    }
    if (Array.isArray(v)) {
      lit('[');
      v.forEach((x, i) => {
        if (i > 0) lit(',');
        walk(x === undefined ? null : x);
      });
      lit(']');
      return;
    }
    if (v !== null && typeof v === 'object') {
      lit('{');
      let first = true;
      for (const key of Object.keys(v)) {
        const x = (v as Record<string, unknown>)[key];
        if (x === undefined) continue;
        if (!first) lit(',');
        first = false;
        lit(`${JSON.stringify(key)}:`);
        walk(x);
      }
      lit('}');
      return;
    }
    lit(JSON.stringify(v) ?? 'null');
  };
  walk(value);
  return templated ? { parts } : undefined;
}

/** A whole JSON value from a template's value: a number (or text that is exactly a JSON number) stays a number. */
function jsonValue(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : 'null';
  if (typeof v === 'string') return JSON_NUMBER.test(v) && v.length < 300 ? v : JSON.stringify(v);
  if (v === undefined) return 'null';
  return JSON.stringify(v) ?? 'null';
}

export function renderJsonTemplate(t: JsonTemplate, vars: ArrivalVars): string {
  const parts = t.parts;
  let out = '';
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    if (typeof p === 'string') out += p;
    else if (p.whole) out += jsonValue(resolve(p.ref, vars));
    else out += JSON.stringify(asText(resolve(p.ref, vars))).slice(1, -1);
  }
  return out;
}

export function dataRef(column: number): Ref {
  return ref(REF_DATA, column);
}

export function captureRef(slot: number): Ref {
  return ref(REF_CAPTURE, slot);
}

const ENV_USE = /\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** Values of every environment variable a text refers to with `{{ env.NAME }}`: secrets the caller should mask. */
export function envValuesIn(texts: Iterable<string>, env: NodeJS.ProcessEnv): string[] {
  const out = new Set<string>();
  for (const text of texts) {
    for (const m of text.matchAll(ENV_USE)) {
      const v = env[m[1]!];
      if (v) out.add(v);
    }
  }
  return [...out];
}
