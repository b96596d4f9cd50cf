// The "Environment" section: the checks before the load (the guide's pre-test checklist) and the smoke pass, one
// line each. Its summary line flags a failure (❌) so the reader sees it without opening the section.
import { markdownTable } from 'markdown-table';
import type { RunResult } from '../model.js';
import { formatCount, formatDuration, formatPercent } from '../format.js';
import type { Section } from './sections.js';
import { cell, code, html, inline, plural } from './text.js';

const KIND_LABEL: Record<string, string> = {
  env: 'Environment variable',
  version: 'Deployed version',
  reachable: 'Reachable',
  monitoring: 'Monitoring',
  ecs: 'ECS service',
  'target-health': 'Target health',
  instances: 'Instances up',
};

/** `3 → 4 at 12 s`: each change of an instance count inside the run window, from its samples. */
export function instanceChanges(
  series: ReadonlyArray<readonly [number, number]>,
  durationMs: number,
): Array<{ atMs: number; from: number; to: number }> {
  const inside = series.filter(([t]) => t >= 0 && t <= durationMs);
  const out: Array<{ atMs: number; from: number; to: number }> = [];
  for (let i = 1; i < inside.length; i++) {
    const [t, v] = inside[i]!;
    const prev = inside[i - 1]![1];
    if (v !== prev) out.push({ atMs: t, from: prev, to: v });
  }
  return out;
}

function scalingBlocks(run: RunResult): { blocks: string[]; bits: string[] } {
  const blocks: string[] = [];
  const bits: string[] = [];
  const infra = run.infra ?? [];
  const counts = infra.filter((m) => m.role === 'instances');
  if (counts.length > 0) {
    const rows = counts.map((m) => {
      if (m.unavailable) return [cell(code(m.name)), '—', '—', cell(`⚠️ unavailable: ${inline(m.unavailable)}`)];
      const changes = instanceChanges(m.series ?? [], run.durationMs);
      const text =
        changes.length === 0
          ? 'no change'
          : changes
              .slice(0, 6)
              .map((c) => `${formatCount(c.from)} → ${formatCount(c.to)} at ${formatDuration(c.atMs)}`)
              .join(', ') + (changes.length > 6 ? ', …' : '');
      return [cell(code(m.name)), value(m.stats.min), value(m.stats.max), cell(text)];
    });
    blocks.push(
      `**Instances during the run.** _From the samples inside the run window; times from the start of the load._\n\n${markdownTable([['Count', 'min', 'max', 'Changes'], ...rows], { align: ['l', 'r', 'r', 'l'] })}`,
    );
    for (const m of counts) {
      if (m.unavailable) bits.push(`${m.name} unavailable ⚠️`);
      else if (m.stats.min !== undefined && m.stats.max !== undefined)
        bits.push(
          m.stats.min === m.stats.max
            ? `${m.name} ${formatCount(m.stats.min)}`
            : `${m.name} ${formatCount(m.stats.min)} → ${formatCount(m.stats.max)}`,
        );
    }
  }
  const balances = infra.filter((m) => m.role === 'balance');
  if (balances.length > 0) {
    const rows = balances.map((m) => [
      cell(code(m.name)),
      m.unavailable ? '—' : formatNumber(m.stats.last),
      cell(
        m.unavailable
          ? `⚠️ unavailable: ${inline(m.unavailable)}`
          : Object.entries(m.shares ?? {})
              .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
              .map(([k, v]) => `${code(k)} ${formatPercent(v)}`)
              .join(', '),
      ),
    ]);
    blocks.push(
      `**Load balance.** _Each instance's part of the total over the run window; balance is the lowest part ÷ the highest (1 is even)._\n\n${markdownTable([['Metric', 'Balance', 'Shares'], ...rows], { align: ['l', 'r', 'l'] })}`,
    );
    for (const m of balances)
      bits.push(m.unavailable ? `${m.name} unavailable ⚠️` : `${m.name} ${formatNumber(m.stats.last)}`);
  }
  return { blocks, bits };
}

function value(v: number | undefined): string {
  return v === undefined ? '—' : formatCount(v);
}

