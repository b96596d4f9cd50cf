// The "Why" block: the diagnosis (src/diagnose) in words, for the Markdown report (comment, job summary, file)
// and the terminal. A headline naming the cause, or "no single cause found", a few lines a reviewer reads in ten
// seconds with the figures behind them, and in Markdown the evidence folded. Pure: figures come from the
// Diagnosis, which holds them in results.json under `why`.
import { markdownTable } from 'markdown-table';
import type { Diagnosis, InfraMetric, LockWait, MemoryFinding, SaturationFinding, TableScans } from '../model.js';
import { formatCount, formatDuration, formatMs, formatPercent, formatRate } from '../format.js';
import { formatBytes, formatInfra, truncateText } from './infra.js';
import { cell, code, fold, inline, plural } from './text.js';

interface Style {
  code(s: string): string;
  text(s: string): string;
  bold(s: string): string;
}
const MD: Style = { code: (s) => code(s), text: inline, bold: (s) => `**${s}**` };
const PLAIN: Style = { code: (s) => s, text: (s) => s.replace(/[\r\n]+/g, ' '), bold: (s) => s };

const STATEMENT = 100;

/** An offset from the run start: `0.4 s`, `12 s`, `2 min 5 s`. */
function at(ms: number): string {
  return ms < 1000 ? `${(Math.max(0, ms) / 1000).toFixed(1)} s` : formatDuration(ms);
}

function value(v: number, unit: InfraMetric['unit'] | 'requests'): string {
  return unit === 'requests' ? formatCount(v) : formatInfra(v, unit);
}

function share(part: number, whole: number): string {
  return whole > 0 ? formatPercent((part / whole) * 100) : '—';
}

function headline(d: Diagnosis, s: Style): string {
  const c = d.cause;
  if (!c)
    return `${s.bold('No single cause found')} in what this run measured${d.saturation.length || d.throughputLimit || d.when ? ': the findings are below' : ''}.`;
  const db = d.database;
  switch (c.kind) {
    case 'tasks-killed': {
      const ts = d.stoppedTasks!.filter((t) => t.service === c.subject);
      const t = ts.find((x) => x.outOfMemory) ?? ts[0]!;
      return `${s.bold(`Cause: ECS tasks killed (${s.code(c.subject)})`)}: ${formatCount(ts.length)} ${plural(ts.length, 'task')} stopped during the run, ${taskText(t, s)}.`;
    }
    case 'lock-waits': {
      const w = db!.lockWaits.find((x) => (x.table ?? x.statement) === c.subject) ?? db!.lockWaits[0]!;
      return `${s.bold(`Cause: lock waits${w.table ? ` on ${s.code(w.table)}` : ''}`)}: up to ${formatCount(w.maxWaiting)} ${plural(w.maxWaiting, 'connection')} waiting at once, in ${formatCount(w.samples)} ${plural(w.samples, 'sample')} from ${at(w.firstAtMs)}, on ${s.code(truncateText(w.statement, STATEMENT))}.`;
    }
    case 'sequential-scans': {
      const q = db!.heavyReads[0]!;
      const t = db!.seqScanTables.find((x) => x.table === c.subject);
      const what = t ? `sequential scans of ${s.code(t.table)}` : 'a statement reading a whole table each call';
      return `${s.bold(`Cause: ${what}`)}: ${s.code(truncateText(q.query, STATEMENT))} took ${formatPercent(q.sharePercent)} of the database's time (${formatCount(q.calls)} calls, mean ${formatMs(q.meanMs)}), reading ${formatCount(Math.round(q.blocksPerCall ?? 0))} blocks (${formatBytes((q.blocksPerCall ?? 0) * 8192)}) per call${t ? `; ${s.code(t.table)}: ${scanText(t)}` : ''}.`;
    }
    case 'memory-leak': {
      const m = d.memory.find((x) => x.name === c.subject)!;
      return `${s.bold(`Cause: memory rising steadily (${s.code(m.name)})`)}: ${memoryText(m)}, past its ${satBasis(d.saturation.find((x) => x.name === m.name)!)}; it did not level off (a leak?).`;
    }
    case 'saturation': {
      const f = d.saturation.find((x) => x.name === c.subject)!;
      return `${s.bold(`Cause: ${s.code(f.name)} at its limit`)}: ${satText(f)}${f.order === 'before' ? ', before the latency rose' : f.order === 'with' ? ', as the latency rose' : ''}.`;
    }
    case 'throughput-limit': {
      const t = d.throughputLimit!;
      return `${s.bold(`Cause: a throughput limit at ${formatRate(t.servedRps)}`)}: ${tlText(t)}; no measured resource passed 80 % of its limit, so the limit is in something not measured (a lock, a pool, a single thread?).`;
    }
    case 'slow-endpoint': {
      const sl = d.when!.slow!;
      const e = sl.endpoints[0]!;
      return `${s.bold(`Cause: ${s.code(e.name)} alone is slow`)}: it carried ${share(e.slow, sl.requests)} of the ${formatCount(sl.requests)} requests slower than ${formatMs(d.when!.threshold)} (${share(e.slow, e.requests)} of its own), with nothing measured at its limit${db && !db.lockWaits.length && !db.seqScanTables.length ? ' and the database without lock waits or large sequential scans' : ''}: look at what it calls.`;
    }
    case 'errors': {
      const e = d.errors!.endpoints[0]!;
      return `${s.bold(`Cause: errors on ${s.code(e.name)}`)}: ${formatCount(e.errors)} of its ${formatCount(e.requests)} requests failed (${codesText(e.codes)}).`;
    }
  }
}

