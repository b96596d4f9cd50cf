// Secrets that ride along in user text: a password in a URL (with or without a scheme, `user:pw@host:5432`), a
// token-like query value (`?api_key=...`), a GitHub token. Found wherever the text came from (an input, the
// config file, a flow step's URL, a source's connection string), so that they can be masked in the runner's log
// as soon as they are seen and cut out of every message that could echo them.

const SECRET_WORDS = 'token|key|secret|password|passwd|pwd|auth|sig|credential|session';
/** Query keys whose values are credentials. */
export const SECRET_QUERY_KEY = new RegExp(SECRET_WORDS, 'i');

// `scheme://user:pw@` or a bare `user:pw@host`: the userinfo part, up to the last @ before the host.
const USERINFO = /(^|[\s"'(<=,;]|[a-z][a-z0-9+.-]*:\/\/)([^\s/@:"'<>]+):([^\s/@"'<>]*)@(?=[^\s/@"'<>]+)/gi;
const QUERY_PAIR = new RegExp(`([?&;]|\\b)([a-z0-9_.-]*(?:${SECRET_WORDS})[a-z0-9_.-]*)=([^\\s&#"'<>]+)`, 'gi');
const GITHUB_TOKEN = /\b(?:gh[pousr]_[A-Za-z0-9]{16,}|github_pat_[A-Za-z0-9_]{20,})\b/g;
const AUTH_HEADER = /(authorization["']?\s*[:=]\s*["']?(?:token|bearer|basic)\s+)[^\s"',}]+/gi;

/** Every secret value in `text`, decoded as it would be used (for `::add-mask::`). */
export function secretsIn(text: string): string[] {
  const out = new Set<string>();
  for (const m of text.matchAll(USERINFO)) {
    const pw = m[3] ?? '';
    if (pw) {
      out.add(pw);
      out.add(safeDecode(pw));
    }
  }
  for (const m of text.matchAll(QUERY_PAIR)) {
    const v = m[3] ?? '';
    if (v.length >= 4 && v !== '***') {
      out.add(v);
      out.add(safeDecode(v));
    }
  }
  for (const m of text.matchAll(GITHUB_TOKEN)) out.add(m[0]);
  return [...out].filter((s) => s.length >= 3 && s !== '***');
}

/** `text` with URL passwords, token-like query values and GitHub tokens replaced by `***`. */
export function redactSecrets(text: string): string {
  return text
    .replace(USERINFO, (_m, pre: string, user: string, pw: string) => `${pre}${user}:${pw ? '***' : ''}@`)
    .replace(QUERY_PAIR, (m, pre: string, key: string, v: string) => (v === '***' ? m : `${pre}${key}=***`))
    .replace(GITHUB_TOKEN, '[REDACTED]')
    .replace(AUTH_HEADER, '$1[REDACTED]');
}

/**
 * `text` as a URL that can be printed or stored: user and password removed, secret-looking query values masked,
 * then the text-based pass for what URL parsing misses (a scheme-less `user:pw@host:5432` parses with "user:" as
 * its protocol). An unparseable string has anything between '//' and '@' cut.
 */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    url.username = '';
    url.password = '';
    for (const key of [...url.searchParams.keys()]) {
      if (SECRET_QUERY_KEY.test(key)) url.searchParams.set(key, '***');
    }
    let s = url.toString();
    // URL adds a '/' to a bare origin; keep the user's spelling so the report shows what they wrote.
    if (url.pathname === '/' && !url.search && !url.hash && !/\/$/.test(text.trim())) s = s.slice(0, -1);
    return redactSecrets(s);
  } catch {
    return redactSecrets(text.replace(/\/\/[^/@\s]*@/, '//'));
  }
}

/** Every string inside a value (config objects, inputs), for masking what they hold. */
export function stringsIn(value: unknown, out: string[] = [], depth = 0): string[] {
  if (depth > 32) return out;
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringsIn(v, out, depth + 1);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) stringsIn(v, out, depth + 1);
  return out;
}

function safeDecode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

// Every message a source produces (log lines, `query`, `unavailable`) goes through a Redactor that knows the
// secrets that source was given. Pattern rules alone miss a password that shows up outside a URL (a driver
// echoing a connection string, an error quoting a header), so the literal values are removed as well.

export class Redactor {
  private readonly secrets: string[] = [];

  /** Registers a secret; too-short values would blank out ordinary words, so only the patterns cover those. */
  add(secret: string | undefined): this {
    if (secret && secret.length >= 3 && !this.secrets.includes(secret)) {
      this.secrets.push(secret);
      const encoded = encodeURIComponent(secret);
      if (encoded !== secret) this.secrets.push(encoded);
      this.secrets.sort((a, b) => b.length - a.length);
    }
    return this;
  }

  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) out = out.split(s).join('***');
    return redactPatterns(out);
  }

  error(e: unknown): string {
    const err = e as { message?: unknown; code?: unknown };
    const message = typeof err?.message === 'string' && err.message ? err.message : String(e);
    return this.redact(message);
  }
}

/** Credentials in URLs and key=value connection strings, and bearer/basic tokens in quoted headers. */
export function redactPatterns(text: string): string {
  return text
    .replace(/(\/\/)([^/@\s:]*):([^/@\s]*)@/g, '$1$2:***@')
    .replace(/\b(password|passwd|pwd|token|secret)(\s*[=:]\s*)('[^']*'|"[^"]*"|[^\s&;,)]+)/gi, '$1$2***')
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{6,}/g, '$1 ***');
}

/**
 * A tool's output (Artillery, k6) with the secrets of the flows cut out: each literal value, also as it appears
 * inside a JSON string, becomes `***`, and the target URL is printed as redactUrl prints it.
 */
export function redactValues(text: string, secrets: readonly string[], target: string): string {
  let out = target ? text.split(target).join(redactUrl(target)) : text;
  for (const s of secrets) out = out.split(JSON.stringify(s).slice(1, -1)).join('***').split(s).join('***');
  return out;
}

/** Cuts the userinfo of every `//user:pw@` in an error message (a cause quoting the target URL). */
export function redactUserinfo(s: string): string {
  return s.replace(/\/\/[^/@\s]*@/g, '//***@');
}
