// The report's first lines: the heading with the verdict, the sentence that says what happened and why (targets,
// regressions, a stress run's breaking point, an accepted regression), the policy remark and the reasons list.
import { changeCell, formatMetricValue } from '../baseline/report.js';
import type { RegressionResult, StressAnalysis, TargetResult, Verdict } from '../model.js';
import { actualText, metricLabel, type ReportInput, targetMetricLabel, targetText, verdictWord } from './common.js';
import { formatDuration, formatRate } from '../format.js';
import { capitalise, code, inline, plural } from './text.js';
import { recoveryWords } from './phases.js';

const ICONS = { pass: '✅', fail: '❌', error: '⚠️', shard: '🧩' } as const;

export function heading(input: ReportInput): string {
  const header = input.commentHeader.replace(/\s+/g, ' ').trim();
  const label =
    header === '' || header === 'perf-gate' || header === input.phase ? 'perf-gate' : `perf-gate (${inline(header)})`;
  return `## ${ICONS[input.verdict.status]} ${label}: ${inline(input.phase)} ${verdictWord(input.verdict.status)}`;
}

export function short(sha: string): string {
  return sha.slice(0, 7);
}

/** `main@abc1234`, or what is known of it. */
function baseName(input: ReportInput): string {
  const sha = input.verdict.baseline?.sha;
  const ref = input.baseRef;
  if (ref && sha) return `${inline(ref)}@${short(sha)}`;
  if (sha) return short(sha);
  return ref ? inline(ref) : 'the baseline';
}

/** The figure of a regression metric as the results table prints it. */
function regressionFigures(r: RegressionResult): string {
  const change = r.metric === 'error_rate' ? undefined : changeCell(r.changePercent).replace(/^[↑↓→] /, '');
  const values = `${formatMetricValue(r.metric, r.baseline)} → ${formatMetricValue(r.metric, r.current)}`;
  return change ? `${change} (${values})` : `(${values})`;
}

/**
 * The verdict in one sentence with the numbers that decided it: the first thing a reviewer reads. The figures are
 * those of the results table below, at its precision.
 */
export function verdictSentence(input: ReportInput): string {
  const { run, verdict } = input;
  const stress = run.analysis?.stress;
  const lead: string[] = [];
  if (stress) lead.push(stressSentence(stress, verdict.targets));
  const recovery = run.analysis?.recovery;
  if (recovery) lead.push(recoveryWords(recovery));

  if (verdict.status === 'error') {
    // The reasons follow as a list: the sentence says only that and how many, rather than repeat the first.
    const n = verdict.reasons.length;
    return `**No verdict: the run could not be judged${n > 0 ? ` (${n === 1 ? 'the reason' : `${n} reasons`} below)` : ''}.**`;
  }
  // An optional target that could not be measured neither holds nor fails: it is left out of the count.
  const targets = verdict.targets.filter(
    (t) => t.origin !== 'tool' && !(t.target.optional && t.status === 'not_measured'),
  );
  const held = targets.filter((t) => t.status === 'pass').length;
  const failed = verdict.targets.filter(
    (t) => t.status === 'fail' || (t.status === 'not_measured' && !t.target.optional),
  );
  const regressed = (verdict.regressions ?? []).filter((r) => r.status === 'regressed' && !r.acceptedBy);
  const accepted = (verdict.regressions ?? []).filter((r) => r.acceptedBy);
  const against = `against ${baseName(input)}`;

  const bad: string[] = [];
  if (regressed.length > 0) {
    bad.push(
      `${regressed.map((r) => `${metricLabel(r.metric).replace(/ latency$/, '')} regressed ${regressionFigures(r)}`).join(', ')} ${against}`,
    );
  }
  for (const t of failed) {
    // The stress lead already gives capacity and breaking point, with their targets.
    if (stress && STRESS_METRICS.has(t.target.metric)) continue;
    const label =
      t.origin === 'tool' ? `${code(t.target.source)} (tool threshold)` : targetMetricLabel(t.target.metric, run, code);
    if (t.status === 'not_measured') bad.push(`${label} not measured`);
    else if (t.origin === 'tool') bad.push(`${label} failed`);
    else if (t.rhs) bad.push(`${label} ${actualText(t).replace(' vs ', ` vs ${code(t.rhs.label)} `)}`);
    else bad.push(`${label} ${actualText(t)} (target ${targetText(t)})`);
  }
  // A run a guard stopped says so in the line right under this sentence, with the guard's reason.
  const shown = bad.slice(0, 3);
  const rest = bad.length - shown.length;

  const tail: string[] = [];
  if (targets.length > 0) {
    tail.push(
      held === targets.length
        ? targets.length === 1
          ? 'the target holds'
          : `all ${targets.length} targets hold`
        : `${held} of ${targets.length} ${plural(targets.length, 'target')} hold`,
    );
  }
  // Warnings: targets that held past their warning level, with the figure and the level, after the count.
  const warned = verdict.targets.filter((t) => t.warning);
  for (const t of warned.slice(0, 3))
    tail.push(
      `⚠️ ${targetMetricLabel(t.target.metric, run, code)} ${actualText(t)} past its warning level (${targetText(t)})`,
    );
  if (warned.length > 3) tail.push(`⚠️ ${warned.length - 3} more ${plural(warned.length - 3, 'warning')} below`);
  const unmeasured = verdict.targets.filter((t) => t.target.optional && t.status === 'not_measured').length;
  if (unmeasured > 0) tail.push(`${unmeasured} optional ${plural(unmeasured, 'target')} not measured`);
  const regs = verdict.regressions ?? [];
  if (regressed.length === 0 && regs.length > 0) {
    const b = verdict.baseline;
    const compared = regs.some((r) => r.baseline !== undefined);
    if (compared) {
      const runs = b?.trend?.length;
      tail.push(`no regression ${against}${runs ? ` (${runs} ${plural(runs, 'run')})` : ''}`);
    } else {
      tail.push(regs[0]!.status === 'not_comparable' ? 'no comparable baseline' : 'no baseline yet');
    }
  }
  if (accepted.length > 0)
    tail.push(
      `${accepted.map((r) => metricLabel(r.metric).replace(/ latency$/, '')).join(', ')} regression accepted by ${inline(accepted[0]!.acceptedBy!)}`,
    );
  if (targets.length === 0 && regs.length === 0 && !stress && !recovery) tail.push('no targets set');

  const sentence = [...lead, ...shown, ...(rest > 0 ? [`${rest} more below`] : []), ...tail].join('; ');
  // A metric name (`p95`) keeps its case at the start of the sentence.
  return `**${/^p\d/.test(sentence) ? sentence : capitalise(sentence)}.**`;
}

