// Line charts as inline SVG for report.html: no script, no font or stylesheet to fetch, drawn by any browser from
// the file alone. The charts of the comment are Mermaid `xychart-beta` blocks (charts.ts); parseXychart reads the
// subset charts.ts writes (title, a numeric or labelled x axis, a y range, lines, the colour palette), so the HTML
// page draws the very same series, and html.ts also hands full-resolution specs straight to lineChartSvg.
import { escapeHtml } from './text.js';

export interface LineChartSpec {
  title: string;
  xTitle?: string;
  /** A numeric axis from `from` to `to` (points spread evenly), or one label per point. */
  x: { from: number; to: number } | { labels: string[] };
  yTitle?: string;
  yMax: number;
  lines: Array<{ name: string; values: number[]; colour: string }>;
}

const DEFAULT_COLOURS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b'];

/** Reads a Mermaid xychart-beta block as charts.ts writes it; undefined for anything else. */
export function parseXychart(source: string): LineChartSpec | undefined {
  const lines = source.split('\n').map((l) => l.trim());
  if (!lines.includes('xychart-beta')) return undefined;
  const palette =
    /"plotColorPalette":\s*"([^"]*)"/
      .exec(source)?.[1]
      ?.split(',')
      .map((c) => c.trim())
      .filter(Boolean) ?? DEFAULT_COLOURS;
  const spec: LineChartSpec = { title: '', x: { from: 0, to: 1 }, yMax: 1, lines: [] };
  const quoted = (s: string): [string | undefined, string] => {
    const m = /^"([^"]*)"\s*(.*)$/.exec(s);
    return m ? [m[1], m[2]!] : [undefined, s];
  };
  const numbers = (s: string): number[] =>
    s
      .replace(/^\[|\]$/g, '')
      .split(',')
      .map((v) => Number(v.trim()))
      .filter((v) => Number.isFinite(v));
  for (const line of lines) {
    if (line.startsWith('title ')) spec.title = quoted(line.slice(6))[0] ?? line.slice(6);
    else if (line.startsWith('x-axis ')) {
      const [title, rest] = quoted(line.slice(7));
      if (title !== undefined) spec.xTitle = title;
      if (rest.startsWith('[')) spec.x = { labels: [...rest.matchAll(/"([^"]*)"/g)].map((m) => m[1]!) };
      else {
        const r = /(-?[\d.]+)\s*-->\s*(-?[\d.]+)/.exec(rest);
        if (r) spec.x = { from: Number(r[1]), to: Number(r[2]) };
      }
    } else if (line.startsWith('y-axis ')) {
      const [title, rest] = quoted(line.slice(7));
      if (title !== undefined) spec.yTitle = title;
      const r = /(-?[\d.]+)\s*-->\s*(-?[\d.]+)/.exec(rest);
      if (r) spec.yMax = Number(r[2]);
    } else if (line.startsWith('line ') || line.startsWith('bar ')) {
      const [name, rest] = quoted(line.slice(line.indexOf(' ') + 1));
      spec.lines.push({
        name: name ?? '',
        values: numbers(rest),
        colour: palette[spec.lines.length % palette.length] ?? '#555',
      });
    }
  }
  return spec.lines.length > 0 ? spec : undefined;
}

/** A round step (1, 2, 2.5 or 5 times a power of ten) giving about `count` steps over `span`. */
function niceStep(span: number, count: number): number {
  const raw = span / count;
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const exp = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * exp >= raw) return m * exp;
  return 10 * exp;
}

/** Multiples of a round step from `from` to `to`. */
function ticks(from: number, to: number, count: number): number[] {
  const step = niceStep(to - from, count);
  const out: number[] = [];
  for (let v = Math.ceil(from / step - 1e-9) * step; v <= to + 1e-9 * step; v += step)
    out.push(Number(v.toPrecision(12)));
  return out;
}

function label(v: number): string {
  const abs = Math.abs(v);
  if (abs >= 1e6) return `${Number((v / 1e6).toPrecision(3))}M`;
  if (abs >= 1e4) return `${Number((v / 1e3).toPrecision(3))}k`;
  return String(Number(v.toPrecision(abs >= 1 ? 4 : 3)));
}

/**
 * One chart: a title, a legend, the axes with ticks, and a polyline per series (`class="series"`, with the number
 * of points it draws in `data-points`, for the test that checks every chart draws).
 */
