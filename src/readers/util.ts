// the error definition every format is normalised to, and the bookkeeping the merge step needs.
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { basename, isAbsolute, relative, resolve } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import { type CustomMetric, type ErrorKind, type LatencyStats, type RunResult, blankRunResult } from '../model.js';
import type { Histogram } from '../metrics/histogram.js';
import { JsonLimitError, parseJsonBounded } from '../json.js';
import type { ReadOptions } from './types.js';
import { UserError, messageOf } from '../errors.js';

export const DEFAULT_INTERVAL_MS = 10_000;

// ---------------------------------------------------------------------------------------------------------
// Untrusted JSON: every field may be missing or of the wrong type, so nothing is read without a check.

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function obj(v: unknown): Obj | undefined {
  return isObj(v) ? v : undefined;
}

/**
 * Largest magnitude taken as data. Every count, latency, byte total and epoch time in these files is far below
 * it; anything above is junk, and refusing it keeps sums and weighted means finite.
 */
export const MAX_PLAUSIBLE = 1e15;

/** A finite number of plausible size, or a numeric string (Artillery writes `period` as a string). */
export function num(v: unknown): number | undefined {
  let n: number | undefined;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string' && /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(v.trim())) n = Number(v);
  return n !== undefined && Number.isFinite(n) && Math.abs(n) <= MAX_PLAUSIBLE ? n : undefined;
}

/** A finite number that is not negative: counts, durations and latencies. */
export function nonNeg(v: unknown): number | undefined {
  const n = num(v);
  return n !== undefined && n >= 0 ? n : undefined;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** Children of a node that k6 writes as an object keyed by name (summary-export) or as an array (handleSummary). */
export function children(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  if (isObj(v)) return Object.values(v);
  return [];
}

export function numericEntries(v: unknown): Array<[string, number]> {
  const o = obj(v);
  if (!o) return [];
  const out: Array<[string, number]> = [];
  for (const [k, x] of Object.entries(o)) {
    const n = num(x);
    if (n !== undefined) out.push([k, n]);
  }
  return out;
}

export function parseTime(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) && v > 0 ? v : undefined;
  if (typeof v !== 'string') return undefined;
  const n = num(v);
  if (n !== undefined) return n > 0 ? n : undefined;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Files

/** How a path appears in messages and in `sourceFiles`: relative to the workspace when it is inside it. */
export function displayPath(path: string): string {
  const abs = resolve(path);
  const rel = relative(process.cwd(), abs);
  return rel && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
}

export function fileLabel(path: string): string {
  return basename(path);
}

function fsError(path: string, err: unknown): UserError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new UserError(`Results file not found: ${path}`);
  if (code === 'EISDIR') return new UserError(`Results path is a directory, not a file: ${path}`);
  if (code === 'EACCES' || code === 'EPERM')
    return new UserError(`Results file is not readable (permission denied): ${path}`);
  const msg = messageOf(err);
  return new UserError(`Could not read results file ${path}: ${msg}`);
}

export interface FileInfo {
  gzip: boolean;
  size: number;
  mtimeMs: number;
}

/** Checks the file exists and is a regular file, and sniffs the gzip magic bytes (content, not the name). */
export async function inspectFile(path: string): Promise<FileInfo> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    throw fsError(path, err);
  }
  if (st.isDirectory()) throw new UserError(`Results path is a directory, not a file: ${path}`);
  if (!st.isFile()) throw new UserError(`Results path is not a regular file: ${path}`);
  if (st.size === 0) throw new UserError(`Results file is empty: ${path}`);
  let gzip = false;
  try {
    const fh = await open(path, 'r');
    try {
      const buf = Buffer.alloc(2);
      const { bytesRead } = await fh.read(buf, 0, 2, 0);
      gzip = bytesRead === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
    } finally {
      await fh.close();
    }
  } catch (err) {
    throw fsError(path, err);
  }
  return { gzip, size: st.size, mtimeMs: st.mtimeMs };
}

