// The import graph of src/: no circle (type-only imports count too: they tie the files together just the same)
// and no import that runs up a floor. The floors, from the bottom: a module may import its own floor and the
// floors below it, never one above. Read from the source text, so it takes well under a second.
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '..');
const SRC = join(ROOT, 'src');

/**
 * Bottom first. An entry is a file (`model.ts`) or a folder (`gate/`) under src/; the longest matching entry
 * places a file. Every file of src/ must be placed (the test says which is not).
 */
const FLOORS: string[][] = [
  // The ground floor: the typed model and what every stage may need without importing a stage.
  [
    'model.ts',
    'model/',
    'results-schema.ts',
    'results-schema/',
    'errors.ts',
    'log.ts',
    'secrets.ts',
    'units.ts',
    'format.ts',
    'json.ts',
    'bounded.ts',
    'version.ts',
  ],
  ['metrics/'],
  ['flows/'],
  ['gate/'],
  ['phases/'],
  ['config/'],
  ['readers/'],
  ['engines/', 'sources/', 'baseline/', 'github/', 'checks/'],
  // Why a run failed: reads the run and the verdict (gate) after the stages that measured it.
  ['diagnose/'],
  ['report/'],
  ['pipeline.ts', 'pipeline/'],
  ['main.ts', 'cli.ts'],
  ['index.ts'],
];

function listTs(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) => {
    const p = join(dir, d.name);
    if (d.isDirectory()) return listTs(p);
    return d.name.endsWith('.ts') ? [p] : [];
  });
}

/** Strips comments, so an import written in a comment draws no arrow (string contents stay as they are). */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

/** Relative module specifiers of static imports and re-exports, `import type` included, and `import('...')`. */
function specifiers(text: string): string[] {
  const code = stripComments(text);
  const out: string[] = [];
  const patterns = [
    /^\s*(?:import|export)\b[^;'"]*?\bfrom\s*'([^']+)'/gm,
    /^\s*import\s*'([^']+)'/gm,
    /\bimport\(\s*'([^']+)'\s*\)/g,
  ];
  for (const re of patterns) for (const m of code.matchAll(re)) if (m[1]!.startsWith('.')) out.push(m[1]!);
  return out;
}

function floorOf(rel: string): number | undefined {
  let best: { floor: number; len: number } | undefined;
  FLOORS.forEach((entries, floor) => {
    for (const e of entries) {
      const hit = e.endsWith('/') ? rel.startsWith(e) : rel === e;
      if (hit && (!best || e.length > best.len)) best = { floor, len: e.length };
    }
  });
  return best?.floor;
}

const files = listTs(SRC).map((f) => relative(SRC, f).split('\\').join('/'));
const graph = new Map<string, string[]>();
for (const rel of files) {
  const deps = specifiers(readFileSync(join(SRC, rel), 'utf8')).map((s) =>
    posix.normalize(posix.join(posix.dirname(rel), s)).replace(/\.js$/, '.ts'),
  );
  graph.set(rel, [...new Set(deps)]);
}

/** Strongly connected components with more than one file (or a file importing itself): Tarjan's algorithm. */
function circles(): string[][] {
  let index = 0;
  const idx = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    idx.set(v, index);
    low.set(v, index++);
    stack.push(v);
    on.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!graph.has(w)) continue;
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, idx.get(w)!));
    }
    if (low.get(v) === idx.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (graph.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of graph.keys()) if (!idx.has(v)) visit(v);
  return out;
}

describe('the import graph of src/', () => {
  it('reads the imports it checks (a sanity check of the reader)', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(graph.get('index.ts')).toContain('main.ts');
    expect(
      specifiers(
        `import type { A } from './a.js';\nexport { b } from '../b.js';\n// import { c } from './c.js';\nconst d = await import('./d.js');`,
      ),
    ).toEqual(['./a.js', '../b.js', './d.js']);
  });

  it('resolves every relative import to a file of src/', () => {
    const missing = [...graph].flatMap(([from, deps]) =>
      deps.filter((d) => !graph.has(d)).map((d) => `${from} -> ${d}`),
    );
    expect(missing).toEqual([]);
  });

  it('places every file of src/ on a floor', () => {
    expect(files.filter((f) => floorOf(f) === undefined)).toEqual([]);
  });

  it('has no import circle', () => {
    expect(circles()).toEqual([]);
  });

  it('has no import that runs up a floor', () => {
    const up = [...graph].flatMap(([from, deps]) =>
      deps
        .filter((d) => (floorOf(d) ?? -1) > (floorOf(from) ?? Infinity))
        .map((d) => `${from} (floor ${floorOf(from)}) -> ${d} (floor ${floorOf(d)})`),
    );
    expect(up).toEqual([]);
  });

  it('would catch a circle and an upward import (the checks can fail)', () => {
    graph.set('gate/__probe.ts', ['report/markdown.ts', 'gate/__probe.ts']);
    try {
      expect(circles()).toContainEqual(['gate/__probe.ts']);
      expect((floorOf('report/markdown.ts') ?? 0) > (floorOf('gate/__probe.ts') ?? 0)).toBe(true);
    } finally {
      graph.delete('gate/__probe.ts');
    }
  });
});
