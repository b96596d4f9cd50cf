// Bundles src/ into dist/ with esbuild. `--check` builds into a temporary folder and fails when the committed
// dist/ differs, so a stale dist/ cannot pass the tests.
import { build } from 'esbuild';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

const check = process.argv.includes('--check');
const outdir = check ? mkdtempSync(join(tmpdir(), 'perf-gate-dist-')) : 'dist';
if (!check) rmSync('dist', { recursive: true, force: true });

await build({
  entryPoints: { index: 'src/index.ts', cli: 'src/cli.ts' },
  bundle: true,
  platform: 'node',
  target: 'node24',
  format: 'esm',
  // Chunks let main.ts import the engine and Octokit lazily: they are parsed only when used.
  splitting: true,
  outdir,
  entryNames: '[name]',
  chunkNames: 'chunks/[name]-[hash]',
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  legalComments: 'none',
  // esbuild names bundled CommonJS modules by their path: keep it `node_modules/...` even where node_modules is a
  // symlink (a git worktree sharing a checkout's install), so every checkout builds byte-identical output.
  preserveSymlinks: true,
  logLevel: 'warning',
  // CommonJS dependencies inside an ESM bundle still call require() for Node built-ins.
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
});

if (check) {
  const list = (dir) => readdirSync(dir, { recursive: true }).filter((f) => statSync(join(dir, f)).isFile()).map(String).sort();
  const fresh = list(outdir);
  const committed = list('dist');
  const stale = [...new Set([...fresh, ...committed])].filter(
    (f) => !fresh.includes(f) || !committed.includes(f) || !readFileSync(join(outdir, f)).equals(readFileSync(join('dist', f))),
  );
  rmSync(outdir, { recursive: true, force: true });
  if (stale.length) {
    console.error(`dist/ is stale: ${stale.join(', ')} differ from a fresh build of src/. Run "npm run build" and commit dist/.`);
    process.exit(1);
  }
  console.log(`dist/ is fresh (${relative('.', 'dist')}, ${fresh.length} files)`);
}