function taskText(t: NonNullable<Diagnosis['stoppedTasks']>[number], s: Style): string {
  const k = t.containers.find((x) => x.reason || (x.exitCode !== undefined && x.exitCode !== 0));
  const why = [t.stoppedReason, k?.reason].filter((x): x is string => Boolean(x));
  const exit = k?.exitCode !== undefined ? `, exit ${k.exitCode}` : '';
  return `${t.outOfMemory ? 'for memory ' : ''}at ${at(t.stoppedAtMs)}${t.stopCode ? ` (${t.stopCode}${exit})` : exit ? ` (${exit.slice(2)})` : ''}${why.length ? `: ${why.map((w) => s.code(truncateText(w, 120))).join(', ')}` : ''}`;
}

function satBasis(f: SaturationFinding): string {
  return f.basis === 'target'
    ? `target ${value(f.limit, f.unit)}`
    : `limit's 80 % (${value(f.threshold, f.unit)} of ${value(f.limit, f.unit)})`;
}

function satText(f: SaturationFinding): string {
  const past =
    f.basis === 'target'
      ? `its target ${value(f.limit, f.unit)}`
      : f.unit === '%' && f.limit === 100
        ? value(f.threshold, f.unit)
        : `${value(f.threshold, f.unit)} (80 % of its limit ${value(f.limit, f.unit)})`;
  return `passed ${past} at ${at(f.firstAtMs)}, peak ${value(f.peak, f.unit)}`;
}

function scanText(t: TableScans): string {
  return `${formatCount(t.seqScan)} sequential ${plural(t.seqScan, 'scan')} read ${formatCount(t.seqTupRead)} rows (${formatCount(Math.round(t.seqTupRead / t.seqScan))} each) against ${formatCount(t.idxScan)} index ${plural(t.idxScan, 'scan')}`;
}

function tlText(t: NonNullable<Diagnosis['throughputLimit']>): string {
  const asked = t.askedRps !== undefined ? ` of ${formatRate(t.askedRps)} asked` : '';
  return `from ${at(t.fromMs)} to ${at(t.toMs)} it served a flat ${formatRate(t.servedRps)}${asked} while requests in flight rose ${formatCount(t.inFlightFrom)} → ${formatCount(t.inFlightTo)} (Little's law: ${formatMs(t.littleMs)} in the system each)`;
}

function memoryText(m: MemoryFinding): string {
  const per = m.unit === 'bytes' ? `${formatBytes(m.slopePerMin)}/min` : `${formatInfra(m.slopePerMin, m.unit)}/min`;
  return `${formatInfra(m.fromValue, m.unit)} → ${formatInfra(m.toValue, m.unit)}, ${per} over ${m.samples} samples (r² ${m.r2.toFixed(2)})`;
}

