// Regenerates the README's config reference from the schema table: `node scripts/readme-config.ts`.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { configReference } from '../agent/cli/config.ts';

export const README = resolve(import.meta.dirname, '../README.md');
const START = '<!-- config-reference:start -->';
const END = '<!-- config-reference:end -->';

export function withReference(readme: string): string {
  const a = readme.indexOf(START);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error('README has no config-reference markers');
  return readme.slice(0, a + START.length) + '\n' + configReference().trimStart() + readme.slice(b);
}

if (import.meta.main) {
  writeFileSync(README, withReference(readFileSync(README, 'utf8')));
  process.stdout.write('README config reference updated\n');
}
