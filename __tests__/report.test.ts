import { describe, expect, it } from 'vitest';
import type { EndpointResult, RunResult, TargetResult, Verdict } from '../src/model.js';
import {
  DEFAULT_MAX_CHARS,
  formatMs,
  formatPercent,
  formatRate,
  markerFor,
  renderReport,
  renderReportWithTier,
  type ReportInput,
  type ReportTier,
} from '../src/report/markdown.js';
import { formatAgainst, formatDuration } from '../src/format.js';
import { renderTerminal } from '../src/report/terminal.js';
import { entryFromRun } from '../src/baseline/entry.js';
import { decide } from '../src/gate/evaluate.js';
import {
  applyRegressions,
  compareWithBaseline,
  confirmComparison,
  parseRegressionRules,
  type ComparisonOutcome,
} from '../src/gate/regression.js';
import { parseTargets } from '../src/gate/targets.js';
import { syntheticRun } from './helpers/github-data-stub.js';
import { tablesOf, tableWith, valuesByLabel } from './helpers/markdown-tables.js';
import { fixture, reportInput } from './helpers/report-scenarios.js';

const FIXTURES = [
  'passing',
  'failing-slow-endpoint',
  'error-no-requests',
  'real-builtin-warmup-pass',
  'real-builtin-slow-fail',
] as const;
type FixtureName = (typeof FIXTURES)[number];

function inputFor(name: FixtureName, overrides: Partial<ReportInput> = {}): ReportInput {
  const { run, verdict } = fixture(name);
  return reportInput(run, verdict, { resultsFile: `perf-gate-results/${run.phase}.json`, ...overrides });
}

describe('formatting helpers', () => {
  it('formats milliseconds with sensible precision and never switches to seconds', () => {
    expect(formatMs(0)).toBe('0 ms');
    expect(formatMs(3.456)).toBe('3.46 ms');
    expect(formatMs(42.31)).toBe('42.3 ms');
    expect(formatMs(123.4)).toBe('123 ms');
    expect(formatMs(1234.5)).toBe('1,235 ms');
    expect(formatMs(undefined)).toBe('—');
    expect(formatMs(Number.NaN)).toBe('—');
  });

  it('formats percentages without rounding a small error rate down to 0', () => {
    expect(formatPercent(0.42)).toBe('0.42 %');
    expect(formatPercent(0)).toBe('0 %');
    expect(formatPercent(0.0042)).toBe('0.0042 %');
    expect(formatPercent(12.345)).toBe('12.3 %');
    expect(formatPercent(100)).toBe('100 %');
    expect(formatPercent(undefined)).toBe('—');
  });

  it('formats rates', () => {
    expect(formatRate(102.34)).toBe('102.3/s');
    expect(formatRate(4.567)).toBe('4.57/s');
    expect(formatRate(1234.5)).toBe('1,235/s');
    expect(formatRate(undefined)).toBe('—');
  });

  it('never prints an actual value identical to a threshold it differs from', () => {
    expect(formatAgainst(500.4, 500, 'ms')).toBe('500.4 ms');
    expect(formatAgainst(499.96, 500, 'ms')).toBe('499.96 ms');
    expect(formatAgainst(500, 500, 'ms')).toBe('500 ms');
    expect(formatAgainst(0.5004, 0.5, '%')).toBe('0.5004 %');
  });

  it('formats durations', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(60_120)).toBe('1 min');
    expect(formatDuration(150_000)).toBe('2 min 30 s');
    expect(formatDuration(4_000)).toBe('4 s');
  });
});

