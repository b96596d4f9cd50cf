// Number formatting shared by the Markdown and terminal renderers. Fixed to en-US so a report reads the same on
// every runner, whatever its locale. A value that was not measured is `—`, never 0: a zero would claim a result.
import type { MetricUnit } from './model.js';

export const MISSING = '—';

const formatters = new Map<string, Intl.NumberFormat>();

function numberFormat(maxFraction: number, significant?: number): Intl.NumberFormat {
  const key = `${maxFraction}:${significant ?? ''}`;
  let nf = formatters.get(key);
  if (!nf) {
    nf =
      significant === undefined
        ? new Intl.NumberFormat('en-US', { maximumFractionDigits: maxFraction })
        : new Intl.NumberFormat('en-US', { maximumSignificantDigits: significant });
    formatters.set(key, nf);
  }
  return nf;
}

function isNumber(value: number | undefined): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}

function msDigits(ms: number): number {
  const abs = Math.abs(ms);
  if (abs === 0 || abs >= 100) return 0;
  if (abs >= 10) return 1;
  return 2;
}

function percentDigits(p: number): number {
  const abs = Math.abs(p);
  if (abs === 0 || abs >= 100) return 0;
  if (abs >= 10) return 1;
  return 2;
}

function rateDigits(r: number): number {
  const abs = Math.abs(r);
  if (abs === 0 || abs >= 1000) return 0;
  if (abs >= 10) return 1;
  return 2;
}

/**
 * Milliseconds, always in ms: targets are written in ms (`p99 < 500ms`), so switching to seconds above 1000 would
 * make the Actual column harder to compare with the Target column next to it.
 */
export function formatMs(ms: number | undefined, extraDigits = 0): string {
  if (!isNumber(ms)) return MISSING;
  return `${numberFormat(msDigits(ms) + extraDigits).format(ms)} ms`;
}

/** A percentage given in percent (0.42 means 0.42 %). */
export function formatPercent(percent: number | undefined, extraDigits = 0): string {
  if (!isNumber(percent)) return MISSING;
  const abs = Math.abs(percent);
  // 0.004 % rounded to two decimals would print as a reassuring but false `0 %`.
  if (abs > 0 && abs < 0.01 && extraDigits === 0) return `${numberFormat(0, 2).format(percent)} %`;
  return `${numberFormat(percentDigits(percent) + extraDigits).format(percent)} %`;
}

/** A rate per second. */
export function formatRate(perSecond: number | undefined, extraDigits = 0): string {
  if (!isNumber(perSecond)) return MISSING;
  return `${numberFormat(rateDigits(perSecond) + extraDigits).format(perSecond)}/s`;
}

export function formatCount(count: number | undefined, extraDigits = 0): string {
  if (!isNumber(count)) return MISSING;
  return numberFormat(Number.isInteger(count) ? extraDigits : 2 + extraDigits).format(count);
}

export function formatValue(value: number | undefined, unit: MetricUnit, extraDigits = 0): string {
  switch (unit) {
    case 'ms':
      return formatMs(value, extraDigits);
    case '%':
      return formatPercent(value, extraDigits);
    case '/s':
      return formatRate(value, extraDigits);
    case 'count':
      return formatCount(value, extraDigits);
  }
}

/**
 * Formats an actual value so it never prints the same as the threshold it is compared with unless it equals it:
 * `500 ms` in the Actual column next to `< 500 ms` and a failed status (it was 500.4) reads as a bug.
 */
export function formatAgainst(actual: number | undefined, threshold: number, unit: MetricUnit): string {
  if (!isNumber(actual)) return MISSING;
  const thresholdText = formatValue(threshold, unit);
  let text = formatValue(actual, unit);
  for (let extra = 1; text === thresholdText && actual !== threshold && extra <= 4; extra++) {
    text = formatValue(actual, unit, extra);
  }
  return text;
}

/** A run length for reading (reports, log lines about the run): `850 ms`, `42 s`, `2 min 30 s`, `1 h 5 min`. */
export function formatDuration(ms: number | undefined): string {
  if (!isNumber(ms)) return MISSING;
  if (ms < 1000) return formatMs(ms);
  const totalSeconds = ms / 1000;
  if (totalSeconds < 60) return `${numberFormat(totalSeconds < 10 ? 1 : 0).format(totalSeconds)} s`;
  const rounded = Math.round(totalSeconds);
  const hours = Math.floor(rounded / 3600);
  const minutes = Math.floor((rounded % 3600) / 60);
  const seconds = rounded % 60;
  if (hours > 0) return minutes > 0 ? `${hours} h ${minutes} min` : `${hours} h`;
  return seconds > 0 ? `${minutes} min ${seconds} s` : `${minutes} min`;
}

/**
 * A duration as a workflow file spells it (`500ms`, `1.5s`, `1m30s`, `1h`): what units.ts parseDuration reads back,
 * for messages that quote a config value or suggest one.
 */
export function formatDurationCompact(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const totalS = Math.round(ms / 1000);
  if (totalS < 60) return `${Number((ms / 1000).toFixed(1))}s`;
  const h = Math.floor(totalS / 3600);
  const m = Math.floor((totalS % 3600) / 60);
  const s = totalS % 60;
  return [h ? `${h}h` : '', m ? `${m}m` : '', s ? `${s}s` : ''].join('') || '0s';
}
