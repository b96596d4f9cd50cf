// The report's phase section: which part of the run the targets were judged on (with the whole run beside it),
// the breaking point of a stress run, the recovery time, and the abort guards. Every figure comes from
// `run.analysis` in the results file.
import { markdownTable } from 'markdown-table';
import type { LoadPoint, PartSummary, PhaseAnalysis, RecoveryAnalysis, RunResult, StressAnalysis } from '../model.js';
import { formatCount, formatDuration, formatMs, formatPercent, formatRate, MISSING } from '../format.js';
import { noMention } from './text.js';

function windowsText(p: PartSummary): string {
  return p.windows.map((w) => `${formatDuration(w.startMs)} – ${formatDuration(w.endMs)}`).join(', ');
}

function decisionLine(a: PhaseAnalysis): string {
  if (a.judged === 'steady' && a.steady) {
    const left = a.steady.intervalsTotal - a.steady.intervals;
    return (
      `Targets were judged on the **steady part** of the run (${windowsText(a.steady)}: ${a.steady.intervals} of ` +
      `${a.steady.intervalsTotal} intervals${left > 0 ? '; ramps and the drain after the last arrival left out' : ''}). ` +
      (a.endpointsNote ? `${capitalise(a.endpointsNote)}. ` : '') +
      'Set `decide-on: all` to judge the whole run.'
    );
  }
  const why = a.judgedNote ? ` (${a.judgedNote.replace(/^judged on the whole run: /, '')})` : '';
  return a.decideOn === 'all'
    ? 'Targets were judged on the **whole run** (`decide-on: all`).'
    : `Targets were judged on the **whole run**${why}.`;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

function pointRow(label: string, p: LoadPoint | undefined): string[] {
  if (!p) return [label, 'not reached', MISSING, MISSING, MISSING, MISSING, MISSING];
  return [
    label,
    formatDuration(p.atMs),
    formatRate(p.rps),
    formatRate(p.targetRate),
    formatCount(p.vus),
    formatPercent(p.errorRate),
    formatMs(p.p99Ms),
  ];
}

function stressBlock(a: PhaseAnalysis): string | undefined {
  const s = a.stress;
  if (!s) return undefined;
  const limit = formatPercent(s.errorLimitPercent);
  const peak = s.peak;
  const same = s.firstError && s.breakingPoint && s.firstError.atMs === s.breakingPoint.atMs;
  const rows = [
    ...(same ? [] : [pointRow('first error', s.firstError)]),
    pointRow(
      same ? `first error and breaking point (errors > ${limit})` : `breaking point (errors > ${limit})`,
      s.breakingPoint,
    ),
    peak
      ? [
          `highest load (${peak.intervals} ${peak.intervals === 1 ? 'interval' : 'intervals'})`,
          '',
          formatRate(peak.rps),
          formatRate(peak.targetRate),
          '',
          formatPercent(peak.errorRate),
          formatMs(peak.p99Ms),
        ]
      : ['highest load', 'no data', MISSING, MISSING, MISSING, MISSING, MISSING],
  ];
  const table = markdownTable([['', 'From', 'Served', 'Asked (arrivals)', 'In flight', 'Error rate', 'p99'], ...rows], {
    align: ['l', 'r', 'r', 'r', 'r', 'r', 'r'],
  });
  const bp = s.breakingPoint
    ? `**Breaking point: ${formatRate(s.breakingPoint.rps)}** served (${formatRate(s.breakingPoint.targetRate)} arrivals asked, ${formatCount(s.breakingPoint.vus)} in flight): the first interval whose error rate passed ${limit} while the next three intervals together stayed past it.`
    : `**Breaking point:** not reached: no interval's error rate passed ${limit} with the next three intervals together past it${peak ? `, up to ${formatRate(peak.rps)}` : ''}.`;
  const cascade =
    s.cascading === undefined
      ? `**Cascading failure:** ${s.cascadingNote}.`
      : s.cascading
        ? `**Cascading failure: yes.** Errors kept rising while the load stayed at its highest (${s.cascadingNote}): the service was falling over by itself, not only saturated.`
        : `**Cascading failure:** no (${s.cascadingNote}; the ramp-down is not counted).`;
  return [capacityLine(s), bp, table, cascade].filter(Boolean).join('\n\n');
}

function capacityLine(s: StressAnalysis): string | undefined {
  const c = s.capacity;
  if (!c) return undefined;
  const after = c.limitedBy
    ? `; then ${c.limitedBy}${c.breachRps !== undefined ? ` at ${formatRate(c.breachRps)}` : ''}${c.breachAtMs !== undefined ? ` (${formatDuration(c.breachAtMs)})` : ''}, confirmed by the next intervals`
    : '';
  if (c.rps === undefined)
    return `**Capacity at the targets: none.** ${c.criteria} did not hold in any interval before the first confirmed breach${after}.`;
  const asked = c.targetRate !== undefined ? `, ${formatRate(c.targetRate)} arrivals asked` : '';
  return c.held
    ? `**Capacity at the targets: at least ${formatRate(c.rps)}** served (at ${formatDuration(c.atMs)}${asked}): ${c.criteria} held in every interval up to the highest load.`
    : `**Capacity at the targets: ${formatRate(c.rps)}** served (at ${formatDuration(c.atMs)}${asked}): the highest load at which ${c.criteria} held in the interval${after}.`;
}

/** The phase section's summary line: what was judged and the findings, flagged. */
export function phaseSummary(run: RunResult): string {
  const a = run.analysis!;
  const bits = [
    a.judged === 'steady' && a.steady
      ? `judged on the steady part (${windowsText(a.steady)})`
      : 'judged on the whole run',
  ];
  const s = a.stress;
  if (s?.capacity)
    bits.push(
      s.capacity.rps === undefined ? 'no capacity at the targets ❌' : `capacity ${formatRate(s.capacity.rps)}`,
    );
  if (s) bits.push(s.breakingPoint ? `breaking point ${formatRate(s.breakingPoint.rps)}` : 'no breaking point');
  if (s?.cascading) bits.push('cascading failure ❌');
  const r = a.recovery;
  if (r) bits.push(r.recovered ? recoveryWords(r) : 'not recovered ❌');
  if (a.stoppedEarly) bits.push(`stopped early at ${formatDuration(a.stoppedEarly.atMs)} ⏹️`);
  return `<b>Phase</b>: ${bits.join(', ')}`;
}

function recoveryBlock(a: PhaseAnalysis): string | undefined {
  const r = a.recovery;
  if (!r) return undefined;
  const criteria = `p99 ≤ ${formatMs(r.criteria.p99Ms)} and error rate ≤ ${formatPercent(r.criteria.errorRatePercent)}`;
  const from =
    r.fromMs > 0
      ? `the ramp-down started at ${formatDuration(r.fromMs)}`
      : 'the ramp-down started (the beginning of this run)';
  if (r.recovered && r.recoveryMs === 0)
    return `**Recovery:** within ${criteria} from the moment ${from} to the end: nothing to recover from.`;
  if (r.recovered) {
    return `**Recovery: ${formatDuration(r.recoveryMs)}** after ${from}, the service was back within ${criteria} and stayed there to the end of the run.`;
  }
  return `**Recovery: not recovered.** After ${from}, the service was not back within ${criteria} by the end of the run${r.note ? `: ${r.note}` : ''}.`;
}

function guardsLine(a: PhaseAnalysis): string | undefined {
  if (a.guards.length === 0) return undefined;
  const list = a.guards.map((g) => `\`${g.replace(/`/g, "'")}\``).join(', ');
  return a.stoppedEarly
    ? `**Abort guards:** ${list}; one stopped the run at ${formatDuration(a.stoppedEarly.atMs)}.`
    : `**Abort guards:** ${list}; none tripped.`;
}

