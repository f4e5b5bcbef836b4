// Public behaviour must be documented where operators and hub authors look.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { README, withReference } from '../../scripts/readme-config.ts';

const ROOT = resolve(import.meta.dirname, '../..');

function files(dir: string, ext: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p, ext) : p.endsWith(ext) ? [p] : [];
  });
}

test('the README config reference matches the schema (run scripts/readme-config.ts)', () => {
  const readme = readFileSync(README, 'utf8');
  assert.equal(readme, withReference(readme));
});

test('every error code the agent can raise is documented', () => {
  const docs = [README, ...files(join(ROOT, 'docs'), '.md'), ...files(join(ROOT, 'shared'), '.md')]
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  const codes = new Set<string>();
  for (const f of [...files(join(ROOT, 'agent'), '.ts'), ...files(join(ROOT, 'shared'), '.ts')]) {
    for (const m of readFileSync(f, 'utf8').matchAll(/['"`](E_[A-Z0-9]+(?:_[A-Z0-9]+)*)['"`]/g)) codes.add(m[1]!);
  }
  // Internal invariants that must never reach an operator.
  const internal = new Set(['E_WINDOW_STATE']);
  const missing = [...codes].filter((c) => !internal.has(c) && !new RegExp(`\\b${c}\\b`).test(docs)).sort();
  assert.ok(codes.size > 50, `found ${codes.size} codes`);
  assert.deepEqual(missing, []);
});
