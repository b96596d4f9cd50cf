// The report as a reviewer sees it. Each scenario (pass, target fail, regression fail, stress, recovery, baseline
// trend, infrastructure, many endpoints, journeys) is kept as a Markdown snapshot, and rendered the way GitHub
// shows a PR comment: GitHub-flavoured Markdown (marked) with GitHub's stylesheet, 900 px wide, in Debian's
// headless Chromium through playwright-core, Mermaid drawn by the real mermaid bundle. The test measures the page
// with every <details> closed (what the reader sees before opening anything: at most 1.5 screens of 800 px for a
// passing report, 2 for a failing one) and checks that every Mermaid block draws its lines once opened.
// `REPORT_PNG=1` also writes the pictures the README shows (docs/report-*.png); `REPORT_PNG_DIR=dir` every
// scenario's folded page, to look at. Locally a missing browser or
// package skips the rendering; on CI (CI set) it fails.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { markerFor, renderReport, renderReportWithTier } from '../src/report/markdown.js';
import { renderTerminal } from '../src/report/terminal.js';
import { code, html, htmlCode, inline, MENTION_BREAK, noMention } from '../src/report/text.js';
import {
  CHROMIUM,
  launchChromium,
  MERMAID_BUNDLE,
  skipOrFail,
  tryImport,
  type Browser,
  type Playwright,
} from './helpers/chromium.js';
import {
  journeysScenario,
  recoveryScenario,
  regressionScenario,
  SCENARIOS,
  stressScenario,
} from './helpers/report-scenarios.js';

const SCREEN = 800;
const WIDTH = 900;

describe('the report scenarios (snapshots)', () => {
  for (const s of SCENARIOS) {
    it(`renders ${s.name}`, async () => {
      const input = s.input();
      const markdown = renderReport(input);
      expect(markdown.split('\n')[0]).toBe(markerFor(input.commentHeader));
      await expect(markdown).toMatchFileSnapshot(`__snapshots__/report-scenario-${s.name}.md`);
      await expect(renderTerminal(input)).toMatchFileSnapshot(`__snapshots__/terminal-scenario-${s.name}.txt`);
    });
  }
});

/** The lines before the first folded section: what a reviewer reads without opening anything. */
function visible(markdown: string): string {
  const at = markdown.indexOf('<details>');
  return at === -1 ? markdown : markdown.slice(0, at);
}