describe('markerFor', () => {
  it('builds a hidden HTML comment naming the header', () => {
    expect(markerFor('perf-gate')).toBe('<!-- perf-gate:perf-gate -->');
  });

  it('cannot be closed early by the header', () => {
    for (const header of ['evil -->', 'a--!>b', '--->', 'x\n-->\ny', '<!-- nested -->']) {
      const marker = markerFor(header);
      expect(marker.startsWith('<!-- ')).toBe(true);
      expect(marker.endsWith(' -->')).toBe(true);
      // The only `--` left is the pair that opens and the pair that closes the comment.
      expect(marker.slice(4, -3)).not.toContain('--');
      expect(marker).not.toContain('\n');
    }
  });

  it('keeps different headers apart', () => {
    const headers = ['a--b', 'a-\\-b', 'a-b', 'staging', 'production'];
    expect(new Set(headers.map(markerFor)).size).toBe(headers.length);
  });
});

describe('renderReport', () => {
  for (const name of FIXTURES) {
    it(`renders the ${name} run (snapshot)`, async () => {
      const markdown = renderReport(inputFor(name));
      tablesOf(markdown);
      await expect(markdown).toMatchFileSnapshot(`__snapshots__/report-${name}.md`);
    });
  }

  it('starts with the marker of the comment header', () => {
    const markdown = renderReport(inputFor('passing', { commentHeader: 'staging' }));
    expect(markdown.split('\n')[0]).toBe(markerFor('staging'));
    expect(markdown.split('\n')[0]).toBe('<!-- perf-gate:staging -->');
    expect(markdown).toContain('## ✅ perf-gate (staging): warmup passed');
  });

  it('puts the verdict in the heading', () => {
    expect(renderReport(inputFor('passing'))).toContain('## ✅ perf-gate: warmup passed');
    expect(renderReport(inputFor('failing-slow-endpoint'))).toContain('## ❌ perf-gate: sustained failed');
    expect(renderReport(inputFor('error-no-requests'))).toContain('## ⚠️ perf-gate: stress error');
  });

  it('lists the reasons of a failure or an error, but not of a pass', () => {
    const failing = renderReport(inputFor('failing-slow-endpoint'));
    // A failed target is a row of the table and part of the verdict sentence, not a third copy in a bullet.
    expect(failing).not.toContain('- p99 latency 1,211 ms is not < 500 ms');
    expect(failing).toContain(
      '**p99 latency 1,211 ms (target < 500 ms); p95 latency 845 ms (target < 300 ms); error rate 1.84 % (target < 1 %); 2 of 5 targets hold; 1 optional target not measured.**',
    );
    const error = renderReport(inputFor('error-no-requests'));
    expect(error).toContain('- No request completed');
    const passing = inputFor('passing');
    passing.verdict.reasons = ['all 3 targets met'];
    expect(renderReport(passing)).not.toContain('all 3 targets met');
  });

  it('has one results row per target, with units', () => {
    const markdown = renderReport(inputFor('failing-slow-endpoint'));
    const results = tableWith(markdown, 'Metric', 'Target')!;
    expect(results.header).toEqual(['Metric', 'Target', 'Actual', 'Status']);
    expect(results.rows).toEqual([
      ['p99 latency', '< 500 ms', '1,211 ms', '❌ fail'],
      ['p95 latency', '< 300 ms', '845 ms', '❌ fail'],
      ['error rate', '< 1 %', '1.84 %', '❌ fail'],
      ['throughput', '>= 25/s', '59.9/s', '✅ pass'],
      ['`checkout_ok`', '> 0.9', '0.92', '✅ pass'],
      ['p99.9 latency', '< 2,000 ms (optional)', '—', '➖ not measured'],
    ]);
  });

  it('shows what was not measured as — and never as 0', () => {
    const markdown = renderReport(inputFor('error-no-requests'));
    const results = tableWith(markdown, 'Metric', 'Target')!;
    for (const row of results.rows) {
      expect(row[2]).toBe('—');
      expect(row[3]).toBe('⚠️ not measured');
    }
    const metrics = valuesByLabel(tableWith(markdown, 'Metric', 'Whole run')!);
    // p99 and error rate have targets, so they are only in the results table.
    expect([...metrics.keys()]).toEqual([
      'requests',
      'errors',
      'throughput',
      'p50 latency',
      'p90 latency',
      'p95 latency',
      'max latency',
      'VUs (max)',
    ]);
    for (const label of ['throughput', 'p50 latency', 'p90 latency', 'p95 latency', 'max latency', 'VUs (max)']) {
      expect(metrics.get(label), label).toBe('—');
    }
    // Request and error counts were measured: zero is the truth there.
    expect(metrics.get('requests')).toBe('0');
    expect(markdown).not.toMatch(/\b0 ms\b|\b0 %|\b0\/s/);
  });

  it('shows a missing VU count as — in a run that measured everything else', () => {
    const metrics = valuesByLabel(tableWith(renderReport(inputFor('passing')), 'Metric', 'Whole run')!);
    expect(metrics.get('VUs (max)')).toBe('—');
    expect(metrics.get('p50 latency')).toBe('42.3 ms');
    expect(metrics.get('errors')).toBe('2 (http_5xx 2)');
    expect(metrics.has('p99 latency')).toBe(false);
  });

  it('lists endpoints busiest first and escapes a | in a name', () => {
    const markdown = renderReport(inputFor('failing-slow-endpoint'));
    const endpoints = tableWith(markdown, 'Endpoint', 'Requests')!;
    expect(endpoints.rows.map((r) => r[0])).toEqual([
      '`GET /api/products`',
      '`GET /search?q=shoes\\|boots`',
      '`POST /api/checkout`',
      '`POST /api/cart`',
    ]);
    expect(endpoints.rows[2]).toEqual([
      '`POST /api/checkout`',
      '4,073',
      '314 (7.71 %) ❌',
      '640 ms',
      '1,830 ms',
      '2,341 ms',
      '9,871 ms',
    ]);
  });

  it('describes the run, the tool thresholds and the notes', () => {
    const markdown = renderReport(inputFor('failing-slow-endpoint'));
    expect(markdown).toContain('**Engine:** artillery (artillery 2.0.21)');
    expect(markdown).toContain('- **Load shape:** peak 30/s over 2 stages');
    expect(markdown).toContain('**Tool thresholds**');
    expect(markdown).toContain('<summary><b>Notes</b> (');
    const error = renderReport(inputFor('error-no-requests'));
    expect(error).toContain('- **Load generator:** 1,500 scheduled · 256 started · 1,244 dropped');
    expect(error).toContain('⚠️ **invalid**');
  });

  it('names the results file and the workflow run in the footer', () => {
    const markdown = renderReport(inputFor('passing'));
    const last = markdown.trimEnd().split('\n').at(-1);
    expect(last).toBe(
      '<sub>Every figure comes from `perf-gate-results/warmup.json` · [Workflow run](https://github.com/acme/shop/actions/runs/8123456789) · perf-gate</sub>',
    );
  });

  it('says when fail-on lets a failure through', () => {
    const input = inputFor('failing-slow-endpoint');
    input.verdict.failsCheck = false;
    expect(renderReport(input)).toContain('the `fail-on` setting lets this result through');
  });

  it('escapes Markdown and HTML in text taken from the run', () => {
    const input = inputFor('error-no-requests');
    input.verdict.reasons = ['<img src=x onerror=alert(1)> *bold* [link](http://x) | pipe'];
    input.run.notes = ['# not a heading'];
    const markdown = renderReport(input);
    expect(markdown).toContain('- &lt;img src=x onerror=alert(1)> \\*bold\\* \\[link\\](http://x) \\| pipe');
    expect(markdown).toContain('- \\# not a heading');
    expect(markdown).not.toContain('<img');
  });

  it('says so when no target was set', () => {
    const input = inputFor('passing');
    input.verdict.targets = [];
    const markdown = renderReport(input);
    expect(markdown).toContain('_No targets were set for this phase');
    expect(markdown).toContain('<summary><b>Figures</b>');
    expect(valuesByLabel(tableWith(markdown, 'Metric', 'Whole run')!).get('p99 latency')).toBe('188 ms');
  });
});