function codesText(codes: Record<string, number>): string {
  const list = Object.entries(codes).sort((a, b) => b[1] - a[1]);
  return list.length ? list.map(([c, n]) => `${c} × ${formatCount(n)}`).join(', ') : 'no status code';
}

function lockText(w: LockWait, s: Style): string {
  return `${formatCount(w.maxWaiting)} waiting at most, ${formatCount(w.samples)} ${plural(w.samples, 'sample')} from ${at(w.firstAtMs)}${w.table ? ` on ${s.code(w.table)}` : ''}${w.lockType ? ` (${w.lockType} lock)` : ''}: ${s.code(truncateText(w.statement, STATEMENT))}`;
}

/** The short lines under the headline: when, what saturated, a throughput limit, the database, memory, errors. */
function lines(d: Diagnosis, s: Style): string[] {
  const out: string[] = [];
  const w = d.when;
  if (w) {
    const unitText = (v: number): string =>
      w.unit === 'ms' ? formatMs(v) : w.unit === '%' ? formatPercent(v) : formatCount(v);
    const first =
      w.atMs !== undefined
        ? `first broke in the interval at ${at(w.atMs)}${w.value !== undefined ? ` (${unitText(w.value)})` : ''}`
        : 'broke over the run as a whole, in no single interval';
    let slow = '';
    if (w.slow) {
      const eps = w.slow.endpoints
        .slice(0, 3)
        .map((e) => `${s.code(e.name)} ${share(e.slow, w.slow!.requests)} (${share(e.slow, e.requests)} of its own)`);
      slow = `; ${formatCount(w.slow.requests)} of ${formatCount(w.slow.ofRequests)} requests slower than ${formatMs(w.threshold)}${eps.length ? `: ${eps.join(', ')}` : ''}`;
    }
    out.push(`${s.bold('When:')} ${s.code(w.target)} ${first}${slow}.`);
  }
  if (d.saturation.length) {
    const ord = { before: 'before the rise', with: 'with the rise', after: 'after the rise', 'no-rise': '' } as const;
    const list = d.saturation
      .slice(0, 4)
      .map((f) => `${s.code(f.name)} ${satText(f)}${ord[f.order] ? ` (${ord[f.order]})` : ''}`);
    out.push(`${s.bold('Saturated, in order:')} ${list.join('; ')}.`);
  } else if (d.unsaturated.length) {
    const peaks = d.unsaturated.slice(0, 5).map((u) => `${s.code(u.name)} ${formatPercent(u.peakPercent)}`);
    out.push(`${s.bold('Nothing saturated:')} no series with a limit passed 80 % of it (peaks: ${peaks.join(', ')}).`);
  }
  if (d.throughputLimit) out.push(`${s.bold('Throughput limit:')} ${tlText(d.throughputLimit)}.`);
  const db = d.database;
  if (db) {
    const bits: string[] = [];
    const top = db.top[0];
    if (top) {
      const blocks =
        top.blocksPerCall !== undefined ? `, ${formatCount(Math.round(top.blocksPerCall))} blocks per call` : '';
      bits.push(
        `top statement by total time ${s.code(truncateText(top.query, STATEMENT))}: ${formatPercent(top.sharePercent)} of ${formatDuration(db.totalMs)}, ${formatCount(top.calls)} calls, mean ${formatMs(top.meanMs)}${blocks}`,
      );
    }
    for (const t of db.seqScanTables.slice(0, 2)) bits.push(`${s.code(t.table)}: ${scanText(t)}`);
    for (const l of db.lockWaits.slice(0, 2)) bits.push(`lock waits: ${lockText(l, s)}`);
    for (const x of db.slower?.slice(0, 2) ?? [])
      bits.push(
        `slower than the baseline: ${s.code(truncateText(x.query, STATEMENT))} mean ${formatMs(x.baselineMeanMs)} → ${formatMs(x.meanMs)}`,
      );
    if (db.dealloc)
      bits.push(
        `⚠️ ${formatCount(db.dealloc)} pg_stat_statements ${plural(db.dealloc, 'entry', 'entries')} evicted during the run: statement figures are low (raise pg_stat_statements.max)`,
      );
    if (bits.length) out.push(`${s.bold('Database:')} ${bits.join('; ')}.`);
  }
  for (const m of d.memory.filter((x) => x.leak))
    out.push(`${s.bold('Memory:')} ${s.code(m.name)} ${memoryText(m)}, still rising at the end: a leak hint.`);
  const e = d.errors;
  if (e) {
    const bits = e.endpoints
      .slice(0, 3)
      .map((x) => `${s.code(x.name)} ${formatCount(x.errors)} of ${formatCount(x.requests)} (${codesText(x.codes)})`);
    const groups = (['payment', 'auth'] as const).flatMap((g) => {
      const ls = e.logs.filter((l) => l.group === g);
      return ls.length
        ? [
            `${g === 'payment' ? 'payment failures' : 'authentication failures'} in the logs: ${ls
              .slice(0, 2)
              .map((l) => `${s.code(truncateText(l.message, 80))} × ${formatCount(l.count)}`)
              .join(', ')}`,
          ]
        : [];
    });
    const other = e.logs.find((l) => l.group === 'other');
    if (other) groups.push(`top log message ${s.code(truncateText(other.message, 80))} × ${formatCount(other.count)}`);
    if (bits.length || groups.length) out.push(`${s.bold('Errors:')} ${[...bits, ...groups].join('; ')}.`);
  }
  if (d.stoppedTasks?.length) {
    const list = d.stoppedTasks.slice(0, 3).map((t) => `${s.code(t.service)} ${taskText(t, s)}`);
    out.push(
      `${s.bold('ECS tasks stopped:')} ${list.join('; ')}${d.stoppedTasks.length > 3 ? `; ${d.stoppedTasks.length - 3} more in results.json` : ''}.`,
    );
  }
  const slow = d.slowest?.[0];
  if (slow)
    out.push(
      `${s.bold('Slowest request:')} ${s.code(slow.endpoint)} ${formatMs(slow.latencyMs)} at ${at(slow.atMs)}, trace ${s.code(slow.traceId)}${d.slowest!.length > 1 ? ` (${d.slowest!.length - 1} more in results.json)` : ''}.`,
    );
  return out;
}

