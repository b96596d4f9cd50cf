// "Did you mean": the nearest allowed name to a mistyped one, for unknown keys, phases, presets and metrics.

/** Optimal string alignment distance (a swap of two neighbours counts once: `warmpu` is one step from `warmup`). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/** The closest candidate within a third of the word's length (at least 1, at most 3 edits), else undefined. */
export function closest(word: string, candidates: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  const limit = Math.min(3, Math.max(1, Math.floor(w.length / 3)));
  let best: { name: string; d: number } | undefined;
  for (const c of candidates) {
    const lc = c.toLowerCase();
    // `flow` for `flows`, `target` for `targets`: a prefix of the right name is the likeliest slip of all.
    const d = lc.startsWith(w) && w.length >= 3 && lc.length - w.length <= 2 ? 0.5 : editDistance(w, lc);
    if (d <= limit && (!best || d < best.d)) best = { name: c, d };
  }
  return best?.name;
}

/** ` (did you mean "warmup"?)`, or '' when nothing is close. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const near = closest(word, candidates);
  return near !== undefined && near !== word ? ` (did you mean "${near}"?)` : '';
}