// A run big enough to need every tier: many endpoints, long notes and reasons, many targets.
function bigInput(
  options: {
    endpoints?: number;
    endpointName?: (i: number) => string;
    notes?: number;
    targets?: number;
    reasons?: number;
  } = {},
): ReportInput {
  const input = inputFor('failing-slow-endpoint');
  const template = input.run.endpoints[0]!;
  const count = options.endpoints ?? 120;
  const name =
    options.endpointName ??
    ((i: number) => `GET /api/v2/catalog/section-${String(i).padStart(4, '0')}/items?expand=variants,prices`);
  input.run.endpoints = Array.from(
    { length: count },
    (_, i): EndpointResult => ({
      ...template,
      name: name(i),
      // Distinct counts in a scrambled order, so "busiest first" is a real sort.
      requests: 1000 + ((i * 7919) % count),
      errors: i % 5,
    }),
  );
  input.run.notes = Array.from(
    { length: options.notes ?? 30 },
    (_, i) => `Note ${i}: ${'the tool wrote a figure that needed explaining here. '.repeat(3)}`,
  );
  input.verdict.reasons = Array.from(
    { length: options.reasons ?? 40 },
    (_, i) => `Reason ${i}: ${'a target on a custom metric was missed by a wide margin. '.repeat(2)}`,
  );
  const extraTargets = Array.from(
    { length: options.targets ?? 0 },
    (_, i): TargetResult => ({
      target: {
        metric: `custom_metric_${i}`,
        op: '<',
        value: 100,
        unit: 'count',
        source: `custom_metric_${i} < 100`,
        optional: false,
      },
      actual: 50 + i,
      status: 50 + i < 100 ? 'pass' : 'fail',
    }),
  );
  input.verdict.targets = [...input.verdict.targets, ...extraTargets];
  return input;
}