const STRESS_METRICS = new Set(['capacity', 'breaking_point']);

/** "Capacity 126/s at the targets (target > 300/s ❌), breaking point 340/s": the stress run's key results. */
function stressSentence(s: StressAnalysis, targets: readonly TargetResult[]): string {
  const judged = (metric: string): string => {
    const t = targets.find((x) => x.target.metric === metric && x.origin !== 'tool');
    return t ? ` (target ${targetText(t)} ${t.status === 'pass' ? (t.warning ? '⚠️' : '✅') : '❌'})` : '';
  };
  const c = s.capacity;
  const capacity =
    c === undefined
      ? undefined
      : c.rps === undefined
        ? `no capacity at the targets: they were missed from the first interval${judged('capacity')}`
        : `capacity ${c.held ? 'at least ' : ''}${formatRate(c.rps)} at the targets${judged('capacity')}`;
  const bp = s.breakingPoint
    ? `breaking point ${formatRate(s.breakingPoint.rps)}${judged('breaking_point')}`
    : `no breaking point up to ${formatRate(s.peak?.rps)}${judged('breaking_point')}`;
  return [capacity, bp].filter(Boolean).join(', ');
}

/** Says when the check's outcome differs from what the heading suggests, so nobody is surprised by a green check. */
export function policyRemark(verdict: Verdict): string | undefined {
  if (verdict.status !== 'pass' && verdict.status !== 'shard' && !verdict.failsCheck) {
    return '_The check is not failed: the `fail-on` setting lets this result through._';
  }
  if (verdict.status === 'pass' && verdict.failsCheck) return '_The check fails under the `fail-on` setting._';
  return undefined;
}

/**
 * The reasons the results table does not already show: an error's causes, a not-measured target's why. Failed
 * targets and regressions are rows of the table and the verdict sentence; repeating them at another precision
 * would only add a third version of the same figure.
 */
export function reasonsBlock(verdict: Verdict): string | undefined {
  if (verdict.status === 'pass' || verdict.reasons.length === 0) return undefined;
  const labels = verdict.targets.map((t) => t.target);
  const shown = verdict.reasons.filter((r) => {
    if (verdict.status === 'error') return true;
    if (/^(regression: |stopped early at )/.test(r)) return false;
    return !labels.some(
      (t) =>
        r.startsWith(`${t.source}: measured`) ||
        r.startsWith(`${metricLabel(t.metric)} `) ||
        r === `${t.source}: not measured`,
    );
  });
  if (shown.length === 0) return undefined;
  return shown.map((r) => `- ${inline(r)}`).join('\n');
}