/** The visible line for a run a guard stopped; it goes right under the heading, in every size tier. */
export function earlyStopLine(run: RunResult): string | undefined {
  const stop = run.analysis?.stoppedEarly;
  if (!stop) return undefined;
  const text = noMention(
    stop.reason.replace(/[\r\n]+/g, ' ').replace(/[\\`*_[\]~|<]/g, (c) => (c === '<' ? '&lt;' : `\\${c}`)),
  );
  return `> ⏹️ **Stopped early** at ${formatDuration(stop.atMs)}: ${text}`;
}

/** The phase section, or undefined for a run without an analysis (results files from before phases, tests). */
export function phaseSection(run: RunResult): string | undefined {
  const a = run.analysis;
  if (!a) return undefined;
  const blocks: string[] = [decisionLine(a)];
  const stress = stressBlock(a);
  if (stress) blocks.push(stress);
  const recovery = recoveryBlock(a);
  if (recovery) blocks.push(recovery);
  const guards = guardsLine(a);
  if (guards) blocks.push(guards);
  return `### Phase\n\n${blocks.join('\n\n')}`;
}

/** The same findings as plain lines for the terminal report (no Markdown). */
export function phaseLines(run: RunResult): string[] {
  const a = run.analysis;
  if (!a) return [];
  const out: string[] = [];
  out.push(
    a.judged === 'steady' && a.steady
      ? `Judged on: the steady part (${windowsText(a.steady)}, ${a.steady.intervals} of ${a.steady.intervalsTotal} intervals)`
      : `Judged on: the whole run${a.judgedNote && a.decideOn === 'steady' ? ` (${a.judgedNote.replace(/^judged on the whole run: /, '')})` : ''}`,
  );
  if (a.judged === 'steady' && a.endpointsNote) out.push(capitalise(a.endpointsNote));
  if (a.stoppedEarly) out.push(`Stopped early at ${formatDuration(a.stoppedEarly.atMs)}: ${a.stoppedEarly.reason}`);
  const s = a.stress;
  if (s) {
    const bp = s.breakingPoint;
    out.push(
      bp
        ? `Breaking point: ${formatRate(bp.rps)} served (${formatRate(bp.targetRate)} asked, ${formatCount(bp.vus)} in flight), error rate ${formatPercent(bp.errorRate)} past ${formatPercent(s.errorLimitPercent)}`
        : `Breaking point: not reached (error rate never stayed past ${formatPercent(s.errorLimitPercent)})`,
    );
    const c = s.capacity;
    if (c)
      out.push(
        c.rps === undefined
          ? `Capacity at the targets: none (${c.criteria} never held)`
          : `Capacity at the targets: ${c.held ? 'at least ' : ''}${formatRate(c.rps)} served (${c.criteria}${c.limitedBy ? `; then ${c.limitedBy}` : ''})`,
      );
    if (s.firstError)
      out.push(
        `First error: at ${formatRate(s.firstError.rps)} served, ${formatDuration(s.firstError.atMs)} into the run`,
      );
    if (s.peak)
      out.push(
        `Highest load: ${formatRate(s.peak.rps)} served, p99 ${formatMs(s.peak.p99Ms)}, error rate ${formatPercent(s.peak.errorRate)}`,
      );
    out.push(
      `Cascading failure: ${s.cascading === undefined ? s.cascadingNote : `${s.cascading ? 'yes' : 'no'} (${s.cascadingNote})`}`,
    );
  }
  const r = a.recovery;
  if (r) {
    const criteria = `p99 <= ${formatMs(r.criteria.p99Ms)}, error rate <= ${formatPercent(r.criteria.errorRatePercent)}`;
    out.push(
      !r.recovered
        ? `Recovery: not recovered by the end of the run (${criteria})`
        : r.recoveryMs === 0
          ? `Recovery: none needed, stayed within ${criteria} throughout`
          : `Recovery: ${formatDuration(r.recoveryMs)} (back within ${criteria} and stayed)`,
    );
  }
  return out;
}

/**
 * The recovery in a few words for headlines: a run that never left the targets had nothing to recover from, which
 * "recovered in 0 ms" would hide.
 */
export function recoveryWords(r: RecoveryAnalysis): string {
  if (!r.recovered) return 'not recovered by the end of the run';
  return r.recoveryMs === 0
    ? 'stayed within targets throughout (nothing to recover from)'
    : `recovered in ${formatDuration(r.recoveryMs)}`;
}
