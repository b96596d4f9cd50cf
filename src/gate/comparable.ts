// Which baseline runs a run may be compared with: the same environment, engine, phase and load shape. The stores
// stamp each entry with shapeOf when they record it; the gate asks incomparability before it judges.
import { createHash } from 'node:crypto';
import type { BaselineEntry, RunResult } from '../model.js';

export interface ShapeInfo {
  fingerprint: string;
  summary: string;
  durationScale?: number;
}

/** Runs with different load shapes measure different things; a hash of the stages is how we tell. */
export function shapeOf(run: RunResult): ShapeInfo {
  const stages = run.shape?.stages ?? [];
  const scale = run.shape?.durationScale;
  if (stages.length === 0)
    return {
      fingerprint: 'none',
      summary: 'no recorded load shape',
      ...(scale === undefined ? {} : { durationScale: scale }),
    };
  const canonical = JSON.stringify({
    s: stages.map((s) => [s.durationMs, round3(s.startRate), round3(s.endRate)]),
    k: scale ?? 1,
  });
  const fingerprint = createHash('sha256').update(canonical).digest('hex').slice(0, 12);
  const total = stages.reduce((n, s) => n + s.durationMs, 0);
  const peak = Math.max(...stages.map((s) => Math.max(s.startRate, s.endRate)));
  const summary =
    `${stages.length} stage${stages.length === 1 ? '' : 's'}, ${round3(total / 1000)}s, peak ${round3(peak)}/s` +
    (scale !== undefined && scale !== 1 ? `, duration ×${scale}` : '');
  return { fingerprint, summary, ...(scale === undefined ? {} : { durationScale: scale }) };
}

/** Why an entry cannot be compared with the run, or undefined when it can. */
export function incomparability(entry: BaselineEntry, run: RunResult, environment: string): string | undefined {
  if (entry.environment !== environment)
    return `baseline is from environment "${entry.environment}", this run is "${environment}"`;
  if (entry.engine !== run.engine)
    return `baseline was measured with engine ${entry.engine}, this run with ${run.engine}`;
  if (entry.phase !== run.phase) return `baseline is phase "${entry.phase}", this run is "${run.phase}"`;
  const shape = shapeOf(run);
  if (entry.shape !== shape.fingerprint) {
    return `load shape differs (baseline: ${entry.shapeSummary ?? entry.shape}; this run: ${shape.summary})`;
  }
  return undefined;
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
