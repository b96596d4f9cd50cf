// The folded sections of the report that describe what the service answered: status codes and error kinds,
// failed checks and journeys, error logs, endpoints. Each returns its summary line (HTML, flagged ❌ or ⚠️ when
// something is wrong, so the reader sees it without opening anything) and its body (Markdown).
import { markdownTable } from 'markdown-table';
import type { EndpointResult, ErrorKind, RunResult } from '../model.js';
import { formatCount, formatMs, formatPercent } from '../format.js';
import { truncateText as truncateLine } from './infra.js';
import { cell, code, html, htmlCode, inline, plural } from './text.js';

export interface Section {
  summary: string;
  body: string;
}

const KIND_TEXT: Record<ErrorKind, string> = {
  http_5xx: 'HTTP 5xx',
  http_4xx: 'HTTP 4xx',
  timeout: 'timeout',
  connection_refused: 'connection refused',
  connection_reset: 'connection reset',
  dns: 'DNS failure',
  check: 'failed check',
  other: 'other',
};

function isOk(code: string): boolean {
  return /^2\d\d$/.test(code);
}

/** Status codes by count, most frequent first (ties by code). */
function codesByCount(codes: Record<string, number>): Array<[string, number]> {
  return Object.entries(codes)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/**
 * Status codes and error kinds, whenever any response was not 2xx or any request failed, even when none counted
 * as an error: a login answered with 302 every time, or 404s a test expects, must still be visible.
 */
export function responsesSection(run: RunResult): Section | undefined {
  const codes = codesByCount(run.statusCodes);
  const notOk = codes.filter(([c]) => !isOk(c));
  const kinds = (Object.entries(run.errorsByKind) as Array<[ErrorKind, number | undefined]>).filter(
    (e): e is [ErrorKind, number] => (e[1] ?? 0) > 0,
  );
  if (notOk.length === 0 && kinds.length === 0) return undefined;
  const notOkCount = notOk.reduce((n, [, c]) => n + c, 0);
  const total = codes.reduce((n, [, c]) => n + c, 0);
  const shown = notOk.slice(0, 3).map(([c, n]) => `${html(c)} ×${formatCount(n)}`);
  const bits: string[] = [];
  if (notOkCount > 0) {
    const share = total > 0 ? ` (${formatPercent((notOkCount / total) * 100)} of responses)` : '';
    bits.push(`${formatCount(notOkCount)} not 2xx${share}: ${shown.join(', ')}${notOk.length > 3 ? ', …' : ''}`);
  }
  if (run.errors > 0) bits.push(`${formatCount(run.errors)} counted as ${plural(run.errors, 'error')} ❌`);
  else if (notOkCount > 0) bits.push('none counted as an error ⚠️');
  const sumKinds = kinds.reduce((n, [, c]) => n + c, 0);
  if (notOkCount === 0 && sumKinds > 0 && run.errors === 0)
    bits.push(`${formatCount(sumKinds)} failed without a response ⚠️`);

  const rows = codes.map(([c, n]) => [code(c), formatCount(n), total > 0 ? formatPercent((n / total) * 100) : '—']);
  const blocks: string[] = [];
  if (rows.length > 0)
    blocks.push(markdownTable([['Status', 'Responses', 'Share'], ...rows], { align: ['l', 'r', 'r'] }));
  if (kinds.length > 0) {
    const kindRows = kinds.sort((a, b) => b[1] - a[1]).map(([k, n]) => [KIND_TEXT[k] ?? k, formatCount(n)]);
    blocks.push(markdownTable([['Error kind', 'Requests'], ...kindRows], { align: ['l', 'r'] }));
  }
  blocks.push(
    "_Whole run. An error kind counts requests that failed as errors under the run's error definition; a 3xx or a 4xx a request expects is a response, not an error._",
  );
  return { summary: `<b>Responses</b>: ${bits.join('; ')}`, body: blocks.join('\n\n') };
}

/** Failed expectations and captures by message, and journeys started, completed and cut short. */
export function checksSection(run: RunResult): Section | undefined {
  const failures = Object.entries(run.checkFailures ?? {})
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const flows = run.flows ?? [];
  if (failures.length === 0 && flows.length === 0 && run.checkFailures === undefined) return undefined;
  const bits: string[] = [];
  const failedChecks = failures.reduce((n, [, c]) => n + c, 0);
  bits.push(
    failedChecks > 0 ? `${formatCount(failedChecks)} failed ${plural(failedChecks, 'check')} ❌` : 'every check passed',
  );
  const started = flows.reduce((n, f) => n + f.started, 0);
  const failedFlows = flows.reduce((n, f) => n + f.failed, 0);
  if (flows.length > 0) {
    bits.push(
      failedFlows > 0
        ? `${formatCount(failedFlows)} of ${formatCount(started)} ${plural(started, 'journey')} cut short ❌`
        : `${formatCount(started)} ${plural(started, 'journey')}, none cut short`,
    );
  }
  const blocks: string[] = [];
  if (failures.length > 0) {
    const shown = failures.slice(0, 20);
    const rows = shown.map(([m, n]) => [cell(code(truncateLine(m, 160))), formatCount(n)]);
    const more = failures.length - shown.length;
    blocks.push(
      markdownTable([['Failed check', 'Responses'], ...rows], { align: ['l', 'r'] }) +
        (more > 0 ? `\n\n_${more} more ${plural(more, 'message')} in the results file._` : ''),
    );
  }
  if (flows.length > 0) {
    const rows = flows.map((f) => [
      cell(code(f.name)),
      formatCount(f.started),
      formatCount(f.completed),
      f.failed > 0 ? `${formatCount(f.failed)} ❌` : formatCount(f.failed),
    ]);
    blocks.push(
      markdownTable([['Journey', 'Started', 'Completed', 'Cut short'], ...rows], { align: ['l', 'r', 'r', 'r'] }),
    );
  }
  blocks.push(
    '_Whole run. A journey is cut short at its first failed expectation or capture: the rest of its steps is not sent._',
  );
  return { summary: `<b>Checks and journeys</b>: ${bits.join('; ')}`, body: blocks.join('\n\n') };
}

/** Error logs for the run window: the most frequent messages per log source. */
export function logsSection(run: RunResult): Section | undefined {
  const logs = run.logs ?? [];
  if (logs.length === 0) return undefined;
  const lines = logs.reduce((n, l) => n + (l.count ?? 0), 0);
  const unavailable = logs.filter((l) => l.unavailable || l.count === undefined).length;
  const bits = [lines > 0 ? `${formatCount(lines)} matching ${plural(lines, 'line')} ❌` : 'no matching line'];
  if (unavailable > 0) bits.push(`${unavailable} ${plural(unavailable, 'source')} unreadable ⚠️`);
  const blocks = logs.map((l) => {
    const head = `${code(l.source)}: ${l.unavailable ? `⚠️ unavailable: ${inline(l.unavailable)}` : `${formatCount(l.count)} matching ${plural(l.count ?? 0, 'line')}`} (query ${code(truncateLine(l.query, 120))})`;
    if (l.top.length === 0) return head;
    const rows = l.top.slice(0, 10).map((t) => [cell(code(truncateLine(t.message, 200))), formatCount(t.count)]);
    return `${head}\n\n${markdownTable([['Message', 'Lines'], ...rows], { align: ['l', 'r'] })}`;
  });
  blocks.push('_The run window; numbers and ids in messages are masked so that repeats count together._');
  return { summary: `<b>Error logs</b>: ${bits.join('; ')}`, body: blocks.join('\n\n') };
}

/** The endpoint that most deserves a look: the highest error rate, else the highest p99. */
function worstEndpoint(endpoints: readonly EndpointResult[], limitPercent: number): string | undefined {
  const erroring = endpoints.filter((e) => e.requests > 0 && e.errors > 0);
  if (erroring.length > 0) {
    const worst = [...erroring].sort((a, b) => b.errors / b.requests - a.errors / a.requests)[0]!;
    const rate = (worst.errors / worst.requests) * 100;
    return `${htmlCode(worst.name)} ${formatPercent(rate)} errors${rate > limitPercent ? ' ❌' : ''}`;
  }
  const timed = endpoints.filter((e) => e.latency.p99 !== undefined);
  if (timed.length > 1) {
    const slowest = [...timed].sort((a, b) => b.latency.p99! - a.latency.p99!)[0]!;
    return `slowest p99 ${htmlCode(slowest.name)} ${formatMs(slowest.latency.p99)}`;
  }
  return undefined;
}

export function endpointsSummary(endpoints: readonly EndpointResult[], limitPercent: number): string {
  const worst = worstEndpoint(endpoints, limitPercent);
  return `<b>Endpoints</b> (${formatCount(endpoints.length)})${worst ? `: ${worst}` : ''}`;
}

export { KIND_TEXT };