describe('what the first screen says', () => {
  it('stress: capacity at the targets and the breaking point lead, with their targets', () => {
    const md = renderReport(stressScenario());
    const sentence = md.split('\n')[4]!;
    expect(sentence).toMatch(
      /^\*\*Capacity 12\d(\.\d)?\/s at the targets \(target > 300\/s ❌\), breaking point 3[34]\d(\.\d)?\/s \(target > 300\/s ✅\); /,
    );
    // The capacity is where p99 passed 500 ms, long before the errors passed 0.5 %.
    expect(md).toMatch(
      /\*\*Capacity at the targets: 12\d(\.\d)?\/s\*\* served \(at 2\d s, .*then p99 5\d\d ms > 500 ms/,
    );
    expect(md).toContain('**Cascading failure: yes.**');
    // docs/phases.md and the report say the same about the breaking point.
    expect(md).toContain('while the next three intervals together stayed past it');
    expect(readFileSync(join(import.meta.dirname, '..', 'docs', 'phases.md'), 'utf8')).toContain(
      'while the next three intervals together stayed past it',
    );
    // No "first error" row that repeats the breaking point, and no "At" column mixing times and counts.
    expect(md).not.toMatch(/\| +At +\|/);
  });

  it('recovery: the judged part is named, and the whole run with its overload is labelled as such', () => {
    const md = renderReport(recoveryScenario());
    expect(visible(md)).toContain('_Actual: the steady part of the run (20 s – 1 min; 8 of 12 intervals)._');
    expect(md).toMatch(/\| Metric +\| +Whole run \| +Steady part \|/);
    expect(md).toContain('**Recovered in 20 s; all 3 targets hold.**');
  });

  it('regression: one sentence with the size of the change, the commits linked, the accept label', () => {
    const md = renderReport(regressionScenario());
    const top = visible(md);
    expect(top).toMatch(
      /\*\*p95 regressed \+\d+(\.\d)? % \(\d+ ms → \d+ ms\), p99 regressed \+\d+(\.\d)? % \(\d+ ms → \d+ ms\) against main@13aaaaa; all 2 targets hold\.\*\*/,
    );
    expect(top).toContain(
      'Comparing `feature/faster-bids` ([`f00dfee`](https://github.com/acme/shop/commit/f00dfeed5e1f2a3b4c5d6e7f8091a2b3c4d5e6f7)) with `main` ([`13aaaaa`](https://github.com/acme/shop/commit/13aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa))',
    );
    expect(top).toContain('apply the label `perf-regression-accepted` to this pull request');
    // The confirmation run's own figures, and the time it added, are in the Run section.
    expect(md).toMatch(/<summary><b>Run<\/b>: builtin, 20 s \+ 20 s confirmation run, load sent as asked<\/summary>/);
    expect(md).toMatch(
      /- \*\*Confirmation run:\*\* 20 s more of the same load, 2,000 requests, p99 \d+ ms, error rate 0 %; the comparison with the baseline pooled both runs/,
    );
    // The statistical shorthand is printed once, folded.
    expect(top).not.toContain('p88.39');
    expect(md.match(/p88\.39/g)).toHaveLength(1);
    // Every row's Status is its verdict: the p99 target held but p99 regressed, so the row is red.
    expect(top).toMatch(
      /\| p99 latency \| < 500 ms \| +\d+ ms \| +\d+ ms \| +↑ \+[\d.]+ % to \d+ ms ¹ \| ❌ regressed \|/,
    );
    // The sentence's figures are the table's: baseline and the figure compared.
    const [, base, now] = /p99 regressed \+[\d.]+ % \((\d+ ms) → (\d+ ms)\)/.exec(top)!;
    expect(top).toMatch(new RegExp(`\\| +${base} \\| +↑ \\+[\\d.]+ % to ${now} ¹ \\|`));
  });

  it('an accepted regression is green, says who accepted it, and does not ping them', () => {
    const input = regressionScenario();
    input.verdict = {
      ...input.verdict,
      status: 'pass',
      failsCheck: false,
      reasons: [],
      regressions: input.verdict.regressions!.map((r) =>
        r.status === 'regressed' ? { ...r, status: 'pass', acceptedBy: '@alice' } : r,
      ),
    };
    const top = visible(renderReport(input));
    expect(top).toMatch(new RegExp(`\\| p99 latency .*\\| ✅ accepted by @${MENTION_BREAK}alice \\|`));
    expect(top).toContain(`p95, p99 regression accepted by @${MENTION_BREAK}alice`);
    expect(top).not.toContain('What to do');
  });

  it('baseline trend: runs of the same commit keep their own tick', () => {
    const md = renderReport(regressionScenario({ reruns: true }));
    const axis = /x-axis \[(.*)\]/.exec(md)![1]!.split(', ');
    expect(new Set(axis).size).toBe(axis.length);
    expect(axis[0]).toBe('"#1 abbbbbb"');
    expect(md).toContain('**All 2 targets hold; no regression against main@dbbbbbb (10 runs).**');
  });

  it('journeys: status codes shown when none counted as an error, checks and journeys flagged, logs folded', () => {
    const md = renderReport(journeysScenario());
    expect(md).toContain(
      '<summary><b>Responses</b>: 27 not 2xx (50.9 % of responses): 302 ×27; none counted as an error ⚠️</summary>',
    );
    expect(md).toContain(
      '<summary><b>Checks and journeys</b>: 31 failed checks ❌; 27 of 53 journeys cut short ❌</summary>',
    );
    expect(md).toContain('<summary><b>Error logs</b>: 41 matching lines ❌</summary>');
    expect(md).toMatch(/\| `bids_stored` +\| == `responses\{bid, 201\}` \| 921 vs 1,000 \(79 short\) \| ❌ fail \|/);
    expect(md).toMatch(/\| `http_req_duration` \(tool threshold\) \| `p\(95\)<300` +\| +212 ms \| ✅ pass \|/);
    const text = renderTerminal(journeysScenario());
    expect(text).toContain('Status codes: 302 x27, 201 x26 (none counted as an error)');
    expect(text).toMatch(/^bidder \(@acme\/bidders\) +31 +4 +27$/m);
  });

  it('pings nobody: every @name outside code is broken by a word joiner, and the marker is untouched', () => {
    const input = journeysScenario();
    const md = renderReport(input);
    expect(md.split('\n')[0]).toBe('<!-- perf-gate:staging @octocat -->');
    const prose = md
      .split('\n')
      .slice(1)
      .join('\n')
      .replace(/```[\s\S]*?```/g, '')
      .replace(/(`+)[\s\S]*?\1/g, '')
      .replace(/<code>[\s\S]*?<\/code>/g, '');
    expect(prose).not.toMatch(/(^|[^\w`])@[A-Za-z0-9]/m);
    expect(prose).toContain(`@${MENTION_BREAK}octocat`);
    expect(prose).toContain(`@${MENTION_BREAK}release-bot`);
    // Names in code spans cannot mention anyone, and stay exactly as written.
    expect(md).toContain('`bidder (@acme/bidders)`');
  });

  it('warns under the table when a throughput target cannot be met at the configured rate', () => {
    const input = SCENARIOS.find((x) => x.name === 'pass')!.input();
    // The run asked for at most 10 arrivals/s of one request each; 100/s was never possible.
    input.verdict.targets.push({
      target: { metric: 'throughput', op: '>', value: 100, unit: '/s', source: 'throughput > 100/s', optional: false },
      actual: input.run.throughputRps!,
      status: 'fail',
    });
    input.verdict.status = 'fail';
    const top = visible(renderReport(input));
    expect(top).toMatch(
      /> ⚠️ throughput > 100\/s cannot be met at the configured load: the shape asks for [\d.]+\/s arrivals on average over the run, one request each, so at most about [\d.]+\/s\. Raise the rate or lower the target\./,
    );
  });

  it('breaks mentions and team mentions, leaves e-mail addresses and code alone', () => {
    const J = MENTION_BREAK;
    expect(noMention('ask @octocat and @acme/perf-team')).toBe(`ask @${J}octocat and @${J}acme/perf-team`);
    expect(noMention('@octocat first')).toBe(`@${J}octocat first`);
    expect(noMention('ops@example.com, a.b@c.d')).toBe('ops@example.com, a.b@c.d');
    expect(inline('(@octocat)')).toBe(`(@${J}octocat)`);
    expect(html('<b>@octocat</b>')).toBe(`&lt;b&gt;@${J}octocat&lt;/b&gt;`);
    expect(htmlCode('@octocat')).toBe('<code>&#64;octocat</code>');
    expect(code('@octocat')).toBe('`@octocat`');
  });

  it('keeps every size tier within its budget with the folded sections', () => {
    for (const s of SCENARIOS) {
      const input = s.input();
      const full = renderReportWithTier(input, { maxChars: 1_000_000 });
      for (const budget of [full.markdown.length - 1, 8000, 3000]) {
        const r = renderReportWithTier(input, { maxChars: budget });
        if (r.tier !== 'heading-only') expect(r.markdown.length, `${s.name} at ${budget}`).toBeLessThanOrEqual(budget);
        // A fold is never cut in half.
        expect((r.markdown.match(/<details>/g) ?? []).length).toBe((r.markdown.match(/<\/details>/g) ?? []).length);
      }
    }
  });
});

