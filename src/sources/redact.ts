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