export function lineChartSvg(spec: LineChartSpec, opts: { width?: number; height?: number } = {}): string {
  const width = opts.width ?? 1180;
  const height = opts.height ?? 320;
  const left = 64;
  const right = 16;
  const top = 54;
  const bottom = 44;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const points = Math.max(1, ...spec.lines.map((l) => l.values.length));
  // The axis ends on a round tick at or above the range asked for.
  const wanted = spec.yMax > 0 ? spec.yMax : Math.max(1, ...spec.lines.flatMap((l) => l.values));
  const yStep = niceStep(wanted, 5);
  const yMax = Math.ceil(wanted / yStep - 1e-9) * yStep;
  const xAt = (i: number): number =>
    'labels' in spec.x
      ? left + ((i + 0.5) * plotW) / points
      : left + (points === 1 ? plotW / 2 : (i * plotW) / (points - 1));
  const yAt = (v: number): number => top + plotH - (Math.min(Math.max(v, 0), yMax) / yMax) * plotH;
  const f = (v: number): string => v.toFixed(1);
  const out: string[] = [];
  out.push(
    `<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="${escapeHtml(spec.title)}">`,
    `<title>${escapeHtml(spec.title)}</title>`,
    `<text x="${left}" y="18" class="chart-title">${escapeHtml(spec.title)}</text>`,
  );
  // Legend: a swatch and a name per series, in one row under the title.
  let lx = left;
  for (const l of spec.lines) {
    out.push(
      `<rect x="${lx}" y="28" width="14" height="4" fill="${escapeHtml(l.colour)}"/><text x="${lx + 18}" y="34" class="legend">${escapeHtml(l.name)}</text>`,
    );
    lx += 30 + l.name.length * 7;
  }
  // Y grid and ticks.
  for (const t of ticks(0, yMax, 5)) {
    const y = f(yAt(t));
    out.push(
      `<line x1="${left}" x2="${left + plotW}" y1="${y}" y2="${y}" class="grid"/><text x="${left - 6}" y="${y}" class="tick" text-anchor="end" dominant-baseline="middle">${label(t)}</text>`,
    );
  }
  // X ticks: numbers along a numeric axis; labels, thinned to what fits, along a labelled one.
  if ('labels' in spec.x) {
    const every = Math.max(1, Math.ceil(spec.x.labels.length / 14));
    spec.x.labels.forEach((text, i) => {
      if (i % every === 0)
        out.push(
          `<text x="${f(xAt(i))}" y="${top + plotH + 16}" class="tick" text-anchor="middle">${escapeHtml(text)}</text>`,
        );
    });
  } else {
    const { from, to } = spec.x;
    const span = to - from || 1;
    for (const t of ticks(from, to, 8)) {
      const x = left + ((t - from) / span) * plotW;
      out.push(
        `<line x1="${f(x)}" x2="${f(x)}" y1="${top + plotH}" y2="${top + plotH + 4}" class="axis"/><text x="${f(x)}" y="${top + plotH + 16}" class="tick" text-anchor="middle">${label(t)}</text>`,
      );
    }
  }
  out.push(
    `<line x1="${left}" x2="${left}" y1="${top}" y2="${top + plotH}" class="axis"/><line x1="${left}" x2="${left + plotW}" y1="${top + plotH}" y2="${top + plotH}" class="axis"/>`,
  );
  if (spec.xTitle)
    out.push(
      `<text x="${left + plotW / 2}" y="${height - 6}" class="axis-title" text-anchor="middle">${escapeHtml(spec.xTitle)}</text>`,
    );
  if (spec.yTitle)
    out.push(
      `<text x="14" y="${top + plotH / 2}" class="axis-title" text-anchor="middle" transform="rotate(-90 14 ${top + plotH / 2})">${escapeHtml(spec.yTitle)}</text>`,
    );
  for (const l of spec.lines) {
    const pts = l.values.map((v, i) => `${f(xAt(i))},${f(yAt(v))}`).join(' ');
    out.push(
      `<polyline class="series" data-series="${escapeHtml(l.name)}" data-points="${l.values.length}" fill="none" stroke="${escapeHtml(l.colour)}" stroke-width="2" stroke-linejoin="round" points="${pts}"/>`,
    );
    // A lone point draws no line: mark it.
    if (l.values.length === 1)
      out.push(`<circle cx="${f(xAt(0))}" cy="${f(yAt(l.values[0]!))}" r="3" fill="${escapeHtml(l.colour)}"/>`);
  }
  out.push('</svg>');
  return out.join('\n');
}