/** A byte stream of the file's content, decompressed when it is gzip. Errors arrive on the returned stream. */
export function openContent(path: string, gzip: boolean, highWaterMark = 1 << 20): Readable {
  const src = createReadStream(path, { highWaterMark });
  if (!gzip) return src;
  const gunzip = createGunzip({ chunkSize: 1 << 16 });
  src.on('error', (err) => gunzip.destroy(err));
  src.pipe(gunzip);
  return gunzip;
}

/** zlib says the compressed data simply stopped: the file was cut short, not corrupted. */
export function isTruncatedGzip(err: unknown): boolean {
  const e = err as NodeJS.ErrnoException | undefined;
  return e?.code === 'Z_BUF_ERROR' || /unexpected end of file/i.test(e?.message ?? '');
}

export function isZlibError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  return code.startsWith('Z_') || code === 'ERR_ZLIB_INITIALIZATION_FAILED';
}

export function inputError(path: string, err: unknown): UserError {
  if (err instanceof UserError) return err;
  if (isZlibError(err)) {
    const msg = messageOf(err);
    return new UserError(`Results file ${path} looks gzip-compressed but could not be decompressed (${msg})`);
  }
  return fsError(path, err);
}

/** The first `maxChars` characters of the (decompressed) content, for format detection. */
export async function readHead(path: string, info: FileInfo, maxChars = 64 * 1024): Promise<string> {
  const stream = openContent(path, info.gzip, 64 * 1024);
  const decoder = new StringDecoder('utf8');
  let text = '';
  try {
    for await (const chunk of stream) {
      text += decoder.write(chunk as Buffer);
      if (text.length >= maxChars) break;
    }
  } catch (err) {
    // A cut-short gzip still has a readable beginning; detection can use what came out.
    if (!(info.gzip && isTruncatedGzip(err) && text.length > 0)) throw inputError(path, err);
  } finally {
    stream.destroy();
  }
  return stripBom(text.slice(0, maxChars));
}

/**
 * The most of a one-document results file (decompressed) that is read: far above any real summary or report
 * (a k6 summary is kilobytes, an Artillery report of an hour a few MB), and below V8's longest string, which would
 * otherwise end the read in a RangeError. Line-per-record formats (k6 NDJSON) are streamed and have no such cap.
 */
export const MAX_DOCUMENT_BYTES = 256 * 1024 * 1024;

/** The whole (decompressed) content as text, for the formats that are one JSON document. */
export async function readText(path: string, info: FileInfo): Promise<string> {
  const stream = openContent(path, info.gzip);
  const decoder = new StringDecoder('utf8');
  const parts: string[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      // Counted as it is read, so a small gzip that inflates to gigabytes stops here too.
      if (size > MAX_DOCUMENT_BYTES) {
        throw new UserError(
          `Results file ${path} is larger than ${MAX_DOCUMENT_BYTES / 1048576} MiB${info.gzip ? ' once decompressed' : ''}: no single-document results file is; it is not read`,
        );
      }
      parts.push(decoder.write(chunk as Buffer));
    }
  } catch (err) {
    if (err instanceof UserError) throw err;
    if (info.gzip && isTruncatedGzip(err)) {
      throw new UserError(`Results file ${path} is a gzip file that ends early (truncated download or copy?)`);
    }
    throw inputError(path, err);
  }
  parts.push(decoder.end());
  return stripBom(parts.join(''));
}

export function stripBom(s: string): string {
  return s.charCodeAt(0) === 0xfeff ? s.slice(1) : s;
}

export function parseJsonDocument(text: string, path: string): unknown {
  try {
    // Bounded in depth: a document nested 100,000 levels deep would overflow the stack of every walk after the parse.
    return parseJsonBounded(text);
  } catch (err) {
    if (err instanceof JsonLimitError)
      throw new UserError(`Results file ${path} cannot be read: ${err.message}; no results file of a load test is`);
    const msg = messageOf(err);
    throw new UserError(`Results file ${path} is not valid JSON (${msg}); it may be truncated or not a results file`);
  }
}

