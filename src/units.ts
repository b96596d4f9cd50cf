// Durations and rates as people write them in workflow files: `30s`, `2m`, `1h30m`, `500ms`, `1.5s`.

const DURATION_PART = /(\d+(?:\.\d+)?)\s*(ms|s|m|h)/gy;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses a duration to ms; undefined when the text is not a duration. A bare number is seconds. */
export function parseDuration(text: string): number | undefined {
  const s = text.trim().toLowerCase();
  if (s === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(s)) return Number(s) * 1000;
  DURATION_PART.lastIndex = 0;
  let total = 0;
  let pos = 0;
  for (;;) {
    DURATION_PART.lastIndex = pos;
    const m = DURATION_PART.exec(s);
    if (!m) break;
    total += Number(m[1]) * UNIT_MS[m[2]!]!;
    pos = DURATION_PART.lastIndex;
    while (s[pos] === ' ') pos++;
  }
  return pos === s.length && pos > 0 ? total : undefined;
}

/** Parses an arrival rate: `100`, `100/s`, `6000/m`, `50 rps`. */
export function parseRate(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(\/s|\/m|\/min|rps|req\/s|\/sec)?\s*$/i.exec(text);
  if (!m) return undefined;
  const n = Number(m[1]);
  const unit = (m[2] ?? '').toLowerCase();
  return unit === '/m' || unit === '/min' ? n / 60 : n;
}
