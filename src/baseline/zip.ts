// Just enough of the ZIP format to read a GitHub Actions artifact: find the end-of-central-directory record,
// walk the central directory (it has the reliable sizes even when entries use data descriptors), and inflate each
// entry with node:zlib. No ZIP64, encryption or multi-disk archives: an artifact of a few results files is far
// below 4 GB, and such an archive is reported as unsupported rather than misread.
import { inflateRawSync } from 'node:zlib';

export interface ZipEntry {
  name: string;
  data: Buffer;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

/** Refuse to inflate more than this per entry: a results file is kilobytes; this is a zip bomb guard. */
const MAX_ENTRY_BYTES = 64 * 1024 * 1024;

export class ZipError extends Error {
  override name = 'ZipError';
}

/** Reads every file entry (folders skipped). `want` filters by name before anything is inflated. */
export function readZip(buf: Buffer, want: (name: string) => boolean = () => true): ZipEntry[] {
  const eocd = findEocd(buf);
  const count = buf.readUInt16LE(eocd + 10);
  const size = buf.readUInt32LE(eocd + 12);
  let offset = buf.readUInt32LE(eocd + 16);
  if (offset === 0xffffffff || count === 0xffff) throw new ZipError('ZIP64 archives are not supported');
  if (offset + size > buf.length)
    throw new ZipError('the central directory lies outside the file (truncated download?)');
  const out: ZipEntry[] = [];
  for (let i = 0; i < count; i++) {
    if (buf.readUInt32LE(offset) !== CENTRAL) throw new ZipError(`bad central directory entry ${i}`);
    const flags = buf.readUInt16LE(offset + 8);
    const method = buf.readUInt16LE(offset + 10);
    const compressed = buf.readUInt32LE(offset + 20);
    const uncompressed = buf.readUInt32LE(offset + 24);
    const nameLen = buf.readUInt16LE(offset + 28);
    const extraLen = buf.readUInt16LE(offset + 30);
    const commentLen = buf.readUInt16LE(offset + 32);
    const local = buf.readUInt32LE(offset + 42);
    const name = buf.toString(flags & 0x800 ? 'utf8' : 'latin1', offset + 46, offset + 46 + nameLen);
    offset += 46 + nameLen + extraLen + commentLen;
    if (name.endsWith('/') || !want(name)) continue;
    if (flags & 0x1) throw new ZipError(`${name} is encrypted`);
    if (buf.readUInt32LE(local) !== LOCAL) throw new ZipError(`bad local header for ${name}`);
    const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
    const raw = buf.subarray(start, start + compressed);
    if (raw.length !== compressed) throw new ZipError(`${name} is truncated`);
    if (uncompressed > MAX_ENTRY_BYTES)
      throw new ZipError(`${name} is ${uncompressed} bytes uncompressed, over the ${MAX_ENTRY_BYTES} limit`);
    let data: Buffer;
    if (method === 0) data = Buffer.from(raw);
    else if (method === 8) data = inflateRawSync(raw, { maxOutputLength: Math.max(uncompressed, 1) });
    else throw new ZipError(`${name} uses compression method ${method}; only stored (0) and deflate (8) are supported`);
    out.push({ name, data });
  }
  return out;
}

function findEocd(buf: Buffer): number {
  // The record is 22 bytes plus a comment of up to 65535 bytes at the very end of the file.
  const stop = Math.max(0, buf.length - 22 - 0xffff);
  for (let i = buf.length - 22; i >= stop; i--) {
    if (buf.readUInt32LE(i) === EOCD) return i;
  }
  throw new ZipError('not a ZIP archive (no end of central directory record)');
}
