// The README is the newcomer's page and docs/ the reference: every relative link between them must land on a file
// and a heading that exist, each docs page must be reachable from the README and link back, and the README stays
// short enough to read in five minutes.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = join(import.meta.dirname, '..');
const pages = [
  'README.md',
  'CHANGELOG.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  let fence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fence = !fence;
    const m = !fence && /^#{1,6} (.*)$/.exec(line);
    if (m)
      out.add(
        m[1]!
          .trim()
          .toLowerCase()
          .replace(/[^\p{L}\p{N}\s_-]/gu, '')
          .replace(/\s/g, '-'),
      );
  }
  return out;
}

/** Links outside code fences and code spans. */
function links(markdown: string): string[] {
  const out: string[] = [];
  let fence = false;
  for (const line of markdown.split('\n')) {
    if (/^\s*```/.test(line)) fence = !fence;
    if (fence) continue;
    for (const m of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g)) out.push(m[1]!);
  }
  return out;
}

describe('README and docs/', () => {
  it('every relative link lands on an existing file and heading', () => {
    for (const page of pages) {
      const text = readFileSync(join(root, page), 'utf8');
      for (const link of links(text)) {
        if (/^[a-z]+:/.test(link)) continue;
        const [file, anchor] = link.split('#') as [string, string | undefined];
        const target = file === '' ? page : normalize(join(dirname(page), file));
        expect(existsSync(join(root, target)), `${page}: ${link}`).toBe(true);
        if (anchor)
          expect(anchors(readFileSync(join(root, target), 'utf8')).has(anchor), `${page}: ${link}`).toBe(true);
      }
    }
  });

  it('the README links every docs page, and every docs page links back to the README', () => {
    const readmeLinks = links(readFileSync(join(root, 'README.md'), 'utf8')).map((l) => l.split('#')[0]);
    for (const page of pages.filter((p) => p.startsWith('docs/'))) {
      expect(readmeLinks, page).toContain(page);
      expect(links(readFileSync(join(root, page), 'utf8')), page).toContain('../README.md');
    }
    expect(readmeLinks).toContain('CHANGELOG.md');
  });

  it('the README gives the two set-up commands: the demo on the embedded defaults, and the tests as CI runs them', () => {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    expect(readme).toMatch(/^npm ci && npm run demo +#/m);
    expect(readme).toMatch(/^npm ci && bash scripts\/ci-services\.sh && npm test +#/m);
    const ci = readFileSync(join(root, '.ci', 'run'), 'utf8');
    for (const step of ['npm ci', 'bash scripts/ci-services.sh', 'npm test'])
      expect(ci).toMatch(new RegExp(`^${step.replace(/[.]/g, '\\.')}$`, 'm'));
  });

  it('the README is a newcomer page of at most 300 lines', () => {
    expect(readFileSync(join(root, 'README.md'), 'utf8').split('\n').length).toBeLessThanOrEqual(300);
  });
});
