// Infrastructure metrics in the report: targets on them in the results table under readable names, every metric in
// the Infrastructure table (an unreadable one as `—` with the source's reason, never 0), the slowest statements in a
// collapsed section, the terminal's one line per metric, and the size tiers that drop them after the endpoints.
import { describe, expect, it } from 'vitest';
import type { RunResult, SlowQuery, Verdict } from '../src/model.js';
import { targetMetricLabel } from '../src/report/common.js';
import { formatBytes, formatInfra, STATEMENT_CHARS, truncateText } from '../src/report/infra.js';
import { renderReport, renderReportWithTier, type ReportInput, type ReportTier } from '../src/report/markdown.js';
import { renderTerminal } from '../src/report/terminal.js';
import { cells, tableWith, type Table } from './helpers/markdown-tables.js';
import { fixture, reportInput } from './helpers/report-scenarios.js';

function input(mutate?: (run: RunResult, verdict: Verdict) => void): ReportInput {
  const { run, verdict } = fixture('infra-sustained');
  mutate?.(run, verdict);
  return reportInput(run, verdict, { resultsFile: 'perf-gate-results/sustained.json' });
}

describe('infrastructure targets in the results table', () => {
  it('names them as people read them, not as the target encodes them', () => {
    const results = tableWith(renderReport(input()), 'Metric')!;
    expect(results.header).toEqual(['Metric', 'Target', 'Actual', 'Status']);
    expect(results.rows.slice(2)).toEqual([
      ['max cpu', '< 80 %', '65.5 %', '✅ pass'],
      ['mean memory', '< 70 %', '45.2 %', '✅ pass'],
      ['db connections (% of max)', '< 80 %', '44 %', '✅ pass'],
      ['alb 5xx', '== 0', '0', '✅ pass'],
      ['rds cpu', '< 70 % (optional)', '—', '➖ not measured'],
    ]);
  });

  it('keeps names the user chose as code, and tells a source metric from a tool metric', () => {
    const code = (s: string): string => `\`${s}\``;
    const run = {
      infra: [{ name: 'queue_depth', source: 'prometheus', query: 'q', unit: 'count', stats: {} }],
    } as unknown as RunResult;
    expect(targetMetricLabel('max(cpu)', run, code)).toBe('max cpu');
    expect(targetMetricLabel('cpu', run, code)).toBe('cpu');
    expect(targetMetricLabel('db_connections%max', run, code)).toBe('db connections (% of max)');
    expect(targetMetricLabel('p95(db_connections)%max', run, code)).toBe('p95 db connections (% of max)');
    expect(targetMetricLabel('mean(queue_depth)', run, code)).toBe('mean `queue_depth`');
    expect(targetMetricLabel('queue_depth', run, code)).toBe('`queue_depth`');
    expect(targetMetricLabel('queue_depth%max', undefined, code)).toBe('`queue_depth` (% of max)');
    // Not from a source: a tool's custom metric stays exactly as written.
    expect(targetMetricLabel('checkout_ok', run, code)).toBe('`checkout_ok`');
    expect(targetMetricLabel('checkout_time.p95', run, code)).toBe('`checkout_time.p95`');
    expect(targetMetricLabel('p99', run, code)).toBe('p99 latency');
    expect(targetMetricLabel('max(cpu)')).toBe('max cpu');
  });
});

