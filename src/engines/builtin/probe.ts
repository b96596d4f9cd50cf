// The reachability check before the load: one GET of the target through the same HTTP/1.1 client (and so the same
// 64 KiB head limit, framing rules and TLS settings) that the built-in engine's load uses. A second client with
// other limits refused a healthy target whose head was 17 KiB ("unreachable") that the load would have reached.
import { formatDurationCompact } from '../../format.js';
import { parseTarget } from '../../flows/target.js';
import { describeFailure } from './flows.js';
import { requestBytes } from './request-bytes.js';
import { ConnectionPool, endpointOf, type ResponseSink } from './http1.js';

/**
 * Any HTTP answer (even 404 or 500) means reachable: undefined. Otherwise what failed, as text that names the cause
 * (which certificate check, the protocol error, the socket's code) and never the URL's credentials.
 */
export function probeTarget(
  url: string,
  timeoutMs: number,
  headers: Record<string, string> = {},
): Promise<string | undefined> {
  let target;
  try {
    target = parseTarget(url);
  } catch (e) {
    return Promise.resolve((e as Error).message);
  }
  const endpoint = endpointOf(target.origin);
  const lower: Record<string, string> = {};
  for (const [k, v] of Object.entries(headers)) lower[k.toLowerCase()] = v;
  if (target.authorization && lower['authorization'] === undefined) lower['authorization'] = target.authorization;
  // One request, then the connection goes: nothing of the probe is reused by the load.
  lower['connection'] = 'close';
  const bytes = requestBytes('GET', target.ownPath || '/', endpoint.hostHeader, lower, undefined);
  if (bytes instanceof Error) return Promise.resolve(bytes.message);
  const pool = new ConnectionPool(endpoint);
  return new Promise<string | undefined>((resolve) => {
    let done = false;
    const finish = (result: string | undefined): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      pool.destroyAll();
      resolve(result);
    };
    const timer = setTimeout(() => finish(`no answer within ${formatDurationCompact(timeoutMs)}`), timeoutMs);
    const sink: ResponseSink = {
      keepBody: false,
      onConnect: () => undefined,
      // A head is an answer: the body is not waited for (a target may stream one for ever).
      onHead: () => finish(undefined),
      onData: () => undefined,
      onComplete: () => finish(undefined),
      onError: (err) => finish(describeFailure(err)),
    };
    pool.acquire().dispatch(bytes, false, true, sink);
  });
}
