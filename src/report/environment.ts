// The "Environment" section: the checks before the load (the guide's pre-test checklist) and the smoke pass, one
// line each. Its summary line flags a failure (❌) so the reader sees it without opening the section.
import { markdownTable } from 'markdown-table';
import type { RunResult } from '../model.js';
import { formatCount } from '../format.js';
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

export function environmentSection(run: RunResult): Section | undefined {
  const env = run.environment;
  if (!env) return undefined;
  const rows = env.checks.map((c) => [KIND_LABEL[c.kind] ?? inline(c.kind), cell(code(c.name)), c.ok ? '✅ ok' : '❌ failed', cell(inline(c.detail))]);
  const smoke = env.smoke;
  for (const f of smoke?.flows ?? []) {
    rows.push([
      'Smoke pass',
      cell(code(f.name)),
      f.ok ? '✅ ok' : '❌ failed',
      cell(inline(f.ok ? `${formatCount(f.requests)} ${plural(f.requests, 'request')}, every check passed` : `at step ${f.step}: ${f.failure}`)),
    ]);
  }
  if (smoke?.skipped) rows.push(['Smoke pass', '—', smoke.skipped.startsWith('failed') ? '❌ failed' : '— skipped', cell(inline(smoke.skipped))]);
  const baseline = env.baseline ?? [];
  if (rows.length === 0 && baseline.length === 0) return undefined;

  const failedChecks = env.checks.filter((c) => !c.ok).length;
  const failedFlows = (smoke?.flows ?? []).filter((f) => !f.ok);
  const bits: string[] = [];
  if (env.checks.length > 0) {
    bits.push(failedChecks > 0 ? `${failedChecks} of ${env.checks.length} ${plural(env.checks.length, 'check')} failed ❌` : `${env.checks.length} ${plural(env.checks.length, 'check')} passed`);
  }
  if (smoke?.flows.length) {
    bits.push(failedFlows.length > 0 ? `smoke pass failed on ${failedFlows.map((f) => f.name).join(', ')} ❌` : `smoke pass ok (${smoke.flows.length} ${plural(smoke.flows.length, 'flow')})`);
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
    const value = (v: number | undefined): string => (v === undefined ? '—' : formatCount(v));
    const table = markdownTable(
      [
        ['Database', 'Before the load', 'After the run', 'Change'],
        ...baseline.map((b) => [
          cell(code(b.name)),
          value(b.before),
          value(b.after),
          b.unavailable ? cell(`⚠️ ${inline(b.unavailable)}`) : b.change === undefined ? '—' : `${b.change > 0 ? '+' : ''}${formatCount(b.change)}`,
        ]),
      ],
      { align: ['l', 'r', 'r', 'r'] },
    );
    blocks.push(`**Database baseline.** _Queries \`at: start\` ran before the first request, \`at: change\` before and after the run (its metric is the change); connections are the first and last samples._\n\n${table}`);
    const missing = baseline.filter((b) => b.unavailable).length;
    bits.push(missing > 0 ? `database baseline, ${missing} unavailable ⚠️` : `database baseline of ${baseline.length} ${plural(baseline.length, 'value')}`);
  }
  return { summary: `<b>Environment</b>: ${html(bits.join(', '))}`, body: blocks.join('\n\n') };
}
