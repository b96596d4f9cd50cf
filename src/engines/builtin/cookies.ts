// An arrival's cookie jar: what a response's Set-Cookie keeps, and the Cookie header its next requests send.
// Linear in the headers' size; a cookie that could not be sent back (a control byte in it) is skipped and counted
// rather than stored, so it cannot make every later request of the arrival unsendable.
import { cookieSendable } from './request-bytes.js';

/**
 * Keep a response's cookies in the arrival's jar: `name=value` before the first `;`; an empty value or a
 * `Max-Age=0` / past `Expires` removes the cookie. Domain and path are not checked: every request goes to one origin.
 */
export function storeCookies(
  jar: Map<string, string> | undefined,
  setCookie: string | string[],
  onSkip: () => void,
): Map<string, string> | undefined {
  const list = Array.isArray(setCookie) ? setCookie : [setCookie];
  for (const line of list) {
    const semi = line.indexOf(';');
    const pair = semi < 0 ? line : line.slice(0, semi);
    const eq = pair.indexOf('=');
    if (eq <= 0) continue;
    const name = pair.slice(0, eq).trim();
    const value = pair.slice(eq + 1).trim();
    const attrs = semi < 0 ? '' : line.slice(semi);
    const expired = /;\s*max-age\s*=\s*(0|-\d+)\s*(;|$)/i.test(attrs) || expiresInPast(attrs);
    if (expired || value === '') {
      jar?.delete(name);
      continue;
    }
    // Stored, it would make every later request of this arrival unsendable (a control byte cannot go in a header).
    if (!cookieSendable(name, value)) {
      onSkip();
      continue;
    }
    jar ??= new Map();
    jar.set(name, value);
  }
  return jar && jar.size > 0 ? jar : undefined;
}

function expiresInPast(attrs: string): boolean {
  const m = /;\s*expires\s*=\s*([^;]+)/i.exec(attrs);
  if (!m) return false;
  const t = Date.parse(m[1]!);
  return Number.isFinite(t) && t < Date.now();
}

export function cookieHeader(jar: Map<string, string>): string {
  let out = '';
  for (const [k, v] of jar) out += out ? `; ${k}=${v}` : `${k}=${v}`;
  return out;
}
