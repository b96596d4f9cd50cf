// Finding Artillery: the workspace's own copy first (the version the project tested its script with), else a
// pinned version installed once into a tool cache. Artillery 2 needs Node >= 22.18, newer than many runners'
// default `node`, so perf-gate starts Artillery's bin script with its own Node (process.execPath) rather than
// through an `artillery` shim that would pick up whatever `node` is first on PATH.
import { existsSync, realpathSync } from 'node:fs';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { runTool, tailText, ToolNotFoundError } from '../tool.js';
import { UserError } from '../../errors.js';
import type { Logger } from '../../log.js';

/** The Artillery release installed when the workspace has none (the newest 2.0.x when this was written). */
export const ARTILLERY_VERSION = '2.0.34';

export interface ArtilleryTool {
  /** The JavaScript file behind the `artillery` command, run with process.execPath. */
  binJs: string;
  version: string;
  source: 'workspace' | 'cache' | 'installed';
  packageDir: string;
}

/** `$RUNNER_TOOL_CACHE/perf-gate` on GitHub runners (kept for the job), else the system temp folder. */
export function defaultToolCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.RUNNER_TOOL_CACHE?.trim() || tmpdir();
  return join(base, 'perf-gate');
}

export function artilleryCacheDir(version = ARTILLERY_VERSION, cacheRoot = defaultToolCacheDir()): string {
  return join(cacheRoot, `artillery-${version}`);
}

async function readPackage(packageDir: string): Promise<ArtilleryTool | undefined> {
  let pkg: { version?: unknown; bin?: unknown };
  try {
    pkg = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as typeof pkg;
  } catch {
    return undefined;
  }
  const bin =
    typeof pkg.bin === 'string'
      ? pkg.bin
      : typeof pkg.bin === 'object' && pkg.bin
        ? (pkg.bin as Record<string, unknown>).artillery
        : undefined;
  if (typeof bin !== 'string' || typeof pkg.version !== 'string') return undefined;
  const binJs = join(packageDir, bin);
  if (!existsSync(binJs)) return undefined;
  return { binJs, version: pkg.version, source: 'workspace', packageDir };
}

export interface ResolveOptions {
  workspace: string;
  log: Logger;
  /** Root of the tool cache (default: defaultToolCacheDir()). */
  cacheRoot?: string;
  version?: string;
  signal?: AbortSignal;
}

export async function resolveArtillery(opts: ResolveOptions): Promise<ArtilleryTool> {
  const own = await readPackage(join(opts.workspace, 'node_modules', 'artillery'));
  if (own) {
    opts.log.info(`Artillery ${own.version} from the workspace (node_modules/artillery)`);
    return own;
  }
  const version = opts.version ?? ARTILLERY_VERSION;
  const dir = artilleryCacheDir(version, opts.cacheRoot ?? defaultToolCacheDir());
  const cached = await readPackage(join(dir, 'node_modules', 'artillery'));
  if (cached && cached.version === version) {
    opts.log.info(`Artillery ${version} from the tool cache (${dir})`);
    return { ...cached, source: 'cache' };
  }
  return installArtillery(dir, version, opts);
}

/**
 * `npm install artillery@<version>` into a staging folder that is renamed into place when complete, so an
 * interrupted install is never mistaken for a usable one and two runs installing at once do not mix files.
 */
