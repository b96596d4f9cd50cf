// The JSONPath subset captures and `expect.json` use: `$`, `.name`, `['name']` / `["name"]`, `[0]` and `[-1]`
// (from the end). Compiled once at start into a list of segments; a lookup only ever reads a value's own keys, so
// `$.constructor` or `$.__proto__.x` on a parsed body finds nothing instead of reaching Object.prototype, and
// nothing here writes to any object.

export type PathSegment = string | number;

export interface CompiledPath {
  /** As written, for messages. */
  source: string;
  segments: PathSegment[];
}

const NAME = /^[A-Za-z_$][A-Za-z0-9_$-]*/;
const MAX_PATH_LENGTH = 500;

/** Parse a JSONPath of the supported subset; throws an Error whose message says what is wrong and where. */
export function compileJsonPath(source: string): CompiledPath {
  if (source.length > MAX_PATH_LENGTH) throw new Error(`JSONPath longer than ${MAX_PATH_LENGTH} characters`);
  if (!source.startsWith('$')) throw new Error(`JSONPath "${source}" must start with $`);
  const segments: PathSegment[] = [];
  let i = 1;
  while (i < source.length) {
    const c = source[i];
    if (c === '.') {
      if (source[i + 1] === '.')
        throw new Error(`JSONPath "${source}": recursive descent (..) is not supported; write the full path`);
      const m = NAME.exec(source.slice(i + 1));
      if (!m) throw new Error(`JSONPath "${source}": expected a key name after "." at position ${i + 1}`);
      segments.push(m[0]);
      i += 1 + m[0].length;
    } else if (c === '[') {
      const rest = source.slice(i);
      const index = /^\[\s*(-?\d{1,9})\s*\]/.exec(rest);
      if (index) {
        segments.push(Number(index[1]));
        i += index[0].length;
        continue;
      }
      const quoted = /^\[\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)")\s*\]/.exec(rest);
      if (quoted) {
        const raw = quoted[1] ?? quoted[2] ?? '';
        segments.push(raw.replace(/\\(.)/g, '$1'));
        i += quoted[0].length;
        continue;
      }
      throw new Error(
        `JSONPath "${source}": expected [number] or ['key'] at position ${i} (wildcards and filters are not supported)`,
      );
    } else {
      throw new Error(`JSONPath "${source}": unexpected "${c}" at position ${i}`);
    }
  }
  return { source, segments };
}

/** The value at `path` in `root`, or undefined when any step finds nothing. Reads own properties only. */
export function evalJsonPath(path: CompiledPath, root: unknown): unknown {
  let cur: unknown = root;
  for (const seg of path.segments) {
    if (cur === null || typeof cur !== 'object') return undefined;
    if (Array.isArray(cur)) {
      if (typeof seg !== 'number') return undefined;
      const idx = seg < 0 ? cur.length + seg : seg;
      if (idx < 0 || idx >= cur.length) return undefined;
      cur = cur[idx];
    } else {
      const key = typeof seg === 'number' ? String(seg) : seg;
      if (!Object.hasOwn(cur, key)) return undefined;
      cur = (cur as Record<string, unknown>)[key];
    }
  }
  return cur;
}