describe('the Infrastructure table', () => {
  it('renders the run with infrastructure metrics (snapshot)', async () => {
    await expect(renderReport(input())).toMatchFileSnapshot('__snapshots__/report-infra-sustained.md');
  });

  it('lists every metric the sources reported, after the endpoints and before the run details', () => {
    const markdown = renderReport(input());
    const t = tableAfter(markdown, '<summary><b>Infrastructure</b>');
    expect(t.header).toEqual(['Metric', 'Source', 'max', 'mean', 'p95', 'limit', 'note']);
    expect(t.rows.map((r) => r.slice(0, 6))).toEqual([
      ['`cpu`', 'Prometheus', '65.5 %', '46.9 %', '65.5 %', '—'],
      ['`memory`', 'Prometheus', '47.1 %', '45.2 %', '47.1 %', '—'],
      ['`db_connections`', 'PostgreSQL', '44', '37.49', '44', '100'],
      ['`rds_cpu`', 'CloudWatch', '—', '—', '—', '—'],
      // Measured zero is a result, and shows as one.
      ['`alb_5xx`', 'CloudWatch', '0', '0', '0', '—'],
    ]);
    const order = [
      '<summary><b>Endpoints</b>',
      '<summary><b>Infrastructure</b>',
      '**Slowest statements during the run.**',
      '<summary><b>Run</b>',
    ].map((h) => markdown.indexOf(h));
    expect(order.every((i) => i > 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('shows an unavailable metric as — with the reason, never as 0, even if the source left numbers behind', () => {
    const reason =
      'CloudWatch returned no datapoints between 10:00:00 and 10:03:00 UTC: check the region and the dimensions (a metric that does not exist returns nothing)';
    const md = renderReport(
      input((run) => {
        // A source that marked the metric unavailable but also filled in zeros must not be believed.
        run.infra![3]!.stats = { min: 0, mean: 0, p95: 0, max: 0, last: 0 };
        run.infra![3]!.limit = 100;
      }),
    );
    const row = tableAfter(md, '<summary><b>Infrastructure</b>').rows.find((r) => r[0] === '`rds_cpu`')!;
    expect(row.slice(2, 5)).toEqual(['—', '—', '—']);
    expect(row[6]).toBe(`⚠️ unavailable: ${reason}`);
    expect(row.slice(2, 5)).not.toContain('0');
    expect(row.slice(2, 5).join(' ')).not.toMatch(/\b0\b/);
  });

  it('escapes a reason and a query so they cannot break the table or turn into markup', () => {
    const md = renderReport(
      input((run) => {
        run.infra![3]!.unavailable = 'CloudWatch answered Forbidden: <b>denied</b> | *retry*';
        run.infra![0]!.query = 'sum(rate(x{a="1|2"}[1m]))';
      }),
    );
    const t = tableAfter(md, '<summary><b>Infrastructure</b>');
    expect(t.rows[3]![6]).toBe('⚠️ unavailable: CloudWatch answered Forbidden: &lt;b>denied&lt;/b> \\| \\*retry\\*');
    expect(t.rows[0]![6]).toBe('`sum(rate(x{a="1\\|2"}[1m]))`');
    expect(md).not.toContain('<b>denied');
  });

  it('formats each unit, bytes in binary units', () => {
    expect(formatInfra(12.345, '%')).toBe('12.3 %');
    expect(formatInfra(1234, 'count')).toBe('1,234');
    expect(formatInfra(250, 'ms')).toBe('250 ms');
    expect(formatInfra(12.5, '/s')).toBe('12.5/s');
    expect(formatInfra(536_870_912, 'bytes')).toBe('512 MiB');
    expect(formatInfra(undefined, 'bytes')).toBe('—');
    expect([0, 900, 1536, 1_073_741_824 * 1.5].map(formatBytes)).toEqual(['0 B', '900 B', '1.5 KiB', '1.5 GiB']);
  });

  it('leaves the section out of a run without sources', () => {
    const md = renderReport(
      input((run) => {
        delete run.infra;
        delete run.slowQueries;
      }),
    );
    expect(md).not.toContain('<summary><b>Infrastructure</b>');
    expect(md).not.toContain('Slowest statements');
  });
});

describe('the slowest statements', () => {
  it('shows the ten slowest by mean time in a collapsed section, truncated and escaped for the table', () => {
    const md = renderReport(input());
    // Inside the folded Infrastructure section, after the table.
    const open = md.indexOf('**Slowest statements during the run.**');
    const close = md.indexOf('\n\n</details>', open);
    expect(open).toBeGreaterThan(0);
    expect(close).toBeGreaterThan(open);
    const section = md.slice(open, close + '\n\n</details>'.length);
    expect(section).toContain(
      '_The 10 of 12 with the highest mean time, from `pg_stat_statements` (its counters at the end of the run minus those at the start)._',
    );
    const t = tableWith(section, 'Statement')!;
    expect(t.header).toEqual(['Statement', 'Calls', 'Mean', 'Total']);
    expect(t.rows).toHaveLength(10);
    expect(t.rows[0]).toEqual([
      "`DELETE FROM carts WHERE updated_at < now() - interval '1 day' AND checked_out = false`",
      '1',
      '212 ms',
      '212 ms',
    ]);
    expect(t.rows[1]!.slice(1)).toEqual(['1,840', '48.2 ms', '1 min 29 s']);
    // Longer than 120 characters: cut with an ellipsis, inside its code span.
    expect(t.rows[1]![0]).toMatch(/^`SELECT o\.id, .*…`$/);
    // A space before the cut is dropped rather than left before the ellipsis.
    expect([...t.rows[1]![0]!.slice(1, -1)].length).toBeLessThanOrEqual(STATEMENT_CHARS);
    expect([...t.rows[1]![0]!.slice(1, -1)].length).toBeGreaterThan(STATEMENT_CHARS - 3);
    // `||` is string concatenation in SQL; in a table cell it has to be escaped.
    expect(t.rows[8]![0]).toBe(
      "`SELECT first_name \\|\\| ' ' \\|\\| last_name AS display_name FROM customers WHERE id = $1`",
    );
    // The two fastest of the twelve are left out.
    expect(section).not.toContain('COMMIT');
    expect(section).not.toContain('application_name');
  });

  it('sorts by mean time whatever order the statements came in, and says how many there were', () => {
    const list: SlowQuery[] = [
      { query: 'SELECT 1', calls: 10, meanMs: 1, totalMs: 10 },
      { query: 'SELECT pg_sleep($1)', calls: 2, meanMs: 500, totalMs: 1000 },
    ];
    const md = renderReport(input((run) => (run.slowQueries = list)));
    const t = tableWith(md, 'Statement')!;
    expect(t.rows.map((r) => r[0])).toEqual(['`SELECT pg_sleep($1)`', '`SELECT 1`']);
    expect(md).toContain('_The 2 with the highest mean time');
  });

  it('truncates by characters, folding whitespace and never splitting a character', () => {
    expect(truncateText('SELECT\n    1', 120)).toBe('SELECT 1');
    expect(truncateText('abcdef', 4)).toBe('abc…');
    expect(truncateText('ab😀😀😀', 4)).toBe('ab😀…');
  });
});

describe('size tiers with infrastructure metrics', () => {
  const TIERS: ReportTier[] = [
    'full',
    'top-endpoints',
    'no-charts',
    'no-endpoints',
    'no-infra',
    'no-details',
    'minimal',
  ];

  function bigInput(): ReportInput {
    return input((run) => {
      const template = run.endpoints[0]!;
      run.endpoints = Array.from({ length: 40 }, (_, i) => ({
        ...template,
        name: `GET /api/v2/catalog/section-${String(i).padStart(3, '0')}`,
        requests: 1000 + i,
      }));
      run.notes = Array.from(
        { length: 12 },
        (_, i) => `Note ${i}: ${'a remark about the run that takes some room. '.repeat(3)}`,
      );
    });
  }

  it('drops the infrastructure table and the statements after the endpoints, before the run details, and says so', () => {
    const i = bigInput();
    const fullLength = renderReport(i, { maxChars: 1_000_000 }).length;
    const seen: ReportTier[] = [];
    for (let budget = fullLength; budget >= 1500; budget -= 53) {
      const r = renderReportWithTier(i, { maxChars: budget });
      expect(r.markdown.length).toBeLessThanOrEqual(budget);
      if (!seen.includes(r.tier)) seen.push(r.tier);
      const hasInfra = r.markdown.includes('<summary><b>Infrastructure</b>');
      expect(hasInfra, r.tier).toBe(TIERS.indexOf(r.tier) <= TIERS.indexOf('no-endpoints'));
      if (r.tier === 'no-infra') {
        expect(r.markdown).toContain('<summary><b>Run</b>');
        expect(r.markdown).not.toContain('<summary><b>Endpoints</b>');
        expect(r.markdown).toContain(
          "_The infrastructure table (5 metrics) and the slowest statements were left out to fit GitHub's comment size limit; they are in the results file (`perf-gate-results/sustained.json`)._",
        );
      }
      // The infrastructure targets stay in the results table in every tier that has one.
      if (r.tier !== 'heading-only') expect(r.markdown).toContain('| db connections (% of max) |');
    }
    expect(seen).toEqual(TIERS);
  });

  it('names what it left out when there is only one of the two', () => {
    const noInfraTier = (i: ReportInput): string => {
      const full = renderReport(i, { maxChars: 1_000_000 }).length;
      for (let budget = full; budget > 500; budget -= 20) {
        const r = renderReportWithTier(i, { maxChars: budget });
        if (r.tier === 'no-infra') return r.markdown;
      }
      throw new Error('no budget gave the no-infra tier');
    };
    const withEndpoints = (mutate: (run: RunResult) => void): ReportInput => {
      const i = bigInput();
      mutate(i.run);
      return i;
    };
    expect(noInfraTier(withEndpoints((run) => delete run.slowQueries))).toContain(
      "_The infrastructure table (5 metrics) was left out to fit GitHub's comment size limit; it is in the results file",
    );
    expect(noInfraTier(withEndpoints((run) => delete run.infra))).toContain(
      "_The slowest statements were left out to fit GitHub's comment size limit; they are in the results file",
    );
  });
});

describe('infrastructure in the terminal', () => {
  it('renders the run with infrastructure metrics as plain text (snapshot)', async () => {
    const text = renderTerminal(input());
    expect(text).not.toMatch(/\||\*\*|^#|<!--|`/m);
    await expect(text).toMatchFileSnapshot('__snapshots__/terminal-infra-sustained.txt');
  });

  it('gives one line per metric, an unavailable one as — with the reason', () => {
    const lines = renderTerminal(input()).split('\n');
    const header = lines.findIndex((l) => l.startsWith('Infrastructure'));
    expect(lines[header]).toMatch(/^Infrastructure +Source +max +mean +p95 +limit +Note$/);
    const rows = lines.slice(header + 2, header + 7);
    expect(rows.map((l) => l.split(/ +/)[0])).toEqual(['cpu', 'memory', 'db_connections', 'rds_cpu', 'alb_5xx']);
    expect(lines[header + 7]).toBe('');
    expect(rows[3]).toMatch(
      /^rds_cpu +CloudWatch +— +— +— +— +unavailable: CloudWatch returned no datapoints between 10:00:00 and 10:03:00 UTC: /,
    );
    expect(rows[2]).toMatch(/^db_connections +PostgreSQL +44 +37\.49 +44 +100$/);
    expect(lines).toContain('max cpu                    < 80 %             65.5 %  PASS');
  });
});

/** The first table after a heading. */
function tableAfter(markdown: string, heading: string): Table {
  const at = markdown.indexOf(heading);
  expect(at).toBeGreaterThanOrEqual(0);
  const rest = markdown.slice(at);
  const first = rest.split('\n').find((l) => l.startsWith('|'))!;
  return tableWith(rest, cells(first)[0]!)!;
}
