// Replies from the sources' servers (Prometheus, CloudWatch, CloudWatch Logs) capped in bytes while they arrive, not
// only in time: a server that answers fast with hundreds of MB would otherwise fill this process's memory before any
// timeout fired (a 600 MB Redis INFO reply took perf-gate to 1.86 GB). At the cap the connection is dropped and the
// call fails with a message saying so; what was read is let go. Redis has its own cap (sources/redis.ts, on its socket).
import { Transform, type Readable } from 'node:stream';

/**
 * Far above a real reply (a Prometheus range query of a 24 h run at 15 s steps over 100 series is about 6 MB, a
 * CloudWatch GetMetricData page at most 100,800 points), and low enough that parsing one stays well within 100 MB.
 */
export const MAX_REPLY_BYTES = 16 * 1024 * 1024;

export class ReplyTooLargeError extends Error {
  override name = 'ReplyTooLargeError';
  constructor(what: string, cap: number) {
    super(`${what} answered with more than ${Math.round(cap / 1048576)} MiB; the reply was cut off there and not used`);
  }
}

/** A fetch Response's body as text, read up to `cap` bytes: past it the body is cancelled and ReplyTooLargeError thrown. */
export async function readTextCapped(res: Response, what: string, cap: number = MAX_REPLY_BYTES): Promise<string> {
  const declared = Number(res.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > cap) {
    await res.body?.cancel().catch(() => undefined);
    throw new ReplyTooLargeError(what, cap);
  }
  if (!res.body) return '';
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > cap) {
      await reader.cancel().catch(() => undefined);
      throw new ReplyTooLargeError(what, cap);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size).toString('utf8');
}

/** A Node stream passed through only up to `cap` bytes; past it the source is destroyed and the stream errors. */
export function capStream(body: Readable, what: string, cap: number = MAX_REPLY_BYTES): Readable {
  let size = 0;
  const out = new Transform({
    transform(chunk: Buffer, _enc, done) {
      size += chunk.length;
      if (size > cap) {
        body.destroy();
        done(new ReplyTooLargeError(what, cap));
        return;
      }
      done(null, chunk);
    },
  });
  body.on('error', (e) => out.destroy(e));
  body.pipe(out);
  return out;
}

interface HandlerLike {
  handle(
    request: unknown,
    options?: unknown,
  ): Promise<{ response: { body?: unknown; headers?: Record<string, string> } }>;
}

/**
 * Wrap an AWS SDK client's request handler so that every reply body is capped (capStream). The SDK reads the
 * handler from the client's config on each call, so replacing it before the first call covers all of them.
 */
export function capAwsReplies(
  client: { config: { requestHandler?: unknown } },
  what: string,
  cap: number = MAX_REPLY_BYTES,
): void {
  const inner = client.config.requestHandler as HandlerLike | undefined;
  if (!inner || typeof inner.handle !== 'function') return;
  const wrapped = Object.create(inner) as HandlerLike;
  wrapped.handle = async (request: unknown, options?: unknown) => {
    const out = await inner.handle(request, options);
    const res = out.response;
    const declared = Number(res.headers?.['content-length']);
    const body = res.body as Readable | undefined;
    if (Number.isFinite(declared) && declared > cap) {
      body?.destroy?.();
      throw new ReplyTooLargeError(what, cap);
    }
    if (body && typeof body.pipe === 'function') res.body = capStream(body, what, cap);
    return out;
  };
  client.config.requestHandler = wrapped;
}