const TIER_ORDER: ReportTier[] = [
  'full',
  'top-endpoints',
  'no-endpoints',
  'no-details',
  'minimal',
  'minimal-truncated',
  'heading-only',
];

function checkTierShape(
  markdown: string,
  tier: ReportTier,
  endpointsShown: number | undefined,
  targetsShown: number,
  input: ReportInput,
): void {
  const tables = tablesOf(markdown);
  const results = tables.find((t) => t.header[2] === 'Actual');
  const endpoints = tables.find((t) => t.header[0] === 'Endpoint');
  expect(markdown.split('\n')[0]).toBe(markerFor(input.commentHeader));
  if (tier === 'heading-only') {
    expect(tables).toHaveLength(0);
  } else {
    expect(results?.rows.length).toBe(targetsShown);
  }
  expect(endpoints?.rows.length ?? 0).toBe(endpointsShown ?? 0);
  const hasDetails = markdown.includes('<summary><b>Run</b>');
  expect(hasDetails).toBe(tier === 'full' || tier === 'top-endpoints' || tier === 'no-endpoints');
  const hasHeadline = markdown.includes('<summary><b>Other figures</b>');
  expect(hasHeadline).toBe(TIER_ORDER.indexOf(tier) <= TIER_ORDER.indexOf('no-details'));
  if (TIER_ORDER.indexOf(tier) >= TIER_ORDER.indexOf('minimal')) {
    expect(markdown).toContain("_Shortened to fit GitHub's comment size limit: the full report is in the job summary");
  }
}

