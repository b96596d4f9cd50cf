// The shards of a sharded run (`shard: 2/4` on a matrix) merged into the one run they are parts of. Exact: the
// latency histograms merge (percentiles as if one generator had recorded every request), counts add up, the
// intervals of all shards are aligned by wall-clock time, and the generator health of every shard is kept. Only
// a complete set of one run's shards is merged: a shard missing, listed twice, or from another commit, workflow
// run or load shape is an error that names it, because a partial or mixed merge would look like a lighter or
// different run and could pass a gate the real one fails.
import type { RunResult, ShardInfo } from '../model.js';
import { totalDurationMs } from '../phases/presets.js';
import { mergeRunResults } from './merge.js';
import type { ReadOptions } from './types.js';
import { UserError } from '../errors.js';

const short = (s: string | undefined): string =>
  s === undefined ? 'none' : /^[0-9a-f]{40}$/i.test(s) ? s.slice(0, 7) : s;

/** Which of the fields that identify a run differ between the files, in words. */
function differences(files: string[], shards: ShardInfo[]): string {
  const fields: Array<[string, (s: ShardInfo) => string | undefined]> = [
    ['commit', (s) => s.commit],
    ['workflow run', (s) => s.workflowRun],
    ['shard count', (s) => String(s.count)],
    ['load shape (phase, stages, target, flows, HTTP settings)', (s) => s.shapeKey],
  ];
  const out: string[] = [];
  for (const [label, get] of fields) {
    const groups = new Map<string, string[]>();
    for (const [i, s] of shards.entries()) {
      const v = short(get(s));
      groups.set(v, [...(groups.get(v) ?? []), files[i]!]);
    }
    if (groups.size > 1) out.push(`${label}: ${[...groups].map(([v, fs]) => `${v} in ${fs.join(', ')}`).join(' vs ')}`);
  }
  return out.join('; ');
}

/** Largest spread of the shards' start times, as a share of the phase's length, that still counts as one run. */
export const MAX_START_SPREAD = 0.25;