// ---- rendering in Chromium ----------------------------------------------------------------------------------------

const GITHUB_CSS = join(import.meta.dirname, 'fixtures', 'github-markdown', 'github-markdown-light.css');

interface Marked {
  marked: { parse(md: string, options: { gfm: boolean; async: false }): string };
}

function missing(what: string): void {
  skipOrFail('report render check', what);
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A PR comment body as GitHub lays it out: the Markdown stylesheet, 16 px padding, Mermaid blocks as diagrams. */
function page(marked: Marked, markdown: string): string {
  const html = marked.marked
    .parse(markdown, { gfm: true, async: false })
    .replace(
      /<pre><code class="language-mermaid">([\s\S]*?)<\/code><\/pre>/g,
      (_, src: string) => `<pre class="mermaid">${src}</pre>`,
    );
  const css = readFileSync(GITHUB_CSS, 'utf8');
  return (
    `<!doctype html><html><head><meta charset="utf-8"><style>${css}\nbody{margin:0;background:#fff}` +
    `.markdown-body{box-sizing:border-box;width:${WIDTH}px;padding:16px}</style></head>` +
    `<body><article class="markdown-body">${html}</article></body></html>`
  );
}

describe('the report rendered as GitHub shows a PR comment (Chromium, 900 px)', () => {
  let browser: Browser | undefined;
  let marked: Marked | undefined;
  let skip: string | undefined;

  beforeAll(async () => {
    const pw = await tryImport<Playwright>('playwright-core');
    marked = await tryImport<Marked>('marked');
    if (!pw || !marked || !existsSync(MERMAID_BUNDLE)) skip = 'mermaid, marked or playwright-core not installed';
    else if (!existsSync(CHROMIUM)) skip = `${CHROMIUM} not found`;
    if (skip || !pw) return;
    browser = await launchChromium(pw);
  });

  afterAll(async () => {
    await browser?.close();
    if (Object.keys(heights).length > 0)
      process.stdout.write(`folded heights at ${WIDTH} px: ${JSON.stringify(heights)}\n`);
  });

  const heights: Record<string, number> = {};

  for (const s of SCENARIOS) {
    it(`${s.name}: fits ${s.failing ? 'two screens' : 'one and a half screens'} folded, and every chart draws`, async () => {
      if (skip || !browser || !marked) return missing(skip ?? 'no browser');
      const markdown = renderReport(s.input());
      const p = await browser.newPage();
      await p.setViewportSize({ width: WIDTH, height: SCREEN });
      await p.setContent(page(marked, markdown));
      await p.addScriptTag({ path: MERMAID_BUNDLE });

      // Open everything, draw the charts, and check each one came out as lines.
      const charts = await p.evaluate(async () => {
        const doc = (
          globalThis as unknown as {
            document: {
              querySelectorAll(s: string): ArrayLike<{
                open: boolean;
                innerHTML: string;
                querySelector(s: string): { getBoundingClientRect(): { width: number; height: number } } | null;
              }>;
            };
          }
        ).document;
        for (const d of Array.from(doc.querySelectorAll('details'))) d.open = true;
        const m = (globalThis as unknown as { mermaid: { initialize(c: object): void; run(o: object): Promise<void> } })
          .mermaid;
        m.initialize({ startOnLoad: false });
        await m.run({ querySelector: 'pre.mermaid' });
        return Array.from(doc.querySelectorAll('pre.mermaid')).map((el) => {
          const svg = el.querySelector('svg');
          const box = svg?.getBoundingClientRect();
          return {
            width: box?.width ?? 0,
            height: box?.height ?? 0,
            lines: (el.innerHTML.match(/<g class="line-plot-\d+"/g) ?? []).length,
            html: el.innerHTML.slice(0, 200),
          };
        });
      }, undefined);
      const blocks = (markdown.match(/```mermaid\n/g) ?? []).length;
      expect(charts).toHaveLength(blocks);
      for (const c of charts) {
        expect(c.width, c.html).toBeGreaterThan(200);
        expect(c.height).toBeGreaterThan(150);
        expect(c.lines).toBeGreaterThan(0);
      }

      // Fold everything again: the height a reviewer scrolls before opening anything.
      const height = await p.evaluate(() => {
        const doc = (
          globalThis as unknown as {
            document: {
              querySelectorAll(s: string): ArrayLike<{ open: boolean }>;
              querySelector(s: string): { getBoundingClientRect(): { height: number } };
            };
          }
        ).document;
        for (const d of Array.from(doc.querySelectorAll('details'))) d.open = false;
        return doc.querySelector('article').getBoundingClientRect().height;
      }, undefined);
      heights[s.name] = Math.round(height);
      expect(height, `${s.name}: ${Math.round(height)} px`).toBeLessThanOrEqual(SCREEN * (s.failing ? 2 : 1.5));

      // REPORT_PNG_DIR=/some/dir: every scenario as the reviewer first sees it, to look at.
      if (process.env.REPORT_PNG_DIR)
        await p.screenshot({ path: join(process.env.REPORT_PNG_DIR, `report-${s.name}.png`), fullPage: true });
      if (process.env.REPORT_PNG && s.name === 'why') {
        // The Why block with its evidence opened, the rest folded: what the README's example shows.
        await p.evaluate(() => {
          const doc = (
            globalThis as unknown as {
              document: { querySelectorAll(s: string): ArrayLike<{ open: boolean; innerHTML: string }> };
            }
          ).document;
          for (const d of Array.from(doc.querySelectorAll('details')))
            d.open = /<b>Why: the evidence<\/b>/.test(d.innerHTML.slice(0, 200));
        }, undefined);
        await p.screenshot({ path: join(import.meta.dirname, '..', 'docs', 'report-why.png'), fullPage: true });
      }
      if (process.env.REPORT_PNG && (s.name === 'target-fail' || s.name === 'stress')) {
        const dir = join(import.meta.dirname, '..', 'docs');
        mkdirSync(dir, { recursive: true });
        if (s.name === 'target-fail') await p.screenshot({ path: join(dir, 'report-target-fail.png'), fullPage: true });
        if (s.name === 'stress') {
          // The same comment with the phase and the charts opened, as a reviewer who wants the detail sees it.
          await p.evaluate(() => {
            const doc = (
              globalThis as unknown as {
                document: { querySelectorAll(s: string): ArrayLike<{ open: boolean; innerHTML: string }> };
              }
            ).document;
            for (const d of Array.from(doc.querySelectorAll('details')))
              d.open = /<b>(Phase|Charts)<\/b>/.test(d.innerHTML.slice(0, 200));
          }, undefined);
          await p.screenshot({ path: join(dir, 'report-stress-open.png'), fullPage: true });
        }
      }
      await p.close();
    });
  }
});
