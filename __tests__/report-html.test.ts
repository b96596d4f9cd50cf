// report.html: one self-contained page for every test of the output dir, as a reviewer opens it from the artifact.
// Rendered in Debian's Chromium at 1280 px from a file:// URL: it renders the tests (verdict sentence, results
// table, sections), makes no request but for the file itself, and every chart draws a line per series with all its
// points. `REPORT_PNG=1` also writes the pictures docs/report.md shows (docs/report-html-*.png).
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtmlReport, type HtmlReportEntry } from '../src/report/html.js';
import { renderReport } from '../src/report/markdown.js';
import { lineChartSvg, parseXychart } from '../src/report/svg.js';
import { chartsFor } from '../src/report/charts.js';
import { CHROMIUM, launchChromium, skipOrFail, tryImport, type Browser, type Playwright } from './helpers/chromium.js';
import { useDemoServer } from './helpers/demo-server.js';
import { regressionScenario, stressScenario, warmupScenario } from './helpers/report-scenarios.js';
import { runCli } from './helpers/run-action.js';

const WIDTH = 1280;

function entry(name: string, input: ReturnType<typeof stressScenario>): HtmlReportEntry {
  return {
    name,
    run: input.run,
    verdict: input.verdict,
    input,
    markdown: renderReport(input, { maxChars: Number.MAX_SAFE_INTEGER }),
  };
}

function warmupPass(): HtmlReportEntry {
  return entry('warmup-20261208T033000Z', warmupScenario());
}

const SCENARIOS: Array<{ name: string; png: string; entries: () => HtmlReportEntry[] }> = [
  { name: 'passing warm-up', png: 'report-html-warmup-pass.png', entries: () => [warmupPass()] },
  {
    name: 'failing stress run',
    png: 'report-html-stress-fail.png',
    entries: () => [entry('stress-20261208T040000Z', stressScenario())],
  },
  {
    name: 'regression',
    png: 'report-html-regression.png',
    entries: () => [entry('sustained-20261208T050000Z', regressionScenario())],
  },
  {
    name: 'three tests on one page',
    png: '',
    entries: () => [
      entry('stress-20261208T040000Z', stressScenario()),
      entry('sustained-20261208T050000Z', regressionScenario()),
      warmupPass(),
    ],
  },
];

