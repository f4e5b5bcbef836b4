// Public behaviour must be documented where operators and hub authors look.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { README, withReference } from '../../scripts/readme-config.ts';
import { ERROR_CODES, isErrorCode } from '../../shared/error-codes.ts';

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

/** Codes in the first column of a code table (`| \`E_…\` | …`) in the README, docs/ and shared/*.md. */
function documentedCodes(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const f of [README, ...files(join(ROOT, 'docs'), '.md'), ...files(join(ROOT, 'shared'), '.md')]) {
    readFileSync(f, 'utf8').split('\n').forEach((line, i) => {
      const first = /^\| *(`[EW]_[^|]*)\|/.exec(line)?.[1];
      if (!first) return;
      // `E_FETCH_*` names a family, not a code.
      for (const m of first.matchAll(/`([EW]_[A-Z0-9]+(?:_[A-Z0-9]+)*)`/g)) {
        found.set(m[1]!, [...(found.get(m[1]!) ?? []), `${relative(ROOT, f)}:${i + 1}`]);
      }
    });
  }
  return found;
}

test('every registered error code has a row in a code table, and every row names a registered code', () => {
  const documented = documentedCodes();
  const registered = Object.keys(ERROR_CODES);
  assert.ok(registered.length > 150, `found ${registered.length} codes`);
  assert.deepEqual(registered.filter((c) => !documented.has(c)).sort(), [], 'registered in shared/error-codes.ts, but no table row');
  assert.deepEqual(
    [...documented].filter(([c]) => !isErrorCode(c)).map(([c, where]) => `${c} (${where.join(', ')})`).sort(),
    [],
    'documented, but not in shared/error-codes.ts',
  );
});

test('every error code named in the code is registered', () => {
  // The type check covers codes given to OutpostError; this catches the rest (comparisons,
  // messages, codes the hub and the dashboard send).
  const used = new Map<string, string>();
  for (const dir of ['agent', 'hub', 'shared', 'scripts', 'bin']) {
    for (const f of [...files(join(ROOT, dir), '.ts'), ...files(join(ROOT, dir), '.js')]) {
      for (const m of readFileSync(f, 'utf8').matchAll(/['"`]([EW]_[A-Z0-9]+(?:_[A-Z0-9]+)*)\b(?!_)/g)) used.set(m[1]!, relative(ROOT, f));
    }
  }
  assert.ok(used.size > 150, `found ${used.size} codes`);
  used.delete('E_CODE'); // the placeholder in "E_CODE: message"
  assert.deepEqual([...used].filter(([c]) => !isErrorCode(c)).map(([c, f]) => `${c} (${f})`).sort(), []);
});