describe('size tiers', () => {
  it('keeps the full report when it fits', () => {
    const input = bigInput();
    const rendered = renderReportWithTier(input, { maxChars: 1_000_000 });
    expect(rendered.tier).toBe('full');
    expect(rendered.endpointsShown).toBe(120);
  });

  it('keeps the busiest endpoints and says how many more are in the results file', () => {
    const input = bigInput();
    const full = renderReport(input, { maxChars: 1_000_000 });
    const rendered = renderReportWithTier(input, { maxChars: full.length - 2000 });
    expect(rendered.tier).toBe('top-endpoints');
    expect(rendered.markdown.length).toBeLessThanOrEqual(full.length - 2000);
    const shown = rendered.endpointsShown!;
    expect(shown).toBeGreaterThan(0);
    expect(shown).toBeLessThan(120);
    expect(rendered.markdown).toContain(
      `_${120 - shown} more endpoints in the results file (\`perf-gate-results/sustained.json\`), sorted here by requests._`,
    );
    const endpoints = tableWith(rendered.markdown, 'Endpoint', 'Requests')!;
    const busiest = [...input.run.endpoints].sort((a, b) => b.requests - a.requests).slice(0, shown);
    expect(endpoints.rows.map((r) => r[1])).toEqual(busiest.map((e) => e.requests.toLocaleString('en-US')));
    // The largest N that fits: one more row would not.
    expect(renderReportWithTier(input, { maxChars: rendered.markdown.length - 1 }).endpointsShown).toBe(shown - 1);
  });

  it('drops the endpoint table when not even one endpoint fits', () => {
    const input = bigInput({ endpoints: 3, endpointName: (i) => `GET /${'very-long-path/'.repeat(400)}${i}` });
    const noEndpoints = renderReportWithTier(input, { maxChars: 1_000_000 });
    expect(noEndpoints.tier).toBe('full');
    // Aligned columns pad the header and delimiter rows too: three rows of about 6,000 characters per table line.
    const budget = noEndpoints.markdown.length - 20_000;
    const rendered = renderReportWithTier(input, { maxChars: budget });
    expect(rendered.tier).toBe('no-endpoints');
    expect(rendered.markdown).not.toContain('<b>Endpoints</b>');
    expect(rendered.markdown).toContain(
      "_The per-endpoint table (3 endpoints) was left out to fit GitHub's comment size limit",
    );
    expect(rendered.markdown).toContain('<summary><b>Run</b>');
    checkTierShape(rendered.markdown, rendered.tier, rendered.endpointsShown, rendered.targetsShown, input);
  });

  it('drops the run details and notes next', () => {
    const input = bigInput({ endpoints: 1, notes: 400 });
    const rendered = renderReportWithTier(input, { maxChars: 20_000 });
    expect(rendered.tier).toBe('no-details');
    expect(rendered.markdown).not.toContain('<b>Notes</b>');
    expect(rendered.markdown).toContain('<summary><b>Other figures</b>');
    expect(rendered.markdown).toContain('- Reason 0:');
    checkTierShape(rendered.markdown, rendered.tier, rendered.endpointsShown, rendered.targetsShown, input);
  });

  it('ends with the heading, the results table and a pointer to the full report', () => {
    const input = bigInput({ reasons: 500 });
    const rendered = renderReportWithTier(input, { maxChars: 3000 });
    expect(rendered.tier).toBe('minimal');
    const lines = rendered.markdown.trimEnd().split('\n');
    expect(lines[0]).toBe(markerFor('perf-gate'));
    expect(lines[2]).toBe('## ❌ perf-gate: sustained failed');
    expect(lines.at(-1)).toBe(
      "_Shortened to fit GitHub's comment size limit: the full report is in the job summary of [the workflow run](https://github.com/acme/shop/actions/runs/8123456789) and in the results file (`perf-gate-results/sustained.json`)._",
    );
    expect(tablesOf(rendered.markdown)).toHaveLength(1);
    expect(tableWith(rendered.markdown, 'Metric', 'Target')!.rows).toHaveLength(6);
  });

  it('cuts whole target rows only when the results table alone is too long', () => {
    const input = bigInput({ targets: 300 });
    const rendered = renderReportWithTier(input, { maxChars: 5000 });
    expect(rendered.tier).toBe('minimal-truncated');
    expect(rendered.markdown.length).toBeLessThanOrEqual(5000);
    const hidden = 306 - rendered.targetsShown;
    expect(rendered.markdown).toContain(`_…and ${hidden} more targets in the job summary`);
    checkTierShape(rendered.markdown, rendered.tier, rendered.endpointsShown, rendered.targetsShown, input);
  });

  it('keeps the marker and the heading whatever the budget', () => {
    const rendered = renderReportWithTier(bigInput(), { maxChars: 10 });
    expect(rendered.tier).toBe('heading-only');
    expect(rendered.markdown.startsWith(`${markerFor('perf-gate')}\n\n## ❌ perf-gate: sustained failed`)).toBe(true);
  });

  it('fits a run with thousands of endpoints under the default budget', () => {
    const input = bigInput({ endpoints: 3000 });
    const rendered = renderReportWithTier(input);
    expect(rendered.markdown.length).toBeLessThanOrEqual(DEFAULT_MAX_CHARS);
    expect(rendered.tier).toBe('top-endpoints');
    expect(rendered.markdown).toMatch(/_\d[\d,]* more endpoints in the results file/);
  });

  it('steps down through the tiers in order as the budget shrinks, never over budget, never cutting a table', () => {
    const input = bigInput({ endpoints: 40, notes: 20, reasons: 30, targets: 40 });
    const fullLength = renderReport(input, { maxChars: 1_000_000 }).length;
    const seen: ReportTier[] = [];
    let lastTier = 0;
    for (let budget = fullLength; budget >= 100; budget -= 97) {
      const rendered = renderReportWithTier(input, { maxChars: budget });
      const tierIndex = TIER_ORDER.indexOf(rendered.tier);
      expect(tierIndex).toBeGreaterThanOrEqual(lastTier);
      lastTier = tierIndex;
      if (!seen.includes(rendered.tier)) seen.push(rendered.tier);
      if (rendered.tier !== 'heading-only') expect(rendered.markdown.length).toBeLessThanOrEqual(budget);
      checkTierShape(rendered.markdown, rendered.tier, rendered.endpointsShown, rendered.targetsShown, input);
    }
    expect(seen).toEqual(TIER_ORDER);
  });
});

