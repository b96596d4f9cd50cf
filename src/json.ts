// JSON from outside (a response body, a data file, a results file, a history file) parsed within bounds. V8's
// JSON.parse itself is iterative and takes any depth, but everything that walks the value afterwards recursively
// (JSON.stringify, a JSONPath, a schema, canonical JSON) runs out of stack on a value nested 100,000 levels deep,
// and that RangeError, thrown from a timer, ended the whole run. So depth is checked on the text first, by one
// linear pass that keeps no stack, and the size is checked before anything is read into a value.

/** Deeper than any real API response, data or results file; far shallower than a recursive walk can go. */
export const MAX_JSON_DEPTH = 256;

export class JsonLimitError extends Error {
  override name = 'JsonLimitError';
}

/**
 * Whether `text`, read as JSON, opens more than `max` arrays or objects inside one another. Brackets inside strings
 * do not count. Linear in the text's length, no recursion; malformed text is left for JSON.parse to refuse.
 */
export function jsonDepthOver(text: string, max: number = MAX_JSON_DEPTH): boolean {
  let depth = 0;
  const n = text.length;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c === 34 /* " */) {
      for (i++; i < n; i++) {
        const d = text.charCodeAt(i);
        if (d === 92 /* \ */) i++;
        else if (d === 34) break;
      }
    } else if (c === 91 /* [ */ || c === 123 /* { */) {
      if (++depth > max) return true;
    } else if (c === 93 || c === 125) {
      depth--;
    }
  }
  return false;
}

/**
 * JSON.parse with a depth and a size limit. Throws JsonLimitError (saying which limit, never showing the text) or
 * JSON.parse's SyntaxError.
 */
export function parseJsonBounded(text: string, limits: { maxDepth?: number; maxChars?: number } = {}): unknown {
  const maxChars = limits.maxChars ?? Number.POSITIVE_INFINITY;
  if (text.length > maxChars) throw new JsonLimitError(`it is larger than ${maxChars} characters`);
  const maxDepth = limits.maxDepth ?? MAX_JSON_DEPTH;
  if (jsonDepthOver(text, maxDepth)) throw new JsonLimitError(`it is nested deeper than ${maxDepth} levels`);
  return JSON.parse(text);
}

/**
 * How deep a value already in memory nests, up to `max + 1` (then it stops looking): an iterative walk, for values
 * that did not come from text this process parsed (a YAML config, an object built elsewhere).
 */
export function valueDepthOver(value: unknown, max: number = MAX_JSON_DEPTH): boolean {
  const stack: Array<[unknown, number]> = [[value, 0]];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const [v, d] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (d + 1 > max) return true;
    if (seen.has(v)) continue;
    seen.add(v);
    for (const child of Array.isArray(v) ? v : Object.values(v)) {
      if (child !== null && typeof child === 'object') stack.push([child, d + 1]);
    }
  }
  return false;
}
