// GFM tables read back out of a rendered report, checking on the way that each one is whole, as GitHub needs it
// to be to draw a table at all: blank lines around, a delimiter row, every row with as many cells as the header.
import { expect } from 'vitest';

export interface Table {
  /** Index of the header line in the document. */
  line: number;
  header: string[];
  rows: string[][];
}

/** Cells of a GFM table row, honouring `\|` escapes. */
export function cells(line: string): string[] {
  const inner = line
    .trim()
    .replace(/^\|/, '')
    .replace(/(?<!\\)\|$/, '');
  return inner.split(/(?<!\\)\|/).map((c) => c.trim());
}

/** Every table in a document, asserting on the way that none is malformed or cut. */
export function tablesOf(markdown: string): Table[] {
  const lines = markdown.split('\n');
  const tables: Table[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!lines[i]!.startsWith('|')) continue;
    const start = i;
    const block: string[] = [];
    while (i < lines.length && lines[i]!.startsWith('|')) block.push(lines[i++]!);
    expect(lines[start - 1], 'a table starts after a blank line').toBe('');
    expect(lines[i] ?? '', 'a table ends before a blank line').toBe('');
    expect(block.length, 'header, delimiter and at least one row').toBeGreaterThanOrEqual(3);
    const header = cells(block[0]!);
    const delimiter = cells(block[1]!);
    expect(delimiter.length).toBe(header.length);
    for (const d of delimiter) expect(d).toMatch(/^:?-+:?$/);
    const rows = block.slice(2).map(cells);
    for (const row of rows) expect(row.length, `row of ${header.join('|')}`).toBe(header.length);
    for (const l of block) expect(l.endsWith('|')).toBe(true);
    tables.push({ line: start, header, rows });
  }
  return tables;
}

/** The first table whose header starts with `firstHeader` (and `secondHeader`, when given). */
export function tableWith(markdown: string, firstHeader: string, secondHeader?: string): Table | undefined {
  return tablesOf(markdown).find(
    (t) => t.header[0] === firstHeader && (secondHeader === undefined || t.header[1] === secondHeader),
  );
}

/** A two-column table as label -> value. */
export function valuesByLabel(table: Table): Map<string, string> {
  return new Map(table.rows.map((r) => [r[0]!, r[1]!]));
}
