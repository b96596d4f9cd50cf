// How the regression comparison writes its reasons: tolerances, changes, ages. Pure text, no judgement.
import type { BaselineEntry, RegressionFloor } from '../model.js';
import { type AppliedRule, floorValue, fmt } from './regression-floor.js';
import type { RegressionRule } from './regression-rules.js';

/** `+10% and +20ms` as written; a derived floor says where it came from: `+10% and the 6.1 ms floor from the history's spread`. */
export function describeTolerance(rule: AppliedRule): string {
  const sign = rule.better === 'lower' ? '+' : '-';
  const relative = rule.relativePercent !== undefined ? `${sign}${rule.relativePercent}%` : undefined;
  const from = rule.floor === undefined ? undefined : FLOOR_FROM[rule.floor.basis];
  if (rule.absolute === undefined) return relative ?? '';
  if (from === undefined)
    return [relative, `${sign}${fmt(rule.absolute)}${rule.unit === 'ms' ? 'ms' : rule.unit}`]
      .filter(Boolean)
      .join(' and ');
  return `${relative ? `${relative} and ` : ''}the ${floorValue(rule.floor!)} floor ${from}`;
}

const FLOOR_FROM: Record<RegressionFloor['basis'], string | undefined> = {
  rule: undefined,
  history: "from the history's spread",
  sampling: 'from the sampling noise',
  resolution: "at the histogram's resolution",
};

export function changeText(rule: RegressionRule, c: number, b: number): string {
  // A rate near zero reads best as percentage points: "+0.4pp (0% → 0.4%)", not "+∞%".
  if (rule.unit === 'pp') return `${signed(c - b)}pp (${fmt(b)}% → ${fmt(c)}%)`;
  const u = rule.unit === 'ms' ? ' ms' : '/s';
  const rel = b !== 0 ? `${signed(((c - b) / Math.abs(b)) * 100)}%` : c === b ? '±0' : 'from 0';
  return `${rel} (${fmt(b)}${u} → ${fmt(c)}${u})`;
}

export function pct(logShift: number): number {
  return (Math.exp(logShift) - 1) * 100;
}

export function signed(n: number): string {
  const digits = fmt(Math.abs(n));
  return digits === '0' ? '±0' : `${n >= 0 ? '+' : '-'}${digits}`;
}

export function fmtZ(z: number): string {
  return Number.isFinite(z) ? z.toFixed(1) : '∞';
}

export function round(n: number, digits: number): number {
  return Math.round(n * 10 ** digits) / 10 ** digits;
}

export function short(sha: string): string {
  return sha.slice(0, 7);
}

export function shaAndDate(e: BaselineEntry): { sha?: string; createdAt?: string } {
  return { ...(e.sha ? { sha: e.sha } : {}), createdAt: e.createdAt };
}

export function ageText(iso: string, now: Date): string | undefined {
  const ms = now.getTime() - Date.parse(iso);
  if (!Number.isFinite(ms) || ms < 0) return undefined;
  const min = ms / 60_000;
  if (min < 90) return `${Math.max(1, Math.round(min))} min`;
  const h = min / 60;
  if (h < 36) return `${Math.round(h)} h`;
  return `${Math.round(h / 24)} days`;
}

export function join(parts: ReadonlyArray<string | undefined>): string {
  return parts.filter((p): p is string => !!p).join('; ');
}