async function installArtillery(dir: string, version: string, opts: ResolveOptions): Promise<ArtilleryTool> {
  const { log } = opts;
  log.info(
    `Artillery is not in the workspace's node_modules: installing artillery@${version} into ${dir} ` +
      "(once per machine; about 470 packages, 40 s). Add artillery to the project's devDependencies to pin your own version.",
  );
  const staging = `${dir}.staging-${process.pid}-${Date.now()}`;
  await mkdir(staging, { recursive: true });
  // Artillery depends on @playwright/browser-chromium, whose install script downloads a browser (hundreds of
  // MB) that HTTP tests never use: npm 11 skips it through allowScripts, older npm through the Playwright variable.
  await writeFile(
    join(staging, 'package.json'),
    JSON.stringify(
      { name: 'perf-gate-artillery', private: true, allowScripts: { '@playwright/browser-chromium': false } },
      null,
      2,
    ) + '\n',
  );
  const npm = npmCommand();
  const started = Date.now();
  let added: string | undefined;
  try {
    const res = await runTool({
      command: npm.command,
      args: [
        ...npm.args,
        'install',
        '--no-audit',
        '--no-fund',
        '--no-update-notifier',
        '--loglevel=warn',
        `artillery@${version}`,
      ],
      cwd: staging,
      env: { PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD: '1', npm_config_fund: 'false', npm_config_audit: 'false' },
      log,
      label: '[npm]',
      signal: opts.signal,
      shell: npm.shell,
      // npm's warnings (engines, install scripts not covered by allowScripts) read like failure and are not: the
      // install is summarised in one line, and its output is shown when it fails (and in the debug log).
      quiet: true,
      tailLines: 60,
      onLine: (line) => {
        added = /\badded (\d+) packages?/.exec(line)?.[1] ?? added;
      },
    });
    if (res.code !== 0) {
      // Quiet only while it works: a failed install shows what npm said.
      log.warning(
        `npm could not install artillery@${version} (exit code ${res.code ?? res.signal}); its output:\n${tailText(res.stdoutTail, 30)}\n${tailText(res.stderrTail, 30)}`.trimEnd(),
      );
      throw new Error(
        `Installing artillery@${version} failed (npm exit code ${res.code ?? res.signal}): ${tailText(res.stderrTail) || tailText(res.stdoutTail)}`,
      );
    }
  } catch (e) {
    await rm(staging, { recursive: true, force: true });
    if (e instanceof ToolNotFoundError) {
      throw new UserError(
        `Artillery is not installed in the workspace and npm was not found to install it. Run \`npm install artillery@${version}\` in the workspace before perf-gate, or make npm available.`,
      );
    }
    throw e;
  }
  const installed = await readPackage(join(staging, 'node_modules', 'artillery'));
  if (!installed) {
    await rm(staging, { recursive: true, force: true });
    throw new Error(
      `npm installed artillery@${version} into ${staging}, but its package.json or bin script is missing`,
    );
  }
  await mkdir(dirname(dir), { recursive: true });
  const other = await readPackage(join(dir, 'node_modules', 'artillery'));
  if (other?.version === version) {
    // Another run finished the same install meanwhile and may be using it: keep its copy, drop ours.
    await rm(staging, { recursive: true, force: true });
  } else {
    try {
      // Whatever is there is incomplete or another version.
      await rm(dir, { recursive: true, force: true });
      await rename(staging, dir);
    } catch {
      await rm(staging, { recursive: true, force: true });
    }
  }
  const final = await readPackage(join(dir, 'node_modules', 'artillery'));
  if (!final) throw new Error(`Artillery install in ${dir} is incomplete`);
  log.info(
    `Installed artillery@${final.version}${added ? ` (${added} packages)` : ''} in ${((Date.now() - started) / 1000).toFixed(1)} s, with Node ${process.version} (the Node that runs perf-gate and Artillery)`,
  );
  return { ...final, source: 'installed' };
}

function npmCliOnPath(): string | undefined {
  if (process.platform === 'win32') return undefined;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const bin = join(dir, 'npm');
    if (!existsSync(bin)) continue;
    try {
      const real = realpathSync(bin);
      if (real.endsWith('npm-cli.js')) return real;
    } catch {
      // A dangling link: try the next folder.
    }
  }
  return undefined;
}

/**
 * npm, preferably the one shipped with the Node that runs perf-gate (same version line as the runtime);
 * otherwise the first npm on PATH.
 */
function npmCommand(): { command: string; args: string[]; shell: boolean } {
  const beside = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'bin', 'npm-cli.js');
  if (existsSync(beside)) return { command: process.execPath, args: [beside], shell: false };
  // The npm on PATH, but run by this Node: npm checks Artillery's `engines` against the Node running it, and an
  // older system Node would warn that Artillery needs Node >= 22.18 though perf-gate's Node runs it.
  const cli = npmCliOnPath();
  if (cli) return { command: process.execPath, args: [cli], shell: false };
  const win = process.platform === 'win32';
  return { command: win ? 'npm.cmd' : 'npm', args: [], shell: win };
}
