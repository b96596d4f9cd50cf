// Fenced code blocks of the README and docs/, for the tests that run every documented example.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface Block {
  file: string;
  line: number;
  lang: string;
  text: string;
}

/** Fenced code blocks (indented fences included, their indentation removed). */
export function fencedBlocks(root: string, file: string): Block[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n');
  const out: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^( *)```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const indent = open[1]!.length;
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length && !/^ *```\s*$/.test(lines[j]!); j++) body.push(lines[j]!.slice(indent));
    out.push({ file, line: i + 1, lang: open[2]!, text: body.join('\n') + '\n' });
    i = j;
  }
  return out;
}

/** README.md and every page of docs/, relative to the repository root. */
export function docFiles(root: string): string[] {
  return [
    'README.md',
    ...readdirSync(join(root, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .map((f) => `docs/${f}`),
  ];
}
