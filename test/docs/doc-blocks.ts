// Code blocks of README.md and docs/*.md with their doc-test marker: the HTML comment on the line
// before the fence decides what the docs test does with a shell block.
//   <!-- doc-test: run -->                                 executed in a temp directory
//   <!-- doc-test: run needs=grub-editenv:grub-common -->  …skipped (one line) without that tool
//   <!-- doc-test: run fixture=image -->                   …after a named set-up (commands.test.ts)
//   <!-- doc-test: skip: why it cannot run in a test -->   not executed; its outpost lines are still
//                                                          checked against `--help`
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

export interface DocBlock {
  /** Repository-relative file and 1-based line of the opening fence. */
  file: string;
  line: number;
  lang: string;
  text: string;
  marker: { kind: 'run'; needs: Array<[string, string]>; fixture: string | null } | { kind: 'skip'; reason: string } | null;
}

export function docFiles(): string[] {
  return ['README.md', ...readdirSync(join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).sort().map((f) => `docs/${f}`)];
}

const MARKER = /^<!--\s*doc-test:\s*(run|skip)(?::\s*(.*?)|\s+(.*?))?\s*-->\s*$/;

function parseMarker(line: string | undefined): DocBlock['marker'] {
  const m = line === undefined ? null : MARKER.exec(line.trim());
  if (!m) return null;
  if (m[1] === 'skip') return { kind: 'skip', reason: (m[2] ?? '').trim() };
  const opts = Object.fromEntries((m[3] ?? '').split(/\s+/).filter(Boolean).map((kv) => kv.split('=') as [string, string]));
  const needs = (opts.needs ?? '').split(',').filter(Boolean).map((n: string) => n.split(':') as [string, string]);
  return { kind: 'run', needs, fixture: opts.fixture ?? null };
}

export function blocksOf(file: string): DocBlock[] {
  const lines = readFileSync(join(ROOT, file), 'utf8').split('\n');
  const out: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\w*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    let j = i + 1;
    while (j < lines.length && !/^```\s*$/.test(lines[j]!)) j++;
    let k = i - 1;
    while (k >= 0 && lines[k]!.trim() === '') k--;
    out.push({ file, line: i + 1, lang: open[1]!, text: lines.slice(i + 1, j).join('\n'), marker: parseMarker(lines[k]) });
    i = j;
  }
  return out;
}

/** Logical command lines: continuation lines joined, comments and blank lines dropped. */
export function commandLines(text: string): string[] {
  const joined = text.replace(/\\\n\s*/g, ' ');
  // A here-document's body is data, not commands.
  const lines: string[] = [];
  let heredocEnd: string | null = null;
  for (const l of joined.split('\n')) {
    if (heredocEnd !== null) {
      if (l.trim() === heredocEnd) heredocEnd = null;
      continue;
    }
    heredocEnd = /<<-?\s*'?(\w+)'?/.exec(l)?.[1] ?? null;
    lines.push(l);
  }
  return lines
    .map((l) => l.replace(/(^|\s)#(?![!{]).*$/, '').trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}