export function mergeShards(results: RunResult[], opts: ReadOptions): RunResult {
  const files = results.map((r) => r.sourceFiles?.[0] ?? 'file');
  const plain = files.filter((_, i) => !results[i]!.shard);
  if (plain.length) {
    throw new UserError(
      `results: ${plain.join(', ')} ${plain.length === 1 ? 'is' : 'are'} not a shard, but ${files.filter((_, i) => results[i]!.shard).join(', ')} ${plain.length === files.length - 1 ? 'is' : 'are'}; give the results.json files of one sharded run only`,
    );
  }
  const shards = results.map((r) => r.shard!);
  const diff = differences(files, shards);
  if (diff)
    throw new UserError(
      `results: shards of different runs are never merged (${diff}). Give only the shards of this run, e.g. the artifacts of this workflow run.`,
    );

  const { count } = shards[0]!;
  const byIndex = new Map<number, string[]>();
  for (const [i, s] of shards.entries()) byIndex.set(s.index, [...(byIndex.get(s.index) ?? []), files[i]!]);
  const twice = [...byIndex].filter(([, fs]) => fs.length > 1).sort((a, b) => a[0] - b[0]);
  if (twice.length) {
    throw new UserError(
      `results: ${twice.map(([i, fs]) => `shard ${i}/${count} is given ${fs.length} times (${fs.join(', ')})`).join('; ')}; its requests would be counted twice. Give each shard's results.json once.`,
    );
  }
  const missing = Array.from({ length: count }, (_, i) => i + 1).filter((i) => !byIndex.has(i));
  if (missing.length) {
    const found = [...byIndex.keys()].sort((a, b) => a - b).map((i) => `${i} (${byIndex.get(i)![0]})`);
    throw new UserError(
      `results: shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} ${missing.length > 1 ? 'are' : 'is'} missing; found shard${found.length > 1 ? 's' : ''} ${found.join(', ')}. ` +
        'Without every shard the merged run would be lighter than the phase asked for: check that every matrix job uploaded its results.json and that they were all downloaded.',
    );
  }
  const phases = [...new Set(results.map((r) => r.phase))];
  if (phases[0] !== opts.phase) {
    throw new UserError(
      `results: the shards ran phase "${phases[0]}", but this job's phase is "${opts.phase}"; set phase: ${phases[0]} on the job that merges them, so the phase's targets and analyses apply`,
    );
  }

  const order = results.map((r, i) => ({ r, file: files[i]! })).sort((a, b) => a.r.shard!.index - b.r.shard!.index);
  const parts = order.map(({ r }) => {
    // The shard's own remark that it is a shard says nothing about the merged run.
    const prefix = `Shard ${r.shard!.index}/${count}:`;
    return { ...r, notes: r.notes.filter((n) => !n.startsWith(prefix)) };
  });
  const starts = parts.map((r) => Date.parse(r.startedAt));
  const origin = Math.min(...starts);
  const labels = order.map(({ r, file }) => `shard ${r.shard!.index}/${count} (${file})`);
  const merged =
    count === 1
      ? { ...parts[0]!, notes: [...parts[0]!.notes] }
      : mergeRunResults(parts, opts, { labels, alignFrom: origin });
  merged.engine = 'results';
  merged.sourceFiles = order.map(({ file }) => file);
  const first = parts[0]!;
  if (first.tool) merged.tool = first.tool;
  if (first.target) merged.target = first.target;
  // Every shard recorded the whole phase's shape (the shape keys agree), which makes the steady part placeable.
  if (first.shape) merged.shape = { ...first.shape, source: 'perf-gate' };
  delete merged.shard;

  const stopped = parts
    .map((r, i) =>
      r.analysis?.stoppedEarly
        ? {
            ...r.analysis.stoppedEarly,
            atMs: r.analysis.stoppedEarly.atMs + starts[i]! - origin,
            shard: r.shard!.index,
          }
        : undefined,
    )
    .filter((s) => s !== undefined)
    .sort((a, b) => a.atMs - b.atMs)[0];
  delete merged.analysis;
  if (stopped) {
    const { shard, ...stop } = stopped;
    merged.analysis = {
      decideOn: 'all',
      judged: 'all',
      guards: [],
      stoppedEarly: { ...stop, reason: `${stop.reason} (a guard stopped shard ${shard}/${count})` },
    };
  }

  const notes = merged.notes.filter((n) => !n.startsWith('Merged from '));
  const spreadMs = Math.max(...starts) - origin;
  // Matrix jobs start when runners pick them up. Shards far apart never loaded the target together: it saw a
  // fraction of the phase's rate at any moment, so figures that look like the full load would be a false pass.
  const phaseMs = first.shape ? totalDurationMs(first.shape.stages) : 0;
  if (phaseMs > 0 && spreadMs > MAX_START_SPREAD * phaseMs) {
    const late = order[starts.indexOf(Math.max(...starts))]!.r.shard!.index;
    const early = order[starts.indexOf(origin)]!.r.shard!.index;
    merged.generator = {
      ...merged.generator,
      valid: false,
      invalidReasons: [
        ...merged.generator.invalidReasons,
        `the shards did not run together: shard ${late}/${count} started ${(spreadMs / 1000).toFixed(1)} s after shard ${early}/${count}, more than ${MAX_START_SPREAD * 100} % of the ${(phaseMs / 1000).toFixed(0)} s phase, so the target never received the full rate`,
      ],
    };
  }
  const lead = `Merged from ${count} shard${count === 1 ? '' : 's'} of one run (${count === 1 ? 'shard 1/1' : `each sent 1/${count} of the arrival rate`}): latency histograms combined, so percentiles are exact to 0.1 %; counts summed; intervals aligned by wall-clock time.`;
  notes.unshift(
    spreadMs >= 1000
      ? `${lead} The shards started up to ${(spreadMs / 1000).toFixed(1)} s apart, so the first and last intervals carry less than the full load.`
      : lead,
  );
  merged.notes = notes;
  return merged;
}
