// Debian's Chromium through playwright-core, and Mermaid's browser bundle, for the tests that look at rendered
// output as a reviewer does. The few calls used are typed here: the type check must pass on a checkout where these
// dev dependencies are missing, and such a checkout skips the checks (on CI a missing one is a failure).
import { join } from 'node:path';

export const ON_CI = Boolean(process.env.CI);
export const CHROMIUM = '/usr/bin/chromium';
export const MERMAID_BUNDLE = join(process.cwd(), 'node_modules/mermaid/dist/mermaid.min.js');

export interface Page {
  setViewportSize(size: { width: number; height: number }): Promise<void>;
  setContent(html: string): Promise<void>;
  addScriptTag(options: { path: string }): Promise<unknown>;
  evaluate<R, A>(fn: (arg: A) => R | Promise<R>, arg: A): Promise<R>;
  screenshot(options: { path: string; fullPage?: boolean }): Promise<unknown>;
  goto(url: string, options?: { waitUntil?: 'load' | 'networkidle' }): Promise<unknown>;
  on(event: 'request', listener: (request: { url(): string }) => void): void;
  close(): Promise<void>;
}
export interface Browser {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}
export interface Playwright {
  chromium: { launch(options: { executablePath: string; args: string[] }): Promise<Browser> };
}

export async function tryImport<T>(name: string): Promise<T | undefined> {
  try {
    // A computed specifier, so a missing package is a skip (or a CI failure), not a failed import of this file.
    return (await import(/* @vite-ignore */ name)) as T;
  } catch {
    return undefined;
  }
}

/** A check that cannot run here: a failure on CI, otherwise a line saying `check` was skipped and why. */
export function skipOrFail(check: string, why: string): void {
  if (ON_CI) throw new Error(`required on CI: ${why}`);
  process.stdout.write(`${check} skipped (${why})\n`);
}

export function launchChromium(pw: Playwright): Promise<Browser> {
  // The flags this kind of machine needs: no sandbox as root, and no background calls out of a closed network.
  return pw.chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