describe('report.html as text', () => {
  it('holds the comment of each test, the time series at full resolution and every endpoint', () => {
    const stress = stressScenario();
    const page = renderHtmlReport([entry('stress-1', stress), warmupPass()]);
    expect(page.startsWith('<!doctype html>')).toBe(true);
    expect(page).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    // Nothing to fetch: no script, no external stylesheet, font or image.
    expect(page).not.toMatch(/<script|<link|@import|url\(|src="http/i);
    expect(page.match(/<section class="test"/g)).toHaveLength(2);
    // The same verdict sentence as the comment, and its results table.
    const sentence = /\*\*(Capacity [^*]+)\*\*/.exec(renderReport(stress))![1]!;
    expect(page).toContain(
      `<strong>${sentence.replace(/&/g, '&amp;').replace(/>/g, '&gt;').replace(/</g, '&lt;')}</strong>`,
    );
    expect(page).toMatch(/<th[^>]*>Metric<\/th>/);
    // Full resolution: the latency chart has a point for every interval (the comment's has at most 40).
    const full = chartsFor(stress.run, stress.verdict, Number.POSITIVE_INFINITY).find((c) => c.kind === 'latency')!;
    expect(parseXychart(full.mermaid)!.lines[0]!.values).toHaveLength(stress.run.intervals.length);
    expect(page).toContain(`data-points="${stress.run.intervals.length}"`);
    expect(page).toContain(`Every interval (${stress.run.intervals.length})`);
  });

  it('escapes names from the run and draws a chart from the Mermaid the comment has', () => {
    const input = stressScenario();
    input.run.endpoints = [
      {
        name: '<img src=x onerror=alert(1)>',
        requests: 10,
        errors: 1,
        latency: { count: 10, p99: 12 },
        statusCodes: { '200': 9, '500': 1 },
      },
    ];
    const page = renderHtmlReport([entry('x', input)]);
    expect(page).not.toContain('<img src=x');
    expect(page).toContain('&lt;img src=x onerror=alert(1)&gt;');
    const svg = lineChartSvg(
      parseXychart(
        'xychart-beta\n  title "T"\n  x-axis "time (s)" 1 --> 9\n  y-axis "ms" 0 --> 100\n  line "p99" [10, 20, 30]',
      )!,
    );
    expect(svg).toContain('data-points="3"');
    expect(parseXychart('graph TD; a-->b')).toBeUndefined();
  });
});

describe('report.html in Chromium at 1280 px', () => {
  let browser: Browser | undefined;
  let skip: string | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'perf-gate-html-'));

  beforeAll(async () => {
    const pw = await tryImport<Playwright>('playwright-core');
    if (!pw) skip = 'playwright-core not installed';
    else if (!existsSync(CHROMIUM)) skip = `${CHROMIUM} not found`;
    if (!skip && pw) browser = await launchChromium(pw);
  });
  afterAll(async () => {
    await browser?.close();
  });

  for (const s of SCENARIOS) {
    it(`${s.name}: renders, makes no request, and every chart draws`, async () => {
      if (skip || !browser) return skipOrFail('report.html render check', skip ?? 'no browser');
      const entries = s.entries();
      const file = join(dir, `${s.name.replace(/\W+/g, '-')}.html`);
      writeFileSync(file, renderHtmlReport(entries, { generatedAt: '2026-12-08T05:00:00.000Z' }));
      const url = pathToFileURL(file).href;
      const p = await browser.newPage();
      const requests: string[] = [];
      p.on('request', (r) => requests.push(r.url()));
      await p.setViewportSize({ width: WIDTH, height: 900 });
      await p.goto(url, { waitUntil: 'load' });
      const seen = await p.evaluate(() => {
        type El = {
          getBoundingClientRect(): { width: number; height: number };
          getAttribute(n: string): string | null;
          querySelectorAll(s: string): ArrayLike<El>;
          textContent: string | null;
          points?: { numberOfItems: number };
          getTotalLength?(): number;
        };
        const doc = (
          globalThis as unknown as {
            document: { querySelectorAll(s: string): ArrayLike<El & { open: boolean }>; body: El };
          }
        ).document;
        // Open every fold, as a reviewer looking for the charts does: a chart must draw where it is read.
        for (const d of Array.from(doc.querySelectorAll('details'))) d.open = true;
        const charts = Array.from(doc.querySelectorAll('svg.chart')).map((svg) => ({
          width: svg.getBoundingClientRect().width,
          series: Array.from(svg.querySelectorAll('polyline.series')).map((l) => ({
            expected: Number(l.getAttribute('data-points')),
            drawn: l.points?.numberOfItems ?? 0,
            length: l.getTotalLength?.() ?? 0,
          })),
        }));
        return {
          sections: doc.querySelectorAll('section.test').length,
          tables: doc.querySelectorAll('section.test table').length,
          text: doc.body.textContent ?? '',
          charts,
        };
      }, undefined);
      expect(requests).toEqual([url]);
      expect(seen.sections).toBe(entries.length);
      expect(seen.tables).toBeGreaterThanOrEqual(entries.length * 2);
      for (const e of entries) expect(seen.text).toContain(`${e.run.phase}`);
      expect(seen.charts.length).toBeGreaterThanOrEqual(entries.length * 2);
      for (const c of seen.charts) {
        expect(c.width).toBeGreaterThan(600);
        expect(c.series.length).toBeGreaterThan(0);
        for (const l of c.series) {
          expect(l.drawn).toBe(l.expected);
          if (l.expected > 1) expect(l.length).toBeGreaterThan(100);
        }
      }
      if (process.env.REPORT_PNG && s.png) {
        // The picture: the page as it opens, with the comment's phase, trend and comparison folds opened.
        await p.evaluate(() => {
          const doc = (
            globalThis as unknown as {
              document: { querySelectorAll(s: string): ArrayLike<{ open: boolean; innerHTML: string }> };
            }
          ).document;
          for (const d of Array.from(doc.querySelectorAll('details')))
            d.open = /<b>(Phase|Trend|How the comparison was judged)<\/b>/.test(d.innerHTML.slice(0, 200));
        }, undefined);
        const out = join(import.meta.dirname, '..', 'docs');
        mkdirSync(out, { recursive: true });
        await p.screenshot({ path: join(out, s.png), fullPage: true });
      }
      await p.close();
    });
  }
});

describe('the run writes report.html beside results.json', () => {
  const demo = useDemoServer();
  it('one page with the verdict of the run, openable offline', async () => {
    const ws = mkdtempSync(join(tmpdir(), 'perf-gate-html-run-'));
    const r = await runCli(
      [
        'run',
        '--target',
        demo.url,
        '--phase',
        'warmup',
        '--duration',
        '3s',
        '--rate',
        '10',
        '--targets',
        'p99 < 5s',
        '--output-dir',
        'out',
      ],
      ws,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`html: ${join(ws, 'out', 'report.html')}`);
    const page = readFileSync(join(ws, 'out', 'report.html'), 'utf8');
    expect(page).toContain('<section class="test"');
    expect(page).toContain('passed');
    expect(page).not.toMatch(/<script|<link|src="http/i);
    // A second run into the same output dir: one page for both tests, newest first, each with its own comment.
    const again = await runCli(
      [
        'run',
        '--target',
        demo.url,
        '--phase',
        'sustained',
        '--duration',
        '2s',
        '--rate',
        '10',
        '--targets',
        'p99 < 1ms',
        '--output-dir',
        'out',
      ],
      ws,
    );
    expect(again.code, again.stderr).toBe(1);
    const both = readFileSync(join(ws, 'out', 'report.html'), 'utf8');
    expect(both.match(/<section class="test"/g)).toHaveLength(2);
    expect(both.indexOf('sustained failed')).toBeLessThan(both.indexOf('warmup passed'));
    expect(both.indexOf('warmup passed')).toBeGreaterThan(0);
  });
});
