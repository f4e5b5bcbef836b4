// The binaries' entry (scripts/build/run-entry.ts) in a process of its own: main's code is the exit
// code, and a main that never settles (nothing left to wait for) ends with 70 and says so instead
// of the 0 a CommonJS process would end with.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ENTRY = resolve(import.meta.dirname, '../../../scripts/build/run-entry.ts');

function runWith(mainBody: string): { status: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'run-entry-'));
  try {
    const file = join(dir, 'entry.mts');
    writeFileSync(file, `import { runEntry } from ${JSON.stringify(ENTRY)};\nrunEntry(${mainBody});\n`);
    const r = spawnSync(process.execPath, [file], { encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("main's code is the exit code", () => {
  const r = runWith('async () => 3');
  assert.equal(r.status, 3);
  assert.equal(r.stderr, '');
});

test('a main that never settles ends with 70 and a message, not 0', () => {
  const r = runWith('() => new Promise(() => {})');
  assert.equal(r.status, 70);
  assert.match(r.stderr, /^E_INTERNAL: the command stopped before it finished/);
});

test('a main that throws ends with 70 and its error', () => {
  const r = runWith("async () => { throw new Error('cannot start'); }");
  assert.equal(r.status, 70);
  assert.match(r.stderr, /^E_INTERNAL: Error: cannot start/);
});
