// What the bench scripts share: a seedable random generator (the same numbers on every machine, so a figure can be
// reproduced) and bundling perf-gate's TypeScript sources with esbuild on the fly, so a bench measures the code
// in src/ as it is now rather than the last build in dist/.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** mulberry32: fast, seedable, good enough for Monte Carlo. */
export function rng(seed) {
  let state = seed >>> 0 || 1;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Bundles `lines` (export statements with paths relative to the repository) into `outfile`, an ESM file for Node.
 * `cjs`: give the bundle a require(), for CommonJS dependencies such as undici.
 */
export async function bundle(lines, outfile, { cjs = false } = {}) {
  const { build } = await import('esbuild');
  await build({
    stdin: { contents: lines.join('\n'), resolveDir: ROOT, loader: 'ts' },
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    logLevel: 'warning',
    ...(cjs
      ? {
          banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
        }
      : {}),
  });
  return outfile;
}

/** bundle() into a temporary directory, imported and the directory removed again. */
export async function importBundle(lines, opts) {
  const dir = mkdtempSync(join(tmpdir(), 'perf-gate-bench-'));
  try {
    return await import(pathToFileURL(await bundle(lines, join(dir, 'bundle.mjs'), opts)).href);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
