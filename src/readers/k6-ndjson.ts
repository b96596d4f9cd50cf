// k6 `--out json=file.json` (optionally gzip): one JSON object per line, `{"type":"Metric",...}` definitions
// and `{"type":"Point","metric":...,"data":{"time","value","tags"}}` samples. Files reach gigabytes, so the
// reader streams and keeps histograms and counters, never the samples: memory depends on the number of
// metrics, endpoints and intervals, not on the number of lines.
//
// Speed: k6 writes every Point with the same key order (`{"metric":"m","type":"Point","data":{"time":"...",
// "value":v,"tags":{...}}}` since v0.4x, `{"type":"Point","data":{...},"metric":"m"}` before), so the fields are
// cut out of the raw bytes at known places and only lines that do not fit the pattern go through JSON.parse,
// which also decides whether such a line is corrupt. The fixed parts are compared four bytes at a time; the
// metric, a tag key's place, a tag value and the timestamp are first tried against recent ones (a request's
// points repeat them); numbers are read from the bytes; a metric's accumulator hangs off its name's entry. So a
// point costs no allocation and at most one map lookup (its endpoint). Plain files are read into two reused
// buffers, the next read running while the current one is parsed. `npm run bench -- ndjson`: 5-8 times the
// points/s of readline + JSON.parse per line doing the same aggregation, at ~0.6 of its peak RSS (1M and 10M
// points, ~3 GB).
//
// The parts, in the order a line passes through them: k6-ndjson-bytes (patterns and byte helpers),
// k6-ndjson-tags (tag lookup), k6-ndjson-parser (lines to points), k6-ndjson-accumulator (points to counters
// and histograms), k6-ndjson-summary (those to a RunResult). This file streams the file into the parser.
import { open } from 'node:fs/promises';
import type { RunResult } from '../model.js';
import type { ReadOptions, ResultReader } from './types.js';
import { DEFAULT_INTERVAL_MS, inputError, inspectFile, isTruncatedGzip, openContent } from './util.js';
import { NEWLINE } from './k6-ndjson-bytes.js';
import { NdjsonAccumulator } from './k6-ndjson-accumulator.js';
import { CorruptLine, LineParser } from './k6-ndjson-parser.js';
import { buildResult } from './k6-ndjson-summary.js';
import { UserError } from '../errors.js';

const MAX_LINE_BYTES = 64 * 1024 * 1024;
/** Bytes per read of a plain file; two such buffers are all the file data held at once. */
const READ_BYTES = 1 << 20;

/**
 * The (decompressed) content in chunks. A plain file is read into two buffers in turn, the next read running
 * while the caller parses the current chunk: a chunk is valid until the caller asks for the next one.
 */
async function* contentChunks(path: string, gzip: boolean): AsyncGenerator<Buffer> {
  if (gzip) {
    const stream = openContent(path, true);
    try {
      for await (const chunk of stream) yield chunk as Buffer;
    } finally {
      stream.destroy();
    }
    return;
  }
  const fh = await open(path, 'r');
  const bufs = [Buffer.allocUnsafe(READ_BYTES), Buffer.allocUnsafe(READ_BYTES)];
  let which = 0;
  let position = 0;
  const read = (buf: Buffer) => {
    const p = fh.read(buf, 0, buf.length, position);
    p.catch(() => undefined); // awaited below; an early exit must not leave it unhandled
    return p;
  };
  let next: ReturnType<typeof read> | undefined = read(bufs[0]!);
  try {
    for (;;) {
      const { bytesRead, buffer } = await next;
      next = undefined;
      if (bytesRead === 0) return;
      position += bytesRead;
      which ^= 1;
      next = read(bufs[which]!);
      yield buffer.subarray(0, bytesRead);
    }
  } finally {
    if (next) await next.catch(() => undefined);
    await fh.close();
  }
}

export async function readNdjson(path: string, opts: ReadOptions): Promise<RunResult> {
  const info = await inspectFile(path);
  const intervalMs = opts.intervalMs && opts.intervalMs > 0 ? opts.intervalMs : DEFAULT_INTERVAL_MS;
  const acc = new NdjsonAccumulator(opts, intervalMs);
  const notes: string[] = [];
  const parser = new LineParser(acc);
  let carry: Buffer | null = null;
  let lineNo = 0;
  // A line that failed to parse: an error if anything follows it, a truncated last line if nothing does.
  let pending: { line: number; reason: string } | undefined;

  const handle = (s: number, e: number): void => {
    lineNo++;
    if (pending) {
      if (!/\S/.test(parser.text(s, e))) return;
      throw new UserError(`Results file ${path}, line ${pending.line}: not a valid k6 JSON line (${pending.reason}).`);
    }
    try {
      parser.line(s, e);
    } catch (err) {
      if (!(err instanceof CorruptLine)) throw err;
      pending = { line: lineNo, reason: err.message };
    }
  };
  const tooLong = () =>
    new UserError(
      `Results file ${path}, line ${lineNo + 1}: longer than ${MAX_LINE_BYTES / 1024 / 1024} MB, not k6 NDJSON.`,
    );

  // Lines are split on the newline byte and parsed as bytes: UTF-8 never uses the bytes of ASCII delimiters
  // inside a multi-byte character, so no decoding is needed until a string value is taken out.
  let gzipTruncated = false;
  try {
    for await (const buf of contentChunks(path, info.gzip)) {
      let s = 0;
      let nl = buf.indexOf(NEWLINE);
      if (carry) {
        if (nl === -1) {
          carry = Buffer.concat([carry, buf]);
          if (carry.length > MAX_LINE_BYTES) throw tooLong();
          continue;
        }
        const joined = Buffer.concat([carry, buf.subarray(0, nl)]);
        carry = null;
        parser.setChunk(joined);
        handle(0, joined.length);
        s = nl + 1;
        nl = buf.indexOf(NEWLINE, s);
      }
      parser.setChunk(buf);
      while (nl !== -1) {
        handle(s, nl);
        s = nl + 1;
        nl = buf.indexOf(NEWLINE, s);
      }
      // A copy: the chunk's buffer is read into again.
      if (s < buf.length) {
        carry = Buffer.from(buf.subarray(s));
        if (carry.length > MAX_LINE_BYTES) throw tooLong();
      }
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    if (info.gzip && isTruncatedGzip(err)) gzipTruncated = true;
    else throw inputError(path, err);
  }
  if (carry && carry.length > 0) {
    parser.setChunk(carry);
    handle(0, carry.length);
  }
  if (pending) {
    notes.push(
      `The last line (${pending.line}) is incomplete and was ignored: the file was probably cut off while k6 was writing it.`,
    );
  }
  if (gzipTruncated)
    notes.push(
      'The gzip file ends early (cut off while being written or copied): the points up to that place were read.',
    );
  return buildResult(acc, path, opts, notes);
}

export const k6NdjsonReader: ResultReader = {
  format: 'k6-ndjson',
  detect(head: string): boolean {
    const s = head.replace(/^\s+/, '');
    const nl = s.indexOf('\n');
    const first = nl === -1 ? s : s.slice(0, nl);
    return first.startsWith('{') && /"type"\s*:\s*"(Metric|Point)"/.test(first) && /"metric"\s*:\s*"/.test(first);
  },
  read: readNdjson,
};