describe('renderTerminal', () => {
  for (const name of FIXTURES) {
    it(`renders the ${name} run as plain text (snapshot)`, async () => {
      const text = renderTerminal(inputFor(name));
      expect(text).not.toMatch(/\||\*\*|^#|<!--|`/m);
      await expect(text).toMatchFileSnapshot(`__snapshots__/terminal-${name}.txt`);
    });
  }

  it('aligns the columns of the results table', () => {
    const lines = renderTerminal(inputFor('failing-slow-endpoint')).split('\n');
    const header = lines.findIndex((l) => l.startsWith('Metric') && l.includes('Target'));
    const statusColumn = lines[header]!.indexOf('Status');
    for (let i = header + 2; lines[i] !== ''; i++) {
      expect(lines[i]!.slice(statusColumn), lines[i]).toMatch(/^(PASS|FAIL|not measured)$/);
    }
  });

  it('an error verdict starts with the verdict, then its reasons and what was measured: no tables of —', () => {
    const text = renderTerminal(inputFor('error-no-requests'));
    expect(text.split('\n')[0]).toBe('perf-gate: stress ERROR  [builtin, 20 s, 0 requests]');
    expect(text).toMatch(/^Measured: nothing \(no request completed in 20 s\)$/m);
    expect(text).not.toContain('—');
    expect(text).not.toMatch(/^Metric /m);
  });
});

describe('with a baseline', () => {
  // Ten recorded runs of main and a pull request whose p99 is 30 % slower, compared as the pipeline compares them
  // (defaults rules, noise band), then confirmed by a second slow run.
  function compared(): ReportInput {
    let clock = Date.parse('2025-03-01T00:00:00Z');
    const history = Array.from({ length: 10 }, (_, i) => {
      clock += 86_400_000;
      const run = syntheticRun({ seed: 700 + i, errors: i % 3 });
      return entryFromRun(
        { ...run, endedAt: new Date(clock).toISOString() },
        {
          environment: 'staging',
          git: {
            owner: 'acme',
            repo: 'shop',
            eventName: 'push',
            branch: 'main',
            sha: `${(i + 10).toString(16)}`.padEnd(40, 'a'),
          },
          id: `run${i}`,
        },
      );
    });
    const rules = parseRegressionRules(undefined);
    const compare = (r: RunResult, k: number): ComparisonOutcome =>
      compareWithBaseline(r, history, rules, {
        environment: 'staging',
        source: 'branch:perf-gate-data',
        branch: 'main',
        pooledRuns: k,
        now: new Date(clock + 3_600_000),
      });
    const run = syntheticRun({ seed: 800, scale: 1.3 });
    const { outcome } = confirmComparison(compare, run, syntheticRun({ seed: 801, scale: 1.3 }));
    const verdict = applyRegressions(
      decide(run, parseTargets(['p99 < 500ms', 'error_rate < 1%']), 'any'),
      outcome,
      'any',
    );
    return {
      run,
      verdict,
      commentHeader: 'perf-gate',
      engine: 'builtin',
      phase: 'warmup',
      resultsFile: 'perf-gate-results/results.json',
    };
  }

  it('adds Baseline, Change and vs-baseline to the results table, a row per watched metric, the method and a trend (snapshot)', async () => {
    const input = compared();
    const markdown = renderReport(input);
    const table = tableWith(markdown, 'Metric', 'Target')!;
    expect(table.header).toEqual(['Metric', 'Target', 'Actual', 'Baseline', 'Change', 'Status']);
    const p99 = table.rows.find((r) => r[0] === 'p99 latency')!;
    expect(p99[1]).toBe('< 500 ms');
    expect(p99[4]).toMatch(/^↑ \+\d+(\.\d)? %( to \d+ ms ¹)?$/);
    // The Status column is the row's verdict: the target held, the regression did not.
    expect(p99[5]).toBe('❌ regressed');
    // p95 and throughput have rules but no target: rows of their own, no target.
    expect(table.rows.find((r) => r[0] === 'p95 latency')!.slice(1, 2)).toEqual(['—']);
    expect(table.rows.find((r) => r[0] === 'throughput')![5]).toMatch(/✅ pass|✅ improved/);
    expect(markdown).toMatch(
      /_Method: a change counts as a regression when it is beyond the rule's tolerance and outside the 95 % prediction band of the last 10 comparable runs/,
    );
    expect(markdown).toContain('- ❌ regressed **p99:** p99 +');
    expect(markdown).toContain('<summary><b>Trend</b>');
    expect(markdown).toMatch(/x-axis \["aaaaaaa", "baaaaaa", .*"this run"\]/);
    // p95 and p99 are not repeated under "Other metrics".
    expect(tableWith(markdown, 'Metric', 'Whole run')?.rows.map((r) => r[0]) ?? []).not.toContain('p95 latency');
    // The statistical reason is printed once, folded; the verdict sentence has the plain figures.
    expect(markdown.match(/p88\.39/g) ?? []).toHaveLength(1);
    expect(markdown).toMatch(
      /\*\*p95 regressed \+\d+(\.\d)? % \(\d+ ms → \d+ ms\), p99 regressed .* against [0-9a-f]{7}; all 2 targets hold\.\*\*/,
    );
    expect(markdown).toContain(
      '**What to do:** fix the slowdown, or, if it is intended, apply the label `perf-regression-accepted` to this pull request and re-run the job.',
    );
    await expect(markdown).toMatchFileSnapshot('__snapshots__/report-baseline-regressed.md');
    const text = renderTerminal(input);
    expect(text).toMatch(/^Compared with baseline [0-9a-f]{7} \(/m);
    expect(text).toMatch(/^p99 latency +\d+ ms +\d+ ms +↑ \+\d+(\.\d)? % +regressed$/m);
  });

  it('drops the trend with the charts when the comment must shrink, and keeps the columns', () => {
    const input = compared();
    const full = renderReportWithTier(input);
    const small = renderReportWithTier(input, { maxChars: full.markdown.length - 50 });
    expect(small.markdown).not.toContain('<b>Trend</b>');
    expect(tableWith(small.markdown, 'Metric', 'Target')!.header).toContain('Change');
  });
});
