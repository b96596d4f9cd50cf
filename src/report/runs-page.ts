// LOAD_TEST_RESULTS.md over every test of an output dir, as the guide's report loop writes it: a table of all the
// tests (phase, verdict, p99, error rate, throughput), then one section per test, newest first. Each section is
// that run's own report; the table's figures are the judged part's, the same as the action's outputs.
import type { RunResult, Verdict } from '../model.js';
import { formatDuration, formatMs, formatPercent, formatRate, MISSING } from '../format.js';

export interface RunsPageEntry {
  /** The run's folder inside the output dir. */
  name: string;
  run: RunResult;
  verdict: Verdict;
  markdown?: string;
}

const VERDICT = { pass: '✅ pass', fail: '❌ fail', error: '⚠️ error', shard: '🧩 shard' } as const;

/** The figures of the part the targets were judged on (the steady part unless decide-on says all). */
function judgedPart(run: RunResult): Pick<RunResult, 'requests' | 'latency' | 'errorRate' | 'throughputRps'> {
  const a = run.analysis;
  return a?.judged === 'steady' && a.steady ? a.steady : run;
}

/** `entries` newest first (listRuns's order). */
export function renderRunsPage(entries: RunsPageEntry[]): string {
  const out: string[] = ['# Load test results', ''];
  out.push(
    `${entries.length} test${entries.length === 1 ? '' : 's'} in this folder, newest first. Each row's figures are of the part its targets judged; its folder holds its \`results.json\`.`,
    '',
  );
  out.push('| # | Phase | Verdict | p99 | Error rate | Throughput | Started (UTC) | Length | Folder |');
  out.push('|---:|---|---|---:|---:|---:|---|---:|---|');
  entries.forEach((e, i) => {
    const part = judgedPart(e.run);
    const measured = part.requests > 0;
    const cells = [
      String(entries.length - i),
      cell(e.run.phase),
      VERDICT[e.verdict.status] ?? cell(e.verdict.status),
      measured ? formatMs(part.latency.p99) : MISSING,
      measured ? formatPercent(part.errorRate) : MISSING,
      measured ? formatRate(part.throughputRps) : MISSING,
      cell((e.run.startedAt ?? '').replace('T', ' ').replace(/\.\d+Z$/, 'Z')),
      formatDuration(e.run.durationMs),
      `\`${cell(e.name)}/\``,
    ];
    out.push(`| ${cells.join(' | ')} |`);
  });
  for (const [i, e] of entries.entries()) {
    out.push(
      '',
      '---',
      '',
      `## Test ${entries.length - i}: ${cell(e.run.phase)}, started ${cell(e.run.startedAt ?? MISSING)} (\`${cell(e.name)}/\`)`,
      '',
    );
    out.push(
      e.markdown?.trim() ??
        `_No report was written for this run; its figures are in \`${cell(e.name)}/results.json\`._`,
    );
  }
  return out.join('\n') + '\n';
}

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}