/** A balance: two decimals, or two significant digits below 0.1, so 0.004 never reads as a flat 0.00. */
function formatNumber(v: number | undefined): string {
  if (v === undefined) return '—';
  if (v === 0 || v >= 0.1) return v.toFixed(2);
  return String(Number(v.toPrecision(2)));
}

export function environmentSection(run: RunResult): Section | undefined {
  const scaling = scalingBlocks(run);
  const env = run.environment ?? (scaling.blocks.length > 0 ? { checks: [] } : undefined);
  if (!env) return undefined;
  const rows = env.checks.map((c) => [
    KIND_LABEL[c.kind] ?? inline(c.kind),
    cell(code(c.name)),
    c.ok ? '✅ ok' : '❌ failed',
    cell(inline(c.detail)),
  ]);
  const smoke = env.smoke;
  for (const f of smoke?.flows ?? []) {
    rows.push([
      'Smoke pass',
      cell(code(f.name)),
      f.ok ? '✅ ok' : '❌ failed',
      cell(
        inline(
          f.ok
            ? `${formatCount(f.requests)} ${plural(f.requests, 'request')}, every check passed`
            : `at step ${f.step}: ${f.failure}`,
        ),
      ),
    ]);
  }
  if (smoke?.skipped)
    rows.push([
      'Smoke pass',
      '—',
      smoke.skipped.startsWith('failed') ? '❌ failed' : '— skipped',
      cell(inline(smoke.skipped)),
    ]);
  const baseline = env.baseline ?? [];
  if (rows.length === 0 && baseline.length === 0 && scaling.blocks.length === 0) return undefined;

  const failedChecks = env.checks.filter((c) => !c.ok).length;
  const failedFlows = (smoke?.flows ?? []).filter((f) => !f.ok);
  const bits: string[] = [];
  if (env.checks.length > 0) {
    bits.push(
      failedChecks > 0
        ? `${failedChecks} of ${env.checks.length} ${plural(env.checks.length, 'check')} failed ❌`
        : `${env.checks.length} ${plural(env.checks.length, 'check')} passed`,
    );
  }
  if (smoke?.flows.length) {
    bits.push(
      failedFlows.length > 0
        ? `smoke pass failed on ${failedFlows.map((f) => f.name).join(', ')} ❌`
        : `smoke pass ok (${smoke.flows.length} ${plural(smoke.flows.length, 'flow')})`,
    );
  } else if (smoke?.skipped) bits.push(`smoke pass ${smoke.skipped}`);
  const failed = failedChecks > 0 || failedFlows.length > 0;
  const blocks: string[] = [];
  if (rows.length > 0) {
    const table = markdownTable([['Check', 'What', 'Status', 'Found'], ...rows], { align: ['l', 'l', 'l', 'l'] });
    const caption = failed
      ? '_Checked before the load; a failure stops the phase before its first request, so no load was sent._'
      : '_Checked before the load. The smoke pass ran each flow once; its requests are not counted in the results._';
    blocks.push(`${table}\n\n${caption}`);
  }
  if (baseline.length > 0) {
    const table = markdownTable(
      [
        ['Database', 'Before the load', 'After the run', 'Change'],
        ...baseline.map((b) => [
          cell(code(b.name)),
          value(b.before),
          value(b.after),
          b.unavailable
            ? cell(`⚠️ ${inline(b.unavailable)}`)
            : b.change === undefined
              ? '—'
              : `${b.change > 0 ? '+' : ''}${formatCount(b.change)}`,
        ]),
      ],
      { align: ['l', 'r', 'r', 'r'] },
    );
    blocks.push(
      `**Database baseline.** _Queries \`at: start\` ran before the first request, \`at: change\` before and after the run (its metric is the change); connections are the first and last samples._\n\n${table}`,
    );
    const missing = baseline.filter((b) => b.unavailable).length;
    bits.push(
      missing > 0
        ? `database baseline, ${missing} unavailable ⚠️`
        : `database baseline of ${baseline.length} ${plural(baseline.length, 'value')}`,
    );
  }
  blocks.push(...scaling.blocks);
  bits.push(...scaling.bits);
  return { summary: `<b>Environment</b>: ${html(bits.join(', '))}`, body: blocks.join('\n\n') };
}
