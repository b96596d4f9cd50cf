// A flow's data file, read once at start into one table of rows; each arrival takes a reference to a row, never a
// copy, so a 100,000-row file costs its parse once and nothing per arrival. Values are never put into messages:
// a users file holds passwords, and a headerless file's first line is data.
import { readFileSync, statSync } from 'node:fs';
import { UserError, messageOf } from '../errors.js';
import type { FlowData } from './steps.js';
import { JsonLimitError, parseJsonBounded } from '../json.js';

export interface DataTable {
  columns: string[];
  /** rows[i][c] is the value of column c; CSV cells are strings, JSON values keep their JSON type. */
  rows: unknown[][];
}

/** Column names are what templates refer to, so they follow the template name rules. */
const COLUMN = /^[A-Za-z_][A-Za-z0-9_-]*$/;
const MAX_FILE_BYTES = 512 * 1024 * 1024;

export function readDataFile(data: FlowData, where: string): DataTable {
  let size: number;
  try {
    size = statSync(data.file).size;
  } catch {
    throw new UserError(`${where}: data file "${data.source}" does not exist (looked in ${data.file})`);
  }
  if (size > MAX_FILE_BYTES)
    throw new UserError(
      `${where}: data file "${data.source}" is ${Math.round(size / 1048576)} MiB; at most ${MAX_FILE_BYTES / 1048576} MiB is read`,
    );
  let text: string;
  try {
    text = readFileSync(data.file, 'utf8');
  } catch (e) {
    throw new UserError(
      `${where}: cannot read data file "${data.source}": ${(e as NodeJS.ErrnoException).code ?? messageOf(e)}`,
    );
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  if (text.trim() === '') throw new UserError(`${where}: data file "${data.source}" is empty`);
  const table =
    /\.json$/i.test(data.file) || /^\s*\[/.test(text)
      ? parseJsonRows(text, data.source, where)
      : parseCsv(text, data.source, where);
  if (table.rows.length === 0)
    throw new UserError(
      `${where}: data file "${data.source}" has no data rows (only ${table.columns.length ? 'a header' : 'nothing'})`,
    );
  return table;
}

function parseJsonRows(text: string, source: string, where: string): DataTable {
  let value: unknown;
  try {
    // Bounded in depth: a value nested 100,000 levels deep put into a template would overflow the stack of every
    // request that sends it (and did, from a timer, ending the process).
    value = parseJsonBounded(text);
  } catch (e) {
    if (e instanceof JsonLimitError)
      throw new UserError(
        `${where}: data file "${source}" cannot be used: ${e.message} (a data value is put into requests as it is)`,
      );
    throw new UserError(`${where}: data file "${source}" is not valid JSON: ${messageOf(e).split('\n')[0]}`);
  }
  if (!Array.isArray(value))
    throw new UserError(`${where}: data file "${source}" must be a JSON array of objects (one per row)`);
  const index = new Map<string, number>();
  const columns: string[] = [];
  value.forEach((row, i) => {
    if (row === null || typeof row !== 'object' || Array.isArray(row))
      throw new UserError(`${where}: data file "${source}": element ${i} is not an object`);
    for (const key of Object.keys(row)) {
      if (index.has(key)) continue;
      if (!COLUMN.test(key))
        throw new UserError(
          `${where}: data file "${source}": key ${JSON.stringify(key.slice(0, 40))} of element ${i} is not usable as a template name (letters, digits, _ and -)`,
        );
      index.set(key, columns.length);
      columns.push(key);
    }
  });
  const rows = value.map((row: Record<string, unknown>) => {
    const out = new Array<unknown>(columns.length).fill(undefined);
    for (const key of Object.keys(row)) out[index.get(key)!] = row[key];
    return out;
  });
  return { columns, rows };
}

/** RFC 4180 CSV: a header row, quoted fields with "" for a quote, CRLF or LF line ends; blank lines skipped. */
export function parseCsv(text: string, source: string, where: string): DataTable {
  const records: string[][] = [];
  let field = '';
  let record: string[] = [];
  let quoted = false;
  let i = 0;
  const n = text.length;
  const endRecord = (): void => {
    record.push(field);
    field = '';
    if (!(record.length === 1 && record[0] === '')) records.push(record);
    record = [];
  };
  while (i < n) {
    const c = text.charCodeAt(i);
    if (quoted) {
      if (c === 34 /* " */) {
        if (text.charCodeAt(i + 1) === 34) {
          field += '"';
          i += 2;
          continue;
        }
        quoted = false;
        i++;
        continue;
      }
      const next = text.indexOf('"', i);
      const end = next < 0 ? n : next;
      field += text.slice(i, end);
      i = end;
      continue;
    }
    if (c === 34 && field === '') {
      quoted = true;
      i++;
    } else if (c === 44 /* , */) {
      record.push(field);
      field = '';
      i++;
    } else if (c === 10 || c === 13) {
      endRecord();
      i += c === 13 && text.charCodeAt(i + 1) === 10 ? 2 : 1;
    } else {
      let j = i;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (d === 44 || d === 10 || d === 13) break;
        j++;
      }
      field += text.slice(i, j);
      i = j;
    }
  }
  if (quoted) throw new UserError(`${where}: data file "${source}": a quoted field is never closed`);
  if (field !== '' || record.length > 0) endRecord();
  const header = records.shift();
  if (!header) throw new UserError(`${where}: data file "${source}" is empty`);
  const columns = header.map((h) => h.trim());
  const bad = columns.findIndex((h) => !COLUMN.test(h));
  if (bad >= 0) {
    // The cell itself is not shown: in a file without a header it is a user's data (an e-mail, a password).
    throw new UserError(
      `${where}: data file "${source}" has no header row: its first line must name the columns (letters, digits, _ and -, ` +
        `e.g. email,password), but column ${bad + 1} of it is not such a name`,
    );
  }
  // One pass with a set: indexOf per column made a 1,000,000-column header take minutes.
  const seen = new Set<string>();
  const dup = columns.find((h) => seen.size === seen.add(h).size);
  if (dup !== undefined)
    throw new UserError(`${where}: data file "${source}": column "${dup}" appears twice in the header row`);
  records.forEach((r, k) => {
    if (r.length !== columns.length) {
      throw new UserError(
        `${where}: data file "${source}": line ${k + 2} has ${r.length} field(s), the header has ${columns.length}`,
      );
    }
  });
  return { columns, rows: records };
}
