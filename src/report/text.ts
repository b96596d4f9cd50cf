// Escaping for text that comes from the user or the run (comment header, endpoint and flow names, reasons, notes,
// log messages) on its way into Markdown or the HTML of a <details> summary. Besides formatting and HTML, an
// `@name` would make GitHub notify that person (or team) every time the sticky comment is updated: a word joiner
// after the `@` keeps the text readable and the mention inert. Code spans never mention anyone, so `code` needs none.

/** U+2060 WORD JOINER: invisible, not a word character, so GitHub's mention filter does not see `@` + name. */
export const MENTION_BREAK = '\u2060';

/** `@octocat` -> `@⁠octocat`: shown the same, pings nobody. E-mail addresses (`a@b.c`) are left alone. */
export function noMention(text: string): string {
  return text.replace(/(^|[^A-Za-z0-9_`.\-+])@(?=[A-Za-z0-9])/g, `$1@${MENTION_BREAK}`);
}

/**
 * Escapes text from the run (reasons, notes, names) so it cannot turn into formatting, links, HTML or a mention.
 * `<` is only escaped before what could start a tag, so `p99 < 500 ms` stays readable in the raw Markdown.
 */
export function inline(text: string): string {
  return noMention(
    text
      .replace(/[\r\n]+/g, ' ')
      .replace(/[\\`*_[\]~|]/g, (c) => `\\${c}`)
      .replace(/<(?=[A-Za-z/!?])/g, '&lt;')
      .replace(/^([#>+=-])/, '\\$1'),
  );
}

/** A code span that survives backticks in its content (CommonMark: fence longer than any run inside). */
export function code(text: string): string {
  const flat = text.replace(/[\r\n]+/g, ' ');
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

/** A table cell: GFM splits cells on `|` even inside code spans, so it is escaped after everything else. */
export function cell(text: string): string {
  return text.replace(/(?<!\\)\|/g, '\\|');
}

/** Text for HTML (a <summary> line is HTML, where Markdown is not parsed). */
export function html(text: string): string {
  return noMention(
    text
      .replace(/[\r\n]+/g, ' ')
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;'),
  );
}

/** A name in a <summary> line, as `<code>` (the HTML counterpart of a code span). */
export function htmlCode(text: string): string {
  return `<code>${text
    .replace(/[\r\n]+/g, ' ')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/@/g, '&#64;')}</code>`;
}

/**
 * A folded section. GitHub renders Markdown inside <details> only when blank lines set it apart from the tags; the
 * summary is HTML and says what is inside, with anything bad flagged, so nothing a reviewer must see is hidden.
 */
export function fold(summaryHtml: string, body: string): string {
  return `<details><summary>${summaryHtml}</summary>\n\n${body}\n\n</details>`;
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return n === 1 ? word : many;
}

export function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Text or an attribute value for a standalone HTML page (report.html): every character that could end either. */
export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