export async function readJsonFile(path: string): Promise<{ doc: unknown; info: FileInfo }> {
  const info = await inspectFile(path);
  const text = await readText(path, info);
  return { doc: parseJsonDocument(text, path), info };
}

/** The start of a JSON object, ignoring whitespace: every single-document format is an object. */
export function looksLikeJsonObject(head: string): boolean {
  return /^\s*\{/.test(head);
}

// ---------------------------------------------------------------------------------------------------------
// The one error definition: HTTP 5xx + transport errors, and 4xx only when asked.

export function statusIsError(status: number, opts: ReadOptions): boolean {
  return status >= 500 || (opts.count4xxAsErrors && status >= 400 && status < 500);
}

export function statusKind(status: number): ErrorKind | undefined {
  if (status >= 500) return 'http_5xx';
  if (status >= 400) return 'http_4xx';
  return undefined;
}

// Node and Artillery error codes that mean a request never got a response.
const TRANSPORT_CODES: Record<string, ErrorKind> = {
  ETIMEDOUT: 'timeout',
  ESOCKETTIMEDOUT: 'timeout',
  ERR_SOCKET_CONNECTION_TIMEOUT: 'timeout',
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  ECONNABORTED: 'connection_reset',
  EPIPE: 'connection_reset',
  ERR_STREAM_PREMATURE_CLOSE: 'connection_reset',
  ENOTFOUND: 'dns',
  EAI_AGAIN: 'dns',
  EAI_FAIL: 'dns',
  EAI_NONAME: 'dns',
};

/**
 * The error kind of an Artillery `errors.<key>` counter, or undefined when the key is not a network error
 * (Artillery also files script failures such as `Undefined function "x"` under `errors.`; those failed a
 * virtual user before any request was sent, so they are not request errors).
 */
export function transportErrorKind(key: string): ErrorKind | undefined {
  const tokens = key.split(/\s+/).filter(Boolean);
  for (const t of tokens) {
    const kind = Object.hasOwn(TRANSPORT_CODES, t) ? TRANSPORT_CODES[t] : undefined;
    if (kind) return kind;
  }
  // Any other errno-style code (EADDRNOTAVAIL, EHOSTUNREACH, ERR_TLS_CERT_ALTNAME_INVALID, ...) on its own, or
  // as the code in "<syscall> <CODE> <address>" the way Node words socket errors.
  const code =
    tokens.length === 1 ? tokens[0] : tokens.length >= 2 && /^[a-z]+$/.test(tokens[0]!) ? tokens[1] : undefined;
  if (code && /^(E[A-Z0-9_]{2,}|ERR_[A-Z0-9_]+|[A-Z_]*CERT[A-Z_]*|UNABLE_TO_[A-Z_]+)$/.test(code)) return 'other';
  return undefined;
}

// k6's error_code tag (lib/netext/httpext/error_codes.go): 1050 request timeout, 11xx DNS, 1211 dial timeout,
// 1212 connection refused, 1201 broken pipe, 1220 reset by peer.
export function k6ErrorCodeKind(code: number | undefined): ErrorKind {
  if (code === undefined) return 'other';
  if (code === 1050 || code === 1211) return 'timeout';
  if (code === 1212) return 'connection_refused';
  if (code === 1201 || code === 1220) return 'connection_reset';
  if (code >= 1100 && code < 1200) return 'dns';
  return 'other';
}

export function addCount<K extends string>(rec: Partial<Record<K, number>>, key: K, n: number): void {
  rec[key] = (rec[key] ?? 0) + n;
}

export function errorRatePct(errors: number, requests: number): number | undefined {
  return requests > 0 ? (errors / requests) * 100 : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Percentile naming shared by all formats: p50, p90, p95, p99, p999 in LatencyStats; other percentiles as
// `p<N>` (p75, p99.99) in custom metric values.

export function percentileKey(p: number): string {
  if (p === 99.9) return 'p999';
  return `p${p}`;
}

export function setIfDefined<T extends object, K extends keyof T>(target: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) target[key] = value;
}

/** Copy LatencyStats-compatible fields out of a custom-metric value record. */
export function latencyFromValues(values: Record<string, number>, count: number): LatencyStats {
  const out: LatencyStats = { count };
  if (count === 0) return out;
  setIfDefined(out, 'min', nonNeg(values.min));
  setIfDefined(out, 'mean', nonNeg(values.avg));
  setIfDefined(out, 'p50', nonNeg(values.p50));
  setIfDefined(out, 'p90', nonNeg(values.p90));
  setIfDefined(out, 'p95', nonNeg(values.p95));
  setIfDefined(out, 'p99', nonNeg(values.p99));
  setIfDefined(out, 'p999', nonNeg(values.p999));
  setIfDefined(out, 'max', nonNeg(values.max));
  return out;
}

export function rateMetric(trues: number, total: number): CustomMetric {
  return { type: 'rate', values: { rate: total > 0 ? trues / total : 0, count: trues, total } };
}

export function counterMetric(count: number, durationMs: number, perSecond?: number): CustomMetric {
  const values: Record<string, number> = { count };
  const rate = perSecond ?? (durationMs > 0 ? count / (durationMs / 1000) : undefined);
  if (rate !== undefined && Number.isFinite(rate)) values.rate = rate;
  return { type: 'counter', values };
}

// ---------------------------------------------------------------------------------------------------------
// Building a RunResult

export function emptyResult(path: string, opts: ReadOptions, toolName: string): RunResult {
  const now = new Date(0).toISOString();
  return blankRunResult({
    engine: 'results',
    tool: { name: toolName },
    sourceFiles: [displayPath(path)],
    phase: opts.phase,
    startedAt: now,
    endedAt: now,
    durationMs: 0,
  });
}

export function setTimes(r: RunResult, startMs: number, endMs: number): void {
  const s = Number.isFinite(startMs) ? startMs : 0;
  const e = Number.isFinite(endMs) && endMs >= s ? endMs : s;
  r.startedAt = safeIso(s);
  r.endedAt = safeIso(e);
  r.durationMs = e - s;
}

function safeIso(ms: number): string {
  const d = new Date(ms);
  return Number.isFinite(d.getTime()) ? d.toISOString() : new Date(0).toISOString();
}

/** Fills errorRate and throughput from the counts, so every reader derives them the same way. */
export function finishRates(r: RunResult, opts: { errorsKnown: boolean; throughputRps?: number }): void {
  if (r.errors > r.requests) r.errors = r.requests;
  const rate = opts.errorsKnown ? errorRatePct(r.errors, r.requests) : undefined;
  if (rate !== undefined) r.errorRate = rate;
  else delete r.errorRate;
  const tp = opts.throughputRps ?? (r.durationMs > 0 ? r.requests / (r.durationMs / 1000) : undefined);
  if (tp !== undefined && Number.isFinite(tp) && (r.requests > 0 || opts.throughputRps !== undefined))
    r.throughputRps = tp;
}

// ---------------------------------------------------------------------------------------------------------
// What a reader knows that the RunResult has no field for, kept beside it for the merge step.

export interface ReaderMeta {
  /** k6 percentiles interpolate between samples; Artillery and the built-in engine use nearest rank. */
  percentileMethod: 'interpolated' | 'nearest';
  /** Start and end times were derived (file modification time), not recorded by the tool. */
  timesEstimated?: boolean;
  /** Exact distributions of custom trends, by custom metric name (k6 NDJSON). */
  trendHistograms?: Map<string, Histogram>;
  /** Custom trend values that could not be kept in a histogram (negative or huge). */
  trendOutOfRange?: Set<string>;
  /** A perf-gate results.json: one whole run of its own (or a shard of one), never a worker beside others. */
  wholeRun?: boolean;
}

const metaStore = new WeakMap<RunResult, ReaderMeta>();

export function setMeta(r: RunResult, meta: ReaderMeta): void {
  metaStore.set(r, meta);
}

export function getMeta(r: RunResult): ReaderMeta | undefined {
  return metaStore.get(r);
}
