import type { Logger } from '../../src/log.js';
// A Logger that keeps what it was told, for tests that assert on log lines (and that nothing secret is in them).

export type MemoryLog = Logger & { lines: string[] };

/**
 * `plain`: every line as logged, debug included. `warnings`: warnings marked `warning: `, debug lines dropped
 * (what a user sees without debug logging). `levels`: every line marked with its level (`info: `, ...).
 */
export function memoryLog(style: 'plain' | 'warnings' | 'levels' = 'plain'): MemoryLog {
  const lines: string[] = [];
  if (style === 'levels') {
    return {
      lines,
      info: (m) => lines.push(`info: ${m}`),
      warning: (m) => lines.push(`warning: ${m}`),
      debug: (m) => lines.push(`debug: ${m}`),
    };
  }
  if (style === 'warnings')
    return { lines, info: (m) => lines.push(m), warning: (m) => lines.push(`warning: ${m}`), debug: () => undefined };
  return { lines, info: (m) => lines.push(m), warning: (m) => lines.push(m), debug: (m) => lines.push(m) };
}