/** The folded evidence: every saturated series, memory slopes, the statements and tables, the error log lines, the limits. */
function evidence(d: Diagnosis): string | undefined {
  const blocks: string[] = [];
  if (d.saturation.length || d.unsaturated.length) {
    const rows = [
      ...d.saturation.map((f) => [
        cell(code(f.name)),
        f.basis === 'target' ? `target ${value(f.limit, f.unit)}` : `80 % of ${value(f.limit, f.unit)}`,
        at(f.firstAtMs),
        value(f.peak, f.unit),
        f.order.replace('-', ' '),
      ]),
      ...d.unsaturated.map((u) => [
        cell(code(u.name)),
        'limit',
        'never',
        `${formatPercent(u.peakPercent)} of limit`,
        '—',
      ]),
    ];
    blocks.push(
      `**Series with a limit or a target**\n\n${markdownTable([['Series', 'Threshold', 'First past it', 'Peak', 'Against the rise'], ...rows], { align: ['l', 'l', 'r', 'r', 'l'] })}`,
    );
  }
  if (d.memory.length) {
    const rows = d.memory.map((m) => [
      cell(code(m.name)),
      formatInfra(m.fromValue, m.unit),
      formatInfra(m.toValue, m.unit),
      m.unit === 'bytes' ? `${formatBytes(m.slopePerMin)}/min` : `${formatInfra(m.slopePerMin, m.unit)}/min`,
      m.r2.toFixed(2),
      m.leak ? 'yes ⚠️' : 'no',
    ]);
    blocks.push(
      `**Memory over the steady part**\n\n${markdownTable([['Series', 'From', 'To', 'Slope', 'r²', 'Leak hint'], ...rows], { align: ['l', 'r', 'r', 'r', 'r', 'l'] })}`,
    );
  }
  const db = d.database;
  if (db?.top.length) {
    const rows = db.top.map((q) => [
      cell(code(truncateText(q.query, 120))),
      formatDuration(q.totalMs),
      formatPercent(q.sharePercent),
      formatCount(q.calls),
      formatMs(q.meanMs),
      q.blocksPerCall === undefined ? '—' : formatCount(Math.round(q.blocksPerCall)),
    ]);
    blocks.push(
      `**Statements by total time** (${inline(db.source)}, pg_stat_statements during the run, grouped by queryid)\n\n${markdownTable([['Statement', 'Total', 'Share', 'Calls', 'Mean', 'Blocks per call'], ...rows], { align: ['l', 'r', 'r', 'r', 'r', 'r'] })}`,
    );
  }
  if (db?.seqScanTables.length) {
    const rows = db.seqScanTables.map((t) => [
      cell(code(t.table)),
      formatCount(t.seqScan),
      formatCount(t.seqTupRead),
      formatCount(t.idxScan),
      formatCount(t.liveRows),
      cell(t.indexes?.map((i) => `${i.name} ${formatCount(i.scans)}`).join(', ') || 'none'),
    ]);
    blocks.push(
      `**Tables read by sequential scans** (pg_stat_user_tables, pg_stat_user_indexes during the run)\n\n${markdownTable([['Table', 'Seq scans', 'Rows read', 'Index scans', 'Live rows', 'Index scans by index'], ...rows], { align: ['l', 'r', 'r', 'r', 'r', 'l'] })}`,
    );
  }
  if (db?.lockWaits.length) {
    const rows = db.lockWaits.map((w) => [
      cell(code(truncateText(w.statement, 120))),
      cell(w.table ? code(w.table) : '—'),
      w.lockType ?? '—',
      formatCount(w.maxWaiting),
      formatCount(w.samples),
      at(w.firstAtMs),
    ]);
    blocks.push(
      `**Lock waits** (pg_stat_activity and pg_locks samples)\n\n${markdownTable([['Waiting statement', 'Table', 'Lock', 'Most waiting', 'Samples', 'First'], ...rows], { align: ['l', 'l', 'l', 'r', 'r', 'r'] })}`,
    );
  }
  if (d.errors?.logs.length) {
    const rows = d.errors.logs.map((l) => [
      l.group,
      cell(code(truncateText(l.message, 120))),
      formatCount(l.count),
      cell(inline(l.source)),
    ]);
    blocks.push(
      `**Error logs, grouped**\n\n${markdownTable([['Group', 'Message', 'Count', 'Source'], ...rows], { align: ['l', 'l', 'r', 'l'] })}`,
    );
  }
  if (d.slowest?.length) {
    const rows = d.slowest.map((r) => [
      cell(code(r.endpoint)),
      formatMs(r.latencyMs),
      at(r.atMs),
      r.status === undefined ? 'no response' : String(r.status),
      code(r.traceId),
    ]);
    blocks.push(
      `**Slowest requests** (their \`traceparent\` trace ids, to open in the tracing backend)\n\n${markdownTable([['Endpoint', 'Latency', 'Sent at', 'Status', 'Trace id'], ...rows], { align: ['l', 'r', 'r', 'l', 'l'] })}`,
    );
  }
  if (d.limits.length)
    blocks.push(`**What this could not tell**\n\n${d.limits.map((l) => `- ${inline(l)}`).join('\n')}`);
  return blocks.length ? blocks.join('\n\n') : undefined;
}

/** Markdown: the headline and the short lines unfolded, the evidence folded. */
export function whyMarkdown(d: Diagnosis): string {
  const ls = lines(d, MD);
  const text = `### Why\n\n${headline(d, MD)}${ls.length ? `\n\n${ls.map((l) => `- ${l}`).join('\n')}` : ''}`;
  const ev = evidence(d);
  return ev
    ? `${text}\n\n${fold('<b>Why: the evidence</b> (the figures are in <code>results.json</code> under <code>why</code>)', ev)}`
    : text;
}

/** Plain text for the terminal and the log. */
export function whyLines(d: Diagnosis): string[] {
  return [
    `Why: ${headline(d, PLAIN)}`,
    ...lines(d, PLAIN).map((l) => `  - ${l}`),
    ...d.limits.map((l) => `  (not known: ${l})`),
  ];
}
