// results.json is meant to be read by people as well as programs, so it is indented; but indenting a histogram's
// bucket pairs or a metric's samples puts every number on a line of its own, which made such lists four fifths of
// the file. Lists of numbers (and of small number tuples) stay on one line; everything else is laid out as
// JSON.stringify(value, null, indent) would, and parses back to the same value.

export function stringifyReadable(value: unknown, indent = 2): string {
  return write(value, '', ' '.repeat(indent)) ?? 'null';
}

function write(value: unknown, pad: string, step: string): string | undefined {
  let v = value;
  if (v !== null && typeof v === 'object' && typeof (v as { toJSON?: unknown }).toJSON === 'function') {
    v = (v as { toJSON: () => unknown }).toJSON();
  }
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  const inner = pad + step;
  if (Array.isArray(v)) {
    if (v.length === 0) return '[]';
    if (v.every(isNumberOrTuple)) return JSON.stringify(v);
    return `[\n${v.map((x) => inner + (write(x, inner, step) ?? 'null')).join(',\n')}\n${pad}]`;
  }
  const parts: string[] = [];
  for (const [k, x] of Object.entries(v)) {
    const text = write(x, inner, step);
    if (text !== undefined) parts.push(`${inner}${JSON.stringify(k)}: ${text}`);
  }
  return parts.length === 0 ? '{}' : `{\n${parts.join(',\n')}\n${pad}}`;
}

function isNumberOrTuple(x: unknown): boolean {
  return typeof x === 'number' || (Array.isArray(x) && x.length <= 4 && x.every((n) => typeof n === 'number'));
}
